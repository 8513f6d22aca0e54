#!/usr/bin/env python3
"""test/fuse/fsx.py - random file I/O against a model, in the manner of fsx.

fsx (from the BSD and Linux test suites) drives one file with a long random
sequence of read, write, truncate and mmap reads and writes, and checks
every byte read, and the size after every operation, against an in-memory
copy of what the file must hold.  This does the same on the mount, with the
pgfs chunk size (64 KiB) in mind: lengths and offsets cross chunk borders,
truncates cut chunks in the middle and grow files with holes.

Like fsx's -F/-H/-z/-c options, every run also punches holes, zeroes and
preallocates ranges (fallocate), copies ranges within the file and in from a
second file (copy_file_range: the server shares whole chunks where it can,
so later writes must copy them first), and checks what SEEK_HOLE and
SEEK_DATA report against the model: a hole they report must read as zeros,
and SEEK_DATA must not skip a nonzero byte.

Runs (each one "ok"/"not ok" line):
  plain    read, write, truncate, fsync through one descriptor
  mapped   the same plus mmap reads and writes (MAP_SHARED, msync)
  reopen   the same, closing and reopening the file every few operations,
           and reading through a second descriptor opened read-only
Finally the file as SQL reads it (pgfs_read) must equal the model.

  fsx.py [--ops N] [--seed S] [--maxlen BYTES] DIR   (DIR on the mount)
"""
import argparse
import ctypes
import errno
import hashlib
import mmap
import os
import random
import subprocess
import sys

from checks import fallocate

PAGE = mmap.PAGESIZE
CHUNK = 65536
KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE = 0x01, 0x02, 0x10


class Failure(Exception):
    pass


class Fsx:
    def __init__(self, path, rng, maxlen, mapped, reopen):
        self.path = path
        self.rng = rng
        self.maxlen = maxlen
        self.mapped = mapped
        self.reopen = reopen
        self.model = bytearray()
        self.log = []
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        # the second file ranges are copied in from: random data and holes
        self.src_path = path + ".src"
        self.src = bytearray(rng.randbytes(maxlen // 2)) + bytes(CHUNK * 2) + \
            bytearray(rng.randbytes(maxlen // 4))
        with open(self.src_path, "wb") as f:
            f.write(self.src)
        self.src_fd = os.open(self.src_path, os.O_RDONLY)

    # -- helpers
    def note(self, what):
        self.log.append(what)
        if len(self.log) > 30:
            del self.log[0]

    def fail(self, why):
        raise Failure(why + "\n  last operations:\n    " + "\n    ".join(self.log))

    def rand_range(self, within):
        """an offset and length; lengths favour chunk-border crossings"""
        limit = max(within, 1)
        off = self.rng.randrange(limit)
        kind = self.rng.random()
        if kind < 0.3:
            length = self.rng.randint(1, 512)
        elif kind < 0.8:
            length = self.rng.randint(1, 70000)
        else:
            length = self.rng.randint(1, 200000)
        if self.rng.random() < 0.2:
            # start just before a 64 KiB border
            off = max(0, (off & ~0xFFFF) + 0x10000 - self.rng.randint(1, 300))
        return min(off, limit - 1), length

    def check_size(self, where):
        st = os.fstat(self.fd)
        if st.st_size != len(self.model):
            self.fail(f"{where}: size is {st.st_size}, expected {len(self.model)}")

    def compare(self, got, off, where):
        want = bytes(self.model[off:off + len(got)])
        if got != want:
            for i, (a, b) in enumerate(zip(got, want)):
                if a != b:
                    break
            else:
                i = min(len(got), len(want))
            self.fail(f"{where}: {len(got)} bytes at {off}: first difference at "
                      f"{off + i} (0x{off + i:x}): got {got[i:i + 8].hex()} expected {want[i:i + 8].hex()}")

    def existing_range(self):
        """an offset and length within the file, or None if it is empty"""
        size = len(self.model)
        if size == 0:
            return None
        off, length = self.rand_range(size)
        return off, min(length, size - off)

    def new_range(self):
        """an offset and length within the size limit, or None"""
        off, length = self.rand_range(self.maxlen)
        length = min(length, self.maxlen - off)
        return (off, length) if length > 0 else None

    def grow(self, size):
        """the model zero-extended to size (a hole)"""
        if size > len(self.model):
            self.model.extend(bytes(size - len(self.model)))

    def store(self, off, data):
        self.grow(off)
        self.model[off:off + len(data)] = data

    # -- operations
    def op_read(self):
        if (r := self.existing_range()) is None:
            return
        off, length = r
        self.note(f"read {off} +{length}")
        got = os.pread(self.fd, length, off)
        if len(got) != length:
            self.fail(f"read {length} bytes at {off} returned {len(got)}")
        self.compare(got, off, "read")

    def op_write(self):
        if (r := self.new_range()) is None:
            return
        off, length = r
        data = self.rng.randbytes(length) if self.rng.random() < 0.5 else \
            bytes([self.rng.randrange(256)]) * length
        self.note(f"write {off} +{length}")
        n = os.pwrite(self.fd, data, off)
        if n != length:
            self.fail(f"write of {length} at {off} wrote {n}")
        self.store(off, data)

    def op_truncate(self):
        r = self.rng.random()
        if r < 0.3:
            newsize = 0 if self.rng.random() < 0.3 else self.rng.randrange(self.maxlen)
        else:
            newsize = max(0, len(self.model) + self.rng.randint(-100000, 100000))
        newsize = min(newsize, self.maxlen)
        self.note(f"truncate {len(self.model)} -> {newsize}")
        os.ftruncate(self.fd, newsize)
        del self.model[newsize:]
        self.grow(newsize)

    def op_mapread(self):
        if (r := self.existing_range()) is None:
            return
        off, length = r
        size = len(self.model)
        pg = off & ~(PAGE - 1)
        self.note(f"mapread {off} +{length}")
        # map from the start of the page holding off to the end of the range
        maplen = off + length - pg
        with mmap.mmap(self.fd, maplen, mmap.MAP_SHARED, mmap.PROT_READ, offset=pg) as m:
            got = m[off - pg:off - pg + length]
        self.compare(got, off, "mapread")
        # past EOF, the rest of the last page reads as zeros (as fsx checks)
        if off + length == size and size % PAGE:
            tail = self.page_tail(size)
            if tail.strip(b"\0"):
                self.fail(f"mapread: bytes past EOF ({size}) in the last page are not zero")

    def page_tail(self, size):
        """the bytes of the last page past EOF, as a mapping shows them"""
        endpg = size & ~(PAGE - 1)
        inpage = size - endpg
        # an mmap object refuses access past its length, the page does not:
        # read it at the mapping's address
        m = mmap.mmap(self.fd, inpage, mmap.MAP_SHARED,
                      mmap.PROT_READ | mmap.PROT_WRITE, offset=endpg)
        try:
            ref = ctypes.c_char.from_buffer(m)
            tail = ctypes.string_at(ctypes.addressof(ref) + inpage, PAGE - inpage)
            del ref
        finally:
            m.close()
        return tail

    def op_mapwrite(self):
        if (r := self.new_range()) is None:
            return
        off, length = r
        data = self.rng.randbytes(length)
        end = off + length
        self.note(f"mapwrite {off} +{length}")
        if end > len(self.model):
            # a mapping cannot extend a file: grow it first, as fsx does
            os.ftruncate(self.fd, end)
            self.grow(end)
        pg = off & ~(PAGE - 1)
        with mmap.mmap(self.fd, end - pg, mmap.MAP_SHARED,
                       mmap.PROT_READ | mmap.PROT_WRITE, offset=pg) as m:
            m[off - pg:off - pg + length] = data
            m.flush()
        self.model[off:end] = data

    def op_punch(self):
        if (r := self.existing_range()) is None:
            return
        off, length = r
        self.note(f"punch hole {off} +{length}")
        fallocate(self.fd, PUNCH_HOLE | KEEP_SIZE, off, length)
        self.model[off:off + length] = bytes(length)

    def op_zero(self):
        if (r := self.new_range()) is None:
            return
        off, length = r
        keep = self.rng.random() < 0.5
        self.note(f"zero range {off} +{length}" + (" keep size" if keep else ""))
        fallocate(self.fd, ZERO_RANGE | (KEEP_SIZE if keep else 0), off, length)
        end = min(off + length, len(self.model)) if keep else off + length
        if off < end:
            self.store(off, bytes(end - off))

    def op_falloc(self):
        if (r := self.new_range()) is None:
            return
        off, length = r
        keep = self.rng.random() < 0.3
        self.note(f"fallocate {off} +{length}" + (" keep size" if keep else ""))
        fallocate(self.fd, KEEP_SIZE if keep else 0, off, length)
        if not keep:
            self.grow(off + length)

    def copy(self, fd_in, off, dst, length, what):
        self.note(f"{what} {off} +{length} -> {dst}")
        done = 0
        while done < length:
            n = os.copy_file_range(fd_in, self.fd, length - done, off + done, dst + done)
            if n == 0:
                break
            done += n
        if done != length:
            self.fail(f"{what} of {length} bytes at {off} to {dst} copied {done}")

    def copy_to(self, off, length):
        """a destination for length bytes from off: often at the same place in a chunk"""
        dst = self.rng.randrange(self.maxlen)
        if self.rng.random() < 0.5:
            dst = (dst & ~(CHUNK - 1)) | (off & (CHUNK - 1))
        return dst, min(length, self.maxlen - dst)

    def op_copy(self):
        if (r := self.existing_range()) is None:
            return
        off, length = r
        dst, length = self.copy_to(off, length)
        if length <= 0 or (dst < off + length and off < dst + length):
            return				# overlapping ranges are EINVAL
        data = bytes(self.model[off:off + length])
        self.copy(self.fd, off, dst, length, "copy range")
        self.store(dst, data)

    def op_copy_in(self):
        off = self.rng.randrange(len(self.src))
        if self.rng.random() < 0.5:
            off &= ~(CHUNK - 1)
        length = min(self.rng.choice((CHUNK, 3 * CHUNK, self.rng.randint(1, 200000))),
                     len(self.src) - off)
        dst, length = self.copy_to(off, length)
        if length <= 0:
            return
        self.copy(self.src_fd, off, dst, length, "copy in from the second file")
        self.store(dst, self.src[off:off + length])

    def op_seek(self):
        size = len(self.model)
        if size == 0:
            return
        off = self.rng.randrange(size)
        self.note(f"seek hole and data from {off}")
        # SEEK_DATA must not skip a nonzero byte (a sparse copy would lose it)
        try:
            d0 = os.lseek(self.fd, off, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            d0 = size
        if not off <= d0 <= size or any(self.model[off:d0]):
            self.fail(f"SEEK_DATA from {off} gave {d0} (size {size}), skipping data")
        h = os.lseek(self.fd, off, os.SEEK_HOLE)
        if not off <= h <= size:
            self.fail(f"SEEK_HOLE from {off} gave {h} (size {size})")
        if h == size:
            return
        try:
            d = os.lseek(self.fd, h, os.SEEK_DATA)
        except OSError as e:
            if e.errno != errno.ENXIO:
                raise
            d = size
        if not h < d <= size:
            self.fail(f"SEEK_DATA from the hole at {h} gave {d} (size {size})")
        if any(self.model[h:d]):
            self.fail(f"the hole reported at {h}..{d} holds data")

    def op_fsync(self):
        self.note("fsync")
        os.fsync(self.fd)

    def op_reopen(self):
        self.note("close+open")
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDWR)

    def op_read_other(self):
        if (r := self.existing_range()) is None:
            return
        off, length = r
        self.note(f"read {off} +{length} through a second descriptor")
        fd2 = os.open(self.path, os.O_RDONLY)
        try:
            got = os.pread(fd2, length, off)
        finally:
            os.close(fd2)
        if len(got) != length:
            self.fail(f"second descriptor: read {length} at {off} returned {len(got)}")
        self.compare(got, off, "read through a second descriptor")

    def run(self, nops):
        ops = [(self.op_read, 4), (self.op_write, 4), (self.op_truncate, 1), (self.op_fsync, 0.3),
               (self.op_punch, 0.5), (self.op_zero, 0.3), (self.op_falloc, 0.2),
               (self.op_copy, 0.5), (self.op_copy_in, 0.5), (self.op_seek, 0.5)]
        if self.mapped:
            ops += [(self.op_mapread, 2), (self.op_mapwrite, 2)]
        if self.reopen:
            ops += [(self.op_reopen, 0.7), (self.op_read_other, 1)]
        funcs = [f for f, _ in ops]
        weights = [w for _, w in ops]
        for i in range(nops):
            f = self.rng.choices(funcs, weights)[0]
            f()
            self.check_size(f"after operation {i} ({self.log[-1] if self.log else ''})")
        # everything, once more, after a close
        os.fsync(self.fd)
        os.close(self.fd)
        self.fd = os.open(self.path, os.O_RDONLY)
        got = b""
        while True:
            b = os.read(self.fd, 1 << 20)
            if not b:
                break
            got += b
        os.close(self.fd)
        self.fd = None
        if len(got) != len(self.model):
            self.fail(f"final read: {len(got)} bytes, expected {len(self.model)}")
        self.compare(got, 0, "final read")
        # the chunks copied in were shared: writes to the copies must not show here
        os.close(self.src_fd)
        with open(self.src_path, "rb") as f:
            if f.read() != self.src:
                self.fail("the second file changed: a write reached a chunk it shares")
        os.unlink(self.src_path)


def sql_md5(store_path):
    out = subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c",
                          f"SELECT md5(pgfs_read('{store_path}'))"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None, out.stderr.strip()
    return out.stdout.strip(), None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ops", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=int(os.environ.get("FSX_SEED", "20261125")))
    ap.add_argument("--maxlen", type=int, default=1 << 20)
    ap.add_argument("--sql-root", default=None,
                    help="the store path of DIR's parent mount root (default: DIR is MNT/name)")
    ap.add_argument("dir")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    failed = 0
    runs = [("plain", False, False), ("mapped", True, False), ("reopen", True, True)]
    for i, (name, mapped, reopen) in enumerate(runs):
        seed = a.seed + i
        path = os.path.join(a.dir, name)
        fx = Fsx(path, random.Random(seed), a.maxlen, mapped, reopen)
        try:
            fx.run(a.ops)
            print(f"ok - {name}: {a.ops} random operations (seed {seed}) match the model")
        except (Failure, OSError) as e:
            failed += 1
            print(f"not ok - {name}: {a.ops} random operations (seed {seed})")
            for line in str(e).splitlines():
                print("# " + line)
            if fx.fd is not None:
                os.close(fx.fd)
            continue
        store = "/" + os.path.basename(os.path.normpath(a.dir)) + "/" + name
        want = hashlib.md5(bytes(fx.model)).hexdigest()
        got, err = sql_md5(store)
        if got == want:
            print(f"ok - {name}: SQL reads the same {len(fx.model)} bytes")
        else:
            failed += 1
            print(f"not ok - {name}: SQL reads the same {len(fx.model)} bytes")
            print(f"# pgfs_read('{store}'): md5 {got} {err or ''}, model {want}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
