"""test/fuse/checks.py - what the per-check Python tests of the mount share.

check() prints one "ok - name" / "not ok - name" line (run.sh numbers them
as TAP) with "#" diagnostics; run() calls every t_* function of a test
module in name order in a fresh directory, turns an exception into a failed
check, removes the directory and exits 1 if any check failed.
"""
import os
import subprocess
import sys
import traceback

failed = 0


def check(name, cond, diag=None, limit=None):
    global failed
    print(('ok - ' if cond else 'not ok - ') + name)
    if not cond:
        failed += 1
        if diag is not None:
            print('# ' + str(diag)[:limit])


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
