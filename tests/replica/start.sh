#!/usr/bin/env bash
# A streaming replica of the local PostgreSQL for tests/api/replica.rs (NPSD_DATABASE_READ_URL):
# a second cluster on this machine, copied from the primary with pg_basebackup and started on
# 127.0.0.1:$NPSD_TEST_REPLICA_PORT (5433), following the primary's WAL. Idempotent: a replica
# already listening there is kept. Prints the replica's admin URL.
#
#   bash tests/replica/start.sh     # .ci/run does this; then NPSD_TEST_POSTGRES_REPLICA_URL=<printed>
set -euo pipefail
port="${NPSD_TEST_REPLICA_PORT:-5433}"
primary="${NPSD_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
url="postgres://postgres@127.0.0.1:$port/postgres"
if pg_isready -h 127.0.0.1 -p "$port" -q; then
  echo "$url"
  exit 0
fi
version=$(psql "$primary" -qtAc 'SHOW server_version_num' | cut -c1-2)
bin="/usr/lib/postgresql/$version/bin"
as_postgres() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The primary must take replication connections from loopback (Debian's pg_hba.conf has none).
hba=$(psql "$primary" -qtAc 'SHOW hba_file')
if ! grep -qE '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
  echo "host replication all 127.0.0.1/32 trust" >> "$hba"
  psql "$primary" -qtAc 'SELECT pg_reload_conf()' >/dev/null
fi

dir="/var/tmp/npsd-replica-$port"
rm -rf "$dir"
mkdir -p "$dir"
chmod 700 "$dir"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir"; fi
# -R: standby.signal and primary_conninfo, so it starts as a hot standby streaming from the primary.
# -d: the primary's URL as given, with its password when it has one (Debian's own pg_hba.conf asks
# replication connections from loopback for a scram password).
as_postgres "$bin/pg_basebackup" -d "$primary" -D "$dir" -R -X stream -c fast
# Debian keeps the configuration outside the data directory: the replica gets its own. A hot
# standby needs these settings at least as high as the primary's.
{
  for setting in max_connections max_worker_processes max_wal_senders max_prepared_transactions max_locks_per_transaction; do
    echo "$setting = $(psql "$primary" -qtAc "SHOW $setting")"
  done
  echo "port = $port"
  echo "listen_addresses = '127.0.0.1'"
  echo "unix_socket_directories = '$dir'"
  echo "hot_standby = on"
  echo "shared_buffers = 32MB"
} > "$dir/postgresql.conf"
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' > "$dir/pg_hba.conf"
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$dir/postgresql.conf" "$dir/pg_hba.conf"; fi
as_postgres "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$port" -q && break; sleep 1; done
test "$(psql "$url" -qtAc 'SELECT pg_is_in_recovery()')" = t
echo "$url"
