#!/usr/bin/env bash
# Downloads the wheels of requirements.lock into .wheelhouse/ on the host, for an image build that
# must not reach the network from inside (`--build-arg WHEELHOUSE=.wheelhouse`). Hashes are checked
# here and again in the build. Only wheels (no sdists), for this machine's Python 3.11 on Linux,
# which the image's Python matches. The machine's pip configuration (local wheel directories,
# extra indexes) is left out so the files are PyPI's, whose hashes the lock holds.
set -euo pipefail
cd "$(dirname "$0")/.."

python="${PYTHON:-python3}"
arch="$(uname -m)"
mkdir -p .wheelhouse
env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT PIP_CONFIG_FILE=/dev/null \
    "${python}" -m pip download --quiet --disable-pip-version-check --require-hashes --no-deps \
    --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
    --platform "manylinux_2_28_${arch}" --platform "manylinux_2_17_${arch}" \
    --platform "manylinux2014_${arch}" --platform "linux_${arch}" \
    --dest .wheelhouse -r requirements.lock
echo .wheelhouse
