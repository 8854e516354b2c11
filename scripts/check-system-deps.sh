#!/usr/bin/env bash
# Prints the system tools the test suite needs that are missing (space-separated) and exits 1, or
# prints nothing and exits 0. Only `command -v` and one pkg-config call, so `make test` can ask on
# every run without a noticeable cost.
set -uo pipefail

missing=()
for tool in gcc pkg-config calcurse node npm chromium chromedriver; do
    command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
done
# libical-dev: the conformance probe compiles against it.
if command -v pkg-config >/dev/null 2>&1 && ! pkg-config --exists libical; then
    missing+=(libical)
fi

if (( ${#missing[@]} )); then
    echo "${missing[*]}"
    exit 1
fi
