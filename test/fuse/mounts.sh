#!/bin/bash
# Several mounts of one store: read-only, subdir, coherence between mounts,
# and open-but-unlinked files across a daemon crash.
#
# usage: mounts.sh MOUNTPOINT SUBDIR   (MOUNTPOINT shows the store's root)
# Needs FUSE_BIN, psql with the PG* variables of a superuser.

set -u
mnt=$1 sub=$2
dir=$mnt/$sub
FUSE_BIN=${FUSE_BIN:-pgfs-fuse}
failed=0
pids=()
dirs=()
result() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
newdir() { local d; d=$(mktemp -d /tmp/pgfs-fuse-m.XXXXXX); dirs+=("$d"); echo "$d"; }
wait_mounted() {
	for _ in $(seq 50); do mountpoint -q "$1" && return 0; sleep 0.1; done
	return 1
}
cleanup() {
	local d p
	for p in "${pids[@]}"; do kill "$p" 2> /dev/null; done
	for d in "${dirs[@]}"; do
		mountpoint -q "$d" && { fusermount3 -u "$d" 2> /dev/null || umount -l "$d"; }
		rmdir "$d" 2> /dev/null
	done
}
trap cleanup EXIT

super=$(sql "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
rm -rf "$dir"
mkdir -p "$dir/inner"
echo hello > "$dir/inner/f"

# a read-only mount
ro=$(newdir)
"$FUSE_BIN" "" "$ro" -o ro && wait_mounted "$ro"
result $? "mount -o ro"
[ "$(cat "$ro/$sub/inner/f")" = hello ]
result $? "read-only mount reads"
grep -q " $ro fuse.pgfs ro," /proc/mounts
result $? "read-only mount is read-only for the kernel too"
out=$("$PYTHON" - "$ro/$sub/inner" << 'EOF' 2>&1
import errno, os, sys
d = sys.argv[1]
tries = [
    ('create', lambda: os.open(d + '/new', os.O_CREAT | os.O_WRONLY)),
    ('write', lambda: os.open(d + '/f', os.O_WRONLY)),
    ('mkdir', lambda: os.mkdir(d + '/nd')),
    ('unlink', lambda: os.unlink(d + '/f')),
    ('chmod', lambda: os.chmod(d + '/f', 0o600)),
    ('setxattr', lambda: os.setxattr(d + '/f', 'user.x', b'1')),
    ('truncate', lambda: os.truncate(d + '/f', 0)),
    ('rename', lambda: os.rename(d + '/f', d + '/g')),
]
for name, fn in tries:
    try:
        fn()
        print(name, 'succeeded')
    except OSError as e:
        if e.errno != errno.EROFS:
            print(name, errno.errorcode[e.errno])
EOF
)
[ -z "$out" ]
result $? "every change on the read-only mount fails with EROFS"
[ -z "$out" ] || echo "$out" | sed 's/^/# /'

# coherence: changes through one mount show in another within the timeouts
echo new > "$dir/inner/g"
printf AAAA > "$dir/inner/h"
cat "$ro/$sub/inner/h" > /dev/null
sleep 1.5
[ "$(cat "$ro/$sub/inner/g" 2>&1)" = new ]
result $? "a new file shows in the other mount"
printf BBBB > "$dir/inner/h"
sleep 1.5
[ "$(cat "$ro/$sub/inner/h")" = BBBB ]
result $? "a same-size rewrite shows in the other mount"
rm "$dir/inner/g"
sleep 1.5
[ ! -e "$ro/$sub/inner/g" ]
result $? "a removal shows in the other mount"
# close-to-open, size included: the other mount read the file and keeps its
# size for attr_timeout, but an open after the change reads all of it
printf 120 > "$dir/inner/c"
sleep 1.5
cat "$ro/$sub/inner/c" > /dev/null
printf 1200 > "$dir/inner/c"
[ "$(cat "$ro/$sub/inner/c")" = 1200 ]
result $? "a file grown through one mount reads whole at its next open through another"
rm "$dir/inner/c"
# the other mount knew h had no extended attributes (ls -l asks for them)
ls -l "$ro/$sub/inner" > /dev/null
"$PYTHON" -c 'import os, sys; os.setxattr(sys.argv[1], "user.m", b"1")' "$dir/inner/h"
sleep 1.5
[ "$("$PYTHON" -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.m").decode())' \
	"$ro/$sub/inner/h" 2>&1)" = 1 ]
result $? "an extended attribute set shows in the other mount"
"$PYTHON" -c 'import os, sys; os.removexattr(sys.argv[1], "user.m")' "$dir/inner/h"

# a subdir mount
sd=$(newdir)
"$FUSE_BIN" "$sd" -o "subdir=/$sub/inner,conninfo=" && wait_mounted "$sd"
result $? "mount -o subdir=...,conninfo= (conninfo as an option)"
[ "$(ls "$sd" | tr '\n' ' ')" = "f h " ] && [ "$(cat "$sd/f")" = hello ]
result $? "subdir mount shows the subdirectory"
mkdir "$sd/made" && echo x > "$sd/made/file" && [ "$(cat "$dir/inner/made/file")" = x ]
result $? "subdir mount writes into the subdirectory"
[ "$(stat -c %i "$sd")" = 1 ] && [ "$(stat -c %i "$sd/made/..")" = 1 ]
result $? "subdir is the mount's root inode, also as \"..\""
bad=$(newdir)
! "$FUSE_BIN" "" "$bad" -o subdir=/no/such/dir 2> /dev/null
result $? "a missing subdir fails the mount"

# -o dirsync: mkdir, symlink, unlink, rmdir, rename and link wait for the
# WAL flush (by default they commit without, and a directory's fsync waits:
# ops.py).  With
# the server's WAL writer (and the processes that flush WAL before writing
# pages) stopped, only the commits themselves flush it.  (An insert position
# at the start of a page is past the header, not yet written: 40 bytes.)
ds=$(newdir)
"$FUSE_BIN" "" "$ds" -o dirsync && wait_mounted "$ds"
result $? "mount -o dirsync"
grep -q " $ds fuse.pgfs [^ ]*dirsync" /proc/mounts
result $? "the kernel shows dirsync among the mount's options"
mkdir "$ds/$sub/ds" && echo x > "$ds/$sub/ds/a" && mkdir "$ds/$sub/ds/d"
# the release of a's handle, which commits without the WAL flush, comes
# after the close, a little later (more so with a slow, sanitized daemon)
a_ino=$(sql "SELECT ino FROM pgfs_stat('/$sub/ds/a')")
for _ in $(seq 100); do
	[ "$(sql "SELECT count(*) FROM pgfs.handle WHERE ino = ${a_ino:-0}")" = 0 ] && break
	sleep 0.1
done
# ... as do other commits that do not wait for the flush, of this suite's
# other mounts (their releases, access times) and of autovacuum: the WAL
# must have stopped growing before the check, or what they add after the
# last change here counts against it (a sanitized run failed so)
for _ in $(seq 30); do
	quiet=$(sql "SELECT pg_current_wal_insert_lsn()")
	sleep 0.3
	[ "$(sql "SELECT pg_current_wal_insert_lsn()")" = "$quiet" ] && break
done
writers=$(sql "SELECT pid FROM pg_stat_activity
               WHERE backend_type IN ('walwriter', 'background writer', 'checkpointer')")
# shellcheck disable=SC2086
kill -STOP $writers
mv "$ds/$sub/ds/a" "$ds/$sub/ds/b" && ln "$ds/$sub/ds/b" "$ds/$sub/ds/c" &&
	rm "$ds/$sub/ds/b" && rmdir "$ds/$sub/ds/d" && ln -s c "$ds/$sub/ds/s" && mkdir "$ds/$sub/ds/e"
moved=$?
lsn=$(sql "SELECT pg_current_wal_insert_lsn()")
flushed=$(sql "SELECT pg_current_wal_flush_lsn() >= '$lsn'::pg_lsn - 40")
# shellcheck disable=SC2086
kill -CONT $writers
[ $moved = 0 ] && [ "$flushed" = t ]
result $? "with dirsync, rename, link, unlink, rmdir, symlink and mkdir are durable when they return ($flushed)"
fusermount3 -u "$ds"

# the server ends our sessions: reads and writes go on over new connections,
# and a different store identity is noticed
kill_sessions() {
	sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
	      WHERE application_name = 'pgfs-fuse'" > /dev/null
	sleep 0.3
}
rc=$(newdir)
rclog=$(mktemp /tmp/pgfs-fuse-log.XXXXXX)
"$FUSE_BIN" "" "$rc" -f 2> "$rclog" &
pids+=($!)
wait_mounted "$rc"
echo before > "$rc/$sub/rc"
kill_sessions
[ "$(cat "$rc/$sub/rc")" = before ] && echo after >> "$rc/$sub/rc" &&
	[ "$(cat "$rc/$sub/rc" | tr '\n' ' ')" = "before after " ]
result $? "reads and writes go on after the server ended every session"
if [ "$super" = t ]; then
	old=$(sql "SELECT pgfs_store_id()")
	sql "UPDATE pgfs.meta SET value = 'pgfs-fuse-test' WHERE key = 'store_id'"
	kill_sessions
	cat "$rc/$sub/rc" > /dev/null
	grep -q "store changed" "$rclog"
	result $? "a changed store identity is noticed on reconnecting"
	sql "UPDATE pgfs.meta SET value = '$old' WHERE key = 'store_id'"
	kill_sessions
else
	echo "ok - a changed store identity is noticed # SKIP needs a superuser"
fi
fusermount3 -u "$rc"
rm -f "$rclog"

# the mount(8) helper, from the source tree: fstab-only options are dropped
helper=$(dirname "$0")/../../fuse/mount.pgfs
mh=$(newdir)
PGFS_FUSE=$FUSE_BIN sh "$helper" "" "$mh" -o ro,_netdev,noauto,x-systemd.automount,noatime &&
	wait_mounted "$mh" && grep -q " $mh fuse.pgfs ro,.*noatime" /proc/mounts &&
	[ "$(cat "$mh/$sub/inner/f")" = hello ]
result $? "mount.pgfs SPEC DIR -o ro,_netdev,... mounts read-only"
fusermount3 -u "$mh"
PGFS_FUSE=false sh "$helper" "" "$mh" -f -o ro && ! mountpoint -q "$mh"
result $? "mount.pgfs -f (fake) mounts nothing"

# open-but-unlinked files: kept while their mount lives, freed after a crash
cr=$(newdir)
"$FUSE_BIN" "" "$cr" -f 2> /dev/null &
crpid=$!
pids+=($crpid)
wait_mounted "$cr"
head -c 200000 /dev/urandom > "$cr/$sub/orphan"
want=$(sha256sum < "$cr/$sub/orphan")
exec 7< "$cr/$sub/orphan"
rm "$cr/$sub/orphan"
other=$(newdir)
"$FUSE_BIN" "" "$other" && wait_mounted "$other" && fusermount3 -u "$other"
[ "$(sha256sum <&7)" = "$want" ]
result $? "an open unlinked file survives another mount's orphan reclaim"
orphans=$(sql "SELECT count(*) FROM pgfs.inode WHERE nlink = 0" 2> /dev/null)
{ kill -9 $crpid && wait $crpid; } 2> /dev/null
exec 7<&-
umount -l "$cr"
# the next mount reclaims, once the server is past pgfs.lock_grace
[ "$super" = t ] && sleep "$(psql -XAtq -c "LOAD 'pgfs'" -c "SELECT greatest(0, ceil(setting::int
	- extract(epoch FROM now() - pg_postmaster_start_time()))) FROM pg_settings WHERE name = 'pgfs.lock_grace'")"
"$FUSE_BIN" "" "$other" && wait_mounted "$other" && fusermount3 -u "$other"
after=$(sql "SELECT count(*) FROM pgfs.inode WHERE nlink = 0" 2> /dev/null)
if [ "$super" = t ]; then
	[ "$orphans" -ge 1 ] && [ "$after" -lt "$orphans" ]
	result $? "a crashed mount's orphan is reclaimed by the next mount ($orphans -> $after)"
else
	echo "ok - a crashed mount's orphan is reclaimed # SKIP needs a superuser"
fi

fusermount3 -u "$sd"
fusermount3 -u "$ro"
rm -rf "$dir"
exit $failed
