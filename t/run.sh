#!/usr/bin/env bash
# t/run.sh -- run pgfs's TAP tests (t/*.pl) on real clusters
#
#   t/run.sh [TEST...]        TEST is a file name in t/, e.g. 001_pitr.pl (default: all)
#
# Runs from any directory, as root or as an ordinary user, against the
# installed PostgreSQL and pgfs (make install first).  Prints prove's TAP
# and summary and exits non-zero when a test failed or could not run.
#
# What PostgreSQL's TAP framework (PostgreSQL::Test::Cluster, ::Utils) needs
# and where it comes from here:
#   - its modules: PGXS ships them in $(pg_config --pkglibdir)/pgxs/src/test/perl
#     (Debian: postgresql-server-dev-15, plus libipc-run-perl); prove -I that.
#   - the server programs (initdb, pg_ctl, pg_basebackup, psql, pg_dump) first
#     on PATH: $(pg_config --bindir).
#   - PG_REGRESS: Cluster->init runs "$PG_REGRESS --config-auth DATADIR"; PGXS
#     ships pg_regress in .../pgxs/src/test/regress.
#   - TESTDIR: tmp_check/ (data directories, logs, port locks) is created under
#     $TESTDIR, or under the current directory without it.  Sockets go to a
#     short directory under /tmp.
#   - not root: initdb and postgres refuse to run as root, so as root every test
#     runs as PGFS_TAP_USER (default postgres) in a private copy of t/ under
#     /tmp, owned by that user.
#   - mounts (skipped with a reason when impossible): pgfs-fuse and fusermount3
#     on PATH, and /dev/fuse readable and writable by the test user.  Debian
#     normally makes /dev/fuse mode 0666; where it is 0600 (some containers)
#     and this script runs as root, it sets 0666 so that the test user's mounts
#     work (fusermount3, which is setuid root, then does the mount(2)).  Set
#     PGFS_TAP_NO_FUSE_CHMOD=1 to leave /dev/fuse alone (mount tests then skip).
#
# Environment: PG_CONFIG (default: the PostgreSQL 15 one), PGFS_TAP_USER,
# PROVE_FLAGS (default -v), PGFS_TAP_TIMEOUT (seconds for the whole run,
# default 900; leftover daemons, mounts and servers are stopped after it),
# PGFS_TAP_KEEP=1 keeps the work directory, PG_TEST_NOCLEAN=1 keeps the
# data directories too, PGFS_CRASH_* and PGFS_LOAD_* (the long modes and
# seeds of t/101 and t/102) pass through to the tests, and
# PGFS_TAP_LOGDIR=DIR receives a copy of every log (server logs, pgfs-fuse
# output, regress_log_*).  On failure the work directory is kept and the end
# of each failing test's log is printed.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

if [ -z "${PG_CONFIG:-}" ]; then
	if [ -x /usr/lib/postgresql/15/bin/pg_config ]; then
		PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
	else
		PG_CONFIG=pg_config
	fi
fi
bindir=$("$PG_CONFIG" --bindir) || { echo "run.sh: $PG_CONFIG failed" >&2; exit 2; }
pgxs=$(cd "$(dirname "$("$PG_CONFIG" --pgxs)")/../.." && pwd)    # .../lib/pgxs
perllib=$pgxs/src/test/perl
pg_regress=$pgxs/src/test/regress/pg_regress
for f in "$perllib/PostgreSQL/Test/Cluster.pm" "$pg_regress"; do
	[ -e "$f" ] || { echo "run.sh: $f is missing (install the server dev package)" >&2; exit 2; }
done
perl -MIPC::Run -e 1 2>/dev/null || { echo "run.sh: Perl's IPC::Run is missing (libipc-run-perl)" >&2; exit 2; }

# the tests to run
tests=()
if [ $# -gt 0 ]; then
	for t in "$@"; do
		t=$(basename "$t")
		[ -f "$here/$t" ] || { echo "run.sh: no test t/$t" >&2; exit 2; }
		tests+=("t/$t")
	done
else
	for t in "$here"/*.pl; do
		tests+=("t/$(basename "$t")")
	done
fi

user=$(id -un)
if [ "$(id -u)" = 0 ]; then
	user=${PGFS_TAP_USER:-postgres}
	id "$user" >/dev/null 2>&1 || { echo "run.sh: no user $user to run the tests as" >&2; exit 2; }
	if [ -c /dev/fuse ] && [ -z "${PGFS_TAP_NO_FUSE_CHMOD:-}" ] &&
		! runuser -u "$user" -- sh -c ': <>/dev/fuse' 2>/dev/null; then
		chmod 0666 /dev/fuse &&
			echo "# run.sh: set /dev/fuse to mode 0666 (Debian's default) so that $user can mount"
	fi
fi

work=$(mktemp -d /tmp/pgfs-tap.XXXXXX) || exit 2

# What a killed or timed-out test leaves behind: pgfs-fuse daemons, their
# mounts and postmasters, all recognisable by the work directory on their
# command lines.  (Tests clean up after themselves; this is for when they
# cannot.)  Command lines are read with builtins so that no helper process
# matches itself.
leftovers() {	# SIGNAL PROGRAM-NAME
	local f pid args
	for f in /proc/[0-9]*/cmdline; do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[ "$pid" != $$ ] || continue
		mapfile -d '' args 2>/dev/null <"$f" || continue
		[ ${#args[@]} -gt 0 ] && [ "${args[0]##*/}" = "$2" ] || continue
		case " ${args[*]} " in
			*" $work/"*) kill -s "$1" "$pid" 2>/dev/null ;;
		esac
	done
}
cleanup() {
	local dev mp rest
	leftovers TERM pgfs-fuse
	while read -r dev mp rest; do
		case $mp in
			"$work"/*) fusermount3 -u -z "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null ;;
		esac
	done </proc/mounts
	leftovers QUIT postgres
}
trap cleanup EXIT
mkdir -p "$work/t" "$work/test"
cp "$here"/*.pl "$here"/*.pm "$work/t/"
# the pgbench scripts of the concurrency test, found next to t/ as in the tree
[ ! -d "$here/../test/load" ] || cp -r "$here/../test/load" "$work/test/"
[ "$(id -u)" != 0 ] || chown -R "$user:" "$work"
chmod 755 "$work"

# A clean environment: no PG* settings of the caller's cluster (the
# framework drops most, not PGSYSCONFDIR and the like), a UTF-8 locale so
# initdb makes UTF-8 databases.
envs=(
	"PATH=$bindir:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	"HOME=$(getent passwd "$user" | cut -d: -f6)"
	"USER=$user" "LOGNAME=$user"
	"LANG=C.UTF-8"
	"TESTDIR=$work"
	"PG_REGRESS=$pg_regress"
	"PG_TEST_TIMEOUT_DEFAULT=${PG_TEST_TIMEOUT_DEFAULT:-120}"
)
[ -z "${PG_TEST_NOCLEAN:-}" ] || envs+=("PG_TEST_NOCLEAN=$PG_TEST_NOCLEAN")
# long modes and seeds of the crash and load tests pass through
while IFS='=' read -r name _; do
	envs+=("$name=${!name}")
done < <(env | grep -E '^PGFS_(CRASH|LOAD)_[A-Z_]*=')
cmd=(env -i "${envs[@]}" prove ${PROVE_FLAGS:--v} -I "$perllib" -I "$work/t" "${tests[@]}")

start=$(date +%s)
cd "$work" || exit 2
[ "$(id -u)" != 0 ] || cmd=(runuser -u "$user" -- "${cmd[@]}")
timeout --kill-after=30 "${PGFS_TAP_TIMEOUT:-900}" "${cmd[@]}" </dev/null 2>&1 | tee "$work/prove.out"
rc=${PIPESTATUS[0]}
[ "$rc" -ne 124 ] || echo "# run.sh: timed out after ${PGFS_TAP_TIMEOUT:-900} s"
cleanup
echo "# run.sh: ${#tests[@]} test files in $(( $(date +%s) - start )) s, prove exit $rc"

if [ -n "${PGFS_TAP_LOGDIR:-}" ]; then
	mkdir -p "$PGFS_TAP_LOGDIR" && cp -r "$work/tmp_check/log/." "$PGFS_TAP_LOGDIR/" 2>/dev/null
fi
if [ "$rc" -ne 0 ]; then
	failed=$(sed -nE 's|^t/([^ ]+)\.pl +\(Wstat.*|\1|p' "$work/prove.out")
	# no summary (a timeout, a crash of prove): show every test's log
	grep -q '^Files=' "$work/prove.out" ||
		failed=$(for t in "${tests[@]}"; do basename "$t" .pl; done)
	for t in $failed; do
		log=$work/tmp_check/log/regress_log_$t
		[ -f "$log" ] || continue
		echo "# ---- last 150 lines of regress_log_$t ----"
		tail -n 150 "$log" | sed 's/^/#   /'
	done
	echo "# run.sh: logs kept in $work/tmp_check/log"
elif [ -z "${PGFS_TAP_KEEP:-}" ]; then
	rm -rf "$work"
fi
exit "$rc"
