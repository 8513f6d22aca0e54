/*-------------------------------------------------------------------------
 *
 * funcs_ll.c
 *	  The inode API: SQL functions pgfs-fuse calls, one per FUSE operation.
 *
 * Arguments are inode numbers and byte-string names (bytea: any byte but
 * '/' and NUL), as the kernel hands them to a FUSE daemon.  Every function
 * returning one inode returns the same twelve attribute columns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "replication/syncrep.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "pgfs.h"

void
PgfsAttrValues(const PgfsInode *node, Datum *values, bool *nulls)
{
	values[0] = Int64GetDatum(node->ino);
	values[1] = Int32GetDatum(node->mode);
	values[2] = Int32GetDatum(node->nlink);
	values[3] = Int64GetDatum(node->uid);
	values[4] = Int64GetDatum(node->gid);
	values[5] = Int64GetDatum(node->rdev);
	values[6] = Int64GetDatum(node->size);
	values[7] = Int64GetDatum(node->blocks);
	values[8] = Int64GetDatum(node->atime_ns);
	values[9] = Int64GetDatum(node->mtime_ns);
	values[10] = Int64GetDatum(node->ctime_ns);
	values[11] = Int64GetDatum(node->generation);
	values[12] = Int32GetDatum(node->xattrs);
	memset(nulls, 0, sizeof(bool) * PGFS_ATTR_NCOLS);
	nulls[12] = node->xattrs < 0;	/* not the caller's to know: HideXattrs */
}

/*
 * The blessed result descriptor of a function returning one row (pgfs_stat,
 * pgfs_lstat and the inode API's pgfs_attr), built once per backend and
 * function: working it out on every call (every query has a new call site)
 * cost as much as a third of the lookups of a short path when the row was
 * declared by OUT parameters, and still copies a descriptor out of the type
 * cache now that it is a named type.  A function's result type cannot
 * change without it being dropped, which gives it a new OID.
 */
#define RESULT_DESC_CACHE 16

TupleDesc
PgfsResultDesc(FunctionCallInfo fcinfo)
{
	static Oid	oids[RESULT_DESC_CACHE];
	static TupleDesc descs[RESULT_DESC_CACHE];
	static int	next = 0;
	Oid			fn = fcinfo->flinfo->fn_oid;
	TupleDesc	td;
	MemoryContext old;

	for (int i = 0; i < RESULT_DESC_CACHE; i++)
		if (descs[i] != NULL && oids[i] == fn)
			return descs[i];
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(TopMemoryContext);
	td = BlessTupleDesc(CreateTupleDescCopy(td));
	MemoryContextSwitchTo(old);
	if (descs[next] != NULL)
		FreeTupleDesc(descs[next]);
	oids[next] = fn;
	descs[next] = td;
	next = (next + 1) % RESULT_DESC_CACHE;
	return td;
}

/* the attribute record (all NULL for node NULL); call after PgfsSpiEnd() */
Datum
PgfsAttrDatum(FunctionCallInfo fcinfo, const PgfsInode *node)
{
	TupleDesc	td = PgfsResultDesc(fcinfo);
	Datum		values[PGFS_ATTR_NCOLS];
	bool		nulls[PGFS_ATTR_NCOLS];

	if (node)
		PgfsAttrValues(node, values, nulls);
	else
		memset(nulls, true, sizeof(nulls));
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

static void
RequireArgs(FunctionCallInfo fcinfo, int n)
{
	for (int i = 0; i < n; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("argument %d of %s must not be NULL", i + 1,
							get_func_name(fcinfo->flinfo->fn_oid))));
}

/*
 * Durability on request, for pgfs-fuse (fuse/handle.c): a client that
 * buffers writes until fsync or close anyway may commit those made in
 * between (and the creates and attribute changes of the files it has open)
 * without waiting for the WAL flush, and make them durable with
 * pgfs_ll_fsync() (or a durable call, whose commit flushes the WAL up to
 * itself) before it acknowledges the fsync or close.  The same goes for
 * names made, removed, moved or linked (mkdir, symlink, mknod, unlink,
 * rmdir, rename, link), which a local filesystem makes durable at the fsync
 * of their directory (CatalogNewIno says why a lost create cannot give its
 * inode number to another file).  Argument
 * argno is durable: false asks for that; absent or NULL is the default,
 * true.  Only this transaction's commit changes (PgfsDeferThisCall, set
 * before spi.c's pin, and outside the nest level of a function's own SET
 * search_path clause, which keeps a SET LOCAL of another setting).
 */
static void
DeferIfAsked(FunctionCallInfo fcinfo, int argno)
{
	if (PG_NARGS() > argno && !PG_ARGISNULL(argno) && !PG_GETARG_BOOL(argno))
		PgfsDeferThisCall();
}

static void
CheckNotDir(const PgfsInode *node, const char *what)
{
	if (PGFS_IS_DIR(node->mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EISDIR),
				 errmsg("inode %lld is a directory", (long long) node->ino)));
	if (!PGFS_IS_REG(node->mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("cannot %s inode %lld: not a regular file", what, (long long) node->ino)));
}

/*
 * A confined role may look up and stat the directories leading to its own,
 * but not read their extended attributes: their count is NULL for it, and
 * pgfs-fuse asks the server (and gets EACCES) instead of answering "none".
 * Lookup and getattr are the calls that return such a directory.  Within
 * the call's SPI section.
 */
static void
HideXattrs(PgfsInode *node)
{
	if (!PolicyMayRead(node))
		node->xattrs = -1;
}

PG_FUNCTION_INFO_V1(pgfs_ll_lookup);
Datum
pgfs_ll_lookup(PG_FUNCTION_ARGS)
{
	int64		parent = PG_GETARG_INT64(0);
	PgfsName	name = PgfsByteaName(PG_GETARG_BYTEA_PP(1));
	PgfsInode	node;

	PgfsSpiBeginDirect();
	if (name.len == 1 && name.data[0] == '.')
	{
		CatalogGetInodeOrError(parent, &node);
		PolicyCheckVisible(&node, ".");
	}
	else if (name.len == 2 && name.data[0] == '.' && name.data[1] == '.')
	{
		CatalogGetInodeOrError(parent, &node);
		if (!PGFS_IS_DIR(node.mode))
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENOTDIR),
					 errmsg("inode %lld is not a directory", (long long) parent)));
		CatalogGetInodeOrError(node.parent, &node);
		PolicyCheckVisible(&node, "..");
	}
	else
	{
		if (name.len > PGFS_NAME_MAX)
			PgfsValidateName(name, NULL);
		if (!CatalogLookup(parent, name, &node))
		{
			/* no entry: say why, as lookup(2) would */
			CatalogGetInodeOrError(parent, &node);
			if (!PGFS_IS_DIR(node.mode))
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ENOTDIR),
						 errmsg("inode %lld is not a directory", (long long) parent)));
			PolicyCheckLookup(parent, NULL, PgfsNameStr(name));
			if (!PG_GETARG_BOOL(2))
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ENOENT),
						 errmsg("file \"%s\" does not exist in directory %lld",
								PgfsNameStr(name), (long long) parent)));
			PgfsSpiEnd();
			return PgfsAttrDatum(fcinfo, NULL);
		}
		PolicyCheckLookup(parent, &node, PgfsNameStr(name));
	}
	HideXattrs(&node);
	PgfsSpiEnd();
	return PgfsAttrDatum(fcinfo, &node);
}

PG_FUNCTION_INFO_V1(pgfs_ll_getattr);
Datum
pgfs_ll_getattr(PG_FUNCTION_ARGS)
{
	PgfsInode	node;

	PgfsSpiBeginDirect();
	CatalogGetInodeOrError(PG_GETARG_INT64(0), &node);
	PolicyCheckVisible(&node, psprintf("inode %lld", (long long) node.ino));
	HideXattrs(&node);
	PgfsSpiEnd();
	return PgfsAttrDatum(fcinfo, &node);
}

PG_FUNCTION_INFO_V1(pgfs_ll_setattr);
Datum
pgfs_ll_setattr(PG_FUNCTION_ARGS)
{
	int32		mode;
	int64		uid,
				gid,
				size,
				atime,
				mtime;
	int64		now = PgfsNowNs();
	bool		atime_now = !PG_ARGISNULL(7) && PG_GETARG_BOOL(7);
	bool		mtime_now = !PG_ARGISNULL(8) && PG_GETARG_BOOL(8);
	PgfsInode	node;

	RequireArgs(fcinfo, 1);
	DeferIfAsked(fcinfo, 9);
	if (!PG_ARGISNULL(1))
		mode = PG_GETARG_INT32(1) & ~S_IFMT;
	if (!PG_ARGISNULL(2))
		uid = PG_GETARG_INT64(2);
	if (!PG_ARGISNULL(3))
		gid = PG_GETARG_INT64(3);
	if (!PG_ARGISNULL(4))
		size = PG_GETARG_INT64(4);
	atime = atime_now ? now : (PG_ARGISNULL(5) ? 0 : PG_GETARG_INT64(5));
	mtime = mtime_now ? now : (PG_ARGISNULL(6) ? 0 : PG_GETARG_INT64(6));

	PgfsSpiBegin(false);
	NsSetattr(PG_GETARG_INT64(0),
			  PG_ARGISNULL(1) ? NULL : &mode,
			  PG_ARGISNULL(2) ? NULL : &uid,
			  PG_ARGISNULL(3) ? NULL : &gid,
			  PG_ARGISNULL(4) ? NULL : &size,
			  (atime_now || !PG_ARGISNULL(5)) ? &atime : NULL,
			  (mtime_now || !PG_ARGISNULL(6)) ? &mtime : NULL,
			  false, NULL, &node);
	PgfsSpiEnd();
	return PgfsAttrDatum(fcinfo, &node);
}

PG_FUNCTION_INFO_V1(pgfs_ll_read);
Datum
pgfs_ll_read(PG_FUNCTION_ARGS)
{
	int64		offset = PG_GETARG_INT64(1);
	int32		length = PG_GETARG_INT32(2);
	PgfsInode	node;
	bytea	   *result;

	if (offset < 0 || length < 0 || length > PG_INT64_MAX - offset)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid range (offset %lld, length %d) reading inode %lld",
						(long long) offset, length, (long long) PG_GETARG_INT64(0))));
	PgfsSpiBeginDirect();
	CatalogGetInodeOrError(PG_GETARG_INT64(0), &node);
	PolicyCheckInode(&node, false, psprintf("inode %lld", (long long) node.ino));
	CheckNotDir(&node, "read");
	if (offset >= node.size)
		length = 0;
	else
		length = Min(length, node.size - offset);
	result = ChunkRead(&node, offset, length);
	PgfsSpiEnd();
	PG_RETURN_BYTEA_P(result);
}

PG_FUNCTION_INFO_V1(pgfs_ll_write);
Datum
pgfs_ll_write(PG_FUNCTION_ARGS)
{
	PgfsInode	node;

	DeferIfAsked(fcinfo, 3);
	PgfsSpiBegin(false);
	NsWrite(PG_GETARG_INT64(0), NULL, PG_GETARG_INT64(1), PG_GETARG_BYTEA_PP(2),
			false, false, NULL, &node);
	PgfsSpiEnd();
	PG_RETURN_INT64(node.size);
}

/*
 * The elements of a bigint[] or integer[] argument, as int64 (palloc'd, at
 * least one); a NULL element is EINVAL, naming them as what.
 */
int64 *
PgfsInt8ArrayArg(FunctionCallInfo fcinfo, int argno, const char *what, int *n)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(argno);
	Oid			type = ARR_ELEMTYPE(arr);
	Datum	   *elems;
	bool	   *elnulls;
	int64	   *out;

	if (type == INT8OID)
		deconstruct_array(arr, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &elnulls, n);
	else if (type == INT4OID)
		deconstruct_array(arr, INT4OID, 4, true, TYPALIGN_INT, &elems, &elnulls, n);
	else
		elog(ERROR, "expected a bigint or integer array");
	out = palloc(sizeof(int64) * Max(*n, 1));
	for (int i = 0; i < *n; i++)
	{
		if (elnulls[i])
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("%s must not be NULL", what)));
		out[i] = type == INT8OID ? DatumGetInt64(elems[i]) : DatumGetInt32(elems[i]);
	}
	return out;
}

/*
 * pwritev(2) for scattered writes: lengths[i] bytes of data, in order, go to
 * offsets[i], all in one change of the file.  pgfs-fuse sends what a
 * program wrote here and there in a file (fuse/handle.c) as one statement,
 * which rewrites each chunk once.
 */
PG_FUNCTION_INFO_V1(pgfs_ll_writev);
Datum
pgfs_ll_writev(PG_FUNCTION_ARGS)
{
	int64		ino = PG_GETARG_INT64(0);
	bytea	   *data = PG_GETARG_BYTEA_PP(3);
	int64		datalen = VARSIZE_ANY_EXHDR(data);
	int64	   *offsets;
	int64	   *lengths;
	int			n,
				nlen;
	int64		pos = 0;
	PgfsExtent *ext;
	PgfsInode	node;

	for (int argno = 1; argno <= 2; argno++)
		if (ARR_NDIM(PG_GETARG_ARRAYTYPE_P(argno)) > 1)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("%s must be a one-dimensional array",
							argno == 1 ? "offsets" : "lengths")));
	offsets = PgfsInt8ArrayArg(fcinfo, 1, "offsets", &n);
	lengths = PgfsInt8ArrayArg(fcinfo, 2, "lengths", &nlen);
	if (n != nlen)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("%d offsets but %d lengths writing inode %lld", n, nlen, (long long) ino)));
	ext = palloc(sizeof(PgfsExtent) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (lengths[i] < 0)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("negative length %lld writing inode %lld",
							(long long) lengths[i], (long long) ino)));
		if (lengths[i] > datalen - pos)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("lengths do not add up to the %lld bytes of data writing inode %lld",
							(long long) datalen, (long long) ino)));
		ext[i].offset = offsets[i];
		ext[i].len = lengths[i];
		ext[i].data = VARDATA_ANY(data) + pos;
		pos += lengths[i];
	}
	if (pos != datalen)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("lengths do not add up to the %lld bytes of data writing inode %lld",
						(long long) datalen, (long long) ino)));

	DeferIfAsked(fcinfo, 4);
	PgfsSpiBegin(false);
	NsWriteV(ino, NULL, ext, n, false, false, NULL, &node);
	PgfsSpiEnd();
	PG_RETURN_INT64(node.size);
}

PG_FUNCTION_INFO_V1(pgfs_ll_copy_range);
Datum
pgfs_ll_copy_range(PG_FUNCTION_ARGS)
{
	int64		n;

	DeferIfAsked(fcinfo, 5);
	PgfsSpiBegin(false);
	n = NsCopyRange(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PG_GETARG_INT64(2),
					PG_GETARG_INT64(3), PG_GETARG_INT64(4));
	PgfsSpiEnd();
	PG_RETURN_INT64(n);
}

PG_FUNCTION_INFO_V1(pgfs_ll_fallocate);
Datum
pgfs_ll_fallocate(PG_FUNCTION_ARGS)
{
	PgfsInode	node;

	DeferIfAsked(fcinfo, 4);
	PgfsSpiBegin(false);
	NsFallocate(PG_GETARG_INT64(0), PG_GETARG_INT32(1), PG_GETARG_INT64(2),
				PG_GETARG_INT64(3), &node);
	PgfsSpiEnd();
	PG_RETURN_INT64(node.size);
}

PG_FUNCTION_INFO_V1(pgfs_ll_seek);
Datum
pgfs_ll_seek(PG_FUNCTION_ARGS)
{
	int32		whence = PG_GETARG_INT32(2);
	int64		pos;

	if (whence != PGFS_SEEK_DATA && whence != PGFS_SEEK_HOLE)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid whence %d seeking in inode %lld", whence,
						(long long) PG_GETARG_INT64(0)),
				 errdetail("pgfs_ll_seek takes SEEK_DATA (3) and SEEK_HOLE (4).")));
	PgfsSpiBeginDirect();
	pos = NsSeek(PG_GETARG_INT64(0), PG_GETARG_INT64(1), whence == PGFS_SEEK_DATA);
	PgfsSpiEnd();
	PG_RETURN_INT64(pos);
}

/*
 * Create, and return the new inode's attributes; pgfs_ll_create's row
 * (pgfs_created) also has the directory's generation after the create, by
 * which a client that knew the one before can tell that nobody else changed
 * the directory in between (pgfs-fuse's directory listings, fuse/dcache.c).
 */
static Datum
CreateCommon(FunctionCallInfo fcinfo, int32 mode, int32 umask, int64 rdev, int64 uid, int64 gid,
			 bytea *target, int64 client, bool dir_generation)
{
	PgfsInode	node;
	int64		dirgen;
	Datum		values[PGFS_ATTR_NCOLS + 1];
	bool		nulls[PGFS_ATTR_NCOLS + 1];

	PgfsSpiBegin(false);
	NsCreate(PG_GETARG_INT64(0), PgfsByteaName(PG_GETARG_BYTEA_PP(1)), mode, umask, rdev,
			 uid, gid, target, NULL, true, &node, NULL, &dirgen);
	if (client != 0)
		NsOpen(node.ino, client);
	PgfsSpiEnd();
	if (!dir_generation)
		return PgfsAttrDatum(fcinfo, &node);
	PgfsAttrValues(&node, values, nulls);
	values[PGFS_ATTR_NCOLS] = Int64GetDatum(dirgen);
	nulls[PGFS_ATTR_NCOLS] = false;
	return HeapTupleGetDatum(heap_form_tuple(PgfsResultDesc(fcinfo), values, nulls));
}

/*
 * The creator's umask, argument argno: it applies unless the directory has
 * a default ACL (namespace.c).  A client whose kernel applied it already
 * passes 0.
 */
static int32
GetUmask(FunctionCallInfo fcinfo, int argno)
{
	int32		umask;

	if (PG_NARGS() <= argno || PG_ARGISNULL(argno))
		return 0;
	umask = PG_GETARG_INT32(argno);
	if ((umask & ~0777) != 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid umask %o", umask),
				 errdetail("A umask has permission bits (0777) only.")));
	return umask;
}

static void
CheckOwner(int64 uid, int64 gid)
{
	if (uid < 0 || uid > PG_UINT32_MAX - 1 || gid < 0 || gid > PG_UINT32_MAX - 1)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid owner %lld:%lld", (long long) uid, (long long) gid)));
}

PG_FUNCTION_INFO_V1(pgfs_ll_create);
Datum
pgfs_ll_create(PG_FUNCTION_ARGS)
{
	int32		mode;

	RequireArgs(fcinfo, 5);
	DeferIfAsked(fcinfo, 6);
	mode = PG_GETARG_INT32(2);
	if ((mode & S_IFMT) != 0 && (mode & S_IFMT) != S_IFREG)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("pgfs_ll_create makes regular files only")));
	CheckOwner(PG_GETARG_INT64(3), PG_GETARG_INT64(4));
	return CreateCommon(fcinfo, S_IFREG | (mode & 07777), GetUmask(fcinfo, 7), 0,
						PG_GETARG_INT64(3), PG_GETARG_INT64(4), NULL,
						PG_ARGISNULL(5) ? 0 : PG_GETARG_INT64(5), true);
}

PG_FUNCTION_INFO_V1(pgfs_ll_mkdir);
Datum
pgfs_ll_mkdir(PG_FUNCTION_ARGS)
{
	DeferIfAsked(fcinfo, 5);
	CheckOwner(PG_GETARG_INT64(3), PG_GETARG_INT64(4));
	return CreateCommon(fcinfo, S_IFDIR | (PG_GETARG_INT32(2) & 07777), GetUmask(fcinfo, 6), 0,
						PG_GETARG_INT64(3), PG_GETARG_INT64(4), NULL, 0, false);
}

PG_FUNCTION_INFO_V1(pgfs_ll_mknod);
Datum
pgfs_ll_mknod(PG_FUNCTION_ARGS)
{
	int32		mode = PG_GETARG_INT32(2);
	int64		rdev = PG_GETARG_INT64(3);

	switch (mode & S_IFMT)
	{
		case 0:
			mode |= S_IFREG;
			break;
		case S_IFREG:
		case S_IFIFO:
		case S_IFSOCK:
		case S_IFCHR:
		case S_IFBLK:
			break;
		default:
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("pgfs_ll_mknod cannot make file type %o", mode & S_IFMT)));
	}
	if (!S_ISCHR(mode) && !S_ISBLK(mode))
		rdev = 0;
	CheckOwner(PG_GETARG_INT64(4), PG_GETARG_INT64(5));
	DeferIfAsked(fcinfo, 6);
	return CreateCommon(fcinfo, (mode & S_IFMT) | (mode & 07777), GetUmask(fcinfo, 7), rdev,
						PG_GETARG_INT64(4), PG_GETARG_INT64(5), NULL, 0, false);
}

PG_FUNCTION_INFO_V1(pgfs_ll_symlink);
Datum
pgfs_ll_symlink(PG_FUNCTION_ARGS)
{
	bytea	   *target = PG_GETARG_BYTEA_PP(2);
	int			len = VARSIZE_ANY_EXHDR(target);

	if (len == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("symbolic link target must not be empty")));
	if (len >= PGFS_PATH_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENAMETOOLONG),
				 errmsg("symbolic link target is longer than %d bytes", PGFS_PATH_MAX - 1)));
	if (memchr(VARDATA_ANY(target), '\0', len) != NULL)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("symbolic link target contains a NUL byte")));
	CheckOwner(PG_GETARG_INT64(3), PG_GETARG_INT64(4));
	DeferIfAsked(fcinfo, 5);
	return CreateCommon(fcinfo, S_IFLNK | 0777, 0, 0,
						PG_GETARG_INT64(3), PG_GETARG_INT64(4), target, 0, false);
}

PG_FUNCTION_INFO_V1(pgfs_ll_link);
Datum
pgfs_ll_link(PG_FUNCTION_ARGS)
{
	PgfsInode	node;

	DeferIfAsked(fcinfo, 3);
	PgfsSpiBegin(false);
	NsLink(PG_GETARG_INT64(0), PG_GETARG_INT64(1), PgfsByteaName(PG_GETARG_BYTEA_PP(2)),
		   NULL, &node);
	PgfsSpiEnd();
	return PgfsAttrDatum(fcinfo, &node);
}

PG_FUNCTION_INFO_V1(pgfs_ll_unlink);
Datum
pgfs_ll_unlink(PG_FUNCTION_ARGS)
{
	DeferIfAsked(fcinfo, 2);
	PgfsSpiBegin(false);
	NsRemove(PG_GETARG_INT64(0), PgfsByteaName(PG_GETARG_BYTEA_PP(1)), false, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_ll_rmdir);
Datum
pgfs_ll_rmdir(PG_FUNCTION_ARGS)
{
	DeferIfAsked(fcinfo, 2);
	PgfsSpiBegin(false);
	NsRemove(PG_GETARG_INT64(0), PgfsByteaName(PG_GETARG_BYTEA_PP(1)), true, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_ll_rename);
Datum
pgfs_ll_rename(PG_FUNCTION_ARGS)
{
	/* the owner of a whiteout (1.0 has no such arguments) */
	int64		uid = PG_NARGS() > 7 ? PG_GETARG_INT64(6) : 0;
	int64		gid = PG_NARGS() > 7 ? PG_GETARG_INT64(7) : 0;

	CheckOwner(uid, gid);
	DeferIfAsked(fcinfo, 5);
	PgfsSpiBegin(false);
	NsRename(PG_GETARG_INT64(0), PgfsByteaName(PG_GETARG_BYTEA_PP(1)),
			 PG_GETARG_INT64(2), PgfsByteaName(PG_GETARG_BYTEA_PP(3)),
			 PG_GETARG_INT32(4), uid, gid, NULL, NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_ll_readlink);
Datum
pgfs_ll_readlink(PG_FUNCTION_ARGS)
{
	bytea	   *target;
	bytea	   *result;
	PgfsInode	node;

	PgfsSpiBegin(true);
	CatalogGetInodeOrError(PG_GETARG_INT64(0), &node);
	PolicyCheckInode(&node, false, psprintf("inode %lld", (long long) node.ino));
	target = CatalogGetTarget(PG_GETARG_INT64(0));
	result = MemoryContextAlloc(PgfsCallerContext(), VARSIZE_ANY(target));
	memcpy(result, target, VARSIZE_ANY(target));
	PgfsSpiEnd();
	PG_RETURN_BYTEA_P(result);
}

static PgfsPlan readdir_plan = {
	"SELECT d.cookie, d.name, i.ino, i.mode, i.nlink, i.uid, i.gid, i.rdev, i.size,"
	" i.blocks, i.atime_ns, i.mtime_ns, i.ctime_ns, i.generation, coalesce(i.xattrs, 0)"
	" FROM pgfs.dirent d JOIN pgfs.inode i ON i.ino = d.ino"
	" WHERE d.parent = $1 AND d.cookie > $2 ORDER BY d.cookie LIMIT $3",
	3, {INT8OID, INT8OID, INT4OID}, .joins = true
};

PG_FUNCTION_INFO_V1(pgfs_ll_readdir);
Datum
pgfs_ll_readdir(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int32		atime = PG_NARGS() > 3 ? PG_GETARG_INT32(3) : PGFS_ATIME_NONE;
	Datum		v[3];
	PgfsInode	dir;
	int			rows;
	bool		set_atime;
	bool		wrote = false;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_GETARG_INT32(2) < 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("max_entries must not be negative")));
	if (atime != PGFS_ATIME_NONE && atime != PGFS_ATIME_RELATIME && atime != PGFS_ATIME_STRICT)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid access time rule %d for inode %lld", atime,
						(long long) PG_GETARG_INT64(0)),
				 errdetail("0 leaves the access time, 1 sets it as relatime does, 2 always.")));
	/*
	 * A listing from the start is a read of the directory.  Only then is
	 * SPI read-write: 1.1's function (no atime argument) is STABLE.
	 */
	set_atime = atime != PGFS_ATIME_NONE && PG_GETARG_INT64(1) <= 2 && !XactReadOnly;
	PgfsSpiBegin(!set_atime);
	CatalogGetInodeOrError(PG_GETARG_INT64(0), &dir);
	if (!PGFS_IS_DIR(dir.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOTDIR),
				 errmsg("inode %lld is not a directory", (long long) dir.ino)));
	PolicyCheckInode(&dir, false, psprintf("inode %lld", (long long) dir.ino));

	/*
	 * Its access time, as a read of a file sets the file's (NsReadAtime),
	 * but not at the price of a wait: a transaction that is changing the
	 * directory holds its row, and a listing must not wait for it.
	 */
	if (set_atime && NsAtimeDue(&dir, atime == PGFS_ATIME_STRICT) &&
		CatalogTryLockInode(dir.ino, &dir))
		wrote = NsReadAtime(&dir, atime == PGFS_ATIME_STRICT);
	v[0] = PG_GETARG_DATUM(0);
	v[1] = PG_GETARG_DATUM(1);
	v[2] = PG_GETARG_DATUM(2);
	rows = PgfsExec(&readdir_plan, v, NULL);
	for (int r = 0; r < rows; r++)
	{
		Datum		values[15];
		bool		nulls[15];

		for (int c = 0; c < 15; c++)
			values[c] = PgfsGetDatum(r, c + 1, &nulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PgfsSpiEnd();
	if (wrote)
		PgfsDeferCommit();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgfs_ll_setxattr);
Datum
pgfs_ll_setxattr(PG_FUNCTION_ARGS)
{
	PgfsSpiBegin(false);
	NsSetxattr(PG_GETARG_INT64(0), PgfsByteaName(PG_GETARG_BYTEA_PP(1)),
			   PG_GETARG_BYTEA_PP(2), PG_GETARG_INT32(3), NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_ll_getxattr);
Datum
pgfs_ll_getxattr(PG_FUNCTION_ARGS)
{
	bytea	   *val;

	PgfsSpiBegin(true);
	val = NsGetxattr(PG_GETARG_INT64(0), PgfsByteaName(PG_GETARG_BYTEA_PP(1)), NULL,
					 PG_NARGS() > 2 && PG_GETARG_BOOL(2));
	PgfsSpiEnd();
	if (!val)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(val);
}

PG_FUNCTION_INFO_V1(pgfs_ll_listxattr);
Datum
pgfs_ll_listxattr(PG_FUNCTION_ARGS)
{
	PgfsInode	node;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC | MAT_SRF_BLESS);
	PgfsSpiBegin(true);
	CatalogGetInodeOrError(PG_GETARG_INT64(0), &node);
	NsListxattr(node.ino, fcinfo, false);
	PgfsSpiEnd();
	return (Datum) 0;
}

PG_FUNCTION_INFO_V1(pgfs_ll_removexattr);
Datum
pgfs_ll_removexattr(PG_FUNCTION_ARGS)
{
	PgfsSpiBegin(false);
	NsRemovexattr(PG_GETARG_INT64(0), PgfsByteaName(PG_GETARG_BYTEA_PP(1)), NULL);
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

/*
 * A client (one mount) is live while any of its sessions holds the advisory
 * lock (PGFS_LOCK_CLASS, PgfsClientKey(client)).  Shared, because a mount has
 * several connections and each takes it.
 *
 * Each session also makes sure the client has a row in pgfs.client, an
 * unlogged table: crash recovery empties it (so do a restore and the
 * promotion of a standby, which start with unlogged tables empty), a clean
 * shutdown keeps it, and it is written with the WAL flush of no commit.  So
 * a client whose row is still there after it lost a connection knows that
 * the server has not lost any commit of its that did not wait for the WAL
 * flush: the server either still has it in memory, to be flushed, or
 * flushed it at its shutdown.  Without the row it must assume the worst.
 * pgfs_reclaim_orphans() deletes the rows of clients that are not live.
 */
static PgfsPlan client_plan = {
	"SELECT pg_catalog.pg_advisory_lock_shared($1, $2)", 2, {INT4OID, INT4OID}
};
static PgfsPlan client_known_plan = {
	"INSERT INTO pgfs.client (client) VALUES ($1) ON CONFLICT (client) DO NOTHING",
	1, {INT8OID}
};

int32
PgfsClientKey(int64 client)
{
	return (int32) (client ^ (client >> 32));
}

PG_FUNCTION_INFO_V1(pgfs_ll_client_begin);
Datum
pgfs_ll_client_begin(PG_FUNCTION_ARGS)
{
	Datum		v[2] = {Int32GetDatum(PGFS_LOCK_CLASS),
	Int32GetDatum(PgfsClientKey(PG_GETARG_INT64(0)))};
	Datum		c[1] = {PG_GETARG_DATUM(0)};
	bool		known;

	PgfsSpiBegin(false);
	PgfsExec(&client_plan, v, NULL);
	/* the lock first: a live client's row is never reclaimed */
	known = PgfsExec(&client_known_plan, c, NULL) == 0;
	PgfsSpiEnd();
	PG_RETURN_BOOL(known);
}

PG_FUNCTION_INFO_V1(pgfs_ll_open);
Datum
pgfs_ll_open(PG_FUNCTION_ARGS)
{
	PgfsSpiBegin(false);
	NsOpen(PG_GETARG_INT64(0), PG_GETARG_INT64(1));
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

/*
 * born: the inode's birth time as its create returned it.  A client that
 * created a file with durable => false and then lost its connection cannot
 * tell whether the server crashed before the create reached the disk; if it
 * did, the inode number may since have gone to another file (the sequence's
 * advance was lost too).  So it says when its file was born, and a count on
 * another file is refused as if the inode were gone, as it is for the client.
 */
PG_FUNCTION_INFO_V1(pgfs_ll_reopen);
Datum
pgfs_ll_reopen(PG_FUNCTION_ARGS)
{
	PgfsInode	node;
	int64		ino;

	RequireArgs(fcinfo, 3);
	ino = PG_GETARG_INT64(0);
	PgfsSpiBegin(false);
	NsReopen(ino, PG_GETARG_INT64(1), PG_GETARG_INT32(2), &node);
	if (PG_NARGS() > 3 && !PG_ARGISNULL(3) && node.btime_ns != PG_GETARG_INT64(3))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("inode %lld is not the file the client created", (long long) ino),
				 errdetail("It was born at %lld, that one at %lld (ns since the epoch).",
						   (long long) node.btime_ns, (long long) PG_GETARG_INT64(3))));
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_ll_release);
Datum
pgfs_ll_release(PG_FUNCTION_ARGS)
{
	PgfsSpiBegin(false);
	NsRelease(PG_GETARG_INT64(0), PG_GETARG_INT64(1));
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

/*
 * Flush the WAL written so far, and wait for synchronous standbys as
 * synchronous_commit says: every transaction committed before this call,
 * by any session, is then as durable as a synchronous commit makes it.
 * A standby has nothing of ours to flush.
 */
PG_FUNCTION_INFO_V1(pgfs_ll_fsync);
Datum
pgfs_ll_fsync(PG_FUNCTION_ARGS)
{
	XLogRecPtr	upto;

	if (RecoveryInProgress())
		PG_RETURN_VOID();
	upto = GetXLogInsertRecPtr();
	/* at the start of a page that is just past its header, not written yet */
	if (upto % XLOG_BLCKSZ <= SizeOfXLogLongPHD)
		upto -= upto % XLOG_BLCKSZ;
	XLogFlush(upto);
	SyncRepWaitForLSN(upto, false);
	PG_RETURN_VOID();
}
