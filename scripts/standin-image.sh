#!/usr/bin/env bash
# Builds a stand-in for a public base image from Debian packages, for machines that reach Debian's
# mirrors but no container registry (CI here), and prints its name:
#
#   python    python:3.11-slim, the Dockerfile's BASE: `python`/`python3` 3.11 with the venv module
#             and its bundled pip, `useradd`, CA certificates. (Debian's python3 is in /usr/bin, not
#             /usr/local/bin; nothing here depends on that.)
#   postgres  postgres:16 as deploy/compose.postgres.yaml uses it (Debian's PostgreSQL 15): the
#             POSTGRES_* variables, pg_isready, data in /var/lib/postgresql/data.
#   caddy     caddy:2 as deploy/compose.postgres.yaml uses it (Debian's Caddy 2.6): the Caddyfile at
#             /etc/caddy/Caddyfile, state in /data and /config.
#
# The mirrors are the machine's own apt sources (left alone, mmdebstrap picks a default mirror this
# machine may not reach). Each image is tagged with a hash of what went into it, so a second run on
# the same machine reuses it; a run from nothing builds it (one to two minutes each).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
kind="${1:?usage: standin-image.sh python|postgres|caddy}"

hooks=()
case "${kind}" in
    python)
        packages="python3,python3-venv,python-is-python3,ca-certificates"
        changes=('ENV LANG=C.UTF-8' 'CMD ["python3"]')
        ;;
    postgres)
        packages="postgresql-15,postgresql-client-15"
        entrypoint="${here}/standin/postgres-entrypoint.sh"
        hooks=(--customize-hook="copy-in ${entrypoint} /usr/local/bin"
               --customize-hook='chmod 755 "$1/usr/local/bin/postgres-entrypoint.sh"')
        changes=('ENV LANG=C.UTF-8' 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
                 'ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]')
        ;;
    caddy)
        packages="caddy,ca-certificates"
        changes=('ENV XDG_DATA_HOME=/data' 'ENV XDG_CONFIG_HOME=/config'
                 'CMD ["caddy", "run", "--config", "/etc/caddy/Caddyfile", "--adapter", "caddyfile"]')
        ;;
    *) echo "standin-image.sh: unknown kind ${kind}" >&2; exit 2 ;;
esac

ingredients() {
    echo "${packages}"
    printf '%s\n' "${changes[@]}"
    if [[ -n ${entrypoint:-} ]]; then cat "${entrypoint}"; fi
}
fingerprint="$(ingredients | sha256sum | cut -c1-12)"
tag="airdate-standin/${kind}:${fingerprint}"
if docker image inspect "${tag}" >/dev/null 2>&1; then
    echo "${tag}"
    exit 0
fi
command -v mmdebstrap >/dev/null || { echo "standin-image.sh: no mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }

mirrors=()
if [[ -s /etc/apt/sources.list ]] && grep -q '^deb ' /etc/apt/sources.list; then
    mirrors+=(/etc/apt/sources.list)
fi
for file in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    if [[ -f ${file} ]] && grep -q 'debian' "${file}"; then
        mirrors+=("${file}")
    fi
done
(( ${#mirrors[@]} )) || { echo "standin-image.sh: no Debian apt sources on this machine" >&2; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
mmdebstrap --quiet --variant=minbase --include="${packages}" \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' "${hooks[@]}" \
    bookworm "${work}/rootfs.tar" "${mirrors[@]}" >&2
import_changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin')
for change in "${changes[@]}"; do
    import_changes+=(--change "${change}")
done
docker import "${import_changes[@]}" "${work}/rootfs.tar" "${tag}" >/dev/null
echo "${tag}"
