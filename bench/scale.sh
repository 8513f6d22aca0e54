#!/usr/bin/env bash
# bench/scale.sh -- pgfs with a million files: creation, lookups, big directories, fsck
#
#   bench/scale.sh [--quick] [--build]
#
# A benchmark, not a test.  Fills one store with SCALE_FILES files and
# prints a Markdown table, also written to bench/results-scale.md:
#   - creation rate through the SQL API in batches (pgfs_ll_create, 1000 per
#     transaction; 2 sessions over 1000 directories, 1 session into a single
#     directory; pgfs_write(path, '') for a subset) and through a mount
#     (open O_CREAT|O_EXCL + close, one thread), next to a native directory
#   - stat/lookup latency at 10k files and again at SCALE_FILES: pgfs_stat
#     and pgfs_ll_lookup through SQL (pgbench, one client), stat(2) through
#     the mount with cold kernel caches; the growth between the two
#   - a directory of SCALE_WIDE entries: lookups in it; pgfs_readdir through
#     SQL (time, and the backend's private memory sampled every 2 ms while
#     it runs); ls -f and ls -lU through the mount (time, daemon peak RSS)
#   - lookups at the bottom of a chain of SCALE_DEPTH directories
#   - pgfs_fsck() over the whole store
#
# Without PGHOST it runs itself inside a throwaway cluster (pg_virtualenv -t)
# with shared_buffers=256MB; fsync, synchronous_commit and full_page_writes
# stay on (refused otherwise).  Needs root (mount, drop_caches).
# Environment:
#   SCALE_FILES        files in all (default 1000000; --quick 100000)
#   SCALE_WIDE         entries of the one big directory (default 100000; --quick 10000)
#   SCALE_DEPTH        depth of the deep chain (default 24)
#   SCALE_MOUNT_FILES  files created through the mount (default 10000; --quick 2000)
#   SCALE_SAMPLES      lookups per latency measurement (default 5000; --quick 2000)
#   BENCH_ROUNDS       rounds of each latency measurement, best kept (default 3)
#   BENCH_DB           database to create (default pgfs_scale); BENCH_OUT results file
#   BENCH_NATIVE_DIR   where the native directory is made (default: next to the data directory)
#   FUSE_BIN           the daemon (default pgfs-fuse on PATH); FUSE_LABEL says what it is
#                      in the results (e.g. "built from abc1234")

set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
self="$here/$(basename "${BASH_SOURCE[0]}")"

quick=0
build=0
for arg in "$@"; do
	case $arg in
		--quick) quick=1 ;;
		--build) build=1 ;;
		-h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$self"; exit 0 ;;
		*) echo "unknown argument: $arg (try --help)" >&2; exit 2 ;;
	esac
done

bench_name=scale
# shellcheck source=bench/common.sh
. "$here/common.sh"

[ "$(id -u)" = 0 ] || die "run as root: it mounts and drops the page cache"

# autovacuum stays on, as for any store that grows to a million files;
# VACUUM ANALYZE also runs between phases.  pg_stat_statements: the
# server's share of each lookup.
bench_virtualenv -o max_wal_size=4GB -o shared_preload_libraries=pg_stat_statements -- "$@"

if [ "$quick" = 1 ]; then
	nfiles=${SCALE_FILES:-100000}; wide=${SCALE_WIDE:-10000}; mount_n=${SCALE_MOUNT_FILES:-2000}
	samples=${SCALE_SAMPLES:-2000}
else
	nfiles=${SCALE_FILES:-1000000}; wide=${SCALE_WIDE:-100000}; mount_n=${SCALE_MOUNT_FILES:-10000}
	samples=${SCALE_SAMPLES:-5000}
fi
depth=${SCALE_DEPTH:-24}
rounds=${BENCH_ROUNDS:-3}
ndirs=1000
first=10000					# the small step
deep_n=1000					# files at the bottom of the deep chain
papi_n=$((nfiles >= 200000 ? 20000 : 5000))	# files created through the path API
spread_n=$((nfiles - wide - deep_n - mount_n - papi_n))	# files in /spread
[ "$spread_n" -ge $((first * 2)) ] || die "SCALE_FILES too small for SCALE_WIDE and SCALE_MOUNT_FILES"
db=${BENCH_DB:-pgfs_scale}
out=${BENCH_OUT:-$here/results-scale.md}
fuse_bin=$(command -v "${FUSE_BIN:-pgfs-fuse}") || die "pgfs-fuse not found (make install, or set FUSE_BIN)"
python=/usr/bin/python3
[ -x "$python" ] || python=$(command -v python3) || die "python3 not found"
fsops="$here/fs/fsops.py"
pgbench=$(pg_config --bindir 2>/dev/null)/pgbench
[ -x "$pgbench" ] || pgbench=$(command -v pgbench) || die "pgbench not found"

start=$(date +%s)
load0=$(cut -d' ' -f1 /proc/loadavg)
bench_mount_setup "$here/fs/scale.sql" work_mem

nbase=${BENCH_NATIVE_DIR:-${datadir:+$(dirname "$datadir")}}
[ -d "${nbase:-}" ] || nbase=/var/tmp
tmp=$(mktemp -d -t pgfs-scale.XXXXXX)
mnt=$(mktemp -d /tmp/pgfs-scale-mnt.XXXXXX)
native=$(mktemp -d "$nbase/pgfs-scale-native.XXXXXX")
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

"$fuse_bin" "dbname=$db host=$PGHOST port=$PGPORT" "$mnt" -f >"$tmp/fuse.log" 2>&1 &
fuse_pid=$!
for _ in $(seq 100); do
	mountpoint -q "$mnt" && break
	kill -0 "$fuse_pid" 2>/dev/null || { cat "$tmp/fuse.log" >&2; die "pgfs-fuse exited"; }
	sleep 0.1
done
mountpoint -q "$mnt" || die "pgfs-fuse did not mount in 10 s"

log "PostgreSQL $pgversion over $transport; $settings"
log "$nfiles files: $spread_n in $ndirs directories, $wide in one, $deep_n at depth $((depth + 1)), $papi_n by path, $mount_n through the mount"

hwm_reset() { echo 5 >"/proc/$fuse_pid/clear_refs"; }
hwm_mib() { awk '/^VmHWM:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$fuse_pid/status"; }
# cold: an empty page cache and no name or attribute the kernel may still
# trust (the wait outlasts attr/entry_timeout, 1 s); cold_meta: the kernel's
# dentries and inodes dropped, the page cache (of the database files too) kept
cold() { sync; echo 3 >/proc/sys/vm/drop_caches; sleep 1.2; }
cold_meta() { sync; echo 2 >/proc/sys/vm/drop_caches; sleep 1.2; }
vacuum() { q -c "VACUUM ANALYZE pgfs.inode, pgfs.dirent" -c CHECKPOINT >/dev/null; }
fsops() { "$python" "$fsops" "$@" || die "fsops.py $* failed"; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p"; }

declare -A R	# figures; latencies keep the lowest of the rounds
keep_min() {
	if [ -z "${R[$1]:-}" ] || awk -v a="$2" -v b="${R[$1]}" 'BEGIN { exit !(a < b) }'; then R[$1]=$2; fi
}

# ---------------------------------------------------------------------------
# creation
log "directories: $ndirs under /spread, /wide, /deep down to depth $((depth + 1))"
q -c "CALL scale_mkdirs($ndirs, $depth)" >/dev/null
deep_path=/deep$(seq -s '' -f '/l%g' 1 "$depth")
deep_ino=$(val "SELECT ino FROM scale_dir WHERE d = -2")
wide_ino=$(val "SELECT ino FROM scale_dir WHERE d = -1")

create_spread() {	# lo hi -> files/s, 2 sessions
	local w pids=() t0 t1
	t0=$(now)
	for w in 0 1; do
		q -c "CALL scale_create_spread($1, $2, $w, 2, 1000)" >/dev/null & pids+=($!)
	done
	for w in "${pids[@]}"; do wait "$w" || die "creating files $1 .. $2 failed"; done
	t1=$(now)
	calc "($2 - $1) / ($t1 - $t0)"
}

log "creating $first files in /spread (2 sessions)"
R[create_first]=$(create_spread 0 "$first")
vacuum

# ---------------------------------------------------------------------------
# lookups: SQL through pgbench (one client), the mount through stat(2)
pss_reset() { [ "$pss" = 0 ] || val "SELECT pg_stat_statements_reset()" >/dev/null; }
pss_lookups() {	# function -> "calls server_µs_per_call" of the statements calling it
	[ "$pss" = 1 ] || { echo "0 "; return; }
	val "SELECT coalesce(sum(calls), 0), round((sum(total_exec_time) * 1000 / nullif(sum(calls), 0))::numeric, 1)
	       FROM pg_stat_statements WHERE query LIKE '%$1(%' AND query NOT LIKE '%pg_stat_statements%'
	        AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())" | tr '|' ' '
}
sql_latency() {	# key script function: pgbench's µs per transaction, and the server's
	local o c us
	pss_reset
	o=$("$pgbench" -n -M prepared -c 1 -t "$samples" -f "$2" 2>&1) ||
		{ echo "$o" >&2; die "pgbench $2 failed"; }
	grep -q "number of transactions actually processed: $samples/$samples" <<<"$o" ||
		{ echo "$o" >&2; die "pgbench $2 did not complete"; }
	keep_min "$1" "$(sed -n 's/^latency average = \([0-9.]*\) ms$/\1/p' <<<"$o" | awk '{ print $1 * 1000 }')"
	read -r c us <<<"$(pss_lookups "$3")"
	[ -z "$us" ] || keep_min "$1:server" "$us"
}
paths() {	# kind count max prefix -> a random sample without repeats, one path a line
	awk -v kind="$1" -v n="$2" -v max="$3" -v pre="$4" -v nd="$ndirs" -v deep="$deep_path" -v seed="$RANDOM" '
		BEGIN { srand(seed); if (n > max) n = max
			for (i = 0; i < n; i++) { do k = int(rand() * max); while (k in seen); seen[k] = 1
			if (kind == "spread") print pre "/spread/d" (k % nd) "/f" k
			else if (kind == "wide") print pre "/wide/f" k
			else print pre deep "/f" k } }'
}
mount_latency() {	# key kind max: mean µs of a stat with cold kernel caches, the server's µs per lookup
	local o n c us
	paths "$2" "$samples" "$3" "$mnt" >"$tmp/paths"
	n=$(wc -l <"$tmp/paths")
	cold_meta
	pss_reset
	o=$(fsops statlist "$tmp/paths")
	keep_min "$1" "$(field mean_us <<<"$o")"
	read -r c us <<<"$(pss_lookups pgfs_ll_lookup)"
	[ -z "$us" ] || { keep_min "$1:server" "$us"; R[$1:per]=$(calc "$c / $n"); }
}
write_scripts() {	# nspread
	local dir0 dirs
	dir0=$(val "SELECT min(ino) FROM scale_dir WHERE d >= 0")
	dirs=$(val "SELECT max(ino) - min(ino) + 1 = count(*) AND bool_and(ino - d = $dir0) FROM scale_dir WHERE d >= 0")
	cat >"$tmp/stat_spread.sql" <<-EOF
		\\set k random(0, $(($1 - 1)))
		SELECT size FROM pgfs_stat('/spread/d' || (:k % $ndirs) || '/f' || :k);
	EOF
	if [ "$dirs" = t ]; then	# directory inodes are consecutive: no subquery
		cat >"$tmp/lookup_spread.sql" <<-EOF
			\\set k random(0, $(($1 - 1)))
			\\set d $dir0 + :k % $ndirs
			SELECT size FROM pgfs_ll_lookup(:d, ('f' || :k)::bytea);
		EOF
	else
		cat >"$tmp/lookup_spread.sql" <<-EOF
			\\set k random(0, $(($1 - 1)))
			SELECT size FROM pgfs_ll_lookup((SELECT ino FROM scale_dir WHERE d = :k % $ndirs), ('f' || :k)::bytea);
		EOF
	fi
	cat >"$tmp/stat_wide.sql" <<-EOF
		\\set k random(0, $((wide - 1)))
		SELECT size FROM pgfs_stat('/wide/f' || :k);
	EOF
	cat >"$tmp/lookup_wide.sql" <<-EOF
		\\set k random(0, $((wide - 1)))
		SELECT size FROM pgfs_ll_lookup($wide_ino, ('f' || :k)::bytea);
	EOF
	cat >"$tmp/stat_deep.sql" <<-EOF
		\\set k random(0, $((deep_n - 1)))
		SELECT size FROM pgfs_stat('$deep_path/f' || :k);
	EOF
}
measure_spread() {	# tag nspread
	local r
	write_scripts "$2"
	for ((r = 0; r < rounds; r++)); do
		log "lookups among $(($1 == 0 ? first : nfiles)) files, round $((r + 1))"
		sql_latency "stat_sql:$1" "$tmp/stat_spread.sql" pgfs_stat
		sql_latency "lookup_sql:$1" "$tmp/lookup_spread.sql" pgfs_ll_lookup
		mount_latency "stat_mnt:$1" spread "$2"
	done
}
measure_spread 0 "$first"

# ---------------------------------------------------------------------------
log "creating $wide files in one directory, /wide (1 session)"
t0=$(now)
q -c "CALL scale_create_in(-1, 0, $wide, 1000)" >/dev/null
t1=$(now)
R[create_wide]=$(calc "$wide / ($t1 - $t0)")
log "creating $deep_n files at depth $((depth + 1))"
q -c "CALL scale_create_in(-2, 0, $deep_n, 1000)" >/dev/null
log "creating $papi_n files through the path API, pgfs_write(path, '') (1 session)"
t0=$(now)
q -c "CALL scale_create_path(0, $papi_n, 1000)" >/dev/null
t1=$(now)
R[create_path]=$(calc "$papi_n / ($t1 - $t0)")
log "creating files $first .. $spread_n in /spread (2 sessions)"
R[create_rest]=$(create_spread "$first" "$spread_n")

log "creating $mount_n files through the mount and in the native directory"
mkdir "$mnt/mcreate" "$native/mcreate"
sync
R[create_mnt]=$(fsops touch "$mnt/mcreate" 0 "$mount_n" | awk -F'[ =]' -v n="$mount_n" '{ print n / $2 }')
sync
R[create_native]=$(fsops touch "$native/mcreate" 0 "$mount_n" | awk -F'[ =]' -v n="$mount_n" '{ print n / $2 }')
total=$(val "SELECT count(*) FROM pgfs.inode WHERE (mode & 61440) = 32768")
log "$total files in the store"
vacuum

# ---------------------------------------------------------------------------
measure_spread 1 "$spread_n"
for ((r = 0; r < rounds; r++)); do
	log "lookups in the $wide-entry directory and at depth $((depth + 1)), round $((r + 1))"
	sql_latency stat_sql:wide "$tmp/stat_wide.sql" pgfs_stat
	sql_latency lookup_sql:wide "$tmp/lookup_wide.sql" pgfs_ll_lookup
	mount_latency stat_mnt:wide wide "$wide"
	sql_latency stat_sql:deep "$tmp/stat_deep.sql" pgfs_stat
	mount_latency stat_mnt:deep deep "$deep_n"
done

# ---------------------------------------------------------------------------
# readdir of the big directory through SQL: time, rows, the backend's memory
sql_readdir() {	# with_stat -> "seconds rows anon_start_kib anon_max_kib vmrss_max_kib"
	local app=scale_readdir_$1 ppid pid o
	psql -X -q -At -F' ' -c "SET application_name = '$app'" -c "SELECT pg_sleep(0.5)" \
		-c "SELECT extract(epoch FROM clock_timestamp() - now()), count(*) FROM pgfs_readdir('/wide', $1)" \
		>"$tmp/readdir.out" &
	ppid=$!
	pid=
	for _ in $(seq 100); do
		pid=$(val "SELECT pid FROM pg_stat_activity WHERE application_name = '$app'")
		[ -n "$pid" ] && break
		sleep 0.01
	done
	[ -n "$pid" ] || die "cannot find the backend running pgfs_readdir"
	o=$(fsops rsspeak "$pid" "$ppid")
	wait "$ppid" || die "pgfs_readdir failed"
	echo "$(tail -1 "$tmp/readdir.out") $(field rssanon_start_kib <<<"$o") $(field rssanon_max_kib <<<"$o") $(field vmrss_max_kib <<<"$o")"
}
temp_bytes() { val "SELECT pg_stat_clear_snapshot(); SELECT temp_bytes FROM pg_stat_database WHERE datname = current_database()" | tail -1; }
for ws in false true; do
	for ((r = 0; r < rounds; r++)); do
		log "pgfs_readdir('/wide', $ws), round $((r + 1))"
		tb0=$(temp_bytes)
		read -r s n a0 a1 v1 <<<"$(sql_readdir $ws)"
		[ "$n" = "$wide" ] || die "pgfs_readdir returned $n rows, not $wide"
		sleep 1	# statistics reach the shared counters within a second
		keep_min "readdir_sql:$ws" "$s"
		R[readdir_anon:$ws]=$(awk -v a="$a1" -v b="$a0" -v o="${R[readdir_anon:$ws]:-0}" 'BEGIN { d = (a - b) / 1024; print (d > o ? d : o) }')
		R[readdir_rss:$ws]=$(awk -v a="$v1" -v o="${R[readdir_rss:$ws]:-0}" 'BEGIN { d = a / 1024; print (d > o ? d : o) }')
		R[readdir_temp:$ws]=$(calc "($(temp_bytes) - $tb0) / 1048576")
	done
done
work_mem=$(val "SHOW work_mem")

# ... and through the mount, next to a native directory of as many entries
log "native directory of $wide entries (not timed)"
mkdir "$native/wide"
fsops touch "$native/wide" 0 "$wide" >/dev/null
for ((r = 0; r < rounds; r++)); do
	for side in mnt native; do
		d=$([ $side = mnt ] && echo "$mnt" || echo "$native")
		log "ls -f of the $wide-entry directory, $side, round $((r + 1))"
		cold
		hwm_reset
		t0=$(now)
		n=$(ls -f "$d/wide" | wc -l)
		t1=$(now)
		[ "$n" = $((wide + 2)) ] || die "ls -f $side listed $n entries, not $((wide + 2))"
		keep_min "ls:$side" "$(calc "$t1 - $t0")"
		[ $side = mnt ] && R[ls_hwm]=$(hwm_mib)
		cold
		t0=$(now)
		n=$(ls -lU "$d/wide" | wc -l)
		t1=$(now)
		[ "$n" = $((wide + 1)) ] || die "ls -lU $side listed $n lines, not $((wide + 1))"
		keep_min "lsl:$side" "$(calc "$t1 - $t0")"
		[ $side = mnt ] && R[lsl_hwm]=$(hwm_mib)
	done
done

# ---------------------------------------------------------------------------
log "pgfs_fsck() over $total files"
q -c CHECKPOINT >/dev/null
t0=$(now)
problems=$(val "SELECT count(*) FROM pgfs_fsck()")
t1=$(now)
R[fsck]=$(calc "$t1 - $t0")
sizes=$(val "SELECT format('pgfs.inode %s, pgfs.dirent %s (with indexes)',
                 pg_size_pretty(pg_total_relation_size('pgfs.inode')),
                 pg_size_pretty(pg_total_relation_size('pgfs.dirent')))")
daemon_life=$(awk '/^VmHWM:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$fuse_pid/status")

# ---------------------------------------------------------------------------
fmt() {
	awk -v v="$1" 'BEGIN { if (v == "") print "—"; else if (v >= 100) printf "%.0f\n", v;
	                       else if (v >= 10) printf "%.1f\n", v; else printf "%.2f\n", v }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "—"; else printf "%.2f×\n", a / b }'; }
verdict() {	# value threshold label (value ≤ threshold passes)
	if awk -v v="$1" -v t="$2" 'BEGIN { exit !(v <= t) }'; then echo "$3: PASS"; else echo "$3: MISS"; fi
}
row() { printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$3" "$4" "$5"; }
growth() { calc "${R[$1:1]} / ${R[$1:0]}"; }
lat() {	# key: "µs (server µs)"
	if [ -n "${R[$1:server]:-}" ]; then echo "$(fmt "${R[$1]}") ($(fmt "${R[$1:server]}"))"; else fmt "${R[$1]}"; fi
}
per() {	# key: lookups per stat through the mount
	[ -z "${R[$1:per]:-}" ] || awk -v p="${R[$1:per]}" 'BEGIN { printf "[%.2f lookups]\n", p }'
}
elapsed=$(( $(date +%s) - start ))
load1=$(cut -d' ' -f1 /proc/loadavg)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | awk '{ print $1, $2 }')
mem=$(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
per_s() { calc "$wide / $1"; }

{
	echo "## pgfs at scale: $total files$([ "$quick" = 1 ] && echo ' (quick mode)')"
	echo
	echo "$(date -u +%Y-%m-%d), pgfs $commit, PostgreSQL $pgversion over a $transport, ${cpu:-unknown CPU},"
	echo "$(nproc) cores, $mem RAM, $(uname -r); $elapsed s in all."
	echo "Server settings: $settings."
	echo
	echo "| workload | pgfs, SQL | pgfs, mount | native | target / note |"
	echo "|---|---:|---:|---:|---|"
	row "create, pgfs_ll_create, 1000 per transaction, 2 sessions, files 0 → $first, files/s" \
		"$(fmt "${R[create_first]}")" — — info
	row "create, the same, files $first → $spread_n (store growing to $total), files/s" \
		"$(fmt "${R[create_rest]}")" — — info
	row "create into one directory ($wide entries), 1 session, files/s" "$(fmt "${R[create_wide]}")" — — info
	row "create by path, pgfs_write(path, ''), 1000 per transaction, 1 session, files/s" \
		"$(fmt "${R[create_path]}")" — — info
	row "create through the mount (open O_CREAT\\|O_EXCL, close; $mount_n files in a new directory), files/s" \
		— "$(fmt "${R[create_mnt]}")" "$(fmt "${R[create_native]}")" "mount / native $(ratio "${R[create_mnt]}" "${R[create_native]}")"
	row "lookup among $first files: pgfs_stat \\| pgfs_ll_lookup, µs (server's share)" \
		"$(lat stat_sql:0) \\| $(lat lookup_sql:0)" "$(lat stat_mnt:0) $(per stat_mnt:0)" — \
		"path /spread/dN/fM; mount: stat(2), kernel caches cold"
	row "lookup among $total files: pgfs_stat \\| pgfs_ll_lookup, µs (server's share)" \
		"$(lat stat_sql:1) \\| $(lat lookup_sql:1)" "$(lat stat_mnt:1) $(per stat_mnt:1)" — \
		"the same paths, $spread_n in /spread"
	row "lookup latency growth $first → $total files, end to end (server's share)" \
		"$(ratio "${R[stat_sql:1]}" "${R[stat_sql:0]}") ($(ratio "${R[stat_sql:1:server]:-}" "${R[stat_sql:0:server]:-}")) \\| $(ratio "${R[lookup_sql:1]}" "${R[lookup_sql:0]}") ($(ratio "${R[lookup_sql:1:server]:-}" "${R[lookup_sql:0:server]:-}"))" \
		"$(ratio "${R[stat_mnt:1]}" "${R[stat_mnt:0]}") ($(ratio "${R[stat_mnt:1:server]:-}" "${R[stat_mnt:0:server]:-}"))" — \
		"$(verdict "$(growth stat_sql)" 1.5 "SQL ≤ 1.5×")$([ -z "${R[stat_sql:0:server]:-}" ] || echo ", $(verdict "$(calc "${R[stat_sql:1:server]} / ${R[stat_sql:0:server]}")" 1.5 "server pgfs_stat ≤ 1.5×"), $(verdict "$(calc "${R[lookup_sql:1:server]} / ${R[lookup_sql:0:server]}")" 1.5 "server pgfs_ll_lookup ≤ 1.5×")"), $(verdict "$(growth stat_mnt)" 1.5 "mount ≤ 1.5×")"
	row "lookup in the $wide-entry directory: pgfs_stat \\| pgfs_ll_lookup, µs (server's share)" \
		"$(lat stat_sql:wide) \\| $(lat lookup_sql:wide)" "$(lat stat_mnt:wide) $(per stat_mnt:wide)" — info
	row "stat at depth $((depth + 2)) ($deep_path/fN), µs (server's share)" \
		"$(lat stat_sql:deep)" "$(lat stat_mnt:deep) $(per stat_mnt:deep)" — "pgfs_stat walks $((depth + 2)) names; the mount's kernel walks cached directories"
	row "pgfs_readdir('/wide') of $wide entries, s (entries/s)" \
		"$(fmt "${R[readdir_sql:false]}") ($(fmt "$(per_s "${R[readdir_sql:false]}")"))" — — info
	row "pgfs_readdir('/wide', with_stat), s (entries/s)" \
		"$(fmt "${R[readdir_sql:true]}") ($(fmt "$(per_s "${R[readdir_sql:true]}")"))" — — info
	row "backend during pgfs_readdir \\| with_stat: private memory growth, MiB" \
		"$(fmt "${R[readdir_anon:false]}") \\| $(fmt "${R[readdir_anon:true]}")" — — \
		"RSS peak $(fmt "${R[readdir_rss:false]}") \\| $(fmt "${R[readdir_rss:true]}") MiB (shared buffers touched included); temp files $(fmt "${R[readdir_temp:false]}") \\| $(fmt "${R[readdir_temp:true]}") MiB (work_mem $work_mem)"
	row "ls -f of the $wide-entry directory, cold, s (entries/s)" — \
		"$(fmt "${R[ls:mnt]}") ($(fmt "$(per_s "${R[ls:mnt]}")"))" "$(fmt "${R[ls:native]}") ($(fmt "$(per_s "${R[ls:native]}")"))" \
		"daemon peak RSS ${R[ls_hwm]} MiB"
	row "ls -lU of the $wide-entry directory, cold, s (entries/s)" — \
		"$(fmt "${R[lsl:mnt]}") ($(fmt "$(per_s "${R[lsl:mnt]}")"))" "$(fmt "${R[lsl:native]}") ($(fmt "$(per_s "${R[lsl:native]}")"))" \
		"daemon peak RSS ${R[lsl_hwm]} MiB"
	row "pgfs_fsck() over $total files, s" "$(fmt "${R[fsck]}")" — — "$problems problems"
	echo
	echo "- **Layout.** $spread_n files in /spread/d0 … d$((ndirs - 1)) (file M in directory M mod $ndirs),"
	echo "  $wide in /wide, $deep_n in $deep_path (depth $((depth + 1))), $papi_n in /papi, $mount_n in /mcreate;"
	echo "  empty regular files. At the end: $sizes."
	echo "- **SQL**: creation runs server-side in procedures (bench/fs/scale.sql), committing every 1000"
	echo "  files; lookups are pgbench, 1 client, $samples random files per run, prepared; latency is"
	echo "  pgbench's average per transaction (one round trip over the $transport included). The"
	echo "  first step measures at $first files, the second after the store reached $total files (and"
	echo "  outgrew shared_buffers: the tables and indexes are larger than 256 MB)."
	echo "- **Mount**: \`pgfs-fuse\` with default options (4 connections, attr/entry_timeout 1 s), one"
	echo "  thread of \`bench/fs/fsops.py\`. Mount lookups: stat(2) of $samples distinct random files"
	echo "  (at most all $deep_n at depth $((depth + 1))); before each run \`sync; echo 2 > /proc/sys/vm/drop_caches\`"
	echo "  (dentries and inodes; the page cache stays) and a wait past the timeouts, so the kernel looks"
	echo "  up every file, and each directory again once its entry is older than 1 s (in /spread a"
	echo "  stat costs one or two lookups: [n lookups] is the mean). ls: \`echo 3\` (the page"
	echo "  cache too) and the wait; daemon peak RSS is VmHWM after a reset; over the whole run"
	echo "  $daemon_life MiB."
	echo "- **Server's share**: pg_stat_statements' mean execution time of the statement (pgbench's,"
	echo "  or the daemon's pgfs_ll_lookup), in the same run; the rest is the round trip, the client"
	echo "  and, through the mount, the kernel and the daemon. [n lookups]: the daemon's lookups per stat."
	echo "- **pgfs_readdir memory**: RssAnon (private memory) of the backend sampled every 2 ms while"
	echo "  the query runs, minus its value before; the function materializes its result in a"
	echo "  tuplestore (work_mem, then temp files), reading the directory through a cursor."
	echo "- **Native**: a directory on the same disk (ext4), the same Python program."
	echo "- **Noise**: latencies are the best of $rounds rounds; load average $load0 at the start,"
	echo "  $load1 at the end (the machine is shared)."
} >"$out"

echo
cat "$out"
log "written to $out"
[ "$problems" = 0 ] || die "pgfs_fsck() found $problems problems"
