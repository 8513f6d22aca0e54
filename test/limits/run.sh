#!/usr/bin/env bash
# test/limits/run.sh -- a full disk, and pgfs-fuse facing a server it cannot use
#
#   test/limits/run.sh
#
# Runs as root (it mounts a small tmpfs for a tablespace) against the cluster
# in the PG* environment, whose user must be a superuser (scripts/test.sh runs
# it inside pg_virtualenv).  Prints TAP lines and "# limits: P passed, F failed".
#
# What it checks:
#  - SQL writes into a database whose tablespace fills up fail with 53100
#    (ENOSPC) and every write acknowledged before is intact; fsck is clean.
#  - The same through a mount: write(2)/fsync(2)/close(2) report ENOSPC, files
#    closed successfully before are intact.
#  - pgfs-fuse with a bad conninfo, a wrong password, an unreachable server
#    or an older pgfs in the database
#    exits non-zero with a short message naming the problem, and mounts nothing.

set -u
FUSE_BIN=${FUSE_BIN:-pgfs-fuse}
n=0 pass=0 fail=0
ok() {	# status description
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then pass=$((pass + 1)); echo "ok $n - $2"
	else fail=$((fail + 1)); echo "not ok $n - $2"; fi
}

work=$(mktemp -d /tmp/pgfs-limits.XXXXXX)
chmod 755 "$work"
mnt=$work/mnt
mkdir -p "$mnt" "$work/ts1" "$work/ts2"
cleanup() {
	session_close
	fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null
	drop_small pgfs_full_sql pgfs_small1 "$work/ts1"
	drop_small pgfs_full_fuse pgfs_small2 "$work/ts2"
	rm -rf "$work"
}
trap cleanup EXIT

conninfo() { echo "host=$PGHOST port=$PGPORT user=$PGUSER password=$PGPASSWORD dbname=$1"; }

drop_small() {	# db tablespace dir: undo small_db
	# DROP DATABASE discards the database's buffers, then checkpoints; a
	# checkpoint that still finds dirty buffers it cannot write fails, so retry
	for _ in 1 2 3 4 5; do dropdb --if-exists "$1" >/dev/null 2>&1 && break; sleep 1; done
	psql -X -q -c "DROP TABLESPACE IF EXISTS $2" >/dev/null 2>&1
	umount "$3" 2>/dev/null
}

# A session opened before the disk fills, for the checks after: a new
# connection to a database on a full disk fails ("could not write init
# file") whenever autovacuum has invalidated the relation cache init file.
session_open() {	# db
	coproc SESSION { psql -X -At -q -d "$1" 2>&1; }
}
session_query() {	# sql: its output, on one line
	local line out=
	printf '%s;\n\\echo __end__\n' "$1" >&"${SESSION[1]}"
	while IFS= read -r line <&"${SESSION[0]}"; do
		[ "$line" = __end__ ] && break
		out+=$line
	done
	echo "$out"
}
session_close() {
	local fd pid=${SESSION_PID:-}
	[ -n "$pid" ] || return 0
	fd=${SESSION[1]}
	exec {fd}>&-
	wait "$pid" 2>/dev/null
}
small_db() {	# db tablespace dir: a database living on a 40 MiB tmpfs
	mount -t tmpfs -o size=40m tmpfs "$3" && chown postgres: "$3" &&
	psql -X -q -v ON_ERROR_STOP=1 -c "CREATE TABLESPACE $2 LOCATION '$3'" &&
	createdb -D "$2" "$1" &&
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "CREATE EXTENSION pgfs" &&
	# CREATE DATABASE's default strategy in PostgreSQL 15 extends each copied
	# relation by writing its last block only: on tmpfs the rest are holes
	# until the buffers are written.  Write them now, while there is room, or
	# a later eviction of such a catalog page fails on the full disk and takes
	# whatever statement needed the buffer with it.
	psql -X -q -v ON_ERROR_STOP=1 -d "$1" -c "CHECKPOINT"
}

# ---- SQL into a full tablespace ----
if small_db pgfs_full_sql pgfs_small1 "$work/ts1"; then
	session_open pgfs_full_sql
	: >"$work/acked"
	state=
	for i in $(seq 1 100); do
		# 1 MiB of incompressible bytes; the md5 comes back only after COMMIT
		out=$(psql -X -At -v VERBOSITY=sqlstate -d pgfs_full_sql -c "
			WITH d AS (SELECT decode(string_agg(md5(random()::text || g), ''), 'hex') AS b
			             FROM generate_series(1, 65536) g)
			SELECT pgfs_write('/f$i', b) || ' ' || md5(b) FROM d" 2>&1)
		if [ $? -ne 0 ]; then
			state=$(grep -oE 'ERROR: +[0-9A-Z]{5}' <<<"$out" | awk '{print $2}' | head -n 1)
			break
		fi
		echo "/f$i ${out#* }" >>"$work/acked"
	done
	acked=$(wc -l <"$work/acked")
	ok "$([ -n "$state" ]; echo $?)" "sql: writing fails once the tablespace is full (after $acked files)"
	ok "$([ "$state" = 53100 ]; echo $?)" "sql: the failure is 53100 disk_full (ENOSPC), got '${state:-none}'"
	bad=0
	while read -r path sum; do
		got=$(session_query "SELECT md5(pgfs_read('$path'))")
		[ "$got" = "$sum" ] || { bad=$((bad + 1)); echo "# $path: expected $sum, read $got"; }
	done <"$work/acked"
	ok "$([ "$acked" -gt 0 ] && [ "$bad" -eq 0 ]; echo $?)" "sql: all $acked acknowledged files read back intact"
	fsck=$(session_query "SELECT count(*) FROM pgfs_fsck()")
	ok "$([ "$fsck" = 0 ]; echo $?)" "sql: pgfs_fsck() is clean on the full disk ($fsck problems)"
	# the failed call left nothing behind: its transaction rolled back whole
	next=$((acked + 1))
	gone=$(session_query "SELECT pgfs_exists('/f$next')")
	ok "$([ "$gone" = f ]; echo $?)" "sql: the write that failed left no file /f$next behind"
	session_close
else
	ok 1 "sql: could not set up a database on a small tmpfs tablespace"
fi
# a full tablespace left in place makes every later checkpoint fail
drop_small pgfs_full_sql pgfs_small1 "$work/ts1"

# ---- a mount on a full tablespace ----
if small_db pgfs_full_fuse pgfs_small2 "$work/ts2" &&
   "$FUSE_BIN" "$(conninfo pgfs_full_fuse)" "$mnt" -o workers=2; then
	session_open pgfs_full_fuse
	: >"$work/acked"
	err=
	for i in $(seq 1 100); do
		head -c 1048576 /dev/urandom >"$work/chunk"
		# dd reports the first failing write, fsync or close
		if ! out=$(dd if="$work/chunk" of="$mnt/f$i" bs=1M conv=fsync status=none 2>&1); then
			err=$out
			break
		fi
		echo "f$i $(md5sum <"$work/chunk" | cut -d' ' -f1)" >>"$work/acked"
	done
	acked=$(wc -l <"$work/acked")
	ok "$([ -n "$err" ]; echo $?)" "fuse: writing fails once the tablespace is full (after $acked files)"
	ok "$(grep -q 'No space left on device' <<<"$err"; echo $?)" "fuse: the error is ENOSPC (${err:-none})"
	bad=0
	while read -r f sum; do
		[ "$(md5sum <"$mnt/$f" | cut -d' ' -f1)" = "$sum" ] || bad=$((bad + 1))
	done <"$work/acked"
	ok "$([ "$acked" -gt 0 ] && [ "$bad" -eq 0 ]; echo $?)" "fuse: all $acked files closed before read back intact"
	fusermount3 -u "$mnt"
	session_query "SELECT pgfs_reclaim_orphans()" >/dev/null
	fsck=$(session_query "SELECT count(*) FROM pgfs_fsck()")
	ok "$([ "$fsck" = 0 ]; echo $?)" "fuse: pgfs_fsck() is clean after the full disk ($fsck problems)"
	session_close
	drop_small pgfs_full_fuse pgfs_small2 "$work/ts2"
else
	ok 1 "fuse: could not mount a database on a small tmpfs tablespace"
fi

# ---- pgfs-fuse against servers it cannot use ----
try_mount() {	# description conninfo pattern
	local start rc out lines
	start=$(date +%s)
	out=$(timeout 60 "$FUSE_BIN" "$2" "$mnt" 2>&1)
	rc=$?
	lines=$(grep -c . <<<"$out")
	echo "# $1: exit $rc, $(( $(date +%s) - start )) s: $out"
	ok "$([ "$rc" -ne 0 ] && [ "$rc" -ne 124 ]; echo $?)" "bad server, $1: pgfs-fuse exits non-zero"
	ok "$(head -n 1 <<<"$out" | grep -qiE "$3" && [ "$lines" -le 4 ]; echo $?)" "bad server, $1: a short message saying why"
	ok "$(! mountpoint -q "$mnt"; echo $?)" "bad server, $1: nothing is mounted"
	fusermount3 -u "$mnt" 2>/dev/null
}
try_mount "no such socket directory" "host=$work/nowhere dbname=x" "no such file|could not connect|connection"
try_mount "wrong password" "host=$PGHOST port=$PGPORT user=$PGUSER password=wrong-$$ dbname=$PGDATABASE" "password"
try_mount "unreachable host" "host=192.0.2.1 port=5432 connect_timeout=3 dbname=x" "timeout|timed out|refused|unreachable"
try_mount "database without pgfs" "$(conninfo postgres)" "pgfs"
# an older pgfs than this pgfs-fuse needs: it says how to update, and does
if createdb pgfs_old_ext >/dev/null 2>&1 &&
	psql -X -q -d pgfs_old_ext -c "CREATE EXTENSION pgfs VERSION '1.1'" >/dev/null 2>&1; then
	try_mount "pgfs 1.1 in the database" "$(conninfo pgfs_old_ext)" "ALTER EXTENSION pgfs UPDATE"
	psql -X -q -d pgfs_old_ext -c "ALTER EXTENSION pgfs UPDATE" >/dev/null 2>&1
	if "$FUSE_BIN" "$(conninfo pgfs_old_ext)" "$mnt" >/dev/null 2>&1; then
		mkdir "$mnt/after-update" 2>/dev/null
		ok "$([ -d "$mnt/after-update" ]; echo $?)" "after ALTER EXTENSION pgfs UPDATE the same database mounts and works"
		fusermount3 -u "$mnt"
	else
		ok 1 "after ALTER EXTENSION pgfs UPDATE the same database mounts and works"
	fi
else
	ok 1 "a database with pgfs 1.1"
fi
dropdb --if-exists pgfs_old_ext >/dev/null 2>&1

echo "1..$n"
echo "# limits: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
