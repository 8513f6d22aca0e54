/*
 * pgfs_fuse.h
 *	  What crosses files in pgfs-fuse, the FUSE daemon of pgfs.
 *
 * The daemon speaks the libfuse low-level protocol and turns each request
 * into one call of a pgfs_ll_* SQL function.  pgfs inode numbers are used as
 * FUSE node ids (the store's root is inode 1 == FUSE_ROOT_ID); with
 * -o subdir the chosen directory and inode 1 swap numbers, see ino_in().
 */
#ifndef PGFS_FUSE_H
#define PGFS_FUSE_H

#define FUSE_USE_VERSION 312

#include <endian.h>
#include <fuse_lowlevel.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgfs_errcodes.h"

#define PGFS_FUSE_VERSION	"1.4"

/* one write to the server carries at most this much buffered data */
#define PGFS_WBUF_MAX		(1024 * 1024)
/* ... and a buffer that would cross this alignment is cut there */
#define PGFS_WBUF_ALIGN		(64 * 1024)
/* ... in at most this many pieces (writes to places of the file not one after the other) */
#define PGFS_WBUF_SEGS		256
/* all write buffers together take at most this much memory */
#define PGFS_WBUF_TOTAL		((size_t) 256 * 1024 * 1024)
/*
 * The most one copy_file_range(2) request copies, in one transaction: the
 * kernel asks again for the rest.  Shared chunks cost a map entry each (a
 * 64 MiB request takes tens of milliseconds); a copy between offsets that
 * are not at the same place in a chunk moves the bytes through the server's
 * memory, a quarter of a second or so for 64 MiB.
 */
#define PGFS_COPY_MAX		((size_t) 64 * 1024 * 1024)
/* an open for reading brings this much of the file along (the server's limit) ... */
#define PGFS_PREREAD_MAX	(128 * 1024)
/* ... while all handles together hold less than this */
#define PGFS_PREREAD_TOTAL	((size_t) 32 * 1024 * 1024)
/* releases sent in one statement at most */
#define PGFS_RELEASE_BATCH	1000

#define PGFS_DEFAULT_WORKERS	4
#define PGFS_DEFAULT_READ_AHEAD_KB	4096
#define PGFS_MAX_WORKERS		64
/* serialization failures and deadlocks are retried this often */
#define PGFS_MAX_RETRIES		10

struct pgfs_config
{
	char	   *conninfo;		/* first non-option argument */
	char	   *subdir;			/* -o subdir=: directory of the store to mount */
	int			ro;				/* -o ro: never write */
	int			dirsync;		/* -o dirsync: name changes durable when they return */
	int			workers;		/* -o workers=: server connections */
	double		attr_timeout;
	double		entry_timeout;
	int			read_ahead_kb;	/* -o read_ahead_kb=: the mount's read-ahead, or -1 */
	int			local_locks;	/* -o local_locks: the kernel keeps file locks */
	int			default_permissions;	/* the kernel checks permissions, ACLs too */
	int			atime;			/* -o relatime (the default) or noatime: PGFS_ATIME_* */
	int			debug;
	int			has_fsname;		/* the user chose -o fsname= / subtype= */
	int			has_subtype;
};

struct pgfs_state
{
	struct pgfs_config cfg;
	struct fuse_session *se;	/* set while the session exists */
	int64_t		client;			/* random id marking our open handles */
	int64_t		root_ino;		/* pgfs inode shown as FUSE_ROOT_ID */
	char	   *mountpoint;		/* absolute */
	int			acl;			/* the kernel enforces POSIX ACLs (ops.c) */
};

extern struct pgfs_state pgfs;

/*
 * The node id <-> pgfs inode mapping: with a subdir, the subdir and inode 1
 * trade places, which keeps the mapping a bijection.
 */
static inline int64_t
ino_in(fuse_ino_t ino)
{
	int64_t		root = __atomic_load_n(&pgfs.root_ino, __ATOMIC_RELAXED);

	if (ino == FUSE_ROOT_ID)
		return root;
	if ((int64_t) ino == root)
		return 1;
	return (int64_t) ino;
}

static inline fuse_ino_t
ino_out(int64_t ino)
{
	int64_t		root = __atomic_load_n(&pgfs.root_ino, __ATOMIC_RELAXED);

	if (ino == root)
		return FUSE_ROOT_ID;
	if (ino == 1)
		return (fuse_ino_t) root;
	return (fuse_ino_t) ino;
}

/*
 * Every prepared statement: name, whether it writes (PGFS_WRITES; or 2: it
 * writes, but sending it twice does no harm, so it is repeated after a lost
 * connection like a read), SQL.  Parameters are cast in the SQL text so that
 * their types (and so their binary format) are fixed here and not inferred.
 */
#define PGFS_WRITES 1
#define PGFS_ATTR_COLS "ino, mode, nlink, uid, gid, rdev, size, blocks, atime_ns, mtime_ns, ctime_ns, xattrs"
#define PGFS_ATTR_NCOLS 12		/* ... of which the last is xattrs */
#define PGFS_STMT_LIST \
	PGFS_STMT(LOOKUP, 0, "SELECT " PGFS_ATTR_COLS " FROM pgfs_ll_lookup($1::int8, $2::bytea, true)") \
	PGFS_STMT(GETATTR, 0, "SELECT " PGFS_ATTR_COLS " FROM pgfs_ll_getattr($1::int8)") \
	PGFS_STMT(GENERATION, 0, "SELECT generation FROM pgfs_ll_getattr($1::int8)") \
	PGFS_STMT(READ, 0, "SELECT pgfs_ll_read($1::int8, $2::int8, $3::int4)") \
	PGFS_STMT(READLINK, 0, "SELECT pgfs_ll_readlink($1::int8)") \
	PGFS_STMT(READDIR, 0, "SELECT cookie, name, " PGFS_ATTR_COLS \
			  " FROM pgfs_ll_readdir($1::int8, $2::int8, $3::int4, $4::int4)") \
	PGFS_STMT(READDIR_UP, 0, "SELECT 0::int8, '..'::bytea, " PGFS_ATTR_COLS \
			  " FROM pgfs_ll_lookup($1::int8, '..'::bytea, true) UNION ALL" \
			  " SELECT cookie, name, " PGFS_ATTR_COLS \
			  " FROM pgfs_ll_readdir($1::int8, $2::int8, $3::int4, $4::int4)") \
	PGFS_STMT(STATFS, 0, "SELECT bsize, frsize, blocks, bfree, bavail, files, ffree, namemax::int8" \
			  " FROM pgfs_ll_statfs()") \
	PGFS_STMT(GETXATTR, 0, "SELECT pgfs_ll_getxattr($1::int8, $2::bytea, true)") \
	PGFS_STMT(LISTXATTR, 0, "SELECT n FROM pgfs_ll_listxattr($1::int8) n") \
	PGFS_STMT(SETATTR, 1, "SELECT " PGFS_ATTR_COLS " FROM pgfs_ll_setattr($1::int8, $2::int4," \
			  " $3::int8, $4::int8, $5::int8, $6::int8, $7::int8, $8::bool, $9::bool, $10::bool)") \
	PGFS_STMT(WRITE, 1, "SELECT pgfs_ll_write($1::int8, $2::int8, $3::bytea, $4::bool)") \
	PGFS_STMT(WRITEV, 1, "SELECT pgfs_ll_writev($1::int8, $2::int8[], $3::int4[], $4::bytea, $5::bool)") \
	PGFS_STMT(FSYNC, 1, "SELECT pgfs_ll_fsync()") \
	PGFS_STMT(COPY_RANGE, 1, "SELECT pgfs_ll_copy_range($1::int8, $2::int8, $3::int8, $4::int8," \
			  " $5::int8, $6::bool)") \
	PGFS_STMT(FALLOCATE, 1, "SELECT pgfs_ll_fallocate($1::int8, $2::int4, $3::int8, $4::int8, $5::bool)") \
	PGFS_STMT(SEEK, 0, "SELECT pgfs_ll_seek($1::int8, $2::int8, $3::int4)") \
	PGFS_STMT(CREATE, 1, "SELECT " PGFS_ATTR_COLS ", parent_generation FROM pgfs_ll_create($1::int8, $2::bytea," \
			  " $3::int4, $4::int8, $5::int8, $6::int8, $7::bool, $8::int4)") \
	PGFS_STMT(MKDIR, 1, "SELECT " PGFS_ATTR_COLS " FROM pgfs_ll_mkdir($1::int8, $2::bytea," \
			  " $3::int4, $4::int8, $5::int8, $6::bool, $7::int4)") \
	PGFS_STMT(MKNOD, 1, "SELECT " PGFS_ATTR_COLS " FROM pgfs_ll_mknod($1::int8, $2::bytea," \
			  " $3::int4, $4::int8, $5::int8, $6::int8, $7::bool, $8::int4)") \
	PGFS_STMT(SYMLINK, 1, "SELECT " PGFS_ATTR_COLS " FROM pgfs_ll_symlink($1::int8, $2::bytea," \
			  " $3::bytea, $4::int8, $5::int8, $6::bool)") \
	PGFS_STMT(LINK, 1, "SELECT " PGFS_ATTR_COLS " FROM pgfs_ll_link($1::int8, $2::int8, $3::bytea," \
			  " $4::bool)") \
	PGFS_STMT(UNLINK, 1, "SELECT pgfs_ll_unlink($1::int8, $2::bytea, $3::bool)") \
	PGFS_STMT(RMDIR, 1, "SELECT pgfs_ll_rmdir($1::int8, $2::bytea, $3::bool)") \
	PGFS_STMT(RENAME, 1, "SELECT pgfs_ll_rename($1::int8, $2::bytea, $3::int8, $4::bytea, $5::int4," \
			  " $6::bool, $7::int8, $8::int8)") \
	PGFS_STMT(SETXATTR, 1, "SELECT pgfs_ll_setxattr($1::int8, $2::bytea, $3::bytea, $4::int4)") \
	PGFS_STMT(REMOVEXATTR, 1, "SELECT pgfs_ll_removexattr($1::int8, $2::bytea)") \
	PGFS_STMT(CLIENT_BEGIN, 1, "SELECT pgfs_ll_client_begin($1::int8)") \
	PGFS_STMT(LOCKS_TAKEN, 1, "SELECT pgfs_ll_locks_taken($1::int8)") \
	PGFS_STMT(REOPEN, 2, "SELECT pgfs_ll_reopen($1::int8, $2::int8, $3::int4, $4::int8)") \
	PGFS_STMT(OPEN_READ, 2, "SELECT size, data, generation FROM pgfs_ll_open_read($1::int8, $2::int8," \
			  " $3::int4, $4::int4, $5::int8, $6::int4)") \
	PGFS_STMT(OPEN_RO, 0, "SELECT a.size, CASE WHEN $2::int4 = 0 OR a.generation = $3::int8 THEN NULL" \
			  " ELSE pgfs_ll_read($1::int8, 0, $2::int4) END, a.generation FROM pgfs_ll_getattr($1::int8) a") \
	PGFS_STMT(RELEASE_MANY, 2, "SELECT pgfs_ll_release_many($1::int8[], $2::int8)") \
	PGFS_STMT(RECLAIM, 1, "SELECT pgfs_reclaim_orphans()") \
	PGFS_STMT(SETLK, 2, "SELECT pgfs_ll_setlk($1::int8, $2::int8, $3::int8, $4::int4, $5::bool," \
			  " $6::int4, $7::int8, $8::int8)") \
	PGFS_STMT(GETLK, 2, "SELECT type, lstart, lend, pid FROM pgfs_ll_getlk($1::int8, $2::int8," \
			  " $3::int8, $4::bool, $5::int4, $6::int8, $7::int8)") \
	PGFS_STMT(RECLAIMLK, 2, "SELECT pgfs_ll_reclaimlk($1::int8, $2::int8, $3::int8, $4::int4, $5::bool," \
			  " $6::int4, $7::int8, $8::int8)")

enum pgfs_stmt
{
#define PGFS_STMT(id, writes, sql) SQL_##id,
	PGFS_STMT_LIST
#undef PGFS_STMT
	SQL_COUNT
};

/*
 * Parameters, all in binary format; numbers live in num[] big-endian.  The
 * most any statement takes: SETATTR's 10.  One more is a bug, which stops
 * the daemon at once rather than writing past the arrays.
 */
#define PGFS_MAX_PARAMS 10
struct pgfs_params
{
	int			n;
	const char *val[PGFS_MAX_PARAMS];
	int			len[PGFS_MAX_PARAMS];
	int			fmt[PGFS_MAX_PARAMS];
	uint64_t	num[PGFS_MAX_PARAMS];
};

/* a file lock: the whole file for a flock, [start, end] for a record lock */
struct pgfs_lock
{
	uint64_t	owner;			/* the kernel's lock owner; a flock's: its handle */
	int			flock;
	int			type;			/* F_RDLCK, F_WRLCK or F_UNLCK */
	int64_t		start;
	int64_t		end;			/* INT64_MAX: the end of the file, however far */
	int32_t		pid;
};

/* the next parameter's index */
static inline int
par_next(const struct pgfs_params *p)
{
	if (p->n >= PGFS_MAX_PARAMS)
		abort();
	return p->n;
}

static inline void
par_bytes(struct pgfs_params *p, const void *data, size_t len)
{
	int			i = par_next(p);

	p->val[i] = data;
	p->len[i] = (int) len;
	p->fmt[i] = 1;
	p->n++;
}

static inline void
par_i64(struct pgfs_params *p, int64_t v)
{
	int			i = par_next(p);

	p->num[i] = htobe64((uint64_t) v);
	par_bytes(p, &p->num[i], 8);
}

static inline void
par_i32(struct pgfs_params *p, int32_t v)
{
	int			i = par_next(p);
	uint32_t	be = htobe32((uint32_t) v);

	memcpy(&p->num[i], &be, 4);
	par_bytes(p, &p->num[i], 4);
}

static inline void
par_bool(struct pgfs_params *p, int v)
{
	int			i = par_next(p);

	p->num[i] = 0;
	((char *) &p->num[i])[0] = v ? 1 : 0;
	par_bytes(p, &p->num[i], 1);
}

static inline void
par_null(struct pgfs_params *p)
{
	int			i = par_next(p);

	p->val[i] = NULL;
	p->len[i] = 0;
	p->fmt[i] = 1;
	p->n++;
}

/* Results come in binary format too; a NULL reads as 0. */
static inline int64_t
res_i64(const PGresult *r, int row, int col)
{
	uint64_t	v = 0;

	if (PQgetlength(r, row, col) == 8)
		memcpy(&v, PQgetvalue(r, row, col), 8);
	return (int64_t) be64toh(v);
}

static inline int32_t
res_i32(const PGresult *r, int row, int col)
{
	uint32_t	v = 0;

	if (PQgetlength(r, row, col) == 4)
		memcpy(&v, PQgetvalue(r, row, col), 4);
	return (int32_t) be32toh(v);
}

/* a boolean column of a binary result (one byte, 0 or 1); NULL reads as false */
static inline int
res_bool(const PGresult *r, int row, int col)
{
	return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 1 &&
		PQgetvalue(r, row, col)[0] != 0;
}

/* in main.c */
extern void pgfs_log(enum fuse_log_level level, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));

/* in cache.c */
extern unsigned pgfs_cache_epoch(void);
extern double pgfs_cache_attr_timeout(unsigned ep);
extern void pgfs_cache_entry(fuse_ino_t parent, const char *name,
							 struct fuse_entry_param *e, unsigned ep);
extern fuse_ino_t pgfs_cache_child(fuse_ino_t parent, const char *name);
extern void pgfs_cache_unref(fuse_ino_t ino, uint64_t count);
extern void pgfs_cache_rename(fuse_ino_t parent, const char *name, fuse_ino_t newparent,
							  const char *newname, int exchange);
extern void pgfs_cache_drop_all(void);
extern unsigned pgfs_cache_xattr_stamp(void);
extern void pgfs_cache_xattrs(fuse_ino_t ino, int count, double t, unsigned xs);
extern int	pgfs_cache_noxattrs(fuse_ino_t ino);
extern void pgfs_cache_xattrs_changing(fuse_ino_t ino);
extern int	pgfs_cache_start(struct fuse_session *se);
extern int	pgfs_cache_stop(void);

/* in conn.c */
extern int	pgfs_conn_init(void);
extern int	pgfs_conn_start(void);
extern void pgfs_conn_fini(void);
extern unsigned pgfs_conn_resets(void);
extern unsigned pgfs_conn_lock_resets(void);
extern int	pgfs_conn_lock_taken(unsigned resets);
extern PGresult *pgfs_exec(enum pgfs_stmt st, const struct pgfs_params *p, int *err);
extern PGresult *pgfs_exec_on(PGconn *pg, enum pgfs_stmt st, const struct pgfs_params *p,
							  int *err);

/* in ops.c */
extern void pgfs_locks_stop(void);

/* in errmap.c */
extern int	pgfs_sqlstate_errno(const char *sqlstate, const char *message);

/* in handle.c */
struct pgfs_fh;
extern int	pgfs_fh_open(int64_t ino, int flags, int created, struct pgfs_fh **out);
extern int	pgfs_fh_keep_cache(struct pgfs_fh *fh);
extern int	pgfs_fh_stale_attrs(struct pgfs_fh *fh);
extern void pgfs_fh_created_deferred(struct pgfs_fh *fh, unsigned resets, int64_t born);
extern void pgfs_names_deferred(int64_t dir, int64_t dir2, unsigned resets);
extern int	pgfs_fh_release(struct pgfs_fh *fh);
extern int	pgfs_fh_stale(struct pgfs_fh *fh);
extern int	pgfs_fh_reregister(PGconn *pg);
extern int	pgfs_fh_write(struct pgfs_fh *fh, const char *buf, size_t size, off_t off);
extern int	pgfs_fh_preread(struct pgfs_fh *fh, fuse_req_t req, size_t size, off_t off);
extern void pgfs_ino_changed(int64_t ino);
extern int	pgfs_fh_flush(struct pgfs_fh *fh, int fsync);
extern int	pgfs_fh_note_lock(struct pgfs_fh *fh, int64_t gen);
extern int	pgfs_fh_has_locks(struct pgfs_fh *fh);
extern uint64_t pgfs_fh_id(struct pgfs_fh *fh);
extern void pgfs_lock_params(struct pgfs_params *p, int64_t ino, const struct pgfs_lock *lk,
							 int type);
extern void pgfs_fh_lock_begin(struct pgfs_fh *fh);
extern void pgfs_fh_lock_end(struct pgfs_fh *fh, uint64_t granted_to);
extern int	pgfs_fh_owner_locked(struct pgfs_fh *fh, uint64_t owner);
extern void pgfs_fh_locks_held(struct pgfs_fh *fh, const struct pgfs_lock *lk, unsigned resets);
extern int	pgfs_fh_locks_lost(struct pgfs_fh *fh);
extern int	pgfs_fh_reclaim_locks(void);
extern void pgfs_fh_release_locks(struct pgfs_fh *fh,
								  void (*unlock) (uint64_t owner, void *arg), void *arg);
extern int	pgfs_ino_flush(int64_t ino);
struct open_inode;
extern struct open_inode *pgfs_ino_change_begin(int64_t ino, int size_change, unsigned *resets);
extern void pgfs_ino_change_done(struct open_inode *oi, int size_change, int ok, unsigned resets);
extern int	pgfs_ino_nocaps(int64_t ino);
extern void pgfs_ino_set_nocaps(int64_t ino, int none);
extern void pgfs_flush_all(void);
extern int	pgfs_sync_dir(int64_t dir);
extern int	pgfs_fh_start(void);
extern void pgfs_fh_stop(void);
extern void pgfs_ino_unlinking(int64_t ino);

/* FNV-1a: h (PGFS_FNV_BASIS to start) carried on over len bytes */
#define PGFS_FNV_BASIS 2166136261u
static inline uint32_t
pgfs_fnv(uint32_t h, const void *data, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ ((const uint8_t *) data)[i]) * 16777619u;
	return h;
}

/* ... of a name: dcache.c's listings, ops.c's repeated creates */
static inline uint32_t
pgfs_name_hash(const char *name, size_t len)
{
	return pgfs_fnv(PGFS_FNV_BASIS, name, len);
}

/* CLOCK_MONOTONIC in nanoseconds */
static inline int64_t
pgfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* in dcache.c */
extern int	pgfs_dcache_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e,
							   int *xattrs, unsigned *xs);
extern void pgfs_dcache_mutated(int rename);
extern uint64_t pgfs_dcache_mutation_seq(void);
extern int64_t pgfs_dcache_window_ns(void);
extern void pgfs_dcache_added(fuse_ino_t parent, const char *name);
extern void pgfs_dcache_created(fuse_ino_t parent, int64_t generation, int64_t sent);

/* in main.c */
extern void pgfs_read_ahead_once(void);

/* in ops.c */
extern void pgfs_row_stat(const PGresult *r, int row, int col, struct stat *st);
extern int	pgfs_row_xattrs(const PGresult *r, int row, int col);
extern const struct fuse_lowlevel_ops pgfs_ll_ops;

#endif							/* PGFS_FUSE_H */
