#!/usr/bin/env bash
# bench/fs_bench.sh -- a pgfs mount next to a native directory, juicefs-bench style
#
#   bench/fs_bench.sh [--quick | --full] [--build]
#
# A benchmark, not a test.  Mounts a pgfs store with pgfs-fuse and runs the
# same single-threaded workloads (bench/fs/fsops.py: plain open/read/write/
# fsync/close/stat system calls) on the mount and on a native directory of
# the disk the database lives on, in the same run, and prints a Markdown
# table (workload | pgfs mount | native | ratio | target | JuiceFS) that is
# also written to bench/results-fs.md.  Targets are informational.
#
#   1. a big file: 1 MiB write(2)s, fsync, close; read back in 1 MiB reads,
#      once with the mount's default read-ahead (pgfs-fuse sets its
#      read_ahead_kb) and once with the kernel's 128 KiB for FUSE mounts, or
#      BENCH_RA_ALT (only the mount; the native disk keeps its own)
#   2. 100 files of 128 KiB and 10k files of 4 KiB, each open, write, fsync,
#      close (juicefs bench does write + close; the fsync makes both sides
#      durable per file, which a pgfs close is anyway); read back: open,
#      read to EOF, close
#   3. stat(2) of each of the 10k files; then rename(2) of each within its
#      directory, and unlink(2) of each, each phase ending in the
#      directory's fsync (which makes a pgfs mount's name changes durable)
#   4. the daemon's peak RSS (VmHWM, reset before each phase) while doing
#      the above and while copying a big file into the mount with cp and
#      reading it back (1 MiB reads, for at most BENCH_COPY_READ_SECS)
#   5. for reference, the SQL write paths of the same server: pgfs_write of
#      16 MiB pieces and a plain bytea table (bench/sql, as sql_bench.sh)
#
# Reads are cold: before each read phase the database server is restarted
# (its shared buffers emptied) and its shared buffers are filled with an
# unrelated table (pg_prewarm), as on a server that has been running: they
# hold none of the data read, but their memory is in use (a fresh server's
# first touch of each buffer's memory costs a page fault, and on a virtual
# machine more: 15-30 % of a cold big read here).  Then "sync; echo 3 >
# /proc/sys/vm/drop_caches", and the script waits out attr_timeout and
# entry_timeout so that the kernel asks the daemon again.  Stat is cold in
# the kernel only ("echo 2": dentries and inodes, no restart): it measures
# lookups, not the disk.  Rounds interleave the
# two sides (and alternate which goes first); each side's best is kept.
#
# Without PGHOST it runs itself inside a throwaway cluster (pg_virtualenv -t)
# with shared_buffers=256MB; fsync, synchronous_commit and full_page_writes
# stay on.  Needs root (mount, drop_caches).  Modes:
#   --quick    256 MiB big file, 1000 small files, 512 MiB copy, 1 round
#   (default)  1 GiB big file, 10k small files, 2 GiB copy, 2 rounds
#   --full     as the default, with a 10 GiB copy and 3 rounds
# Environment:
#   BENCH_BIG_MB       big file, MiB, a multiple of 16
#   BENCH_SMALL_N      4 KiB files; BENCH_MEDIUM_N 128 KiB files (100)
#   BENCH_COPY_MB      the copied file, MiB; BENCH_COPY_READ_SECS caps reading it back (300)
#   BENCH_ROUNDS       rounds
#   BENCH_NATIVE_DIR   where the native directory is made (default: next to the data directory)
#   BENCH_MOUNT_OPTS   extra pgfs-fuse options, e.g. "-o workers=8"
#   BENCH_RA_ALT       the second read-ahead to read the big file with (KiB; default 128)
#   BENCH_RESTART      0: do not restart the server before reads (OS cache dropped only)
#   BENCH_FILL         0: leave the restarted server's shared buffers empty
#   BENCH_DB           database to create (default pgfs_fsbench); BENCH_OUT results file
#   FUSE_BIN           the daemon (default pgfs-fuse on PATH); FUSE_LABEL says what it is
#                      in the results (e.g. "built from abc1234")

set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"

mode=default
build=0
for arg in "$@"; do
	case $arg in
		--quick) mode=quick ;;
		--full) mode=full ;;
		--build) build=1 ;;
		-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; exit 0 ;;
		*) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
	esac
done

bench_name=fs_bench
# shellcheck source=bench/common.sh
. "$here/common.sh"

[ "$(id -u)" = 0 ] || die "run as root: it mounts and drops the page cache"

# autovacuum stays on, unlike sql_bench.sh: a mount lives with it (the
# script also vacuums between phases, so it rarely finds work inside one);
# room for a 1 GiB write's WAL; pg_stat_statements counts the daemon's
# statements per operation.
bench_virtualenv -o max_wal_size=4GB -o shared_preload_libraries=pg_stat_statements -- "$@"

case $mode in
	quick) big_mb=${BENCH_BIG_MB:-256}; small_n=${BENCH_SMALL_N:-1000}; copy_mb=${BENCH_COPY_MB:-512}; rounds=${BENCH_ROUNDS:-1} ;;
	default) big_mb=${BENCH_BIG_MB:-1024}; small_n=${BENCH_SMALL_N:-10000}; copy_mb=${BENCH_COPY_MB:-2048}; rounds=${BENCH_ROUNDS:-2} ;;
	full) big_mb=${BENCH_BIG_MB:-1024}; small_n=${BENCH_SMALL_N:-10000}; copy_mb=${BENCH_COPY_MB:-10240}; rounds=${BENCH_ROUNDS:-3} ;;
esac
medium_n=${BENCH_MEDIUM_N:-100}
rand_n=${BENCH_RAND_N:-4096}
copy_secs=${BENCH_COPY_READ_SECS:-300}
[ $((big_mb % 16)) -eq 0 ] && [ "$big_mb" -ge 16 ] || die "BENCH_BIG_MB must be a multiple of 16"
db=${BENCH_DB:-pgfs_fsbench}
out=${BENCH_OUT:-$here/results-fs.md}
fuse_bin=$(command -v "${FUSE_BIN:-pgfs-fuse}") || die "pgfs-fuse not found (make install, or set FUSE_BIN)"
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || die "python3 not found"
fsops="$here/fs/fsops.py"
restart=${BENCH_RESTART:-1}
fill=${BENCH_FILL:-1}

start=$(date +%s)
load0=$(cut -d' ' -f1 /proc/loadavg)
# bench/sql/setup.sql: pgfs, and the bytea reference of sql_bench.sh
bench_mount_setup "$here/sql/setup.sql"
if [ "$restart" = 1 ] && [ -z "$cluster" ]; then
	log "cannot find the cluster of port $PGPORT: reads will not restart the server"
	restart=0
fi
# the filler: an unlogged table 1.25 times the size of shared_buffers
if [ "$restart" = 1 ] && [ "$fill" = 1 ]; then
	log "making a table to fill shared buffers with after each restart"
	if ! q -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" \
		-c "CREATE UNLOGGED TABLE bench_filler AS
		      SELECT g, repeat('x', 900) AS pad
		        FROM generate_series(1, (SELECT (setting::bigint * 8192 * 5 / 4 / 1000)::integer
		                                   FROM pg_settings WHERE name = 'shared_buffers')) g" >/dev/null; then
		log "cannot make it (pg_prewarm is in postgresql-contrib): restarted servers stay empty"
		fill=0
	fi
fi

nbase=${BENCH_NATIVE_DIR:-${datadir:+$(dirname "$datadir")}}
[ -d "${nbase:-}" ] || nbase=/var/tmp
tmp=$(mktemp -d -t pgfs-fs-bench.XXXXXX)
mnt=$(mktemp -d /tmp/pgfs-fs-bench-mnt.XXXXXX)
native=$(mktemp -d "$nbase/pgfs-fs-bench-native.XXXXXX")
chmod 755 "$mnt" "$native"
fuse_pid=

cleanup() {
	set +e
	if mountpoint -q "$mnt"; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt"
	fi
	[ -n "$fuse_pid" ] && wait "$fuse_pid" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	rm -rf "$native" "$tmp"
	if [ -z "${BENCH_KEEP_DB:-}" ]; then
		psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
	fi
}
trap cleanup EXIT

ndev=$(df --output=source "$native" | tail -1)
pdev=$(df --output=source "${datadir:-$native}" 2>/dev/null | tail -1)
[ "$ndev" = "$pdev" ] || log "warning: native directory on $ndev, database on $pdev"

# ---------------------------------------------------------------------------
# the mount: foreground, so that $! is the daemon
mount_opts=${BENCH_MOUNT_OPTS:-}
# shellcheck disable=SC2086
"$fuse_bin" "dbname=$db host=$PGHOST port=$PGPORT" "$mnt" -f $mount_opts >"$tmp/fuse.log" 2>&1 &
fuse_pid=$!
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 "$fuse_pid" 2>/dev/null || { cat "$tmp/fuse.log" >&2; die "pgfs-fuse exited"; }
	sleep 0.1
done
mountpoint -q "$mnt" || die "pgfs-fuse did not mount in 10 s"
attr_timeout=$(sed -n 's/.*attr_timeout=\([0-9.]*\).*/\1/p' <<<"$mount_opts")
entry_timeout=$(sed -n 's/.*entry_timeout=\([0-9.]*\).*/\1/p' <<<"$mount_opts")
wait_attr=$(calc "(${attr_timeout:-1} > ${entry_timeout:-1} ? ${attr_timeout:-1} : ${entry_timeout:-1}) + 0.2")
bdi=/sys/class/bdi/$(mountpoint -d "$mnt")
ra_default=$(cat "$bdi/read_ahead_kb" 2>/dev/null || echo '?')
ra_alt=${BENCH_RA_ALT:-128}
ra_native=$(cat "/sys/class/bdi/$(mountpoint -d "$(df --output=target "$native" | tail -1)")/read_ahead_kb" 2>/dev/null || echo '?')

log "PostgreSQL $pgversion over $transport; $settings"
log "pgfs-fuse $fuse_bin (pid $fuse_pid) on $mnt${mount_opts:+ ($mount_opts)}; native $native ($ndev)"
log "big file $big_mb MiB, $medium_n × 128 KiB, $small_n × 4 KiB, copy $copy_mb MiB, $rounds round(s)"

# stop and start (not "restart", which pg_ctlcluster skips when its
# liveness probe fails) and check that the postmaster is a new one
restart_server() {
	local t0 i
	t0=$(val "SELECT pg_postmaster_start_time()")
	# shellcheck disable=SC2086
	pg_ctlcluster $cluster stop -m fast >>"$tmp/ctl.log" 2>&1 || true
	# shellcheck disable=SC2086
	pg_ctlcluster $cluster start >>"$tmp/ctl.log" 2>&1 || true
	for ((i = 0; i < 300; i++)); do
		psql -X -At -c "SELECT 1" >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ "$(val "SELECT pg_postmaster_start_time()")" != "$t0" ] ||
		{ cat "$tmp/ctl.log" >&2; die "the server did not restart"; }
}

hwm_reset() { echo 5 >"/proc/$fuse_pid/clear_refs"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$fuse_pid/status"; }

# cold caches: a fresh server (empty shared buffers), an empty page cache,
# and no attribute or name the kernel may still trust
cold() {	# [meta]: only the kernel's dentries and inodes; the server and page cache stay warm
	if [ "${1:-}" = meta ]; then
		sync
		echo 2 >/proc/sys/vm/drop_caches
		sleep "$wait_attr"
		return
	fi
	if [ "$restart" = 1 ]; then
		restart_server
		[ "$fill" = 1 ] && val "SELECT pg_prewarm('bench_filler')" >/dev/null
		# the daemon's connections went with it: wake one up before timing
		stat -f "$mnt" >/dev/null
	fi
	sync
	echo 3 >/proc/sys/vm/drop_caches
	sleep "$wait_attr"
}

# fsops OP ARGS... -> seconds
fsops() {
	local o
	o=$("$python" "$fsops" "$@") || die "fsops.py $* failed"
	sed -n 's/^seconds=\([0-9.]*\) .*/\1/p' <<<"$o"
}

declare -A P	# statements per operation of the last round, per phase
pss_reset() { [ "$pss" = 0 ] || val "SELECT pg_stat_statements_reset()" >/dev/null; }
pss_take() {	# phase units seconds: what the daemon's statements cost per unit
	[ "$pss" = 1 ] || return 0
	P[$1]=$(psql -X -q -At -F'|' -v ON_ERROR_STOP=1 -c "
		WITH s AS (SELECT substring(query FROM 'pgfs_ll_[a-z_]+') AS fn, sum(calls) AS calls,
		                  sum(total_exec_time) AS ms
		             FROM pg_stat_statements
		            WHERE query LIKE '%pgfs\_ll\_%' AND query NOT LIKE '%pg_stat_statements%'
		              AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		            GROUP BY 1)
		SELECT round($3 * 1e6 / $2), round(sum(calls) / $2, 2), round((sum(ms) * 1000 / $2)::numeric),
		       string_agg(replace(fn, 'pgfs_ll_', '') || ' ' || round(calls / $2, 2), ', ' ORDER BY calls DESC)
		  FROM s")
}
declare -A R	# best figure per key
declare -A H	# daemon peak RSS per phase, KiB (highest over rounds)
keep() {	# key value: keep the higher
	if [ -z "${R[$1]:-}" ] || awk -v a="$2" -v b="${R[$1]}" 'BEGIN { exit !(a > b) }'; then
		R[$1]=$2
	fi
}
keep_hwm() {	# phase
	local k
	k=$(hwm_kib)
	if [ -z "${H[$1]:-}" ] || [ "$k" -gt "${H[$1]}" ]; then H[$1]=$k; fi
}
rate() { calc "$1 / $2"; }	# amount seconds

vacuum() { q -c "VACUUM ANALYZE pgfs.chunk, pgfs.filemap, pgfs.inode, pgfs.dirent, bench_bytea" >/dev/null; }

# ---------------------------------------------------------------------------
log "generating the SQL reference's source data (not timed)"
q -c "CALL bench_gen_random($((big_mb / 16)), 16777216)" -c "VACUUM ANALYZE bench_src" >/dev/null
q -c "SELECT pgfs_mkdir('/big')" >/dev/null
# WAL segments for the writes (not timed), as sql_bench.sh makes them: a
# new cluster has almost none, so the first big write would create, zero
# and fsync each segment it fills, where a running server reuses old ones.
# That made the mount's first round 30 % slower than its second (1 GiB:
# 6.1 s against 5.0 s on a new cluster; 5.1 s with segments made first).
log "preparing WAL segments (not timed)"
q -c "SELECT count(pg_logical_emit_message(false, 'pgfs-bench', repeat('x', 1048576)))
        FROM generate_series(1, 2 * $big_mb)" -c "CHECKPOINT" >/dev/null

sides_of() { if [ $(($1 % 2)) = 0 ]; then echo pgfs native; else echo native pgfs; fi; }
dir_of() { if [ "$1" = pgfs ]; then echo "$mnt"; else echo "$native"; fi; }

for ((r = 0; r < rounds; r++)); do
	tag=r$r
	verify=$([ "$r" = 0 ] && echo verify || true)
	# -- big file write, and the SQL write paths
	for side in $(sides_of "$r"); do
		d=$(dir_of "$side")
		q -c CHECKPOINT >/dev/null
		sync
		log "round $((r + 1)): big file write, $side"
		hwm_reset
		pss_reset
		s=$(fsops bigwrite "$d/big.$tag" "$big_mb")
		keep "bigwrite:$side" "$(rate "$big_mb" "$s")"
		[ "$side" = pgfs ] && keep_hwm bigwrite && pss_take bigwrite "$big_mb" "$s"
	done
	for method in pgfs bytea; do
		q -c CHECKPOINT >/dev/null
		log "round $((r + 1)): big file write, SQL path, $method"
		q -c "CALL bench_big_write('$method', 'random')" >/dev/null
		keep "sqlwrite:$method" "$(val "SELECT value FROM bench_measure WHERE key = 'big_write_random' AND method = '$method'")"
	done
	q -c "SELECT pgfs_unlink('/big/random')" -c "TRUNCATE bench_bytea" >/dev/null
	vacuum

	# -- big file read, cold; then the mount again with read_ahead_kb=$ra_alt
	for side in $(sides_of "$r"); do
		d=$(dir_of "$side")
		cold
		log "round $((r + 1)): big file read, $side"
		hwm_reset
		pss_reset
		s=$(fsops bigread "$d/big.$tag" "$big_mb" $verify)
		keep "bigread:$side" "$(rate "$big_mb" "$s")"
		[ "$side" = pgfs ] && keep_hwm bigread && pss_take bigread "$big_mb" "$s"
		# again, the file unchanged: from the page cache if the side keeps it
		s=$(fsops bigread "$d/big.$tag" "$big_mb")
		keep "bigread_hot:$side" "$(rate "$big_mb" "$s")"
		# pages here and there, as a database writes them
		log "round $((r + 1)): $rand_n random 4 KiB writes, $side"
		pss_reset
		s=$(fsops randwrite "$d/big.$tag" "$big_mb" "$rand_n")
		keep "randwrite:$side" "$(rate "$rand_n" "$s")"
		[ "$side" = pgfs ] && pss_take randwrite "$rand_n" "$s"
	done
	if [ -w "$bdi/read_ahead_kb" ] && [ "$ra_alt" != "$ra_default" ]; then
		cold
		echo "$ra_alt" >"$bdi/read_ahead_kb"
		log "round $((r + 1)): big file read, pgfs, read_ahead_kb=$ra_alt"
		hwm_reset
		pss_reset
		s=$(fsops bigread "$mnt/big.$tag" "$big_mb")
		keep "bigread_ra:pgfs" "$(rate "$big_mb" "$s")"
		keep_hwm bigread_ra
		pss_take bigread_ra "$big_mb" "$s"
		echo "$ra_default" >"$bdi/read_ahead_kb"
	fi
	rm -f "$mnt/big.$tag" "$native/big.$tag"

	# -- small files: write (each fsynced), read back cold, stat cold
	for side in $(sides_of "$r"); do
		d=$(dir_of "$side")
		mkdir "$d/m.$tag" "$d/s.$tag"
		sync
		log "round $((r + 1)): $medium_n × 128 KiB write, $side"
		hwm_reset
		pss_reset
		s=$(fsops smallwrite "$d/m.$tag" "$medium_n" 131072)
		keep "mwrite:$side" "$(rate "$medium_n" "$s")"
		[ "$side" = pgfs ] && pss_take mwrite "$medium_n" "$s"
		log "round $((r + 1)): $small_n × 4 KiB write, $side"
		pss_reset
		s=$(fsops smallwrite "$d/s.$tag" "$small_n" 4096)
		keep "swrite:$side" "$(rate "$small_n" "$s")"
		[ "$side" = pgfs ] && keep_hwm small && pss_take swrite "$small_n" "$s"
	done
	vacuum
	for side in $(sides_of "$r"); do
		d=$(dir_of "$side")
		cold
		log "round $((r + 1)): $medium_n × 128 KiB read, $side"
		pss_reset
		s=$(fsops smallread "$d/m.$tag" "$medium_n" 131072 $verify)
		keep "mread:$side" "$(rate "$medium_n" "$s")"
		[ "$side" = pgfs ] && pss_take mread "$medium_n" "$s"
		cold
		log "round $((r + 1)): $small_n × 4 KiB read, $side"
		hwm_reset
		pss_reset
		s=$(fsops smallread "$d/s.$tag" "$small_n" 4096 $verify)
		keep "sread:$side" "$(rate "$small_n" "$s")"
		[ "$side" = pgfs ] && keep_hwm small && pss_take sread "$small_n" "$s"
		cold meta
		log "round $((r + 1)): stat of $small_n files, $side"
		pss_reset
		s=$(fsops stat "$d/s.$tag" "$small_n")
		keep "stat:$side" "$(rate "$small_n" "$s")"
		[ "$side" = pgfs ] && pss_take stat "$small_n" "$s"
		log "round $((r + 1)): rename, then unlink, each of $small_n files, $side"
		pss_reset
		s=$(fsops rename "$d/s.$tag" "$small_n")
		keep "rename:$side" "$(rate "$small_n" "$s")"
		[ "$side" = pgfs ] && pss_take rename "$small_n" "$s"
		pss_reset
		s=$(fsops unlink "$d/s.$tag" "$small_n")
		keep "unlink:$side" "$(rate "$small_n" "$s")"
		[ "$side" = pgfs ] && pss_take unlink "$small_n" "$s"
	done
	q -c "SELECT pgfs_remove('/m.$tag', true), pgfs_remove('/s.$tag', true)" >/dev/null
	rm -rf "$native/m.$tag" "$native/s.$tag"
	vacuum
done

# ---------------------------------------------------------------------------
# the daemon's memory while a big file is copied in and read back
log "copy: writing a $copy_mb MiB source file in the native directory (not timed)"
fsops bigwrite "$native/copy.src" "$copy_mb" >/dev/null
q -c CHECKPOINT >/dev/null
sync
log "copy: cp of $copy_mb MiB into the mount"
hwm_reset
pss_reset
t0=$(now)
cp "$native/copy.src" "$mnt/copy.dst"
t1=$(now)
keep copy_in "$(calc "$copy_mb / ($t1 - $t0)")"
keep_hwm copy_in
pss_take copy_in "$copy_mb" "$(calc "$t1 - $t0")"
[ "$(stat -c %s "$mnt/copy.dst")" = $((copy_mb * 1048576)) ] || die "the copy has the wrong size"
# cp within each side: copy_file_range, which pgfs answers on the server by
# sharing the chunks, and ext4 by copying the bytes; then fsync
log "copy: cp of it within the mount and within the native directory"
chunk0=$(val "SELECT pg_total_relation_size('pgfs.chunk')")
t0=$(now)
cp "$mnt/copy.dst" "$mnt/copy.cp" && sync "$mnt/copy.cp"
t1=$(now)
keep cp_within:pgfs "$(calc "$copy_mb / ($t1 - $t0)")"
cp_space_pgfs=$(val "SELECT pg_total_relation_size('pgfs.chunk') - $chunk0")
[ "$(stat -c %s "$mnt/copy.cp")" = $((copy_mb * 1048576)) ] || die "the copy within the mount has the wrong size"
cmp -n $((64 * 1048576)) "$mnt/copy.dst" "$mnt/copy.cp" >/dev/null || die "the copy within the mount differs"
sync
df0=$(df --output=used -B1 "$native" | tail -1)
t0=$(now)
cp "$native/copy.src" "$native/copy.cp" && sync "$native/copy.cp"
t1=$(now)
keep cp_within:native "$(calc "$copy_mb / ($t1 - $t0)")"
cp_space_native=$(( $(df --output=used -B1 "$native" | tail -1) - df0 ))
rm -f "$native/copy.src" "$native/copy.cp" "$mnt/copy.cp"
cold
log "copy: reading it back (1 MiB reads, at most $copy_secs s)"
hwm_reset
pss_reset
o=$("$python" "$fsops" drain "$mnt/copy.dst" "$copy_secs") || die "reading the copy back failed"
s=$(sed -n 's/^seconds=\([0-9.]*\) .*/\1/p' <<<"$o")
copy_read=$(sed -n 's/.* count=\([0-9.]*\)$/\1/p' <<<"$o")
keep copy_out "$(rate "$copy_read" "$s")"
keep_hwm copy_out
pss_take copy_out "$copy_read" "$s"
rm -f "$mnt/copy.dst"
hwm_life=$(awk '/^VmHWM:/ { print $2 }' "/proc/$fuse_pid/status")
rss_now=$(awk '/^VmRSS:/ { print $2 }' "/proc/$fuse_pid/status")

problems=$(val "SELECT count(*) FROM pgfs_fsck()")

# ---------------------------------------------------------------------------
# the table
fmt() {	# a figure with three significant digits
	awk -v v="$1" 'BEGIN { if (v == "") print "—"; else if (v >= 100) printf "%.0f\n", v;
	                       else if (v >= 10) printf "%.1f\n", v; else printf "%.2f\n", v }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "—"; else printf "%.2f×\n", a / b }'; }
verdict() {	# value op threshold label
	if awk -v v="$1" -v t="$3" -v op="$2" 'BEGIN { exit !((op == "ge" && v >= t) || (op == "lt" && v < t)) }'; then
		echo "$4: PASS"
	else
		echo "$4: MISS"
	fi
}
row() {	# label pgfs native target juicefs
	local p=$2 n=$3
	printf '| %s | %s | %s | %s | %s | %s |\n' "$1" "$(fmt "$p")" "$(fmt "$n")" \
		"$(ratio "$p" "$n")" "$4" "${5:-—}"
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f\n", k / 1024 }'; }

big_w_n=$(calc "${R[bigwrite:pgfs]} / ${R[bigwrite:native]}")
big_w_b=$(calc "${R[bigwrite:pgfs]} / ${R[sqlwrite:bytea]}")
big_r_n=$(calc "${R[bigread:pgfs]} / ${R[bigread:native]}")
t_bigw="$(verdict "$big_w_n" ge 0.3 "≥ 0.3× native") and $(verdict "$big_w_b" ge 0.8 "≥ 0.8× bytea")"
elapsed=$(( $(date +%s) - start ))
load1=$(cut -d' ' -f1 /proc/loadavg)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | awk '{ print $1, $2 }')
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
ra_row=""
if [ -n "${R[bigread_ra:pgfs]:-}" ]; then
	ra_row=$(row "big file read, cold, read_ahead_kb=$ra_alt on the mount, MiB/s" "${R[bigread_ra:pgfs]}" \
		"${R[bigread:native]}" "$(verdict "$(calc "${R[bigread_ra:pgfs]} / ${R[bigread:native]}")" ge 0.5 "≥ 0.5× native")")
fi

{
	echo "## pgfs filesystem benchmark$([ "$mode" != default ] && echo " ($mode mode)")"
	echo
	echo "$(date -u +%Y-%m-%d), pgfs $commit, PostgreSQL $pgversion over a $transport, ${cpu:-unknown CPU},"
	echo "$(nproc) cores, $mem RAM, $(uname -r). One thread on each side; $elapsed s in all."
	echo "Server settings: $settings."
	echo
	echo "| workload | pgfs mount | native | ratio | target | JuiceFS on PostgreSQL |"
	echo "|---|---:|---:|---:|---|---:|"
	row "big file write ($big_mb MiB, 1 MiB writes, fsync), MiB/s" "${R[bigwrite:pgfs]}" "${R[bigwrite:native]}" "$t_bigw" 178
	row "big file write by SQL: pgfs_write (16 MiB pieces) \\| bytea table, MiB/s" "${R[sqlwrite:pgfs]}" "${R[sqlwrite:bytea]}" \
		"mount / bytea: $(ratio "${R[bigwrite:pgfs]}" "${R[sqlwrite:bytea]}")"
	row "big file read, cold, read_ahead_kb=$ra_default on the mount, MiB/s" "${R[bigread:pgfs]}" "${R[bigread:native]}" \
		"$(verdict "$big_r_n" ge 0.5 "≥ 0.5× native")" 32
	[ -n "$ra_row" ] && echo "$ra_row"
	row "big file read again at once, unchanged (page cache), MiB/s" "${R[bigread_hot:pgfs]}" \
		"${R[bigread_hot:native]}" info
	row "random 4 KiB writes into the big file (an fsync every 256), writes/s" "${R[randwrite:pgfs]}" \
		"${R[randwrite:native]}" info
	row "write 128 KiB files (write, fsync, close), files/s" "${R[mwrite:pgfs]}" "${R[mwrite:native]}" \
		"$(verdict "${R[mwrite:pgfs]}" ge 1500 "≥ 1500")" 149
	row "read 128 KiB files, cold, files/s" "${R[mread:pgfs]}" "${R[mread:native]}" \
		"$(verdict "${R[mread:pgfs]}" ge 3000 "≥ 3000")" 545
	row "write 4 KiB files (write, fsync, close), files/s" "${R[swrite:pgfs]}" "${R[swrite:native]}" \
		"$(verdict "${R[swrite:pgfs]}" ge 1500 "≥ 1500")"
	row "read 4 KiB files, cold, files/s" "${R[sread:pgfs]}" "${R[sread:native]}" \
		"$(verdict "${R[sread:pgfs]}" ge 3000 "≥ 3000")"
	row "stat of the $small_n files, kernel caches cold, stats/s" "${R[stat:pgfs]}" "${R[stat:native]}" \
		"$(verdict "${R[stat:pgfs]}" ge 20000 "≥ 20000")" 1750
	row "rename each of the $small_n files in its directory, then fsync the directory, renames/s" \
		"${R[rename:pgfs]}" "${R[rename:native]}" info
	row "unlink each of them, then fsync the directory, unlinks/s" "${R[unlink:pgfs]}" "${R[unlink:native]}" info
	row "cp of a $copy_mb MiB file into the mount, MiB/s" "${R[copy_in]}" "" info
	row "cp of it within the mount \\| within the native directory (copy_file_range, fsync), MiB/s" \
		"${R[cp_within:pgfs]}" "${R[cp_within:native]}" info
	row "space the copy within took (pgfs.chunk growth \\| ext4 blocks used), MiB" \
		"$(calc "int($cp_space_pgfs / 1048576)")" "$(calc "int($cp_space_native / 1048576)")" info
	row "read it back, cold, MiB/s$(awk -v r="$copy_read" -v c="$copy_mb" 'BEGIN { if (r < c) printf " (stopped after %.0f of %d MiB)", r, c }')" "${R[copy_out]}" "" info
	echo "| daemon peak RSS: big write \\| big read \\| with read-ahead $ra_alt \\| small files, MiB | $(mib "${H[bigwrite]}") \\| $(mib "${H[bigread]}") \\| $(mib "${H[bigread_ra]:-0}") \\| $(mib "${H[small]}") | — | — | info | — |"
	echo "| daemon peak RSS copying $copy_mb MiB in \\| out, MiB | $(mib "${H[copy_in]}") \\| $(mib "${H[copy_out]}") | — | — | $(verdict "$(mib "${H[copy_in]}")" lt 100 "< 100 MiB in") and $(verdict "$(mib "${H[copy_out]}")" lt 100 "out") | — |"
	if [ "$pss" = 1 ]; then
		echo
		echo "Where the mount's time goes (pgfs side, last round; pg_stat_statements, successful statements only):"
		echo
		echo "| phase | per | wall time, µs | statements | server time, µs | statements by function |"
		echo "|---|---|---:|---:|---:|---|"
		for ph in bigwrite:MiB bigread:MiB bigread_ra:MiB randwrite:write mwrite:file mread:file swrite:file sread:file stat:file rename:file unlink:file copy_in:MiB copy_out:MiB; do
			[ -n "${P[${ph%%:*}]:-}" ] || continue
			IFS='|' read -r w c t f <<<"${P[${ph%%:*}]}"
			echo "| ${ph%%:*} | ${ph#*:} | $w | $c | $t | $f |"
		done
	fi
	echo
	echo "- **Sides.** pgfs: \`pgfs-fuse\` (default options${mount_opts:+ plus \`$mount_opts\`}: 4 connections,"
	echo "  attr/entry_timeout 1 s) over a $transport to a server on this machine. Native: a directory"
	echo "  on the disk the database is on ($(df --output=fstype "$native" | tail -1)). The same Python program"
	echo "  (\`bench/fs/fsops.py\`, one thread, plain system calls) drives both."
	echo "- **Data.** Incompressible (seeded random pool), every 1 MiB block and every small file a"
	echo "  different slice stamped with its number; the first round verifies everything it reads."
	echo "- **Durability.** Every write phase ends in \`fsync\` on both sides: the big file once, each"
	echo "  small file before its \`close\` (juicefs bench only closes; a pgfs close commits anyway)."
	echo "  pgfs-fuse commits each 1 MiB of a sequential write as one transaction, sent behind the"
	echo "  writer and without waiting for the WAL flush, which the fsync then waits for. Each big"
	echo "  write starts after a checkpoint, on WAL segments made beforehand (not timed) and recycled,"
	echo "  as on a running server; a new cluster would create and zero each one as it fills."
	echo "- **Cold reads.** Before every read phase: server restart$([ "$restart" = 1 ] || echo ' (skipped)') (empty shared buffers$([ "$restart" = 1 ] && [ "$fill" = 1 ] && echo ', then filled with an unrelated table by pg_prewarm, as on a running server')),"
	echo "  \`sync; echo 3 > /proc/sys/vm/drop_caches\`, then a wait past attr_timeout/entry_timeout. Stat:"
	echo "  \`echo 2\` (dentries and inodes only) and the wait, no restart: each stat is one lookup request"
	echo "  to the daemon (which answers a run of them in one directory from a listing it reads whole,"
	echo "  fuse/dcache.c), or one ext4 inode from the page cache. Read ahead: the mount's bdi had"
	echo "  read_ahead_kb=$ra_default, the native disk $ra_native."
	echo "- **Small files**: $medium_n × 128 KiB, $small_n × 4 KiB in one directory each; a read is"
	echo "  open, read to EOF, close. Stat is \`os.stat\` of each of the $small_n files by name. Rename and"
	echo "  unlink (the same files, caches warm from the stat) end with the directory's fsync, timed."
	echo "- **SQL reference**: \`bench_big_write\` of bench/sql (as sql_bench.sh): $big_mb MiB in 16 MiB"
	echo "  pieces, one transaction each, data already in the server; pgfs_write and a plain bytea table"
	echo "  with 64 KiB rows. The mount's target compares against the bytea figure."
	echo "- **cp within**: \`cp\` of the copied file to a new name on the same side, then \`sync FILE\`"
	echo "  (its fsync). coreutils copies with copy_file_range(2): pgfs answers it on the server by"
	echo "  sharing the file's chunks (nothing is stored twice), ext4 copies the bytes."
	echo "- **Memory**: VmHWM of the daemon, reset (\`/proc/PID/clear_refs\`) before each phase; over"
	echo "  its whole life $(mib "$hwm_life") MiB, $(mib "$rss_now") MiB at the end. cp copies with 128 KiB"
	echo "  writes, which the daemon gathers into 1 MiB transactions."
	echo "- **JuiceFS on PostgreSQL**: the figures quoted in the issue (juicefs bench, 1 GiB big file,"
	echo "  128 KiB small files), for reference only: another machine, another run."
	echo "- **Noise**: $rounds round(s), sides interleaved (which goes first alternates), best kept; load"
	echo "  average $load0 at the start, $load1 at the end. pgfs_fsck() after the run: $problems problems."
} >"$out"

echo
cat "$out"
log "written to $out"
[ "$problems" = 0 ] || die "pgfs_fsck() found $problems problems"
