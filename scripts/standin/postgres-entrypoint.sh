#!/bin/sh
# Entry point of the stand-in for the postgres image (Debian's PostgreSQL 15), doing the part of the
# official image's entry point that deploy/compose.postgres.yaml relies on: on an empty data volume,
# create the cluster with POSTGRES_USER / POSTGRES_PASSWORD and the database POSTGRES_DB, password
# logins from the network; then run the server in the foreground as the postgres user.
set -eu
bin=/usr/lib/postgresql/15/bin
data=/var/lib/postgresql/data
mkdir -p "${data}" /run/postgresql
chown -R postgres:postgres "${data}" /run/postgresql
chmod 700 "${data}"
as_postgres() { setpriv --reuid=postgres --regid=postgres --init-groups "$@"; }

if [ ! -s "${data}/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s\n' "${POSTGRES_PASSWORD:?}" >"${pwfile}"
    chown postgres "${pwfile}"
    as_postgres "${bin}/initdb" -D "${data}" -U "${POSTGRES_USER:-postgres}" --pwfile="${pwfile}" \
        --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "${pwfile}"
    echo "host all all all scram-sha-256" >>"${data}/pg_hba.conf"
    as_postgres "${bin}/pg_ctl" -D "${data}" -o "-c listen_addresses=''" -w start >/dev/null
    if [ -n "${POSTGRES_DB:-}" ] && [ "${POSTGRES_DB}" != "postgres" ]; then
        as_postgres psql -q -U "${POSTGRES_USER:-postgres}" -d postgres -c "CREATE DATABASE \"${POSTGRES_DB}\""
    fi
    as_postgres "${bin}/pg_ctl" -D "${data}" -m fast -w stop >/dev/null
fi
exec setpriv --reuid=postgres --regid=postgres --init-groups "${bin}/postgres" -D "${data}" \
    -c listen_addresses='*' -c unix_socket_directories=/run/postgresql
