#!/usr/bin/env bash
# System packages the test suite needs on a fresh Debian 12 (bookworm) machine, run as root.
#
# Why each one: gcc + pkg-config + libical-dev build the libical conformance probe
# (tests/conformance/libical/dump.c); calcurse is a real, strict C importer; nodejs + npm run
# Mozilla ical.js, the parser inside Thunderbird; chromium + chromium-driver drive the browser tests.
# Safe to run again: apt-get install is a no-op for packages that are already present.
set -euo pipefail

if [[ ${EUID} -ne 0 ]]; then
    echo "system-deps.sh: run as root (it calls apt-get)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

packages=(gcc libc6-dev pkg-config libical-dev calcurse nodejs chromium chromium-driver)

# NodeSource's nodejs package ships npm itself and conflicts with Debian's npm package, so
# ask for Debian's npm only when no npm is on the machine yet.
if ! command -v npm >/dev/null 2>&1; then
    packages+=(npm)
fi

apt-get update
apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends "${packages[@]}"

# Fail loudly here rather than in the middle of a test run.
if ! missing="$(bash "$(dirname "$0")/check-system-deps.sh")"; then
    echo "system-deps.sh: still missing after install: ${missing}" >&2
    exit 1
fi
echo "system-deps.sh: all system dependencies present"
