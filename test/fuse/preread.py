#!/usr/bin/python3
"""The bytes an open reads along (fuse/handle.c, pgfs_ll_open_read), and batched releases.

usage: preread.py MOUNTPOINT SUBDIR   (MOUNTPOINT shows the store's root)

An open for reading brings the file's first 128 KiB along and the handle
answers reads within them.  These checks make sure that what such a read
returns is what a read from the server would have returned: data written
through SQL before the open, data this mount wrote (buffered or not, through
the same handle or another) before or after the open, truncations, and
files unlinked elsewhere while open (whose later bytes still come from the
server, which must still count the handle).  Needs psql and the PG*
variables.  Prints "ok - name" / "not ok - name".
"""
import os
import subprocess
import sys
import time

import checks

MNT, SUB = sys.argv[1], sys.argv[2]
D = os.path.join(MNT, SUB)
KIB = 1024
PREREAD = 128 * KIB


def check(name, cond, diag=None):
    checks.check(name, cond, diag, limit=500)


def p(name):
    return os.path.join(D, name)


def sqlpath(name):
    return '/%s/%s' % (SUB, name)


def put(name, data):
    fd = os.open(p(name), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.close(fd)


def pattern(n, seed):
    return bytes((i * 7 + seed) % 251 for i in range(n))


def read_all(fd, n):
    out = b''
    while len(out) < n:
        b = os.pread(fd, n - len(out), len(out))
        if not b:
            break
        out += b
    return out


def t_sql_before_open():
    put('s', b'A' * 5000)
    # same size: the kernel's cached attributes do not tell it apart
    checks.sql("SELECT pgfs_write('%s', '\\x%s'::bytea)" % (sqlpath('s'), (b'B' * 5000).hex()))
    fd = os.open(p('s'), os.O_RDONLY)
    got = os.read(fd, 10000)
    os.close(fd)
    check('a read after open returns what SQL wrote before the open', got == b'B' * 5000,
          got[:20])


def t_write_after_open_other_handle():
    put('w', pattern(8000, 1))
    r = os.open(p('w'), os.O_RDONLY)
    w = os.open(p('w'), os.O_WRONLY)
    os.pwrite(w, b'new bytes', 100)
    want = bytearray(pattern(8000, 1))
    want[100:109] = b'new bytes'
    got = read_all(r, 8000)
    check('a read after a write through another handle returns the write', got == bytes(want))
    os.close(w)
    got = read_all(r, 8000)
    check('... also after that handle was closed', got == bytes(want))
    os.close(r)


def t_write_after_open_same_handle():
    put('rw', pattern(3000, 2))
    fd = os.open(p('rw'), os.O_RDWR)
    os.pwrite(fd, b'XYZ', 0)
    got = os.pread(fd, 3000, 0)
    check('a read after a write through the same handle returns the write',
          got == b'XYZ' + pattern(3000, 2)[3:], got[:10])
    os.close(fd)


def t_buffered_before_open():
    put('b', b'committed content')
    w = os.open(p('b'), os.O_WRONLY)
    os.write(w, b'BUFFERED')		# stays in the daemon's buffer until a flush
    r = os.open(p('b'), os.O_RDONLY)
    got = os.read(r, 100)
    check('an open reads what another handle of this mount has buffered',
          got == b'BUFFERED' + b'committed content'[8:], got)
    os.close(r)
    os.close(w)


def t_truncate_after_open():
    put('t', pattern(6000, 3))
    r = os.open(p('t'), os.O_RDONLY)
    w = os.open(p('t'), os.O_WRONLY)
    os.ftruncate(w, 0)
    check('a read after a truncation through the mount finds the file empty',
          os.pread(r, 6000, 0) == b'')
    os.pwrite(w, b'short', 0)
    got = os.pread(r, 6000, 0)
    check('... and then what was written after it', got == b'short', got)
    os.close(w)
    os.close(r)
    fd = os.open(p('t'), os.O_RDWR | os.O_TRUNC)
    got = os.pread(fd, 100, 0)
    os.close(fd)
    check('an open with O_TRUNC reads nothing', got == b'', got)


def t_bigger_than_preread():
    data = os.urandom(3 * PREREAD + 123)
    put('big', data)
    fd = os.open(p('big'), os.O_RDONLY)
    got = read_all(fd, len(data))
    check('a file bigger than what an open reads along reads back whole', got == data)
    got = os.pread(fd, 1000, PREREAD - 500)
    check('a read across the end of those bytes', got == data[PREREAD - 500:PREREAD + 500])
    os.close(fd)
    fd = os.open(p('big'), os.O_RDONLY)
    got = os.pread(fd, 4096, 2 * PREREAD)
    check('a first read past them', got == data[2 * PREREAD:2 * PREREAD + 4096])
    got = os.pread(fd, 4096, 0)
    check('... then a read within them', got == data[:4096])
    os.close(fd)


def t_exact_size():
    data = pattern(PREREAD, 4)
    put('exact', data)
    fd = os.open(p('exact'), os.O_RDONLY)
    got = read_all(fd, PREREAD + 10)
    os.close(fd)
    check('a file exactly as long as what an open reads along', got == data, len(got))
    put('empty', b'')
    fd = os.open(p('empty'), os.O_RDONLY)
    got = os.read(fd, 100)
    os.close(fd)
    check('an empty file reads as empty', got == b'')


def t_unlinked_elsewhere():
    data = os.urandom(PREREAD + 300 * KIB)	# the rest comes from the server
    put('ul', data)
    fd = os.open(p('ul'), os.O_RDONLY)
    ino = os.fstat(fd).st_ino
    checks.sql("SELECT pgfs_unlink('%s')" % sqlpath('ul'))
    checks.sql("SELECT pgfs_reclaim_orphans()")
    got = read_all(fd, len(data))
    check('a file unlinked by SQL while open here reads back whole', got == data)
    check('... and is still in the store while open',
          checks.sql("SELECT count(*) FROM pgfs.inode WHERE ino = %d" % ino) == '1')
    os.close(fd)
    gone = False
    for _ in range(50):
        if checks.sql("SELECT count(*) FROM pgfs.inode WHERE ino = %d" % ino) == '0':
            gone = True
            break
        time.sleep(0.1)
    check('... and is freed after its last close', gone)


def t_many_released():
    n = 60
    fds = []
    inos = []
    for i in range(n):
        put('m%d' % i, b'x' * 100)
    for i in range(n):
        fd = os.open(p('m%d' % i), os.O_RDONLY)
        fds.append(fd)
        inos.append(os.fstat(fd).st_ino)
    held = checks.sql("SELECT count(*) FROM pgfs.handle WHERE ino IN (%s)" % ','.join(map(str, inos)))
    check('every open file is counted on the server', held == str(n), held)
    for i in range(0, n, 2):
        checks.sql("SELECT pgfs_unlink('%s')" % sqlpath('m%d' % i))
    ok = all(os.read(fd, 200) == b'x' * 100 for fd in fds)
    check('open files read back, unlinked by SQL or not', ok)
    for fd in fds:
        os.close(fd)
    left = None
    for _ in range(50):
        left = checks.sql("SELECT (SELECT count(*) FROM pgfs.handle WHERE ino IN (%s)) + "
                   "(SELECT count(*) FROM pgfs.inode WHERE nlink = 0 AND ino IN (%s))"
                   % (','.join(map(str, inos)), ','.join(map(str, inos))))
        if left == '0':
            break
        time.sleep(0.1)
    check('closing them drops every count and frees the unlinked ones', left == '0', left)


def resident(name):
    """bytes of the file in the kernel's page cache (fincore opens it, as any reader)"""
    r = subprocess.run(['fincore', '--bytes', '--noheadings', '--output', 'RES', p(name)],
                       capture_output=True, text=True)
    return int(r.stdout.split()[0]) if r.returncode == 0 and r.stdout.split() else -1


def read_file(name):
    fd = os.open(p(name), os.O_RDONLY)
    try:
        return read_all(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)


def t_pages_kept_across_opens():
    data = pattern(1 << 20, 3)
    put('k', data)
    check('a file reads back', read_file('k') == data)
    # the open fincore makes finds nothing changed: the pages stay
    got = resident('k')
    check('an unchanged file keeps its pages across opens', got >= 1 << 19, got)
    check('and reads the same from them', read_file('k') == data)
    # the same size and mtime after the change: only the generation tells
    st = os.stat(p('k'))
    checks.sql("SELECT pgfs_write('%s', '\\x%s'::bytea, 4096)" % (sqlpath('k'), (b'NEW!' * 1024).hex()))
    checks.sql("SELECT pgfs_ll_setattr((pgfs_stat('%s')).ino, NULL, NULL, NULL, NULL, %d, %d)"
        % (sqlpath('k'), st.st_atime_ns, st.st_mtime_ns))
    want = data[:4096] + b'NEW!' * 1024 + data[8192:]
    got = read_file('k')
    check('a change by SQL since the pages were read shows at the next open', got == want,
          (len(got), got[4096:4104]))
    # a change by this mount through another handle, the file still open here
    fd = os.open(p('k'), os.O_RDONLY)
    read_all(fd, 1 << 20)
    fw = os.open(p('k'), os.O_WRONLY)
    os.pwrite(fw, b'mine', 0)
    os.close(fw)
    os.close(fd)
    check('a write through this mount shows at the next open', read_file('k')[:4] == b'mine')


def main():
    checks.run(D, globals())


main()
