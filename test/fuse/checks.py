"""test/fuse/checks.py - what the Python tests of the mount share.

check() prints one "ok - name" / "not ok - name" line (run.sh numbers them
as TAP) with "#" diagnostics; run() calls every t_* function of a test
module in name order in a fresh directory, turns an exception into a failed
check, removes the directory and exits 1 if any check failed.  sql() runs a
statement through psql (the PG* variables) and returns its output;
fallocate() is fallocate(2), raising OSError as os functions do.
"""
import ctypes
import os
import subprocess
import sys
import traceback

_libc = ctypes.CDLL(None, use_errno=True)
_libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]

failed = 0


def check(name, cond, diag=None, limit=None):
    global failed
    print(('ok - ' if cond else 'not ok - ') + name)
    if not cond:
        failed += 1
        if diag is not None:
            print('# ' + str(diag)[:limit])


def sql(query):
    r = subprocess.run(['psql', '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', query],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError('psql: ' + r.stderr.strip())
    return r.stdout.strip()


def fallocate(fd, mode, off, length):
    if _libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"fallocate(mode {mode:#x}, {off}, {length}): {os.strerror(e)}")


def run(directory, tests, umask=None):
    if os.path.exists(directory):
        subprocess.run(['rm', '-rf', directory])
    os.mkdir(directory)
    if umask is not None:
        os.umask(umask)
    for name, fn in sorted(tests.items()):
        if name.startswith('t_') and callable(fn):
            try:
                fn()
            except Exception:
                check('%s raised no exception' % name[2:], False,
                      traceback.format_exc().replace('\n', '\n# '))
    subprocess.run(['rm', '-rf', directory])
    sys.exit(1 if failed else 0)
