#!/bin/bash
# Real programs on a pgfs mount: tar, diff, git, sqlite3, rsync.
#
# usage: programs.sh DIR_IN_MOUNT LOCAL_SCRATCH_DIR
# Prints "ok - name" / "not ok - name"; a missing program is a skip.

set -u
dir=$1 scratch=$2
src=/usr/include/postgresql
rm -rf "$dir" "$scratch"
mkdir -p "$dir" "$scratch"
failed=0

result() {	# result STATUS NAME
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}
skip() { echo "ok - $1 # SKIP $2 not installed"; }
have() { command -v "$1" > /dev/null; }

# tar a header tree in, compare, tar it back out
tar -C "$(dirname $src)" -cf - "$(basename $src)" | tar -C "$dir" -xf -
result $? "tar extracts $(find $src | wc -l) entries into the mount"
diff -r "$src" "$dir/postgresql" > "$scratch/diff.out" 2>&1
result $? "diff -r finds the tree identical"
head -5 "$scratch/diff.out" | sed 's/^/# /'
# the modes, owners and modification times (whole seconds: tar's archive
# has no more) that tar set on each file before closing it, committed with
# the file's close (fuse/handle.c), are all there once the kernel forgot them
meta() { (cd "$1" && find . -printf '%p %y %m %U %G %T@\n' | sed 's/\.[0-9]*$//' | sort); }
sync; echo 2 > /proc/sys/vm/drop_caches; sleep 1.2
meta "$src" > "$scratch/meta.src"
meta "$dir/postgresql" > "$scratch/meta.mnt"
diff "$scratch/meta.src" "$scratch/meta.mnt" > "$scratch/meta.diff"
result $? "tar's modes, owners and times are on all $(wc -l < "$scratch/meta.src") entries"
head -4 "$scratch/meta.diff" | sed 's/^/# /'
mkdir "$scratch/untar"
tar -C "$dir" -cf - postgresql | tar -C "$scratch/untar" -xf - &&
	diff -r "$src" "$scratch/untar/postgresql" > /dev/null
result $? "tar out of the mount gives the same tree"
cp -a "$dir/postgresql" "$dir/copy" && diff -r "$src" "$dir/copy" > /dev/null
result $? "cp -a inside the mount"
rm -rf "$dir/copy"
result $? "rm -rf of a tree"

# git: repository, commit, clone, fsck
if have git; then
	(
		set -e
		export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.com
		export GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@example.com
		cd "$dir"
		git init -q repo
		cp -r "$src/libpq" repo/
		cd repo
		git add -A
		git commit -qm first
		echo change >> libpq/libpq-fs.h
		git commit -qam second
		git gc -q
		git fsck --strict 2>&1
		cd ..
		git clone -q repo clone
		git -C clone fsck --strict 2>&1
		test "$(git -C clone rev-list --count HEAD)" = 2
		test "$(git -C clone status --porcelain)" = ""
		diff -r repo/libpq clone/libpq
	) > "$scratch/git.out" 2>&1
	result $? "git init, commit, gc, clone, fsck"
	tail -5 "$scratch/git.out" | sed 's/^/# /'
else
	skip git git
fi

# sqlite3: rollback journal and WAL
if have sqlite3; then
	for mode in delete wal; do
		db=$dir/test-$mode.db
		{
			echo "PRAGMA journal_mode=$mode;"
			echo "CREATE TABLE t (id integer PRIMARY KEY, v text, b blob);"
			for k in $(seq 0 9); do
				echo "BEGIN;"
				for i in $(seq $((k * 500 + 1)) $((k * 500 + 500))); do
					echo "INSERT INTO t VALUES ($i, 'row $i', randomblob(200));"
				done
				echo "COMMIT;"
			done
			echo "UPDATE t SET v = v || ' updated' WHERE id % 7 = 0;"
			echo "DELETE FROM t WHERE id % 11 = 0;"
			echo "CREATE INDEX t_v ON t (v);"
		} | sqlite3 "$db" > /dev/null
		out=$(sqlite3 "$db" "PRAGMA integrity_check; SELECT count(*) FROM t;" 2>&1)
		[ "$out" = "$(printf 'ok\n4546')" ]
		result $? "sqlite3 ($mode journal): 5000 rows, integrity_check"
		[ "$out" = "$(printf 'ok\n4546')" ] || echo "# $out"
	done
else
	skip sqlite3 sqlite3
fi

# rsync out and back
if have rsync; then
	rsync -a "$dir/postgresql/" "$scratch/rsync-out/" && diff -r "$src" "$scratch/rsync-out" > /dev/null
	result $? "rsync -a out of the mount"
	rsync -a "$scratch/rsync-out/" "$dir/rsync-back/" && diff -r "$src" "$dir/rsync-back" > /dev/null
	result $? "rsync -a back into the mount"
	out=$(rsync -ai "$scratch/rsync-out/" "$dir/rsync-back/")
	[ -z "$out" ]
	result $? "rsync -a again finds nothing to do (times and modes kept)"
	[ -z "$out" ] || echo "$out" | head -5 | sed 's/^/# /'
else
	skip rsync rsync
fi

rm -rf "$dir" "$scratch"
exit $failed
