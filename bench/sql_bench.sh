#!/usr/bin/env bash
# bench/sql_bench.sh -- pgfs next to a bytea table and large objects, one run
#
#   bench/sql_bench.sh [--quick] [--build]
#
# A benchmark, not a test: on one server and the same data it times pgfs's
# SQL API against two references -- a plain table bench_bytea(file_id,
# chunkno, data) with pgfs's 64 KiB chunking, and large objects -- and prints
# a Markdown table (workload | pgfs | bytea | large objects | ratio | target),
# also written to bench/results-sql.md.  Targets are informational.
#
# Workloads, each on incompressible (random) data and on text:
#   1. a big file written in 16 MiB pieces, one transaction per piece in
#      every store (pgfs_write at an offset, INSERT of 256 chunk rows, lo_put;
#      plus COPY of the same rows), then read in 16 MiB ranges
#   2. 4 KiB reads at seeded random offsets of the big file
#   3. 4 KiB and 128 KiB files, one transaction per file (pgbench -c 1):
#      writes/s, reads/s, stats/s
#   4. disk and WAL bytes per logical byte of the big file
#   5. stat latency among 10k and among BENCH_SCALE_FILES files
#
# Without PGHOST it runs itself inside a throwaway cluster (pg_virtualenv)
# with shared_buffers=256MB; fsync, synchronous_commit and full_page_writes
# stay on.  Environment:
#   BENCH_BIG_MB       big file size, MiB, a multiple of 16 (default 1024; --quick 64)
#   BENCH_SCALE_FILES  files of the lookup-at-scale step (default 1000000; --quick 10000)
#   BENCH_SMALL_N      transactions per small-file write run (default 2000; --quick 300)
#   BENCH_READS        transactions per read or stat run, and 4 KiB reads (default 5000; --quick 1000)
#   BENCH_ROUNDS       rounds of the per-file workloads, best kept (default 3; --quick 1)
#   BENCH_DB           database to create (default pgfs_bench; must not exist)
#   BENCH_OUT          results file (default bench/results-sql.md)

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"

quick=0
build=0
for arg in "$@"; do
	case $arg in
		--quick) quick=1 ;;
		--build) build=1 ;;
		-h|--help) sed -n '2,32s/^# \{0,1\}//p' "$self"; exit 0 ;;
		*) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
	esac
done

bench_name=sql_bench
# shellcheck source=bench/common.sh
. "$here/common.sh"

# WAL room so that no checkpoint starts in the middle of a measured phase;
# no autovacuum, whose runs would land in random phases and their WAL
# figures (the script runs VACUUM ANALYZE between phases instead).
bench_virtualenv -o max_wal_size=16GB -o autovacuum=off -- "$@"

# pgbench ships with the server (postgresql-15), not always on PATH
pgbench=$(pg_config --bindir 2>/dev/null)/pgbench
[ -x "$pgbench" ] || pgbench=$(command -v pgbench) || die "pgbench not found"

if [ "$quick" = 1 ]; then
	big_mb=${BENCH_BIG_MB:-64}
	scale_n=${BENCH_SCALE_FILES:-10000}
	small_n=${BENCH_SMALL_N:-300}
	reads=${BENCH_READS:-1000}
	rounds=${BENCH_ROUNDS:-1}
else
	big_mb=${BENCH_BIG_MB:-1024}
	scale_n=${BENCH_SCALE_FILES:-1000000}
	small_n=${BENCH_SMALL_N:-2000}
	reads=${BENCH_READS:-5000}
	rounds=${BENCH_ROUNDS:-3}
fi
[ $((big_mb % 16)) -eq 0 ] && [ "$big_mb" -ge 16 ] || die "BENCH_BIG_MB must be a multiple of 16"
npieces=$((big_mb / 16))
# the small step of the scale workload: 10k, or a tenth of a small BENCH_SCALE_FILES
if [ "$scale_n" -ge 100000 ]; then scale_small=10000; else scale_small=$((scale_n / 10)); fi
[ "$scale_small" -ge 1000 ] || die "BENCH_SCALE_FILES must be at least 10000"
ndirs=1000
out=${BENCH_OUT:-$here/results-sql.md}
db=${BENCH_DB:-pgfs_bench}

tmp=$(mktemp -d -t pgfs-sql-bench.XXXXXX)
chmod 755 "$tmp"
mkdir -m 1777 "$tmp/copy"        # the server (another user) writes and reads COPY files here
trap 'rm -rf "$tmp"' EXIT

put() { val "SELECT bench_put('$1', '$2', $3)" >/dev/null; }

start=$(date +%s)
load0=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
psql -X -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 &&
	die "database $db exists; drop it or set BENCH_DB"
createdb "$db"
export PGDATABASE=$db
q -f "$here/sql/setup.sql" >/dev/null || die "setup failed (is pgfs installed? make && make install)"

pgversion=$(val "SHOW server_version")
settings=$(val "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
                  FROM pg_settings WHERE name IN ('shared_buffers', 'fsync', 'synchronous_commit',
                       'full_page_writes', 'wal_compression', 'max_wal_size', 'checkpoint_timeout',
                       'jit', 'data_checksums', 'wal_level', 'autovacuum')")
log "PostgreSQL $pgversion; $settings"
[ "$(val "SELECT count(*) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') AND setting = 'on'")" = 3 ] ||
	die "fsync, synchronous_commit and full_page_writes must be on: figures without durability mislead"
log "big file $big_mb MiB; small files $small_n per run; $reads reads per run; scale $scale_small → $scale_n files; $rounds round(s)"

vacuum_all="VACUUM ANALYZE bench_bytea, bench_scale, pgfs.chunk, pgfs.filemap, pgfs.inode, pgfs.dirent,
                           pg_catalog.pg_largeobject, pg_catalog.pg_largeobject_metadata"

# ---------------------------------------------------------------------------
log "generating source data (not timed)"
q -c "CALL bench_gen_random($npieces, 16777216)" -c "CALL bench_gen_text($npieces, 16777216)" \
	-c "VACUUM ANALYZE bench_src, bench_small_src" >/dev/null
q -c "SELECT pgfs_mkdir('/big'), pgfs_mkdir('/small')" >/dev/null

# ---------------------------------------------------------------------------
# Workloads 1 and 4: big file writes; each store starts after a checkpoint.
# First, WAL segments for all of them (not timed).  A new cluster has almost
# none: the first store to write a gigabyte would create (zero-fill and
# fsync) every segment it fills while later stores reuse them after the
# checkpoint, which made the first store -- pgfs -- 30-40 % slower than the
# same write second (256 MiB of random data on a new cluster, pgfs then
# bytea: 103 and 148 MiB/s; bytea then pgfs: 116 and 181 MiB/s).  Twice the
# big file in WAL messages and a checkpoint leave enough recycled segments
# for the largest store (large objects of text: 1.7 bytes of WAL per byte).
log "preparing WAL segments (not timed)"
q -c "SELECT count(pg_logical_emit_message(false, 'pgfs-bench', repeat('x', 1048576)))
        FROM generate_series(1, 2 * $big_mb)" -c "CHECKPOINT" >/dev/null
# Random data is written in two rounds (the file deleted and the tables
# vacuumed in between), the best of each store kept: one write of a store
# varied by a third from run to run on this kind of shared machine.  Text,
# whose margins are wide and whose writes take longest, once.
for kind in random text; do
	log "big file, $kind: preparing COPY files (not timed)"
	q -c "CALL bench_copy_files('$kind', '$tmp/copy')" >/dev/null
	wrounds=$([ "$kind" = random ] && echo 2 || echo 1)
	for ((r = 1; r <= wrounds; r++)); do
		if [ "$r" -gt 1 ]; then
			q -c "CALL bench_big_delete('$kind')" >/dev/null
		fi
		for method in pgfs bytea lo copy; do
			q -c "$vacuum_all" -c "CHECKPOINT" >/dev/null
			log "big file, $kind: write, $method (round $r)"
			q -c "CALL bench_big_write('$method', '$kind', '$tmp/copy', $r)" >/dev/null
		done
	done
	rm -f "$tmp"/copy/*.bin
done
log "VACUUM ANALYZE"
q -c "$vacuum_all" -c "CHECKPOINT" >/dev/null

# Reads: rounds interleave the stores, so that a slow spell of a shared
# machine does not land on one store only; the best round is kept.  The
# first round of big reads also checks every range against the source.
for kind in random text; do
	for ((r = 0; r < 2; r++)); do
		for method in pgfs bytea lo; do
			log "big file, $kind: read, $method (round $((r + 1)))"
			val "SELECT bench_put_max('big_read_$kind', '$method',
			         (SELECT value FROM bench_measure WHERE key = 'big_bytes') / 1048576.0
			         / bench_big_read('$method', '$kind', $([ $r = 0 ] && echo true || echo false)))" >/dev/null
			log "big file, $kind: read in 1 MiB ranges, $method (round $((r + 1)))"
			val "SELECT bench_put_max('big_read1_$kind', '$method',
			         (SELECT value FROM bench_measure WHERE key = 'big_bytes') / 1048576.0
			         / bench_big_read('$method', '$kind', false, 1))" >/dev/null
		done
	done
done

# Workload 2: 4 KiB reads at random offsets
for kind in random text; do
	log "4 KiB random reads, $kind: checking the stores agree"
	val "SELECT bench_rand_verify('$kind', 200)" >/dev/null
	for ((r = 0; r < rounds + 1; r++)); do
		for method in pgfs bytea lo; do
			log "4 KiB random reads, $kind: $method (round $((r + 1)))"
			val "SELECT bench_put_max('rand4k_$kind', '$method', bench_rand_reads('$method', '$kind', $reads))" >/dev/null
		done
	done
done

# ---------------------------------------------------------------------------
# pgbench: one transaction per file, one client.  Rounds interleave the
# stores; the best round of each is kept.
pgbench_tps() {   # script transactions
	local o tps
	o=$("$pgbench" -n -M prepared -c 1 -t "$2" -f "$1" 2>&1) ||
		{ echo "$o" >&2; die "pgbench $1 failed"; }
	grep -q "number of transactions actually processed: $2/$2" <<<"$o" ||
		{ echo "$o" >&2; die "pgbench $1 did not complete"; }
	tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' <<<"$o")
	[ -n "$tps" ] || { echo "$o" >&2; die "no tps in pgbench output"; }
	echo "$tps"
}
best_tps() {   # key transactions what method:script...
	local key=$1 n=$2 what=$3 r ms
	shift 3
	for ((r = 0; r < rounds; r++)); do
		for ms in "$@"; do
			log "$what, ${ms%%:*} (round $((r + 1)))"
			val "SELECT bench_put_max('$key', '${ms%%:*}', $(pgbench_tps "${ms#*:}" "$n"))" >/dev/null
		done
	done
}

# Workload 3: small files.  Set j has bytea file ids j*10^6 + n and large
# object oids 10^7 + j*10^6 + n; pgfs files /small/SET/d(n % 100)/fn.
j=0
for size in 4k 128k; do
	bytes=$(( ${size%k} * 1024 ))
	nchunks=$(( (bytes + 65535) / 65536 ))
	for kind in random text; do
		j=$((j + 1))
		set=${size}_$kind
		base=$((j * 1000000))
		lobase=$((10000000 + j * 1000000))
		q -c "SELECT pgfs_mkdir('/small/$set')" \
		  -c "SELECT count(pgfs_mkdir('/small/$set/d' || d)) FROM generate_series(0, 99) d" \
		  -c "CREATE SEQUENCE bench_seq_${set}_pgfs; CREATE SEQUENCE bench_seq_${set}_bytea; CREATE SEQUENCE bench_seq_${set}_lo" >/dev/null
		src="s.kind = '$kind' AND s.size = $bytes AND s.k = :k"
		cat >"$tmp/w_${set}_pgfs.sql" <<-EOF
			\set k random(1, 64)
			SELECT pgfs_write('/small/$set/d' || (q.n % 100) || '/f' || q.n, s.data) FROM (SELECT nextval('bench_seq_${set}_pgfs') AS n) q, bench_small_src s WHERE $src;
		EOF
		cat >"$tmp/w_${set}_bytea.sql" <<-EOF
			\set k random(1, 64)
			INSERT INTO bench_bytea (file_id, chunkno, data) SELECT $base + q.n, c, substring(s.data FROM c * 65536 + 1 FOR 65536) FROM (SELECT nextval('bench_seq_${set}_bytea') AS n) q, bench_small_src s, generate_series(0, $((nchunks - 1))) c WHERE $src;
		EOF
		cat >"$tmp/w_${set}_lo.sql" <<-EOF
			\set k random(1, 64)
			SELECT lo_from_bytea(($lobase + q.n)::oid, s.data) FROM (SELECT nextval('bench_seq_${set}_lo') AS n) q, bench_small_src s WHERE $src;
		EOF
		best_tps "small_write_$set" "$small_n" "small files, $set: write" \
			pgfs:"$tmp/w_${set}_pgfs.sql" bytea:"$tmp/w_${set}_bytea.sql" lo:"$tmp/w_${set}_lo.sql"
		# every store now holds files 1 .. written
		written=$(val "SELECT last_value FROM bench_seq_${set}_pgfs")
		for method in bytea lo; do
			[ "$(val "SELECT last_value FROM bench_seq_${set}_$method")" = "$written" ] ||
				die "stores hold different numbers of $set files"
		done
		q -c "$vacuum_all" -c "CHECKPOINT" >/dev/null
		pick="\\set k random(1, $written)"
		cat >"$tmp/r_${set}_pgfs.sql" <<-EOF
			$pick
			SELECT length(pgfs_read('/small/$set/d' || (:k::int % 100) || '/f' || :k::int));
		EOF
		cat >"$tmp/r_${set}_bytea.sql" <<-EOF
			$pick
			SELECT sum(length(data || ''::bytea)) FROM bench_bytea WHERE file_id = $base + :k::int;
		EOF
		cat >"$tmp/r_${set}_lo.sql" <<-EOF
			$pick
			SELECT length(lo_get(($lobase + :k::int)::oid));
		EOF
		cat >"$tmp/s_${set}_pgfs.sql" <<-EOF
			$pick
			SELECT size FROM pgfs_stat('/small/$set/d' || (:k::int % 100) || '/f' || :k::int);
		EOF
		cat >"$tmp/s_${set}_bytea.sql" <<-EOF
			$pick
			SELECT length(data) FROM bench_bytea WHERE file_id = $base + :k::int AND chunkno = 0;
		EOF
		# the size of a large object: open it and seek to its end
		cat >"$tmp/s_${set}_lo.sql" <<-EOF
			$pick
			SELECT lo_lseek64(lo_open(($lobase + :k::int)::oid, 262144), 0, 2);
		EOF
		best_tps "small_read_$set" "$reads" "small files, $set: read" \
			pgfs:"$tmp/r_${set}_pgfs.sql" bytea:"$tmp/r_${set}_bytea.sql" lo:"$tmp/r_${set}_lo.sql"
		if [ "$kind" = random ]; then
			best_tps "small_stat_$size" "$reads" "small files, $set: stat" \
				pgfs:"$tmp/s_${set}_pgfs.sql" bytea:"$tmp/s_${set}_bytea.sql" lo:"$tmp/s_${set}_lo.sql"
		fi
	done
done

# ---------------------------------------------------------------------------
# Workload 5: stat among many files
create_files() {   # from to
	local w pids=()
	for w in 0 1; do
		q -c "CALL bench_scale_create($1, $2, $w, 2)" >/dev/null & pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w" || die "creating files $1 .. $2 failed"; done
	q -c "INSERT INTO bench_scale SELECT n, 0, convert_to('f' || n, 'UTF8') FROM generate_series($1, $2 - 1) n" >/dev/null
}
scale_stat() {   # key nfiles
	cat >"$tmp/scale_pgfs.sql" <<-EOF
		\\set k random(0, $(($2 - 1)))
		SELECT size FROM pgfs_stat('/scale/d' || (:k::int % $ndirs) || '/f' || :k::int);
	EOF
	cat >"$tmp/scale_bytea.sql" <<-EOF
		\\set k random(0, $(($2 - 1)))
		SELECT length(data) FROM bench_scale WHERE file_id = :k::int AND chunkno = 0;
	EOF
	q -c "VACUUM ANALYZE bench_scale, pgfs.inode, pgfs.dirent" -c "CHECKPOINT" >/dev/null
	best_tps "$1" "$reads" "stat among $2 files" pgfs:"$tmp/scale_pgfs.sql" bytea:"$tmp/scale_bytea.sql"
}
log "creating $scale_small files in $ndirs directories"
q -c "CALL bench_scale_dirs($ndirs)" >/dev/null
create_files 0 "$scale_small"
scale_stat scale_stat_small "$scale_small"
log "creating files up to $scale_n"
t0=$(now)
create_files "$scale_small" "$scale_n"
t1=$(now)
put scale_create pgfs "$(awk -v n=$((scale_n - scale_small)) -v a="$t0" -v b="$t1" 'BEGIN { print n / (b - a) }')"
scale_stat scale_stat_big "$scale_n"
scale_sizes=$(val "SELECT format('pgfs.inode %s, pgfs.dirent %s (with indexes), bench_scale %s',
                       pg_size_pretty(pg_total_relation_size('pgfs.inode')),
                       pg_size_pretty(pg_total_relation_size('pgfs.dirent')),
                       pg_size_pretty(pg_total_relation_size('bench_scale')))")

# ---------------------------------------------------------------------------
elapsed=$(( $(date +%s) - start ))
load1=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo '?')
commit=$(bench_commit src include 'pgfs--*.sql')
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -1)
ncpu=$(nproc 2>/dev/null || echo '?')
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo 2>/dev/null)
text_lz=$(val "SELECT round(1 / value::numeric, 2) FROM bench_measure WHERE key = 'disk_text' AND method = 'pgfs'")
table=$(psql -X -q -v ON_ERROR_STOP=1 -v big_mb="$big_mb" -v small_n="$scale_small" -v big_n="$scale_n" \
	-f "$here/sql/report.sql")

{
	echo "## pgfs SQL benchmark$([ "$quick" = 1 ] && echo ' (quick mode)')"
	echo
	echo "$(date -u +%Y-%m-%d), pgfs $commit, PostgreSQL $pgversion, ${cpu:-unknown CPU}, $ncpu cores, $mem RAM."
	echo "One client, one server, the same data for every store; $elapsed s in all."
	echo "Server settings: $settings."
	echo
	echo "$table"
	echo
	echo "- **Stores.** pgfs: \`pgfs_write(path, data, offset)\`, \`pgfs_read(path, offset, length)\`,"
	echo "  \`pgfs_stat(path)\`. bytea: a plain table \`bench_bytea(file_id, chunkno, data)\` with the"
	echo "  same 64 KiB chunks and the column defaults (TOAST, pglz). Large objects: \`lo_put\`,"
	echo "  \`lo_get\`, \`lo_from_bytea\`; their stat is \`lo_open\` + \`lo_lseek64\` to the end."
	echo "- **Big file** ($big_mb MiB): written in 16 MiB pieces, one transaction per piece in every"
	echo "  store (one \`pgfs_write\`, one 256-row \`INSERT\` or \`COPY ... FROM\` a binary file, one"
	echo "  \`lo_put\`), timed inside the server, each store after a checkpoint and on recycled WAL"
	echo "  segments (made beforehand, untimed, for all of them); random data best of 2 rounds (the"
	echo "  file deleted and the tables vacuumed in between), text once. Read in 16 MiB ranges, and"
	echo "  again in 1 MiB ranges (what the mount asks for) (\`length(pgfs_read(...))\`,"
	echo "  \`length(lo_get(...))\`: the value is made whole, not copied again into a plpgsql variable;"
	echo "  for bytea the range's rows, each detoasted and copied, not assembled into one value: a"
	echo "  16 MiB value costs pgfs and large objects what 64 KiB rows do not), best of"
	echo "  2 rounds. 4 KiB reads: $reads seeded random offsets (bytea: \`substring\` of the chunk"
	echo "  rows), best of $((rounds + 1)) rounds. Disk: growth of \`pg_total_relation_size\` (pgfs.chunk,"
	echo "  filemap, inode, dirent; bench_bytea; pg_largeobject + metadata). WAL: insert-LSN difference."
	echo "- **Data.** Random: \`gen_random_bytes\`. Text: seeded documentation-like prose (Zipf-weighted"
	echo "  vocabulary, common phrases), which lz4 compresses about as well as English documentation"
	echo "  (≈ 2× per 64 KiB block); pgfs stores it ${text_lz:-?}× smaller than raw."
	echo "- **Small files**: pgbench, 1 client, one transaction per file: $small_n writes, $reads reads"
	echo "  or stats per run, best of $rounds rounds. A read returns \`length()\` of the whole file"
	echo "  (bytea: of each chunk row, detoasted and copied)."
	echo "- **Scale**: files spread over $ndirs directories (\`/scale/dN/fM\`); $reads random"
	echo "  \`pgfs_stat\` calls vs an index lookup in a bytea table of as many rows, best of $rounds"
	echo "  rounds. At $scale_n files: $scale_sizes."
	echo "- **Cache state**: warm. Every read follows the writes in the same run: the OS page cache holds"
	echo "  all data ($mem RAM), shared_buffers (256MB) only part of it; nothing was dropped."
	echo "- **Noise**: rounds interleave the stores and keep each one's best; load average $load0 at the"
	echo "  start, $load1 at the end (other work on the machine slows all stores, not always alike)."
	echo "- Ratio is pgfs / the named reference; for disk and WAL lower is better. Targets are"
	echo "  informational, not a test."
} >"$out"

echo
cat "$out"
log "written to $out"
if [ -z "${BENCH_KEEP_DB:-}" ]; then
	psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null 2>&1 || true
fi
