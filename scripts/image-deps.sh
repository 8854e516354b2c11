#!/usr/bin/env bash
# What `make image-test` needs on the machine: a Docker engine and client (docker.io), mmdebstrap for
# the stand-in base image, docker-compose for the compose file. Installed from Debian's packages when
# missing (as root or with passwordless sudo); otherwise one line naming the command to run.
set -euo pipefail

missing=()
for tool in dockerd docker mmdebstrap docker-compose; do
    command -v "${tool}" >/dev/null 2>&1 || missing+=("${tool}")
done
(( ${#missing[@]} )) || exit 0

packages=(docker.io mmdebstrap docker-compose)
install=(apt-get install -y -o DPkg::Lock::Timeout=300 --no-install-recommends "${packages[@]}")
if [[ ${EUID} -eq 0 ]]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
else
    echo "make image-test: missing ${missing[*]}; run 'sudo apt-get install ${packages[*]}' first" >&2
    exit 1
fi
echo "make image-test: installing ${packages[*]} (missing: ${missing[*]})" >&2
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive "${install[@]}" >/dev/null
