#!/bin/bash
# Standard random-I/O and stress tools on the mount: fio with verification,
# stress-ng file-system stressors, dbench.
#
# usage: randio.sh MOUNTPOINT SUBDIR   (MOUNTPOINT shows the store's root)
# Needs fio, stress-ng and dbench (scripts/test.sh installs them), psql and the PG*
# variables, mount_store (run.sh exports it).
#
# Each fio job checks what it wrote as it goes (verify_fatal); after each job
# pgfs_fsck() must be empty and every file must read the same through the
# mount as through pgfs_read().  At the end a second, fresh mount (no page
# cache) runs every job again in verify_only mode: the bytes the server kept
# are the bytes fio wrote.  Jobs size their files with fallocate(2) (which
# only sets the size on pgfs: zeros take no space), ftruncate
# (fallocate=truncate) or by writing them; a file left shorter than fio
# expects would be laid out again by verify_only.

set -u
mnt=$1 sub=$2
dir=$mnt/$sub
work=$(mktemp -d /tmp/pgfs-randio.XXXXXX)
fresh=$(mktemp -d /tmp/pgfs-randio-mnt.XXXXXX)
failed=0

result() {	# result STATUS NAME
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }
cleanup() {
	mountpoint -q "$fresh" && { fusermount3 -u "$fresh" || umount -l "$fresh"; }
	rmdir "$fresh"
	rm -rf "$work" "$dir"
}
trap cleanup EXIT

for tool in fio stress-ng dbench; do
	if ! command -v $tool > /dev/null; then
		result 1 "$tool is installed (scripts/test.sh installs it)"
		exit 1
	fi
done

fsck_empty() {	# fsck_empty WHAT
	local n
	n=$(sql "SELECT count(*) FROM pgfs_fsck()" 2>&1)
	[ "$n" = 0 ]
	result $? "$1: pgfs_fsck() finds no problems"
	[ "$n" = 0 ] || sql "SELECT * FROM pgfs_fsck() LIMIT 10" 2>&1 | sed 's/^/# /'
}

# Every regular file under the mount's DIR reads the same through the mount
# and through pgfs_read(): same_as_sql WHAT DIR
same_as_sql() {
	local what=$1 d=$2 f rel want got n=0 bad=0
	while IFS= read -r -d '' f; do
		rel=${f#"$mnt"}
		want=$(md5sum < "$f" | cut -d' ' -f1)
		got=$(sql "SELECT md5(pgfs_read('$rel'))" 2>&1)
		n=$((n + 1))
		if [ "$want" != "$got" ]; then
			echo "# $rel: mount $want, pgfs_read $got"
			bad=1
		fi
	done < <(find "$d" -type f -print0)
	[ $bad -eq 0 ] && [ $n -gt 0 ]
	result $? "$what: $n files read the same through the mount and pgfs_read()"
}

# fio jobs: a name for the directory, then fio's options: those before the
# first --name apply to every job of the spec.  Sizes are small enough for the whole script
# to take about half a minute on two cores.
common=(--ioengine=psync --direct=0 --verify=crc32c --verify_fatal=1
	--verify_state_save=0 --group_reporting)
jobs=(
	# two jobs on their own files: random reads and writes of unaligned
	# sizes from 512 bytes to 256 KiB, an fsync every 7 writes
	"randrw-unaligned --name=randrw-unaligned --rw=randrw --bsrange=512-256k --bs_unaligned=1 --size=8m
	 --numjobs=2 --fsync=7 --fallocate=native"
	# three jobs on one file at distinct offsets, different block sizes
	"shared-file --filename=shared --rw=randwrite --size=4m --fdatasync=4
	 --name=a --offset=0 --bs=4k --name=b --offset=4m --bs=64k
	 --name=c --offset=8m --bs=1m"
	# stores through a shared mapping (written back by msync/munmap)
	"mmap --name=mmap --ioengine=mmap --rw=randwrite --bs=4k --size=8m --numjobs=2
	 --fallocate=truncate"
	# the file laid out first, then overwritten in mixed sizes, fdatasync
	"overwrite-mixed --name=overwrite-mixed --rw=randwrite --overwrite=1 --size=8m --fdatasync=16
	 --bssplit=512/20:4k/30:64k/30:1m/20"
	# asynchronous direct I/O (libaio, 16 in flight): the kernel sends the
	# reads and writes of one file at once, not through the page cache
	"aio-direct --name=aio-direct --ioengine=libaio --direct=1 --iodepth=16 --rw=randrw
	 --bsrange=4k-64k --size=8m --numjobs=2 --fsync=32"
	# many small files, opened and closed in turn, sequential odd sizes
	"many-files --name=many-files --rw=write --nrfiles=16 --openfiles=4 --file_service_type=random
	 --bs=3000 --bs_unaligned=1 --size=4m --end_fsync=1 --fallocate=truncate"
)

cd "$work" || exit 1
mkdir -p "$dir"
for spec in "${jobs[@]}"; do
	# shellcheck disable=SC2086
	set -- $spec
	name=$1
	shift
	mkdir -p "$dir/$name"
	SECONDS=0
	fio --directory="$dir/$name" "${common[@]}" "$@" > "$work/$name.out" 2>&1
	rc=$?
	result $rc "fio $name verifies what it wrote (${SECONDS}s)"
	[ $rc -eq 0 ] || grep -iE 'verify|err|bad' "$work/$name.out" | head -5 | sed 's/^/# /'
	fsck_empty "fio $name"
	same_as_sql "fio $name" "$dir/$name"
done

# A fresh mount has none of these pages cached: its reads come from the server.
if mount_store "$fresh"; then
	for spec in "${jobs[@]}"; do
		# shellcheck disable=SC2086
		set -- $spec
		name=$1
		shift
		fio --directory="$fresh/$sub/$name" "${common[@]}" --verify_only "$@" \
			> "$work/$name.verify.out" 2>&1
		rc=$?
		result $rc "fio $name data verifies through a fresh mount"
		[ $rc -eq 0 ] || grep -iE 'verify|err|bad' "$work/$name.verify.out" | head -5 | sed 's/^/# /'
	done
	# the kernel may still hold a just-closed file for a moment (EBUSY)
	for _ in $(seq 20); do
		fusermount3 -u "$fresh" 2> /dev/null && break
		sleep 0.25
	done
else
	result 1 "a second mount for verify_only"
fi
rm -rf "${dir:?}"/*

# stress-ng stressors, all at once, each its own process and temporary
# directory; each must exit 0 (--verify checks data where the stressor can)
# and have done some work.  Locks are the kernel's (pgfs claims none).  Not
# here: --xattr (it adds attributes to one file until the file system refuses,
# which pgfs does at 64 KiB of names: thousands of durable commits, about 8 s
# a round), --link and --symlink (8192 names a round: 15 s).  fallocate,
# fpunch and seek --seek-punch punch holes, copy-file copies ranges with
# copy_file_range(2) (chunks shared where the offsets allow).  They share
# two cores: fpunch fills a 16 MiB file in 2048 scattered writes before its
# first bogo op, which took the sanitized daemon (test/sanitize/run.sh, 2 to
# 3 times slower) more than 4 s once; PGFS_TEST_SLOWDOWN stretches the time.
# On a loaded machine a stressor that shares the cores with twelve others
# may still end its 4 s before its first op (fpunch, readahead, each once in
# a clean-clone run): one that verified what it did but did no op runs
# again alone, for 20 s.
slow=${PGFS_TEST_SLOWDOWN:-1}
stressors=(
	"hdd --hdd-bytes 8m --hdd-write-size 4k --hdd-opts wr-rnd,rd-rnd,fsync"
	"rename"
	"dir"
	"mmap --mmap-file --mmap-bytes 512k"
	"chmod"
	"utime"
	"seek --seek-size 8m --seek-punch"
	"fallocate --fallocate-bytes 8m"
	"fpunch"
	"copy-file --copy-file-bytes 128m"
	"readahead --readahead-bytes 8m"
	"lockf"
	"flock"
)
pids=()
SECONDS=0
for spec in "${stressors[@]}"; do
	# shellcheck disable=SC2086
	set -- $spec
	mkdir -p "$dir/$1"
	chmod 777 "$dir/$1"
	stress-ng --temp-path "$dir/$1" --"$1" 1 "${@:2}" --timeout $((4 * slow))s --verify \
		--metrics-brief > "$work/sng-$1.out" 2>&1 &
	pids+=($!)
done
i=0
for spec in "${stressors[@]}"; do
	# shellcheck disable=SC2086
	set -- $spec
	wait "${pids[$i]}"
	rc=$?
	i=$((i + 1))
	ops=$(awk -v s="$1" '$2 == "metrc:" && $4 == s { print $5; exit }' "$work/sng-$1.out")
	again=
	if [ $rc -eq 0 ] && [ "${ops:-0}" -eq 0 ]; then
		# shellcheck disable=SC2086
		stress-ng --temp-path "$dir/$1" --"$1" 1 "${@:2}" --timeout $((20 * slow))s --verify \
			--metrics-brief > "$work/sng-$1.out" 2>&1
		rc=$?
		ops=$(awk -v s="$1" '$2 == "metrc:" && $4 == s { print $5; exit }' "$work/sng-$1.out")
		again=", run again alone"
	fi
	[ $rc -eq 0 ] && [ "${ops:-0}" -gt 0 ]
	result $? "stress-ng --$1 passes (exit $rc, ${ops:-no} bogo ops$again)"
	[ $rc -eq 0 ] || grep -E 'fail|error' "$work/sng-$1.out" | head -5 | sed 's/^/# /'
done
echo "# stress-ng: ${SECONDS}s"
left=$(find "$dir" -mindepth 2 | head -5)
[ -z "$left" ]
result $? "stress-ng removed every file it made"
[ -z "$left" ] || echo "$left" | sed 's/^/# /'
fsck_empty "stress-ng"
rm -rf "$dir"

# dbench: the load of a Samba file server (its client.txt: creates, opens
# with share modes, writes and reads, renames, unlinks, directory listings,
# statfs, byte-range locks, flushes), two clients at once, with the DOS
# attributes in extended attributes (-x) and directories synced (-S).  Every
# operation's result is compared with the status the load file expects; a
# mismatch prints "failed" or "ERROR" and ends dbench with a nonzero exit.
mkdir -p "$dir/dbench"
timeout $((60 * slow)) dbench -D "$dir/dbench" -t $((8 * slow)) -x -S 2 > "$work/dbench.out" 2>&1
rc=$?
ops=$(awk '$1 == "NTCreateX" { print $2; exit }' "$work/dbench.out")
[ $rc -eq 0 ] && [ "${ops:-0}" -gt 0 ] && ! grep -q -E 'failed|ERROR' "$work/dbench.out"
result $? "dbench, 2 clients: every operation as the load file expects (exit $rc, ${ops:-no} creates)"
grep -E 'failed|ERROR' "$work/dbench.out" | head -5 | sed 's/^/# /'
fsck_empty "dbench"
rm -rf "$dir"

exit $failed
