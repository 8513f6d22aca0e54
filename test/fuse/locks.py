"""File locks on the mount: fcntl record locks and flock(2) between
processes of one mount and between two mounts of one store (the server
keeps them, src/lock.c), and an SQLite database written in rollback-journal
mode by processes on two mounts at once.

usage: locks.py DIR_ON_MOUNT DIR_ON_SECOND_MOUNT [SQLITE_DIR_A SQLITE_DIR_B [NATIVE_DIR]]
The SQLite directories are the same directory on two mounts with
entry_timeout=0 and attr_timeout=0, as a store shared this way needs.  With
a native directory, a random sequence of lock calls is also compared with
what the native filesystem answers.
"""
import errno
import fcntl
import multiprocessing as mp
import os
import sqlite3
import struct
import sys
import time

FLOCK = 'hhqqi'                   # struct flock on x86-64 Linux: type, whence, start, len, pid


def ok(cond, what):
    print(('ok - ' if cond else 'not ok - ') + what, flush=True)
    return cond


def getlk(fd, typ, start, length):
    r = fcntl.fcntl(fd, fcntl.F_GETLK, struct.pack(FLOCK, typ, os.SEEK_SET, start, length, 0))
    return struct.unpack(FLOCK, r)


def try_lock(path, how, start, length, q, flags=os.O_RDWR, wait=False, hold=0.0):
    """in a child process: lock and report 'got' or the errno name"""
    fd = os.open(path, flags)
    try:
        fcntl.lockf(fd, how | (0 if wait else fcntl.LOCK_NB), length, start)
        q.put('got')
        time.sleep(hold)
    except OSError as e:
        q.put(errno.errorcode[e.errno])


def try_flock(path, how, q):
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, how | fcntl.LOCK_NB)
        q.put('got')
    except OSError as e:
        q.put(errno.errorcode[e.errno])


def run(target, *args, **kw):
    q = mp.Queue()
    if target is try_flock:
        p = mp.Process(target=try_flock, args=args + (q,))
    else:
        p = mp.Process(target=try_lock, args=args + (q,), kwargs=kw)
    p.start()
    got = q.get(timeout=30)
    p.join(30)
    return got


def record_locks(a, b):
    pa, pb = os.path.join(a, 'rec'), os.path.join(b, 'rec')
    with open(pa, 'wb') as f:
        f.write(b'r' * 4096)
    fd = os.open(pa, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 100, 0)          # bytes 0-99
    fcntl.lockf(fd, fcntl.LOCK_SH, 100, 200)        # bytes 200-299
    ok(getlk(fd, fcntl.F_WRLCK, 0, 0)[0] == fcntl.F_UNLCK, "F_GETLK: a process's own locks are not in its way")
    for where, path in (('same mount', pa), ('second mount', pb)):
        ok(run(try_lock, path, fcntl.LOCK_EX, 50, 1) == 'EAGAIN',
           f"{where}: an exclusive lock meets another process's exclusive lock (EAGAIN)")
        ok(run(try_lock, path, fcntl.LOCK_SH, 250, 10) == 'got',
           f"{where}: shared locks go together")
        ok(run(try_lock, path, fcntl.LOCK_EX, 250, 10) == 'EAGAIN',
           f"{where}: an exclusive lock meets a shared one")
        ok(run(try_lock, path, fcntl.LOCK_EX, 100, 100) == 'got',
           f"{where}: the bytes between locks are free")
    # F_GETLK from another process of another mount: the lock, with no local pid
    q = mp.Queue()

    def ask(q):
        fd2 = os.open(pb, os.O_RDWR)
        q.put(getlk(fd2, fcntl.F_WRLCK, 0, 0))
    p = mp.Process(target=ask, args=(q,))
    p.start()
    typ, whence, start, length, pid = q.get(timeout=30)
    p.join()
    ok((typ, start, length) == (fcntl.F_WRLCK, 0, 100), f"F_GETLK through another mount reports the first lock (got {typ} {start} {length})")
    # unlock a middle part: the rest stays
    fcntl.lockf(fd, fcntl.LOCK_UN, 10, 40)
    ok(run(try_lock, pb, fcntl.LOCK_EX, 45, 2) == 'got', "an unlocked middle range is free to another mount")
    ok(run(try_lock, pb, fcntl.LOCK_EX, 60, 2) == 'EAGAIN', "... and the rest of the lock stays")
    # a waiting lock (F_SETLKW) on the other mount is granted when the holder closes
    q = mp.Queue()
    p = mp.Process(target=try_lock, args=(pb, fcntl.LOCK_EX, 0, 1, q), kwargs={'wait': True})
    p.start()
    time.sleep(0.5)
    ok(q.empty(), "F_SETLKW on the second mount waits while the lock is held")
    t = time.time()
    os.close(fd)                                     # any close drops the process's locks
    got = q.get(timeout=10)
    p.join()
    ok(got == 'got' and time.time() - t < 2, f"... and gets it once the holder closes the file ({got})")
    # a lock taken through a read-only descriptor goes with its close
    fd = os.open(pa, os.O_RDONLY)
    fcntl.lockf(fd, fcntl.LOCK_SH, 0, 0)
    ok(run(try_lock, pb, fcntl.LOCK_EX, 0, 1) == 'EAGAIN', "a shared lock through a read-only descriptor holds")
    os.close(fd)
    ok(run(try_lock, pb, fcntl.LOCK_EX, 0, 1) == 'got', "... until that descriptor is closed")
    # a waiter interrupted by a signal gets EINTR and leaves nothing behind
    fd = os.open(pa, os.O_RDWR)
    fcntl.lockf(fd, fcntl.LOCK_EX, 1, 0)
    q = mp.Queue()
    p = mp.Process(target=try_lock, args=(pb, fcntl.LOCK_EX, 0, 1, q), kwargs={'wait': True})
    p.start()
    time.sleep(0.3)
    p.terminate()
    p.join(10)
    ok(p.exitcode is not None, "a process waiting for a lock can be killed")
    os.close(fd)
    ok(run(try_lock, pb, fcntl.LOCK_EX, 0, 0) == 'got', "the killed waiter holds nothing")


def flocks(a, b):
    pa, pb = os.path.join(a, 'fl'), os.path.join(b, 'fl')
    open(pa, 'w').close()
    fd = os.open(pa, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_SH)
    ok(run(try_flock, pb, fcntl.LOCK_SH) == 'got', "flock: shared locks go together across mounts")
    ok(run(try_flock, pb, fcntl.LOCK_EX) == 'EAGAIN', "flock: an exclusive lock meets a shared one on another mount")
    fcntl.flock(fd, fcntl.LOCK_EX)                   # conversion
    ok(run(try_flock, pa, fcntl.LOCK_SH) == 'EAGAIN', "flock: converted to exclusive, it keeps a shared lock of this mount out")
    # flocks and record locks do not meet (Linux)
    ok(run(try_lock, pb, fcntl.LOCK_EX, 0, 0) == 'got', "a record lock does not meet a flock")
    os.close(fd)
    ok(run(try_flock, pb, fcntl.LOCK_EX) == 'got', "flock: the last close of the open file drops it")


def shared_file(a, b, name, data):
    """name made with data in directory a of one mount, once directory b of
    the other mount shows it: the paths in both"""
    pa, pb = os.path.join(a, name), os.path.join(b, name)
    with open(pa, 'w') as f:
        f.write(data)
    for _ in range(50):
        if os.path.exists(pb):
            break
        time.sleep(0.1)
    return pa, pb


def flock_counter_worker(path, n, q):
    seen = []
    for _ in range(n):
        fd = os.open(path, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)
        v = int(os.pread(fd, 64, 0) or b'0')
        seen.append(v)
        os.pwrite(fd, b'%d' % (v + 1), 0)
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
    q.put(seen)


def flock_counter(a, b, n=200):
    """Four processes, two a mount, each n times: open, flock, add one to the
    number in the file, unlock, close.  The kernel sends the release that
    drops a flock after close(2) returned, when a new open of another
    process may already have the same name for its open file (its struct
    file): that release must not drop the new open's flock."""
    pa, pb = shared_file(a, b, 'counter', '0')
    q = mp.Queue()
    ps = [mp.Process(target=flock_counter_worker, args=(p, n, q)) for p in (pa, pa, pb, pb)]
    for p in ps:
        p.start()
    seen = sorted(v for _ in ps for v in q.get(timeout=300))
    for p in ps:
        p.join()
    with open(pb, 'rb') as f:
        final = f.read()
    ok(seen == list(range(4 * n)) and final == b'%d' % (4 * n),
       f"flock: 4 processes on two mounts add one {n} times each, none at the same time "
       f"(final {final!r}, {4 * n - len(set(seen))} increments lost)")


def relock_prober(path, conn):
    fd = os.open(path, os.O_RDONLY)
    while conn.recv() == 'probe':
        free = 0
        for _ in range(10):
            free += getlk(fd, fcntl.F_WRLCK, 0, 0)[0] == fcntl.F_UNLCK
            time.sleep(0.001)
        conn.send(free)
    os.close(fd)


def relock_after_close(a, b, n=100):
    """A process locks a file through a descriptor opened for reading,
    closes it (which drops its locks) and locks it again through a new one.
    The kernel sends no flush for such a descriptor, and its release, which
    drops the process's locks, may come after the new lock: it must not
    drop that one."""
    pa, pb = shared_file(a, b, 'relock', 'x')
    here, there = mp.Pipe()
    p = mp.Process(target=relock_prober, args=(pb, there))
    p.start()
    lost = 0
    for _ in range(n):
        fd = os.open(pa, os.O_RDONLY)
        fcntl.lockf(fd, fcntl.LOCK_SH)
        os.close(fd)
        fd = os.open(pa, os.O_RDONLY)
        fcntl.lockf(fd, fcntl.LOCK_SH)
        here.send('probe')
        lost += here.recv() > 0
        os.close(fd)
    here.send('stop')
    p.join()
    ok(lost == 0, f"a lock taken after a close stands while the close's release comes ({lost} of {n} lost)")


def fork_and_close(path, first, second, q):
    """lock [0, 5) through a descriptor opened for reading, fork; the child
    locks second (a range, or None) and exits, the parent closes"""
    fd = os.open(path, os.O_RDONLY)
    fcntl.lockf(fd, fcntl.LOCK_SH, 5, 0)
    pid = os.fork()
    if pid == 0:
        if second is not None:
            fcntl.lockf(fd, fcntl.LOCK_SH, 5, second)
            os._exit(0)
        time.sleep(3)                                # holds the open file, not the lock
        os._exit(0)
    if second is not None:
        os.waitpid(pid, 0)
    os.close(fd)
    q.put('closed')
    if second is None:
        os.waitpid(pid, 0)


def locks_of_forked(a, b):
    """Record locks of processes that share an open file (fork): a close of
    it by one drops that one's locks at once, though the other keeps the open
    file; the last close drops those of every process that locked through it."""
    pa, pb = shared_file(a, b, 'forked', '')
    keeper = os.open(pa, os.O_RDONLY)                # the mount keeps the file open throughout
    # both lock through one descriptor opened before any lock here
    q = mp.Queue()
    p = mp.Process(target=fork_and_close, args=(pa, 0, 20, q))
    p.start()
    q.get(timeout=30)
    p.join()
    for _ in range(50):                              # the release comes after the close
        free = run(try_lock, pb, fcntl.LOCK_EX, 0, 5) == 'got' and run(try_lock, pb, fcntl.LOCK_EX, 20, 5) == 'got'
        if free:
            break
        time.sleep(0.1)
    ok(free, "the last close of an open file two processes locked through drops the locks of both")
    # the file has locks here now (keeper's): a close drops its process's locks at once
    fcntl.lockf(keeper, fcntl.LOCK_SH, 1, 100)
    p = mp.Process(target=fork_and_close, args=(pa, 0, None, q))
    p.start()
    q.get(timeout=30)
    ok(run(try_lock, pb, fcntl.LOCK_EX, 0, 5) == 'got',
       "a process that forked and closed its descriptor holds no lock, though its child has the open file")
    p.join()
    os.close(keeper)


def lock_server(path, conn):
    """a process holding path open, setting and testing locks as told"""
    fd = os.open(path, os.O_RDWR)
    while True:
        cmd = conn.recv()
        if cmd is None:
            break
        op, typ, start, length = cmd
        try:
            if op == 'set':
                fcntl.fcntl(fd, fcntl.F_SETLK, struct.pack(FLOCK, typ, os.SEEK_SET, start, length, 0))
                conn.send(('ok',))
            else:
                t, _, s, l, pid = getlk(fd, typ, start, length)
                conn.send(('lk', t, s, l, pid) if t != fcntl.F_UNLCK else ('lk', t))
        except OSError as e:
            conn.send(('err', errno.errorcode[e.errno]))
    os.close(fd)


INF = 2 ** 63 - 1


class LockModel:
    """POSIX record locks as Linux keeps them: per owner, ranges [start, end]
    that an owner's new lock cuts and that join when of one type"""

    def __init__(self):
        self.locks = {}

    def conflicts(self, owner, typ, s, e):
        return [(o, a, b, t) for o, ls in self.locks.items() if o != owner
                for a, b, t in ls if a <= e and b >= s
                and (t == fcntl.F_WRLCK or typ == fcntl.F_WRLCK)]

    def set(self, owner, typ, s, e):
        if typ != fcntl.F_UNLCK and self.conflicts(owner, typ, s, e):
            return False
        keep = []
        for a, b, t in self.locks.get(owner, []):
            if b < s - 1 or a > e + 1:
                keep.append((a, b, t))
            elif t == typ and typ != fcntl.F_UNLCK:
                s, e = min(s, a), max(e, b)
            else:
                if a < s:
                    keep.append((a, min(b, s - 1), t))
                if b > e:
                    keep.append((max(a, e + 1), b, t))
        if typ != fcntl.F_UNLCK:
            keep.append((s, e, typ))
        self.locks[owner] = sorted(keep)
        return True


def lock_diff(d, ref, ops=600, seed=7):
    """The same random F_SETLK/F_GETLK sequence of three processes on the
    mount and on a native directory, checked against a model of Linux's
    rules: every F_SETLK must be granted or refused alike, every F_GETLK
    must find a lock in the way alike, and the lock it reports must be one
    that another process holds and that is in the way (POSIX lets a
    filesystem report any of them; Linux reports the first in its list)."""
    import random
    r = random.Random(seed)
    sides = []
    for base in (d, ref):
        path = os.path.join(base, 'diff')
        with open(path, 'wb') as f:
            f.write(b'd' * 1000)
        procs, conns = [], []
        for _ in range(3):
            a, b = mp.Pipe()
            p = mp.Process(target=lock_server, args=(path, b))
            p.start()
            procs.append(p)
            conns.append(a)
        sides.append((procs, conns))
    pids = [{p.pid: i for i, p in enumerate(procs)} for procs, _ in sides]
    model = LockModel()
    bad = []
    for k in range(ops):
        w = r.randrange(3)
        op = 'get' if r.random() < 0.3 else 'set'
        typ = r.choice((fcntl.F_RDLCK, fcntl.F_WRLCK, fcntl.F_UNLCK) if op == 'set'
                       else (fcntl.F_RDLCK, fcntl.F_WRLCK))
        start = r.randrange(0, 200)
        length = r.choice((0, 1, r.randrange(1, 50), r.randrange(1, 200)))
        end = INF if length == 0 else start + length - 1
        what = 'op %d: process %d %s type %d [%d, +%d]' % (k, w, op, typ, start, length)
        if op == 'set':
            want = ('ok',) if model.set(w, typ, start, end) else ('err', 'EAGAIN')
        else:
            inway = model.conflicts(w, typ, start, end)
        for side, (procs, conns) in enumerate(sides):
            name = ('mount', 'native')[side]
            conns[w].send((op, typ, start, length))
            res = conns[w].recv()
            if op == 'set':
                if res != want:
                    bad.append('%s: %s %s, the model %s' % (what, name, res, want))
            elif not inway:
                if res != ('lk', fcntl.F_UNLCK):
                    bad.append('%s: %s reports %s, the model nothing' % (what, name, res))
            else:
                if res[0] != 'lk' or res[1] == fcntl.F_UNLCK:
                    bad.append('%s: %s reports %s, the model %s' % (what, name, res, inway))
                    continue
                _, t, s0, l0, pid = res
                held = (pids[side].get(pid), s0, INF if l0 == 0 else s0 + l0 - 1, t)
                if held not in inway:
                    bad.append('%s: %s reports %s, not one of %s' % (what, name, held, inway))
    for procs, conns in sides:
        for c in conns:
            c.send(None)
        for p in procs:
            p.join(10)
    for x in bad[:5]:
        print('# ' + x)
    ok(not bad, f"{ops} random F_SETLK/F_GETLK calls of 3 processes: the mount and a native "
       f"filesystem both follow Linux's rules ({len(bad)} differ)")


def sqlite_worker(path, w, n):
    c = sqlite3.connect(path, timeout=120, isolation_level=None)
    c.execute("PRAGMA journal_mode=DELETE")
    for i in range(n):
        c.execute("BEGIN IMMEDIATE")
        top = c.execute("SELECT coalesce(max(seq), 0) FROM t").fetchone()[0]
        c.execute("INSERT INTO t(seq, w, i, v) VALUES (?, ?, ?, ?)", (top + 1, w, i, os.urandom(300)))
        c.execute("COMMIT")
    c.close()


def sqlite_two_mounts(a, b, n=100):
    pa, pb = os.path.join(a, 'shared.db'), os.path.join(b, 'shared.db')
    for f in (pa, pa + '-journal'):
        if os.path.exists(f):
            os.unlink(f)
    c = sqlite3.connect(pa)
    c.execute("PRAGMA journal_mode=DELETE")
    c.execute("CREATE TABLE t(id INTEGER PRIMARY KEY, seq UNIQUE, w, i, v)")
    c.commit()
    c.close()
    ps = [mp.Process(target=sqlite_worker, args=(p, w, n)) for w, p in enumerate((pa, pb, pa, pb))]
    for p in ps:
        p.start()
    for p in ps:
        p.join(300)
    ok([p.exitcode for p in ps] == [0] * 4, f"SQLite: 4 writers on two mounts finish ({[p.exitcode for p in ps]})")
    c = sqlite3.connect(pb)
    rows, seqs, top = c.execute("SELECT count(*), count(DISTINCT seq), max(seq) FROM t").fetchone()
    ok((rows, seqs, top) == (4 * n, 4 * n, 4 * n), f"SQLite: every transaction counted once, none lost ({rows}, {seqs}, {top})")
    ok(c.execute("PRAGMA integrity_check").fetchone()[0] == 'ok', "SQLite: integrity_check")
    c.close()


def main():
    a, b = sys.argv[1], sys.argv[2]
    for d in (a,):
        os.makedirs(d, exist_ok=True)
    for _ in range(50):                              # the second mount sees the directory
        if os.path.isdir(b):
            break
        time.sleep(0.1)
    record_locks(a, b)
    flocks(a, b)
    flock_counter(a, b)
    relock_after_close(a, b)
    locks_of_forked(a, b)
    if len(sys.argv) > 5:
        os.makedirs(sys.argv[5], exist_ok=True)
        lock_diff(a, sys.argv[5])
    if len(sys.argv) > 4:
        os.makedirs(sys.argv[3], exist_ok=True)
        for _ in range(50):
            if os.path.isdir(sys.argv[4]):
                break
            time.sleep(0.1)
        sqlite_two_mounts(sys.argv[3], sys.argv[4])


if __name__ == '__main__':
    main()
