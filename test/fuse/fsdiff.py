#!/usr/bin/python3
"""Differential test: one random operation sequence on a pgfs mount and on a
local directory; every result and errno must agree, and so must the final
trees (names, types, modes, sizes, contents, symlink targets, link counts).

usage: fsdiff.py [--ops N] [--seed S] MOUNT_DIR LOCAL_DIR

Both directories are emptied first.  The namespace is small on purpose, so
that names collide and operations fail in all the interesting ways.  A few
files are kept open across operations to exercise the daemon's write
buffers.  Prints "ok - ..." / "not ok - ..." lines.
"""
import argparse
import ctypes
import errno
import hashlib
import os
import random
import shutil
import stat
import sys

from checks import fallocate

NAMES = ['a', 'b', 'c', 'dd', 'e']
HANDLES = 4
libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
# the fallocate modes pgfs has: 0, KEEP_SIZE, PUNCH_HOLE | KEEP_SIZE, ZERO_RANGE (| KEEP_SIZE)
FALLOC_MODES = (0, 1, 3, 3, 0x10, 0x11)


def digest(data):
    return (len(data), hashlib.sha1(data).hexdigest()[:12])


class Side:
    def __init__(self, root):
        self.root = root
        self.fds = {}

    def p(self, rel):
        return os.path.join(self.root, rel)

    # path operations
    def create(self, path, mode, excl):
        os.close(os.open(self.p(path), os.O_CREAT | os.O_WRONLY | (os.O_EXCL if excl else 0), mode))

    def write(self, path, off, data):
        fd = os.open(self.p(path), os.O_WRONLY)
        try:
            return os.pwrite(fd, data, off)
        finally:
            os.close(fd)

    def read(self, path, off, n):
        fd = os.open(self.p(path), os.O_RDONLY)
        try:
            return digest(os.pread(fd, n, off))
        finally:
            os.close(fd)

    def truncate(self, path, n):
        os.truncate(self.p(path), n)

    def copy(self, a, b, off_in, off_out, n):
        fi = os.open(self.p(a), os.O_RDONLY)
        try:
            fo = os.open(self.p(b), os.O_WRONLY)
            try:
                return os.copy_file_range(fi, fo, n, off_in, off_out)
            finally:
                os.close(fo)
        finally:
            os.close(fi)

    def falloc(self, path, mode, off, n):
        fd = os.open(self.p(path), os.O_WRONLY)
        try:
            fallocate(fd, mode, off, n)
        finally:
            os.close(fd)

    def rename(self, a, b, flags):
        if flags == 0:
            return os.rename(self.p(a), self.p(b))
        if libc.renameat2(-100, self.p(a).encode(), -100, self.p(b).encode(), flags) != 0:
            raise OSError(ctypes.get_errno(), 'renameat2')

    def link(self, a, b):
        os.link(self.p(a), self.p(b), follow_symlinks=False)

    def unlink(self, path):
        os.unlink(self.p(path))

    def mkdir(self, path, mode):
        os.mkdir(self.p(path), mode)

    def rmdir(self, path):
        os.rmdir(self.p(path))

    def symlink(self, target, path):
        os.symlink(target, self.p(path))

    def readlink(self, path):
        return os.readlink(self.p(path))

    def chmod(self, path, mode):
        os.chmod(self.p(path), mode)

    def stat(self, path):
        st = os.lstat(self.p(path))
        return (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_nlink,
                None if stat.S_ISDIR(st.st_mode) else st.st_size)

    def listdir(self, path):
        return sorted(os.listdir(self.p(path)))

    # operations on kept-open handles
    def open(self, h, path, flags):
        self.close(h)
        self.fds[h] = os.open(self.p(path), flags, 0o644)

    def close(self, h):
        if h in self.fds:
            os.close(self.fds.pop(h))

    def fwrite(self, h, off, data):
        return os.pwrite(self.fds[h], data, off) if h in self.fds else 'closed'

    def fread(self, h, off, n):
        return digest(os.pread(self.fds[h], n, off)) if h in self.fds else 'closed'

    def ftruncate(self, h, n):
        return os.ftruncate(self.fds[h], n) if h in self.fds else 'closed'

    def fstat(self, h):
        if h not in self.fds:
            return 'closed'
        st = os.fstat(self.fds[h])
        return (stat.S_IFMT(st.st_mode), st.st_size, st.st_nlink)

    def fsync(self, h):
        return os.fsync(self.fds[h]) if h in self.fds else 'closed'

    def fcopy(self, h, h2, off_in, off_out, n):
        if h not in self.fds or h2 not in self.fds:
            return 'closed'
        return os.copy_file_range(self.fds[h], self.fds[h2], n, off_in, off_out)

    def fallocate(self, h, mode, off, n):
        if h not in self.fds:
            return 'closed'
        fallocate(self.fds[h], mode, off, n)


def run(side, op, args):
    try:
        return ('ok', getattr(side, op)(*args))
    except OSError as e:
        return ('err', errno.errorcode.get(e.errno, e.errno))


def rand_path(r):
    return '/'.join(r.choice(NAMES) for _ in range(r.choice((1, 1, 2, 2, 3))))


def rand_data(r):
    n = r.choice((1, 10, 100, 4096, 5000, 65536, 70000, 300000))
    n = r.randint(1, n)
    return bytes([r.randrange(256)]) * (n // 2) + r.randbytes(n - n // 2)


def rand_off(r):
    return r.choice((0, r.randint(0, 5000), r.randint(0, 2 << 20),
                     65536 * r.randint(0, 40) - r.randint(0, 3)))


def rand_op(r):
    k = r.random()
    path = rand_path(r)
    if k < 0.10:
        return 'create', (path, r.choice((0o644, 0o600, 0o755)), r.random() < 0.3)
    if k < 0.22:
        return 'write', (path, rand_off(r), rand_data(r))
    if k < 0.30:
        return 'read', (path, rand_off(r), r.choice((1, 4096, 1 << 20)))
    if k < 0.32:
        return 'truncate', (path, rand_off(r))
    if k < 0.335:
        return 'copy', (path, rand_path(r), rand_off(r), rand_off(r),
                        r.choice((1, 100, 65536, 70000, 1 << 20, 3 << 20)))
    if k < 0.34:
        return 'falloc', (path, r.choice(FALLOC_MODES), rand_off(r),
                          r.choice((1, 100, 4096, 65536, 100000, 1 << 20)))
    if k < 0.40:
        return 'rename', (path, rand_path(r), r.choice((0, 0, 0, 1, 2)))
    if k < 0.44:
        return 'link', (path, rand_path(r))
    if k < 0.49:
        return 'unlink', (path,)
    if k < 0.56:
        return 'mkdir', (path, r.choice((0o755, 0o700)))
    if k < 0.60:
        return 'rmdir', (path,)
    if k < 0.63:
        return 'symlink', (r.choice(('a', 'dd/e', 'nonexistent', 'a/b', 'c', 'x' * 300)), path)
    if k < 0.65:
        return 'readlink', (path,)
    if k < 0.68:
        return 'chmod', (path, r.choice((0o600, 0o644, 0o755, 0o4755, 0o1777)))
    if k < 0.74:
        return 'stat', (path,)
    if k < 0.77:
        return 'listdir', (r.choice((path, '.')),)
    h = r.randrange(HANDLES)
    if k < 0.82:
        flags = r.choice((os.O_RDWR, os.O_RDWR | os.O_APPEND, os.O_WRONLY | os.O_CREAT,
                          os.O_RDWR | os.O_CREAT | os.O_TRUNC))
        return 'open', (h, path, flags)
    if k < 0.88:
        return 'fwrite', (h, rand_off(r), rand_data(r))
    if k < 0.90:
        return 'fread', (h, rand_off(r), r.choice((10, 100000)))
    if k < 0.92:
        return 'ftruncate', (h, rand_off(r))
    if k < 0.93:
        return 'fstat', (h,)
    if k < 0.96:
        return 'fcopy', (h, r.choice((h, r.randrange(HANDLES))), rand_off(r), rand_off(r),
                         r.choice((1, 100, 65536, 70000, 1 << 20, 3 << 20)))
    if k < 0.98:
        return 'fallocate', (h, r.choice(FALLOC_MODES), rand_off(r),
                             r.choice((1, 100, 4096, 65536, 100000, 1 << 20)))
    if k < 0.99:
        return 'fsync', (h,)
    return 'close', (h,)


def tree(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            st = os.lstat(full)
            t = stat.S_IFMT(st.st_mode)
            if stat.S_ISREG(st.st_mode):
                with open(full, 'rb') as f:
                    extra = digest(f.read())
            elif stat.S_ISLNK(st.st_mode):
                extra = os.readlink(full)
            else:
                extra = None
            out[os.path.relpath(full, root)] = (t, oct(stat.S_IMODE(st.st_mode)), st.st_nlink,
                                                None if stat.S_ISDIR(st.st_mode) else st.st_size,
                                                extra)
    return out


def short(v):
    s = repr(v)
    return s if len(s) < 120 else s[:117] + '...'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ops', type=int, default=2000)
    ap.add_argument('--seed', type=int, default=None)
    ap.add_argument('mnt')
    ap.add_argument('ref')
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    r = random.Random(seed)
    print('# seed %d (rerun with --seed %d)' % (seed, seed))
    for d in (a.mnt, a.ref):
        shutil.rmtree(d, ignore_errors=True)
        os.mkdir(d)
    os.umask(0o022)
    mnt, ref = Side(a.mnt), Side(a.ref)
    mismatches = 0
    outcomes = {}
    by_op = {}
    for i in range(a.ops):
        op, args = rand_op(r)
        got, want = run(mnt, op, args), run(ref, op, args)
        key = want[0] if want[0] == 'ok' else want[1]
        outcomes[key] = outcomes.get(key, 0) + 1
        if want[0] == 'ok' and want[1] != 'closed':
            by_op[op] = by_op.get(op, 0) + 1
        if got != want:
            mismatches += 1
            if mismatches <= 10:
                print('# op %d %s%s: mount %s, local %s' % (i, op, short(args), short(got), short(want)))
    print('# outcomes: ' + ', '.join('%s %d' % kv for kv in sorted(outcomes.items(), key=lambda kv: -kv[1])))
    print('# succeeded: ' + ', '.join('%s %d' % kv for kv in sorted(by_op.items())))
    for h in range(HANDLES):
        mnt.close(h)
        ref.close(h)
    print(('ok' if mismatches == 0 else 'not ok') +
          ' - %d random operations agree (seed %d, %d mismatches)' % (a.ops, seed, mismatches))
    tm, tr = tree(a.mnt), tree(a.ref)
    diffs = sorted(k for k in set(tm) | set(tr) if tm.get(k) != tr.get(k))
    for k in diffs[:10]:
        print('# %s: mount %s, local %s' % (k, short(tm.get(k)), short(tr.get(k))))
    print(('ok' if not diffs else 'not ok') +
          ' - final trees agree (%d entries, %d differ)' % (len(tr), len(diffs)))
    shutil.rmtree(a.mnt, ignore_errors=True)
    shutil.rmtree(a.ref, ignore_errors=True)
    sys.exit(1 if mismatches or diffs else 0)


main()
