/*
 * ops.c
 *	  The FUSE low-level operations of pgfs-fuse.
 *
 * Each operation refuses locally what it can (a write on a read-only mount,
 * an over-long name), calls one pgfs_ll_* function through conn.c and
 * replies.  The server enforces the filesystem's invariants; the kernel
 * checks permissions when mounted with default_permissions.
 *
 * pgfs inode numbers come from a sequence and are not reused by one store,
 * so the FUSE generation is 0 for every inode.  Every reply that lets the
 * kernel cache a name or an inode goes through cache.c first, and forget
 * gives the lookups back, so that the daemon can drop all of it when the
 * server behind the mount is replaced; a handler notes the cache epoch
 * before it asks the server, and a reply from an older epoch is not cached.
 *
 * Attributes the kernel caches (attr_timeout, entry_timeout) must include
 * what this mount has buffered for writing (handle.c), or the kernel would
 * shrink its idea of the file size under an appending writer; so whatever
 * returns attributes flushes the inode's buffers first.  Lookup and
 * readdirplus learn the inode from the answer, so for an inode open here
 * they flush and then ask again.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "pgfs_fuse.h"

#define FH(fi)	((struct pgfs_fh *) (uintptr_t) (fi)->fh)

#define REFUSE_IF_RO(req) \
	do { if (pgfs.cfg.ro) { fuse_reply_err(req, EROFS); return; } } while (0)
/* a request on a handle whose file is gone from the store (handle.c) */
#define REFUSE_IF_STALE(req, fi) \
	do { if ((fi) && (fi)->fh && pgfs_fh_stale(FH(fi))) { fuse_reply_err(req, ESTALE); return; } } while (0)
/* a lock taken through the handle was lost to a server crash (handle.c) */
#define REFUSE_IF_LOCKS_LOST(req, fi) \
	do { if (pgfs_fh_locks_lost(FH(fi))) { fuse_reply_err(req, EIO); return; } } while (0)
#define CHECK_NAME(req, name) \
	do { if (strlen(name) > PGFS_NAME_MAX) { fuse_reply_err(req, ENAMETOOLONG); return; } } while (0)

static void
ns_to_ts(int64_t ns, struct timespec *ts)
{
	ts->tv_sec = ns / 1000000000;
	ts->tv_nsec = ns % 1000000000;
	if (ts->tv_nsec < 0)
	{
		ts->tv_nsec += 1000000000;
		ts->tv_sec--;
	}
}

static int64_t
ts_to_ns(const struct timespec *ts)
{
	return (int64_t) ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Attribute columns starting at col: ino, mode, nlink, uid, gid, rdev, size, blocks, times. */
void
pgfs_row_stat(const PGresult *r, int row, int col, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino_out(res_i64(r, row, col));
	st->st_mode = res_i32(r, row, col + 1);
	st->st_nlink = res_i32(r, row, col + 2);
	st->st_uid = res_i64(r, row, col + 3);
	st->st_gid = res_i64(r, row, col + 4);
	st->st_rdev = res_i64(r, row, col + 5);
	st->st_size = res_i64(r, row, col + 6);
	st->st_blocks = res_i64(r, row, col + 7);
	st->st_blksize = PGFS_WBUF_ALIGN;	/* the chunk size: the I/O size that rewrites no chunk in part */
	ns_to_ts(res_i64(r, row, col + 8), &st->st_atim);
	ns_to_ts(res_i64(r, row, col + 9), &st->st_mtim);
	ns_to_ts(res_i64(r, row, col + 10), &st->st_ctim);
}

static void
row_entry(const PGresult *r, int row, int col, struct fuse_entry_param *e)
{
	memset(e, 0, sizeof(*e));
	pgfs_row_stat(r, row, col, &e->attr);
	e->ino = e->attr.st_ino;
	e->attr_timeout = pgfs.cfg.attr_timeout;
	e->entry_timeout = pgfs.cfg.entry_timeout;
}

/*
 * How many extended attributes the attribute columns starting at col count;
 * -1 when the server does not say (a confined role's view of a directory
 * it may only pass through).
 */
int
pgfs_row_xattrs(const PGresult *r, int row, int col)
{
	int			x = col + PGFS_ATTR_NCOLS - 1;

	return PQgetisnull(r, row, x) ? -1 : res_i32(r, row, x);
}

/* An attribute function's result, or NULL with *err set. */
static PGresult *
exec_attr(enum pgfs_stmt st, const struct pgfs_params *p, int *err)
{
	PGresult   *r = pgfs_exec(st, p, err);

	if (r && (PQntuples(r) != 1 || PQgetisnull(r, 0, 0)))
	{
		PQclear(r);
		*err = ENOENT;
		return NULL;
	}
	return r;
}

static PGresult *
getattr_sql(int64_t ino, int *err)
{
	struct pgfs_params p = {0};

	par_i64(&p, ino);
	return exec_attr(SQL_GETATTR, &p, err);
}

/*
 * Reply with an entry (e->ino 0: name is absent) as cache.c allows; xattrs
 * is its count of extended attributes, or -1 when not known.  ep and xs:
 * what pgfs_cache_epoch() and pgfs_cache_xattr_stamp() said before the
 * server was asked.
 */
static void
send_entry(fuse_req_t req, fuse_ino_t parent, const char *name, struct fuse_entry_param *e,
		   int xattrs, unsigned ep, unsigned xs)
{
	pgfs_cache_entry(parent, name, e, ep);
	if (e->ino && xattrs >= 0)
		pgfs_cache_xattrs(e->ino, xattrs, e->attr_timeout, xs);
	if (fuse_reply_entry(req, e) != 0 && e->ino)
		pgfs_cache_unref(e->ino, 1);	/* interrupted: the kernel did not take it */
}

/* Reply with the attributes of ino that r holds (and clear r); ep, xs as for send_entry. */
static void
reply_attr(fuse_req_t req, fuse_ino_t ino, PGresult *r, unsigned ep, unsigned xs)
{
	struct stat st;
	double		timeout = pgfs_cache_attr_timeout(ep);

	pgfs_row_stat(r, 0, 0, &st);
	pgfs_cache_xattrs(ino, pgfs_row_xattrs(r, 0, 0), timeout, xs);
	PQclear(r);
	fuse_reply_attr(req, &st, timeout);
}

/* Reply with the entry of name in parent that r holds. */
static void
reply_entry(fuse_req_t req, fuse_ino_t parent, const char *name, PGresult *r, int err,
			unsigned ep, unsigned xs)
{
	struct fuse_entry_param e;
	int			xattrs;

	if (!r)
	{
		fuse_reply_err(req, err);
		return;
	}
	row_entry(r, 0, 0, &e);
	xattrs = pgfs_row_xattrs(r, 0, 0);
	PQclear(r);
	send_entry(req, parent, name, &e, xattrs, ep, xs);
}

/* Run a statement that returns nothing of interest; 0 or an errno. */
static int
exec_err(enum pgfs_stmt st, const struct pgfs_params *p)
{
	int			err = 0;
	PGresult   *r = pgfs_exec(st, p, &err);

	PQclear(r);
	return r ? 0 : err;
}

/*
 * Run st, a change of ino's attributes or data whose parameters p holds but
 * for the last, durable, which is added here: after the buffers of ino's
 * handles, and deferred while ino is open here (handle.c,
 * pgfs_ino_change_begin).  size_change: it may change the size or the
 * data, so what opens read of ino is old.  Returns st's result or NULL
 * with *err set.
 */
static PGresult *
exec_change(enum pgfs_stmt st, int64_t ino, struct pgfs_params *p, int size_change, int *err)
{
	unsigned	resets = 0;
	struct open_inode *oi = pgfs_ino_change_begin(ino, size_change, &resets);
	PGresult   *r;

	par_bool(p, oi == NULL);	/* durable */
	r = st == SQL_SETATTR ? exec_attr(st, p, err) : pgfs_exec(st, p, err);
	if (oi)
		pgfs_ino_change_done(oi, size_change, r != NULL, resets);
	else if (size_change)
		pgfs_ino_changed(ino);
	return r;
}

/* A handle the kernel did not take (the request was interrupted). */
static void
drop_handle(struct pgfs_fh *fh)
{
	pgfs_fh_release(fh);
}

static void
pgfs_init(void *userdata, struct fuse_conn_info *conn)
{
	/*
	 * The writeback cache cannot be kept coherent between mounts.  O_TRUNC
	 * comes as a setattr, which flushes the buffers of other handles first.
	 */
	conn->want &= ~(FUSE_CAP_WRITEBACK_CACHE | FUSE_CAP_ATOMIC_O_TRUNC);
	conn->want |= conn->capable & (FUSE_CAP_ASYNC_READ | FUSE_CAP_PARALLEL_DIROPS |
								   FUSE_CAP_CACHE_SYMLINKS | FUSE_CAP_READDIRPLUS |
								   FUSE_CAP_READDIRPLUS_AUTO);
	conn->max_write = PGFS_WBUF_MAX;
	/*
	 * Locks go to the server (see pgfs_setlk), except on a mount that must
	 * not write, or whose user wants them kept by the kernel
	 */
	if (pgfs.cfg.ro || pgfs.cfg.local_locks)
		conn->want &= ~(FUSE_CAP_POSIX_LOCKS | FUSE_CAP_FLOCK_LOCKS);

	/*
	 * POSIX ACLs, when the kernel checks permissions: it enforces them and
	 * caches them; the server keeps them and the mode in step and hands a
	 * directory's default ACL down (src/acl.c).  It then leaves the umask
	 * to us, because a default ACL replaces it: creates pass it on.
	 * Without default_permissions nothing would enforce an ACL, so setting
	 * one is refused (EOPNOTSUPP) rather than accepted and ignored.
	 */
	if (pgfs.cfg.default_permissions &&
		(conn->capable & (FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK)) ==
		(FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK))
	{
		conn->want |= FUSE_CAP_POSIX_ACL | FUSE_CAP_DONT_MASK;
		pgfs.acl = 1;
	}
}

/* the umask a create passes to the server: the kernel applied it unless pgfs.acl */
static void
par_umask(struct pgfs_params *p, const struct fuse_ctx *ctx)
{
	par_i32(p, pgfs.acl ? (int32_t) (ctx->umask & 0777) : 0);
}

static int
is_acl_name(const char *name)
{
	return strcmp(name, "system.posix_acl_access") == 0 ||
		strcmp(name, "system.posix_acl_default") == 0;
}

static void
pgfs_destroy(void *userdata)
{
	pgfs_locks_stop();
	pgfs_flush_all();
}

static void
pgfs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct pgfs_params p = {0};
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp();
	PGresult   *r;
	int			err;

	pgfs_read_ahead_once();
	CHECK_NAME(req, name);
	/* a listing of the directory (dcache.c), unless the inode is open here */
	if (strcmp(name, ".") != 0 && strcmp(name, "..") != 0)
	{
		struct fuse_entry_param e;
		int			xattrs;
		unsigned	lxs;

		if (pgfs_dcache_lookup(parent, name, &e, &xattrs, &lxs) &&
			(e.ino == 0 || !pgfs_ino_flush(ino_in(e.ino))))
		{
			send_entry(req, parent, name, &e, xattrs, ep, lxs);
			return;
		}
	}
	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	r = exec_attr(SQL_LOOKUP, &p, &err);
	if (!r && err == ENOENT)
	{
		struct fuse_entry_param e = {.entry_timeout = pgfs.cfg.entry_timeout};

		send_entry(req, parent, name, &e, -1, ep, 0); /* a negative entry, cached like others */
		return;
	}
	if (r && pgfs_ino_flush(res_i64(r, 0, 0)))	/* open here: attributes after the flush */
	{
		int64_t		ino = res_i64(r, 0, 0);

		PQclear(r);
		r = getattr_sql(ino, &err);
	}
	reply_entry(req, parent, name, r, err, ep, xs);
}

static void
pgfs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	pgfs_cache_unref(ino, nlookup);
	fuse_reply_none(req);
}

static void
pgfs_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets)
{
	size_t		i;

	for (i = 0; i < count; i++)
		pgfs_cache_unref(forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

static void
pgfs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp();
	PGresult   *r;
	int			err;

	pgfs_read_ahead_once();
	REFUSE_IF_STALE(req, fi);
	pgfs_ino_flush(ino_in(ino));
	if (!(r = getattr_sql(ino_in(ino), &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	reply_attr(req, ino, r, ep, xs);
}

static void
pgfs_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
			 struct fuse_file_info *fi)
{
	struct pgfs_params p = {0};
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp();
	PGresult   *r;
	int			err;

	REFUSE_IF_RO(req);
	REFUSE_IF_STALE(req, fi);
	par_i64(&p, ino_in(ino));
	if (to_set & FUSE_SET_ATTR_MODE)
		par_i32(&p, attr->st_mode & 07777);
	else
		par_null(&p);
	if (to_set & FUSE_SET_ATTR_UID)
		par_i64(&p, attr->st_uid);
	else
		par_null(&p);
	if (to_set & FUSE_SET_ATTR_GID)
		par_i64(&p, attr->st_gid);
	else
		par_null(&p);
	if (to_set & FUSE_SET_ATTR_SIZE)
		par_i64(&p, attr->st_size);
	else
		par_null(&p);
	if ((to_set & FUSE_SET_ATTR_ATIME) && !(to_set & FUSE_SET_ATTR_ATIME_NOW))
		par_i64(&p, ts_to_ns(&attr->st_atim));
	else
		par_null(&p);
	if ((to_set & FUSE_SET_ATTR_MTIME) && !(to_set & FUSE_SET_ATTR_MTIME_NOW))
		par_i64(&p, ts_to_ns(&attr->st_mtim));
	else
		par_null(&p);
	par_bool(&p, (to_set & FUSE_SET_ATTR_ATIME_NOW) != 0);
	par_bool(&p, (to_set & FUSE_SET_ATTR_MTIME_NOW) != 0);
	r = exec_change(SQL_SETATTR, ino_in(ino), &p, (to_set & FUSE_SET_ATTR_SIZE) != 0, &err);
	if (!r)
	{
		fuse_reply_err(req, err);
		return;
	}
	reply_attr(req, ino, r, ep, xs);
}

static void
pgfs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	char	   *target;
	int			err;

	par_i64(&p, ino_in(ino));
	if (!(r = pgfs_exec(SQL_READLINK, &p, &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
		fuse_reply_err(req, EINVAL);
	else if (!(target = strndup(PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0))))
		fuse_reply_err(req, ENOMEM);
	else
	{
		fuse_reply_readlink(req, target);
		free(target);
	}
	PQclear(r);
}

/*
 * Names are made, removed, moved and linked by commits that do not wait for
 * the WAL flush, which the fsync of the directory waits for (handle.c), as
 * on a local filesystem; with -o dirsync, by durable ones.  The statement's
 * durable parameter, and what to note once it succeeded in dir and dir2 (0
 * if none); resets: pgfs_conn_resets() before it was sent.
 */
static void
par_names_durable(struct pgfs_params *p)
{
	par_bool(p, pgfs.cfg.dirsync);
}

static void
names_changed(int ok, fuse_ino_t dir, fuse_ino_t dir2, unsigned resets)
{
	if (ok && !pgfs.cfg.dirsync)
		pgfs_names_deferred(ino_in(dir), dir2 ? ino_in(dir2) : 0, resets);
}

static void
pgfs_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pgfs_params p = {0};
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp(),
				resets = pgfs_conn_resets();
	PGresult   *r;
	int			err;

	REFUSE_IF_RO(req);
	CHECK_NAME(req, name);
	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	par_i32(&p, mode);
	par_i64(&p, rdev);
	par_i64(&p, ctx->uid);
	par_i64(&p, ctx->gid);
	par_names_durable(&p);
	par_umask(&p, ctx);
	r = exec_attr(SQL_MKNOD, &p, &err);
	names_changed(r != NULL, parent, 0, resets);
	pgfs_dcache_added(parent, name);
	reply_entry(req, parent, name, r, err, ep, xs);
}

static void
pgfs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pgfs_params p = {0};
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp(),
				resets = pgfs_conn_resets();
	PGresult   *r;
	int			err;

	REFUSE_IF_RO(req);
	CHECK_NAME(req, name);
	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	par_i32(&p, mode & 07777);
	par_i64(&p, ctx->uid);
	par_i64(&p, ctx->gid);
	par_names_durable(&p);
	par_umask(&p, ctx);
	r = exec_attr(SQL_MKDIR, &p, &err);
	names_changed(r != NULL, parent, 0, resets);
	pgfs_dcache_added(parent, name);
	reply_entry(req, parent, name, r, err, ep, xs);
}

static void
pgfs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pgfs_params p = {0};
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp(),
				resets = pgfs_conn_resets();
	PGresult   *r;
	int			err;

	REFUSE_IF_RO(req);
	CHECK_NAME(req, name);
	if (strlen(link) >= PGFS_PATH_MAX)
	{
		fuse_reply_err(req, ENAMETOOLONG);
		return;
	}
	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	par_bytes(&p, link, strlen(link));
	par_i64(&p, ctx->uid);
	par_i64(&p, ctx->gid);
	par_names_durable(&p);
	r = exec_attr(SQL_SYMLINK, &p, &err);
	names_changed(r != NULL, parent, 0, resets);
	pgfs_dcache_added(parent, name);
	reply_entry(req, parent, name, r, err, ep, xs);
}

static void
pgfs_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct pgfs_params p = {0};
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp(),
				resets = pgfs_conn_resets();
	PGresult   *r;
	int			err;

	REFUSE_IF_RO(req);
	CHECK_NAME(req, newname);
	pgfs_ino_flush(ino_in(ino));	/* the reply carries the file's size */
	par_i64(&p, ino_in(ino));
	par_i64(&p, ino_in(newparent));
	par_bytes(&p, newname, strlen(newname));
	par_names_durable(&p);
	r = exec_attr(SQL_LINK, &p, &err);
	names_changed(r != NULL, newparent, 0, resets);
	pgfs_dcache_added(newparent, newname);
	reply_entry(req, newparent, newname, r, err, ep, xs);
}

static void
remove_name(fuse_req_t req, enum pgfs_stmt st, fuse_ino_t parent, const char *name)
{
	struct pgfs_params p = {0};
	unsigned	resets = pgfs_conn_resets();
	int			err;

	REFUSE_IF_RO(req);
	CHECK_NAME(req, name);
	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	par_names_durable(&p);
	err = exec_err(st, &p);
	names_changed(err == 0, parent, 0, resets);
	fuse_reply_err(req, err);
}

/*
 * A name about to be removed: if it leads to a file open here, its last
 * release must free it at once (handle.c).
 */
static void
unlinking(fuse_ino_t parent, const char *name)
{
	fuse_ino_t	child = pgfs_cache_child(parent, name);

	if (child)
		pgfs_ino_unlinking(ino_in(child));
}

static void
pgfs_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	unlinking(parent, name);
	remove_name(req, SQL_UNLINK, parent, name);
}

static void rmdiring(fuse_ino_t parent, const char *name);

static void
pgfs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	if (!pgfs.cfg.ro)
		rmdiring(parent, name);
	remove_name(req, SQL_RMDIR, parent, name);
}

static void
pgfs_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
			fuse_ino_t newparent, const char *newname, unsigned int flags)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pgfs_params p = {0};
	unsigned	resets = pgfs_conn_resets();
	PGresult   *r;
	int			err = 0;

	REFUSE_IF_RO(req);
	CHECK_NAME(req, name);
	CHECK_NAME(req, newname);
	if (flags & ~(PGFS_RENAME_NOREPLACE | PGFS_RENAME_EXCHANGE | PGFS_RENAME_WHITEOUT))
	{
		fuse_reply_err(req, EINVAL);
		return;
	}
	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	par_i64(&p, ino_in(newparent));
	par_bytes(&p, newname, strlen(newname));
	par_i32(&p, flags);
	par_names_durable(&p);
	par_i64(&p, ctx->uid);		/* a whiteout's owner */
	par_i64(&p, ctx->gid);
	if (!(flags & PGFS_RENAME_EXCHANGE))
	{
		unlinking(newparent, newname);	/* a file it replaces */
		rmdiring(newparent, newname);	/* or an empty directory */
	}
	r = pgfs_exec(SQL_RENAME, &p, &err);
	if (flags & PGFS_RENAME_WHITEOUT)
		pgfs_dcache_added(parent, name);	/* the whiteout */
	if (r)
	{
		names_changed(1, parent, newparent, resets);
		pgfs_cache_rename(parent, name, newparent, newname, (flags & PGFS_RENAME_EXCHANGE) != 0);
	}
	PQclear(r);
	fuse_reply_err(req, r ? 0 : err);
}

static int	bounced(fuse_ino_t parent, const char *name, pid_t pid);
/*
 * bounced()'s key for a process answered ESTALE (no node has this number):
 * an open of an inode gone and a create of a name another client made both
 * send the kernel round once more, and it goes round once only
 */
#define STALE_BOUNCE ((fuse_ino_t) -1)

/* Count an open handle on the server and make ours; 0 or an errno. */
static int
open_handle(int64_t ino, struct fuse_file_info *fi, int created)
{
	struct pgfs_fh *fh;
	int			err = pgfs_fh_open(ino, fi->flags, created, &fh);

	if (err)
		return err;
	fi->fh = (uintptr_t) fh;
	/* unless nothing changed the file since its pages were read (handle.c) */
	fi->keep_cache = pgfs_fh_keep_cache(fh);
	fi->direct_io = 0;
	/*
	 * A read-only handle has nothing to send or report at close: the kernel
	 * need not ask (a request saved per file read).  Its release still comes.
	 * Unless it created the file: its close makes the create durable.  Or
	 * the file has been locked through this mount: any close(2) drops the
	 * process's record locks on the file, which a flush does, while the
	 * release comes at the last close of the open file only (after a fork,
	 * say); its release still drops them if a lock comes after the open.
	 */
	fi->noflush = (fi->flags & O_ACCMODE) == O_RDONLY && !created && !pgfs_fh_has_locks(fh);
	return 0;
}

static void
pgfs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int			err = open_handle(ino_in(ino), fi, 0);

	pgfs_read_ahead_once();
	/*
	 * The inode is gone: the kernel reached it by a name it cached, which
	 * another mount removed since.  ESTALE makes it look the name up again
	 * (and open or create what is there now), as NFS clients do; once: if
	 * what it finds is gone too by the time it opens it (clients racing on
	 * the name), the program gets ENOENT, not ESTALE.
	 */
	if (err == ENOENT && !bounced(STALE_BOUNCE, "", fuse_req_ctx(req)->pid))
		err = ESTALE;
	if (err)
	{
		fuse_reply_err(req, err);
		return;
	}
	/* the file changed since this mount last opened it: its size too, maybe */
	if (pgfs_fh_stale_attrs(FH(fi)))
		fuse_lowlevel_notify_inval_inode(pgfs.se, ino, -1, 0);
	if (fuse_reply_open(req, fi) != 0)
		drop_handle(FH(fi));
}

/*
 * Creates answered ESTALE for a name another client made (pgfs_create): the
 * kernel walks the path once more and may send the create again, if the
 * name went and came back meanwhile (clients racing on one name).  That
 * second one must not get ESTALE, which would reach the program.  Opens of
 * inodes gone (pgfs_open) send it round too: both note the process under
 * STALE_BOUNCE, so that one round is all either asks for.
 */
#define BOUNCES 64
static struct
{
	fuse_ino_t	parent;
	uint32_t	hash;
	pid_t		pid;
	int64_t		at;
}			bounces[BOUNCES];
static int	bounce_next;
static pthread_mutex_t bounce_lock = PTHREAD_MUTEX_INITIALIZER;

/* Whether this create repeats one answered ESTALE within the last second; else note it. */
static int
bounced(fuse_ino_t parent, const char *name, pid_t pid)
{
	uint32_t	h = pgfs_name_hash(name, strlen(name));
	int64_t		now = pgfs_now_ns();
	int			i,
				again = 0;

	pthread_mutex_lock(&bounce_lock);
	for (i = 0; i < BOUNCES && !again; i++)
		if (bounces[i].parent == parent && bounces[i].hash == h && bounces[i].pid == pid &&
			now - bounces[i].at < 1000000000)
		{
			again = 1;
			bounces[i].parent = 0;
		}
	if (!again)
	{
		bounces[bounce_next].parent = parent;
		bounces[bounce_next].hash = h;
		bounces[bounce_next].pid = pid;
		bounces[bounce_next].at = now;
		bounce_next = (bounce_next + 1) % BOUNCES;
	}
	pthread_mutex_unlock(&bounce_lock);
	return again;
}

/* Whether name is in directory parent on the server; *err: 0, or why it could not tell. */
static int
name_exists(fuse_ino_t parent, const char *name, int *err)
{
	struct pgfs_params p = {0};
	PGresult   *r;

	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	r = exec_attr(SQL_LOOKUP, &p, err);
	PQclear(r);
	if (!r && *err == ENOENT)
		*err = 0;
	return r != NULL;
}

static void
pgfs_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
			struct fuse_file_info *fi)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct pgfs_params p = {0};
	unsigned	ep = pgfs_cache_epoch(),
				xs = pgfs_cache_xattr_stamp();
	unsigned	resets = pgfs_conn_resets();
	int			durable = (fi->flags & O_DSYNC) != 0;	/* O_SYNC includes it */
	int64_t		sent;
	int			attempt;
	struct fuse_entry_param e;
	PGresult   *r;
	int			err,
				xattrs;

	REFUSE_IF_RO(req);
	CHECK_NAME(req, name);
	par_i64(&p, ino_in(parent));
	par_bytes(&p, name, strlen(name));
	par_i32(&p, mode);
	par_i64(&p, ctx->uid);
	par_i64(&p, ctx->gid);
	par_i64(&p, pgfs.client);	/* create and open in one transaction */
	/* durable at close or fsync, or at once with O_SYNC (handle.c) */
	par_bool(&p, durable);
	par_umask(&p, ctx);
	for (attempt = 0;; attempt++)
	{
		sent = pgfs_now_ns();
		r = exec_attr(SQL_CREATE, &p, &err);
		pgfs_dcache_added(parent, name);
		if (r || err != EEXIST || (fi->flags & O_EXCL))
			break;

		/*
		 * The kernel sends a create only for a name it believes absent: from
		 * a negative entry in its cache, or a lookup a listing answered
		 * (dcache.c), either as old as entry_timeout, or a lookup a moment
		 * ago.  If another client made the name since, open(2) without
		 * O_EXCL must open that file, not fail.  ESTALE makes the kernel
		 * walk the path again, once, with LOOKUP_REVAL, which looks the name
		 * up afresh (a listing sends it to the server now,
		 * pgfs_dcache_added above) and opens what it finds.  That is only
		 * worth it if the name is still there: if it is gone again (clients
		 * racing on one name), the create is tried again here.
		 */
		if (attempt < 3 && !name_exists(parent, name, &err))
		{
			if (err)
				break;
			continue;
		}
		/*
		 * the kernel walks once more only: its second create (or this one,
		 * if an open sent it round) gets EEXIST
		 */
		err = bounced(STALE_BOUNCE, "", fuse_req_ctx(req)->pid) ? EEXIST : ESTALE;
		break;
	}
	if (!r)
	{
		fuse_reply_err(req, err);
		return;
	}
	pgfs_dcache_created(parent, res_i64(r, 0, PGFS_ATTR_NCOLS), sent);	/* parent_generation */
	row_entry(r, 0, 0, &e);
	xattrs = pgfs_row_xattrs(r, 0, 0);
	PQclear(r);
	if ((err = open_handle(ino_in(e.ino), fi, 1)))
	{
		fuse_reply_err(req, err);
		return;
	}
	if (!durable)				/* born: a new file's ctime is its birth time */
		pgfs_fh_created_deferred(FH(fi), resets, ts_to_ns(&e.attr.st_ctim));
	/* a new file has no security.capability for the first write to ask about */
	pgfs_ino_set_nocaps(ino_in(e.ino), 1);
	pgfs_cache_entry(parent, name, &e, ep);
	pgfs_cache_xattrs(e.ino, xattrs, e.attr_timeout, xs);
	if (fuse_reply_create(req, &e, fi) != 0)
	{
		pgfs_cache_unref(e.ino, 1);
		drop_handle(FH(fi));
	}
}

static void
pgfs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err;

	REFUSE_IF_STALE(req, fi);
	REFUSE_IF_LOCKS_LOST(req, fi);
	if (pgfs_fh_preread(FH(fi), req, size, off))
		return;					/* read by the open (handle.c) */
	pgfs_ino_flush(ino_in(ino));	/* read our own writes */
	par_i64(&p, ino_in(ino));
	par_i64(&p, off);
	par_i32(&p, size);
	if (!(r = pgfs_exec(SQL_READ, &p, &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	if (PQntuples(r) != 1)
		fuse_reply_err(req, EIO);
	else
		fuse_reply_buf(req, PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0));
	PQclear(r);
}

static void
pgfs_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
		   struct fuse_file_info *fi)
{
	int			err;

	REFUSE_IF_RO(req);
	REFUSE_IF_LOCKS_LOST(req, fi);
	/*
	 * Data past the server's size limit would be refused only when the
	 * buffer is sent, at fsync or close; write(2) must fail itself, or write
	 * as much as fits (the kernel does not know the limit).
	 */
	if (off >= PGFS_FILE_SIZE_MAX)
	{
		fuse_reply_err(req, EFBIG);
		return;
	}
	if (size > PGFS_FILE_SIZE_MAX - off)
		size = PGFS_FILE_SIZE_MAX - off;
	if ((err = pgfs_fh_write(FH(fi), buf, size, off)))
		fuse_reply_err(req, err);
	else
		fuse_reply_write(req, size);
}

/*
 * File locks live on the server (src/lock.c), so that every mount of the
 * store sees them: fcntl record locks and flock(2), which the kernel sends
 * here because setlk, getlk and flock are set (libfuse then asks for
 * FUSE_CAP_POSIX_LOCKS and FUSE_CAP_FLOCK_LOCKS; a read-only mount, which
 * must not write, leaves them to the kernel, which keeps them to the mount).
 * -o local_locks leaves them to the kernel too, for a store mounted once:
 * a lock then costs no round trip.  The kernel's lock owner (a process's
 * files, or an open file for flock and OFD locks) names the owner on the
 * server, with our client id.
 *
 * A lock that has to wait does so here, not in the worker thread (a few
 * processes waiting would take every thread): a waiter thread asks the
 * server again, sooner at first and every LOCK_POLL_MAX_MS at the latest,
 * until the lock is granted or the request is interrupted (a signal: EINTR).
 * The kernel detects no deadlock between waiting processes, as with NFS.
 *
 * Unlocking: a close sends flush with the closing process's owner, which
 * drops its record locks (POSIX: any close of the file does); the last
 * close of an open file drops its flock; and the server drops whatever is
 * left with this mount's last handle on the file.  Files never locked here
 * cost their closes nothing.
 */
#define LOCK_POLL_MIN_MS	1
#define LOCK_POLL_MAX_MS	50

struct lock_wait
{
	fuse_req_t	req;
	fuse_ino_t	ino;
	struct pgfs_fh *fh;			/* held open by the waiting fcntl/flock call */
	struct pgfs_lock lr;
	struct pgfs_params p;
	struct timespec due;
	int			delay_ms;
	struct lock_wait *next;
};

static pthread_mutex_t lock_wait_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lock_wait_cond;	/* on CLOCK_MONOTONIC, made with the thread */
static struct lock_wait *lock_waits;
static pthread_t lock_waiter;
static int	lock_waiter_state;	/* 0 not started, 1 running, 2 stopping, 3 failed to start */

static struct pgfs_lock
lock_req(uint64_t owner, int flock, int type, off_t start, off_t len, pid_t pid)
{
	struct pgfs_lock lr = {owner, flock, type, flock ? 0 : start,
	flock || len == 0 ? INT64_MAX : start + len - 1, (int32_t) pid};

	return lr;
}

/* the parameters of pgfs_ll_setlk and pgfs_ll_reclaimlk: lk on inode ino, as type */
void
pgfs_lock_params(struct pgfs_params *p, int64_t ino, const struct pgfs_lock *lk, int type)
{
	par_i64(p, ino);
	par_i64(p, pgfs.client);
	par_i64(p, (int64_t) lk->owner);
	par_i32(p, lk->pid);
	par_bool(p, lk->flock);
	par_i32(p, type);
	par_i64(p, lk->start);
	par_i64(p, lk->end);
}

/*
 * 0 granted (or unlocked), EAGAIN held by another, or an error.  A lock
 * taken makes what another mount wrote before its unlock visible here: if
 * the file changed since the last lock taken here, the kernel's pages of it
 * go.  An unlock first sends what this mount buffered of the file, so that
 * the next to lock it, anywhere, reads it.
 *
 * A record lock (not an unlock) notes its owner as having locked through
 * fh if it is granted (handle.c: the release of a handle opened for reading
 * drops the locks of those owners).  What is granted or unlocked goes into
 * handle.c's record of the locks this mount holds, with the server resets
 * counted when the answer came: a later reset (a crash emptied pgfs.lock)
 * means they are lost.  Counted before the call, a reconnection inside it,
 * to the server that came back, would make a fresh lock look lost; counted
 * after, a lock is missed only if its server crashed, came back and was
 * reconnected to between the answer and the count, microseconds apart.
 *
 * The kernel's pages go after that, outside handle.c's lockop: the kernel
 * waits for reads of the file in flight, which other requests, waiting for
 * lockop, must not hold up.
 */
static int
lock_try(const struct pgfs_params *p, fuse_ino_t ino, struct pgfs_fh *fh,
		 const struct pgfs_lock *lr)
{
	uint64_t	owner = !lr->flock && lr->type != F_UNLCK ? lr->owner : 0;
	PGresult   *r;
	int			err;
	int			changed = 0;

	if (lr->type == F_UNLCK)
		pgfs_ino_flush(ino_in(ino));
	if (owner)
		pgfs_fh_lock_begin(fh);
	if ((r = pgfs_exec(SQL_SETLK, p, &err)))
	{
		err = 0;
		if (PQntuples(r) != 1)
			err = EIO;
		else if (PQgetisnull(r, 0, 0))
			err = EAGAIN;
		else if (lr->type != F_UNLCK)
			changed = pgfs_fh_note_lock(fh, res_i64(r, 0, 0));
		PQclear(r);
	}
	if (err == 0)
		pgfs_fh_locks_held(fh, lr, pgfs_conn_lock_resets());
	if (owner)
		pgfs_fh_lock_end(fh, err == 0 ? owner : 0);
	if (changed)
		fuse_lowlevel_notify_inval_inode(pgfs.se, ino, 0, 0);
	return err;
}

static void
timespec_add_ms(struct timespec *t, int ms)
{
	t->tv_sec += ms / 1000;
	t->tv_nsec += (long) (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L)
	{
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static int
timespec_le(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec <= b->tv_nsec);
}

static void *
lock_waiter_main(void *arg)
{
	pthread_mutex_lock(&lock_wait_lock);
	while (lock_waiter_state == 1)
	{
		struct lock_wait *due = NULL,
				  **pp,
				   *w;
		struct timespec now,
					next;

		clock_gettime(CLOCK_MONOTONIC, &now);
		next = now;
		timespec_add_ms(&next, 1000);
		for (pp = &lock_waits; (w = *pp);)
		{
			if (timespec_le(&w->due, &now) || fuse_req_interrupted(w->req))
			{
				*pp = w->next;
				w->next = due;
				due = w;
				continue;
			}
			if (timespec_le(&w->due, &next))
				next = w->due;
			pp = &w->next;
		}
		if (!due)
		{
			pthread_cond_timedwait(&lock_wait_cond, &lock_wait_lock, &next);
			continue;
		}
		pthread_mutex_unlock(&lock_wait_lock);
		while ((w = due))
		{
			/* what waits is a lock, never an unlock */
			int			err = fuse_req_interrupted(w->req) ? EINTR :
				lock_try(&w->p, w->ino, w->fh, &w->lr);

			due = w->next;
			if (err == EAGAIN)
			{
				clock_gettime(CLOCK_MONOTONIC, &w->due);
				w->delay_ms = w->delay_ms * 2 > LOCK_POLL_MAX_MS ? LOCK_POLL_MAX_MS : w->delay_ms * 2;
				timespec_add_ms(&w->due, w->delay_ms);
				pthread_mutex_lock(&lock_wait_lock);
				w->next = lock_waits;
				lock_waits = w;
				pthread_mutex_unlock(&lock_wait_lock);
				continue;
			}
			fuse_reply_err(w->req, err);
			free(w);
		}
		pthread_mutex_lock(&lock_wait_lock);
	}
	pthread_mutex_unlock(&lock_wait_lock);
	return NULL;
}

/* Wait for a lock in the waiter thread; replies to req itself either way. */
static void
lock_wait(fuse_req_t req, fuse_ino_t ino, struct pgfs_fh *fh, const struct pgfs_lock *lr,
		  const struct pgfs_params *p)
{
	struct lock_wait *w = calloc(1, sizeof(*w));
	int			err = ENOLCK;

	pthread_mutex_lock(&lock_wait_lock);
	if (w && lock_waiter_state == 0)
	{
		pthread_condattr_t attr;

		/* the waiter's deadlines are CLOCK_MONOTONIC times */
		lock_waiter_state = 3;
		if (pthread_condattr_init(&attr) == 0)
		{
			if (pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
				pthread_cond_init(&lock_wait_cond, &attr) == 0)
			{
				lock_waiter_state = 1;
				if (pthread_create(&lock_waiter, NULL, lock_waiter_main, NULL) != 0)
				{
					pthread_cond_destroy(&lock_wait_cond);
					lock_waiter_state = 3;
				}
			}
			pthread_condattr_destroy(&attr);
		}
	}
	if (w && lock_waiter_state == 1)
	{
		w->req = req;
		w->ino = ino;
		w->fh = fh;
		w->lr = *lr;
		w->p = *p;
		/* numeric parameters point into their own struct: at the copy now */
		for (int i = 0; i < p->n; i++)
			if (p->val[i] == (const char *) &p->num[i])
				w->p.val[i] = (const char *) &w->p.num[i];
		w->delay_ms = LOCK_POLL_MIN_MS;
		clock_gettime(CLOCK_MONOTONIC, &w->due);
		timespec_add_ms(&w->due, w->delay_ms);
		w->next = lock_waits;
		lock_waits = w;
		pthread_cond_signal(&lock_wait_cond);
		w = NULL;
		err = 0;
	}
	pthread_mutex_unlock(&lock_wait_lock);
	if (err)
	{
		free(w);
		fuse_reply_err(req, err);
	}
}

/* At unmount: the waits end (EINTR) and the waiter thread with them. */
void
pgfs_locks_stop(void)
{
	struct lock_wait *w;
	int			running;

	pthread_mutex_lock(&lock_wait_lock);
	running = lock_waiter_state == 1;
	if (running)
	{
		lock_waiter_state = 2;
		pthread_cond_signal(&lock_wait_cond);
	}
	pthread_mutex_unlock(&lock_wait_lock);
	if (running)
		pthread_join(lock_waiter, NULL);
	while ((w = lock_waits))
	{
		lock_waits = w->next;
		fuse_reply_err(w->req, EINTR);
		free(w);
	}
}

static void
pgfs_setlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock,
		   int sleep)
{
	struct pgfs_params p = {0};
	struct pgfs_lock lr;
	int			err;

	REFUSE_IF_STALE(req, fi);
	if (lock->l_type == F_UNLCK && !pgfs_fh_has_locks(FH(fi)))
	{
		fuse_reply_err(req, 0);	/* nothing was ever locked here */
		return;
	}
	lr = lock_req(fi->lock_owner, 0, lock->l_type, lock->l_start, lock->l_len, lock->l_pid);
	pgfs_lock_params(&p, ino_in(ino), &lr, lr.type);
	err = lock_try(&p, ino, FH(fi), &lr);
	if (err == EAGAIN && sleep)
		lock_wait(req, ino, FH(fi), &lr, &p);
	else
		fuse_reply_err(req, err);
}

static void
pgfs_getlk(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, struct flock *lock)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err;

	REFUSE_IF_STALE(req, fi);
	par_i64(&p, ino_in(ino));
	par_i64(&p, pgfs.client);
	par_i64(&p, (int64_t) fi->lock_owner);
	par_bool(&p, 0);
	par_i32(&p, lock->l_type);
	par_i64(&p, lock->l_start);
	par_i64(&p, lock->l_len == 0 ? INT64_MAX : lock->l_start + lock->l_len - 1);
	if (!(r = pgfs_exec(SQL_GETLK, &p, &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	if (PQntuples(r) != 1)
	{
		PQclear(r);
		fuse_reply_err(req, EIO);
		return;
	}
	lock->l_type = (short) res_i32(r, 0, 0);
	if (lock->l_type != F_UNLCK)
	{
		int64_t		end = res_i64(r, 0, 2);

		lock->l_whence = SEEK_SET;
		lock->l_start = res_i64(r, 0, 1);
		lock->l_len = end == INT64_MAX ? 0 : end - lock->l_start + 1;
		lock->l_pid = res_i32(r, 0, 3);
	}
	PQclear(r);
	fuse_reply_lock(req, lock);
}

static void
pgfs_flock(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi, int op)
{
	struct pgfs_params p = {0};
	int			type = (op & LOCK_UN) ? F_UNLCK : (op & LOCK_EX) ? F_WRLCK : F_RDLCK;
	struct pgfs_lock lr;
	int			err;

	REFUSE_IF_STALE(req, fi);
	if (type == F_UNLCK && !pgfs_fh_has_locks(FH(fi)))
	{
		fuse_reply_err(req, 0);
		return;
	}
	lr = lock_req(pgfs_fh_id(FH(fi)), 1, type, 0, 0, fuse_req_ctx(req)->pid);
	pgfs_lock_params(&p, ino_in(ino), &lr, lr.type);
	err = lock_try(&p, ino, FH(fi), &lr);
	if (err == EAGAIN && !(op & LOCK_NB))
		lock_wait(req, ino, FH(fi), &lr, &p);
	else
		fuse_reply_err(req, err == EAGAIN ? EWOULDBLOCK : err);
}

/* Drop owner's locks of the given kind on ino, if any were taken here; errors are logged. */
static void
unlock_owner(fuse_ino_t ino, struct fuse_file_info *fi, uint64_t owner, int flock)
{
	struct pgfs_params p = {0};
	struct pgfs_lock lr = lock_req(owner, flock, F_UNLCK, 0, 0, 0);
	int			err;

	if (!pgfs_fh_has_locks(FH(fi)))
		return;
	pgfs_lock_params(&p, ino_in(ino), &lr, lr.type);
	if ((err = lock_try(&p, ino, FH(fi), &lr)) != 0 && err != ENOENT && err != ESTALE)
		pgfs_log(FUSE_LOG_ERR, "inode %lld: dropping the locks of a closed file failed: %s",
				 (long long) ino_in(ino), strerror(err));
}

static void
pgfs_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int			err = pgfs_fh_flush(FH(fi), 0);

	if (!err && pgfs_fh_locks_lost(FH(fi)))
		err = EIO;
	/* a close drops the process's record locks on the file, if it has any */
	if (pgfs_fh_owner_locked(FH(fi), fi->lock_owner))
		unlock_owner(ino, fi, fi->lock_owner, 0);
	fuse_reply_err(req, err);
}

/* Durable at return: see handle.c. */
static void
pgfs_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	REFUSE_IF_LOCKS_LOST(req, fi);
	fuse_reply_err(req, pgfs_fh_flush(FH(fi), 1));
}

/*
 * fallocate(2) and copy_file_range(2) change a file's data on the server,
 * not through a handle's buffer: they run as a setattr does (exec_change).
 * The kernel drops its pages of the range and updates the size itself.
 */
static void
pgfs_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t offset, off_t length,
			   struct fuse_file_info *fi)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err;

	REFUSE_IF_RO(req);
	REFUSE_IF_STALE(req, fi);
	par_i64(&p, ino_in(ino));
	par_i32(&p, mode);
	par_i64(&p, offset);
	par_i64(&p, length);
	if ((r = exec_change(SQL_FALLOCATE, ino_in(ino), &p, 1, &err)))
	{
		PQclear(r);
		err = 0;
	}
	fuse_reply_err(req, err);
}

/*
 * Copied on the server, which shares whole chunks between the two files
 * where it can (src/chunkstore.c): cp copies a file inside the mount
 * without its bytes passing through this daemon, and mostly without storing
 * them twice.  At most PGFS_COPY_MAX per request.
 */
static void
pgfs_copy_file_range(fuse_req_t req, fuse_ino_t src, off_t off_in, struct fuse_file_info *fi_in,
					 fuse_ino_t dst, off_t off_out, struct fuse_file_info *fi_out,
					 size_t len, int flags)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int64_t		n;
	int			err;

	REFUSE_IF_RO(req);
	if (flags != 0)
	{
		fuse_reply_err(req, EINVAL);
		return;
	}
	REFUSE_IF_STALE(req, fi_in);
	REFUSE_IF_STALE(req, fi_out);
	/* what this mount wrote to the source goes to the server first */
	pgfs_ino_flush(ino_in(src));
	par_i64(&p, ino_in(src));
	par_i64(&p, off_in);
	par_i64(&p, ino_in(dst));
	par_i64(&p, off_out);
	par_i64(&p, (int64_t) (len < PGFS_COPY_MAX ? len : PGFS_COPY_MAX));
	if (!(r = exec_change(SQL_COPY_RANGE, ino_in(dst), &p, 1, &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	n = res_i64(r, 0, 0);
	PQclear(r);
	fuse_reply_write(req, (size_t) n);
}

/* SEEK_DATA and SEEK_HOLE (the kernel answers the other whence values itself) */
static void
pgfs_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence, struct fuse_file_info *fi)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err;

	if (whence != SEEK_DATA && whence != SEEK_HOLE)
	{
		fuse_reply_err(req, EINVAL);
		return;
	}
	REFUSE_IF_STALE(req, fi);
	pgfs_ino_flush(ino_in(ino));	/* holes filled by writes buffered here */
	par_i64(&p, ino_in(ino));
	par_i64(&p, off);
	par_i32(&p, whence == SEEK_DATA ? PGFS_SEEK_DATA : PGFS_SEEK_HOLE);
	if (!(r = pgfs_exec(SQL_SEEK, &p, &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	fuse_reply_lseek(req, res_i64(r, 0, 0));
	PQclear(r);
}

struct release_unlock
{
	fuse_ino_t	ino;
	struct fuse_file_info *fi;
};

static void
release_unlock(uint64_t owner, void *arg)
{
	struct release_unlock *ru = arg;

	unlock_owner(ru->ino, ru->fi, owner, 0);
}

static void
pgfs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct release_unlock ru = {ino, fi};
	int			err;

	if (fi->flock_release)
		unlock_owner(ino, fi, pgfs_fh_id(FH(fi)), 1);	/* the last close of the open file that took a flock */
	/* a handle maybe without flush (opened for reading): its lockers' record locks */
	if ((fi->flags & O_ACCMODE) == O_RDONLY)
		pgfs_fh_release_locks(FH(fi), release_unlock, &ru);
	err = pgfs_fh_release(FH(fi));

	if (err)
		pgfs_log(FUSE_LOG_ERR, "inode %lld: write error at close: %s",
				 (long long) ino_in(ino), strerror(err));
	fuse_reply_err(req, 0);
}

/*
 * Directories open here.  Opening one asks the server nothing, but POSIX
 * keeps a directory removed while open usable (fstat gives nlink 0, reading
 * it gives no names) until its last close.  So an rmdir, or a rename over
 * it, of a directory open here first counts a handle on the server, as an
 * open file has, which keeps the inode until the last releasedir.
 */
struct open_dir
{
	int64_t		ino;
	int			opens;
	struct pgfs_fh *held;		/* a server handle, once it is being removed */
	struct open_dir *next;
};

static pthread_mutex_t open_dirs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct open_dir *open_dirs;

/*
 * One opendir: its directory, and where a listing through it last reached
 * the end.  A getdents(2) that got every remaining entry is followed by one
 * that finds there are no more: the kernel asks again from the last offset
 * it was given, and the server would answer that nothing follows, a round
 * trip as long as the listing itself for a small directory.  So a reply
 * that ended the listing notes its last offset, and the next request for
 * that offset through the same handle gets the end at once, if it comes
 * within the listing window (dcache.c) and nothing was changed through this
 * mount since the listing was read.  A name another client adds in between
 * shows at the next listing: POSIX leaves open whether a readdir returns a
 * name added after the opendir or rewinddir, and a rewind (offset 0) asks
 * the server again.  The kernel reads one handle one request at a time.
 */
struct dir_handle
{
	struct open_dir *od;
	off_t		eof_off;		/* a listing ended after this offset ... */
	int64_t		eof_until;		/* ... until then (CLOCK_MONOTONIC ns), 0: none */
	uint64_t	eof_seq;		/* ... read under this mutation sequence (dcache.c) */
	unsigned	eof_ep;			/* ... and cache epoch */
};

/* Close one handle of a directory; the last gives back what it held. */
static void
open_dir_put(struct open_dir *od)
{
	struct open_dir **p;
	struct pgfs_fh *held = NULL;

	pthread_mutex_lock(&open_dirs_lock);
	if (--od->opens == 0)
	{
		for (p = &open_dirs; *p != od; p = &(*p)->next)
			;
		*p = od->next;
		held = od->held;
	}
	else
		od = NULL;
	pthread_mutex_unlock(&open_dirs_lock);
	if (held)
		pgfs_fh_release(held);	/* frees the removed directory at once */
	free(od);
}

static void
pgfs_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct open_dir *od;
	struct dir_handle *dh = calloc(1, sizeof(*dh));

	if (!dh)
	{
		fuse_reply_err(req, ENOMEM);
		return;
	}
	pthread_mutex_lock(&open_dirs_lock);
	for (od = open_dirs; od && od->ino != ino_in(ino); od = od->next)
		;
	if (!od && (od = calloc(1, sizeof(*od))))
	{
		od->ino = ino_in(ino);
		od->next = open_dirs;
		open_dirs = od;
	}
	if (od)
		od->opens++;
	pthread_mutex_unlock(&open_dirs_lock);
	if (!od)
	{
		free(dh);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	dh->od = od;
	fi->fh = (uintptr_t) dh;
	if (fuse_reply_open(req, fi) != 0)
	{
		open_dir_put(od);
		free(dh);
	}
}

static void
pgfs_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dir_handle *dh = (struct dir_handle *) (uintptr_t) fi->fh;

	if (dh)
	{
		open_dir_put(dh->od);
		free(dh);
	}
	fuse_reply_err(req, 0);
}

/*
 * A directory name about to be removed: if the directory is open here, hold
 * it on the server.  Held under the lock so that a releasedir waits for it.
 */
static void
rmdiring(fuse_ino_t parent, const char *name)
{
	fuse_ino_t	child = pgfs_cache_child(parent, name);
	struct open_dir *od;

	if (!child)
		return;
	pthread_mutex_lock(&open_dirs_lock);
	for (od = open_dirs; od && od->ino != ino_in(child); od = od->next)
		;
	if (od && !od->held)
	{
		/* write-only: nothing to read along; an error leaves it as before */
		if (pgfs_fh_open(od->ino, O_WRONLY, 0, &od->held) != 0)
			od->held = NULL;
		else
			pgfs_ino_unlinking(od->ino);
	}
	pthread_mutex_unlock(&open_dirs_lock);
}

/*
 * Names are made, removed, moved and linked by deferred commits (but with
 * -o dirsync: par_names_durable), files are created by them (handle.c),
 * and so is the data that writes through handles committed without a WAL
 * flush: what a directory's fsync adds is the WAL flush that makes all of
 * those durable, which a program may count on once it synced the
 * directory, as on a local filesystem.
 */
static void
pgfs_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	fuse_reply_err(req, pgfs.cfg.ro ? 0 : pgfs_sync_dir(ino_in(ino)));
}

/* A readdir reply being filled. */
struct dirbuf
{
	fuse_req_t	req;
	fuse_ino_t	dir;
	int			plus;
	unsigned	ep;				/* cache epoch at the start */
	unsigned	xs;				/* ... and xattr stamp */
	char	   *buf;
	size_t		size;
	size_t		used;
	fuse_ino_t *given;			/* readdirplus: lookups the reply hands out */
	size_t		ngiven;
};

/*
 * Add one entry; false when it does not fit.  A readdirplus entry with a
 * node id (not "." and "..") counts as a lookup and caches its name.
 */
static int
add_entry(struct dirbuf *d, const char *name, struct fuse_entry_param *e, int xattrs,
		  off_t next)
{
	size_t		n;

	if (!d->plus)
	{
		n = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, &e->attr, next);
		if (n > d->size - d->used)
			return 0;
		d->used += n;
		return 1;
	}
	if (fuse_add_direntry_plus(d->req, NULL, 0, name, e, next) > d->size - d->used)
		return 0;
	if (e->ino)
	{
		pgfs_cache_entry(d->dir, name, e, d->ep);
		pgfs_cache_xattrs(e->ino, xattrs, e->attr_timeout, d->xs);
		d->given[d->ngiven++] = e->ino;
	}
	d->used += fuse_add_direntry_plus(d->req, d->buf + d->used, d->size - d->used, name, e, next);
	return 1;
}

/* "." and "..": the kernel wants their numbers, not their attributes. */
static int
add_dot(struct dirbuf *d, const char *name, fuse_ino_t ino, off_t next)
{
	struct fuse_entry_param e = {.attr.st_ino = ino,.attr.st_mode = S_IFDIR};

	return add_entry(d, name, &e, -1, next);
}

/*
 * Offsets: 0 is the start, 1 follows ".", 2 follows "..", and past that an
 * offset is the cookie of the last entry returned, which pgfs_ll_readdir
 * resumes after.
 */
static void
do_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, int plus,
		   struct dir_handle *dh)
{
	int64_t		dir = ino_in(ino);
	int64_t		cookie = off < 2 ? 2 : off;
	uint64_t	seq = pgfs_dcache_mutation_seq();
	struct dirbuf d = {.req = req,.dir = ino,.plus = plus,.ep = pgfs_cache_epoch(),
	.xs = pgfs_cache_xattr_stamp()};
	int			err = 0,
				full = 0,
				end = 0,
				up;
	size_t		i;

	/* the end of a listing just read through this handle (struct dir_handle) */
	if (dh && dh->eof_until != 0 && off == dh->eof_off && seq == dh->eof_seq &&
		d.ep == dh->eof_ep && pgfs_now_ns() < dh->eof_until)
	{
		dh->eof_until = 0;
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (dh)
		dh->eof_until = 0;
	d.buf = malloc(size);
	d.size = size;

	/* an entry takes more than 64 bytes */
	if (!d.buf || (plus && !(d.given = malloc(sizeof(*d.given) * (size / 64 + 1)))))
	{
		free(d.buf);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (off < 1)
		full = !add_dot(&d, ".", ino, 1);
	/* ".." of the root is the root; any other's comes with the first entries */
	up = !full && off < 2;
	if (up && ino == FUSE_ROOT_ID)
	{
		full = !add_dot(&d, "..", ino, 2);
		up = 0;
	}
	while (!full && !err)
	{
		int			want = (size - d.used) / (plus ? 160 : 32) + 1;
		struct pgfs_params p = {0};
		PGresult   *r;
		int			row,
					rows,
					uprow = -1;

		par_i64(&p, dir);
		par_i64(&p, cookie);
		par_i32(&p, want);
		/* a listing from the start reads the directory: its access time */
		par_i32(&p, !pgfs.cfg.ro && off <= 2 && cookie == 2 ? pgfs.cfg.atime : PGFS_ATIME_NONE);
		if (!(r = pgfs_exec(up ? SQL_READDIR_UP : SQL_READDIR, &p, &err)))
			break;
		rows = PQntuples(r);
		if (up)
		{
			/* the row of "..", cookie 0 (entries' cookies start at 3) */
			for (row = 0; row < rows && uprow < 0; row++)
				if (res_i64(r, row, 0) == 0)
					uprow = row;
			if (uprow < 0 || PQgetisnull(r, uprow, 2))
			{
				err = ENOENT;	/* the directory is gone: "." alone */
				PQclear(r);
				break;
			}
			full = !add_dot(&d, "..", ino_out(res_i64(r, uprow, 2)), 2);
			up = 0;
		}
		for (row = 0; row < rows && !full; row++)
		{
			char		name[PGFS_NAME_MAX + 1];
			int			len = PQgetlength(r, row, 1);
			int64_t		child = res_i64(r, row, 2);
			struct fuse_entry_param e;
			PGresult   *fresh = NULL;
			int			xattrs;

			if (row == uprow)
				continue;
			if (len > PGFS_NAME_MAX)
				len = PGFS_NAME_MAX;
			memcpy(name, PQgetvalue(r, row, 1), len);
			name[len] = '\0';
			if (plus && pgfs_ino_flush(child) && (fresh = getattr_sql(child, &err)))
			{
				row_entry(fresh, 0, 0, &e);
				xattrs = pgfs_row_xattrs(fresh, 0, 0);
			}
			else
			{
				row_entry(r, row, 2, &e);
				xattrs = pgfs_row_xattrs(r, row, 2);
			}
			PQclear(fresh);
			err = 0;
			if (!(full = !add_entry(&d, name, &e, xattrs, res_i64(r, row, 0))))
				cookie = res_i64(r, row, 0);
		}
		PQclear(r);
		if (rows - (uprow >= 0) < want)
		{
			end = !full;
			break;
		}
	}
	if (dh && end && !err && pgfs_dcache_window_ns() > 0)
	{
		dh->eof_off = cookie;	/* the offset of the last entry given */
		dh->eof_seq = seq;
		dh->eof_ep = d.ep;
		dh->eof_until = pgfs_now_ns() + pgfs_dcache_window_ns();
	}
	if (err && d.used == 0)
		fuse_reply_err(req, err);
	else if (fuse_reply_buf(req, d.buf, d.used) != 0)
		for (i = 0; i < d.ngiven; i++)
			pgfs_cache_unref(d.given[i], 1);	/* the kernel did not take them */
	free(d.buf);
	free(d.given);
}

static void
pgfs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 0, (struct dir_handle *) (uintptr_t) fi->fh);
}

static void
pgfs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi)
{
	do_readdir(req, ino, size, off, 1, (struct dir_handle *) (uintptr_t) fi->fh);
}

static void
pgfs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct pgfs_params p = {0};
	struct statvfs sv = {0};
	PGresult   *r;
	int			err;

	if (!(r = pgfs_exec(SQL_STATFS, &p, &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	sv.f_bsize = res_i64(r, 0, 0);
	sv.f_frsize = res_i64(r, 0, 1);
	sv.f_blocks = res_i64(r, 0, 2);
	sv.f_bfree = res_i64(r, 0, 3);
	sv.f_bavail = res_i64(r, 0, 4);
	sv.f_files = res_i64(r, 0, 5);
	sv.f_ffree = res_i64(r, 0, 6);
	sv.f_favail = sv.f_ffree;
	sv.f_namemax = res_i64(r, 0, 7);
	PQclear(r);
	fuse_reply_statfs(req, &sv);
}

/* A change of ino's extended attributes (cache.c forgets that it had none). */
static void
reply_xattr_change(fuse_req_t req, fuse_ino_t ino, enum pgfs_stmt st, const struct pgfs_params *p)
{
	int			err;

	pgfs_cache_xattrs_changing(ino);
	err = exec_err(st, p);
	pgfs_cache_xattrs_changing(ino);
	fuse_reply_err(req, err);
}

/*
 * Setting an access ACL clears the set-group-ID bit unless the caller is in
 * the file's group or has CAP_FSETID (Linux's posix_acl_update_mode).  The
 * kernel decides this, but says so in a flag of the extended setxattr
 * request (FUSE_SETXATTR_ACL_KILL_SGID) that libfuse 3.14 does not hand to
 * filesystems, so it is decided here, with root standing for the
 * capability.
 */
static int
acl_kills_sgid(fuse_req_t req, fuse_ino_t ino)
{
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	gid_t		groups[64];
	struct stat st;
	PGresult   *r;
	int			err,
				n,
				kill = 0;

	if (ctx->uid == 0)
		return 0;
	if (!(r = getattr_sql(ino_in(ino), &err)))
		return 0;				/* the setxattr will say what is wrong */
	pgfs_row_stat(r, 0, 0, &st);
	PQclear(r);
	if ((st.st_mode & S_ISGID) != 0)
	{
		gid_t		gid = st.st_gid;

		kill = gid != ctx->gid;
		n = fuse_req_getgroups(req, 64, groups);
		for (int i = 0; kill && i < n && i < 64; i++)
			kill = gid != groups[i];
	}
	return kill;
}

static void
pgfs_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
			  size_t size, int flags)
{
	struct pgfs_params p = {0};

	REFUSE_IF_RO(req);
	if (strlen(name) > PGFS_XATTR_NAME_MAX)
	{
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (size > PGFS_XATTR_SIZE_MAX)
	{
		fuse_reply_err(req, E2BIG);
		return;
	}
	if (is_acl_name(name) && !pgfs.acl)
	{
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	flags &= PGFS_XATTR_CREATE | PGFS_XATTR_REPLACE;
	if (pgfs.acl && strcmp(name, "system.posix_acl_access") == 0 && acl_kills_sgid(req, ino))
		flags |= PGFS_XATTR_ACL_KILL_SGID;
	par_i64(&p, ino_in(ino));
	par_bytes(&p, name, strlen(name));
	par_bytes(&p, value, size);
	par_i32(&p, flags);
	pgfs_ino_set_nocaps(ino_in(ino), 0);
	reply_xattr_change(req, ino, SQL_SETXATTR, &p);
}

/* Reply to a getxattr or listxattr: size 0 asks how big the value is. */
static void
reply_xattr(fuse_req_t req, const char *data, size_t len, size_t size)
{
	if (size == 0)
		fuse_reply_xattr(req, len);
	else if (len > size)
		fuse_reply_err(req, ERANGE);
	else
		fuse_reply_buf(req, data, len);
}

static void
pgfs_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err,
				caps;

	if (strlen(name) > PGFS_XATTR_NAME_MAX)
	{
		fuse_reply_err(req, ERANGE);
		return;
	}
	caps = strcmp(name, "security.capability") == 0;
	if (pgfs_cache_noxattrs(ino) || (caps && pgfs_ino_nocaps(ino_in(ino))))
	{
		fuse_reply_err(req, ENODATA);	/* see handle.c */
		return;
	}
	par_i64(&p, ino_in(ino));
	par_bytes(&p, name, strlen(name));
	/* absent is NULL, not an error (ls -l asks every file for ACLs and labels) */
	if (!(r = pgfs_exec(SQL_GETXATTR, &p, &err)))
		fuse_reply_err(req, err);
	else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
	{
		if (caps)
			pgfs_ino_set_nocaps(ino_in(ino), 1);
		fuse_reply_err(req, ENODATA);
	}
	else
		reply_xattr(req, PQgetvalue(r, 0, 0), PQgetlength(r, 0, 0), size);
	PQclear(r);
}

static void
pgfs_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	char	   *list;
	size_t		len = 0;
	int			err,
				row;

	if (pgfs_cache_noxattrs(ino))
	{
		reply_xattr(req, "", 0, size);
		return;
	}
	par_i64(&p, ino_in(ino));
	if (!(r = pgfs_exec(SQL_LISTXATTR, &p, &err)))
	{
		fuse_reply_err(req, err);
		return;
	}
	for (row = 0; row < PQntuples(r); row++)
		len += PQgetlength(r, row, 0) + 1;
	if (!(list = malloc(len + 1)))
		fuse_reply_err(req, ENOMEM);
	else
	{
		len = 0;
		for (row = 0; row < PQntuples(r); row++)
		{
			memcpy(list + len, PQgetvalue(r, row, 0), PQgetlength(r, row, 0));
			len += PQgetlength(r, row, 0);
			list[len++] = '\0';
		}
		reply_xattr(req, list, len, size);
		free(list);
	}
	PQclear(r);
}

static void
pgfs_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	struct pgfs_params p = {0};

	REFUSE_IF_RO(req);
	if (strlen(name) > PGFS_XATTR_NAME_MAX)
	{
		fuse_reply_err(req, ERANGE);
		return;
	}
	if (is_acl_name(name) && !pgfs.acl)
	{
		fuse_reply_err(req, EOPNOTSUPP);
		return;
	}
	par_i64(&p, ino_in(ino));
	par_bytes(&p, name, strlen(name));
	reply_xattr_change(req, ino, SQL_REMOVEXATTR, &p);
}

/* Only asked without default_permissions; then nothing is checked, as documented. */
static void
pgfs_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	fuse_reply_err(req, ENOSYS);
}

const struct fuse_lowlevel_ops pgfs_ll_ops = {
	.init = pgfs_init,
	.destroy = pgfs_destroy,
	.lookup = pgfs_lookup,
	.forget = pgfs_forget,
	.forget_multi = pgfs_forget_multi,
	.getattr = pgfs_getattr,
	.setattr = pgfs_setattr,
	.readlink = pgfs_readlink,
	.mknod = pgfs_mknod,
	.mkdir = pgfs_mkdir,
	.unlink = pgfs_unlink,
	.rmdir = pgfs_rmdir,
	.symlink = pgfs_symlink,
	.rename = pgfs_rename,
	.link = pgfs_link,
	.open = pgfs_open,
	.create = pgfs_create,
	.read = pgfs_read,
	.write = pgfs_write,
	.flush = pgfs_flush,
	.release = pgfs_release,
	.fsync = pgfs_fsync,
	.fallocate = pgfs_fallocate,
	.copy_file_range = pgfs_copy_file_range,
	.lseek = pgfs_lseek,
	.getlk = pgfs_getlk,
	.setlk = pgfs_setlk,
	.flock = pgfs_flock,
	.opendir = pgfs_opendir,
	.readdir = pgfs_readdir,
	.readdirplus = pgfs_readdirplus,
	.releasedir = pgfs_releasedir,
	.fsyncdir = pgfs_fsyncdir,
	.statfs = pgfs_statfs,
	.setxattr = pgfs_setxattr,
	.getxattr = pgfs_getxattr,
	.listxattr = pgfs_listxattr,
	.removexattr = pgfs_removexattr,
	.access = pgfs_access,
};
