"""File locks on the mount: fcntl record locks and flock(2) between
processes of one mount and between two mounts of one store (the server
keeps them, src/lock.c), and an SQLite database written in rollback-journal
mode by processes on two mounts at once.

usage: locks.py DIR_ON_MOUNT DIR_ON_SECOND_MOUNT [SQLITE_DIR_A SQLITE_DIR_B]
The SQLite directories are the same directory on two mounts with
entry_timeout=0 and attr_timeout=0, as a store shared this way needs.
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
    if len(sys.argv) > 4:
        os.makedirs(sys.argv[3], exist_ok=True)
        for _ in range(50):
            if os.path.isdir(sys.argv[4]):
                break
            time.sleep(0.1)
        sqlite_two_mounts(sys.argv[3], sys.argv[4])


if __name__ == '__main__':
    main()
