# bench/common.sh -- what the benchmarks share; sourced, not run.
#
# The sourcing script sets here, root, self and build (1: --build), and
# bench_name (for messages) before sourcing.

log() { printf '== %s %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { echo "$bench_name: $*" >&2; exit 1; }
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }
val() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
now() { date +%s.%N; }
calc() { awk "BEGIN { print $* }"; }

# bench_virtualenv [-o SETTING ...] -- ARGS...: without PGHOST, build and
# install if asked, then run the script again (with ARGS) inside a throwaway
# cluster: -t, a private directory, so that concurrent runs do not collide;
# durability back on (pg_virtualenv turns fsync off); shared_buffers 256MB,
# no checkpoint by time inside a run (the scripts checkpoint between
# phases), no JIT, whose compile time is noise at these query sizes; and
# the script's own settings.  With PGHOST, nothing: the server is the
# caller's.
bench_virtualenv() {
	local opts=()
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	[ $# -gt 0 ] && shift
	[ -z "${PGHOST:-}" ] || return 0
	if [ "$build" = 1 ]; then
		log "building and installing pgfs"
		make -C "$root" -s >/dev/null && make -C "$root" -s install >/dev/null ||
			die "make or make install failed"
	fi
	command -v pg_virtualenv >/dev/null || die "pg_virtualenv (postgresql-common) is not installed"
	exec pg_virtualenv -t -v 15 -o fsync=on -o synchronous_commit=on -o full_page_writes=on \
		-o shared_buffers=256MB -o checkpoint_timeout=30min -o jit=off "${opts[@]}" "$self" "$@"
}

# The version measured: HEAD, and whether the tree differs from it in what
# the figures depend on (the daemon too unless FUSE_BIN names another build).
bench_commit() {	# paths...
	local c
	c=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
	if [ -n "$(git -C "$root" status --porcelain -- "$@" 2>/dev/null)" ]; then
		c="$c (plus uncommitted changes)"
	fi
	echo "$c"
}

# For the mount benchmarks (fs_bench.sh, scale.sh): connect over the
# server's Unix socket if it has one (the usual local setup; pg_virtualenv
# exports PGHOST=localhost, and authenticates local connections by peer,
# which root is not: let its password in over the socket too), create
# database $db and run setup file $1 in it, and check durability.  Sets
# commit, cluster, transport, pss (pg_stat_statements usable), pgversion,
# settings (those named, plus $2's comma-separated names) and datadir.
bench_mount_setup() {	# setup.sql [extra,settings]
	local sockdir hba extra=${2:-}
	commit=$(bench_commit src include 'pgfs--*.sql' $([ -z "${FUSE_BIN:-}" ] && echo fuse))
	[ -z "${FUSE_BIN:-}" ] || commit="$commit, pgfs-fuse ${FUSE_LABEL:-of another build (FUSE_BIN)}"
	cluster=$(pg_lsclusters -h 2>/dev/null | awk -v p="$PGPORT" '$3 == p { print $1, $2; exit }')
	sockdir=$(val "SHOW unix_socket_directories" | cut -d, -f1 | sed 's/^ *//')
	if [ -n "$sockdir" ] && [ -S "$sockdir/.s.PGSQL.$PGPORT" ]; then
		if [ -n "${PG_CLUSTER_CONF_ROOT:-}" ] && [ -n "$cluster" ] && [ -n "${PGPASSWORD:-}" ]; then
			hba=$PG_CLUSTER_CONF_ROOT/${cluster/ //}/pg_hba.conf
			if [ -f "$hba" ] && ! grep -q '^local all all scram-sha-256' "$hba"; then
				sed -i '1i local all all scram-sha-256' "$hba"
				val "SELECT pg_reload_conf()" >/dev/null
			fi
		fi
		PGHOST=$sockdir psql -X -At -c "SELECT 1" >/dev/null 2>&1 && export PGHOST=$sockdir
	fi
	transport=$([ "${PGHOST#/}" != "$PGHOST" ] && echo "Unix socket" || echo "TCP ($PGHOST)")

	psql -X -At -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$db'" | grep -q 1 &&
		die "database $db exists; drop it or set BENCH_DB"
	createdb "$db"
	export PGDATABASE=$db
	q -f "$1" >/dev/null || die "setup failed (is pgfs installed? make && make install)"
	# where the mount's time goes: statements per operation (if preloaded)
	pss=0
	psql -X -q -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" -c "SELECT pg_stat_statements_reset()" \
		>/dev/null 2>&1 && pss=1
	[ "$(val "SELECT count(*) FROM pg_settings WHERE name IN ('fsync', 'synchronous_commit', 'full_page_writes') AND setting = 'on'")" = 3 ] ||
		die "fsync, synchronous_commit and full_page_writes must be on: figures without durability mislead"
	pgversion=$(val "SHOW server_version")
	settings=$(val "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name)
	                  FROM pg_settings WHERE name IN ('shared_buffers', 'fsync', 'synchronous_commit',
	                       'full_page_writes', 'max_wal_size', 'autovacuum', 'jit'
	                       $(for s in ${extra//,/ }; do printf ", '%s'" "$s"; done))")
	datadir=$(val "SHOW data_directory" 2>/dev/null || true)
}
