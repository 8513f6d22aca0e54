#!/usr/bin/env python3
"""bench/fs/fsops.py -- the timed file operations of bench/fs_bench.sh and bench/scale.sh

    fsops.py bigwrite FILE MIB             write MIB MiB in 1 MiB write(2)s, fsync, close
    fsops.py bigread FILE MIB [verify]     read it back in 1 MiB read(2)s
    fsops.py randwrite FILE MIB N          N 4 KiB pwrite(2)s at random 4 KiB-aligned offsets in
                                           its first MIB MiB, an fsync after every 256, close
    fsops.py smallwrite DIR N SIZE         N files of SIZE bytes: open, write, fsync, close each
    fsops.py smallread DIR N SIZE [verify] open, read to EOF, close each
    fsops.py stat DIR N                    os.stat of each of the N files
    fsops.py touch DIR FIRST N             create N empty files (open O_CREAT, close; no fsync)
    fsops.py statlist LISTFILE             os.stat of each path listed, one a line
    fsops.py rsspeak PID WHILEPID          sample PID's RssAnon and VmRSS every 2 ms while WHILEPID lives

Prints one line: "seconds=S count=C" (plus latency percentiles for statlist).
One thread, plain system calls: the same code runs on the pgfs mount and on the
native directory.  Content is incompressible and deterministic: a seeded
random pool, each 1 MiB block (or each small file) a different slice of it,
stamped with its number, so that a reader can verify without keeping a copy
and no two blocks or files are alike.  Small files are DIR/fN.
"""
import os
import random
import struct
import sys
import time

MIB = 1 << 20
POOL_MIB = 64
_pool = None


def pool():
    global _pool
    if _pool is None:
        _pool = memoryview(random.Random(20261125).randbytes((POOL_MIB + 1) * MIB))
    return _pool


def block(i, size):
    """the content of block (or file) i of size bytes, as iovecs: stamp + pool slice"""
    stamp = struct.pack(">Q", i)
    off = (i * 7919 * 4096 + i * 64) % (POOL_MIB * MIB - size)
    return [stamp, pool()[off:off + size - len(stamp)]]


def expect(i, size):
    return b"".join(bytes(v) for v in block(i, size))


def write_all(fd, iov):
    want = sum(len(v) for v in iov)
    n = os.writev(fd, iov)
    if n != want:		# short writes are legal; finish the rest
        rest = b"".join(bytes(v) for v in iov)[n:]
        while rest:
            rest = rest[os.write(fd, rest):]


def read_full(fd, buf):
    """read into buf until it is full or EOF; returns the bytes read"""
    mv = memoryview(buf)
    got = 0
    while got < len(buf):
        n = os.readv(fd, [mv[got:]])
        if n == 0:
            break
        got += n
    return got


def done(t0, count, extra=""):
    print("seconds=%.6f count=%d%s" % (time.perf_counter() - t0, count, extra))


def bigwrite(path, mib):
    pool()
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    for i in range(mib):
        write_all(fd, block(i, MIB))
    os.fsync(fd)
    os.close(fd)
    done(t0, mib)


def bigread(path, mib, verify):
    pool()
    buf = bytearray(MIB)
    bad = 0
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    for i in range(mib):
        n = read_full(fd, buf)
        if n != MIB or (verify and buf != expect(i, MIB)):
            bad += 1
    if read_full(fd, buf) != 0:
        bad += 1
    os.close(fd)
    if bad:
        sys.exit("%s: %d blocks read back wrong" % (path, bad))
    done(t0, mib)


def randwrite(path, mib, n):
    pool()
    rnd = random.Random(20261207)
    offs = [rnd.randrange(mib * MIB // 4096) * 4096 for _ in range(n)]
    t0 = time.perf_counter()
    fd = os.open(path, os.O_WRONLY)
    for i, off in enumerate(offs):
        os.pwritev(fd, block(i, 4096), off)
        if i % 256 == 255:
            os.fsync(fd)
    os.fsync(fd)
    os.close(fd)
    done(t0, n)


def drain(path, maxsecs):
    buf = bytearray(MIB)
    got = 0
    t0 = time.perf_counter()
    fd = os.open(path, os.O_RDONLY)
    while time.perf_counter() - t0 < maxsecs:
        n = read_full(fd, buf)
        got += n
        if n < MIB:
            break
    os.close(fd)
    print("seconds=%.6f count=%.3f" % (time.perf_counter() - t0, got / MIB))


def smallwrite(d, n, size):
    pool()
    t0 = time.perf_counter()
    for i in range(n):
        fd = os.open("%s/f%d" % (d, i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        write_all(fd, block(i, size))
        os.fsync(fd)
        os.close(fd)
    done(t0, n)


def smallread(d, n, size, verify):
    pool()
    buf = bytearray(size + 1)
    bad = 0
    t0 = time.perf_counter()
    for i in range(n):
        fd = os.open("%s/f%d" % (d, i), os.O_RDONLY)
        got = read_full(fd, buf)
        os.close(fd)
        if got != size or (verify and buf[:size] != expect(i, size)):
            bad += 1
    if bad:
        sys.exit("%s: %d files read back wrong" % (d, bad))
    done(t0, n)


def stat(d, n):
    t0 = time.perf_counter()
    for i in range(n):
        os.stat("%s/f%d" % (d, i))
    done(t0, n)


def fsync_dir(d):
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.fsync(fd)
    os.close(fd)


def rename(d, n):
    """f<i> to g<i> in d, then the directory's fsync (makes the renames durable)"""
    t0 = time.perf_counter()
    for i in range(n):
        os.rename("%s/f%d" % (d, i), "%s/g%d" % (d, i))
    fsync_dir(d)
    done(t0, n)


def unlink(d, n):
    """g<i> in d, then the directory's fsync"""
    t0 = time.perf_counter()
    for i in range(n):
        os.unlink("%s/g%d" % (d, i))
    fsync_dir(d)
    done(t0, n)


def touch(d, first, n):
    t0 = time.perf_counter()
    for i in range(first, first + n):
        os.close(os.open("%s/f%d" % (d, i), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    done(t0, n)


def statlist(listfile):
    with open(listfile) as f:
        paths = f.read().split("\n")
    paths = [p for p in paths if p]
    lat = []
    clock = time.perf_counter
    t0 = clock()
    for p in paths:
        a = clock()
        os.stat(p)
        lat.append(clock() - a)
    total = clock() - t0
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1e6
    done(t0, len(paths), " mean_us=%.1f p50_us=%.1f p99_us=%.1f"
         % (total / len(paths) * 1e6, pct(0.5), pct(0.99)))


def status_kib(pid, field):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def rsspeak(pid, whilepid):
    """peak private (RssAnon) and total (VmRSS, with touched shared memory) resident set"""
    first = status_kib(pid, "RssAnon")
    anon = rss = 0
    samples = 0
    while os.path.exists("/proc/%d" % whilepid):
        a, r = status_kib(pid, "RssAnon"), status_kib(pid, "VmRSS")
        if a is None:
            break
        anon, rss = max(anon, a), max(rss, r)
        samples += 1
        time.sleep(0.002)
    print("rssanon_start_kib=%d rssanon_max_kib=%d vmrss_max_kib=%d samples=%d"
          % (first or 0, anon, rss, samples))


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    op, a = argv[1], argv[2:]
    verify = a[-1:] == ["verify"]
    if op == "bigwrite":
        bigwrite(a[0], int(a[1]))
    elif op == "bigread":
        bigread(a[0], int(a[1]), verify)
    elif op == "randwrite":
        randwrite(a[0], int(a[1]), int(a[2]))
    elif op == "drain":
        drain(a[0], float(a[1]))
    elif op == "smallwrite":
        smallwrite(a[0], int(a[1]), int(a[2]))
    elif op == "smallread":
        smallread(a[0], int(a[1]), int(a[2]), verify)
    elif op == "stat":
        stat(a[0], int(a[1]))
    elif op == "rename":
        rename(a[0], int(a[1]))
    elif op == "unlink":
        unlink(a[0], int(a[1]))
    elif op == "touch":
        touch(a[0], int(a[1]), int(a[2]))
    elif op == "statlist":
        statlist(a[0])
    elif op == "rsspeak":
        rsspeak(int(a[0]), int(a[1]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
