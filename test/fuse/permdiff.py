#!/usr/bin/python3
"""Differential test of permissions and attribute rules, as an unprivileged
user, on a pgfs mount and on a local directory: the cases a POSIX
conformance suite (pjdfstest) runs as other users.  Every call's result or
errno must agree, and so must the modes, owners, link counts and sizes of
the files involved and whether each call changed their ctime and mtime.

usage: permdiff.py MOUNT_DIR LOCAL_DIR

The mount must use -o allow_other,default_permissions, and we must be root:
each case is set up as root, then run in a child process with the
credentials of uid 1001, gid 1001 and supplementary group 1002 (no
capabilities).  Prints "ok - ..." / "not ok - ..." lines, one per case.
"""
import ctypes
import errno
import json
import os
import stat
import subprocess
import sys
import time

from checks import check

U, G, G2 = 1001, 1001, 1002      # the user, its group, another group it is in
OTHER = 1003                     # a group it is not in
NOW, OMIT = (1 << 30) - 1, (1 << 30) - 2
libc = ctypes.CDLL(None, use_errno=True)


def snap(path):
    try:
        st = os.lstat(path)
    except OSError as e:
        return {'errno': errno.errorcode.get(e.errno, e.errno)}
    d = {'type': stat.S_IFMT(st.st_mode), 'mode': oct(stat.S_IMODE(st.st_mode)),
         'uid': st.st_uid, 'gid': st.st_gid, 'nlink': st.st_nlink}
    if not stat.S_ISDIR(st.st_mode):
        d['size'] = st.st_size
    return d


def times(path):
    try:
        st = os.lstat(path)
        return (st.st_ctime_ns, st.st_mtime_ns)
    except OSError:
        return None


def call(fn, *args, **kw):
    try:
        r = fn(*args, **kw)
        return 'ok' if r is None or isinstance(r, int) and r >= 0 else repr(r)
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))


def as_user(steps, watch):
    """Run steps (callables returning a result string) as U; returns the
    results and, per watched path, whether ctime and mtime changed.  A
    watched (before, after) pair follows a file that a step renames (a path
    that a rename replaces holds another file after it, whose times differ
    from the old one's on pgfs, whose clock has nanoseconds, but often not on
    ext4, whose clock ticks every few milliseconds)."""
    watch = [w if isinstance(w, tuple) else (w, w) for w in watch]
    before = {w: times(w[0]) for w in watch}
    time.sleep(0.02)             # past ext4's timestamp granularity
    rd, wr = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(rd)
        try:
            os.setgroups([G2])
            os.setresgid(G, G, G)
            os.setresuid(U, U, U)
            os.umask(0o022)
            out = [s() for s in steps]
        except Exception as e:   # noqa: BLE001 - reported as a result
            out = ['exception %r' % e]
        os.write(wr, json.dumps(out).encode())
        os._exit(0)
    os.close(wr)
    data = b''
    while True:
        chunk = os.read(rd, 65536)
        if not chunk:
            break
        data += chunk
    os.close(rd)
    os.waitpid(pid, 0)
    changed = {}
    for w in watch:
        b, a = before[w], times(w[1])
        if b and a:
            changed[w[1]] = ('ctime' if a[0] != b[0] else '-') + '/' + ('mtime' if a[1] != b[1] else '-')
    return json.loads(data), changed


def mk(path, mode, uid=0, gid=0, data=b''):
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    os.write(fd, data)
    os.close(fd)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def mkd(path, mode, uid=0, gid=0):
    os.mkdir(path)
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def write_at(path, data, flags=0):
    def step():
        fd = os.open(path, os.O_WRONLY | flags)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
    return lambda: call(step)


class Timespec(ctypes.Structure):
    _fields_ = [('s', ctypes.c_long), ('ns', ctypes.c_long)]


def timespec(t):
    return Timespec(0, t) if t in (NOW, OMIT) else Timespec(t // 10**9, t % 10**9)


def utimensat(path, at, mt):
    """utimensat(2) with UTIME_NOW/UTIME_OMIT, which os.utime cannot pass"""
    if libc.utimensat(-100, path.encode(), (Timespec * 2)(timespec(at), timespec(mt)), 0) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


# Each case: set up as root in d (a fresh directory, mode 0777), return
# (steps to run as the user, paths whose attributes and times to compare).
def c_chmod_sgid_not_member(d):
    mk(d + '/f', 0o755, U, OTHER)
    return [lambda: call(os.chmod, d + '/f', 0o2755)], [d + '/f']


def c_chmod_sgid_member(d):
    mk(d + '/f', 0o755, U, G2)
    return [lambda: call(os.chmod, d + '/f', 0o2755)], [d + '/f']


def c_chmod_dir_sgid_not_member(d):
    mkd(d + '/s', 0o755, U, OTHER)
    return [lambda: call(os.chmod, d + '/s', 0o2755)], [d + '/s']


def c_chmod_not_owner(d):
    mk(d + '/f', 0o644)
    return [lambda: call(os.chmod, d + '/f', 0o666)], [d + '/f']


def c_chmod_sticky_file(d):
    mk(d + '/f', 0o644, U, G)
    return [lambda: call(os.chmod, d + '/f', 0o1644)], [d + '/f']


def c_chown_to_member_group(d):
    mk(d + '/f', 0o6755, U, G)
    mk(d + '/g', 0o6745, U, G)
    return [lambda: call(os.chown, d + '/f', -1, G2),
            lambda: call(os.chown, d + '/g', -1, G2)], [d + '/f', d + '/g']


def c_chown_to_other_uid(d):
    mk(d + '/f', 0o644, U, G)
    return [lambda: call(os.chown, d + '/f', 0, -1),
            lambda: call(os.chown, d + '/f', U, -1)], [d + '/f']


def c_chown_to_non_member_group(d):
    mk(d + '/f', 0o644, U, G)
    return [lambda: call(os.chown, d + '/f', -1, OTHER)], [d + '/f']


def c_chown_noop(d):
    mk(d + '/mine', 0o644, U, G)
    mk(d + '/roots', 0o644)
    return [lambda: call(os.chown, d + '/mine', -1, -1),
            lambda: call(os.chown, d + '/roots', -1, -1)], [d + '/mine', d + '/roots']


def c_chown_dir_keeps_sgid(d):
    mkd(d + '/s', 0o2755, U, G)
    return [lambda: call(os.chown, d + '/s', -1, G2)], [d + '/s']


def c_lchown_symlink(d):
    os.symlink('target', d + '/l')
    os.lchown(d + '/l', U, G)
    return [lambda: call(os.lchown, d + '/l', -1, G2)], [d + '/l']


def c_utimens_not_owner_writable(d):
    mk(d + '/f', 0o666)
    t = 1_500_000_000_123_456_789
    return [lambda: call(utimensat, d + '/f', NOW, NOW),
            lambda: call(utimensat, d + '/f', OMIT, OMIT),
            lambda: call(utimensat, d + '/f', t, t),
            lambda: call(utimensat, d + '/f', t, OMIT),
            lambda: call(utimensat, d + '/f', NOW, OMIT)], [d + '/f']


def c_utimens_not_owner_readonly(d):
    mk(d + '/f', 0o644)
    return [lambda: call(utimensat, d + '/f', NOW, NOW),
            lambda: call(utimensat, d + '/f', OMIT, OMIT)], [d + '/f']


def c_utimens_owner(d):
    mk(d + '/f', 0o444, U, G)
    t = 1_500_000_000_123_456_789
    return [lambda: call(utimensat, d + '/f', t, t),
            lambda: call(lambda: os.stat(d + '/f').st_mtime_ns == t and None)], [d + '/f']


def c_truncate(d):
    mk(d + '/w', 0o666, data=b'0123456789')
    mk(d + '/r', 0o644, data=b'0123456789')
    return [lambda: call(os.truncate, d + '/w', 3),
            lambda: call(os.truncate, d + '/r', 3)], [d + '/w', d + '/r']


def c_write_kills_suid(d):
    mk(d + '/x', 0o6777, data=b'a')       # group-executable: both bits go
    # not, and the writer is in the file's group: set-group-ID stays.  (Not in
    # the group, Linux 6 drops it on a local filesystem, but the kernel's FUSE
    # module sends the mode change for it only when group-executable.)
    mk(d + '/nx', 0o6767, 0, G2, b'a')
    mk(d + '/own', 0o6777, U, G, b'a')    # the owner writes: the bits go too
    return [write_at(d + '/x', b'b'), write_at(d + '/nx', b'b'),
            write_at(d + '/own', b'b')], [d + '/x', d + '/nx', d + '/own']


def c_trunc_open_kills_suid(d):
    mk(d + '/f', 0o4666, data=b'abc')
    return [write_at(d + '/f', b'', os.O_TRUNC)], [d + '/f']


def c_truncate_kills_suid(d):
    mk(d + '/f', 0o6777, data=b'abc')
    return [lambda: call(os.truncate, d + '/f', 1)], [d + '/f']


def c_sticky(d):
    mkd(d + '/t', 0o1777)
    mk(d + '/t/roots', 0o666)
    mk(d + '/t/mine', 0o644, U, G)
    return [lambda: call(os.unlink, d + '/t/roots'),
            lambda: call(os.rename, d + '/t/roots', d + '/t/moved'),
            lambda: call(os.rename, d + '/t/mine', d + '/t/roots'),
            lambda: call(os.unlink, d + '/t/mine')], [d + '/t', d + '/t/roots', d + '/t/moved']


def c_no_write_on_dir(d):
    mkd(d + '/ro', 0o755)
    mk(d + '/ro/f', 0o666)
    return [lambda: call(os.open, d + '/ro/new', os.O_CREAT | os.O_WRONLY, 0o644),
            lambda: call(os.unlink, d + '/ro/f'),
            lambda: call(os.mkdir, d + '/ro/sub'),
            lambda: call(os.rename, d + '/ro/f', d + '/ro/g'),
            lambda: call(os.symlink, 'x', d + '/ro/l'),
            lambda: call(os.link, d + '/ro/f', d + '/ro/h')], [d + '/ro', d + '/ro/f']


def c_no_search(d):
    mkd(d + '/ns', 0o666)
    mk(d + '/ns/f', 0o666)
    return [lambda: call(os.stat, d + '/ns/f'),
            lambda: call(os.listdir, d + '/ns'),
            lambda: call(os.open, d + '/ns/f', os.O_RDONLY)], [d + '/ns']


def c_sgid_dir_inherits(d):
    mkd(d + '/g', 0o2777, 0, OTHER)
    return [lambda: call(os.mkdir, d + '/g/sub', 0o777),
            lambda: call(os.close, os.open(d + '/g/f', os.O_CREAT | os.O_WRONLY, 0o2777)),
            lambda: call(os.mkfifo, d + '/g/p', 0o2666)], [d + '/g/sub', d + '/g/f', d + '/g/p']


def c_create_suid(d):
    return [lambda: call(os.close, os.open(d + '/s', os.O_CREAT | os.O_WRONLY, 0o6777)),
            lambda: call(os.mkdir, d + '/sd', 0o3777)], [d + '/s', d + '/sd']


def c_hardlink_protected(d):
    mk(d + '/secret', 0o600)
    mk(d + '/mine', 0o600, U, G)
    return [lambda: call(os.link, d + '/secret', d + '/l1'),
            lambda: call(os.link, d + '/mine', d + '/l2')], [d + '/secret', d + '/mine']


def c_xattr(d):
    mk(d + '/roots', 0o644)
    mk(d + '/mine', 0o644, U, G)
    return [lambda: call(os.setxattr, d + '/roots', 'user.k', b'v'),
            lambda: call(os.setxattr, d + '/mine', 'user.k', b'v'),
            lambda: call(os.setxattr, d + '/mine', 'trusted.k', b'v'),
            lambda: call(lambda: os.getxattr(d + '/mine', 'user.k') == b'v' and None)], \
        [d + '/roots', d + '/mine']


def c_rename_dir_needs_write(d):
    mkd(d + '/a', 0o777)
    mkd(d + '/b', 0o777)
    mkd(d + '/a/locked', 0o555, U, G)
    mkd(d + '/a/open', 0o755, U, G)
    return [lambda: call(os.rename, d + '/a/locked', d + '/b/locked'),
            lambda: call(os.rename, d + '/a/locked', d + '/a/relocked'),
            lambda: call(os.rename, d + '/a/open', d + '/b/open')], \
        [d + '/a', d + '/b', d + '/a/relocked', d + '/b/open']


def c_mknod(d):
    return [lambda: call(os.mkfifo, d + '/fifo', 0o644),
            lambda: call(os.mknod, d + '/chr', stat.S_IFCHR | 0o644, os.makedev(1, 3))], \
        [d + '/fifo', d + '/chr']


def c_rename_times(d):
    mkd(d + '/x', 0o777)
    mkd(d + '/y', 0o777)
    mk(d + '/x/f', 0o644, U, G)
    mk(d + '/y/over', 0o644, U, G)
    # the moved file's ctime changes (Linux), its mtime does not
    return [lambda: call(os.rename, d + '/x/f', d + '/y/over')], [d + '/x', d + '/y', (d + '/x/f', d + '/y/over')]


def c_link_unlink_times(d):
    mk(d + '/f', 0o644, U, G)
    return [lambda: call(os.link, d + '/f', d + '/g'),
            lambda: call(os.unlink, d + '/g')], [d, d + '/f']


def c_times_of_attribute_changes(d):
    for n in ('mode', 'own', 'xa', 'now', 'same', 'empty', 'zero'):
        mk(d + '/' + n, 0o644, U, G, b'' if n in ('empty', 'zero') else b'data')
    return [lambda: call(os.chmod, d + '/mode', 0o600),
            lambda: call(os.chown, d + '/own', U, G2),
            lambda: call(os.setxattr, d + '/xa', 'user.k', b'v'),
            lambda: call(utimensat, d + '/now', NOW, OMIT),
            lambda: call(os.truncate, d + '/same', 4),
            write_at(d + '/empty', b'', os.O_TRUNC),
            write_at(d + '/zero', b'')], \
        [d + '/' + n for n in ('mode', 'own', 'xa', 'now', 'same', 'empty', 'zero')]


def c_removexattr_times(d):
    mk(d + '/f', 0o644, U, G)
    os.setxattr(d + '/f', 'user.k', b'v')
    return [lambda: call(os.removexattr, d + '/f', 'user.k'),
            lambda: call(os.removexattr, d + '/f', 'user.k')], [d + '/f']


def c_dir_entries_times(d):
    mkd(d + '/p', 0o755, U, G)
    mkd(d + '/q', 0o755, U, G)
    mkd(d + '/p/sub', 0o755, U, G)
    return [lambda: call(os.mkdir, d + '/p/new'),
            lambda: call(os.symlink, 'x', d + '/q/l'),
            lambda: call(os.rename, d + '/p/sub', d + '/q/sub'),
            lambda: call(os.rmdir, d + '/p/new')], \
        [d + '/p', d + '/q', (d + '/p/sub', d + '/q/sub'), d + '/q/l']


def c_rename_dir_over_dir(d):
    mkd(d + '/a', 0o755, U, G)
    mkd(d + '/b', 0o755, U, G)
    mkd(d + '/full', 0o755, U, G)
    mk(d + '/full/f', 0o644, U, G)
    mk(d + '/file', 0o644, U, G)
    return [lambda: call(os.rename, d + '/a', d + '/full'),
            lambda: call(os.rename, d + '/a', d + '/file'),
            lambda: call(os.rename, d + '/file', d + '/b'),
            lambda: call(os.rename, d + '/a', d + '/a/x'),
            lambda: call(os.rename, d + '/a', d + '/b')], [d, (d + '/a', d + '/b'), d + '/full']


def main():
    mnt, ref = sys.argv[1], sys.argv[2]
    for top in (mnt, ref):
        subprocess.run(['rm', '-rf', top])
        os.mkdir(top)
        os.chmod(top, 0o777)
    cases = sorted((n, f) for n, f in globals().items() if n.startswith('c_'))
    failed = 0
    for name, fn in cases:
        got = {}
        for side, top in (('pgfs', mnt), ('native', ref)):
            d = os.path.join(top, name[2:])
            os.mkdir(d)
            os.chmod(d, 0o777)
            steps, watch = fn(d)
            res, changed = as_user(steps, watch)
            after = [w[1] if isinstance(w, tuple) else w for w in watch]
            got[side] = (res, {os.path.relpath(p, d): snap(p) for p in after},
                         {os.path.relpath(p, d): c for p, c in changed.items()})
        # a step that raised (a bug of this script) fails the case on both sides alike
        same = got['pgfs'] == got['native'] and not any(
            r.startswith('exception') for side in got.values() for r in side[0])
        failed += not same
        check(name[2:].replace('_', ' '), same,
              'pgfs %s\n# native %s' % (json.dumps(got['pgfs']), json.dumps(got['native'])))
    subprocess.run(['rm', '-rf', mnt, ref])
    sys.exit(1 if failed else 0)


main()
