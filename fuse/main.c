/*
 * main.c
 *	  pgfs-fuse: mount a pgfs store (a PostgreSQL database) with FUSE.
 *
 *	  pgfs-fuse CONNINFO MOUNTPOINT [-f] [-d] [-o ro,workers=N,subdir=/p,...]
 *	  pgfs-fuse -o conninfo=CONNINFO MOUNTPOINT ...
 *
 * Options and setup; the operations are in ops.c.  The connections are
 * opened before the daemon detaches, so that a wrong conninfo or a missing
 * extension is reported on the terminal and in the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "pgfs_fuse.h"

struct pgfs_state pgfs;

enum
{
	KEY_HELP,
	KEY_VERSION,
};

#define PGFS_OPT(t, f, v) { t, offsetof(struct pgfs_config, f), v }

static const struct fuse_opt pgfs_opts[] = {
	PGFS_OPT("ro", ro, 1),
	FUSE_OPT_KEY("ro", FUSE_OPT_KEY_KEEP),	/* the kernel mounts read-only too */
	PGFS_OPT("dirsync", dirsync, 1),
	FUSE_OPT_KEY("dirsync", FUSE_OPT_KEY_KEEP),	/* shown in the mount's options */
	PGFS_OPT("conninfo=%s", conninfo, 0),
	PGFS_OPT("workers=%d", workers, 0),
	PGFS_OPT("subdir=%s", subdir, 0),
	PGFS_OPT("attr_timeout=%lf", attr_timeout, 0),
	PGFS_OPT("entry_timeout=%lf", entry_timeout, 0),
	PGFS_OPT("read_ahead_kb=%d", read_ahead_kb, 0),
	PGFS_OPT("local_locks", local_locks, 1),
	/* access times: kept by the server (the kernel leaves them to FUSE daemons) */
	PGFS_OPT("noatime", atime, PGFS_ATIME_NONE),
	FUSE_OPT_KEY("noatime", FUSE_OPT_KEY_KEEP),
	PGFS_OPT("relatime", atime, PGFS_ATIME_RELATIME),
	FUSE_OPT_KEY("relatime", FUSE_OPT_KEY_KEEP),
	PGFS_OPT("default_permissions", default_permissions, 1),
	FUSE_OPT_KEY("default_permissions", FUSE_OPT_KEY_KEEP),	/* for the kernel */
	PGFS_OPT("fsname=", has_fsname, 1),
	FUSE_OPT_KEY("fsname=", FUSE_OPT_KEY_KEEP),
	PGFS_OPT("subtype=", has_subtype, 1),
	FUSE_OPT_KEY("subtype=", FUSE_OPT_KEY_KEEP),
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_END
};

static void
usage(const char *progname)
{
	printf("usage: %s CONNINFO MOUNTPOINT [options]\n\n"
		   "CONNINFO is a libpq connection string or URI (\"\" uses PG* variables).\n\n"
		   "pgfs options:\n"
		   "    -o conninfo=CONNINFO   instead of the first argument (escape commas: \\,)\n"
		   "    -o ro                  mount read-only, never write (works on a standby)\n"
		   "    -o dirsync             mkdir, unlink, rename, ... are durable when they\n"
		   "                           return (default: at the next fsync of a directory)\n"
		   "    -o noatime             a read leaves a file's access time (default:\n"
		   "                           relatime, set when not later than the mtime)\n"
		   "    -o default_permissions the kernel checks permissions and POSIX ACLs\n"
		   "    -o workers=N           server connections (default %d)\n"
		   "    -o subdir=/PATH        mount this directory of the store\n"
		   "    -o attr_timeout=SECS   attribute cache time (default 1.0)\n"
		   "    -o entry_timeout=SECS  name cache time (default 1.0)\n"
		   "    -o read_ahead_kb=N     the mount's read-ahead (default %d; -1: the kernel's)\n"
		   "    -o local_locks         fcntl and flock locks are this mount's alone, kept by\n"
		   "                           the kernel (default: on the server, seen by every mount)\n\n",
		   progname, PGFS_DEFAULT_WORKERS, PGFS_DEFAULT_READ_AHEAD_KB);
}

/*
 * Read-ahead.  The kernel gives a FUSE mount 128 KiB, and each read request
 * it sends costs a round trip to the server: a sequential reader gets
 * little more than one request's worth per round trip.  A larger window
 * lets the kernel ask for 1 MiB at a time (max_write, which libfuse also
 * makes the request size limit) and several requests at once, which the
 * worker connections serve in parallel.  The window is the bdi's
 * read_ahead_kb in sysfs, which the kernel sets from the INIT reply; so it
 * is written once the first request shows that INIT is done.  Only root
 * may write it: otherwise the kernel's stays, and -d says so.
 */
static pthread_once_t read_ahead_once = PTHREAD_ONCE_INIT;

/* "major:minor" of the mount at pgfs.mountpoint (the last one mounted there) */
static int
mount_devno(char *out, size_t size)
{
	FILE	   *f = fopen("/proc/self/mountinfo", "r");
	char		line[8192];
	int			found = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
	{
		char		dev[64],
					mnt[4096],
				   *w,
				   *r;

		if (sscanf(line, "%*s %*s %63s %*s %4095s", dev, mnt) != 2)
			continue;
		/* mountinfo escapes space, tab, newline and backslash as \ooo */
		for (r = w = mnt; *r; w++)
		{
			if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] && r[3])
			{
				*w = (char) (((r[1] - '0') << 6) | ((r[2] - '0') << 3) | (r[3] - '0'));
				r += 4;
			}
			else
				*w = *r++;
		}
		*w = '\0';
		if (strcmp(mnt, pgfs.mountpoint) == 0)
		{
			snprintf(out, size, "%s", dev);
			found = 1;
		}
	}
	fclose(f);
	return found;
}

static void
set_read_ahead(void)
{
	char		dev[64],
				path[128],
				val[32];
	int			fd,
				n;

	if (pgfs.cfg.read_ahead_kb < 0 || !pgfs.mountpoint || !mount_devno(dev, sizeof(dev)))
		return;
	snprintf(path, sizeof(path), "/sys/class/bdi/%s/read_ahead_kb", dev);
	n = snprintf(val, sizeof(val), "%d\n", pgfs.cfg.read_ahead_kb);
	if ((fd = open(path, O_WRONLY)) < 0 || write(fd, val, n) != n)
		pgfs_log(FUSE_LOG_DEBUG, "cannot set read_ahead_kb=%d (%s): %s; the kernel's stays",
				 pgfs.cfg.read_ahead_kb, path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* From the first requests: the first call sets the read-ahead. */
void
pgfs_read_ahead_once(void)
{
	pthread_once(&read_ahead_once, set_read_ahead);
}

static const char *nonopt[2];
static int	nonopts;

static int
opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	switch (key)
	{
		case FUSE_OPT_KEY_NONOPT:
			/* CONNINFO MOUNTPOINT, or MOUNTPOINT alone with -o conninfo= */
			if (nonopts >= 2)
			{
				fprintf(stderr, "%s: too many arguments: %s\n", outargs->argv[0], arg);
				return -1;
			}
			nonopt[nonopts++] = arg;
			return 0;
		case KEY_HELP:
			usage(outargs->argv[0]);
			fuse_opt_add_arg(outargs, "-h");	/* and libfuse's part */
			return 0;
		case KEY_VERSION:
			printf("pgfs-fuse %s, libpq %d\n", PGFS_FUSE_VERSION, PQlibVersion());
			fuse_opt_add_arg(outargs, "--version");
			return 0;
		default:
			return 1;
	}
}

void
pgfs_log(enum fuse_log_level level, const char *fmt,...)
{
	char		msg[1024];
	size_t		len;
	va_list		ap;

	if (level == FUSE_LOG_DEBUG && !pgfs.cfg.debug)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* server messages end in newlines */
	for (len = strlen(msg); len > 0 && msg[len - 1] == '\n'; len--)
		msg[len - 1] = '\0';
	fuse_log(level, "pgfs-fuse: %s\n", msg);
}

/* Once detached, stderr is gone: log to syslog (fuse_log levels are syslog's). */
static void
syslog_log(enum fuse_log_level level, const char *fmt, va_list ap)
{
	vsyslog((int) level, fmt, ap);
}

static int64_t
random_client_id(void)
{
	uint64_t	id = 0;

	while (id == 0)
		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			id = ((uint64_t) getpid() << 32) ^ (uint64_t) time(NULL);
	return (int64_t) (id >> 1);	/* positive, 63 bits */
}

/* Free orphans of crashed mounts; a role without the privilege just skips it. */
static void
reclaim_orphans(void)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err;

	if ((r = pgfs_exec(SQL_RECLAIM, &p, &err)))
		pgfs_log(FUSE_LOG_DEBUG, "reclaimed %lld orphaned inodes", (long long) res_i64(r, 0, 0));
	else
		pgfs_log(FUSE_LOG_DEBUG, "pgfs_reclaim_orphans: %s", strerror(err));
	PQclear(r);
}

int
main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts = {0};
	struct fuse_loop_config *loop;
	struct fuse_session *se;
	int			ret = 1,
				settled = 1;

	pgfs.cfg.workers = PGFS_DEFAULT_WORKERS;
	pgfs.cfg.attr_timeout = 1.0;
	pgfs.cfg.entry_timeout = 1.0;
	pgfs.cfg.read_ahead_kb = PGFS_DEFAULT_READ_AHEAD_KB;
	pgfs.cfg.atime = PGFS_ATIME_RELATIME;
	pgfs.root_ino = 1;

	if (fuse_opt_parse(&args, &pgfs.cfg, pgfs_opts, opt_proc) != 0)
		goto out_args;
	if (nonopts == 2 && pgfs.cfg.conninfo)
	{
		fprintf(stderr, "%s: CONNINFO given twice\n", argv[0]);
		goto out_args;
	}
	if (nonopts == 2)
		pgfs.cfg.conninfo = strdup(nonopt[0]);
	if (nonopts > 0 && fuse_opt_add_arg(&args, nonopt[nonopts - 1]) != 0)
		goto out_args;
	if (fuse_parse_cmdline(&args, &opts) != 0)
		goto out_args;
	if (opts.show_help)
	{
		fuse_cmdline_help();
		fuse_lowlevel_help();
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version)
	{
		fuse_lowlevel_version();
		ret = 0;
		goto out_opts;
	}
	if (!pgfs.cfg.conninfo || !opts.mountpoint)
	{
		fprintf(stderr, "usage: %s CONNINFO MOUNTPOINT [options]; see --help\n", argv[0]);
		goto out_opts;
	}
	if (pgfs.cfg.workers < 1 || pgfs.cfg.workers > PGFS_MAX_WORKERS ||
		pgfs.cfg.attr_timeout < 0 || pgfs.cfg.entry_timeout < 0)
	{
		fprintf(stderr, "%s: workers must be 1..%d and timeouts >= 0\n", argv[0], PGFS_MAX_WORKERS);
		goto out_opts;
	}
	pgfs.cfg.debug = opts.debug;
	pgfs.mountpoint = realpath(opts.mountpoint, NULL);
	if ((!pgfs.cfg.has_fsname && fuse_opt_add_arg(&args, "-ofsname=pgfs") != 0) ||
		(!pgfs.cfg.has_subtype && fuse_opt_add_arg(&args, "-osubtype=pgfs") != 0))
		goto out_opts;

	/*
	 * A read's data arrives in a PGresult that libpq allocates whole, up to
	 * 1 MiB, and frees in the same thread once the kernel has it.  Mapped
	 * and unmapped each time, as glibc does with blocks over its default
	 * 128 KiB threshold, every read would fault in and zero 256 fresh pages
	 * before libpq copies into them: a sixth of the CPU time of a big
	 * read, daemon, server and kernel together.  Kept in the thread's arena
	 * instead, the pages are reused.  A fixed threshold (which also stops
	 * glibc from raising it by itself) and a trim threshold bound what the
	 * arenas keep.  Write buffers, which one thread fills and another
	 * frees, are mappings of their own (handle.c).
	 */
	mallopt(M_MMAP_THRESHOLD, 4 * PGFS_WBUF_MAX);
	mallopt(M_TRIM_THRESHOLD, 2 * PGFS_WBUF_MAX);
	pgfs.client = random_client_id();
	if (pgfs_conn_init() != 0)
		goto out_opts;
	if (!pgfs.cfg.ro)
		reclaim_orphans();

	se = fuse_session_new(&args, &pgfs_ll_ops, sizeof(pgfs_ll_ops), NULL);
	if (!se)
		goto out_conn;
	pgfs.se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;

	pgfs_log(FUSE_LOG_DEBUG, "mounted%s, client %lld, %d connections",
			 pgfs.cfg.ro ? " read-only" : "", (long long) pgfs.client, pgfs.cfg.workers);
	if (!opts.foreground)
	{
		openlog("pgfs-fuse", LOG_PID, LOG_DAEMON);
		fuse_set_log_func(syslog_log);
	}
	fuse_daemonize(opts.foreground);

	/* threads after the fork of fuse_daemonize, which would lose them */
	if (pgfs_cache_start(se) != 0 || pgfs_conn_start() != 0 || pgfs_fh_start() != 0)
	{
		pgfs_log(FUSE_LOG_ERR, "cannot start threads");
		goto out_unmount;
	}
	if (opts.singlethread)
		ret = fuse_session_loop(se);
	else if ((loop = fuse_loop_cfg_create()))
	{
		fuse_loop_cfg_set_clone_fd(loop, opts.clone_fd);
		fuse_loop_cfg_set_max_threads(loop, opts.max_threads);
		if (opts.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(loop, opts.max_idle_threads);
		ret = fuse_session_loop_mt(se, loop);
		fuse_loop_cfg_destroy(loop);
	}
out_unmount:
	pgfs_locks_stop();
	settled = pgfs_cache_stop();
	fuse_session_unmount(se);
	if (!settled)
		settled = pgfs_cache_stop();	/* the unmount ended what it waited for */
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	pgfs.se = NULL;
	if (settled)
		fuse_session_destroy(se);	/* else still used by the invalidation thread */
out_conn:
	pgfs_fh_stop();
	pgfs_conn_fini();
out_opts:
	free(opts.mountpoint);
out_args:
	fuse_opt_free_args(&args);
	free(pgfs.cfg.conninfo);
	free(pgfs.cfg.subdir);
	free(pgfs.mountpoint);
	return ret ? 1 : 0;
}
