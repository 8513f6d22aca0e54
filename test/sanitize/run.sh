#!/usr/bin/env bash
# test/sanitize/run.sh -- the mount test suite against pgfs-fuse built with
# AddressSanitizer and UndefinedBehaviorSanitizer
#
#   test/sanitize/run.sh
#
# Needs what test/fuse/run.sh needs (PG* environment of a database with the
# extension, root, /dev/fuse).  Builds the daemon from fuse/*.c into a
# scratch directory with -fsanitize=address,undefined, runs test/fuse/run.sh
# with it, and fails on any sanitizer report (each daemon process writes its
# reports to its own log file, since a mounted daemon has no terminal).
# Prints TAP and "# sanitize: P passed, F failed".

set -u
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/pgfs-sanitize.XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
n=0 pass=0 fail=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then pass=$((pass + 1)); echo "ok $n - $2"
	else fail=$((fail + 1)); echo "not ok $n - $2"; fi
}

pg_config=${PG_CONFIG:-pg_config}
# shellcheck disable=SC2046
gcc -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-D_GNU_SOURCE -I"$root/include" -I"$($pg_config --includedir)" $(pkg-config --cflags fuse3) \
	-o "$work/pgfs-fuse" "$root"/fuse/*.c \
	$(pkg-config --libs fuse3) -L"$($pg_config --libdir)" -lpq -lpthread 2>"$work/build.log"
built=$?
[ $built -eq 0 ] || cat "$work/build.log"
ok $built "pgfs-fuse builds with -fsanitize=address,undefined"
if [ $built -ne 0 ]; then
	echo "# sanitize: $pass passed, $fail failed"
	exit 1
fi

mkdir -p "$work/reports"
chmod 777 "$work/reports"
export ASAN_OPTIONS="log_path=$work/reports/asan:detect_leaks=1:abort_on_error=0"
export UBSAN_OPTIONS="log_path=$work/reports/ubsan:print_stacktrace=1"
# timed stress runs get more time (test/fuse/randio.sh)
FUSE_BIN="$work/pgfs-fuse" PGFS_TEST_SLOWDOWN=3 bash "$root/test/fuse/run.sh" >"$work/fuse.log" 2>&1
rc=$?
summary=$(grep -E '^# fuse: ' "$work/fuse.log" | tail -n 1)
# each failure with the comment lines its test printed before it
grep -E -B10 '^not ok' "$work/fuse.log" | grep -E '^(not ok|# )'
ok $rc "the mount suite passes with the sanitized daemon (${summary#\# })"
reports=$(find "$work/reports" -type f | wc -l)
for f in "$work"/reports/*; do
	[ -f "$f" ] && { echo "# ---- $f"; sed 's/^/# /' "$f" | head -n 60; }
done
ok "$([ "$reports" -eq 0 ]; echo $?)" "no AddressSanitizer/UBSan reports ($reports)"
echo "1..$n"
echo "# sanitize: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
