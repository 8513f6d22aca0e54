#!/bin/bash
# A mount whose server is restored or crashes under it.
#
# usage: restore.sh
# Makes a server of its own (initdb as user postgres, on the port after the
# standby's) and mounts it with hour-long cache times, so that only the
# daemon's own invalidation can make the kernel forget what it cached:
#   - the server's data directory is swapped for an earlier copy (a snapshot
#     restore: same system identifier, timeline and store id); names,
#     attributes, contents and absent names must all be the restored ones,
#     and a handle on a file the copy does not have goes stale;
#   - a backend crashes (the server restarts in place), which empties its unlogged table
#     of open handles; the daemon registers its handles again, so that
#     pgfs_reclaim_orphans() from another session keeps an open unlinked
#     file, which stays readable through the mount (and one run before
#     that, within pgfs.lock_grace of the start, frees nothing);
#   - a crash empties the server's lock table: within pgfs.lock_grace the
#     daemon takes back the locks it held, and nobody else gets a new one;
#     with no grace left, a descriptor that held one reports EIO until it
#     unlocks; so does one whose lock another client took while the mount
#     was cut off, even if the server crashed before the mount came back,
#     and one of a mount away through a whole grace period and back only
#     in the grace period after a second crash.
# Skips when no server can be made.

set -u
FUSE_BIN=${FUSE_BIN:-pgfs-fuse}
PYTHON=${PYTHON:-/usr/bin/python3}
bindir=$(pg_config --bindir 2> /dev/null)
[ -x "$bindir/pg_ctl" ] || bindir=/usr/lib/postgresql/15/bin
failed=0
result() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; return 1; fi
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

d=$(mktemp -d /tmp/pgfs-fuse-restore.XXXXXX)
mnt=$d/mnt
log=$d/daemon.log
daemon=
export PGHOST=$d PGPORT=$((PGPORT + 2)) PGUSER=postgres PGDATABASE=postgres
unset PGPASSWORD
# (the server must not inherit our descriptors of files in the mount)
pgctl() { runuser -u postgres -- "$bindir/pg_ctl" -D "$d/data" -l "$d/server.log" "$@" > /dev/null 7<&- 8<&- 9<&-; }
cleanup() {
	exec 7<&- 8<&- 9<&-
	mountpoint -q "$mnt" && { fusermount3 -u "$mnt" || umount -l "$mnt"; }
	[ -n "$daemon" ] && kill "$daemon" 2> /dev/null
	[ -f "$d/data/postmaster.pid" ] && pgctl stop -m immediate
	rm -rf "$d"
}
trap cleanup EXIT

mkdir "$mnt"
chown postgres "$d"
if ! runuser -u postgres -- "$bindir/initdb" -D "$d/data" -A trust -U postgres > "$d/initdb.log" 2>&1; then
	echo "ok - restore and crash under a mount # SKIP initdb failed: $(tail -1 "$d/initdb.log")"
	exit 0
fi
cat >> "$d/data/postgresql.conf" << EOF
port = $PGPORT
listen_addresses = ''
unix_socket_directories = '$d'
fsync = off
EOF
pgctl -w start
result $? "a server of our own starts" || exit 1
sql "CREATE EXTENSION pgfs" &&
	sql "SELECT pgfs_write('/keep', 'contents before'::bytea),
	            pgfs_write('/gone-later', 'removed after the copy'::bytea),
	            pgfs_mkdir('/d'), pgfs_write('/d/f', 'f'::bytea), pgfs_chmod('/d/f', 420)" > /dev/null
result $? "the store is made" || exit 1

# the earlier copy
pgctl -w stop -m fast && cp -a "$d/data" "$d/early" && pgctl -w start
result $? "a copy of the data directory is taken" || exit 1

"$FUSE_BIN" "" "$mnt" -f -o attr_timeout=3600,entry_timeout=3600 2> "$log" &
daemon=$!
for _ in $(seq 50); do mountpoint -q "$mnt" && break; sleep 0.1; done
mountpoint -q "$mnt"
result $? "mount with attr_timeout=3600,entry_timeout=3600" || exit 1

# after the copy: change everything, and let the kernel cache the results
echo new > "$mnt/created-later" &&
	rm "$mnt/gone-later" &&
	printf 'contents after, and longer' > "$mnt/keep" &&
	chmod 600 "$mnt/d/f" &&
	mkdir "$mnt/newdir" &&
	mv "$mnt/d/f" "$mnt/d/moved"
result $? "changes through the mount"
listing() { (cd "$mnt" && find . | sort | tr '\n' ' '); }
state() {	# names looked up directly, their modes and contents
	local f
	for f in keep gone-later created-later d/f d/moved newdir never; do
		if [ -e "$mnt/$f" ]; then
			printf '%s %s %s|' "$f" "$(stat -c '%a %s' "$mnt/$f")" "$( [ -f "$mnt/$f" ] && cat "$mnt/$f")"
		else
			printf '%s absent|' "$f"
		fi
	done
}
late_state=$(state)
late_listing=$(listing)
exec 8< "$mnt/created-later"
exec 9< "$mnt/keep"
cat <&9 > /dev/null
[ "$late_state" = "keep 644 26 contents after, and longer|gone-later absent|created-later 644 4 new|d/f absent|d/moved 600 1 f|newdir 755 0 |never absent|" ]
result $? "the mount shows the changes" || echo "# $late_state"

# swap in the earlier copy: same identity but for the server's start time
pgctl -w stop -m fast && mv "$d/data" "$d/late" && mv "$d/early" "$d/data" && pgctl -w start
result $? "the server is replaced by the earlier copy"
sleep 1.5	# the daemon reconnects by itself
early_state=$(state)
[ "$early_state" = "keep 644 15 contents before|gone-later 644 22 removed after the copy|created-later absent|d/f 644 1 f|d/moved absent|newdir absent|never absent|" ]
result $? "names, absent names, attributes and contents are the restored ones" ||
	echo "# $early_state"
[ "$(listing)" = ". ./d ./d/f ./gone-later ./keep " ]
result $? "a walk of the tree shows the restored store" || echo "# $(listing)"
out=$("$PYTHON" -c 'import os, errno
try:
    os.read(8, 10); print("read succeeded")
except OSError as e:
    print(errno.errorcode[e.errno])' 2>&1)
[ "$out" = ESTALE ]
result $? "a handle on a file the restored store lacks is stale" || echo "# read: $out"
[ "$(cat <&9)" = "" ] && exec 9<&- && exec 9< "$mnt/keep" && [ "$(cat <&9)" = "contents before" ]
result $? "a handle held across the restore reads the restored contents"
exec 8<&- 9<&-
grep -q "store changed under the mount (server start" "$log"
result $? "the daemon says what changed" || sed 's/^/# /' "$log"
! grep -A1 "ERROR" "$d/server.log" | grep -q "pgfs_ll_lookup"
result $? "negative lookups raise no errors in the server"

# changes behind the mount's back stay hidden by the kernel's caches, until
# the server ends the daemon's sessions: reconnecting to the very same server
# drops the caches too, as a lost connection may hide a restore
stat "$mnt/sql-new" > /dev/null 2>&1	# absent, and cached as absent
sql "SELECT pgfs_write('/keep', 'changed through SQL'::bytea), pgfs_write('/sql-new', 'x'::bytea)" > /dev/null
[ "$(stat -c %s "$mnt/keep")" = 15 ] && [ ! -e "$mnt/sql-new" ]
result $? "with hour-long cache times, changes made through SQL are not seen" ||
	echo "# keep: $(stat -c %s "$mnt/keep") bytes; $(ls "$mnt" | tr "\n" " ")"
sql "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
      WHERE application_name = 'pgfs-fuse'" > /dev/null
sleep 1	# the daemon reconnects by itself
[ "$(stat -c %s "$mnt/keep")" = 19 ] && [ "$(cat "$mnt/keep")" = "changed through SQL" ] &&
	[ -e "$mnt/sql-new" ]
result $? "after the sessions were ended, they are" || echo "# keep: $(stat -c %s "$mnt/keep") bytes"
grep -q "reconnected after a lost connection" "$log"
result $? "the daemon says why it dropped its caches" || sed 's/^/# /' "$log"

# a crash empties the table of open handles; the daemon fills it again
head -c 300000 /dev/urandom > "$mnt/held"
want=$(sha256sum < "$mnt/held")
exec 7< "$mnt/held"
rm "$mnt/held"
# the unlink made durable, or the crash could undo it; the first fsync of the
# root since the restore above reports that restore (a possible loss), once
sync "$mnt" 2> /dev/null
sync "$mnt"
result $? "the unlink is made durable (fsync of the directory)"
# the daemon stopped, so that it cannot register the file again before the
# reclaim: pgfs.lock_grace must keep it.  A backend crashes, so that the
# postmaster starts over in place (its start time stays that of the start)
# (The daemon's sessions after this crash give the locks lost no grace
# period: the lock test below locks at once.)
sql "ALTER DATABASE postgres SET pgfs.lock_grace = 0"
kill -STOP "$daemon"
sleep 4	# the postmaster's start is that much before the restart
backend=$(sql "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgfs-fuse' LIMIT 1")
kill -9 "$backend"
for _ in $(seq 100); do
	sleep 0.1
	[ "$(sql "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgfs-fuse'" 2> /dev/null)" = 0 ] && break
done
[ -n "$backend" ] && [ "$(sql "SELECT 1" 2> /dev/null)" = 1 ]
result $? "a backend crashes, and the server recovers"
# a grace that has passed since the postmaster's start, not since the restart
freed=$(sql "SELECT set_config('pgfs.lock_grace', (extract(epoch FROM now() - pg_postmaster_start_time()) - 2)::int::text, false);
             SELECT pgfs_reclaim_orphans()" 2> /dev/null | tail -1)
[ "$freed" = 0 ] && [ "$(sql "SELECT count(*) FROM pgfs.inode WHERE nlink = 0")" = 1 ]
result $? "a reclaim before the mount reconnected frees nothing (pgfs.lock_grace)" ||
	echo "# reclaim freed $freed"
kill -CONT "$daemon"
registered=0
for _ in $(seq 100); do
	registered=$(sql "SELECT count(*) FROM pgfs.handle" 2> /dev/null)
	[ "${registered:-0}" -ge 1 ] && break
	sleep 0.1
done
[ "${registered:-0}" -ge 1 ]
result $? "the daemon registers its open handles again without being asked"
freed=$(sql "SET pgfs.lock_grace = 0; SELECT pgfs_reclaim_orphans()")
[ "$freed" = 0 ] && [ "$(sha256sum <&7)" = "$want" ]
result $? "an open unlinked file survives a crash and another session's reclaim" ||
	echo "# reclaim freed $freed"
exec 7<&-
sleep 0.2
[ "$(sql "SELECT count(*) FROM pgfs.inode WHERE nlink = 0")" = 0 ]
result $? "closing it frees it"

# a crash empties the server's lock table.  Within pgfs.lock_grace of it
# the daemon takes back the locks its processes held, and nobody else gets
# a new one: the holder goes on.  A crash with no grace left for reclaims
# loses the lock: a process that held it through a descriptor gets EIO
# there, until it unlocks; one that locked and unlocked before the crash,
# or never locked, goes on
export CRASH_CMD="kill -9 \$(psql -XAtq -c \"SELECT pid FROM pg_stat_activity WHERE application_name = 'pgfs-fuse' LIMIT 1\")"
DAEMON_PID=$daemon DAEMON_LOG=$log "$PYTHON" - "$mnt/locked" << 'EOF'
import errno, fcntl, multiprocessing as mp, os, signal, subprocess, sys, time

path = sys.argv[1]
with open(path, 'w') as f:
    f.write('x' * 100)


def other(q, go):
    """Another process of the mount, doing what it is told."""
    fd = os.open(path, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 5, 50)
    fcntl.lockf(fd, fcntl.LOCK_UN, 5, 50)
    q.put('ready')
    while True:
        cmd = go.get()
        if cmd == 'quit':
            break
        try:
            if cmd == 'write':
                os.pwrite(fd, b'o', 50)
            else:   # a byte to lock, and give back if granted
                start = int(cmd)
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, start)
                fcntl.lockf(fd, fcntl.LOCK_UN, 1, start)
            q.put('ok')
        except OSError as e:
            q.put('busy' if e.errno in (errno.EAGAIN, errno.EACCES) else e.strerror)
    os.close(fd)


def check(cond, what):
    print(('ok - ' if cond else 'not ok - ') + what, flush=True)


def pwrite(fd):
    try:
        os.pwrite(fd, b'w', 0)
        return 'ok'
    except OSError as e:
        return e.strerror


def psql(sql):
    return subprocess.run(['psql', '-XAtq', '-c', sql], capture_output=True, text=True).stdout.strip()


def crash():
    """Crash the server; return once it is back and the daemon knows what it lost."""
    ready = "SELECT (pg_stat_file('postmaster.pid')).modification"
    before = psql(ready)
    subprocess.run(os.environ['CRASH_CMD'], shell=True, check=True)
    # the server is back (the postmaster wrote its state again), and the
    # daemon registered its open files again after that
    for _ in range(300):
        time.sleep(0.1)
        if psql(ready) not in ('', before) and psql("SELECT count(*) FROM pgfs.handle") not in ('', '0'):
            return


def logged(what):
    """How many times the daemon logged what."""
    with open(os.environ['DAEMON_LOG'], errors='replace') as f:
        return f.read().count(what)


def resets():
    return logged('the server no longer knows this mount')


def locks_taken():
    return logged("another mount took this mount's file locks")


def ask(cmd):
    go.put(cmd)
    return q.get(timeout=30)


# psql input: end the mount's sessions (as a network failure would, once
# the server noticed), then another client (777) takes the mount's lock on
# byte 0, printing 'took: true', and gives it up
TAKE_FROM_CUT_OFF = """
SELECT count(pg_terminate_backend(pid)) >= 0 FROM pg_stat_activity WHERE application_name = 'pgfs-fuse';
DO $$ BEGIN
  FOR i IN 1..100 LOOP
    EXIT WHEN NOT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'pgfs-fuse');
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT 'took: ' || (pgfs_ll_setlk((pgfs_stat('/locked')).ino, 777, 1, 1, false, 1, 0, 0) IS NOT NULL);
SELECT pgfs_ll_setlk((pgfs_stat('/locked')).ino, 777, 1, 1, false, 2, 0, 0) IS NOT NULL;
"""


q, go = mp.Queue(), mp.Queue()
p = mp.Process(target=other, args=(q, go))
p.start()
q.get(timeout=30)
held = os.open(path, os.O_RDWR)
fcntl.lockf(held, fcntl.LOCK_EX, 10, 0)
plain = os.open(path, os.O_RDWR)
os.pwrite(held, b'h', 0)

# within the grace period (2 minutes here, for a slow daemon): taken back
psql("ALTER DATABASE postgres SET pgfs.lock_grace = 120")
reclaimed = "SELECT count(*) FROM pgfs.lock WHERE lstart = 0 AND lend = 9 AND excl"
crash()
for _ in range(100):
    if psql(reclaimed) == '1':
        break
    time.sleep(0.1)
check(psql(reclaimed) == '1', 'after a crash, the daemon takes back a lock one of its processes held, by itself')
check(pwrite(held) == 'ok', '... and the process goes on writing through the descriptor it locked through')
check(ask('60') == 'busy', 'in the grace period after a crash, nobody gets a new lock')
# (a session with no grace period: refused for the lock, not for the grace)
check(psql("SET pgfs.lock_grace = 0; SELECT pgfs_ll_setlk((pgfs_stat('/locked')).ino, 777, 1, 1, false, 1, 5, 5) IS NULL") == 't',
      'the lock taken back keeps another client out')

# no grace left for reclaims: lost
psql("ALTER DATABASE postgres SET pgfs.lock_grace = 0")
crash()
check(pwrite(held) == 'Input/output error',
      'after a crash with no grace period, a write through the descriptor that held a lock fails with EIO')
check(pwrite(plain) == 'ok', '... one through a descriptor it never locked through works')
check(ask('write') == 'ok', '... and so does one of a process that had unlocked before the crash')
check(ask('60') == 'ok', '... which gets a new lock at once')
check(ask('5') == 'ok', '... even where the lost one was')
go.put('quit')
p.join()
fcntl.lockf(held, fcntl.LOCK_UN, 10, 0)
check(pwrite(held) == 'ok', '... and the first works again once it unlocked')

# a mount cut off from the server (the daemon stopped, its sessions ended;
# no grace period after a server start in the way): another client that
# wants its lock gets it, and when the mount comes back, it reports the
# lock lost
fcntl.lockf(held, fcntl.LOCK_EX, 10, 0)
daemon = int(os.environ['DAEMON_PID'])
seen, seen_resets = locks_taken(), resets()
# (psql started first: a process made while the daemon is stopped would
# hang closing the descriptors of files in the mount that it inherits)
sess = subprocess.Popen(['psql', '-XAtq'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
os.kill(daemon, signal.SIGSTOP)
try:
    out, _ = sess.communicate(TAKE_FROM_CUT_OFF, timeout=60)
finally:
    os.kill(daemon, signal.SIGCONT)
check('took: true' in out, 'a lock of a mount cut off from the server goes to another client that wants it')
# the daemon reconnects (its keeper replaces the connections that were
# ended) and learns that its locks were taken
for _ in range(150):
    if locks_taken() > seen:
        break
    time.sleep(0.1)
check(resets() == seen_resets, '... which the mount does not take for a crash (its writes were not lost)')
check(pwrite(held) == 'Input/output error', '... and when the mount is back, the process that held it gets EIO')
fcntl.lockf(held, fcntl.LOCK_UN, 10, 0)
check(pwrite(held) == 'ok', '... until it unlocks')

# the same, and the server crashes before the mount comes back: in the
# grace period after the crash the server would give the mount its lock
# back, as if nobody had held it since.  The record that another client
# took it survives the crash (pgfs.lock_taken, logged), so the mount asks
# for none of its locks back, and the holder gets EIO
fcntl.lockf(held, fcntl.LOCK_EX, 10, 0)
seen, seen_resets = locks_taken(), resets()
psql("ALTER DATABASE postgres SET pgfs.lock_grace = 120")
sess = subprocess.Popen(['psql', '-XAtq'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
os.kill(daemon, signal.SIGSTOP)
try:
    sess.stdin.write("SELECT pg_backend_pid();\n")
    sess.stdin.flush()
    backend = int(sess.stdout.readline())
    sess.stdin.write("SET pgfs.lock_grace = 0;\n" + TAKE_FROM_CUT_OFF + "CHECKPOINT;\nSELECT 'done';\n")
    sess.stdin.flush()
    out = ''
    while 'done' not in out:
        line = sess.stdout.readline()
        if not line:
            break
        out += line
    # (a lock call commits without waiting for its WAL flush; the checkpoint
    # made it durable, as any later durable commit would)
    os.kill(backend, signal.SIGKILL)    # the server restarts after a crash
    sess.communicate(timeout=60)
finally:
    os.kill(daemon, signal.SIGCONT)
check('took: true' in out, 'another client takes the lock of a mount cut off from the server, and the server crashes')
for _ in range(300):
    if locks_taken() > seen and resets() > seen_resets:
        break
    time.sleep(0.1)
check(locks_taken() > seen and resets() > seen_resets,
      '... the mount, back, learns both that the server crashed and that its locks were taken')
time.sleep(2)   # the time a reclaim would take
check(psql(reclaimed) == '0' and pwrite(held) == 'Input/output error',
      '... takes none of them back in the grace period, and the process that held one gets EIO')
fcntl.lockf(held, fcntl.LOCK_UN, 10, 0)
check(pwrite(held) == 'ok', '... until it unlocks')

# two crashes, the mount away (stopped) from before the first until the
# grace period after the second: once the first grace period was over,
# another client took the lock and gave it up, so the mount may not take
# it back in the second.  The server's lock epochs (pgfs.lock_holder) say
# so, and the holder gets EIO.  The commands run in a shell started before
# the daemon stops: a process that inherited descriptors of files in the
# mount would hang closing them while it is stopped
fcntl.lockf(held, fcntl.LOCK_EX, 10, 0)
seen_resets = resets()
psql("ALTER DATABASE postgres SET pgfs.lock_grace = 0")
shell = subprocess.Popen(['bash', '-c', 'while IFS= read -r line; do eval "$line"; echo __END__; done'],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def sh(line):
    shell.stdin.write(line + '\n')
    shell.stdin.flush()
    out = ''
    while True:
        got = shell.stdout.readline()
        if got in ('', '__END__\n'):
            return out
        out += got


WAIT_READY = "for i in $(seq 300); do psql -XAtqc 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.1; done"
os.kill(daemon, signal.SIGSTOP)
try:
    sh("eval \"$CRASH_CMD\"; sleep 1; " + WAIT_READY)
    out = sh("psql -XAtq -c \"SELECT 'took: ' || (pgfs_ll_setlk((pgfs_stat('/locked')).ino, 777, 1, 1, false, 1, 0, 0) IS NOT NULL)\""
             " -c \"SELECT pgfs_ll_setlk((pgfs_stat('/locked')).ino, 777, 1, 1, false, 2, 0, 0) IS NOT NULL\"")
    sh("psql -XAtqc 'ALTER DATABASE postgres SET pgfs.lock_grace = 120'")
    sh("(psql -XAtqc 'SELECT pg_sleep(60)' >/dev/null 2>&1 &); sleep 1; "
       "kill -9 $(psql -XAtqc \"SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'\"); sleep 1; " + WAIT_READY)
finally:
    os.kill(daemon, signal.SIGCONT)
shell.communicate(timeout=60)
check('took: true' in out, 'a crash, the grace period passes with the mount away, another client takes its lock and gives it up, a crash')
for _ in range(300):
    if resets() > seen_resets:
        break
    time.sleep(0.1)
time.sleep(2)   # the time a reclaim would take
check(resets() > seen_resets and psql(reclaimed) == '0' and pwrite(held) == 'Input/output error',
      '... the mount, back in the grace period after the second crash, gets none of its locks back, and the holder gets EIO')
fcntl.lockf(held, fcntl.LOCK_UN, 10, 0)
check(pwrite(held) == 'ok', '... until it unlocks')
psql("ALTER DATABASE postgres RESET pgfs.lock_grace")
os.close(held)
os.close(plain)
os.unlink(path)
EOF

fusermount3 -u "$mnt" && wait "$daemon"
result $? "unmount, and the daemon exits cleanly"
daemon=
[ "$(sql "SELECT count(*) FROM pgfs_fsck()")" = 0 ]
result $? "pgfs_fsck() finds no problems"
exit $failed
