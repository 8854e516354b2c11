#!/usr/bin/env bash
# Refreshes requirements.lock: every runtime dependency of pyproject.toml (and the build backend the
# image builds the wheel with), pinned, with the sha256 of every file PyPI offers for that version.
#
# Existing pins are kept; `make lock UPGRADE=1` moves every pin to the newest allowed release, and
# `make lock UPGRADE=starlette` only that one. pip-tools runs in a throwaway virtualenv, and the
# machine's pip configuration (local wheel directories, extra indexes) is left out, so the lock
# names only PyPI files and is the same whoever refreshes it.
set -euo pipefail
cd "$(dirname "$0")/.."

upgrade=()
case "${UPGRADE:-}" in
    "") ;;
    1) upgrade=(--upgrade) ;;
    *) upgrade=(--upgrade-package "${UPGRADE}") ;;
esac

tools="$(mktemp -d)"
trap 'rm -rf "${tools}"' EXIT
python3 -m venv "${tools}"
"${tools}/bin/pip" install --quiet --disable-pip-version-check 'pip-tools>=7.4'

env -u PIP_FIND_LINKS -u PIP_EXTRA_INDEX_URL -u PIP_INDEX_URL -u PIP_CONSTRAINT \
    PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
    "${tools}/bin/pip-compile" --quiet --generate-hashes --allow-unsafe --strip-extras \
    --build-deps-for wheel --no-emit-index-url --no-emit-find-links "${upgrade[@]}" \
    --output-file requirements.lock pyproject.toml
echo "requirements.lock refreshed; run make test and make image-test before committing it"
