#!/usr/bin/env bash
# Run by `make test` before anything else: a fresh machine gets its system packages installed here
# (as root, or through passwordless sudo), so `make test` is all the set-up there is. Without the
# right to install, stop at once with one line naming the command, rather than let dozens of tests
# fail one by one with "calcurse is not installed".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"

if missing="$(bash "${here}/check-system-deps.sh")"; then
    exit 0
fi

if [[ ${EUID} -eq 0 ]]; then
    echo "make test: installing missing system packages (${missing})" >&2
    exec bash "${here}/system-deps.sh"
fi
if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    echo "make test: installing missing system packages (${missing}) with sudo" >&2
    exec sudo -n bash "${here}/system-deps.sh"
fi
echo "make test: missing system packages (${missing}); run 'sudo make system-deps' first" >&2
exit 1
