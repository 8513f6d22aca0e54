#!/usr/bin/env bash
# scripts/suites.sh -- run pgfs's test suites against the cluster in PG* env
#
#   scripts/suites.sh LOGDIR SUITE...
#
# Called by scripts/test.sh inside pg_virtualenv (which exports PGHOST,
# PGPORT, PGUSER, PGPASSWORD, PGDATABASE for a superuser), from the repo
# root.  For each suite it appends "suite passed failed note" to
# LOGDIR/counts, and prints why a suite failed (regression.diffs, the failing
# assertions) so CI logs show it.  A suite that cannot run counts as a failure.

set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/common.sh
. "$here/common.sh"
cd "$PGFS_ROOT" || exit 1

logdir=$1
shift
status=0
# Each suite gets at most PGFS_SUITE_TIMEOUT seconds, and all of them
# together PGFS_TOTAL_TIMEOUT, so that a hung suite cannot take the run
# past its budget (CI allows 90 minutes; the whole run normally takes 2-3).
deadline=$(( $(date +%s) + ${PGFS_TOTAL_TIMEOUT:-1500} ))
suite_timeout=0
budget() {	# set suite_timeout for the next suite; fail when none is left
	local left=$(( deadline - $(date +%s) ))
	suite_timeout=${PGFS_SUITE_TIMEOUT:-600}
	[ "$left" -ge "$suite_timeout" ] || suite_timeout=$left
	[ "$suite_timeout" -ge 10 ]
}

record() {	# suite passed failed note...
	echo "$*" >>"$logdir/counts"
	[ "$3" -eq 0 ] || status=1
}

banner() { printf '\n== %s\n' "$*"; }

# Print a file, at most $2 lines (default 400), saying where the rest is.
show() {
	local file=$1 max=${2:-400} n
	[ -f "$file" ] || return 0
	n=$(wc -l <"$file")
	echo "---- $file ($n lines) ----"
	head -n "$max" "$file"
	[ "$n" -le "$max" ] || echo "---- ... $((n - max)) more lines in $file ----"
}

# Count pg_regress / pg_isolation_regress results in a log: "passed failed".
# Understands both the PostgreSQL <= 15 format ("test foo ... ok 12 ms",
# "     foo ... FAILED") and the TAP format of 16+ ("ok 1 - foo", "not ok").
count_pg_regress() {
	awk '
		/^ *not ok [0-9]+ /                         { f++; next }
		/^ *ok [0-9]+ +[-+] /                       { p++; next }
		/^(test +)?[^ ]+ +\.\.\. +ok( |$)/          { p++; next }
		/^ +[^ ]+ +\.\.\. +ok( |$)/                 { p++; next }
		/\.\.\. +(FAILED|failed)/                   { f++; next }
		END { printf "%d %d\n", p, f }' "$1"
}

# Count a TAP::Harness (prove, pg_prove) run: "files failed_files tests
# failed_tests", or nothing when the harness printed no summary.  A file is
# failed when the "Test Summary Report" lists it; failed tests are those the
# harness reports as "Failed X/Y subtests" (which counts planned tests that
# never ran) or, failing that, the report's "Failed: X".
count_harness() {
	awk '
		/^Files=[0-9]+, Tests=[0-9]+/ {
			split($1, a, "="); files = a[2] + 0
			split($2, b, "="); tests = b[2] + 0
			seen = 1
		}
		/^[^ ]+ +\(Wstat: / {
			ff++
			if (match($0, /Failed: [0-9]+/))
				fr += substr($0, RSTART + 8, RLENGTH - 8)
		}
		/^Failed [0-9]+\/[0-9]+ subtests/ {
			split($2, c, "/"); fs += c[1]
		}
		END {
			if (seen)
				printf "%d %d %d %d\n", files, ff, tests, (fs > fr ? fs : fr)
		}' "$1"
}

# pg_regress (sql/) or isolation (specs/) through PGXS's installcheck.  They
# run as two make invocations so that a failing sql/ suite does not keep the
# isolation suite from running.
run_installcheck() {
	local suite=$1 dir=$2 ext=$3 diffs=$4 log="$logdir/$1.log" rc p f
	shift 4
	banner "$suite: make installcheck $*"
	if ! compgen -G "$dir/*.$ext" >/dev/null; then
		echo "no $dir/*.$ext"
		record "$suite" 0 0 "no $dir/*.$ext"
		return
	fi
	rm -f "$diffs"
	timeout --kill-after=30 "$suite_timeout" \
		make installcheck PG_CONFIG="$PGFS_PG_CONFIG" "$@" >"$log" 2>&1
	rc=$?
	cat "$log"
	read -r p f < <(count_pg_regress "$log")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		f=1	# the harness itself failed (CREATE EXTENSION, a crash, a timeout)
		record "$suite" "$p" "$f" "make installcheck exited $rc"
	else
		record "$suite" "$p" "$f" ""
	fi
	if [ "$rc" -ne 0 ] || [ "$f" -ne 0 ]; then
		show "$diffs" 1000
	fi
}

# A fresh database with the extension (and more, e.g. pgtap): createdb_ext DB EXT...
createdb_ext() {
	local db=$1 ext
	shift
	dropdb --if-exists "$db" >/dev/null 2>&1
	createdb "$db" || return 1
	for ext in "$@"; do
		psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "CREATE EXTENSION $ext" || return 1
	done
}

run_pgtap() {
	local log="$logdir/pgtap.log" rc files ff tests ft
	local -a tests_sql
	banner "pgtap: pg_prove test/*.sql"
	mapfile -t tests_sql < <(compgen -G 'test/*.sql' | sort)
	if [ ${#tests_sql[@]} -eq 0 ]; then
		record pgtap 0 0 "no test/*.sql"
		return
	fi
	if ! createdb_ext pgfs_tap pgtap pgfs >"$log" 2>&1; then
		cat "$log"
		record pgtap 0 1 "could not create a database with pgtap and pgfs"
		return
	fi
	# a runaway statement fails its file instead of holding up the run
	PGOPTIONS="${PGOPTIONS:-} -c statement_timeout=${PGFS_STATEMENT_TIMEOUT:-120s}" \
		timeout --kill-after=30 "$suite_timeout" \
		pg_prove -d pgfs_tap "${tests_sql[@]}" >>"$log" 2>&1
	rc=$?
	cat "$log"
	read -r files ff tests ft < <(count_harness "$log")
	if [ -z "${files:-}" ]; then
		record pgtap 0 1 "pg_prove printed no summary (exit $rc)"
	elif [ "$rc" -ne 0 ] && [ "$ff" -eq 0 ]; then
		record pgtap "$files" 1 "$tests assertions; pg_prove exited $rc"
	else
		record pgtap "$((files - ff))" "$ff" "files; $tests assertions ran, $ft failed or did not run"
	fi
}

# A script suite that prints TAP and "# SUITE: P passed, F failed", run in a
# fresh database with the extension: run_script SUITE SCRIPT
run_script() {
	local suite=$1 script=$2 log="$logdir/$1.log" rc line p f
	banner "$suite: $script"
	if [ ! -f "$script" ]; then
		record "$suite" 0 0 "no $script"
		return
	fi
	if ! createdb_ext "pgfs_$suite" pgfs >"$log" 2>&1; then
		cat "$log"
		record "$suite" 0 1 "could not create a database with pgfs"
		return
	fi
	PGDATABASE="pgfs_$suite" timeout --kill-after=30 "$suite_timeout" \
		bash "$script" </dev/null >>"$log" 2>&1
	rc=$?
	cat "$log"
	line=$(grep -E "^# $suite: [0-9]+ passed, [0-9]+ failed" "$log" | tail -n 1)
	if [ -z "$line" ]; then
		record "$suite" 0 1 "$script printed no summary (exit $rc)"
		return
	fi
	p=$(sed -E "s/^# $suite: ([0-9]+) passed, ([0-9]+) failed.*/\1/" <<<"$line")
	f=$(sed -E "s/^# $suite: ([0-9]+) passed, ([0-9]+) failed.*/\2/" <<<"$line")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		record "$suite" "$p" 1 "$script exited $rc"
	else
		record "$suite" "$p" "$f" ""
	fi
}

# t/*.pl: PostgreSQL::Test::Cluster makes its own clusters and initdb refuses
# to run as root.  t/run.sh (when the tree has it) knows how to run them as
# an ordinary user, with FUSE mounts; otherwise PGXS's installcheck with
# TAP_TESTS=1 runs them, as postgres in a copy of the tree when we are root.
run_tap() {
	local log="$logdir/tap.log" work rc files ff tests ft f
	banner "tap: t/*.pl"
	if ! compgen -G 't/*.pl' >/dev/null; then
		record tap 0 0 "no t/*.pl"
		return
	fi
	if [ -f t/run.sh ]; then
		env -u PGHOST -u PGPORT -u PGUSER -u PGPASSWORD -u PGDATABASE \
			PGFS_TAP_TIMEOUT="$suite_timeout" PGFS_TAP_LOGDIR="$logdir/tap-logs" \
			timeout --kill-after=60 $((suite_timeout + 60)) bash t/run.sh </dev/null >"$log" 2>&1
		rc=$?
	else
		work=$(mktemp -d /tmp/pgfs-tap.XXXXXX)
		rsync -a --exclude .git --exclude results --exclude output_iso ./ "$work/"
		[ "$(id -u)" != 0 ] || chown -R postgres: "$work"
		(
			cd "$work" || exit 1
			unset PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE PGSYSCONFDIR PG_CLUSTER_CONF_ROOT
			cmd=(make installcheck PG_CONFIG="$PGFS_PG_CONFIG" REGRESS= ISOLATION= TAP_TESTS=1
				PROVE_FLAGS=--timer)
			[ "$(id -u)" != 0 ] || cmd=(runuser -u postgres -- "${cmd[@]}")
			timeout --kill-after=30 "$suite_timeout" "${cmd[@]}"
		) </dev/null >"$log" 2>&1
		rc=$?
		if [ "$rc" -ne 0 ]; then
			for f in "$work"/tmp_check/log/regress_log_*; do show "$f" 300 >>"$log"; done
		fi
		rm -rf "$work"
	fi
	cat "$log"
	read -r files ff tests ft < <(count_harness "$log")
	if [ -z "${files:-}" ]; then
		record tap 0 1 "prove printed no summary (exit $rc)"
	elif [ "$rc" -ne 0 ] && [ "$ff" -eq 0 ]; then
		record tap "$files" 1 "$tests assertions; the TAP run exited $rc"
	else
		record tap "$((files - ff))" "$ff" "files; $tests assertions ran, $ft failed or did not run"
	fi
}

for suite in "$@"; do
	if ! budget; then
		banner "$suite: not run, the time budget (PGFS_TOTAL_TIMEOUT) is spent"
		record "$suite" 0 1 "not run: out of time"
		continue
	fi
	case $suite in
		regress)
			run_installcheck regress sql sql regression.diffs ISOLATION= TAP_TESTS= ;;
		isolation)
			run_installcheck isolation specs spec output_iso/regression.diffs REGRESS= TAP_TESTS= ;;
		pgtap) run_pgtap ;;
		fuse) run_script fuse test/fuse/run.sh ;;
		limits) run_script limits test/limits/run.sh ;;
		policy) run_script policy test/policy/run.sh ;;
		sanitize) run_script sanitize test/sanitize/run.sh ;;
		tap) run_tap ;;
		*) echo "unknown suite $suite" >&2; record "$suite" 0 1 "unknown suite" ;;
	esac
done
exit "$status"
