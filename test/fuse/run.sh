#!/bin/bash
# test/fuse/run.sh - tests of pgfs-fuse against a live database.
#
# Needs: the extension created in the database the PG* variables point at
# (pg_virtualenv provides them), pgfs-fuse on PATH or in $FUSE_BIN, root
# (mounts with allow_other and runs some checks as user nobody).
#
#   pg_virtualenv -t -v 15 bash -c 'psql -c "create extension pgfs" && test/fuse/run.sh'
#
# Each test script prints "ok - name" / "not ok - name" lines (and "#"
# comments); this runner numbers them as TAP, unmounts, checks pgfs_fsck()
# and ends with "# fuse: P passed, F failed".  Exit status 1 if any failed.
# FSDIFF_OPS=N lengthens the differential test, FSX_OPS=N the random file
# I/O test (fsx.py; FSX_SEED=S picks another sequence).

set -u
here=$(cd "$(dirname "$0")" && pwd)
export FUSE_BIN=${FUSE_BIN:-pgfs-fuse}
export PYTHON=${PYTHON:-/usr/bin/python3}
export MNT=$(mktemp -d /tmp/pgfs-fuse-mnt.XXXXXX)
export MNT2=$(mktemp -d /tmp/pgfs-fuse-mnt2.XXXXXX)
export MNT3=$(mktemp -d /tmp/pgfs-fuse-mnt3.XXXXXX)
export MNT4=$(mktemp -d /tmp/pgfs-fuse-mnt4.XXXXXX)
export SCRATCH=$(mktemp -d /tmp/pgfs-fuse-scratch.XXXXXX)
chmod 755 "$MNT" "$MNT2" "$MNT3" "$MNT4" "$SCRATCH"

n=0 pass=0 fail=0

report() {	# report ok|not-ok name
	n=$((n + 1))
	if [ "$1" = ok ]; then
		pass=$((pass + 1)); echo "ok $n - $2"
	else
		fail=$((fail + 1)); echo "not ok $n - $2"
	fi
}

# run_test NAME CMD...: renumber the script's results; a crash is a failure
run_test() {
	local name=$1 line status got=0 out
	shift
	out=$SCRATCH/out.$name
	SECONDS=0
	"$@" > "$out" 2>&1
	status=$?
	echo "# $name: ${SECONDS}s"
	while IFS= read -r line; do
		case $line in
		"ok - "*)	report ok "$name: ${line#ok - }"; got=1 ;;
		"not ok - "*)	report "not ok" "$name: ${line#not ok - }"; got=1 ;;
		*)		echo "# $line" ;;
		esac
	done < "$out"
	if [ $status -ne 0 ] && [ $got -eq 0 ] || [ $status -gt 1 ]; then
		report "not ok" "$name: exited with status $status"
	fi
}

mount_store() {	# mount_store DIR [options]: mount and wait for it
	local dir=$1
	shift
	"$FUSE_BIN" "" "$dir" "$@" || return 1
	for _ in $(seq 50); do
		mountpoint -q "$dir" && return 0
		sleep 0.1
	done
	return 1
}
export -f mount_store

cleanup() {
	local d
	for d in "$MNT4" "$MNT3" "$MNT2" "$MNT"; do
		mountpoint -q "$d" && { fusermount3 -u "$d" || umount -l "$d"; }
		rmdir "$d" 2>/dev/null
	done
	rm -rf "$SCRATCH"
}
trap cleanup EXIT

echo "# pgfs-fuse: $(command -v "$FUSE_BIN" || echo "$FUSE_BIN")"
if mount_store "$MNT" -o allow_other,default_permissions; then
	report ok "mount"
else
	report "not ok" "mount"
	echo "# fuse: $pass passed, $fail failed"
	exit 1
fi

umask 022
run_test ops "$PYTHON" "$here/ops.py" "$MNT"
run_test fsdiff "$PYTHON" "$here/fsdiff.py" --ops "${FSDIFF_OPS:-10000}" "$MNT/fsdiff" "$SCRATCH/fsdiff-ref"
run_test permdiff "$PYTHON" "$here/permdiff.py" "$MNT/permdiff" "$SCRATCH/permdiff-ref"
run_test fsx "$PYTHON" "$here/fsx.py" --ops "${FSX_OPS:-3000}" "$MNT/fsx"
run_test programs bash "$here/programs.sh" "$MNT/programs" "$SCRATCH/programs"
run_test sql bash "$here/sql.sh" "$MNT" sql
run_test randio bash "$here/randio.sh" "$MNT" randio
run_test preread "$PYTHON" "$here/preread.py" "$MNT" preread
run_test mounts bash "$here/mounts.sh" "$MNT" mounts
run_test dcache bash "$here/dcache.sh" "$MNT" dcache
run_test acl bash "$here/acl.sh" "$MNT/acl" "$SCRATCH/acl-ref"
run_test atime bash "$here/atime.sh" "$MNT/atime" "$SCRATCH/atime-ref"
if mount_store "$MNT2"; then
	run_test concurrent "$PYTHON" "$here/concurrent.py" "$MNT/concurrent" "$MNT2/concurrent"
	rm -rf "$MNT/concurrent"
	# file locks between mounts; SQLite shared by two mounts that cache no names or attributes
	if mount_store "$MNT3" -o entry_timeout=0,attr_timeout=0 &&
		mount_store "$MNT4" -o entry_timeout=0,attr_timeout=0; then
		run_test locks "$PYTHON" "$here/locks.py" "$MNT/locks" "$MNT2/locks" \
			"$MNT3/locks-sqlite" "$MNT4/locks-sqlite" "$SCRATCH/locks-ref"
	else
		report "not ok" "two mounts with entry_timeout=0,attr_timeout=0"
	fi
	for d in "$MNT4" "$MNT3"; do
		mountpoint -q "$d" && fusermount3 -u "$d"
	done
	rm -rf "$MNT/locks" "$MNT/locks-sqlite"
	fusermount3 -u "$MNT2"
else
	report "not ok" "second read-write mount"
fi

run_test standby bash "$here/standby.sh"
run_test restore bash "$here/restore.sh"

if fusermount3 -u "$MNT"; then
	report ok "unmount"
else
	report "not ok" "unmount"
fi
problems=$(psql -XAtc "SELECT count(*) FROM pgfs_fsck()" 2>&1)
if [ "$problems" = 0 ]; then
	report ok "pgfs_fsck() finds no problems"
else
	report "not ok" "pgfs_fsck() finds no problems"
	psql -XAc "SELECT * FROM pgfs_fsck() LIMIT 20" 2>&1 | sed 's/^/# /'
fi

echo "1..$n"
echo "# fuse: $pass passed, $fail failed"
[ $fail -eq 0 ]
