/*-------------------------------------------------------------------------
 *
 * funcs_open.c
 *	  Opening and releasing files for pgfs-fuse in as few round trips and
 *	  WAL flushes as the guarantees allow.
 *
 * pgfs-fuse counts its open handles in pgfs.handle (see namespace.c and
 * fuse/handle.c) so that a file unlinked elsewhere while open on the mount
 * stays readable.  That table is unlogged, and a mount sets its counts
 * again on every new connection, so a registration means nothing after a
 * server crash: its commit need not wait for the WAL flush.  It still would,
 * because the inode row lock that orders an open against a concurrent
 * unlink's "is it still open?" writes a WAL record, and a transaction that
 * wrote WAL commits synchronously.  These functions set synchronous_commit
 * off for their own transaction (SET LOCAL, after spi.c has dropped its
 * search_path pin, so that the setting lasts until the commit) unless the
 * transaction may free an unlinked file, which stays a durable commit: no
 * fsync follows a release to make it durable later, as one follows the
 * name changes a client asks to defer (funcs_ll.c).
 *
 * pgfs_ll_open_read registers a handle and returns the first bytes of the
 * file, read under the row lock it took: a program that opens a small file
 * and reads it needs one round trip, not two.  It also returns the inode's
 * generation, which every change bumps: a client that cached the file's
 * pages at that generation may keep them (pgfs-fuse, fuse/handle.c), and
 * one that says so (cached_generation) gets no bytes, which it has.  pgfs_ll_release_many drops
 * the registrations of many closed files in one transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "pgfs.h"

/*
 * The most pgfs_ll_open_read returns: a FUSE read request carries at most
 * 128 KiB with the kernel's default max_pages, so this covers the first read
 * of a file whole, and every small file.
 */
#define PGFS_OPEN_READ_MAX	(128 * 1024)

/* pgfs_ll_release_many takes at most this many inodes per call */
#define PGFS_RELEASE_MANY_MAX	10000

static PgfsPlan release_plan = {
	"DELETE FROM pgfs.handle WHERE ino = $1 AND client = $2", 2, {INT8OID, INT8OID}
};

PG_FUNCTION_INFO_V1(pgfs_ll_open_read);
Datum
pgfs_ll_open_read(PG_FUNCTION_ARGS)
{
	int64		ino = PG_GETARG_INT64(0);
	int64		client = PG_GETARG_INT64(1);
	int32		count = PG_GETARG_INT32(2);
	int32		max_bytes = PG_GETARG_INT32(3);
	int64		cached = PG_NARGS() > 4 ? PG_GETARG_INT64(4) : -1;
	int32		atime = PG_NARGS() > 5 ? PG_GETARG_INT32(5) : PGFS_ATIME_NONE;
	TupleDesc	td;
	PgfsInode	node;
	bytea	   *data = NULL;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};

	if (count < 1)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("open count %d for inode %lld is not positive", count, (long long) ino),
				 errhint("Release handles with pgfs_ll_reopen or pgfs_ll_release_many.")));
	if (max_bytes < 0 || max_bytes > PGFS_OPEN_READ_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("max_bytes must be between 0 and %d", PGFS_OPEN_READ_MAX)));
	if (atime != PGFS_ATIME_NONE && atime != PGFS_ATIME_RELATIME && atime != PGFS_ATIME_STRICT)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid access time rule %d for inode %lld", atime, (long long) ino),
				 errdetail("0 leaves the access time, 1 sets it as relatime does, 2 always.")));
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);

	PgfsSpiBegin(false);
	/* locks the inode row and checks that the caller may read it */
	NsReopen(ino, client, count, &node);
	/* an open for reading stands for the read, as the client asks */
	if (atime != PGFS_ATIME_NONE && PGFS_IS_REG(node.mode))
		NsReadAtime(&node, atime == PGFS_ATIME_STRICT);
	/* a client that holds the file's pages as of this generation has them */
	if (max_bytes > 0 && PGFS_IS_REG(node.mode) && node.generation != cached)
		data = ChunkRead(&node, 0, Min((int64) max_bytes, node.size));
	PgfsSpiEnd();
	PgfsDeferCommit();

	values[0] = Int64GetDatum(node.size);
	if (data)
		values[1] = PointerGetDatum(data);
	else
		nulls[1] = true;
	values[2] = Int64GetDatum(node.generation);
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

static int
CompareIno(const void *a, const void *b)
{
	int64		x = *(const int64 *) a,
				y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

PG_FUNCTION_INFO_V1(pgfs_ll_release_many);
Datum
pgfs_ll_release_many(PG_FUNCTION_ARGS)
{
	int64		client = PG_GETARG_INT64(1);
	int			n,
				released = 0;
	int64	   *inos = PgfsInt8ArrayArg(fcinfo, 0, "inode numbers", &n);
	bool		durable = false;

	if (n > PGFS_RELEASE_MANY_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("at most %d inodes can be released at once", PGFS_RELEASE_MANY_MAX)));
	/* row locks in one order, as CatalogLockInodes takes them */
	qsort(inos, n, sizeof(int64), CompareIno);

	PgfsSpiBegin(false);
	for (int i = 0; i < n; i++)
	{
		PgfsInode	node;
		Datum		v[2];

		CHECK_FOR_INTERRUPTS();
		if (i > 0 && inos[i] == inos[i - 1])
			continue;
		/* gone (freed by pgfs_reclaim_orphans, or a store restored): nothing held */
		if (!CatalogLockInodeIfExists(inos[i], &node))
			continue;
		v[0] = Int64GetDatum(inos[i]);
		v[1] = Int64GetDatum(client);
		if (PgfsExec(&release_plan, v, NULL) > 0)
		{
			released++;
			FileLocksDrop(inos[i], client);
		}
		if (node.nlink == 0)
		{
			/* the file may go with this handle: a durable change of the tree */
			durable = true;
			CatalogMaybeFree(&node);
		}
	}
	PgfsSpiEnd();
	if (!durable)
		PgfsDeferCommit();
	PG_RETURN_INT32(released);
}
