#!/bin/bash
# A read-only mount of a hot standby.
#
# usage: standby.sh
# Makes a streaming standby of the PG* server with pg_basebackup (as user
# postgres, on the next port), mounts it with -o ro, and checks that a
# read-write mount is refused.  Skips when no standby can be made.

set -u
FUSE_BIN=${FUSE_BIN:-pgfs-fuse}
bindir=$(pg_config --bindir 2> /dev/null)
[ -x "$bindir/pg_ctl" ] || bindir=/usr/lib/postgresql/15/bin
failed=0
result() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; return 1; fi
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

sb=$(mktemp -d /tmp/pgfs-fuse-standby.XXXXXX)
mnt=$(mktemp -d /tmp/pgfs-fuse-sbmnt.XXXXXX)
port=$((PGPORT + 1))
cleanup() {
	mountpoint -q "$mnt" && { fusermount3 -u "$mnt" || umount -l "$mnt"; }
	rmdir "$mnt"
	[ -f "$sb/postmaster.pid" ] && runuser -u postgres -- "$bindir/pg_ctl" -D "$sb" stop -m fast > /dev/null
	rm -rf "$sb"
}
trap cleanup EXIT

sql "SELECT pgfs_write('/standby-test', 'from the primary'::bytea)" > /dev/null
chown postgres "$sb"
chmod 700 "$sb"
if ! runuser -u postgres -- pg_basebackup -D "$sb" -R -X stream -c fast > "$mnt.log" 2>&1; then
	echo "ok - read-only mount of a standby # SKIP pg_basebackup failed: $(head -1 "$mnt.log")"
	rm -f "$mnt.log"
	exit 0
fi
rm -f "$mnt.log"
cat > "$sb/postgresql.conf" << EOF
port = $port
listen_addresses = ''
unix_socket_directories = '$sb'
hba_file = '$sb/pg_hba.conf'
hot_standby = on
EOF
echo "local all all trust" > "$sb/pg_hba.conf"
chown postgres "$sb/postgresql.conf" "$sb/pg_hba.conf"
runuser -u postgres -- "$bindir/pg_ctl" -D "$sb" -l "$sb/log" -w start > /dev/null
result $? "standby starts" || tail -5 "$sb/log" | sed 's/^/# /'
phost=$PGHOST pport=$PGPORT
export PGHOST=$sb PGPORT=$port
[ "$(sql "SELECT pg_is_in_recovery()")" = t ]
result $? "standby is in recovery"

! "$FUSE_BIN" "" "$mnt" 2> /dev/null
result $? "a read-write mount of a standby is refused"
"$FUSE_BIN" "" "$mnt" -o ro
result $? "mount -o ro of a standby"
[ "$(cat "$mnt/standby-test")" = "from the primary" ]
result $? "read from the standby"
[ "$(ls "$mnt" | grep -c standby-test)" = 1 ] && df "$mnt" > /dev/null
result $? "readdir and statfs on the standby"
[ "$(python3 -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); print(os.lseek(fd, 0, os.SEEK_HOLE))' "$mnt/standby-test")" = 16 ]
result $? "SEEK_HOLE on the standby"
! fallocate -l 1M "$mnt/standby-test" 2> /dev/null && [ "$(stat -c %s "$mnt/standby-test")" = 16 ]
result $? "fallocate through the read-only mount is refused"
# pages kept from one open to the next while the file is unchanged (fincore
# opens it too); a change on the primary shows at the next open once the
# standby replayed it (same size: the kernel's cached size is still right)
cat "$mnt/standby-test" > /dev/null
res=$(fincore --bytes --noheadings --output RES "$mnt/standby-test" 2> /dev/null | tr -d " ")
[ "${res:-0}" -gt 0 ]
result $? "an unchanged file keeps its pages across opens of the read-only mount ($res bytes)"
PGHOST=$phost PGPORT=$pport sql "SELECT pgfs_write('/standby-test', 'FROM THE PRIMARY'::bytea)" > /dev/null
lsn=$(PGHOST=$phost PGPORT=$pport sql "SELECT pg_current_wal_lsn()")
for _ in $(seq 100); do
	[ "$(sql "SELECT pg_last_wal_replay_lsn() >= '$lsn'")" = t ] && break
	sleep 0.1
done
[ "$(cat "$mnt/standby-test")" = "FROM THE PRIMARY" ]
result $? "a change on the primary shows at the next open once the standby replayed it"
exit $failed
