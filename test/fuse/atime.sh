#!/bin/bash
# Access times through the mount, as on ext4 under relatime (the default
# of both): a read sets a file's access time when it is not later than its
# mtime or ctime, or a day old, and leaves it otherwise; a listing does the
# same to a directory's.  A mount with -o noatime leaves them always, and
# says so in its options.
#
# usage: atime.sh MOUNT_DIR NATIVE_DIR   (both made afresh; mount_store from
# run.sh for the second mount)

set -u
mnt=$1 native=$2
failed=0
result() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}
# what a step did to the access time; the mount's attributes are cached for 1 s
atime() { sleep 1.2; stat -c %X "$1"; }

steps() {
	local f=$1/f a0 a1 a2 a3 m
	echo data > "$f"
	touch -a -d '2020-01-01 00:00:00' "$f"
	a0=$(atime "$f")
	cat "$f" > /dev/null
	a1=$(atime "$f")
	echo "read of a file whose access time is before its mtime sets it: $([ "$a1" -gt "$a0" ] && echo yes || echo no)"
	sleep 1
	cat "$f" > /dev/null
	a2=$(atime "$f")
	echo "a second read leaves it: $([ "$a2" = "$a1" ] && echo yes || echo no)"
	sleep 1
	echo more >> "$f"
	sleep 1
	cat "$f" > /dev/null
	a3=$(atime "$f")
	m=$(stat -c %Y "$f")
	echo "a read after a write sets it again: $([ "$a3" -ge "$m" ] && [ "$a3" -gt "$a2" ] && echo yes || echo no)"
	touch -a -d '2 days ago' "$f"
	touch -m -d '3 days ago' "$f"
	a0=$(atime "$f")
	cat "$f" > /dev/null
	a1=$(atime "$f")
	echo "a read sets a day-old one: $([ "$a1" -gt "$a0" ] && echo yes || echo no)"
	: > "$1/w"
	touch -a -d '2020-01-01 00:00:00' "$1/w"
	a0=$(atime "$1/w")
	echo x >> "$1/w"
	a1=$(atime "$1/w")
	echo "a write leaves it: $([ "$a1" = "$a0" ] && echo yes || echo no)"
	# a directory: a listing reads it
	mkdir "$1/d"
	: > "$1/d/x"
	touch -a -d '2020-01-01 00:00:00' "$1/d"
	a0=$(atime "$1/d")
	ls "$1/d" > /dev/null
	a1=$(atime "$1/d")
	echo "listing a directory whose access time is before its mtime sets it: $([ "$a1" -gt "$a0" ] && echo yes || echo no)"
	sleep 1
	ls "$1/d" > /dev/null
	a2=$(atime "$1/d")
	echo "a second listing leaves it: $([ "$a2" = "$a1" ] && echo yes || echo no)"
	sleep 1
	: > "$1/d/y"
	stat "$1/d/x" > /dev/null
	a3=$(atime "$1/d")
	echo "a new entry and a lookup in it leave it: $([ "$a3" = "$a2" ] && echo yes || echo no)"
	sleep 1
	ls "$1/d" > /dev/null
	a4=$(atime "$1/d")
	echo "a listing after the new entry sets it again: $([ "$a4" -gt "$a3" ] && echo yes || echo no)"
}

rm -rf "$mnt" "$native"
mkdir -p "$mnt" "$native"
got=$(steps "$mnt")
want=$(steps "$native")
while IFS= read -r line; do
	grep -qxF "$line" <<<"$got"
	result $? "access time as on ext4: $line"
done <<<"$want"
[ "$(wc -l <<<"$want")" = 9 ] && grep -q 'sets it: yes' <<<"$want"
result $? "the reference steps ran"

second=$(mktemp -d /tmp/pgfs-fuse-noatime.XXXXXX)
chmod 755 "$second"
if mount_store "$second" -o noatime; then
	sub=${mnt#"$MNT"}
	grep -q " $second .*noatime" /proc/mounts
	result $? "-o noatime shows in the mount's options"
	touch -a -d '2020-01-01 00:00:00' "$mnt/f"
	a0=$(atime "$second$sub/f")
	cat "$second$sub/f" > /dev/null
	[ "$(atime "$second$sub/f")" = "$a0" ]
	result $? "-o noatime: a read leaves the access time"
	touch -a -d '2020-01-01 00:00:00' "$mnt/d"
	a0=$(atime "$second$sub/d")
	ls "$second$sub/d" > /dev/null
	[ "$(atime "$second$sub/d")" = "$a0" ]
	result $? "-o noatime: a listing leaves the directory's access time"
	fusermount3 -u "$second"
else
	result 1 "a second mount, with -o noatime"
fi
rmdir "$second"
rm -rf "$native"
exit $failed
