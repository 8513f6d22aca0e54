#!/usr/bin/env bash
# test/policy/run.sh -- a role confined by pgfs_policy_set, seen through a mount
#
#   test/policy/run.sh
#
# Runs as root against the database in the PG* environment (a superuser's;
# the extension created).  Mounts the store as a confined login role and
# checks that the mount allows exactly what SQL allows that role
# (sql/policy.sql covers the SQL side).  Prints TAP and
# "# policy: P passed, F failed".

set -u
FUSE_BIN=${FUSE_BIN:-pgfs-fuse}
PYTHON=${PYTHON:-python3}
n=0 pass=0 fail=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then pass=$((pass + 1)); echo "ok $n - $2"
	else fail=$((fail + 1)); echo "not ok $n - $2"; fi
}
mnt=$(mktemp -d /tmp/pgfs-policy.XXXXXX)
role=pgfs_policy_test_$$
cleanup() {
	fusermount3 -u "$mnt" 2>/dev/null
	rmdir "$mnt" 2>/dev/null
	psql -X -q -c "SELECT pgfs_policy_drop('$role')" -c "SELECT pgfs_remove('/home', true)" \
		-c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1
}
trap cleanup EXIT

psql -X -q -v ON_ERROR_STOP=1 \
	-c "CREATE ROLE $role LOGIN PASSWORD 'secret-$$' IN ROLE pgfs_writer" \
	-c "SELECT pgfs_mkdir('/home/alice', parents => true), pgfs_mkdir('/home/bob')" \
	-c "SELECT pgfs_write('/home/bob/secret', 'bob only'::bytea)" \
	-c "SELECT pgfs_write('/home/alice/hello', 'hello'::bytea)" \
	-c "SELECT pgfs_policy_set('$role', '/home/alice')" >/dev/null
ok $? "set up a role confined to /home/alice"

as_role="host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$role password=secret-$$"

# the whole store mounted as the confined role
if "$FUSE_BIN" "$as_role" "$mnt"; then
	ok 0 "the confined role mounts the store"
	ls "$mnt/home/alice" >/dev/null 2>&1
	ok $? "its own directory can be listed"
	[ "$(cat "$mnt/home/alice/hello" 2>/dev/null)" = hello ]
	ok $? "its own files can be read"
	echo new >"$mnt/home/alice/new" 2>/dev/null && [ "$(cat "$mnt/home/alice/new")" = new ]
	ok $? "its own directory can be written"
	out=$(ls "$mnt" 2>&1)
	ok "$(grep -q 'Permission denied' <<<"$out"; echo $?)" "listing / is refused with EACCES ($out)"
	out=$(cat "$mnt/home/bob/secret" 2>&1)
	ok "$(grep -q 'Permission denied' <<<"$out"; echo $?)" "another role's file is refused with EACCES ($out)"
	out=$(mv "$mnt/home/alice/new" "$mnt/home/bob/new" 2>&1)
	ok "$(grep -q 'Permission denied' <<<"$out"; echo $?)" "moving a file out is refused ($out)"
	# the directories on the way in can be statted, not read: not even their
	# lack of extended attributes (which the daemon would otherwise answer)
	stat "$mnt/home" > /dev/null 2>&1 && ls -l "$mnt/home/alice" > /dev/null 2>&1
	out=$("$PYTHON" -c 'import os, sys; print(os.listxattr(sys.argv[1]))' "$mnt/home" 2>&1)
	ok "$(grep -q 'Permission denied' <<<"$out"; echo $?)" "listxattr of a directory on the way in is refused with EACCES ($out)"
	out=$("$PYTHON" -c 'import os, sys; os.getxattr(sys.argv[1], "user.x")' "$mnt/home" 2>&1)
	ok "$(grep -q 'Permission denied' <<<"$out"; echo $?)" "... and getxattr ($out)"
	"$PYTHON" -c 'import os, sys; print(os.listxattr(sys.argv[1]))' "$mnt/home/alice/hello" 2>&1 | grep -qx '\[\]'
	ok $? "its own file lists no extended attributes"
	ln -s /home/bob/secret "$mnt/home/alice/escape" 2>/dev/null
	[ "$(readlink "$mnt/home/alice/escape")" = /home/bob/secret ]
	ok $? "a symbolic link can point anywhere (it is only a string)"
	fusermount3 -u "$mnt"
else
	ok 1 "the confined role mounts the store"
fi

# its subtree as the root of the mount
if "$FUSE_BIN" "$as_role" "$mnt" -o subdir=/home/alice; then
	[ "$(ls "$mnt" | sort | tr '\n' ' ')" = "escape hello new " ]
	ok $? "mounted with subdir=/home/alice it sees its files at the root"
	fusermount3 -u "$mnt"
else
	ok 1 "the confined role mounts its subtree with subdir="
fi

psql -X -At -c "SELECT convert_from(pgfs_read('/home/alice/new'), 'UTF8')" | grep -qx new
ok $? "what the mount wrote is what SQL reads"
[ "$(psql -X -At -c 'SELECT count(*) FROM pgfs_fsck()')" = 0 ]
ok $? "pgfs_fsck() is clean"
echo "1..$n"
echo "# policy: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
