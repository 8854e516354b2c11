#!/usr/bin/env bash
# Builds a stand-in for the python:3.11-slim base image from Debian packages, for machines that
# reach Debian's mirrors but no container registry (CI here). Prints the image name.
#
# What the Dockerfile needs from its base, as the real image gives it: `python` and `python3`
# (3.11) with the venv module and its bundled pip, `useradd`, and /etc/ssl certificates.
# Debian's python3 lives in /usr/bin instead of /usr/local/bin, which nothing here depends on.
#
# The mirrors are the machine's own apt sources (left alone, mmdebstrap picks a default mirror
# this machine may not reach). The image is kept under a tag that names what went into it, so a
# second run on the same machine reuses it; a run from nothing builds it (about a minute).
set -euo pipefail

packages="python3,python3-venv,python-is-python3,ca-certificates"
tag="airdate-standin/python:3.11-slim-$(echo "${packages}" | sha256sum | cut -c1-12)"

if docker image inspect "${tag}" >/dev/null 2>&1; then
    echo "${tag}"
    exit 0
fi
command -v mmdebstrap >/dev/null || { echo "standin-base.sh: no mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }

mirrors=()
[[ -s /etc/apt/sources.list ]] && grep -q '^deb ' /etc/apt/sources.list && mirrors+=(/etc/apt/sources.list)
for file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [[ -f ${file} ]] && grep -q 'deb\.debian\.org\|debian' "${file}" && mirrors+=("${file}")
done
(( ${#mirrors[@]} )) || { echo "standin-base.sh: no Debian apt sources on this machine" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mmdebstrap --quiet --variant=minbase --include="${packages}" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    bookworm "${work}/rootfs.tar" "${mirrors[@]}" >&2
docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    "${work}/rootfs.tar" "${tag}" >/dev/null
echo "${tag}"
