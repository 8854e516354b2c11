#!/usr/bin/env bash
# Makes sure a Docker engine answers, starting Debian's dockerd in the background when none does.
#
# Why the ulimits: dockerd's default container limits are larger than this machine's hard limits,
# and without CAP_SYS_RESOURCE a container asking for more than the hard limit fails to start; so
# the defaults are set to exactly the hard limits. An engine that cannot start is an error with its
# reason (the end of dockerd's log), never a silent skip.
# Prints the pid of a dockerd it started (empty line when one was already answering).
set -euo pipefail

log="${AIRDATE_DOCKERD_LOG:-/tmp/airdate-dockerd.log}"

if docker info >/dev/null 2>&1; then
    echo ""
    exit 0
fi
command -v dockerd >/dev/null || { echo "dockerd.sh: no dockerd (apt-get install docker.io)" >&2; exit 1; }

hard_files="$(ulimit -Hn)"
hard_procs="$(ulimit -Hu)"
dockerd --default-ulimit "nofile=${hard_files}:${hard_files}" \
        --default-ulimit "nproc=${hard_procs}:${hard_procs}" >"${log}" 2>&1 &
pid=$!
for _ in $(seq 1 60); do
    if docker info >/dev/null 2>&1; then
        echo "${pid}"
        exit 0
    fi
    if ! kill -0 "${pid}" 2>/dev/null; then
        break
    fi
    sleep 1
done
echo "dockerd.sh: the Docker engine did not start; the end of ${log}:" >&2
tail -n 15 "${log}" >&2
exit 1
