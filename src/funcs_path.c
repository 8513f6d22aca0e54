/*-------------------------------------------------------------------------
 *
 * funcs_path.c
 *	  The path API: SQL functions taking absolute text paths.
 *
 * Each function resolves its path(s) (path.c), then hands the inode-level
 * work to namespace.c or chunkstore.c, so SQL and the mount share one
 * implementation of every rule.  Which calls follow a final symbolic link
 * is as in POSIX: write, read, stat, truncate, chmod, chown, utimens, the
 * xattr calls and readdir follow it; lstat, unlink, rmdir, rename, link,
 * readlink, remove and exists do not.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/statvfs.h>
#include <sys/sysmacros.h>

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "pgfs.h"

static char *
PathArg(FunctionCallInfo fcinfo, int n)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("path must not be NULL")));
	return text_to_cstring(PG_GETARG_TEXT_PP(n));
}

static void
NoRoot(const PgfsPath *p, int sqlstate)
{
	if (p->name.len == 0)
		ereport(ERROR,
				(errcode(sqlstate),
				 errmsg("cannot apply this operation to the root directory \"%s\"", p->path)));
}

/*
 * A missing file is created with the data in it (one inode row, written
 * once); an existing one, or one created concurrently, is locked and
 * written.
 */
static int64
WriteCommon(FunctionCallInfo fcinfo, int64 offset, bool truncate_first, bool append)
{
	char	   *path = PathArg(fcinfo, 0);
	bytea	   *data = PG_GETARG_BYTEA_PP(1);
	int64		len = VARSIZE_ANY_EXHDR(data);
	PgfsPath	p;
	PgfsInode	node;
	bool		created = false;
	int64		ino;

	/* check before creating anything: a failed call changes nothing */
	if (!append)
		NsCheckRange(offset, len, path);
	PgfsSpiBegin(false);
	PgfsResolve(path, true, &p);
	PgfsCurrentPath = path;
	if (p.exists)
		ino = p.inode.ino;
	else
	{
		if (p.trailing_slash)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EISDIR),
					 errmsg("cannot create file \"%s\": the path ends in \"/\"", path)));
		NsCreateFile(p.parent, p.name, pgfs_default_file_mode, pgfs_default_uid,
					 pgfs_default_gid, append ? 0 : offset, VARDATA_ANY(data), len, path,
					 &node, &created);
		ino = node.ino;
	}
	if (!created)
		NsWrite(ino, NULL, offset, data, truncate_first, append, path, &node);
	PgfsSpiEnd();
	return append ? node.size : len;
}

PG_FUNCTION_INFO_V1(pgfs_write);
Datum
pgfs_write(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(WriteCommon(fcinfo, 0, true, false));
}

PG_FUNCTION_INFO_V1(pgfs_write_at);
Datum
pgfs_write_at(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(WriteCommon(fcinfo, PG_GETARG_INT64(2), false, false));
}

PG_FUNCTION_INFO_V1(pgfs_append);
Datum
pgfs_append(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(WriteCommon(fcinfo, 0, false, true));
}

PG_FUNCTION_INFO_V1(pgfs_read);
Datum
pgfs_read(PG_FUNCTION_ARGS)
{
	char	   *path = PathArg(fcinfo, 0);
	int64		offset;
	int64		length;
	PgfsPath	p;
	bytea	   *result;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("offset for \"%s\" must not be NULL", path)));
	offset = PG_GETARG_INT64(1);
	length = PG_ARGISNULL(2) ? -1 : PG_GETARG_INT64(2);
	if (offset < 0 || (!PG_ARGISNULL(2) && length < 0))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("negative offset or length reading \"%s\"", path)));
	/* as pread(2): the end of the range must be representable */
	if (!PG_ARGISNULL(2) && length > PG_INT64_MAX - offset)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("offset plus length overflows reading \"%s\"", path)));

	PgfsSpiBeginDirect();
	PgfsResolveExisting(path, true, &p);
	PgfsCurrentPath = path;
	PolicyCheckInode(&p.inode, false, path);
	if (PGFS_IS_DIR(p.inode.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EISDIR),
				 errmsg("\"%s\" is a directory", path)));
	if (!PGFS_IS_REG(p.inode.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("\"%s\" is not a regular file", path)));
	if (offset >= p.inode.size)
		length = 0;
	else if (length < 0 || length > p.inode.size - offset)
		length = p.inode.size - offset;
	if (length > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EOVERFLOW),
				 errmsg("cannot read %lld bytes of \"%s\" into one bytea value",
						(long long) length, path),
				 errdetail("A bytea value holds at most %d bytes.", (int) (MaxAllocSize - VARHDRSZ)),
				 errhint("Read the file in ranges: pgfs_read(path, offset, length).")));
	result = ChunkRead(&p.inode, offset, length);
	PgfsSpiEnd();
	PG_RETURN_BYTEA_P(result);
}

/* ---- readdir ---- */

static PgfsPlan readdir_plan = {
	"SELECT d.name, i.ino, i.mode, i.nlink, i.uid, i.gid, i.size, i.mtime_ns"
	" FROM pgfs.dirent d JOIN pgfs.inode i ON i.ino = d.ino"
	" WHERE d.parent = $1 ORDER BY d.name",
	1, {INT8OID}, .joins = true
};

PG_FUNCTION_INFO_V1(pgfs_readdir);
Datum
pgfs_readdir(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		with_stat = PG_GETARG_BOOL(1);
	PgfsPath	p;
	Portal		portal;
	Datum		v[1];

	InitMaterializedSRF(fcinfo, 0);
	PgfsSpiBegin(true);
	PgfsResolveExisting(path, true, &p);
	if (!PGFS_IS_DIR(p.inode.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOTDIR),
				 errmsg("\"%s\" is not a directory", path)));
	PolicyCheckInode(&p.inode, false, path);

	/* stream through a cursor: a directory may hold millions of entries */
	v[0] = Int64GetDatum(p.inode.ino);
	portal = PgfsCursorOpen(&readdir_plan, v, NULL);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 1000);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			Datum		values[9];
			bool		nulls[9] = {false};
			bool		isnull;
			int32		mode = PgfsGetInt32(r, 3);

			CHECK_FOR_INTERRUPTS();
			values[0] = CStringGetTextDatum(PgfsNameStr(PgfsByteaName(
																	DatumGetByteaPP(PgfsGetDatum(r, 1, &isnull)))));
			values[1] = CStringGetTextDatum(PgfsTypeName(mode));
			values[2] = Int64GetDatum(PgfsGetInt64(r, 2));
			values[3] = Int32GetDatum(mode);
			values[4] = Int32GetDatum(PgfsGetInt32(r, 4));
			values[5] = Int64GetDatum(PgfsGetInt64(r, 5));
			values[6] = Int64GetDatum(PgfsGetInt64(r, 6));
			values[7] = Int64GetDatum(PgfsGetInt64(r, 7));
			values[8] = PgfsNsToTimestamptz(PgfsGetInt64(r, 8));
			if (!with_stat)
				for (int c = 3; c < 9; c++)
					nulls[c] = true;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	PgfsSpiEnd();
	return (Datum) 0;
}

/* ---- stat ---- */

static Datum
StatDatum(FunctionCallInfo fcinfo, const PgfsInode *n)
{
	TupleDesc	td = PgfsResultDesc(fcinfo);
	Datum		values[17];
	bool		nulls[17] = {false};

	values[0] = Int64GetDatum(n->ino);
	values[1] = CStringGetTextDatum(PgfsTypeName(n->mode));
	values[2] = Int32GetDatum(n->mode);
	values[3] = Int32GetDatum(n->nlink);
	values[4] = Int64GetDatum(n->uid);
	values[5] = Int64GetDatum(n->gid);
	values[6] = Int64GetDatum(n->rdev);
	values[7] = Int64GetDatum(n->size);
	values[8] = Int64GetDatum(n->blocks);
	values[9] = Int32GetDatum(PGFS_CHUNK_SIZE);
	values[10] = PgfsNsToTimestamptz(n->atime_ns);
	values[11] = PgfsNsToTimestamptz(n->mtime_ns);
	values[12] = PgfsNsToTimestamptz(n->ctime_ns);
	values[13] = Int64GetDatum(n->atime_ns);
	values[14] = Int64GetDatum(n->mtime_ns);
	values[15] = Int64GetDatum(n->ctime_ns);
	values[16] = Int64GetDatum(n->generation);
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

static Datum
StatCommon(FunctionCallInfo fcinfo, bool follow)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PgfsPath	p;

	PgfsSpiBeginDirect();
	PgfsResolveExisting(path, follow, &p);
	PolicyCheckVisible(&p.inode, path);
	PgfsSpiEnd();
	return StatDatum(fcinfo, &p.inode);
}

PG_FUNCTION_INFO_V1(pgfs_stat);
Datum
pgfs_stat(PG_FUNCTION_ARGS)
{
	return StatCommon(fcinfo, true);
}

PG_FUNCTION_INFO_V1(pgfs_lstat);
Datum
pgfs_lstat(PG_FUNCTION_ARGS)
{
	return StatCommon(fcinfo, false);
}

PG_FUNCTION_INFO_V1(pgfs_exists);
Datum
pgfs_exists(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PgfsPath	p;
	bool		exists;

	PgfsSpiBeginDirect();
	PgfsResolveSoft(path, false, &p);
	exists = p.exists && PolicyVisible(&p.inode);
	PgfsSpiEnd();
	PG_RETURN_BOOL(exists);
}

/* ---- namespace ---- */

PG_FUNCTION_INFO_V1(pgfs_mkdir);
Datum
pgfs_mkdir(PG_FUNCTION_ARGS)
{
	char	   *path = PathArg(fcinfo, 0);
	int32		mode = PG_ARGISNULL(1) ? pgfs_default_dir_mode : PG_GETARG_INT32(1);
	bool		parents = !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);
	PgfsPath	p;
	PgfsInode	node;

	if ((mode & ~07777) != 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid mode %o for directory \"%s\"", mode, path)));
	PgfsSpiBegin(false);
	if (parents)
	{
		/* mkdir -p: create each missing ancestor, accept existing directories */
		int			len = strlen(path);

		node.ino = PGFS_ROOT_INO;
		for (int i = 1; i <= len; i++)
		{
			char	   *prefix;
			bool		created;

			if (i < len && path[i] != '/')
				continue;
			if (path[i - 1] == '/')
				continue;
			prefix = pnstrdup(path, i);
			PgfsResolve(prefix, true, &p);
			if (p.exists)
			{
				if (!PGFS_IS_DIR(p.inode.mode))
					ereport(ERROR,
							(errcode(i == len ? PGFS_SQLSTATE_EEXIST : PGFS_SQLSTATE_ENOTDIR),
							 errmsg("\"%s\" exists and is not a directory", prefix)));
				node = p.inode;
				continue;
			}
			NsCreate(p.parent, p.name, S_IFDIR | mode, 0, 0, pgfs_default_uid,
					 pgfs_default_gid, NULL, prefix, false, &node, &created, NULL);
			if (!created && !PGFS_IS_DIR(node.mode))
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ENOTDIR),
						 errmsg("\"%s\" exists and is not a directory", prefix)));
		}
	}
	else
	{
		PgfsResolve(path, false, &p);
		if (p.exists)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EEXIST),
					 errmsg("file \"%s\" already exists", path)));
		NsCreate(p.parent, p.name, S_IFDIR | mode, 0, 0, pgfs_default_uid,
				 pgfs_default_gid, NULL, path, true, &node, NULL, NULL);
	}
	PgfsSpiEnd();
	PG_RETURN_INT64(node.ino);
}

PG_FUNCTION_INFO_V1(pgfs_rmdir);
Datum
pgfs_rmdir(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PgfsPath	p;

	PgfsSpiBegin(false);
	PgfsResolveExisting(path, false, &p);
	NoRoot(&p, PGFS_SQLSTATE_EBUSY);
	NsRemove(p.parent, p.name, true, path);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_unlink);
Datum
pgfs_unlink(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PgfsPath	p;

	PgfsSpiBegin(false);
	PgfsResolveExisting(path, false, &p);
	NoRoot(&p, PGFS_SQLSTATE_EISDIR);
	NsRemove(p.parent, p.name, false, path);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_rename);
Datum
pgfs_rename(PG_FUNCTION_ARGS)
{
	char	   *oldpath = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *newpath = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			flags = (PG_GETARG_BOOL(2) ? PGFS_RENAME_NOREPLACE : 0) |
		(PG_GETARG_BOOL(3) ? PGFS_RENAME_EXCHANGE : 0);
	PgfsPath	from;
	PgfsPath	to;

	PgfsSpiBegin(false);
	PgfsResolveExisting(oldpath, false, &from);
	NoRoot(&from, PGFS_SQLSTATE_EBUSY);
	PgfsResolve(newpath, false, &to);
	NoRoot(&to, PGFS_SQLSTATE_EBUSY);
	NsRename(from.parent, from.name, to.parent, to.name, flags, pgfs_default_uid,
			 pgfs_default_gid, oldpath, newpath);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_link);
Datum
pgfs_link(PG_FUNCTION_ARGS)
{
	char	   *oldpath = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *newpath = text_to_cstring(PG_GETARG_TEXT_PP(1));
	PgfsPath	from;
	PgfsPath	to;
	PgfsInode	node;

	PgfsSpiBegin(false);
	PgfsResolveExisting(oldpath, false, &from);
	PgfsResolve(newpath, false, &to);
	if (to.exists)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EEXIST),
				 errmsg("file \"%s\" already exists", newpath)));
	NsLink(from.inode.ino, to.parent, to.name, newpath, &node);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_symlink);
Datum
pgfs_symlink(PG_FUNCTION_ARGS)
{
	text	   *target = PG_GETARG_TEXT_PP(0);
	char	   *linkpath = text_to_cstring(PG_GETARG_TEXT_PP(1));
	int			tlen = VARSIZE_ANY_EXHDR(target);
	PgfsPath	p;
	PgfsInode	node;

	if (tlen == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("target of symbolic link \"%s\" must not be empty", linkpath)));
	if (tlen >= PGFS_PATH_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENAMETOOLONG),
				 errmsg("target of symbolic link \"%s\" is longer than %d bytes",
						linkpath, PGFS_PATH_MAX - 1)));
	PgfsSpiBegin(false);
	PgfsResolve(linkpath, false, &p);
	if (p.exists)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EEXIST),
				 errmsg("file \"%s\" already exists", linkpath)));
	NsCreate(p.parent, p.name, S_IFLNK | 0777, 0, 0, pgfs_default_uid, pgfs_default_gid,
			 (bytea *) target, linkpath, true, &node, NULL, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_readlink);
Datum
pgfs_readlink(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	PgfsPath	p;
	const char *target;
	text	   *result;

	PgfsSpiBegin(true);
	PgfsResolveExisting(path, false, &p);
	PolicyCheckInode(&p.inode, false, path);
	if (!PGFS_IS_LNK(p.inode.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("\"%s\" is not a symbolic link", path)));
	target = PgfsNameStr(PgfsByteaName(CatalogGetTarget(p.inode.ino)));
	result = MemoryContextAlloc(PgfsCallerContext(), VARHDRSZ + strlen(target));
	SET_VARSIZE(result, VARHDRSZ + strlen(target));
	memcpy(VARDATA(result), target, strlen(target));
	PgfsSpiEnd();
	PG_RETURN_TEXT_P(result);
}

/* ---- attributes ---- */

static int64
ResolveFollow(const char *path)
{
	PgfsPath	p;

	PgfsResolveExisting(path, true, &p);
	PgfsCurrentPath = path;
	return p.inode.ino;
}

PG_FUNCTION_INFO_V1(pgfs_truncate);
Datum
pgfs_truncate(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		size = PG_GETARG_INT64(1);

	PgfsSpiBegin(false);
	NsSetattr(ResolveFollow(path), NULL, NULL, NULL, &size, NULL, NULL, false, path, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_chmod);
Datum
pgfs_chmod(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int32		mode = PG_GETARG_INT32(1);

	PgfsSpiBegin(false);
	NsSetattr(ResolveFollow(path), &mode, NULL, NULL, NULL, NULL, NULL, false, path, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_chown);
Datum
pgfs_chown(PG_FUNCTION_ARGS)
{
	char	   *path = PathArg(fcinfo, 0);
	int64		uid = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1);
	int64		gid = PG_ARGISNULL(2) ? 0 : PG_GETARG_INT64(2);

	PgfsSpiBegin(false);
	NsSetattr(ResolveFollow(path), NULL, PG_ARGISNULL(1) ? NULL : &uid,
			  PG_ARGISNULL(2) ? NULL : &gid, NULL, NULL, NULL, true, path, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_utimens);
Datum
pgfs_utimens(PG_FUNCTION_ARGS)
{
	char	   *path = PathArg(fcinfo, 0);
	int64		atime = PG_ARGISNULL(1) ? 0 : PgfsTimestamptzToNs(PG_GETARG_DATUM(1));
	int64		mtime = PG_ARGISNULL(2) ? 0 : PgfsTimestamptzToNs(PG_GETARG_DATUM(2));

	PgfsSpiBegin(false);
	NsSetattr(ResolveFollow(path), NULL, NULL, NULL, NULL,
			  PG_ARGISNULL(1) ? NULL : &atime, PG_ARGISNULL(2) ? NULL : &mtime,
			  false, path, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_mknod);
Datum
pgfs_mknod(PG_FUNCTION_ARGS)
{
	char	   *path = PathArg(fcinfo, 0);
	char	   *type;
	int32		mode;
	int32		major = PG_ARGISNULL(3) ? 0 : PG_GETARG_INT32(3);
	int32		minor = PG_ARGISNULL(4) ? 0 : PG_GETARG_INT32(4);
	int32		fmt;
	int64		rdev = 0;
	PgfsPath	p;
	PgfsInode	node;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("type of \"%s\" must not be NULL", path)));
	type = text_to_cstring(PG_GETARG_TEXT_PP(1));
	mode = PG_ARGISNULL(2) ? pgfs_default_file_mode : PG_GETARG_INT32(2);
	if (strcmp(type, "file") == 0)
		fmt = S_IFREG;
	else if (strcmp(type, "fifo") == 0)
		fmt = S_IFIFO;
	else if (strcmp(type, "socket") == 0)
		fmt = S_IFSOCK;
	else if (strcmp(type, "char") == 0)
		fmt = S_IFCHR;
	else if (strcmp(type, "block") == 0)
		fmt = S_IFBLK;
	else
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid node type \"%s\" for \"%s\"", type, path),
				 errhint("Use file, fifo, socket, char or block.")));
	if ((mode & ~07777) != 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid mode %o for \"%s\"", mode, path)));
	if (fmt == S_IFCHR || fmt == S_IFBLK)
	{
		if (major < 0 || minor < 0 || major > 4095 || minor > 1048575)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("invalid device number %d:%d for \"%s\"", major, minor, path)));
		rdev = (int64) makedev(major, minor);
	}
	PgfsSpiBegin(false);
	PgfsResolve(path, false, &p);
	if (p.exists)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EEXIST),
				 errmsg("file \"%s\" already exists", path)));
	NsCreate(p.parent, p.name, fmt | mode, 0, rdev, pgfs_default_uid, pgfs_default_gid,
			 NULL, path, true, &node, NULL, NULL);
	PgfsSpiEnd();
	PG_RETURN_INT64(node.ino);
}

static PgfsPlan statfs_plan = {
	"SELECT (SELECT sum(pg_catalog.pg_total_relation_size(c.oid))::bigint FROM pg_catalog.pg_class c"
	"         JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
	"        WHERE n.nspname = 'pgfs' AND c.relkind = 'r'),"
	"       (SELECT GREATEST(c.reltuples, 0)::bigint FROM pg_catalog.pg_class c"
	"        WHERE c.oid = 'pgfs.inode'::pg_catalog.regclass)",
	0, {InvalidOid}, NULL, true
};

PG_FUNCTION_INFO_V1(pgfs_statfs);
Datum
pgfs_statfs(PG_FUNCTION_ARGS)
{
	TupleDesc	td;
	Datum		values[8];
	bool		nulls[8] = {false};
	struct statvfs vfs;
	int64		used;
	int64		files;
	int64		bfree = 0;
	int64		bavail = 0;
	const int64 bsize = 4096;

	PgfsSpiBegin(true);
	PgfsExec(&statfs_plan, NULL, NULL);
	used = PgfsGetInt64(0, 1);
	files = PgfsGetInt64(0, 2);
	PgfsSpiEnd();
	if (statvfs(DataDir, &vfs) == 0)
	{
		bfree = (int64) vfs.f_bfree * vfs.f_frsize / bsize;
		bavail = (int64) vfs.f_bavail * vfs.f_frsize / bsize;
	}
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);
	values[0] = Int64GetDatum(bsize);
	values[1] = Int64GetDatum(bsize);
	values[2] = Int64GetDatum((used + bsize - 1) / bsize + bfree);
	values[3] = Int64GetDatum(bfree);
	values[4] = Int64GetDatum(bavail);
	values[5] = Int64GetDatum(files + (int64) PG_INT32_MAX);
	values[6] = Int64GetDatum((int64) PG_INT32_MAX);
	values[7] = Int32GetDatum(PGFS_NAME_MAX);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(td, values, nulls)));
}

/* ---- extended attributes ---- */

static PgfsName
TextName(text *t)
{
	PgfsName	n;

	n.data = VARDATA_ANY(t);
	n.len = VARSIZE_ANY_EXHDR(t);
	return n;
}

PG_FUNCTION_INFO_V1(pgfs_setxattr);
Datum
pgfs_setxattr(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PgfsSpiBegin(false);
	NsSetxattr(ResolveFollow(path), TextName(PG_GETARG_TEXT_PP(1)), PG_GETARG_BYTEA_PP(2),
			   PG_GETARG_INT32(3), path);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_getxattr);
Datum
pgfs_getxattr(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bytea	   *val;

	PgfsSpiBegin(true);
	val = NsGetxattr(ResolveFollow(path), TextName(PG_GETARG_TEXT_PP(1)), path, false);
	PgfsSpiEnd();
	PG_RETURN_BYTEA_P(val);
}

PG_FUNCTION_INFO_V1(pgfs_listxattr);
Datum
pgfs_listxattr(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC | MAT_SRF_BLESS);
	PgfsSpiBegin(true);
	NsListxattr(ResolveFollow(path), fcinfo, true);
	PgfsSpiEnd();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgfs_removexattr);
Datum
pgfs_removexattr(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));

	PgfsSpiBegin(false);
	NsRemovexattr(ResolveFollow(path), TextName(PG_GETARG_TEXT_PP(1)), path);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}
