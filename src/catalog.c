/*-------------------------------------------------------------------------
 *
 * catalog.c
 *	  Inode, directory entry and open-handle rows.
 *
 * The namespace is two tables: pgfs.inode (one row per file, directory,
 * link or node, with everything stat(2) reports) and pgfs.dirent (one row
 * per name: parent directory, name bytes, inode).  Directories also record
 * their parent in the inode row, which makes ".." and the cycle check of a
 * directory rename cheap walks up a chain rather than index searches.
 *
 * Lookups (by name, by inode number) go straight to the primary key
 * indexes, as inv_api.c does for large objects: a path of four components
 * costs five index probes instead of four executor runs (four of dirent's
 * key, which carries ino and is read index-only, and the last component's
 * inode row; path.c says why the others' inode rows are not read), and
 * most of those probes find their row where a lookup hint says, without
 * descending the index (below).  Read-only calls
 * (stat, read, the mount's lookup and getattr) probe under the query's
 * snapshot; calls that change the tree under the snapshot a new SPI
 * statement would take (PgfsLookupBegin), which they rely on after locking.
 * Locks and changes go through SPI.  The relations' OIDs are cached per
 * backend and forgotten on any relcache invalidation of them; the probes
 * keep their AccessShareLock to the end of the transaction, as the executor
 * does, so that later probes find it in the local lock table.
 *
 * Concurrency: a change to a directory's entries locks the directory's inode
 * row first (SELECT ... FOR UPDATE), then the rows of the entries it
 * touches; several rows at once are locked in ascending inode order.  Only
 * directory renames across directories can create cycles; they also take a
 * transaction-level advisory lock first (see namespace.c), the same idea as
 * Linux's s_vfs_rename_mutex.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/visibilitymap.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "storage/predicate.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgfs.h"

/*
 * A new name and its new inode in one statement, with the directory's
 * change: creating a file was three executor runs, and a written one four.
 */
static PgfsPlan create_plan = {
	"WITH i AS (INSERT INTO pgfs.inode (ino, mode, nlink, uid, gid, rdev, size, blocks,"
	"   atime_ns, mtime_ns, ctime_ns, btime_ns, generation, parent, target, xattrs)"
	"  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $9, $9, 1, $10, $11, $16)),"
	" d AS (INSERT INTO pgfs.dirent (parent, name, ino) VALUES ($12, $13, $1))"
	" UPDATE pgfs.inode SET nlink = $14, mtime_ns = $9, ctime_ns = $9, generation = $15"
	" WHERE ino = $12",
	16, {INT8OID, INT4OID, INT4OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID, BYTEAOID, INT8OID, BYTEAOID, INT4OID, INT8OID, INT4OID}
};
static PgfsPlan update_plan = {
	"UPDATE pgfs.inode SET mode = $2, nlink = $3, uid = $4, gid = $5, size = $6,"
	" blocks = $7, atime_ns = $8, mtime_ns = $9, ctime_ns = $10, generation = $11,"
	" parent = $12, xattrs = $13 WHERE ino = $1",
	13, {INT8OID, INT4OID, INT4OID, INT8OID, INT8OID, INT8OID, INT8OID, INT8OID,
	INT8OID, INT8OID, INT8OID, INT8OID, INT4OID}
};
static PgfsPlan insert_dirent_plan = {
	"INSERT INTO pgfs.dirent (parent, name, ino) VALUES ($1, $2, $3)",
	3, {INT8OID, BYTEAOID, INT8OID}
};
static PgfsPlan delete_dirent_plan = {
	"DELETE FROM pgfs.dirent WHERE parent = $1 AND name = $2", 2, {INT8OID, BYTEAOID}
};
static PgfsPlan retarget_dirent_plan = {
	"UPDATE pgfs.dirent SET ino = $3 WHERE parent = $1 AND name = $2",
	3, {INT8OID, BYTEAOID, INT8OID}
};
static PgfsPlan empty_plan = {
	"SELECT 1 FROM pgfs.dirent WHERE parent = $1 LIMIT 1", 1, {INT8OID}
};
static PgfsPlan handles_plan = {
	"SELECT 1 FROM pgfs.handle WHERE ino = $1 LIMIT 1", 1, {INT8OID}
};
static PgfsPlan target_plan = {
	"SELECT target FROM pgfs.inode WHERE ino = $1", 1, {INT8OID}
};
static PgfsPlan free_plan = {
	"WITH x AS (DELETE FROM pgfs.xattr WHERE ino = $1)"
	" DELETE FROM pgfs.inode WHERE ino = $1", 1, {INT8OID}
};

static Datum
NameDatum(PgfsName name)
{
	bytea	   *b = palloc(VARHDRSZ + name.len);

	SET_VARSIZE(b, VARHDRSZ + name.len);
	memcpy(VARDATA(b), name.data, name.len);
	return PointerGetDatum(b);
}

/* relations probed directly, by name in schema pgfs; OIDs cached */
static const char *const rel_names[PGFS_NRELS] = {
	"inode", "inode_pkey", "dirent", "dirent_pkey", "filemap", "filemap_pkey",
	"chunk", "chunk_pkey", "ino_seq", "chunk_seq", "cookie_seq"
};
static Oid	rel_oids[PGFS_NRELS];
static bool rel_oids_valid = false;
static bool rel_callback_registered = false;

static void HintsReset(void);

static void
RelOidsInvalidate(Datum arg, Oid relid)
{
	/*
	 * The row hints point into the relations' files, which TRUNCATE or a
	 * new extension replaces: they go with any change to the relations.
	 */
	if (!rel_oids_valid || relid == InvalidOid ||
		relid == rel_oids[PGFS_REL_INODE] || relid == rel_oids[PGFS_REL_CHUNK])
		HintsReset();
	if (!rel_oids_valid)
		return;
	if (relid == InvalidOid)
		rel_oids_valid = false;
	for (int i = 0; i < PGFS_NRELS; i++)
		if (rel_oids[i] == relid)
			rel_oids_valid = false;
}

Oid
CatalogRelOid(PgfsRel which)
{
	if (!rel_oids_valid)
	{
		Oid			nsp = get_namespace_oid("pgfs", false);

		if (!rel_callback_registered)
		{
			CacheRegisterRelcacheCallback(RelOidsInvalidate, (Datum) 0);
			rel_callback_registered = true;
		}
		for (int i = 0; i < PGFS_NRELS; i++)
		{
			rel_oids[i] = get_relname_relid(rel_names[i], nsp);
			if (!OidIsValid(rel_oids[i]))
				elog(ERROR, "relation pgfs.%s is missing", rel_names[i]);
		}
		rel_oids_valid = true;
	}
	return rel_oids[which];
}

/*
 * Relations read directly in this call: opened on first use, closed by
 * PgfsSpiEnd.  An error leaves them to the resource owner, and the next
 * call's PgfsSpiBegin forgets them (CatalogForget).
 */
static Relation open_rels[PGFS_NRELS];

/* dirent's visibility map page, pinned from the first probe to the call's end */
static Buffer dirent_vmbuffer = InvalidBuffer;

Relation
CatalogOpen(PgfsRel which)
{
	if (open_rels[which] == NULL)
		open_rels[which] = relation_open(CatalogRelOid(which), AccessShareLock);
	return open_rels[which];
}

/* the lock stays to the end of the transaction, as the executor's do */
void
CatalogCloseAll(void)
{
	if (BufferIsValid(dirent_vmbuffer))
		ReleaseBuffer(dirent_vmbuffer);
	dirent_vmbuffer = InvalidBuffer;
	for (int i = 0; i < PGFS_NRELS; i++)
		if (open_rels[i] != NULL)
		{
			relation_close(open_rels[i], NoLock);
			open_rels[i] = NULL;
		}
}

void
CatalogForget(void)
{
	dirent_vmbuffer = InvalidBuffer;	/* an error released the pin */
	memset(open_rels, 0, sizeof(open_rels));
}

/*
 * Where this transaction last wrote some inode and chunk rows.
 *
 * A transaction that changes one directory many times -- creating or
 * removing thousands of files in it, one pgfs_write after another, or
 * pgfs_copy and pgfs_remove of a large tree -- updates the directory's row
 * each time, and none of those row versions can be pruned before the
 * transaction ends.  A probe through the primary key walks them all to
 * find the one it sees: every change got slower as the transaction went
 * on.  Measured: 5000 new files in one directory and one statement took
 * 1.1 s, 20000 took 13.8 s (pgfs_copy and pgfs_remove of the latter 11-12
 * s), where the work per file is constant.  A file written piece by piece
 * in one transaction (appends of a few bytes each) does the same to its
 * inode row and to the chunk it is appending to.
 *
 * So the direct updates (rowwrite.c) note here the tuple a row was last
 * written to, and a probe of that row fetches that tuple first.  It is
 * only a hint: the tuple is taken if the probe's snapshot sees it and it
 * has the key, and then it is the version the index scan would have found
 * (a snapshot sees at most one version of a row, and inode and chunk
 * numbers are never reused); otherwise the probe goes through the index.
 * A tuple this transaction wrote cannot be pruned while the transaction
 * runs, unless the subtransaction that wrote it aborts: the hints are
 * dropped then, and at the end of every transaction.  A fixed table per
 * relation with one slot per hash bucket bounds the memory; a row that
 * loses its slot only costs the index probe.
 */
#define ROW_HINTS 256

typedef struct RowHint
{
	int64		key;			/* 0: empty */
	ItemPointerData tid;
	int32		weight;			/* its updates, less the collisions since */
} RowHint;

static RowHint row_hints[2][ROW_HINTS];	/* inode, chunk */
static bool row_hints_set = false;

static RowHint *
HintSlot(PgfsRel which, int64 key)
{
	int			t;

	if (which == PGFS_REL_INODE)
		t = 0;
	else if (which == PGFS_REL_CHUNK)
		t = 1;
	else
		elog(ERROR, "relation %d has no row hints", (int) which);
	return &row_hints[t][(uint64) key % ROW_HINTS];
}

/*
 * A direct update left the row of which with primary key key at tid.  A
 * row updated often keeps its slot against rows that collide with it once
 * (the files created in a busy directory): each collision takes one from
 * its weight, and a newcomer takes the slot only when that reaches zero.
 */
void
CatalogHintRow(PgfsRel which, int64 key, ItemPointer tid)
{
	RowHint    *h = HintSlot(which, key);

	if (h->key == key)
	{
		h->tid = *tid;
		if (h->weight < PG_INT32_MAX)
			h->weight++;
	}
	else if (h->key == 0 || --h->weight <= 0)
	{
		h->key = key;
		h->tid = *tid;
		h->weight = 1;
	}
	row_hints_set = true;
}

static void
HintsReset(void)
{
	if (row_hints_set)
		memset(row_hints, 0, sizeof(row_hints));
	row_hints_set = false;
}

static void
HintsXactCallback(XactEvent event, void *arg)
{
	HintsReset();
}

static void
HintsSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		HintsReset();
}

void
CatalogInit(void)
{
	RegisterXactCallback(HintsXactCallback, NULL);
	RegisterSubXactCallback(HintsSubXactCallback, NULL);
}

/*
 * The row of which (rel, opened) whose primary key (its first column, a
 * bigint) is key, into slot, as the hint has it, if snap sees it there.
 */
bool
CatalogFetchHinted(PgfsRel which, Relation rel, int64 key, Snapshot snap,
				   TupleTableSlot *slot)
{
	RowHint    *h = HintSlot(which, key);
	bool		isnull;

	if (h->key != key)
		return false;
	if (!table_tuple_fetch_row_version(rel, &h->tid, snap, slot))
		return false;
	if (DatumGetInt64(slot_getattr(slot, 1, &isnull)) == key && !isnull)
		return true;
	ExecClearTuple(slot);
	return false;
}

/* the primary key of inode or chunk, the tables whose rows are updated directly */
PgfsRel
CatalogPkeyOf(PgfsRel which)
{
	if (which == PGFS_REL_INODE)
		return PGFS_REL_INODE_PKEY;
	if (which == PGFS_REL_CHUNK)
		return PGFS_REL_CHUNK_PKEY;
	elog(ERROR, "relation %d is not updated directly", (int) which);
	return which;				/* keep the compiler quiet */
}

/*
 * Where rows were found, from one transaction to the next.
 *
 * A path walk probes dirent's key once per component and the inode's key
 * once; each probe descends a B-tree from its root.  Measured (perf of
 * pgfs_stat of four-component paths in a loop): the walk was 83% of the
 * call, dirent's probes 63%.  So each backend remembers where the last
 * probe of a key found its row: the heap TID the index gave (the root of
 * the row's HOT chain) and the shared buffer that held its page.  The next
 * probe of that key pins that buffer if it still holds that page
 * (ReadRecentBuffer: no buffer mapping lookup, and no read of a block that
 * a VACUUM may have truncated away since), and searches the HOT chain at
 * that TID under the probe's snapshot, as an index fetch does.
 *
 * The row found there counts only if it has the key asked for.  A snapshot
 * sees at most one row with a given primary key, so that is the row the
 * index would have led to, and nothing needs invalidating: a rename, a
 * removal, an update that left the chain, a pruned chain, a reused line
 * pointer or an evicted page only make the hint miss, and the probe goes
 * through the index and refreshes it.  SERIALIZABLE transactions always go
 * through the index, whose page locks catch the phantoms SSI must see.
 *
 * A hint is a slot of a fixed table per relation, by hash of the key, so
 * the memory is bounded (LOOKUP_HINT_SETS sets of two 24-byte hints,
 * the one used less recently replaced).  A dirent
 * probe that was answered from the index alone (its page all-visible) did
 * not read the heap page; the hint then keeps the TID only, and the heap
 * page is read to learn its buffer when the same key is probed again, so
 * that a walk over many names once each (the cold lookups among 1M files)
 * reads no page the index-only probe would not have.
 */
#define LOOKUP_HINT_SETS 4096	/* of two hints each */

typedef struct LookupHint
{
	int64		key;			/* dirent: parent; inode: ino; 0: empty */
	uint32		check;			/* dirent: the name's hash, high half */
	Buffer		buffer;			/* InvalidBuffer: not known yet */
	ItemPointerData tid;
	bool		recent;			/* used after the other hint of its set */
} LookupHint;

static LookupHint *lookup_hints[2];	/* dirent, inode */

/* the two hints a key may have its hint in */
static LookupHint *
LookupHintSetOf(int table, uint64 h)
{
	if (lookup_hints[table] == NULL)
		lookup_hints[table] = MemoryContextAllocZero(TopMemoryContext,
													 sizeof(LookupHint) * 2 * LOOKUP_HINT_SETS);
	return &lookup_hints[table][(h % LOOKUP_HINT_SETS) * 2];
}

static LookupHint *
LookupHintFind(LookupHint *set, int64 key, uint32 check)
{
	for (int w = 0; w < 2; w++)
		if (set[w].key == key && set[w].check == check)
			return &set[w];
	return NULL;
}

static void
LookupHintTouch(LookupHint *set, LookupHint *hint)
{
	set[0].recent = set[1].recent = false;
	hint->recent = true;
}

/* remember tid (and its buffer, if known) for key, in place of the hint used less recently */
static void
LookupHintSet(LookupHint *set, int64 key, uint32 check, ItemPointer tid, Buffer buffer)
{
	LookupHint *hint = LookupHintFind(set, key, check);

	if (hint == NULL)
		hint = (set[0].key == 0 || (set[1].key != 0 && !set[0].recent)) ? &set[0] : &set[1];
	hint->key = key;
	hint->check = check;
	hint->tid = *tid;
	hint->buffer = buffer;
	LookupHintTouch(set, hint);
}

static uint64
DirentHash(int64 parent, PgfsName name)
{
	return hash_bytes_extended((const unsigned char *) name.data, name.len, (uint64) parent);
}

static bool
LookupHintsUsable(Snapshot snap)
{
	return IsMVCCSnapshot(snap) && !IsolationIsSerializable();
}

static void
LookupHintDone(Buffer buffer)
{
	LockBuffer(buffer, BUFFER_LOCK_UNLOCK);
	ReleaseBuffer(buffer);
}

/*
 * Pin and share-lock the page of hint's row if a shared buffer still holds
 * it, and search the HOT chain at the hint's TID under snap.  On true, the
 * caller reads *tuple and then calls LookupHintDone(*buffer).
 */
static bool
LookupHintFetch(Relation rel, LookupHint *hint, Snapshot snap, HeapTuple tuple, Buffer *buffer)
{
	ItemPointerData tid = hint->tid;

	if (!BufferIsValid(hint->buffer))
		return false;
#if PG_VERSION_NUM >= 160000
	if (!ReadRecentBuffer(rel->rd_locator, MAIN_FORKNUM,
						  ItemPointerGetBlockNumber(&tid), hint->buffer))
		return false;
#else
	if (!ReadRecentBuffer(rel->rd_node, MAIN_FORKNUM,
						  ItemPointerGetBlockNumber(&tid), hint->buffer))
		return false;
#endif
	*buffer = hint->buffer;

	/*
	 * Prune the page first, as an index fetch does on each page it visits
	 * (heapam_index_fetch_tuple).  Without it a page reached only through
	 * hints -- that of a directory's inode row, found before each creation
	 * in it and updated by it -- is never pruned between VACUUMs: it fills
	 * with dead versions, and each update then moves the row to a page at
	 * the end of the table, leaving its dead version behind.  Measured: 1M
	 * files created in 1000 directories (bench/sql_bench.sh) left pgfs.inode
	 * at 268 MB, half of its heap free space after a VACUUM; with pruning 185
	 * MB, as before the hints, and the lookups among them touch fewer pages.
	 */
	heap_page_prune_opt(rel, *buffer);
	LockBuffer(*buffer, BUFFER_LOCK_SHARE);
	if (heap_hot_search_buffer(&tid, rel, *buffer, snap, tuple, NULL, true))
		return true;
	LookupHintDone(*buffer);
	return false;
}

/* the inode number of name in parent, as dirent's hint has it, or 0 */
static int64
DirentHinted(Relation heap, LookupHint *set, int64 parent, PgfsName name,
			 uint32 check, Snapshot snap)
{
	LookupHint *hint = LookupHintFind(set, parent, check);
	HeapTupleData tuple;
	Buffer		buffer;
	TupleDesc	desc = RelationGetDescr(heap);
	int64		ino = 0;
	bool		isnull;

	if (hint == NULL || !LookupHintFetch(heap, hint, snap, &tuple, &buffer))
		return 0;
	if (DatumGetInt64(heap_getattr(&tuple, 1, desc, &isnull)) == parent)
	{
		struct varlena *v = (struct varlena *)
			DatumGetPointer(heap_getattr(&tuple, 2, desc, &isnull));

		if ((!VARATT_IS_EXTENDED(v) || VARATT_IS_SHORT(v)) &&
			VARSIZE_ANY_EXHDR(v) == name.len &&
			memcmp(VARDATA_ANY(v), name.data, name.len) == 0)
			ino = DatumGetInt64(heap_getattr(&tuple, 3, desc, &isnull));
	}
	LookupHintDone(buffer);
	if (ino != 0)
		LookupHintTouch(set, hint);
	return ino;
}

/* the inode row of ino into slot, as inode's hint has it */
static bool
InodeHinted(Relation rel, int64 ino, Snapshot snap, TupleTableSlot *slot)
{
	LookupHint *set = LookupHintSetOf(1, (uint64) ino);
	LookupHint *hint = LookupHintFind(set, ino, 0);
	HeapTupleData tuple;
	Buffer		buffer;
	bool		found = false;
	bool		isnull;

	if (hint == NULL || !LookupHintFetch(rel, hint, snap, &tuple, &buffer))
		return false;
	if (DatumGetInt64(heap_getattr(&tuple, 1, RelationGetDescr(rel), &isnull)) == ino)
	{
		ExecStoreBufferHeapTuple(&tuple, slot, buffer);	/* pins it again */
		LookupHintTouch(set, hint);
		found = true;
	}
	LookupHintDone(buffer);
	return found;
}

/*
 * The row of which (inode or chunk; rel, opened) whose primary key is key,
 * under snap, into slot: where a hint says, or through the primary key.
 */
bool
CatalogProbeRow(PgfsRel which, Relation rel, int64 key, Snapshot snap, TupleTableSlot *slot)
{
	ScanKeyData sk;
	IndexScanDesc scan;
	bool		found;
	bool		hints = (which == PGFS_REL_INODE && TTS_IS_BUFFERTUPLE(slot) &&
						 LookupHintsUsable(snap));

	if (CatalogFetchHinted(which, rel, key, snap, slot))
		return true;
	if (hints && InodeHinted(rel, key, snap, slot))
		return true;
	ScanKeyInit(&sk, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(key));
	scan = index_beginscan(rel, CatalogOpen(CatalogPkeyOf(which)), snap, 1, 0);
	index_rescan(scan, &sk, 1, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found && hints)
		LookupHintSet(LookupHintSetOf(1, (uint64) key), key, 0, &scan->xs_heaptid,
					  ((BufferHeapTupleTableSlot *) slot)->buffer);
	index_endscan(scan);
	return found;
}

static void SlotToInode(TupleTableSlot *slot, PgfsInode *out);

/* the inode row through its primary key, under the active snapshot */
static bool
DirectGetInode(int64 ino, PgfsInode *out)
{
	Relation	rel = CatalogOpen(PGFS_REL_INODE);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found;

	found = CatalogProbeRow(PGFS_REL_INODE, rel, ino, GetActiveSnapshot(), slot);
	if (found)
		SlotToInode(slot, out);
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

static void
SlotToInode(TupleTableSlot *slot, PgfsInode *out)
{
	Datum	   *d;
	bool	   *n;

	slot_getsomeattrs(slot, 16);
	d = slot->tts_values;
	n = slot->tts_isnull;
	out->ino = DatumGetInt64(d[0]);
	out->mode = DatumGetInt32(d[1]);
	out->nlink = DatumGetInt32(d[2]);
	out->uid = DatumGetInt64(d[3]);
	out->gid = DatumGetInt64(d[4]);
	out->rdev = DatumGetInt64(d[5]);
	out->size = DatumGetInt64(d[6]);
	out->blocks = DatumGetInt64(d[7]);
	out->atime_ns = DatumGetInt64(d[8]);
	out->mtime_ns = DatumGetInt64(d[9]);
	out->ctime_ns = DatumGetInt64(d[10]);
	out->btime_ns = DatumGetInt64(d[11]);
	out->generation = DatumGetInt64(d[12]);
	out->parent = n[13] ? 0 : DatumGetInt64(d[13]);
	out->xattrs = n[15] ? 0 : DatumGetInt32(d[15]);	/* d[14] is target */
}

/* the scan keys of entry (parent, name) in dirent's primary key */
void
CatalogDirentKey(ScanKeyData *key, int64 parent, PgfsName name)
{
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(parent));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_BYTEAEQ, NameDatum(name));
}

/*
 * The inode number a name in directory parent refers to, or 0.  dirent's
 * key carries ino (INCLUDE), so this is an index-only probe, as the
 * executor's: the heap row is read only when the visibility map cannot
 * vouch for its page.
 */
static int64
DirectLookupIno(int64 parent, PgfsName name)
{
	Relation	heap = CatalogOpen(PGFS_REL_DIRENT);
	Snapshot	snap = GetActiveSnapshot();
	uint64		h = DirentHash(parent, name);
	uint32		check = (uint32) (h >> 32);
	LookupHint *set = LookupHintSetOf(0, h);
	LookupHint *hint;
	Relation	index;
	TupleTableSlot *slot;
	IndexScanDesc scan;
	ScanKeyData key[2];
	ItemPointer tid;
	ItemPointerData found_tid;
	bool		covering;
	int64		ino = 0;

	if (LookupHintsUsable(snap))
	{
		ino = DirentHinted(heap, set, parent, name, check, snap);
		if (ino != 0)
			return ino;
	}
	index = CatalogOpen(PGFS_REL_DIRENT_PKEY);
	slot = table_slot_create(heap, NULL);
	covering = IndexRelationGetNumberOfAttributes(index) >= 3;
	CatalogDirentKey(key, parent, name);
	scan = index_beginscan(heap, index, snap, 2, 0);
	scan->xs_want_itup = covering;
	index_rescan(scan, key, 2, NULL, 0);
	while ((tid = index_getnext_tid(scan, ForwardScanDirection)) != NULL)
	{
		bool		isnull;

		found_tid = *tid;
		if (!covering || !VM_ALL_VISIBLE(heap, ItemPointerGetBlockNumber(tid), &dirent_vmbuffer))
		{
			/* an older or newer version of an entry: try the next one */
			if (!index_fetch_heap(scan, slot))
				continue;
			if (!covering)
			{
				ino = DatumGetInt64(slot_getattr(slot, 3, &isnull));
				break;
			}
		}
		else
			PredicateLockPage(heap, ItemPointerGetBlockNumber(tid), snap);
		ino = DatumGetInt64(index_getattr(scan->xs_itup, 3, scan->xs_itupdesc, &isnull));
		break;
	}
	if (ino != 0)
	{
		Buffer		buffer = InvalidBuffer;

		if (!TTS_EMPTY(slot) && TTS_IS_BUFFERTUPLE(slot))
			buffer = ((BufferHeapTupleTableSlot *) slot)->buffer;
		else if ((hint = LookupHintFind(set, parent, check)) != NULL &&
				 ItemPointerEquals(&hint->tid, &found_tid))
		{
			/*
			 * Asked again and answered from the index alone: read the page
			 * to learn its buffer.  It exists, since the index points into
			 * it and the lock held keeps VACUUM from truncating it.
			 */
			buffer = ReadBuffer(heap, ItemPointerGetBlockNumber(&found_tid));
			ReleaseBuffer(buffer);
		}
		LookupHintSet(set, parent, check, &found_tid, buffer);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return ino;
}

/* the inode a name in directory parent refers to, through dirent's key */
static bool
DirectLookup(int64 parent, PgfsName name, PgfsInode *out)
{
	int64		ino = DirectLookupIno(parent, name);

	return ino != 0 && DirectGetInode(ino, out);
}

bool
CatalogGetInode(int64 ino, PgfsInode *out)
{
	bool		found;

	PgfsLookupBegin();
	found = DirectGetInode(ino, out);
	PgfsLookupEnd();
	return found;
}

/* for inode numbers handed in by a client: a vanished inode is ENOENT */
void
CatalogGetInodeOrError(int64 ino, PgfsInode *out)
{
	if (!CatalogGetInode(ino, out))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("inode %lld does not exist", (long long) ino)));
}

bool
CatalogLookup(int64 parent, PgfsName name, PgfsInode *out)
{
	bool		found;

	PgfsLookupBegin();
	found = DirectLookup(parent, name, out);
	PgfsLookupEnd();
	return found;
}

/*
 * The inode number name in directory parent refers to, or 0; one probe of
 * dirent's key and none of the inode's, for the components of a path walk
 * that are only passed through (path.c).
 */
int64
CatalogLookupIno(int64 parent, PgfsName name)
{
	int64		ino;

	PgfsLookupBegin();
	ino = DirectLookupIno(parent, name);
	PgfsLookupEnd();
	return ino;
}

/*
 * Lock inode rows in ascending order and return their current contents in
 * the caller's order.  A missing inode comes back with ino = 0.
 * Duplicates in inos are allowed.  One row at a time, as
 * CatalogLockInodeIfExists does it: a SELECT ... FOR UPDATE of the rows
 * would find each through the primary key's index, past every version a
 * transaction left of it (renaming thousands of files in one directory in
 * one transaction got slower with each).
 */
void
CatalogLockInodes(int64 *inos, int n, PgfsInode *out)
{
	int64		prev = 0;

	for (;;)
	{
		int64		next = 0;
		PgfsInode	node;
		bool		found;

		/* the smallest number above prev */
		for (int i = 0; i < n; i++)
			if (inos[i] > prev && (next == 0 || inos[i] < next))
				next = inos[i];
		if (next == 0)
			break;
		found = CatalogLockInodeIfExists(next, &node);
		for (int i = 0; i < n; i++)
			if (inos[i] == next)
			{
				if (found)
					out[i] = node;
				else
					out[i].ino = 0;
			}
		prev = next;
	}
	for (int i = 0; i < n; i++)
		if (inos[i] <= 0)
			out[i].ino = 0;
}

static bool LockInode(int64 ino, PgfsInode *out, LockWaitPolicy wait);

/*
 * Lock one inode row and return its latest version; false if there is
 * none.  This is SELECT ... FOR UPDATE done by hand, as ExecLockRows does
 * it: the row version the statement snapshot sees is locked, following its
 * update chain under READ COMMITTED (the key never changes, so there is no
 * qual to recheck); under REPEATABLE READ a concurrent change is a
 * serialization failure.  The table gets the ROW SHARE lock FOR UPDATE
 * takes.
 */
bool
CatalogLockInodeIfExists(int64 ino, PgfsInode *out)
{
	return LockInode(ino, out, LockWaitBlock);
}

/*
 * Lock one inode row as CatalogLockInodeIfExists does, but only if that
 * needs no wait: false, with nothing locked, if another transaction holds
 * it (or the row is gone, or changed under REPEATABLE READ since the
 * snapshot).  For what may be left undone, such as an access time.
 */
bool
CatalogTryLockInode(int64 ino, PgfsInode *out)
{
	return LockInode(ino, out, LockWaitSkip);
}

static bool
LockInode(int64 ino, PgfsInode *out, LockWaitPolicy wait)
{
	Relation	rel = CatalogOpen(PGFS_REL_INODE);
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	bool		found;

	/* what the executor says first, e.g. on a standby (25006) */
	PreventCommandIfReadOnly("SELECT FOR UPDATE");
	LockRelationOid(RelationGetRelid(rel), RowShareLock);
	PgfsLookupBegin();
	found = CatalogProbeRow(PGFS_REL_INODE, rel, ino, GetActiveSnapshot(), slot);
	if (found)
	{
		TM_FailureData tmfd;
		TM_Result	res;

		res = table_tuple_lock(rel, &slot->tts_tid, GetActiveSnapshot(), slot,
							   GetCurrentCommandId(true), LockTupleExclusive, wait,
							   IsolationUsesXactSnapshot() ? 0 : TUPLE_LOCK_FLAG_FIND_LAST_VERSION,
							   &tmfd);
		if (wait == LockWaitSkip && res != TM_Ok)
			res = TM_WouldBlock;
		switch (res)
		{
			case TM_Ok:
				SlotToInode(slot, out);
				break;
			case TM_WouldBlock:
				found = false;
				break;
			case TM_SelfModified:
				/* changed by this command: cannot happen after the increment */
				elog(ERROR, "inode %lld was changed by the statement locking it", (long long) ino);
				break;
			case TM_Updated:
			case TM_Deleted:
				if (IsolationUsesXactSnapshot())
					ereport(ERROR,
							(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
							 errmsg("could not serialize access due to concurrent update")));
				if (res == TM_Updated)
					elog(ERROR, "unexpected table_tuple_lock status: %u", res);
				found = false;	/* deleted: as FOR UPDATE, no row */
				break;
			default:
				elog(ERROR, "unexpected table_tuple_lock status: %u", res);
		}
	}
	PgfsLookupEnd();
	ExecDropSingleTupleTableSlot(slot);
	return found;
}

void
CatalogLockInode(int64 ino, PgfsInode *out)
{
	if (!CatalogLockInodeIfExists(ino, out))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("inode %lld does not exist", (long long) ino)));
}

/*
 * A number for a new inode.  nextval() WAL-logs a sequence 32 values ahead
 * when it starts a new batch, and a crash that loses that record hands the
 * batch's numbers out again.  A transaction that commits without waiting
 * for the WAL flush (durable => false: pgfs-fuse's creates) would leave a
 * client that saw its inode number unable to tell a later file with the
 * same number from it: so such a transaction flushes the sequence's record
 * at once, once per batch, and a number handed out is never handed out
 * again.
 */
int64
CatalogNewIno(void)
{
	XLogRecPtr	before = XactLastRecEnd;
	int64		ino = nextval_internal(CatalogRelOid(PGFS_REL_INO_SEQ), true);

	if (XactLastRecEnd != before && synchronous_commit == SYNCHRONOUS_COMMIT_OFF)
		XLogFlush(XactLastRecEnd);
	return ino;
}

/*
 * The invariant pgfs.inode once kept with CHECK (nlink >= 0 AND size >= 0
 * AND blocks >= 0), kept here instead: every row pgfs writes goes through
 * CatalogCreate or CatalogUpdateInode.  The executor parses and plans a
 * table's CHECK expression afresh in every statement that writes the table
 * (stringToNode, expression_planner), twice in the statement creating a
 * file: 7% of the backend's time in creating an empty file with
 * pgfs_write, 3% in writing a 4 KiB one.  Same SQLSTATE as the constraint.
 */
static void
CheckCounts(const PgfsInode *node)
{
	if (node->nlink < 0 || node->size < 0 || node->blocks < 0 || node->xattrs < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("inode %lld would have a negative link count, size, block count or extended attribute count",
						(long long) node->ino),
				 errdetail("nlink %d, size %lld, blocks %lld, xattrs %d.", node->nlink,
						   (long long) node->size, (long long) node->blocks, node->xattrs)));
}

/* A new inode's first eight columns, ino to blocks, as both ways of CatalogCreate write them. */
static void
NewInodeHead(const PgfsInode *node, Datum *v)
{
	v[0] = Int64GetDatum(node->ino);
	v[1] = Int32GetDatum(node->mode);
	v[2] = Int32GetDatum(node->nlink);
	v[3] = Int64GetDatum(node->uid);
	v[4] = Int64GetDatum(node->gid);
	v[5] = Int64GetDatum(node->rdev);
	v[6] = Int64GetDatum(node->size);
	v[7] = Int64GetDatum(node->blocks);
}

/*
 * CatalogCreate's rows written directly (rowwrite.c): the two new rows, then
 * the directory's (CatalogUpdateInode writes back the row as locked, with
 * the new nlink, times and generation, which is what create_plan's UPDATE
 * sets).  create_plan was 12 % of the backend's time in creating a 4 KiB
 * file with pgfs_write, of which the heap and index inserts were less than
 * half; the rest was its executor.
 */
static void
CreateDirect(const PgfsInode *node, bytea *target, PgfsInode *dir, PgfsName name)
{
	Datum		v[16];
	bool		n[16];

	memset(n, 0, sizeof(n));
	NewInodeHead(node, v);
	/* a new inode's four times are its creation time, as create_plan's $9 */
	v[8] = v[9] = v[10] = v[11] = Int64GetDatum(node->ctime_ns);
	v[12] = Int64GetDatum(1);
	v[13] = Int64GetDatum(node->parent);
	n[13] = node->parent == 0;
	v[14] = PointerGetDatum(target);
	n[14] = target == NULL;
	/* the ACLs it inherits, which the caller inserts next (namespace.c) */
	v[15] = Int32GetDatum(node->xattrs);
	n[15] = node->xattrs == 0;
	RowInsert(PGFS_REL_INODE, v, n);

	/* dirent: parent, name, ino and the default cookie */
	v[0] = Int64GetDatum(dir->ino);
	v[1] = NameDatum(name);
	v[2] = Int64GetDatum(node->ino);
	v[3] = Int64GetDatum(nextval_internal(CatalogRelOid(PGFS_REL_COOKIE_SEQ), true));
	memset(n, 0, sizeof(n));
	RowInsert(PGFS_REL_DIRENT, v, n);

	CatalogUpdateInode(dir);
}

/*
 * Insert inode node (every column as given; a symbolic link's size is the
 * length of its target, as lstat(2) says) under name in directory dir, which
 * the caller has locked, and write back dir's nlink, times and generation.
 */
void
CatalogCreate(const PgfsInode *node, bytea *target, PgfsInode *dir, PgfsName name, int64 now)
{
	Datum		v[16];
	char		nulls[16];

	Assert(node->ctime_ns == now);
	CheckCounts(node);
	CheckCounts(dir);
	CatalogTouch(dir, true, now);
	if (node->ino != 1 && RowPlain(PGFS_REL_INODE, CMD_INSERT) &&
		RowPlain(PGFS_REL_DIRENT, CMD_INSERT))
	{
		CreateDirect(node, target, dir, name);
		return;
	}
	memset(nulls, ' ', sizeof(nulls));
	dir->generation++;
	NewInodeHead(node, v);
	v[8] = Int64GetDatum(node->ctime_ns);
	v[9] = Int64GetDatum(node->parent);
	if (node->parent == 0)
		nulls[9] = 'n';
	v[10] = PointerGetDatum(target);
	if (target == NULL)
		nulls[10] = 'n';
	v[11] = Int64GetDatum(dir->ino);
	v[12] = NameDatum(name);
	v[13] = Int32GetDatum(dir->nlink);
	v[14] = Int64GetDatum(dir->generation);
	v[15] = Int32GetDatum(node->xattrs);
	if (node->xattrs == 0)
		nulls[15] = 'n';
	if (PgfsExec(&create_plan, v, nulls) != 1)
		elog(ERROR, "inode %lld vanished while locked", (long long) dir->ino);
}

/*
 * update_plan's parameters written directly (rowwrite.c), saving its
 * executor run: 7 of the 82 us of a 4 KiB pgfs_ll_write was that statement
 * (pg_stat_statements).
 * false if the row must be left to update_plan after all.
 */
static bool
UpdateDirect(const Datum *params, const char *nulls)
{
	/* update_plan's parameter k + 1 sets column cols[k] (0-based) */
	static const int cols[12] = {1, 2, 3, 4, 6, 7, 8, 9, 10, 12, 13, 15};
	Datum		v[16];
	bool		n[16];
	bool		set[16];

	memset(set, 0, sizeof(set));
	for (int k = 0; k < lengthof(cols); k++)
	{
		v[cols[k]] = params[k + 1];
		n[cols[k]] = nulls[k + 1] == 'n';
		set[cols[k]] = true;
	}
	return RowUpdate(PGFS_REL_INODE, DatumGetInt64(params[0]), v, n, set);
}

static void UpdateInode(PgfsInode *node);

/* write back every mutable column; bumps the generation */
void
CatalogUpdateInode(PgfsInode *node)
{
	node->generation++;
	UpdateInode(node);
}

/*
 * Write back a new access time, and nothing else that caches would care
 * about: the generation stays (file pages, directory listings and the
 * like are not made stale by a read).
 */
void
CatalogSetAtime(PgfsInode *node, int64 atime_ns)
{
	node->atime_ns = atime_ns;
	UpdateInode(node);
}

static void
UpdateInode(PgfsInode *node)
{
	Datum		v[13];
	char		nulls[13] = "             ";

	CheckCounts(node);
	v[0] = Int64GetDatum(node->ino);
	v[1] = Int32GetDatum(node->mode);
	v[2] = Int32GetDatum(node->nlink);
	v[3] = Int64GetDatum(node->uid);
	v[4] = Int64GetDatum(node->gid);
	v[5] = Int64GetDatum(node->size);
	v[6] = Int64GetDatum(node->blocks);
	v[7] = Int64GetDatum(node->atime_ns);
	v[8] = Int64GetDatum(node->mtime_ns);
	v[9] = Int64GetDatum(node->ctime_ns);
	v[10] = Int64GetDatum(node->generation);
	v[11] = Int64GetDatum(node->parent);
	if (node->parent == 0)
		nulls[11] = 'n';
	v[12] = Int32GetDatum(node->xattrs);
	if (node->xattrs == 0)
		nulls[12] = 'n';		/* none: NULL, no byte in the row */
	if (RowPlain(PGFS_REL_INODE, CMD_UPDATE) && UpdateDirect(v, nulls))
		return;
	if (PgfsExec(&update_plan, v, nulls) != 1)
		elog(ERROR, "inode %lld vanished while locked", (long long) node->ino);
}

void
CatalogInsertDirent(int64 parent, PgfsName name, int64 ino)
{
	Datum		v[3] = {Int64GetDatum(parent), NameDatum(name), Int64GetDatum(ino)};

	PgfsExec(&insert_dirent_plan, v, NULL);
}

void
CatalogDeleteDirent(int64 parent, PgfsName name)
{
	Datum		v[2];

	if (RowPlain(PGFS_REL_DIRENT, CMD_DELETE) && RowDeleteDirent(parent, name))
		return;
	v[0] = Int64GetDatum(parent);
	v[1] = NameDatum(name);
	if (PgfsExec(&delete_dirent_plan, v, NULL) != 1)
		elog(ERROR, "directory entry vanished while its directory was locked");
}

/* point an existing name at another inode; the entry keeps its readdir cookie */
void
CatalogRetargetDirent(int64 parent, PgfsName name, int64 ino)
{
	Datum		v[3];

	if (RowPlain(PGFS_REL_DIRENT, CMD_UPDATE) && RowRetargetDirent(parent, name, ino))
		return;
	v[0] = Int64GetDatum(parent);
	v[1] = NameDatum(name);
	v[2] = Int64GetDatum(ino);
	if (PgfsExec(&retarget_dirent_plan, v, NULL) != 1)
		elog(ERROR, "directory entry vanished while its directory was locked");
}

bool
CatalogDirIsEmpty(int64 dir)
{
	Datum		v[1] = {Int64GetDatum(dir)};

	return PgfsExec(&empty_plan, v, NULL) == 0;
}

bool
CatalogHasHandles(int64 ino)
{
	Datum		v[1] = {Int64GetDatum(ino)};

	return PgfsExec(&handles_plan, v, NULL) > 0;
}

bytea *
CatalogGetTarget(int64 ino)
{
	Datum		v[1] = {Int64GetDatum(ino)};
	bool		isnull;
	Datum		d;

	if (PgfsExec(&target_plan, v, NULL) == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("inode %lld does not exist", (long long) ino)));
	d = PgfsGetDatum(0, 1, &isnull);
	if (isnull)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("inode %lld is not a symbolic link", (long long) ino)));
	return DatumGetByteaPP(d);
}

/* drop an inode with its data and attributes; the caller removed its names */
void
CatalogFreeInode(int64 ino)
{
	Datum		v[1] = {Int64GetDatum(ino)};
	PgfsInode	node;

	memset(&node, 0, sizeof(node));
	node.ino = ino;
	node.mode = S_IFREG;
	node.size = PG_INT64_MAX;
	ChunkTruncate(&node, 0);
	PgfsExec(&free_plan, v, NULL);
}

/* free an inode that lost its last name, unless a client still has it open */
void
CatalogMaybeFree(PgfsInode *node)
{
	if (node->nlink == 0 && !CatalogHasHandles(node->ino))
		CatalogFreeInode(node->ino);
}

/* a change to the inode's data (mtime) or to its metadata only (ctime) */
void
CatalogTouch(PgfsInode *node, bool mtime, int64 now)
{
	if (mtime)
		node->mtime_ns = now;
	node->ctime_ns = now;
}
