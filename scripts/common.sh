# scripts/common.sh -- shared by scripts/test.sh and scripts/start.sh
#
# Sourced, not run.  Installs what pgfs needs from Debian 12's packages (only
# when something is missing, so reruns are fast), then builds and installs
# the extension and the pgfs-fuse daemon with warnings as errors.
#
# Settings (environment):
#   PGFS_SKIP_APT=1     never call apt-get (fail later if something is missing)
#   PGFS_SKIP_BUILD=1   do not run make / make install
#   PG_MAJOR            PostgreSQL major version to build for (default 15)

PGFS_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_MAJOR=${PG_MAJOR:-15}
PGFS_PG_CONFIG=/usr/lib/postgresql/$PG_MAJOR/bin/pg_config
PGFS_PG_BINDIR=/usr/lib/postgresql/$PG_MAJOR/bin

PGFS_PACKAGES=(
	build-essential
	"postgresql-$PG_MAJOR"
	"postgresql-server-dev-$PG_MAJOR"
	"postgresql-$PG_MAJOR-pgtap"
	libtap-parser-sourcehandler-pgtap-perl
	liblz4-dev
	libfuse3-dev
	fuse3
	libpq-dev
	pkg-config
	libipc-run-perl
	python3
	sqlite3
	git
	rsync
	fio
	stress-ng
	dbench
	acl
	pgbackrest
	postgresql-contrib
)

pgfs_log() { printf '%s\n' "== $*" >&2; }
pgfs_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Print the packages of PGFS_PACKAGES that are not installed.
pgfs_missing_packages() {
	local p status
	for p in "${PGFS_PACKAGES[@]}"; do
		status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null) || status=
		case $status in
			ii*) ;;
			*) printf '%s\n' "$p" ;;
		esac
	done
}

# Install missing packages with apt-get; a no-op when all are present.
pgfs_install_deps() {
	local missing
	if ! command -v dpkg-query >/dev/null; then
		pgfs_log "no dpkg-query: not a Debian system, skipping package installation"
		return 0
	fi
	mapfile -t missing < <(pgfs_missing_packages)
	if [ "${#missing[@]}" -eq 0 ]; then
		return 0
	fi
	if [ -n "${PGFS_SKIP_APT:-}" ]; then
		pgfs_log "missing packages (PGFS_SKIP_APT is set, not installing): ${missing[*]}"
		return 0
	fi
	if [ "$(id -u)" != 0 ]; then
		pgfs_log "missing packages: ${missing[*]}; run as root or install them yourself"
		return 1
	fi
	pgfs_log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q || return 1
	apt-get install -y -q --no-install-recommends "${missing[@]}" || return 1
}

# Build with -Werror and install.  The build log goes to $1 (default: a
# temporary file); it is printed when the build fails.
pgfs_build() {
	local log=${1:-$(mktemp -t pgfs-build.XXXXXX)}
	if [ -n "${PGFS_SKIP_BUILD:-}" ]; then
		return 0
	fi
	[ -x "$PGFS_PG_CONFIG" ] || { pgfs_log "$PGFS_PG_CONFIG not found"; return 1; }
	pgfs_log "building pgfs (log: $log)"
	if ! { make -C "$PGFS_ROOT" -j"$(nproc)" PG_CONFIG="$PGFS_PG_CONFIG" WERROR=1 &&
		   make -C "$PGFS_ROOT" PG_CONFIG="$PGFS_PG_CONFIG" install; } >"$log" 2>&1; then
		cat "$log" >&2
		pgfs_log "build failed"
		return 1
	fi
}

# The pgfs-fuse daemon, if it was built: print its path.
pgfs_fuse_binary() {
	local c
	for c in "$(command -v pgfs-fuse 2>/dev/null)" "$PGFS_PG_BINDIR/pgfs-fuse" \
		/usr/local/bin/pgfs-fuse /usr/bin/pgfs-fuse "$PGFS_ROOT/fuse/pgfs-fuse"; do
		if [ -n "$c" ] && [ -x "$c" ]; then
			printf '%s\n' "$c"
			return 0
		fi
	done
	return 1
}
