#!/usr/bin/python3
"""Per-operation tests of a pgfs mount: each syscall's result and errno.

usage: ops.py MOUNTPOINT

The mount must use -o allow_other,default_permissions, and we must be root
(the permission tests run commands as user nobody).  Prints "ok - name" or
"not ok - name" per check, with "#" diagnostics.
"""
import ctypes
import errno
import hashlib
import os
import random
import signal
import stat
import subprocess
import sys
import time

from checks import check, fallocate, run, sql

MNT = sys.argv[1]
D = os.path.join(MNT, 'ops')
libc = ctypes.CDLL(None, use_errno=True)


def ename(e):
    return errno.errorcode.get(e, str(e)) if e else 'success'


def fails(name, want, fn, *args):
    """fn(*args) must fail with errno want."""
    try:
        fn(*args)
        got = 0
    except OSError as x:
        got = x.errno
    check(name, got == want, 'expected %s, got %s' % (ename(want), ename(got)))


def p(*names):
    return os.path.join(D, *names)


def put(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.write(fd, data)
    os.close(fd)


def get(path):
    with open(path, 'rb') as f:
        return f.read()


def renameat2(old, new, flags):
    libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int,
                               ctypes.c_char_p, ctypes.c_uint]
    AT_FDCWD = -100
    r = libc.renameat2(AT_FDCWD, old.encode(), AT_FDCWD, new.encode(), flags)
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4


def as_nobody(script):
    r = subprocess.run(['runuser', '-u', 'nobody', '--', 'sh', '-c', script],
                       capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def t_dirs():
    os.mkdir(p('d'), 0o755)
    st = os.lstat(p('d'))
    check('mkdir makes a directory with the mode', stat.S_ISDIR(st.st_mode) and
          stat.S_IMODE(st.st_mode) == 0o755, oct(st.st_mode))
    check('new directory has nlink 2', st.st_nlink == 2, st.st_nlink)
    fails('mkdir existing: EEXIST', errno.EEXIST, os.mkdir, p('d'))
    fails('mkdir in missing dir: ENOENT', errno.ENOENT, os.mkdir, p('nope', 'x'))
    os.mkdir(p('d', 'sub'))
    check('subdirectory raises parent nlink', os.lstat(p('d')).st_nlink == 3,
          os.lstat(p('d')).st_nlink)
    put(p('d', 'f'), b'x')
    fails('rmdir non-empty: ENOTEMPTY', errno.ENOTEMPTY, os.rmdir, p('d'))
    fails('rmdir a file: ENOTDIR', errno.ENOTDIR, os.rmdir, p('d', 'f'))
    fails('rmdir missing: ENOENT', errno.ENOENT, os.rmdir, p('d', 'missing'))
    fails('unlink a directory: EISDIR', errno.EISDIR, os.unlink, p('d', 'sub'))
    fails('open a directory for writing: EISDIR', errno.EISDIR, os.open, p('d'), os.O_WRONLY)
    fails('path through a file: ENOTDIR', errno.ENOTDIR, os.stat, p('d', 'f', 'x'))
    fails('create under a file: ENOTDIR', errno.ENOTDIR, os.open, p('d', 'f', 'x'),
          os.O_CREAT | os.O_WRONLY)
    os.rmdir(p('d', 'sub'))
    check('rmdir lowers parent nlink', os.lstat(p('d')).st_nlink == 2)
    fails('stat missing: ENOENT', errno.ENOENT, os.stat, p('d', 'sub'))
    os.mkdir(p('d', 'a'))
    os.mkdir(p('d', 'b'))
    os.mkdir(p('d', 'a', 'x'))
    os.rename(p('d', 'a', 'x'), p('d', 'b', 'x'))
    check('".." follows a moved directory',
          os.stat(p('d', 'b', 'x', '..')).st_ino == os.stat(p('d', 'b')).st_ino)
    check('nlink of both parents after moving a directory',
          (os.lstat(p('d', 'a')).st_nlink, os.lstat(p('d', 'b')).st_nlink) == (2, 3))
    fails('move a directory into itself: EINVAL', errno.EINVAL, os.rename, p('d', 'b'),
          p('d', 'b', 'x', 'y'))


def t_names():
    n255, n256 = 'n' * 255, 'n' * 256
    put(p(n255), b'long')
    check('255-byte name works', get(p(n255)) == b'long')
    check('255-byte name is listed', n255 in os.listdir(D))
    fails('256-byte name create: ENAMETOOLONG', errno.ENAMETOOLONG, put, p(n256), b'')
    fails('256-byte name mkdir: ENAMETOOLONG', errno.ENAMETOOLONG, os.mkdir, p(n256))
    fails('256-byte name stat: ENAMETOOLONG', errno.ENAMETOOLONG, os.stat, p(n256))
    fails('rename to 256-byte name: ENAMETOOLONG', errno.ENAMETOOLONG, os.rename, p(n255), p(n256))
    odd = 'sp ace\tnl\nü\x01*?'
    put(p(odd), b'odd')
    check('any bytes but / and NUL in names', odd in os.listdir(D) and get(p(odd)) == b'odd')
    os.unlink(p(odd))
    os.unlink(p(n255))


def t_files():
    fd = os.open(p('f1'), os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o640)
    check('create applies the mode', stat.S_IMODE(os.fstat(fd).st_mode) == 0o640)
    check('create sets our uid and gid', (os.fstat(fd).st_uid, os.fstat(fd).st_gid) ==
          (os.getuid(), os.getgid()))
    os.write(fd, b'hello ')
    os.write(fd, b'world')
    check('fstat sees buffered writes', os.fstat(fd).st_size == 11, os.fstat(fd).st_size)
    check('pread sees own writes', os.pread(fd, 100, 0) == b'hello world')
    fd2 = os.open(p('f1'), os.O_RDONLY)
    os.write(fd, b'!')
    check('another handle reads our writes', os.read(fd2, 100) == b'hello world!')
    os.close(fd2)
    os.close(fd)
    fails('O_EXCL on existing: EEXIST', errno.EEXIST, os.open, p('f1'), os.O_CREAT | os.O_EXCL)
    fails('open missing: ENOENT', errno.ENOENT, os.open, p('missing'), os.O_RDONLY)
    put(p('f1'), b'')
    check('O_TRUNC empties', os.stat(p('f1')).st_size == 0)

    data = os.urandom(3 * 1024 * 1024 + 12345)
    with open(p('big'), 'wb') as f:
        for i in range(0, len(data), 4096):
            f.write(data[i:i + 4096])
    check('3 MiB file written in 4 KiB pieces reads back', get(p('big')) == data)
    with open(p('big'), 'r+b') as f:
        f.seek(1000000)
        f.write(b'Z' * 70000)
        f.seek(5)
        f.write(b'Y')
    data = data[:5] + b'Y' + data[6:1000000] + b'Z' * 70000 + data[1070000:]
    check('overwrites in the middle', get(p('big')) == data)
    fd = os.open(p('big'), os.O_RDONLY)
    check('read across a chunk boundary', os.pread(fd, 200000, 60000) == data[60000:260000])
    check('read past the end is empty', os.pread(fd, 10, len(data) + 5) == b'')
    os.close(fd)
    fd = os.open(p('big'), os.O_WRONLY)
    os.fsync(fd)
    check('fsync succeeds', True)
    os.close(fd)


def t_scattered_writes():
    # writes here and there in a file are buffered as pieces and sent
    # together (pgfs_ll_writev): what reads, fstat, a second handle and SQL
    # see must be as if each had been sent on its own, in order
    fd = os.open(p('scat'), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    model = bytearray()

    def w(data, off):
        os.pwrite(fd, data, off)
        if len(model) < off + len(data):
            model.extend(bytes(off + len(data) - len(model)))
        model[off:off + len(data)] = data

    # backwards, every other 4 KiB block, as stress-ng's fpunch fills its file
    for off in range(512 * 1024 - 8192, -1, -8192):
        w(b'%c' % (65 + off // 8192 % 26) * 4096, off)
    os.close(fd)
    check('backward scattered writes read back', get(p('scat')) == model)
    xmins = sql("SELECT count(DISTINCT c.xmin::text) FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id)"
                " WHERE m.ino = (pgfs_stat('/ops/scat')).ino")
    check('... and reached the server in one transaction', xmins == '1', xmins)
    check('... which SQL reads the same',
          sql("SELECT md5(pgfs_read('/ops/scat'))") == hashlib.md5(model).hexdigest())

    fd = os.open(p('scat'), os.O_RDWR)
    w(b'first', 100)
    w(b'SECOND', 98)            # overlaps the piece before: the later bytes win
    w(b'tail', 600000)          # past the end, a hole between
    check('fstat sees scattered buffered writes', os.fstat(fd).st_size == len(model), os.fstat(fd).st_size)
    check('pread sees them', os.pread(fd, 20, 95) == bytes(model[95:115]))
    w(b'x', 50)
    fd2 = os.open(p('scat'), os.O_RDWR)
    os.pwrite(fd2, b'other', 52)  # another handle's write comes after ours
    model[52:57] = b'other'
    check('another handle reads them', os.pread(fd2, 10, 48) == bytes(model[48:58]))
    os.close(fd2)
    # more pieces than a buffer holds, and more bytes: sent in several goes, in order
    rnd = random.Random(7)
    for i in range(700):
        w(os.urandom(rnd.choice((1, 100, 4096, 9000))), rnd.randrange(0, 3 * 1024 * 1024))
    os.ftruncate(fd, 2 * 1024 * 1024 + 11)
    del model[2 * 1024 * 1024 + 11:]
    w(b'end', 10)
    os.close(fd)
    check('700 random writes, a truncate and one more read back', get(p('scat')) == model)
    check('... and through SQL',
          sql("SELECT md5(pgfs_read('/ops/scat'))") == hashlib.md5(model).hexdigest())
    os.unlink(p('scat'))


def t_blksize():
    # the preferred I/O size is the chunk size, as pgfs_stat() says: stdio and
    # Python buffer that much per write(2), and a write of it rewrites no
    # chunk in part
    put(p('bs'), b'x')
    want = sql("SELECT blksize FROM pgfs_stat('/ops/bs')")
    check('st_blksize is the blksize pgfs_stat() reports', str(os.stat(p('bs')).st_blksize) == want,
          (os.stat(p('bs')).st_blksize, want))
    with open(p('bs'), 'wb') as f:
        check('Python buffers that much per write(2)', f.raw._blksize == int(want), f.raw._blksize)
    os.unlink(p('bs'))


def t_truncate():
    put(p('t'), b'0123456789')
    os.truncate(p('t'), 4)
    check('truncate shrinks', get(p('t')) == b'0123')
    os.truncate(p('t'), 8)
    check('truncate extends with zeros', get(p('t')) == b'0123\0\0\0\0')
    fd = os.open(p('t'), os.O_RDWR)
    os.pwrite(fd, b'abcdef', 8)
    os.ftruncate(fd, 10)
    check('ftruncate after buffered write', os.pread(fd, 100, 0) == b'0123\0\0\0\0ab')
    os.close(fd)
    fails('truncate a directory: EISDIR', errno.EISDIR, os.truncate, D, 0)
    big = 10 * 1024 * 1024
    with open(p('t'), 'wb') as f:
        f.write(os.urandom(big))
    os.truncate(p('t'), 100000)
    check('truncate of a 10 MiB file', os.stat(p('t')).st_size == 100000)
    st = os.stat(p('t'))
    check('blocks shrink with truncate', st.st_blocks * 512 < 2 * 1024 * 1024, st.st_blocks)


def t_sparse():
    off = 5 * 1024 ** 3
    with open(p('sparse'), 'wb') as f:
        f.seek(off)
        f.write(b'end')
    st = os.stat(p('sparse'))
    check('sparse file over 4 GiB has the size', st.st_size == off + 3, st.st_size)
    check('sparse file uses few blocks', st.st_blocks * 512 < 16 * 1024 * 1024, st.st_blocks)
    fd = os.open(p('sparse'), os.O_RDONLY)
    check('hole reads as zeros', os.pread(fd, 65536, 4 * 1024 ** 3) == b'\0' * 65536)
    check('data after the hole', os.pread(fd, 100, off - 2) == b'\0\0end')
    os.close(fd)
    os.unlink(p('sparse'))


def t_append():
    put(p('app'), b'a')
    fd = os.open(p('app'), os.O_WRONLY | os.O_APPEND)
    os.write(fd, b'b')
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, b'c')
    os.close(fd)
    check('O_APPEND writes at the end', get(p('app')) == b'abc', get(p('app')))
    with open(p('app'), 'ab') as f:
        for i in range(100):
            f.write(b'%d,' % i)
    check('many appends', get(p('app')) == b'abc' + b''.join(b'%d,' % i for i in range(100)))


def t_write_errors():
    # pgfs keeps files of up to 2^50 bytes; the kernel does not know that, so
    # the mount checks each write: one past it fails at once with EFBIG (not
    # later at fsync or close), one across it writes what fits
    put(p('efbig'), b'ok')
    fd = os.open(p('efbig'), os.O_WRONLY)
    fails('write beyond the size limit: EFBIG', errno.EFBIG, os.pwrite, fd, b'x', 1 << 50)
    r = os.pwrite(fd, b'ab', (1 << 50) - 1)
    check('write across the size limit is short', r == 1, r)
    os.fsync(fd)
    check('which fsync then finds sent', os.fstat(fd).st_size == 1 << 50, os.fstat(fd).st_size)
    os.ftruncate(fd, 2)
    os.close(fd)
    fd = os.open(p('efbig'), os.O_WRONLY | os.O_SYNC)
    fails('with O_SYNC too the write fails: EFBIG', errno.EFBIG, os.pwrite, fd, b'z', 1 << 50)
    os.close(fd)
    check('the file is unharmed', get(p('efbig')) == b'ok')
    os.unlink(p('efbig'))


def t_unlinked_open():
    put(p('ul'), b'keep me')
    fd = os.open(p('ul'), os.O_RDWR)
    os.unlink(p('ul'))
    check('unlinked file is gone from the directory', 'ul' not in os.listdir(D))
    check('unlinked open file still readable', os.pread(fd, 100, 0) == b'keep me')
    os.pwrite(fd, b' and me', 7)
    check('unlinked open file still writable', os.pread(fd, 100, 0) == b'keep me and me')
    check('unlinked open file has nlink 0', os.fstat(fd).st_nlink == 0, os.fstat(fd).st_nlink)
    big = os.urandom(2 * 1024 * 1024)
    os.pwrite(fd, big, 0)
    check('unlinked open file takes more data', os.pread(fd, len(big), 0) == big)
    os.close(fd)
    check('unlinked file stays gone after close', not os.path.exists(p('ul')))


def t_removed_open_dir():
    # POSIX keeps a directory removed while open usable until its last close
    os.mkdir(p('rd'))
    fd = os.open(p('rd'), os.O_RDONLY)
    fd2 = os.open(p('rd'), os.O_RDONLY)
    os.rmdir(p('rd'))
    st = os.fstat(fd)
    check('removed open directory: fstat gives nlink 0',
          st.st_nlink == 0 and stat.S_ISDIR(st.st_mode), st)
    check('removed open directory lists no names', os.listdir(fd) == [], os.listdir(fd))
    fails('removed open directory takes no new names', errno.ENOENT,
          lambda: os.open('x', os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
    os.close(fd)
    check('removed directory stays usable through its other handle',
          os.fstat(fd2).st_nlink == 0)
    os.close(fd2)
    os.mkdir(p('rd'))
    os.mkdir(p('rd2'))
    fd = os.open(p('rd'), os.O_RDONLY)
    os.rename(p('rd2'), p('rd'))
    check('directory renamed over while open: fstat gives nlink 0',
          os.fstat(fd).st_nlink == 0, os.fstat(fd).st_nlink)
    os.close(fd)
    os.rmdir(p('rd'))


def t_links():
    put(p('l1'), b'linked')
    os.link(p('l1'), p('l2'))
    s1, s2 = os.lstat(p('l1')), os.lstat(p('l2'))
    check('hard link shares the inode', s1.st_ino == s2.st_ino)
    check('hard link raises nlink', s1.st_nlink == 2 and s2.st_nlink == 2, s1.st_nlink)
    put(p('l2'), b'changed')
    check('write through one link shows in the other', get(p('l1')) == b'changed')
    fails('link to existing name: EEXIST', errno.EEXIST, os.link, p('l1'), p('l2'))
    fails('link a directory: EPERM', errno.EPERM, os.link, D, p('dirlink'))
    fails('link missing: ENOENT', errno.ENOENT, os.link, p('missing'), p('l3'))
    os.unlink(p('l1'))
    check('unlink lowers nlink', os.lstat(p('l2')).st_nlink == 1)
    check('data survives unlink of the other name', get(p('l2')) == b'changed')
    os.unlink(p('l2'))


def t_symlinks():
    os.symlink('target/of/link', p('s1'))
    check('readlink', os.readlink(p('s1')) == 'target/of/link')
    st = os.lstat(p('s1'))
    check('lstat of a symlink', stat.S_ISLNK(st.st_mode) and st.st_size == len('target/of/link'),
          (oct(st.st_mode), st.st_size))
    fails('stat of a dangling symlink: ENOENT', errno.ENOENT, os.stat, p('s1'))
    put(p('st'), b'pointee')
    os.symlink('st', p('s2'))
    check('open follows a symlink', get(p('s2')) == b'pointee')
    fails('symlink over existing: EEXIST', errno.EEXIST, os.symlink, 'x', p('s2'))
    fails('readlink of a file: EINVAL', errno.EINVAL, os.readlink, p('st'))
    long = 'x/' * 2000
    os.symlink(long, p('s3'))
    check('4000-byte symlink target', os.readlink(p('s3')) == long)
    os.symlink('s4', p('s4'))
    fails('symlink loop: ELOOP', errno.ELOOP, os.stat, p('s4'))
    for n in ('s1', 's2', 's3', 's4', 'st'):
        os.unlink(p(n))


def t_special():
    os.mkfifo(p('fifo'), 0o600)
    st = os.lstat(p('fifo'))
    check('mkfifo', stat.S_ISFIFO(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode))
    os.mknod(p('chr'), stat.S_IFCHR | 0o600, os.makedev(1, 3))
    st = os.lstat(p('chr'))
    check('mknod character device', stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3),
          (oct(st.st_mode), st.st_rdev))
    os.mknod(p('reg'), stat.S_IFREG | 0o644)
    check('mknod regular file', stat.S_ISREG(os.lstat(p('reg')).st_mode))
    for n in ('fifo', 'chr', 'reg'):
        os.unlink(p(n))


def t_attrs():
    put(p('a'), b'attrs')
    os.chmod(p('a'), 0o4751)
    check('chmod incl. set-user-ID', stat.S_IMODE(os.stat(p('a')).st_mode) == 0o4751,
          oct(os.stat(p('a')).st_mode))
    os.chmod(p('a'), 0o640)
    c0 = os.stat(p('a')).st_ctime_ns
    time.sleep(0.01)
    os.chown(p('a'), 1234, 5678)
    st = os.stat(p('a'))
    check('chown', (st.st_uid, st.st_gid) == (1234, 5678), (st.st_uid, st.st_gid))
    check('chown updates ctime', st.st_ctime_ns > c0)
    os.chown(p('a'), -1, 42)
    check('chown group only', (os.stat(p('a')).st_uid, os.stat(p('a')).st_gid) == (1234, 42))
    os.utime(p('a'), ns=(1000000123, 2000000456))
    st = os.stat(p('a'))
    check('utimens with nanoseconds', (st.st_atime_ns, st.st_mtime_ns) == (1000000123, 2000000456),
          (st.st_atime_ns, st.st_mtime_ns))
    os.utime(p('a'), ns=(-1000000001, 4102444800000000007))
    st = os.stat(p('a'))
    check('times before 1970 and after 2100', (st.st_atime_ns, st.st_mtime_ns) ==
          (-1000000001, 4102444800000000007), (st.st_atime_ns, st.st_mtime_ns))
    now = time.time()
    os.utime(p('a'))
    st = os.stat(p('a'))
    check('utimens UTIME_NOW', abs(st.st_mtime - now) < 5 and abs(st.st_atime - now) < 5,
          (st.st_mtime, now))
    m0 = os.stat(p('a')).st_mtime_ns
    time.sleep(0.01)
    with open(p('a'), 'ab') as f:
        f.write(b'more')
    check('write updates mtime', os.stat(p('a')).st_mtime_ns > m0)
    d0 = os.stat(D).st_mtime_ns
    time.sleep(0.01)
    put(p('a2'), b'')
    check('create updates the directory mtime', os.stat(D).st_mtime_ns > d0)
    os.unlink(p('a'))
    os.unlink(p('a2'))


def t_rename():
    put(p('r1'), b'one')
    put(p('r2'), b'two')
    os.rename(p('r1'), p('r2'))
    check('rename replaces a file', get(p('r2')) == b'one' and not os.path.exists(p('r1')))
    os.mkdir(p('rd1'))
    os.mkdir(p('rd2'))
    put(p('rd2', 'x'), b'')
    fails('rename dir over non-empty dir: ENOTEMPTY', errno.ENOTEMPTY, os.rename, p('rd1'), p('rd2'))
    fails('rename dir over file: ENOTDIR', errno.ENOTDIR, os.rename, p('rd1'), p('r2'))
    fails('rename file over dir: EISDIR', errno.EISDIR, os.rename, p('r2'), p('rd1'))
    fails('rename missing: ENOENT', errno.ENOENT, os.rename, p('missing'), p('r3'))
    os.rename(p('r2'), p('r2'))
    check('rename to itself is a no-op', get(p('r2')) == b'one')
    os.rmdir(p('rd1'))
    os.rename(p('rd2'), p('rd3'))
    check('rename a directory', os.listdir(p('rd3')) == ['x'])
    put(p('n1'), b'n1')
    put(p('n2'), b'n2')
    fails('RENAME_NOREPLACE onto existing: EEXIST', errno.EEXIST, renameat2, p('n1'), p('n2'),
          RENAME_NOREPLACE)
    renameat2(p('n1'), p('n3'), RENAME_NOREPLACE)
    check('RENAME_NOREPLACE to a new name', get(p('n3')) == b'n1' and not os.path.exists(p('n1')))
    renameat2(p('n2'), p('n3'), RENAME_EXCHANGE)
    check('RENAME_EXCHANGE swaps', (get(p('n2')), get(p('n3'))) == (b'n1', b'n2'))
    renameat2(p('n2'), p('rd3'), RENAME_EXCHANGE)
    check('RENAME_EXCHANGE file and directory',
          os.path.isdir(p('n2')) and get(p('rd3')) == b'n1' and os.listdir(p('n2')) == ['x'])
    fails('RENAME_EXCHANGE with missing target: ENOENT', errno.ENOENT, renameat2, p('n3'),
          p('missing'), RENAME_EXCHANGE)
    fails('RENAME_NOREPLACE|RENAME_EXCHANGE: EINVAL', errno.EINVAL, renameat2, p('n3'), p('rd3'),
          RENAME_NOREPLACE | RENAME_EXCHANGE)
    put(p('w1'), b'w1')
    renameat2(p('w1'), p('w2'), RENAME_WHITEOUT)
    st = os.lstat(p('w1'))
    check('RENAME_WHITEOUT leaves a whiteout (a character device 0:0, no permissions) at the old name',
          stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 and stat.S_IMODE(st.st_mode) == 0 and
          st.st_uid == os.geteuid() and get(p('w2')) == b'w1')
    fails('RENAME_WHITEOUT|RENAME_EXCHANGE: EINVAL', errno.EINVAL, renameat2, p('w2'), p('n3'),
          RENAME_WHITEOUT | RENAME_EXCHANGE)
    fails('RENAME_WHITEOUT|RENAME_NOREPLACE onto existing: EEXIST', errno.EEXIST, renameat2, p('w2'),
          p('n3'), RENAME_WHITEOUT | RENAME_NOREPLACE)
    os.unlink(p('w1'))


def wal_writers():
    return [int(x) for x in sql("SELECT pid FROM pg_stat_activity WHERE backend_type IN "
                                "('walwriter', 'background writer', 'checkpointer')").split()]


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def t_names_durable():
    # mkdir, symlink, mknod, unlink, rmdir, rename and link commit without
    # waiting for the WAL flush, and the fsync of a directory makes them
    # durable, as on a local filesystem.  With the server's WAL writer (and
    # the processes that flush WAL before they write pages) stopped, nothing
    # else flushes it: right after the changes the WAL is not flushed past
    # them, and after the directory's fsync it is.  (An insert position at
    # the start of a page is past the header, not yet written: hence the 40
    # bytes.)
    os.mkdir(p('nd'))
    put(p('nd', 'a'), b'a')
    put(p('nd', 'b'), b'b')
    time.sleep(0.3)    # the releases of their handles, which commit without it
    writers = wal_writers()
    deferred = False
    flushed = True
    try:
        for pid in writers:
            os.kill(pid, signal.SIGSTOP)
        for i in range(3):    # another flush in between: try again
            fsync_dir(p('nd'))    # flushes all before
            os.mkdir(p('nd', f'sub{i}'))
            os.symlink('a', p('nd', f'sl{i}'))
            os.mkfifo(p('nd', f'fifo{i}'))
            os.rename(p('nd', 'a'), p('nd', 'a2'))
            os.link(p('nd', 'a2'), p('nd', 'a'))
            for name in ('a2', f'sl{i}', f'fifo{i}'):
                os.unlink(p('nd', name))
            os.rmdir(p('nd', f'sub{i}'))
            lsn = sql("SELECT pg_current_wal_insert_lsn()")
            r = sql(f"SELECT pg_current_wal_flush_lsn() < '{lsn}'::pg_lsn - 40")
            fsync_dir(p('nd'))
            flushed = flushed and sql(f"SELECT pg_current_wal_flush_lsn() >= '{lsn}'::pg_lsn - 40") == 't'
            if r == 't':
                deferred = True
                break
    finally:
        for pid in writers:
            os.kill(pid, signal.SIGCONT)
    check('mkdir, symlink, mknod, unlink, rmdir, rename and link do not wait for the WAL flush',
          deferred)
    check('the fsync of their directory flushes the WAL past them', flushed)
    check('... and they are there', sorted(os.listdir(p('nd'))) == ['a', 'b'] and get(p('nd', 'a')) == b'a')


def t_xattr():
    put(p('x'), b'')
    os.setxattr(p('x'), 'user.one', b'1')
    os.setxattr(p('x'), 'user.two', b'\0binary\xff')
    check('getxattr', os.getxattr(p('x'), 'user.two') == b'\0binary\xff')
    check('listxattr', sorted(os.listxattr(p('x'))) == ['user.one', 'user.two'], os.listxattr(p('x')))
    fails('XATTR_CREATE on existing: EEXIST', errno.EEXIST, os.setxattr, p('x'), 'user.one', b'x',
          os.XATTR_CREATE)
    fails('XATTR_REPLACE on missing: ENODATA', errno.ENODATA, os.setxattr, p('x'), 'user.three',
          b'x', os.XATTR_REPLACE)
    os.setxattr(p('x'), 'user.one', b'uno', os.XATTR_REPLACE)
    check('XATTR_REPLACE', os.getxattr(p('x'), 'user.one') == b'uno')
    fails('getxattr missing: ENODATA', errno.ENODATA, os.getxattr, p('x'), 'user.none')
    libc.getxattr.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    libc.getxattr.restype = ctypes.c_ssize_t
    size = libc.getxattr(p('x').encode(), b'user.one', None, 0)
    check('getxattr size query', size == 3, size)
    buf = ctypes.create_string_buffer(2)
    r = libc.getxattr(p('x').encode(), b'user.one', buf, 2)
    check('getxattr small buffer: ERANGE', r == -1 and ctypes.get_errno() == errno.ERANGE,
          (r, ename(ctypes.get_errno())))
    libc.listxattr.argtypes = [ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t]
    libc.listxattr.restype = ctypes.c_ssize_t
    size = libc.listxattr(p('x').encode(), None, 0)
    check('listxattr size query', size == len('user.one\0user.two\0'), size)
    r = libc.listxattr(p('x').encode(), buf, 2)
    check('listxattr small buffer: ERANGE', r == -1 and ctypes.get_errno() == errno.ERANGE)
    val = os.urandom(65536)
    os.setxattr(p('x'), 'user.big', val)
    check('64 KiB xattr value', os.getxattr(p('x'), 'user.big') == val)
    os.removexattr(p('x'), 'user.one')
    fails('removexattr missing: ENODATA', errno.ENODATA, os.removexattr, p('x'), 'user.one')
    os.mkdir(p('xd'))
    os.setxattr(p('xd'), 'user.d', b'dir')
    check('xattr on a directory', os.getxattr(p('xd'), 'user.d') == b'dir')
    os.rmdir(p('xd'))
    os.unlink(p('x'))


def t_xattr_none_known():
    # the daemon answers "no such attribute" from the count that came with
    # the attributes (ls -l asks every file); its own changes show at once
    os.mkdir(p('xn'))
    for n in ('a', 'b'):
        os.close(os.open(p('xn', n), os.O_CREAT | os.O_WRONLY, 0o644))
    for n in os.listdir(p('xn')):
        os.lstat(p('xn', n))
    fails('getxattr after a listing: ENODATA', errno.ENODATA, os.getxattr, p('xn', 'a'),
          'security.selinux')
    check('listxattr after a listing: empty', os.listxattr(p('xn', 'a')) == [])
    os.setxattr(p('xn', 'a'), 'user.k', b'v')
    check('setxattr shows at once', os.getxattr(p('xn', 'a'), 'user.k') == b'v')
    check('... and in listxattr', os.listxattr(p('xn', 'a')) == ['user.k'])
    for n in os.listdir(p('xn')):
        os.lstat(p('xn', n))
    check('a listing does not hide it', os.getxattr(p('xn', 'a'), 'user.k') == b'v')
    os.removexattr(p('xn', 'a'), 'user.k')
    fails('removexattr shows at once', errno.ENODATA, os.getxattr, p('xn', 'a'), 'user.k')
    check('... and in listxattr', os.listxattr(p('xn', 'a')) == [])
    fd = os.open(p('xn', 'c'), os.O_CREAT | os.O_WRONLY, 0o644)
    os.setxattr(p('xn', 'c'), 'user.new', b'1')
    check('setxattr on a file just created', os.getxattr(p('xn', 'c'), 'user.new') == b'1')
    os.close(fd)
    for n in ('a', 'b', 'c'):
        os.unlink(p('xn', n))
    os.rmdir(p('xn'))


def t_readdir():
    os.mkdir(p('many'))
    names = set('file-%04d-%s' % (i, 'x' * (i % 50)) for i in range(1500))
    for n in names:
        os.close(os.open(p('many', n), os.O_CREAT | os.O_WRONLY, 0o644))
    got = os.listdir(p('many'))
    check('readdir of 1500 entries', sorted(got) == sorted(names), (len(got), len(names)))
    r = subprocess.run(['ls', '-a', p('many')], capture_output=True, text=True).stdout.split('\n')
    check('"." and ".." are listed', '.' in r and '..' in r)
    st = {e.name: e.stat(follow_symlinks=False).st_ino for e in os.scandir(p('many'))}
    check('scandir inode numbers match stat',
          all(os.lstat(p('many', n)).st_ino == i for n, i in list(st.items())[:50]))
    # delete while listing: every survivor must appear exactly once
    seen = []
    it = os.scandir(p('many'))
    victims = sorted(names)[::3]
    for k, e in enumerate(it):
        seen.append(e.name)
        if k == 10:
            for v in victims:
                if v not in seen:
                    os.unlink(p('many', v))
    it.close()
    survivors = names - set(victims)
    check('survivors listed once while others are deleted',
          len(seen) == len(set(seen)) and survivors <= set(seen),
          (len(seen), len(set(seen)), len(survivors - set(seen))))
    for n in os.listdir(p('many')):
        os.unlink(p('many', n))
    os.rmdir(p('many'))


def copy_all(fin, fout, n, off_in, off_out):
    """copy_file_range until n bytes are copied or the source ends"""
    done = 0
    while done < n:
        k = os.copy_file_range(fin, fout, n - done, off_in + done, off_out + done)
        if k == 0:
            break
        done += k
    return done


def t_copy_range():
    data = os.urandom(3 * 1024 * 1024 + 12345)
    put(p('csrc'), data)
    fi = os.open(p('csrc'), os.O_RDWR)
    fo = os.open(p('cdst'), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    n = copy_all(fi, fo, len(data) + 1000, 0, 0)
    check('copy_file_range copies a whole file', n == len(data) and get(p('cdst')) == data, n)
    shared = sql("SELECT count(*) FROM pgfs.filemap a JOIN pgfs.filemap b USING (chunk_id)"
                 " WHERE a.ino = (pgfs_stat('/ops/csrc')).ino AND b.ino = (pgfs_stat('/ops/cdst')).ino")
    check('the copy shares every chunk, the partial last one too',
          shared == str((len(data) + 65535) // 65536), shared)
    check('copy_file_range from the end copies nothing',
          os.copy_file_range(fi, fo, 100, len(data), 0) == 0)
    # a write to the copy does not reach the source (copy-on-write)
    os.pwrite(fo, b'changed', 70000)
    os.fsync(fo)
    want = bytearray(data)
    want[70000:70007] = b'changed'
    check('writing the copy leaves the source alone',
          get(p('csrc')) == data and get(p('cdst')) == bytes(want))
    # offsets at different places in a chunk: copied through memory
    os.pread(fo, 200000, 0)        # pages the copy must drop
    n = copy_all(fi, fo, 100000, 1000, 5)
    want[5:100005] = data[1000:101000]
    check('copy between unaligned offsets', n == 100000 and os.pread(fo, len(want), 0) == bytes(want), n)
    # past the end of the destination: a hole, then the bytes
    n = copy_all(fi, fo, 70000, 0, len(data) + 100000)
    want += b'\0' * 100000 + data[:70000]
    check('copy past the end grows the file with a hole',
          n == 70000 and os.fstat(fo).st_size == len(want) and get(p('cdst')) == bytes(want),
          (n, os.fstat(fo).st_size))
    # what is still buffered in the source is copied too
    os.pwrite(fi, b'buffered', 10)
    n = copy_all(fi, fo, 18, 0, 0)
    want[0:18] = data[0:10] + b'buffered'
    check('a write still buffered in the source is copied', n == 18 and get(p('cdst'))[:18] == bytes(want[:18]))
    fails('copy onto an overlapping range of the same file: EINVAL', errno.EINVAL,
          os.copy_file_range, fi, fi, 1000, 0, 500)
    n = copy_all(fi, fi, 1000, 0, len(data) + 1)
    check('copy within one file', n == 1000 and os.pread(fi, 1000, len(data) + 1) == data[:10] + b'buffered' + data[18:1000])
    ro = os.open(p('csrc'), os.O_RDONLY)
    fails('copy into a read-only descriptor: EBADF', errno.EBADF, os.copy_file_range, fi, ro, 10, 0, 0)
    os.close(ro)
    os.fsync(fo)
    os.close(fi)
    os.close(fo)
    r = subprocess.run(['cp', p('csrc'), p('ccp')], capture_output=True, text=True)
    check('cp inside the mount', r.returncode == 0 and get(p('ccp')) == get(p('csrc')), r.stderr)
    shared = sql("SELECT count(*) FROM pgfs.filemap a JOIN pgfs.filemap b USING (chunk_id)"
                 " WHERE a.ino = (pgfs_stat('/ops/csrc')).ino AND b.ino = (pgfs_stat('/ops/ccp')).ino")
    check('cp shares the chunks of what it copies', int(shared) >= len(data) // 65536 - 1, shared)


FALLOC_KEEP_SIZE, FALLOC_PUNCH_HOLE, FALLOC_COLLAPSE_RANGE, FALLOC_ZERO_RANGE = 1, 2, 8, 0x10


def t_fallocate():
    data = os.urandom(200000)
    put(p('fa'), data)
    fd = os.open(p('fa'), os.O_RDWR)
    fallocate(fd, 0, 0, 300000)
    want = bytearray(data + b'\0' * 100000)
    check('fallocate grows the file with zeros', os.fstat(fd).st_size == 300000 and get(p('fa')) == want)
    fallocate(fd, FALLOC_KEEP_SIZE, 0, 1 << 30)
    check('fallocate with KEEP_SIZE keeps the size', os.fstat(fd).st_size == 300000)
    blocks = os.stat(p('fa')).st_blocks
    fallocate(fd, FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE, 1000, 150000)
    want[1000:151000] = b'\0' * 150000
    st = os.stat(p('fa'))
    check('punching a hole zeros the range, keeps the size',
          st.st_size == 300000 and get(p('fa')) == want, st.st_size)
    check('and frees its blocks', st.st_blocks < blocks - 200, (blocks, st.st_blocks))
    os.pwrite(fd, b'still buffered', 160000)
    fallocate(fd, FALLOC_PUNCH_HOLE | FALLOC_KEEP_SIZE, 160000, 5)
    want[160000:160014] = b'\0' * 5 + b' buffered'
    check('a punch covers a write still buffered', os.pread(fd, 300000, 0) == bytes(want))
    fallocate(fd, FALLOC_ZERO_RANGE, 290000, 110000)
    want[290000:] = b'\0' * 10000
    want += b'\0' * 100000
    check('ZERO_RANGE zeros and grows', os.fstat(fd).st_size == 400000 and get(p('fa')) == want,
          os.fstat(fd).st_size)
    fails('PUNCH_HOLE without KEEP_SIZE: EOPNOTSUPP', errno.EOPNOTSUPP,
          fallocate, fd, FALLOC_PUNCH_HOLE, 0, 10)
    fails('COLLAPSE_RANGE: EOPNOTSUPP', errno.EOPNOTSUPP, fallocate, fd, FALLOC_COLLAPSE_RANGE, 0, 65536)
    fails('fallocate of length 0: EINVAL', errno.EINVAL, fallocate, fd, 0, 0, 0)
    os.posix_fallocate(fd, 0, 10 << 20)
    check('posix_fallocate sets the size at once', os.fstat(fd).st_size == 10 << 20)
    os.close(fd)
    ro = os.open(p('fa'), os.O_RDONLY)
    fails('fallocate through a read-only descriptor: EBADF', errno.EBADF, fallocate, ro, 0, 0, 1)
    os.close(ro)


def t_seek():
    fd = os.open(p('sk'), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    os.pwrite(fd, b'x' * 100, 0)
    os.pwrite(fd, b'y' * 100, 10 << 20)
    size = (10 << 20) + 100
    check('SEEK_DATA at a data byte stays', os.lseek(fd, 50, os.SEEK_DATA) == 50)
    h = os.lseek(fd, 0, os.SEEK_HOLE)
    check('SEEK_HOLE finds the hole after the first data', 100 <= h < 10 << 20, h)
    d = os.lseek(fd, h, os.SEEK_DATA)
    check('SEEK_DATA from the hole finds the later data',
          h < d <= 10 << 20 and os.pread(fd, d - h, h) == b'\0' * (d - h), (h, d))
    check('the end of the file is a hole', os.lseek(fd, 10 << 20, os.SEEK_HOLE) == size)
    fails('SEEK_DATA at the end: ENXIO', errno.ENXIO, os.lseek, fd, size, os.SEEK_DATA)
    fails('SEEK_HOLE past the end: ENXIO', errno.ENXIO, os.lseek, fd, size + 1, os.SEEK_HOLE)
    os.pwrite(fd, b'z', 5 << 20)
    d = os.lseek(fd, h, os.SEEK_DATA)
    check('SEEK_DATA sees a write still buffered', h < d <= 5 << 20, d)
    os.ftruncate(fd, 20 << 20)
    fails('SEEK_DATA in a trailing hole: ENXIO', errno.ENXIO, os.lseek, fd, (10 << 20) + 65536, os.SEEK_DATA)
    os.close(fd)
    # cp keeps the holes it finds (coreutils uses SEEK_DATA and SEEK_HOLE)
    out = os.path.join(os.environ.get('SCRATCH', '/tmp'), 'sparse-copy')
    r = subprocess.run(['cp', '--sparse=auto', p('sk'), out], capture_output=True, text=True)
    st = os.stat(out)
    check('cp out of the mount keeps the holes', r.returncode == 0 and st.st_size == 20 << 20 and
          st.st_blocks * 512 < 1 << 20 and get(out) == get(p('sk')), (r.stderr, st.st_blocks))
    os.unlink(out)


def t_statfs():
    sv = os.statvfs(MNT)
    check('statfs f_namemax is 255', sv.f_namemax == 255, sv.f_namemax)
    check('statfs has sizes', sv.f_bsize > 0 and sv.f_blocks >= sv.f_bfree, sv)


def t_permissions():
    os.mkdir(p('perm'), 0o755)
    os.mkdir(p('perm', 'private'), 0o700)
    put(p('perm', 'ro'), b'root only writes', 0o644)
    put(p('perm', 'secret'), b'no', 0o600)
    os.mkdir(p('perm', 'tmp'))
    os.chmod(p('perm', 'tmp'), 0o1777)
    rc, out = as_nobody('cat %s' % p('perm', 'ro'))
    check('nobody reads a 0644 file', rc == 0 and out == 'root only writes', out)
    rc, out = as_nobody('echo x >> %s' % p('perm', 'ro'))
    check('nobody cannot write a 0644 root file', rc != 0 and 'Permission denied' in out, out)
    rc, out = as_nobody('cat %s' % p('perm', 'secret'))
    check('nobody cannot read a 0600 root file', rc != 0 and 'Permission denied' in out, out)
    rc, out = as_nobody('ls %s' % p('perm', 'private'))
    check('nobody cannot list a 0700 root directory', rc != 0 and 'Permission denied' in out, out)
    rc, out = as_nobody('touch %s' % p('perm', 'new'))
    check('nobody cannot create in a 0755 root directory', rc != 0, out)
    rc, out = as_nobody('chmod 777 %s' % p('perm', 'ro'))
    check('nobody cannot chmod a root file', rc != 0 and 'not permitted' in out, out)
    rc, out = as_nobody('echo mine > %s/n && chmod 600 %s/n && cat %s/n' %
                        ((p('perm', 'tmp'),) * 3))
    st = os.stat(p('perm', 'tmp', 'n'))
    check('nobody creates in a sticky 1777 directory, owning the file',
          rc == 0 and out == 'mine' and st.st_uid == 65534, (rc, out, st.st_uid))
    put(p('perm', 'tmp', 'roots'), b'')
    rc, out = as_nobody('rm -f %s' % p('perm', 'tmp', 'roots'))
    check('sticky bit: nobody cannot remove root\'s file', rc != 0, out)
    put(p('perm', 'suid'), b'')
    os.chmod(p('perm', 'suid'), 0o4777)
    rc, out = as_nobody('echo x >> %s' % p('perm', 'suid'))
    mode = stat.S_IMODE(os.stat(p('perm', 'suid')).st_mode)
    check('a write by another user clears set-user-ID', rc == 0 and mode == 0o777, (rc, out, oct(mode)))
    os.chmod(p('perm', 'suid'), 0o4755)
    os.chown(p('perm', 'suid'), 65534, -1)
    mode = stat.S_IMODE(os.stat(p('perm', 'suid')).st_mode)
    check('chown clears set-user-ID', mode == 0o755, oct(mode))
    os.mkdir(p('perm', 'sgid'))
    os.chown(p('perm', 'sgid'), 0, 4321)
    os.chmod(p('perm', 'sgid'), 0o2775)
    put(p('perm', 'sgid', 'f'), b'')
    os.mkdir(p('perm', 'sgid', 'd'))
    sf, sd = os.stat(p('perm', 'sgid', 'f')), os.stat(p('perm', 'sgid', 'd'))
    check('set-group-ID directory: new entries inherit its group',
          sf.st_gid == 4321 and sd.st_gid == 4321, (sf.st_gid, sd.st_gid))
    check('set-group-ID directory: new subdirectory is set-group-ID',
          sd.st_mode & stat.S_ISGID != 0, oct(sd.st_mode))
    subprocess.run(['rm', '-rf', p('perm')])


def main():
    run(D, globals(), umask=0o022)


main()
