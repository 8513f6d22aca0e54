#!/bin/bash
# The mount and the SQL path API show the same bytes.
#
# usage: sql.sh MOUNTPOINT SUBDIR   (MOUNTPOINT shows the store's root)
# Needs psql and the PG* variables.

set -u
mnt=$1 sub=$2
dir=$mnt/$sub
failed=0
result() {
	if [ "$1" -eq 0 ]; then echo "ok - $2"; else echo "not ok - $2"; failed=1; fi
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -c "$1"; }

rm -rf "$dir"
mkdir -p "$dir"

# written through the mount in odd-sized pieces, read through SQL
head -c 3000000 /dev/urandom > "$dir/sample.tmp"
dd if="$dir/sample.tmp" of="$dir/sample" bs=7777 status=none
printf 'tail' >> "$dir/sample"
want=$(sha256sum < "$dir/sample" | cut -d' ' -f1)
got=$(sql "SELECT encode(sha256(pgfs_read('/$sub/sample')), 'hex')")
[ "$want" = "$got" ]
result $? "pgfs_read() returns what the mount wrote"
got=$(sql "SELECT encode(sha256(pgfs_read('/$sub/sample', 1000000, 70000)), 'hex')")
want=$(tail -c +1000001 "$dir/sample" | head -c 70000 | sha256sum | cut -d' ' -f1)
[ "$want" = "$got" ]
result $? "pgfs_read() of a range matches"
got=$(sql "SELECT size FROM pgfs_stat('/$sub/sample')")
[ "$got" = "$(stat -c %s "$dir/sample")" ]
result $? "pgfs_stat() size matches stat(1)"

# written through SQL, read through the mount (a new name: no stale cache)
sql "SELECT pgfs_write('/$sub/from-sql', decode(repeat('0123456789abcdef', 20000), 'hex'))" > /dev/null
want=$(sql "SELECT encode(sha256(pgfs_read('/$sub/from-sql')), 'hex')")
got=$(sha256sum < "$dir/from-sql" | cut -d' ' -f1)
[ "$want" = "$got" ]
result $? "the mount reads what pgfs_write() wrote"

# a change made through SQL shows in the mount after the attribute timeout
sql "SELECT pgfs_append('/$sub/from-sql', '\\x41424344'::bytea)" > /dev/null
sleep 1.5
[ "$(tail -c 4 "$dir/from-sql")" = ABCD ]
result $? "an append through SQL shows in the mount within the cache timeout"

rm -rf "$dir"
exit $failed
