/*-------------------------------------------------------------------------
 *
 * rowwrite.c
 *	  Rows written without an executor: the new rows of a new file, the
 *	  write-back of an inode row, chunk reference counts and the chunks
 *	  they free, and the deletion or repointing of a directory entry.
 *
 * Creating a small file wrote its rows with two SPI statements (chunk and
 * filemap; inode, dirent and the directory's update), and writing to a
 * file updated its inode row with a third.  Each statement is an executor
 * start and end (a ModifyTable and a Result or index scan node per table,
 * projections, the trigger WHEN check, index opens), a plan-cache check and
 * an SPI call: the two statements were 28 % of the backend's time in
 * creating a 4 KiB file with pgfs_write, and less than half of that was
 * the heap, TOAST and index inserts that are the real work.
 * These rows are written here instead as the executor writes them, as
 * CatalogTupleInsert does for the system catalogs: table_tuple_insert or
 * table_tuple_update (which TOAST the chunk's data as the executor would,
 * and log the change) and ExecInsertIndexTuples (unique checks, the partial
 * index inode_orphan_idx, HOT).
 *
 * What the executor would do besides, and why it is not needed: privileges
 * (every caller runs as the tables' owner, SECURITY DEFINER), NOT NULL
 * (every column is given; CheckCounts in catalog.c keeps the ranges), a
 * read-only transaction (checked here, with the executor's message).  What
 * it would do and this cannot -- triggers, rules, row-level security
 * forced on the owner, a table whose columns are not the ones pgfs made --
 * is looked for first (RowPlain), and where any is found the caller runs
 * its SQL statement as before.  The one trigger pgfs itself has,
 * merge_root on pgfs.inode, fires only for inode 1, the root, which only
 * CREATE EXTENSION and a restore insert.
 *
 * An update or a delete finds the row through the primary key (not an
 * index the planner picks, see DirentChange) under the snapshot a new
 * statement would take (PgfsLookupBegin), as the executor's UPDATE does:
 * the caller holds the row's lock, so that version is the latest and the
 * change succeeds; anything else is left to the SQL statement, which knows
 * what to do about it.  Chunk counts are the exception to the lock
 * (RowDropChunkRefs).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "common/int.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "storage/lmgr.h"
#include "utils/fmgroids.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgfs.h"

/*
 * PostgreSQL 16 told index maintenance after an update apart for summarizing
 * indexes (BRIN), which pgfs's tables do not have: every index of a non-HOT
 * update gets an entry, as 15 does.
 */
#if PG_VERSION_NUM >= 160000
#define INSERT_INDEX_TUPLES(rri, slot, estate, update) \
	ExecInsertIndexTuples((rri), (slot), (estate), (update), false, NULL, NIL, false)
typedef TU_UpdateIndexes UpdateIndexes;
#define UPDATE_INDEXES(u) ((u) != TU_None)
#else
#define INSERT_INDEX_TUPLES(rri, slot, estate, update) \
	ExecInsertIndexTuples((rri), (slot), (estate), (update), false, NULL, NIL)
typedef bool UpdateIndexes;
#define UPDATE_INDEXES(u) (u)
#endif

/* the columns pgfs made, in order; NULL for relations written only by SQL */
static const char *const inode_cols[] = {
	"ino", "mode", "nlink", "uid", "gid", "rdev", "size", "blocks", "atime_ns",
	"mtime_ns", "ctime_ns", "btime_ns", "generation", "parent", "target", "xattrs", NULL
};
static const char *const dirent_cols[] = {"parent", "name", "ino", "cookie", NULL};
static const char *const filemap_cols[] = {"ino", "chunkno", "chunk_id", NULL};
static const char *const chunk_cols[] = {"chunk_id", "refs", "rawlen", "comp", "data", NULL};

static const char *const *
Columns(PgfsRel which)
{
	switch (which)
	{
		case PGFS_REL_INODE:
			return inode_cols;
		case PGFS_REL_DIRENT:
			return dirent_cols;
		case PGFS_REL_FILEMAP:
			return filemap_cols;
		case PGFS_REL_CHUNK:
			return chunk_cols;
		default:
			elog(ERROR, "relation %d is not written directly", (int) which);
	}
	return NULL;				/* keep the compiler quiet */
}

/*
 * May rows of this relation be written here for a statement of kind cmd
 * (CMD_INSERT, CMD_UPDATE, CMD_DELETE)?  Not if anything the executor would
 * run for them is there (see the top of the file).
 */
bool
RowPlain(PgfsRel which, CmdType cmd)
{
	Relation	rel = CatalogOpen(which);
	TupleDesc	desc = RelationGetDescr(rel);
	const char *const *cols = Columns(which);
	int			n = 0;

	if (rel->rd_rules != NULL)
		return false;
	if (rel->rd_rel->relrowsecurity && rel->rd_rel->relforcerowsecurity)
		return false;
	for (; cols[n] != NULL; n++)
	{
		Form_pg_attribute att;

		if (n >= desc->natts)
			return false;
		att = TupleDescAttr(desc, n);
		if (att->attisdropped || att->attgenerated || strcmp(NameStr(att->attname), cols[n]) != 0)
			return false;
	}
	if (n != desc->natts)
		return false;
	if (rel->trigdesc != NULL)
	{
		for (int i = 0; i < rel->trigdesc->numtriggers; i++)
		{
			Trigger    *t = &rel->trigdesc->triggers[i];
			bool		fires = cmd == CMD_INSERT ? TRIGGER_FOR_INSERT(t->tgtype)
				: cmd == CMD_DELETE ? TRIGGER_FOR_DELETE(t->tgtype)
				: TRIGGER_FOR_UPDATE(t->tgtype);

			if (!fires)
				continue;
			/* ours, for the root only (callers never insert inode 1) */
			if (which == PGFS_REL_INODE && cmd == CMD_INSERT &&
				strcmp(t->tgname, "merge_root") == 0)
				continue;
			return false;
		}
	}
	return true;
}

/* what the executor of a statement writing rel needs to maintain its indexes */
typedef struct RowWriter
{
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
} RowWriter;

static void
WriterBegin(RowWriter *w, PgfsRel which, const char *cmd)
{
	/* as ExecCheckXactReadOnly, before anything is written (25006) */
	PreventCommandIfReadOnly(cmd);
	w->rel = table_open(CatalogRelOid(which), RowExclusiveLock);
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, w->rel, 0, NULL, 0);
	ExecOpenIndices(w->rri, false);
	w->slot = MakeSingleTupleTableSlot(RelationGetDescr(w->rel), &TTSOpsVirtual);
}

static void
WriterEnd(RowWriter *w)
{
	ExecDropSingleTupleTableSlot(w->slot);
	ExecCloseIndices(w->rri);
	FreeExecutorState(w->estate);
	/* the lock stays to the end of the transaction, as the executor's */
	table_close(w->rel, NoLock);
}

/* store values/isnull (every column of the relation) into the writer's slot */
static void
WriterFill(RowWriter *w, const Datum *values, const bool *isnull)
{
	int			natts = RelationGetDescr(w->rel)->natts;

	ExecClearTuple(w->slot);
	memcpy(w->slot->tts_values, values, sizeof(Datum) * natts);
	memcpy(w->slot->tts_isnull, isnull, sizeof(bool) * natts);
	ExecStoreVirtualTuple(w->slot);
}

/*
 * Insert a row of which (values and isnull for every column), with its
 * index entries; the caller has checked RowPlain(which, CMD_INSERT).  A
 * duplicate key fails as the INSERT would (23505).
 */
void
RowInsert(PgfsRel which, const Datum *values, const bool *isnull)
{
	RowWriter	w;
	List	   *recheck;

	WriterBegin(&w, which, "INSERT");
	WriterFill(&w, values, isnull);
	table_tuple_insert(w.rel, w.slot, GetCurrentCommandId(true), 0, NULL);
	recheck = INSERT_INDEX_TUPLES(w.rri, w.slot, w.estate, false);
	list_free(recheck);
	WriterEnd(&w);
}

/*
 * The index entries of a new version of row key (of the inode or chunk
 * table; w's) that is not HOT.  The primary key's is made without the
 * unique check the executor does: the key is the old version's, which held
 * it alone under the lock the caller has (the inode's row lock, for a
 * chunk too), and a concurrent insert of the same key checks against this
 * entry.  The check is not free when a transaction updates one row many
 * times (a directory gaining thousands of files): it visits every version
 * left in the index under that key, and made such a transaction quadratic
 * (100000 files in one directory and one statement: 29 s).  The other
 * indexes go through the executor's code as before.
 */
static void
InsertUpdatedIndexes(RowWriter *w, PgfsRel which, int64 keyval)
{
	ResultRelInfo *rri = w->rri;
	Oid			pkey = CatalogRelOid(CatalogPkeyOf(which));
	int			n = rri->ri_NumIndices;
	int			pk = -1;
	Datum		key = Int64GetDatum(keyval);
	bool		isnull = false;

	for (int i = 0; i < n; i++)
	{
		IndexInfo  *ii = rri->ri_IndexRelationInfo[i];

		if (RelationGetRelid(rri->ri_IndexRelationDescs[i]) == pkey &&
			ii->ii_NumIndexAttrs == 1 && ii->ii_IndexAttrNumbers[0] == 1 &&
			ii->ii_Expressions == NIL && ii->ii_Predicate == NIL)
			pk = i;
	}
	if (pk < 0)
	{
		list_free(INSERT_INDEX_TUPLES(rri, w->slot, w->estate, true));
		return;
	}
	/* the others: the primary key moved to the end, out of the count */
	if (pk != n - 1)
	{
		Relation	r = rri->ri_IndexRelationDescs[pk];
		IndexInfo  *ii = rri->ri_IndexRelationInfo[pk];

		rri->ri_IndexRelationDescs[pk] = rri->ri_IndexRelationDescs[n - 1];
		rri->ri_IndexRelationInfo[pk] = rri->ri_IndexRelationInfo[n - 1];
		rri->ri_IndexRelationDescs[n - 1] = r;
		rri->ri_IndexRelationInfo[n - 1] = ii;
	}
	rri->ri_NumIndices = n - 1;
	list_free(INSERT_INDEX_TUPLES(rri, w->slot, w->estate, true));
	rri->ri_NumIndices = n;
	index_insert(rri->ri_IndexRelationDescs[n - 1], &key, &isnull, &w->slot->tts_tid, w->rel,
				 UNIQUE_CHECK_NO, true, rri->ri_IndexRelationInfo[n - 1]);
}

/*
 * Write a new version of a row over old, the version the probe found:
 * set[] marks the columns that take values/isnull (indexed by column, as
 * the table's; never the key), the rest are old's, and add is added to the
 * integer column add_col (0-based; -1: none).  *update_indexes says whether
 * the indexes need entries for the new version (not HOT).  false, with
 * nothing written, where the statement must decide: a NULL or overflowing
 * count, or a concurrent change committed since old was read.
 */
static bool
WriteVersion(RowWriter *w, TupleTableSlot *old, const Datum *values, const bool *isnull,
			 const bool *set, int add_col, int32 add, UpdateIndexes *update_indexes)
{
	int			natts = RelationGetDescr(w->rel)->natts;
	TM_FailureData tmfd;
	LockTupleMode lockmode;

	slot_getallattrs(old);
	ExecClearTuple(w->slot);
	for (int i = 0; i < natts; i++)
	{
		w->slot->tts_values[i] = set[i] ? values[i] : old->tts_values[i];
		w->slot->tts_isnull[i] = set[i] ? isnull[i] : old->tts_isnull[i];
	}
	if (add_col >= 0)
	{
		int32		s;

		if (w->slot->tts_isnull[add_col] ||
			pg_add_s32_overflow(DatumGetInt32(w->slot->tts_values[add_col]), add, &s))
			return false;
		w->slot->tts_values[add_col] = Int32GetDatum(s);
	}
	ExecStoreVirtualTuple(w->slot);
	return table_tuple_update(w->rel, &old->tts_tid, w->slot, GetCurrentCommandId(true),
							  GetActiveSnapshot(), InvalidSnapshot, true,
							  &tmfd, &lockmode, update_indexes) == TM_Ok;
}

/* delete old, the version the probe found; false if that did not go through */
static bool
DeleteVersion(RowWriter *w, TupleTableSlot *old)
{
	TM_FailureData tmfd;

	return table_tuple_delete(w->rel, &old->tts_tid, GetCurrentCommandId(true),
							  GetActiveSnapshot(), InvalidSnapshot, true, &tmfd, false) == TM_Ok;
}

/*
 * WriteVersion for a row of the inode or chunk table (primary key key),
 * with the hint and index entries of the new version.
 */
static bool
UpdateVersion(RowWriter *w, PgfsRel which, int64 key, TupleTableSlot *old,
			  const Datum *values, const bool *isnull, const bool *set,
			  int add_col, int32 add)
{
	UpdateIndexes update_indexes;

	if (!WriteVersion(w, old, values, isnull, set, add_col, add, &update_indexes))
		return false;
	CatalogHintRow(which, key, &w->slot->tts_tid);
	/* not a HOT update: every index gets an entry for the new version */
	if (UPDATE_INDEXES(update_indexes))
		InsertUpdatedIndexes(w, which, key);
	return true;
}

/*
 * Replace the columns of the row of which (PGFS_REL_INODE or
 * PGFS_REL_CHUNK) with primary key key that set[] marks, and add add to
 * column add_col, as UpdateVersion.  The caller holds the row's lock (a
 * chunk's: its file's, the chunk being that file's alone), or adds to a
 * count that concurrent writers change only by adding too, and has checked
 * RowPlain(which, CMD_UPDATE).  false, with nothing written, if the row is
 * not there or the update did not go through: the caller's SQL statement
 * decides what that means.
 */
static bool
RowUpdateAdd(PgfsRel which, int64 key, const Datum *values, const bool *isnull,
			 const bool *set, int add_col, int32 add)
{
	RowWriter	w;
	TupleTableSlot *old;
	bool		done = false;

	Assert(!set[0]);
	WriterBegin(&w, which, "UPDATE");
	old = table_slot_create(w.rel, NULL);
	PgfsLookupBegin();
	if (CatalogProbeRow(which, w.rel, key, GetActiveSnapshot(), old))
		done = UpdateVersion(&w, which, key, old, values, isnull, set, add_col, add);
	PgfsLookupEnd();
	ExecDropSingleTupleTableSlot(old);
	WriterEnd(&w);
	return done;
}

bool
RowUpdate(PgfsRel which, int64 key, const Datum *values, const bool *isnull, const bool *set)
{
	return RowUpdateAdd(which, key, values, isnull, set, -1, 0);
}

/*
 * refs = refs + add on chunk row chunk_id, as an UPDATE would do it; false
 * if it must be left to the UPDATE after all.  The caller has checked
 * RowPlain(PGFS_REL_CHUNK, CMD_UPDATE).
 */
bool
RowAddChunkRefs(int64 chunk_id, int32 add)
{
	Datum		v[5] = {0};
	bool		n[5] = {false, false, false, false, false};
	bool		set[5] = {false, false, false, false, false};

	return RowUpdateAdd(PGFS_REL_CHUNK, chunk_id, v, n, set, 1, add);
}

/*
 * Drop refs[i] references from chunk row ids[i], for i in [0, n), as
 * UPDATE pgfs.chunk SET refs = refs - refs[i] would, and delete a row that
 * is left with none, as DELETE ... WHERE refs = 0 would (its TOAST rows
 * too) without first writing a version of it that says 0.  ids are
 * distinct and ascending, the order rows are locked in elsewhere.  Returns
 * how many were done, from the first: it stops, with nothing of that one
 * written, at a chunk the statements must do (not found, or changed by a
 * transaction that committed since the snapshot: another file's reference
 * added or dropped), so that the caller can do it and go on in order.
 * rawlen[i] gets the chunk's length.  The caller has checked RowPlain(PGFS_REL_CHUNK, ...)
 * for CMD_UPDATE and CMD_DELETE.
 *
 * The UPDATE found each chunk through the primary key, past every version
 * the transaction had left of it: unlinking 4000 copies of a file of four
 * chunks in one transaction took 9.9 s, against 0.35 s for 1000.
 */
int
RowDropChunkRefs(int n, const int64 *ids, const int32 *refs, int32 *rawlen)
{
	RowWriter	w;
	TupleTableSlot *old;
	MemoryContext row_cxt;
	MemoryContext oldcxt;
	Datum		none[5] = {0};
	bool		nonull[5] = {false, false, false, false, false};
	bool		noset[5] = {false, false, false, false, false};
	int			i;

	WriterBegin(&w, PGFS_REL_CHUNK, "UPDATE");
	old = table_slot_create(w.rel, NULL);
	row_cxt = AllocSetContextCreate(CurrentMemoryContext, "pgfs chunk references",
									ALLOCSET_SMALL_SIZES);
	PgfsLookupBegin();
	for (i = 0; i < n; i++)
	{
		bool		done = false;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(row_cxt);
		if (CatalogProbeRow(PGFS_REL_CHUNK, w.rel, ids[i], GetActiveSnapshot(), old))
		{
			bool		null_count;
			bool		null_len;
			int32		count = DatumGetInt32(slot_getattr(old, 2, &null_count));

			/* (a NULL is left to the statement, which says what is wrong) */
			rawlen[i] = DatumGetInt32(slot_getattr(old, 3, &null_len));
			if (!null_count && !null_len && (int64) count - refs[i] == 0)
				done = DeleteVersion(&w, old);
			else if (!null_count && !null_len)
				done = UpdateVersion(&w, PGFS_REL_CHUNK, ids[i], old, none, nonull, noset,
									 1, -refs[i]);
		}
		ExecClearTuple(old);
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(row_cxt);
		if (!done)
			break;
	}
	PgfsLookupEnd();
	MemoryContextDelete(row_cxt);
	ExecDropSingleTupleTableSlot(old);
	WriterEnd(&w);
	return i;
}

/*
 * The version of directory entry (parent, name) the active snapshot sees,
 * found through dirent's primary key, into slot.
 */
static bool
ProbeDirent(Relation heap, int64 parent, PgfsName name, TupleTableSlot *slot)
{
	Relation	index = CatalogOpen(PGFS_REL_DIRENT_PKEY);
	IndexScanDesc scan;
	ScanKeyData key[2];
	bool		found;

	CatalogDirentKey(key, parent, name);
	scan = index_beginscan(heap, index, GetActiveSnapshot(), 2, 0);
	index_rescan(scan, key, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	return found;
}

/*
 * Delete directory entry (parent, name), or point it at inode ino
 * (ino != 0), as DELETE or UPDATE ... WHERE parent = $1 AND name = $2
 * would; false, with nothing written, where that must be left to the
 * statement (the entry is not there).  The caller holds the directory's
 * lock and has checked RowPlain(PGFS_REL_DIRENT, CMD_DELETE or CMD_UPDATE).
 *
 * Not a statement, because its plan was the planner's to choose, and a
 * directory emptied of many entries made it choose wrong: dirent's
 * reltuples fell to what was left while its indexes kept their pages, the
 * estimate of an index probe grew with the index's pages per table row,
 * and (parent, cookie), smaller than the key with its names, won with
 * "name = $2" as a filter.  Every unlink and rename then read its whole
 * directory: 16000 unlinks in one transaction took 32 s, against 0.5 s
 * for 8000.
 */
static bool
DirentChange(int64 parent, PgfsName name, int64 ino)
{
	RowWriter	w;
	TupleTableSlot *old;
	bool		done = false;

	WriterBegin(&w, PGFS_REL_DIRENT, ino == 0 ? "DELETE" : "UPDATE");
	old = table_slot_create(w.rel, NULL);
	PgfsLookupBegin();
	if (ProbeDirent(w.rel, parent, name, old))
	{
		if (ino == 0)
			done = DeleteVersion(&w, old);
		else
		{
			Datum		values[4] = {0, 0, Int64GetDatum(ino), 0};
			bool		isnull[4] = {false, false, false, false};
			bool		set[4] = {false, false, true, false};
			UpdateIndexes update_indexes;

			done = WriteVersion(&w, old, values, isnull, set, -1, 0, &update_indexes);
			if (done && UPDATE_INDEXES(update_indexes))
				list_free(INSERT_INDEX_TUPLES(w.rri, w.slot, w.estate, true));
		}
	}
	PgfsLookupEnd();
	ExecDropSingleTupleTableSlot(old);
	WriterEnd(&w);
	return done;
}

bool
RowDeleteDirent(int64 parent, PgfsName name)
{
	return DirentChange(parent, name, 0);
}

bool
RowRetargetDirent(int64 parent, PgfsName name, int64 ino)
{
	Assert(ino != 0);
	return DirentChange(parent, name, ino);
}
