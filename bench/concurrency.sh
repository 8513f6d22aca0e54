#!/usr/bin/env bash
# bench/concurrency.sh -- pgfs throughput as clients grow
#
#   bench/concurrency.sh [CLIENTS...]      default: 1 2 4 8 16 32
#
# Runs two pgbench mixes on the SQL API for each number of clients and
# prints a table (clients | tps write | tps stat):
#   write  test/load/bench_write.sql: create or replace files of 100 B to
#          8 KiB, some appends; every call its own durable transaction
#   stat   test/load/bench_stat.sql: pgfs_stat of a file, sometimes a
#          pgfs_readdir with attributes
# on 192 files in 8 directories (test/load/setup.sql).
#
# Uses the server PGHOST etc. point at (database $BENCH_DB, default
# pgfs_bench, created and dropped); without PGHOST it runs itself in a
# throwaway cluster, pg_virtualenv -t -v 15 (-t: concurrent runs must not
# collide on the cluster name).  pgfs must be installed (make install).
# Durability stays on: a server with fsync = off is refused, and
# synchronous_commit is on for the benchmark database.
#
# Environment: BENCH_SECONDS per measurement (default 10), BENCH_THREADS
# pgbench threads (default: the number of CPUs), BENCH_DB.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
load=$here/../test/load

if [ -z "${PGHOST:-}" ]; then
	# pg_virtualenv turns fsync off unless told otherwise
	exec pg_virtualenv -t -v 15 -o fsync=on "$here/concurrency.sh" "$@"
fi

clients=("$@")
[ ${#clients[@]} -gt 0 ] || clients=(1 2 4 8 16 32)
secs=${BENCH_SECONDS:-10}
threads=${BENCH_THREADS:-$(nproc)}
db=${BENCH_DB:-pgfs_bench}

PGOPTIONS="-c client_min_messages=warning" psql -Xq -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
trap 'psql -Xq -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true' EXIT
export PGDATABASE=$db

psql -Xq -v ON_ERROR_STOP=1 -o /dev/null -c 'CREATE EXTENSION pgfs' -f "$load/setup.sql"
if [ "$(psql -XAtc 'SHOW fsync')" != on ]; then
	echo "# the server runs with fsync = off; results would not be durable" >&2
	exit 2
fi
psql -Xq -c "ALTER DATABASE $db SET synchronous_commit = on"
psql -Xq -o /dev/null -c "SELECT pgfs_write('/load/f/d' || d || '/f' || f, load_record(2 * (d * 24 + f) + 1, 4096))
                            FROM generate_series(0, 7) d, generate_series(0, 23) f"

run() {	# SCRIPT CLIENTS -> tps
	local out
	out=$(pgbench -n -c "$2" -j "$(( $2 < threads ? $2 : threads ))" -T "$secs" \
		--max-tries=20 -f "$load/$1" 2>&1) || { echo "$out" >&2; echo failed; return; }
	sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | xargs printf '%.0f'
}

echo "# pgfs SQL API throughput: $(psql -XAtc 'SELECT version()' | cut -d' ' -f1,2), $(nproc) CPUs," \
	"fsync $(psql -XAtc 'SHOW fsync'), synchronous_commit $(psql -XAtc 'SHOW synchronous_commit')," \
	"shared_buffers $(psql -XAtc 'SHOW shared_buffers'), $secs s per point"
printf '| %7s | %9s | %9s |\n' clients 'tps write' 'tps stat'
printf '|%s|%s|%s|\n' --------: ----------: ----------:
for c in "${clients[@]}"; do
	w=$(run bench_write.sql "$c")
	s=$(run bench_stat.sql "$c")
	printf '| %7s | %9s | %9s |\n' "$c" "$w" "$s"
done
problems=$(psql -XAtc 'SELECT count(*) FROM pgfs_fsck()')
echo "# pgfs_fsck() after the run: $problems problems"
[ "$problems" = 0 ]
