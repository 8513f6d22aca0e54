#!/usr/bin/env bash
# scripts/start.sh -- start pgfs: a local cluster with the extension, mounted
#
#   scripts/start.sh [start]   install, build, start the cluster, mount
#   scripts/start.sh stop      unmount and stop the cluster
#   scripts/start.sh status    say what runs where
#
# By default (as root) it keeps a cluster of its own, "15/pgfs" on port
# $PGFS_PORT (5433), made with pg_createcluster and owned by postgres, with a
# login role and a database both named pgfs.  The role's password is kept in
# $PGFS_STATE_DIR (/var/lib/pgfs) in a pgpass file readable only by root.
# The filesystem is mounted at $PGFS_MOUNT (/mnt/pgfs) with pgfs-fuse when
# the daemon has been built.
#
# With PGFS_CONNINFO="host=... dbname=..." it uses that database instead: it
# only runs CREATE EXTENSION IF NOT EXISTS pgfs there (and ALTER EXTENSION
# pgfs UPDATE, to the version just built) and mounts it.
#
# Running it again is harmless: what already runs is left alone.

set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=scripts/common.sh
. "$here/common.sh"

action=${1:-start}
mnt=${PGFS_MOUNT:-/mnt/pgfs}
port=${PGFS_PORT:-5433}
cluster=${PGFS_CLUSTER:-pgfs}
statedir=${PGFS_STATE_DIR:-/var/lib/pgfs}
pgpass=$statedir/pgpass
fuselog=$statedir/pgfs-fuse.log

own_cluster() { [ -z "${PGFS_CONNINFO:-}" ]; }

cluster_exists() {
	pg_lsclusters -h 2>/dev/null | awk -v v="$PG_MAJOR" -v c="$cluster" \
		'$1 == v && $2 == c { found = 1 } END { exit !found }'
}

cluster_online() {
	pg_lsclusters -h 2>/dev/null | awk -v v="$PG_MAJOR" -v c="$cluster" \
		'$1 == v && $2 == c && $4 == "online" { found = 1 } END { exit !found }'
}

# psql as the postgres superuser over the cluster's socket
su_psql() {
	runuser -u postgres -- "$PGFS_PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -p "$port" "$@"
}

conninfo() {
	if own_cluster; then
		echo "host=localhost port=$port dbname=pgfs user=pgfs passfile=$pgpass"
	else
		echo "$PGFS_CONNINFO"
	fi
}

port_free() {
	! pg_lsclusters -h 2>/dev/null | awk -v p="$1" '$3 == p { found = 1 } END { exit !found }' &&
		! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

start_cluster() {
	local portopt=(--port "$port")
	if ! cluster_exists; then
		if [ -z "${PGFS_PORT:-}" ] && ! port_free "$port"; then
			pgfs_log "port $port is taken; letting pg_createcluster choose one"
			portopt=()
		fi
		pgfs_log "creating cluster $PG_MAJOR/$cluster"
		pg_createcluster "$PG_MAJOR" "$cluster" "${portopt[@]}" >/dev/null
	fi
	port=$(pg_conftool -s "$PG_MAJOR" "$cluster" show port)
	if ! cluster_online; then
		pgfs_log "starting cluster $PG_MAJOR/$cluster"
		pg_ctlcluster "$PG_MAJOR" "$cluster" start
	fi
}

# role and database pgfs, the extension, and a pgpass file for the role
setup_database() {
	local password
	mkdir -p "$statedir"
	chmod 700 "$statedir"
	if [ -s "$statedir/password" ]; then
		password=$(cat "$statedir/password")
	else
		password=$(head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
		(umask 077 && printf '%s\n' "$password" >"$statedir/password")
	fi
	(umask 077 && printf 'localhost:%s:pgfs:pgfs:%s\n' "$port" "$password" >"$pgpass")

	su_psql -d postgres <<-EOF
		SELECT format('CREATE ROLE pgfs LOGIN')
		 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pgfs') \gexec
		ALTER ROLE pgfs PASSWORD '$password';
		SELECT 'CREATE DATABASE pgfs OWNER pgfs'
		 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'pgfs') \gexec
	EOF
	su_psql -d pgfs <<-EOF
		CREATE EXTENSION IF NOT EXISTS pgfs;
		ALTER EXTENSION pgfs UPDATE;
		GRANT pgfs_admin TO pgfs;
	EOF
}

is_mounted() { mountpoint -q "$mnt" 2>/dev/null; }

# a mount whose daemon died: "Transport endpoint is not connected"
clear_stale_mount() {
	if ! stat "$mnt" >/dev/null 2>&1 && grep -qs " $mnt fuse" /proc/mounts; then
		pgfs_log "clearing a stale mount at $mnt"
		fusermount3 -u -z "$mnt" 2>/dev/null || umount -l "$mnt" || true
	fi
}

mount_pgfs() {
	local bin i
	if ! bin=$(pgfs_fuse_binary); then
		pgfs_log "pgfs-fuse is not built: not mounting (the SQL API works without it)"
		return 0
	fi
	clear_stale_mount
	if is_mounted; then
		return 0
	fi
	mkdir -p "$mnt" "$statedir"
	pgfs_log "mounting at $mnt (log: $fuselog)"
	# in the foreground of its own session, so that its log is kept
	setsid "$bin" "$(conninfo)" "$mnt" -f -o allow_other,default_permissions \
		</dev/null >>"$fuselog" 2>&1 &
	echo $! >"$statedir/pgfs-fuse.pid"
	for i in $(seq 1 100); do
		is_mounted && return 0
		sleep 0.1
	done
	tail -n 20 "$fuselog" >&2 || true
	pgfs_die "pgfs-fuse did not mount $mnt"
}

unmount_pgfs() {
	clear_stale_mount
	if is_mounted; then
		pgfs_log "unmounting $mnt"
		fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" || umount -l "$mnt"
	fi
	rm -f "$statedir/pgfs-fuse.pid"
}

report() {
	echo
	echo "pgfs is running."
	if own_cluster; then
		echo "  SQL:   psql \"$(conninfo)\""
		echo "         (or as the superuser: runuser -u postgres -- psql -p $port -d pgfs)"
	else
		echo "  SQL:   psql \"$(conninfo | sed -E 's/password=[^ ]*/password=.../')\""
	fi
	echo "         e.g. SELECT pgfs_write('/hello.txt', 'hello'::bytea); SELECT * FROM pgfs_readdir('/');"
	if is_mounted; then
		echo "  mount: $mnt"
	else
		echo "  mount: none (pgfs-fuse not built)"
	fi
	echo "  stop:  scripts/start.sh stop"
}

if own_cluster && cluster_exists; then
	port=$(pg_conftool -s "$PG_MAJOR" "$cluster" show port)
fi

case $action in
	start)
		if own_cluster && [ "$(id -u)" != 0 ]; then
			pgfs_die "run as root, or set PGFS_CONNINFO to use an existing database"
		fi
		pgfs_install_deps
		pgfs_build
		if own_cluster; then
			start_cluster
			setup_database
		else
			"$PGFS_PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$PGFS_CONNINFO" \
				-c 'CREATE EXTENSION IF NOT EXISTS pgfs' -c 'ALTER EXTENSION pgfs UPDATE'
		fi
		mount_pgfs
		report
		;;
	stop)
		unmount_pgfs
		if own_cluster && cluster_online; then
			pgfs_log "stopping cluster $PG_MAJOR/$cluster"
			pg_ctlcluster "$PG_MAJOR" "$cluster" stop
		fi
		;;
	status)
		if own_cluster; then
			pg_lsclusters | awk -v v="$PG_MAJOR" -v c="$cluster" 'NR == 1 || ($1 == v && $2 == c)'
		fi
		if is_mounted; then echo "mounted at $mnt"; else echo "not mounted at $mnt"; fi
		;;
	*)
		sed -n '2,17s/^# \{0,1\}//p' "$0"
		exit 2
		;;
esac
