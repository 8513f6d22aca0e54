/*-------------------------------------------------------------------------
 *
 * tree.c
 *	  Whole-tree operations: recursive remove, copy-on-write copy, orphan
 *	  reclaim, and the store's identity.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "pgfs.h"

static PgfsPlan children_plan = {
	"SELECT d.name, i.ino, i.mode FROM pgfs.dirent d JOIN pgfs.inode i ON i.ino = d.ino"
	" WHERE d.parent = $1",
	1, {INT8OID}, .joins = true
};

typedef struct Child
{
	PgfsName	name;
	int64		ino;
	int32		mode;
} Child;

/* the entries of a directory, copied out of SPI's result */
static Child *
ListChildren(int64 dir, int *n)
{
	Datum		v[1] = {Int64GetDatum(dir)};
	int			rows = PgfsExec(&children_plan, v, NULL);
	Child	   *kids = palloc(sizeof(Child) * Max(rows, 1));

	for (int r = 0; r < rows; r++)
	{
		bool		isnull;
		bytea	   *b = DatumGetByteaPP(PgfsGetDatum(r, 1, &isnull));

		kids[r].name.len = VARSIZE_ANY_EXHDR(b);
		kids[r].name.data = pnstrdup(VARDATA_ANY(b), kids[r].name.len);
		kids[r].ino = PgfsGetInt64(r, 2);
		kids[r].mode = PgfsGetInt32(r, 3);
	}
	SPI_freetuptable(SPI_tuptable);
	*n = rows;
	return kids;
}

/* remove everything below directory dir; returns names removed */
static int64
RemoveContents(int64 dir, const char *errpath)
{
	int			n;
	Child	   *kids;
	int64		count = 0;
	PgfsInode	node;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	CatalogLockInode(dir, &node);
	kids = ListChildren(dir, &n);
	for (int i = 0; i < n; i++)
	{
		if (PGFS_IS_DIR(kids[i].mode))
			count += RemoveContents(kids[i].ino, errpath);
		NsRemove(dir, kids[i].name, PGFS_IS_DIR(kids[i].mode), errpath);
		count++;
	}
	pfree(kids);
	return count;
}

PG_FUNCTION_INFO_V1(pgfs_remove);
Datum
pgfs_remove(PG_FUNCTION_ARGS)
{
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		recursive = PG_GETARG_BOOL(1);
	PgfsPath	p;
	int64		count = 0;

	PgfsSpiBegin(false);
	PgfsResolveExisting(path, false, &p);
	if (p.name.len == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EBUSY),
				 errmsg("cannot remove the root directory \"%s\"", path)));
	if (PGFS_IS_DIR(p.inode.mode) && recursive)
		count += RemoveContents(p.inode.ino, path);
	NsRemove(p.parent, p.name, PGFS_IS_DIR(p.inode.mode), path);
	count++;
	PgfsSpiEnd();
	PG_RETURN_INT64(count);
}

/* copy inode src (named srcname in its directory) as newname in dir newparent */
static int64
CopyNode(int64 src, int64 newparent, PgfsName newname, const char *errpath)
{
	PgfsInode	node;
	PgfsInode	copy;
	bytea	   *target = NULL;
	int64		count = 1;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();
	/* lock order is directory before its entries: create first, lock src after */
	CatalogGetInodeOrError(src, &node);
	if (PGFS_IS_LNK(node.mode))
		target = CatalogGetTarget(src);
	NsCreate(newparent, newname, node.mode, 0, node.rdev, pgfs_default_uid, pgfs_default_gid,
			 target, errpath, true, &copy, NULL, NULL);
	CatalogLockInode(src, &node);
	if (PGFS_IS_REG(node.mode) && node.size > 0)
	{
		/* share the data; either side's later writes copy the chunks they touch */
		ChunkShareAll(src, &copy);
		copy.size = node.size;
		copy.blocks = node.blocks;
		CatalogUpdateInode(&copy);
	}
	else if (PGFS_IS_DIR(node.mode))
	{
		int			n;
		Child	   *kids = ListChildren(src, &n);

		for (int i = 0; i < n; i++)
			count += CopyNode(kids[i].ino, copy.ino, kids[i].name, errpath);
		pfree(kids);
	}
	return count;
}

PG_FUNCTION_INFO_V1(pgfs_copy);
Datum
pgfs_copy(PG_FUNCTION_ARGS)
{
	char	   *source = text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *dest = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		recursive = PG_GETARG_BOOL(2);
	PgfsPath	from;
	PgfsPath	to;
	int64		count;

	PgfsSpiBegin(false);
	PgfsResolveExisting(source, true, &from);
	PolicyCheckInode(&from.inode, false, source);
	PgfsResolve(dest, false, &to);
	if (to.exists)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EEXIST),
				 errmsg("file \"%s\" already exists", dest)));
	if (PGFS_IS_DIR(from.inode.mode) && !recursive)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EISDIR),
				 errmsg("\"%s\" is a directory", source),
				 errhint("Pass recursive => true to copy a tree.")));
	if (PGFS_IS_DIR(from.inode.mode) && NsIsAncestor(from.inode.ino, to.parent))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("cannot copy directory \"%s\" into itself (\"%s\")", source, dest)));
	count = CopyNode(from.inode.ino, to.parent, to.name, dest);
	PgfsSpiEnd();
	PG_RETURN_INT64(count);
}

/*
 * The client in column col is live: one of its sessions holds the advisory
 * lock (PGFS_LOCK_CLASS is $1) on the key PgfsClientKey computes, which
 * pg_locks shows as the unsigned objid.
 */
#define CLIENT_LIVE(col) \
	" EXISTS (SELECT 1 FROM pg_catalog.pg_locks l" \
	"  WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2" \
	"    AND l.database = (SELECT oid FROM pg_catalog.pg_database" \
	"                       WHERE datname = pg_catalog.current_database())" \
	"    AND l.classid = $1::pg_catalog.oid" \
	"    AND l.objid = ((" col " # (" col " >> 32)) & 4294967295)::pg_catalog.oid)"

static PgfsPlan dead_handles_plan = {
	"DELETE FROM pgfs.handle h WHERE NOT" CLIENT_LIVE("h.client"),
	1, {INT4OID}, NULL, true
};
static PgfsPlan dead_locks_plan = {
	"DELETE FROM pgfs.lock k WHERE NOT" CLIENT_LIVE("k.client"),
	1, {INT4OID}, NULL, true
};
static PgfsPlan dead_clients_plan = {
	"DELETE FROM pgfs.client c WHERE NOT" CLIENT_LIVE("c.client"),
	1, {INT4OID}, NULL, true
};
static PgfsPlan orphans_plan = {
	"SELECT i.ino FROM pgfs.inode i WHERE i.nlink = 0"
	" AND NOT EXISTS (SELECT 1 FROM pgfs.handle h WHERE h.ino = i.ino)",
	0, {InvalidOid}, NULL, true
};

PG_FUNCTION_INFO_V1(pgfs_reclaim_orphans);
Datum
pgfs_reclaim_orphans(PG_FUNCTION_ARGS)
{
	int			rows;
	int64	   *inos;
	int64		freed = 0;
	Datum		v[1] = {Int32GetDatum(PGFS_LOCK_CLASS)};

	/* the handle table is unlogged: a standby cannot even read it */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot reclaim orphans during recovery"),
				 errhint("Run pgfs_reclaim_orphans() on the primary.")));

	/*
	 * A server that just started may have lost the open handles (a crash
	 * empties their unlogged table) or hold those of mounts that have not
	 * reconnected yet: either way a file open but unlinked there looks like
	 * an orphan until its mount registers it again.  Free nothing until
	 * the mounts have had their time (pgfs.lock_grace), as their locks
	 * stand until then (lock.c).
	 */
	if (ClientGraceActive())
	{
		ereport(NOTICE,
				(errmsg("no orphans reclaimed: the server became ready less than pgfs.lock_grace (%d s) ago",
						pgfs_lock_grace),
				 errdetail("It started, restarted after a crash or was promoted then. Mounts register the files they hold open again when they reconnect; until they have, such a file looks like an orphan."),
				 errhint("Run pgfs_reclaim_orphans() again later.")));
		PG_RETURN_INT64(0);
	}
	PgfsSpiBegin(false);
	PgfsExec(&dead_handles_plan, v, NULL);
	if (FileLockTableExists())
		PgfsExec(&dead_locks_plan, v, NULL);
	PgfsExec(&dead_clients_plan, v, NULL);
	rows = PgfsExec(&orphans_plan, NULL, NULL);
	inos = palloc(sizeof(int64) * Max(rows, 1));
	for (int r = 0; r < rows; r++)
		inos[r] = PgfsGetInt64(r, 1);
	SPI_freetuptable(SPI_tuptable);
	for (int r = 0; r < rows; r++)
	{
		PgfsInode	node;

		CHECK_FOR_INTERRUPTS();
		/* re-check under the lock: it may have been opened meanwhile */
		if (!CatalogGetInode(inos[r], &node))
			continue;
		CatalogLockInode(inos[r], &node);
		if (node.nlink == 0 && !CatalogHasHandles(node.ino))
		{
			CatalogFreeInode(node.ino);
			freed++;
		}
	}
	PgfsSpiEnd();
	PG_RETURN_INT64(freed);
}

static PgfsPlan store_id_plan = {
	"SELECT value FROM pgfs.meta WHERE key = 'store_id'", 0, {InvalidOid}
};

PG_FUNCTION_INFO_V1(pgfs_store_id);
Datum
pgfs_store_id(PG_FUNCTION_ARGS)
{
	text	   *result = NULL;
	bool		isnull;

	PgfsSpiBegin(true);
	if (PgfsExec(&store_id_plan, NULL, NULL) == 1)
	{
		Datum		d = PgfsGetDatum(0, 1, &isnull);
		MemoryContext old = MemoryContextSwitchTo(PgfsCallerContext());

		result = DatumGetTextPCopy(d);
		MemoryContextSwitchTo(old);
	}
	PgfsSpiEnd();
	if (result == NULL)
		elog(ERROR, "pgfs.meta has no store_id");
	PG_RETURN_TEXT_P(result);
}
