#!/bin/bash
# Directory listings (fuse/dcache.c): after a run of lookups in one
# directory the daemon answers them from a listing read whole.  Changes made
# through the mount show at once; changes made through SQL show within the
# mount's timeouts (1 s here), as with the kernel's caches alone.
#
# usage: dcache.sh MOUNTPOINT SUBDIR   (MOUNTPOINT shows the store's root;
# default timeouts).  Needs psql, the PG* variables and root (drop_caches).

set -u
mnt=$1 sub=$2
dir=$mnt/$sub
failed=0
result() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
# forget what the kernel cached, so that every stat is a lookup
cold() { sleep 1.2; sync; echo 2 > /proc/sys/vm/drop_caches; }
statall() { local i; for i in $(seq 1 40); do stat -c '%n %s %a' "$dir/f$i" 2>&1; done; }

rm -rf "$dir"
mkdir -p "$dir"
for i in $(seq 1 40); do printf '%*s' "$i" '' > "$dir/f$i"; done
want=$(for i in $(seq 1 40); do echo "$dir/f$i $i 644"; done)

cold
[ "$(statall)" = "$want" ]
result $? "stat of 40 names in a row (a listing serves most) gives every size and mode"
[ "$(statall)" = "$want" ]
result $? "... and again"

# changes through the mount show at once
cold
statall > /dev/null
chmod 600 "$dir/f5"
[ "$(stat -c %a "$dir/f5")" = 600 ]
result $? "a chmod through the mount shows at once"
rm "$dir/f6"
! stat "$dir/f6" > /dev/null 2>&1
result $? "an unlink through the mount shows at once"
echo new > "$dir/n1"
[ "$(cat "$dir/n1" 2>&1)" = new ]
result $? "a file created through the mount is there at once"
printf 'more' >> "$dir/f7"
cold
[ "$(stat -c %s "$dir/f7")" = 11 ]
result $? "a write through the mount shows in the size at once, also after the kernel forgot it"
mv "$dir/f8" "$dir/m8"
[ ! -e "$dir/f8" ] && [ "$(stat -c %s "$dir/m8")" = 8 ]
result $? "a rename through the mount shows at once"

# extended attributes: a name the listing answered is known to have none
# (getfattr asks the daemon, which answers from the listing's count); one
# set through the mount shows at once, one set through SQL after the timeouts
xa() { "$PYTHON" -c 'import os, sys; print(" ".join(sorted(os.listxattr(sys.argv[1]))))' "$1" 2>&1; }
cold
statall > /dev/null
[ -z "$(xa "$dir/f20")" ] && [ -z "$(xa "$dir/f21")" ]
result $? "files found through a listing list no extended attributes"
"$PYTHON" -c 'import os, sys; os.setxattr(sys.argv[1], "user.d", b"1")' "$dir/f20"
[ "$(xa "$dir/f20")" = user.d ]
result $? "an extended attribute set through the mount shows at once"
sql "SELECT pgfs_setxattr('/$sub/f21', 'user.s', 'v'::bytea)" > /dev/null
cold
statall > /dev/null
[ "$(xa "$dir/f21")" = user.s ] && [ "$(xa "$dir/f20")" = user.d ]
result $? "... and one set through SQL once the timeouts have passed"

# changes through SQL show within the timeouts
cold
statall > /dev/null
sql "SELECT pgfs_chmod('/$sub/f10', 384), pgfs_unlink('/$sub/f11'),
            pgfs_write('/$sub/f12', 'twelve'::bytea), pgfs_write('/$sub/sqlnew', 'x'::bytea)" > /dev/null
cold
[ "$(stat -c %a "$dir/f10")" = 600 ] && ! stat "$dir/f11" > /dev/null 2>&1 &&
	[ "$(stat -c %s "$dir/f12")" = 6 ] && [ "$(cat "$dir/sqlnew")" = x ]
result $? "changes made through SQL show once the timeouts have passed"

# a name the listing lacks is absent, until SQL makes it and the timeout passes
cold
statall > /dev/null
! stat "$dir/absent" > /dev/null 2>&1
result $? "a name not in the listing is absent"
sql "SELECT pgfs_write('/$sub/absent', 'here'::bytea)" > /dev/null
cold
[ "$(cat "$dir/absent" 2>&1)" = here ]
result $? "... and shows once made through SQL and the timeout passed"

# names made through the mount while a listing serves: it still answers
# for other names, and must not answer for the names made
mkdir "$dir/c"
for i in $(seq 1 20); do printf '%*s' "$i" '' > "$dir/c/f$i"; done
cold
for i in $(seq 1 20); do stat "$dir/c/f$i" > /dev/null; done	# the listing is read
for i in $(seq 1 10); do printf '%*s' "$i" '' > "$dir/c/n$i"; done
mkdir "$dir/c/d1" && ln -s n1 "$dir/c/s1" && ln "$dir/c/n2" "$dir/c/h2" && mkfifo "$dir/c/p1"
sync; echo 2 > /proc/sys/vm/drop_caches	# within the listing's time: lookups it would answer
# (the names made first: a run of lookups reads the listing again)
[ -d "$dir/c/d1" ] && [ -L "$dir/c/s1" ] && [ "$(stat -c %h "$dir/c/h2")" = 2 ] && [ -p "$dir/c/p1" ] &&
	[ "$(for i in $(seq 10 -1 1); do stat -c %s "$dir/c/n$i" 2>&1; done | tr '\n' ' ')" = \
	  "$(seq 10 -1 1 | tr '\n' ' ')" ]
result $? "names made through the mount while a listing serves are there at once with their sizes, also after the kernel forgot them"
! stat "$dir/c/none" > /dev/null 2>&1 && [ "$(stat -c %s "$dir/c/f20")" = 20 ]
result $? "... and a name never made is absent, one listed is there"
rm "$dir/c/n3" && mv "$dir/c/n4" "$dir/c/m4"
sync; echo 2 > /proc/sys/vm/drop_caches
! stat "$dir/c/n3" > /dev/null 2>&1 && ! stat "$dir/c/n4" > /dev/null 2>&1 &&
	[ "$(stat -c %s "$dir/c/m4")" = 4 ] && [ "$(stat -c %s "$dir/c/n5")" = 5 ]
result $? "... then an unlink and a rename show at once"

# a directory being filled through the mount: after a few creates the
# daemon answers the lookup before each create from a listing, which each
# create keeps current while nobody else changes the directory; a name made
# through SQL meanwhile shows within the timeout although the filling goes on
mkdir "$dir/fill"
"$PYTHON" - "$dir/fill" 3 <<'PY' &
import os, sys, time
d, end, i = sys.argv[1], time.time() + float(sys.argv[2]), 0
while time.time() < end:
    fd = os.open("%s/g%d" % (d, i), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, b"%d" % i)
    os.close(fd)
    i += 1
PY
filler=$!
sleep 0.5
sql "SELECT pgfs_write('/$sub/fill/foreign', 'sql'::bytea)" > /dev/null
sleep 1.5
got=$(cat "$dir/fill/foreign" 2>&1)
kill -0 $filler 2> /dev/null
going=$?
wait $filler
[ "$got" = sql ] && [ $going -eq 0 ]
result $? "a name made through SQL in a directory being filled through the mount shows within the timeout while the filling goes on"
n=$(sql "SELECT count(*) FROM pgfs_readdir('/$sub/fill') WHERE name LIKE 'g%'")
[ "$n" -gt 20 ] && [ "$(ls "$dir/fill" | grep -c '^g')" = "$n" ] &&
	[ "$(cat "$dir/fill/g7")" = 7 ] && [ "$(cat "$dir/fill/g$((n - 1))")" = "$((n - 1))" ]
result $? "... and every file it made is there ($n)"

# a directory made through the mount is known empty from its mkdir on: a
# tree unpacked into it has every file, names never made are absent, and a
# name made through SQL in it shows within the timeout
mkdir -p "$dir/tree/a/b"
for d in tree tree/a tree/a/b; do
	for i in 1 2 3; do echo "$d $i" > "$dir/$d/t$i"; done
done
[ "$(cat "$dir/tree/t2" "$dir/tree/a/t3" "$dir/tree/a/b/t1" 2>&1)" = "tree 2
tree/a 3
tree/a/b 1" ] && ! stat "$dir/tree/a/none" > /dev/null 2>&1 &&
	[ "$(sql "SELECT count(*) FROM pgfs_readdir('/$sub/tree/a')")" = 4 ]
result $? "files made in directories just made through the mount are there, other names absent"
sql "SELECT pgfs_write('/$sub/tree/a/b/from-sql', 'sql'::bytea)" > /dev/null
stat "$dir/tree/a/b/from-sql" > /dev/null 2>&1	# may still be answered absent
sleep 1.2
[ "$(cat "$dir/tree/a/b/from-sql" 2>&1)" = sql ]
result $? "... and a name made there through SQL shows within the timeout"

# open(2) with O_CREAT of a name the mount still believes absent (a negative
# entry in the kernel's cache, or a listing) that SQL has made since: without
# O_EXCL it opens that file, with O_EXCL it fails with EEXIST
creat() {
	"$PYTHON" -c 'import os, sys
flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | (os.O_EXCL if sys.argv[2] == "excl" else 0)
try:
    fd = os.open(sys.argv[1], flags, 0o644)
except OSError as e:
    print(e.strerror)
    sys.exit(0)
os.write(fd, b"+")
os.close(fd)
print("ok")' "$1" "$2"
}
late=$(mktemp)
for how in plain excl; do
	! stat "$dir/fill/late-$how" > /dev/null 2>&1 &&
		sql "SELECT pgfs_write('/$sub/fill/late-$how', 'sql'::bytea)" > /dev/null &&
		echo "$how $(creat "$dir/fill/late-$how" $how) $(sql "SELECT convert_from(pgfs_read('/$sub/fill/late-$how'), 'UTF8')")"
done > "$late" 2>&1
[ "$(cat "$late")" = "plain ok sql+
excl File exists sql" ]
result $? "open(O_CREAT) of a name made through SQL since the mount found it absent opens it; with O_EXCL, EEXIST"
cat "$late" | sed 's/^/# /'
rm -f "$late"

# readdir: a listing that reached the end through a handle answers the
# kernel's next request (is there more?) without the server while nothing
# changed through the mount (fuse/ops.c, struct dir_handle); a name made
# through the mount after the end shows to the same handle, a rewind asks
# the server again, and ".." is the parent
mkdir -p "$dir/rd/sub"
for i in 1 2 3; do echo "$i" > "$dir/rd/sub/e$i"; done
out=$("$PYTHON" - "$dir/rd/sub" "$sub/rd/sub" <<'PY' 2>&1
import ctypes, os, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.opendir.restype = ctypes.c_void_p
libc.readdir.restype = ctypes.c_void_p
libc.readdir.argtypes = libc.rewinddir.argtypes = libc.closedir.argtypes = [ctypes.c_void_p]
path, rel = sys.argv[1], sys.argv[2]
def more(d):	# the rest of the listing: (name, d_ino) pairs
	got = []
	while True:
		ctypes.set_errno(0)
		e = libc.readdir(d)
		if not e:
			if ctypes.get_errno():
				raise OSError(ctypes.get_errno(), "readdir")
			return got
		ino = ctypes.c_uint64.from_address(e).value
		got.append((ctypes.string_at(e + 19).decode(), ino))
def names(got):
	return sorted(n for n, _ in got)
d = libc.opendir(path.encode())
first = more(d)
print("first", names(first))
dots = dict(first)
print("dots", dots["."] == os.stat(path).st_ino, dots[".."] == os.stat(path + "/..").st_ino)
print("again", names(more(d)))
open(path + "/made", "w").close()
print("after a create", names(more(d)))
subprocess.run(["psql", "-XAtq", "-v", "ON_ERROR_STOP=1", "-c",
				"SELECT pgfs_write('/%s/sql', 'x'::bytea)" % rel], check=True, stdout=subprocess.DEVNULL)
libc.rewinddir(d)
print("rewound", names(more(d)))
libc.closedir(d)
PY
)
[ "$out" = "first ['.', '..', 'e1', 'e2', 'e3']
dots True True
again []
after a create ['made']
rewound ['.', '..', 'e1', 'e2', 'e3', 'made', 'sql']" ]
result $? "readdir to the end, again, after a create through the mount, after a rewind; . and .. are the directory and its parent"
echo "$out" | sed 's/^/# /'

rm -rf "$dir"
[ $failed -eq 0 ]
