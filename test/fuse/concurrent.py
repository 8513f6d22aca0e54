#!/usr/bin/python3
"""Concurrent clients: workers on two mounts of one store race on shared names.

usage: concurrent.py DIR_ON_MOUNT_1 DIR_ON_MOUNT_2 [--workers N] [--ops N]

Both arguments name the same directory of the store, seen through two
mounts.  Each worker does random namespace operations, copies between files
(copy_file_range, sharing chunks) and punched holes on a few shared names
(collisions are the point) and also fills a private file.  Only the errors
that such races legitimately produce may appear, never EIO or others (the
daemon retries serialization failures and deadlocks itself); afterwards each
private file holds exactly what its worker wrote, seen through either mount.
"""
import argparse
import errno
import multiprocessing
import os
import random
import sys
import time

from checks import fallocate

NAMES = ['n%d' % i for i in range(6)]

EXPECTED = {errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR, errno.EISDIR,
            errno.EINVAL, errno.EPERM}   # EPERM: link of a directory


def worker(k, dirs, ops, q):
    r = random.Random(k)
    bad = []
    d = dirs[k % 2]
    priv = os.path.join(d, 'priv-%d' % k)
    fd = os.open(priv, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    for i in range(ops):
        a = os.path.join(d, 'shared', r.choice(NAMES))
        b = os.path.join(d, 'shared', r.choice(NAMES))
        op = r.choice(('create', 'write', 'rename', 'unlink', 'mkdir', 'rmdir', 'link', 'read',
                       'copy', 'punch'))
        try:
            if op == 'create':
                with open(a, 'wb') as f:
                    f.write(b'%d' % k * r.randint(1, 3000))
            elif op == 'write':
                with open(a, 'r+b') as f:
                    f.seek(r.randint(0, 5000))
                    f.write(os.urandom(r.randint(1, 100000)))
            elif op == 'rename':
                os.rename(a, b)
            elif op == 'unlink':
                os.unlink(a)
            elif op == 'mkdir':
                os.mkdir(a)
            elif op == 'rmdir':
                os.rmdir(a)
            elif op == 'link':
                os.link(a, b)
            elif op == 'copy':
                # copy_file_range, chunk-aligned so that chunks are shared
                with open(a, 'rb') as f, open(b, 'r+b') as g:
                    os.copy_file_range(f.fileno(), g.fileno(), r.choice((65536, 200000)),
                                       0, 65536 * r.randint(0, 3))
            elif op == 'punch':
                with open(a, 'r+b') as f:
                    fallocate(f.fileno(), 3, r.randint(0, 100000), r.randint(1, 100000))
            else:
                with open(a, 'rb') as f:
                    f.read()
        except OSError as e:
            if e.errno not in EXPECTED:
                bad.append('%s %s: %s' % (op, a, errno.errorcode.get(e.errno, e.errno)))
        os.write(fd, b'%d:%d\n' % (k, i))
    os.close(fd)
    q.put((k, bad))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('dir1')
    ap.add_argument('dir2')
    ap.add_argument('--workers', type=int, default=6)
    ap.add_argument('--ops', type=int, default=300)
    a = ap.parse_args()
    dirs = [a.dir1, a.dir2]
    os.makedirs(os.path.join(a.dir1, 'shared'), exist_ok=True)
    q = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=worker, args=(k, dirs, a.ops, q))
             for k in range(a.workers)]
    for p in procs:
        p.start()
    results = [q.get() for _ in procs]
    for p in procs:
        p.join()
    bad = [b for _, bs in results for b in bs]
    for b in bad[:10]:
        print('# ' + b)
    print(('ok' if not bad else 'not ok') + ' - %d workers on two mounts, %d ops each: '
          'only race errors (%d unexpected)' % (a.workers, a.ops, len(bad)))
    time.sleep(1.5)    # the other mount's attribute cache
    wrong = []
    for k in range(a.workers):
        want = b''.join(b'%d:%d\n' % (k, i) for i in range(a.ops))
        for d in dirs:
            with open(os.path.join(d, 'priv-%d' % k), 'rb') as f:
                if f.read() != want:
                    wrong.append('priv-%d via %s' % (k, d))
    for w in wrong:
        print('# wrong content: ' + w)
    print(('ok' if not wrong else 'not ok') + ' - private files intact through both mounts')
    stale = close_to_open(dirs)
    sys.exit(1 if bad or wrong or stale else 0)


def close_to_open(dirs, rounds=200):
    """A file rewritten through one mount (same size, same mtime put back) is
    read through the other right after: each open there must see the last
    version closed before it, though it kept the file's pages from the
    previous one when nothing had changed (fuse/handle.c)."""
    a, b = (os.path.join(d, 'c2o') for d in dirs)
    size = 300000
    with open(a, 'wb') as f:
        f.write(b'\0' * size)
    st = os.stat(a)
    want = b'\0' * size
    stale = []
    for k in range(rounds):
        if k % 3:                         # else nothing changes this round
            want = (b'%08d' % k) * (size // 8)
            with open(b, 'r+b') as f:     # through the other mount
                f.write(want)
            os.utime(b, ns=(st.st_atime_ns, st.st_mtime_ns))
        for _ in range(2):                # the second open finds nothing changed
            with open(a, 'rb') as f:
                got = f.read()
            if got != want:
                stale.append(k)
    for k in stale[:5]:
        print('# round %d: the open read an older version' % k)
    print(('ok' if not stale else 'not ok') + ' - each open on one mount reads what the other '
          'closed before it (%d rounds, %d stale)' % (rounds, len(stale)))
    os.unlink(a)
    return stale


main()
