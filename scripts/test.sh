#!/usr/bin/env bash
# scripts/test.sh -- build pgfs and run every test suite; the one test command
#
#   scripts/test.sh [--no-apt] [--no-build] [SUITE...]
#
# SUITE is any of regress, isolation, pgtap, fuse, limits, policy, sanitize, tap
# (default: all).  On a fresh Debian 12 machine, as root, it installs the
# packages it needs, builds with warnings as errors, installs, and runs the
# suites inside one throwaway cluster (pg_virtualenv).  It ends with one line "N passed, M failed" and
# exits non-zero when anything failed or a suite could not run.
#
# Logs go to $PGFS_TEST_LOGDIR (default: a new directory under /tmp).

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/common.sh
. "$here/common.sh"
cd "$PGFS_ROOT" || exit 1

all_suites=(regress isolation pgtap fuse limits policy sanitize tap)
suites=()
while [ $# -gt 0 ]; do
	case $1 in
		--no-apt) export PGFS_SKIP_APT=1 ;;
		--no-build) export PGFS_SKIP_BUILD=1 ;;
		-h|--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
		regress|isolation|pgtap|fuse|limits|policy|sanitize|tap) suites+=("$1") ;;
		*) echo "unknown argument: $1 (try --help)" >&2; exit 2 ;;
	esac
	shift
done
[ ${#suites[@]} -gt 0 ] || suites=("${all_suites[@]}")

start=$(date +%s)
logdir=${PGFS_TEST_LOGDIR:-$(mktemp -d /tmp/pgfs-test.XXXXXX)}
mkdir -p "$logdir"
chmod 755 "$logdir"
: >"$logdir/counts"

finish() {
	local passed=0 failed=0 suite p f note
	echo
	echo "== summary (logs in $logdir, $(( $(date +%s) - start )) s)"
	while read -r suite p f note; do
		printf '   %-10s %5s ok %5s not ok   %s\n' "$suite" "$p" "$f" "$note"
		passed=$((passed + p))
		failed=$((failed + f))
	done <"$logdir/counts"
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ]
	exit
}

if ! pgfs_install_deps; then
	echo "setup 0 1 package installation failed" >>"$logdir/counts"
	finish
fi
if ! pgfs_build "$logdir/build.log"; then
	echo "build 0 1 make WERROR=1 / make install failed (see above)" >>"$logdir/counts"
	finish
fi

# One throwaway cluster for every suite.  -t keeps it in a private directory,
# so concurrent runs on one machine do not collide over the "regress" cluster.
# A free port: another pg_virtualenv on this machine would otherwise take 5432 too.
if [ -z "${PGPORT:-}" ]; then
	for p in $(seq 54320 54420); do
		if [ ! -e "/var/run/postgresql/.s.PGSQL.$p" ] &&
		   ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			export PGPORT=$p
			break
		fi
	done
fi
pgfs_log "running suites: ${suites[*]} (port ${PGPORT:-default})"
pg_virtualenv -t -v "$PG_MAJOR" bash "$here/suites.sh" "$logdir" "${suites[@]}"
rc=$?
# A suite that did not report at all could not run.
for s in "${suites[@]}"; do
	grep -q "^$s " "$logdir/counts" ||
		echo "$s 0 1 did not run (pg_virtualenv exit $rc)" >>"$logdir/counts"
done
finish
