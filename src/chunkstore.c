/*-------------------------------------------------------------------------
 *
 * chunkstore.c
 *	  File data: chunked, lz4-compressed, shareable between files.
 *
 * Design
 * ------
 * A regular file's bytes are cut into PGFS_CHUNK_SIZE pieces (64 KiB; why
 * that size is explained in pgfs.h).  Two tables hold them:
 *
 *	  pgfs.filemap (ino, chunkno) -> chunk_id	which chunk holds piece chunkno
 *	  pgfs.chunk   (chunk_id, refs, rawlen, comp, data)
 *
 * A missing filemap row is a hole and reads as zeros; so do the bytes of a
 * chunk past its rawlen (a chunk never stores trailing zeros, and a piece of
 * only zeros is not stored at all).  Reading a range touches the filemap
 * rows of that range and only those chunks; writing rewrites only the
 * chunks the range overlaps.  Each chunk is compressed with lz4 when that
 * pays (compress.c) and stored with STORAGE EXTERNAL, so TOAST neither
 * compresses it again nor has to decompress the whole of an uncompressed
 * chunk to return a slice of it: a 4 KiB read of raw data fetches 2 or 3
 * TOAST rows.  A compressed chunk is a row of 16 KiB lz4 frames behind a
 * table of their ends (pgfs.h), so a 4 KiB read of text fetches the table
 * (the first TOAST row) and the rows of the frames it overlaps, and
 * decodes those up to its end only (ReadFrames): 55-58k such reads/s
 * against 34-37k when it fetched and decoded the whole chunk (compress.c
 * has the measurement).
 *
 * Why two tables and not (ino, chunkno, data): chunk rows can be shared.
 * refs counts the filemap rows pointing at a chunk.  A chunk with refs = 1
 * is updated in place; a shared chunk (refs > 1) is never changed: a write
 * makes a new chunk for the writing file and drops one reference from the
 * old one (copy-on-write).  pgfs_copy() already uses this: copying a file
 * copies its filemap rows and bumps refs, not the data; so does
 * copy_file_range (ChunkCopyRange) for the chunks a range covers whole.  A
 * file may map one chunk at several places, so counts move by the number
 * of map entries per chunk.
 *
 * How the roadmap fits, without changing these tables' meaning:
 *	- snapshots and clones: a snapshot of a tree copies the inode, dirent and
 *	  filemap rows of that tree under new inode numbers (or into a snapshot
 *	  id column added to those three tables) and bumps refs; data is shared
 *	  until either side writes.
 *	- per-file history ("as of yesterday"): keep old filemap versions as rows
 *	  (ino, chunkno, valid_from_lsn/xid, chunk_id) instead of overwriting;
 *	  the reference they hold keeps the old chunk alive until expiry.
 *	- dedup: a content hash column on pgfs.chunk with a unique index lets a
 *	  write find an identical chunk and add a reference instead of a row.
 *	- sharding: every row of filemap and chunk can carry the file's ino as
 *	  the distribution key (chunk rows are then per file, shared only within
 *	  a shard).
 *
 * Reads go through index scans of the two primary keys, as inv_api.c does
 * for large objects (a 4 KiB read is too small to carry an executor start);
 * changes go through SPI with plans saved per backend, whose executor
 * overhead is small next to moving 64 KiB through TOAST and lz4, and which
 * keep constraints, triggers and index maintenance the server's business.
 *
 * Locking: callers hold the file's inode row lock (catalog.c), so a file's
 * chunks have one writer at a time.  A shared chunk's count is not covered
 * by that lock: it is changed directly from the version the snapshot sees
 * (rowwrite.c), and where a concurrent transaction has changed the row
 * since, by UPDATE ... SET refs = refs +/- n, which re-reads the latest
 * version under READ COMMITTED, so concurrent writers of two files sharing
 * a chunk count correctly.  Counts are changed in ascending chunk_id order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/detoast.h"
#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "pgfs.h"

/*
 * The chunks of a range: an index scan over the filemap's primary key in
 * chunk order, and for each entry a probe of the chunk's primary key, under
 * the snapshot PgfsLookupBegin chose.  (An SPI statement did this before;
 * its executor start-up was a third of a 4 KiB read.)  A row's data points
 * into the chunk's heap tuple, valid until the next RangeNext or RangeEnd.
 */
typedef struct RangeScan
{
	Relation	maprel;
	Relation	mapidx;
	Relation	chunkrel;
	Relation	chunkidx;
	IndexScanDesc mapscan;
	IndexScanDesc chunkscan;
	TupleTableSlot *mapslot;
	TupleTableSlot *chunkslot;
	Relation	toastrel;		/* pgfs.chunk's TOAST table, once needed */
	/* the current row */
	int64		chunkno;
	int64		chunk_id;
	int			refs;
	int			rawlen;
	int			comp;
	Datum		data;
} RangeScan;

static void
RangeBegin(RangeScan *rs, int64 ino, int64 first, int64 last)
{
	ScanKeyData key[3];
	Snapshot	snap;

	PgfsLookupBegin();
	snap = GetActiveSnapshot();
	rs->maprel = CatalogOpen(PGFS_REL_FILEMAP);
	rs->mapidx = CatalogOpen(PGFS_REL_FILEMAP_PKEY);
	rs->chunkrel = CatalogOpen(PGFS_REL_CHUNK);
	rs->chunkidx = CatalogOpen(PGFS_REL_CHUNK_PKEY);
	rs->mapslot = table_slot_create(rs->maprel, NULL);
	rs->chunkslot = table_slot_create(rs->chunkrel, NULL);
	rs->toastrel = NULL;
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(ino));
	ScanKeyInit(&key[1], 2, BTGreaterEqualStrategyNumber, F_INT8GE, Int64GetDatum(first));
	ScanKeyInit(&key[2], 2, BTLessEqualStrategyNumber, F_INT8LE, Int64GetDatum(last));
	rs->mapscan = index_beginscan(rs->maprel, rs->mapidx, snap, 3, 0);
	index_rescan(rs->mapscan, key, 3, NULL, 0);
	rs->chunkscan = index_beginscan(rs->chunkrel, rs->chunkidx, snap, 1, 0);
}

/* the next mapped chunk of the range; false at its end */
static bool
RangeNext(RangeScan *rs)
{
	ScanKeyData key;
	bool		isnull;

	while (index_getnext_slot(rs->mapscan, ForwardScanDirection, rs->mapslot))
	{
		rs->chunkno = DatumGetInt64(slot_getattr(rs->mapslot, 2, &isnull));
		rs->chunk_id = DatumGetInt64(slot_getattr(rs->mapslot, 3, &isnull));
		/* a chunk this transaction rewrote: where it left it (catalog.c) */
		if (!CatalogFetchHinted(PGFS_REL_CHUNK, rs->chunkrel, rs->chunk_id,
								rs->mapscan->xs_snapshot, rs->chunkslot))
		{
			ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(rs->chunk_id));
			index_rescan(rs->chunkscan, &key, 1, NULL, 0);
			/* a map entry without its chunk: skipped, as the join it replaces did */
			if (!index_getnext_slot(rs->chunkscan, ForwardScanDirection, rs->chunkslot))
				continue;
		}
		rs->refs = DatumGetInt32(slot_getattr(rs->chunkslot, 2, &isnull));
		rs->rawlen = DatumGetInt32(slot_getattr(rs->chunkslot, 3, &isnull));
		rs->comp = DatumGetInt16(slot_getattr(rs->chunkslot, 4, &isnull));
		rs->data = slot_getattr(rs->chunkslot, 5, &isnull);
		return true;
	}
	return false;
}

/*
 * Copy bytes [off, off + len) of a chunk's value, rawlen bytes stored out of
 * line, straight from its TOAST rows into dst, which saves detoasting them
 * into a buffer of their own first (a third of a large read went into that
 * second copy).  The table AM's slice fetch writes only the data part of the
 * varlena it is given, so a pointer VARHDRSZ before dst serves as one.
 * false when the value is not stored that way (inline, or compressed by
 * TOAST after all): the caller detoasts it as usual.
 *
 * This copy into a large result is most of a large read of raw data (43 %
 * of a 16 MiB pgfs_read, against 46 % for two copies of each row of a
 * bytea table, whose 64 KiB buffers stay in cache).  Two ways around it
 * did not pay, measured as backend CPU ticks for 2.5 GB of reads in
 * alternating runs: fetching into a 64 KiB buffer and copying that on
 * with non-temporal stores, 101-107 against 103-107 for the direct copy;
 * a fetch of our own writing the rows with non-temporal stores, 111-114
 * against 113-125, within the noise, as the profile said why: the buffer
 * lock released after each TOAST row waits for those stores to drain, and
 * took the time the copy gave back.  The cost is the result's size, not
 * the work per chunk: read in 1 MiB ranges instead of 16 MiB, the same
 * file comes back faster than the bytea table's rows (2574-2780 against
 * 2399-2559 MiB/s; 92-99 against 100-106 CPU ticks per 2.5 GB).
 */
static bool
FetchSliceInto(RangeScan *rs, Datum data, int rawlen, int off, int len, char *dst)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(data);
	struct varatt_external ext;

	if (!VARATT_IS_EXTERNAL_ONDISK(v))
		return false;
	VARATT_EXTERNAL_GET_POINTER(ext, v);
	if (VARATT_EXTERNAL_IS_COMPRESSED(ext) || VARATT_EXTERNAL_GET_EXTSIZE(ext) != rawlen)
		return false;
	if (rs->toastrel == NULL || RelationGetRelid(rs->toastrel) != ext.va_toastrelid)
	{
		if (rs->toastrel != NULL)
			table_close(rs->toastrel, NoLock);
		rs->toastrel = table_open(ext.va_toastrelid, AccessShareLock);
	}
	table_relation_fetch_toast_slice(rs->toastrel, ext.va_valueid, rawlen, off, len,
									 (struct varlena *) (dst - VARHDRSZ));
	return true;
}

/* bytes [off, off + len) of a value of size bytes into dst; false if it holds fewer */
static bool
FetchSlice(RangeScan *rs, Datum data, int size, int off, int len, char *dst)
{
	struct varlena *v = (struct varlena *) DatumGetPointer(data);
	struct varlena *s;
	bool		ok;

	if (off < 0 || len < 0 || off + len > size)
		return false;
	if (FetchSliceInto(rs, data, size, off, len, dst))
		return true;
	s = pg_detoast_datum_slice(v, off, len);
	ok = VARSIZE_ANY_EXHDR(s) == len;
	if (ok)
		memcpy(dst, VARDATA_ANY(s), len);
	if (s != v)
		pfree(s);
	return ok;
}

static void
RangeEnd(RangeScan *rs)
{
	if (rs->toastrel != NULL)
		table_close(rs->toastrel, NoLock);
	index_endscan(rs->chunkscan);
	index_endscan(rs->mapscan);
	ExecDropSingleTupleTableSlot(rs->chunkslot);
	ExecDropSingleTupleTableSlot(rs->mapslot);
	PgfsLookupEnd();
}
/*
 * A new chunk and its map entry.  Where no entry exists (a new piece or a
 * hole) a plain INSERT, which costs less than ON CONFLICT's speculative
 * insertion (an index probe and a WAL record more per chunk); the primary
 * key still refuses an entry that exists after all.  Copy-on-write of a
 * shared chunk repoints the entry there is.
 */
static PgfsPlan insert_plan = {
	"WITH c AS (INSERT INTO pgfs.chunk (chunk_id, refs, rawlen, comp, data)"
	"  VALUES (nextval('pgfs.chunk_seq'), 1, $3, $4, $5) RETURNING chunk_id)"
	" INSERT INTO pgfs.filemap (ino, chunkno, chunk_id) SELECT $1, $2, chunk_id FROM c",
	5, {INT8OID, INT8OID, INT4OID, INT2OID, BYTEAOID}
};
static PgfsPlan cow_plan = {
	"WITH c AS (INSERT INTO pgfs.chunk (chunk_id, refs, rawlen, comp, data)"
	"  VALUES (nextval('pgfs.chunk_seq'), 1, $3, $4, $5) RETURNING chunk_id)"
	" UPDATE pgfs.filemap m SET chunk_id = c.chunk_id FROM c WHERE m.ino = $1 AND m.chunkno = $2",
	5, {INT8OID, INT8OID, INT4OID, INT2OID, BYTEAOID}
};
static PgfsPlan update_plan = {
	"UPDATE pgfs.chunk SET rawlen = $2, comp = $3, data = $4 WHERE chunk_id = $1",
	4, {INT8OID, INT4OID, INT2OID, BYTEAOID}
};
static PgfsPlan unmap_plan = {
	"DELETE FROM pgfs.filemap WHERE ino = $1 AND chunkno = $2", 2, {INT8OID, INT8OID}
};
/*
 * A file may map one chunk at several places (copy_file_range of the same
 * source chunk twice), so reference counts move by the number of entries
 * per chunk.  DropRefs does it directly (rowwrite.c), these where it
 * cannot.
 */
static PgfsPlan unref_plan = {
	"UPDATE pgfs.chunk SET refs = refs - $2 WHERE chunk_id = $1 RETURNING refs, rawlen",
	2, {INT8OID, INT4OID}
};
static PgfsPlan unmap_range_plan = {
	"DELETE FROM pgfs.filemap WHERE ino = $1 AND chunkno >= $2 AND chunkno < $3"
	" RETURNING chunk_id",
	3, {INT8OID, INT8OID, INT8OID}
};
static PgfsPlan map_plan = {
	"INSERT INTO pgfs.filemap (ino, chunkno, chunk_id) VALUES ($1, $2, $3)",
	3, {INT8OID, INT8OID, INT8OID}
};
static PgfsPlan remap_plan = {
	"UPDATE pgfs.filemap SET chunk_id = $3 WHERE ino = $1 AND chunkno = $2",
	3, {INT8OID, INT8OID, INT8OID}
};
static PgfsPlan ref_plan = {
	"UPDATE pgfs.chunk SET refs = refs + 1 WHERE chunk_id = $1", 1, {INT8OID}
};
static PgfsPlan delete_plan = {
	"DELETE FROM pgfs.chunk WHERE chunk_id = ANY ($1) AND refs = 0", 1, {INT8ARRAYOID}
};
static PgfsPlan share_plan = {
	"WITH m AS (INSERT INTO pgfs.filemap (ino, chunkno, chunk_id)"
	"  SELECT $2, chunkno, chunk_id FROM pgfs.filemap WHERE ino = $1 RETURNING chunk_id),"
	" n AS (SELECT chunk_id, count(*)::int AS n FROM m GROUP BY chunk_id)"
	" UPDATE pgfs.chunk c SET refs = c.refs + n.n FROM n WHERE c.chunk_id = n.chunk_id",
	2, {INT8OID, INT8OID}
};

/*
 * insert_plan's rows (v: its parameters) written directly (rowwrite.c):
 * the chunk with its data, TOASTed as the INSERT would, then its map
 * entry.  StoreChunk was 16 % of the backend's time in creating a 4 KiB
 * file; what was not the heap, TOAST and index inserts was the statement's
 * executor.
 */
static void
InsertChunk(const Datum *v)
{
	Datum		row[5];
	bool		nulls[5] = {false, false, false, false, false};
	Datum		chunk_id;

	if (!RowPlain(PGFS_REL_CHUNK, CMD_INSERT) || !RowPlain(PGFS_REL_FILEMAP, CMD_INSERT))
	{
		PgfsExec(&insert_plan, (Datum *) v, NULL);
		return;
	}
	chunk_id = Int64GetDatum(nextval_internal(CatalogRelOid(PGFS_REL_CHUNK_SEQ), true));
	row[0] = chunk_id;
	row[1] = Int32GetDatum(1);
	row[2] = v[2];				/* rawlen */
	row[3] = v[3];				/* comp */
	row[4] = v[4];				/* data */
	RowInsert(PGFS_REL_CHUNK, row, nulls);
	row[0] = v[0];				/* ino */
	row[1] = v[1];				/* chunkno */
	row[2] = chunk_id;
	RowInsert(PGFS_REL_FILEMAP, row, nulls);
}

/*
 * update_plan's change (v: its parameters) written directly, as the inode
 * row's is (catalog.c, UpdateDirect): a file written piece by piece in one
 * transaction rewrites its last chunk each time, and the statement's index
 * scan walked every version of the row left so far.  false if it must be
 * left to update_plan after all.
 */
static bool
UpdateChunk(const Datum *v)
{
	Datum		row[5];
	bool		nulls[5] = {false, false, false, false, false};
	bool		set[5] = {false, false, true, true, true};

	if (!RowPlain(PGFS_REL_CHUNK, CMD_UPDATE))
		return false;
	row[0] = v[0];				/* chunk_id, the key */
	row[1] = (Datum) 0;			/* refs: kept */
	row[2] = v[1];				/* rawlen */
	row[3] = v[2];				/* comp */
	row[4] = v[3];				/* data */
	return RowUpdate(PGFS_REL_CHUNK, DatumGetInt64(v[0]), row, nulls, set);
}

/* 512-byte blocks a chunk of rawlen bytes accounts for in st_blocks */
#define CHUNK_BLOCKS(rawlen)	(((int64) (rawlen) + 511) / 512)

static void
ReportCorrupt(const PgfsInode *inode, int64 chunkno, const char *why)
{
	if (PgfsCurrentPath)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("chunk %lld of file \"%s\" (inode %lld) is corrupt",
						(long long) chunkno, PgfsCurrentPath, (long long) inode->ino),
				 errdetail("%s", why),
				 errhint("Run pgfs_fsck() to list every damaged chunk.")));
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("chunk %lld of inode %lld is corrupt",
					(long long) chunkno, (long long) inode->ino),
			 errdetail("%s", why),
			 errhint("Run pgfs_fsck() to list every damaged chunk.")));
}

/*
 * Decode the first want bytes of a chunk into dst (PGFS_CHUNK_SIZE bytes);
 * bytes from want on are not touched.  Returns NULL on success, else why the
 * chunk is corrupt.  Never reads or writes out of bounds on bad input.
 */
const char *
ChunkDecode(Datum data, int rawlen, int comp, char *dst, int want)
{
	struct varlena *v;
	const char *why = NULL;

	if (rawlen <= 0 || rawlen > PGFS_CHUNK_SIZE || want > rawlen)
		return psprintf("It claims to hold %d bytes.", rawlen);
	if (comp == PGFS_COMP_NONE)
	{
		v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(data));
		if (VARSIZE_ANY_EXHDR(v) != rawlen)
			why = psprintf("It stores %d bytes but claims %d.", (int) VARSIZE_ANY_EXHDR(v), rawlen);
		else
			memcpy(dst, VARDATA_ANY(v), want);
	}
	else if (comp == PGFS_COMP_LZ4)
	{
		v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(data));
		if (!PgfsDecompress(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), dst, rawlen, want))
			why = "Its lz4 data does not decompress to its recorded length.";
	}
	else if (comp == PGFS_COMP_LZ4_FRAMES)
	{
		v = pg_detoast_datum_packed((struct varlena *) DatumGetPointer(data));
		if (!PgfsDecompressFrames(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v), dst, rawlen, want))
			why = "Its lz4 frames do not decompress to its recorded length.";
	}
	else
		return psprintf("Unknown compression method %d.", comp);
	if ((Pointer) v != DatumGetPointer(data))
		pfree(v);
	return why;
}

static void
LoadChunk(const PgfsInode *inode, int64 chunkno, Datum data, int rawlen, int comp,
		  char *dst, int want)
{
	const char *why = ChunkDecode(data, rawlen, comp, dst, want);

	if (why)
		ReportCorrupt(inode, chunkno, why);
}

/*
 * Bytes [rs, re) of the framed chunk the scan is on into dst: its frame
 * table, then the stored bytes of the frames the range overlaps, and only
 * those (two TOAST slice fetches); each frame is decoded up to the range's
 * end only.  A frame the range starts at the beginning of is decoded
 * straight into dst.  zbuf (PGFS_CHUNK_SIZE) and fbuf (PGFS_FRAME_SIZE) are
 * scratch space.
 */
static void
ReadFrames(RangeScan *scan, const PgfsInode *inode, int rs, int re, char *dst,
		   char *zbuf, char *fbuf)
{
	Datum		data = scan->data;
	int			rawlen = scan->rawlen;
	int			size = toast_raw_datum_size(data) - VARHDRSZ;
	int			fa = rs >> PGFS_FRAME_SHIFT;
	int			fb = (re - 1) >> PGFS_FRAME_SHIFT;
	char		hdr[PGFS_FRAME_HEADER(PGFS_CHUNK_SIZE / PGFS_FRAME_SIZE)];
	int			fs[PGFS_CHUNK_SIZE / PGFS_FRAME_SIZE];
	int			fe[PGFS_CHUNK_SIZE / PGFS_FRAME_SIZE];

	if (!FetchSlice(scan, data, size, 0, PGFS_FRAME_HEADER(fb + 1), hdr))
		ReportCorrupt(inode, scan->chunkno, "It stores fewer bytes than its frame table.");
	for (int k = fa; k <= fb; k++)
		if (!PgfsFrameBounds(hdr, rawlen, size, k, &fs[k], &fe[k]))
			ReportCorrupt(inode, scan->chunkno, "Its frame table is damaged.");
	if (!FetchSlice(scan, data, size, fs[fa], fe[fb] - fs[fa], zbuf))
		ReportCorrupt(inode, scan->chunkno, "It stores fewer bytes than it claims.");

	for (int k = fa; k <= fb; k++)
	{
		int			fstart = k << PGFS_FRAME_SHIFT;
		int			flen = PGFS_FRAME_LEN(rawlen, k);
		int			a = Max(rs, fstart) - fstart;
		int			b = Min(re, fstart + flen) - fstart;
		const char *src = zbuf + (fs[k] - fs[fa]);
		int			srclen = fe[k] - fs[k];
		char	   *to = dst + (fstart + a - rs);
		bool		ok = true;

		if (srclen == flen)
			memcpy(to, src + a, b - a);		/* a raw frame */
		else if (a == 0)
			ok = PgfsDecodeFrame(src, srclen, to, flen, b);
		else if ((ok = PgfsDecodeFrame(src, srclen, fbuf, flen, b)))
			memcpy(to, fbuf + a, b - a);
		if (!ok)
			ReportCorrupt(inode, scan->chunkno,
						  "Its lz4 frames do not decompress to its recorded length.");
	}
}

/* Read length bytes at offset (the caller clamps to the file size). */
bytea *
ChunkRead(const PgfsInode *inode, int64 offset, int64 length)
{
	bytea	   *result;
	char	   *out;
	int64		end = offset + length;
	RangeScan	scan;
	char	   *page = NULL;
	char	   *zbuf = NULL;
	int64		filled = 0;		/* out[0..filled) is written */

	if (length > MaxAllocSize - VARHDRSZ)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EOVERFLOW),
				 errmsg("cannot read %lld bytes of inode %lld into one bytea value",
						(long long) length, (long long) inode->ino),
				 errhint("Read the file in ranges.")));
	/* not zeroed: only holes and tails are, below, as they are met */
	result = MemoryContextAlloc(PgfsCallerContext(), VARHDRSZ + length);
	SET_VARSIZE(result, VARHDRSZ + length);
	if (length == 0)
		return result;
	out = VARDATA(result);

	RangeBegin(&scan, inode->ino, offset >> PGFS_CHUNK_SHIFT, (end - 1) >> PGFS_CHUNK_SHIFT);
	while (RangeNext(&scan))
	{
		int64		chunkno = scan.chunkno;
		int			rawlen = scan.rawlen;
		int			comp = scan.comp;
		int64		cstart = chunkno << PGFS_CHUNK_SHIFT;
		int			rs = Max(offset, cstart) - cstart;
		int			re = Min(end, cstart + PGFS_CHUNK_SIZE) - cstart;
		Datum		data = scan.data;
		int64		pos = cstart + rs - offset;

		CHECK_FOR_INTERRUPTS();
		/* a damaged length must not turn into a silent hole */
		if (rawlen <= 0 || rawlen > PGFS_CHUNK_SIZE)
			ReportCorrupt(inode, chunkno, psprintf("It claims to hold %d bytes.", rawlen));
		re = Min(re, rawlen);
		if (rs >= re)
			continue;
		/* a hole (or the zero tail of the previous chunk) before this piece */
		if (pos > filled)
			memset(out + filled, 0, pos - filled);
		if (comp == PGFS_COMP_NONE)
		{
			struct varlena *s;

			if (FetchSliceInto(&scan, data, rawlen, rs, re - rs, out + pos))
			{
				filled = pos + (re - rs);
				continue;
			}
			/* fetches only the TOAST slices covering [rs, re) */
			s = pg_detoast_datum_slice((struct varlena *) DatumGetPointer(data), rs, re - rs);
			if (VARSIZE_ANY_EXHDR(s) != re - rs)
				ReportCorrupt(inode, chunkno, "It stores fewer bytes than it claims.");
			memcpy(out + pos, VARDATA_ANY(s), re - rs);
			if ((Pointer) s != DatumGetPointer(data))
				pfree(s);
		}
		else if (comp == PGFS_COMP_LZ4_FRAMES)
		{
			if (zbuf == NULL)
				zbuf = palloc(PGFS_CHUNK_SIZE + PGFS_FRAME_SIZE);
			ReadFrames(&scan, inode, rs, re, out + pos, zbuf, zbuf + PGFS_CHUNK_SIZE);
		}
		else
		{
			if (page == NULL)
				page = palloc(PGFS_CHUNK_SIZE);
			LoadChunk(inode, chunkno, data, rawlen, comp, page, re);
			memcpy(out + pos, page + rs, re - rs);
		}
		filled = pos + (re - rs);
	}
	RangeEnd(&scan);
	if (filled < length)
		memset(out + filled, 0, length - filled);
	if (page)
		pfree(page);
	if (zbuf)
		pfree(zbuf);
	return result;
}

/*
 * Buffers StoreChunk stores from: room for a varlena header before the
 * bytes, so that the stored value is made in place, not copied once more.
 */
static char *
AllocChunkBuf(int size)
{
	return (char *) palloc(VARHDRSZ + size) + VARHDRSZ;
}

static void
FreeChunkBuf(char *buf)
{
	pfree(buf - VARHDRSZ);
}

static Datum
InPlaceBytea(char *buf, int len)
{
	bytea	   *b = (bytea *) (buf - VARHDRSZ);

	SET_VARSIZE(b, VARHDRSZ + len);
	return PointerGetDatum(b);
}

static int
IdCmp(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : x > y;
}

/*
 * Drop references to chunks, one per entry of ids[n] (sorted here: a chunk
 * mapped at several places comes several times), and free the chunks
 * nobody references any more.  Returns the blocks those references
 * accounted for (CHUNK_BLOCKS of the chunk's length, per reference).
 * Counts are changed in ascending chunk_id order, directly where nothing
 * stands in the way (RowDropChunkRefs), else by unref_plan (and the freed
 * chunks deleted by delete_plan).
 */
static int64
DropRefs(int64 *ids, int n)
{
	int64	   *uid;
	int32	   *cnt;
	int32	   *rawlen;
	Datum	   *dead;
	bool		plain;
	int			nu = 0;
	int			ndead = 0;
	int64		blocks = 0;

	if (n == 0)
		return 0;
	qsort(ids, n, sizeof(int64), IdCmp);
	uid = palloc(sizeof(int64) * n);
	cnt = palloc(sizeof(int32) * n);
	for (int i = 0; i < n; i++)
	{
		if (nu > 0 && uid[nu - 1] == ids[i])
			cnt[nu - 1]++;
		else
		{
			uid[nu] = ids[i];
			cnt[nu++] = 1;
		}
	}
	rawlen = palloc(sizeof(int32) * nu);
	dead = palloc(sizeof(Datum) * nu);
	plain = RowPlain(PGFS_REL_CHUNK, CMD_UPDATE) && RowPlain(PGFS_REL_CHUNK, CMD_DELETE);
	for (int i = 0; i < nu;)
	{
		int			k = plain ? RowDropChunkRefs(nu - i, uid + i, cnt + i, rawlen + i) : 0;
		Datum		v[2];

		for (int j = i; j < i + k; j++)
			blocks += CHUNK_BLOCKS(rawlen[j]) * cnt[j];
		i += k;
		if (i == nu)
			break;
		/* the one it stopped at, then on from the next in order */
		v[0] = Int64GetDatum(uid[i]);
		v[1] = Int32GetDatum(cnt[i]);
		if (PgfsExec(&unref_plan, v, NULL) == 1)
		{
			if (PgfsGetInt32(0, 1) == 0)
				dead[ndead++] = Int64GetDatum(uid[i]);
			blocks += CHUNK_BLOCKS(PgfsGetInt32(0, 2)) * cnt[i];
		}
		SPI_freetuptable(SPI_tuptable);
		i++;
	}
	if (ndead > 0)
	{
		Datum		v[1];

		v[0] = PointerGetDatum(construct_array(dead, ndead, INT8OID, 8, FLOAT8PASSBYVAL,
											   TYPALIGN_DOUBLE));
		PgfsExec(&delete_plan, v, NULL);
	}
	pfree(uid);
	pfree(cnt);
	pfree(rawlen);
	pfree(dead);
	return blocks;
}

/* drop one reference to chunk id; free it if nobody references it any more */
static void
Unref(int64 id)
{
	DropRefs(&id, 1);
}

/*
 * Store piece chunkno of a file with content page[0..len).  old_id/old_refs
 * describe the chunk currently mapped there (old_id 0: none).  page and cbuf
 * (PgfsCompressBound(PGFS_CHUNK_SIZE) bytes) come from AllocChunkBuf.
 */
static void
StoreChunk(PgfsInode *inode, int64 chunkno, char *page, int len,
		   int64 old_id, int old_refs, char *cbuf)
{
	Datum		v[5];
	Datum		payload;
	int			clen;
	int			comp;

	/* trailing zeros read back as zeros anyway */
	while (len > 0 && page[len - 1] == 0)
		len--;

	if (len == 0)
	{
		if (old_id != 0)
		{
			v[0] = Int64GetDatum(inode->ino);
			v[1] = Int64GetDatum(chunkno);
			PgfsExec(&unmap_plan, v, NULL);
			Unref(old_id);
		}
		return;
	}

	clen = PgfsCompressChunk(page, len, cbuf, &comp);
	if (clen > 0)
		payload = InPlaceBytea(cbuf, clen);
	else
	{
		comp = PGFS_COMP_NONE;
		payload = InPlaceBytea(page, len);
	}
	inode->blocks += CHUNK_BLOCKS(len);
	if (old_id != 0 && old_refs == 1)
	{
		/* nobody else sees this chunk: overwrite it */
		v[0] = Int64GetDatum(old_id);
		v[1] = Int32GetDatum(len);
		v[2] = Int16GetDatum(comp);
		v[3] = payload;
		if (!UpdateChunk(v))
			PgfsExec(&update_plan, v, NULL);
	}
	else
	{
		/* new piece, or copy-on-write of a shared chunk */
		v[0] = Int64GetDatum(inode->ino);
		v[1] = Int64GetDatum(chunkno);
		v[2] = Int32GetDatum(len);
		v[3] = Int16GetDatum(comp);
		v[4] = payload;
		if (old_id == 0)
			InsertChunk(v);
		else if (PgfsExec(&cow_plan, v, NULL) != 1)
			elog(ERROR, "map entry of chunk %lld of inode %lld vanished",
				 (long long) chunkno, (long long) inode->ino);
		if (old_id != 0)
			Unref(old_id);
	}
}

/*
 * Write len bytes at offset.  The caller holds the inode's row lock, has
 * checked the range, and writes the inode row afterwards (size, blocks).
 */
void
ChunkWrite(PgfsInode *inode, int64 offset, const char *data, int64 len)
{
	PgfsExtent	e = {offset, len, data};

	ChunkWriteV(inode, &e, 1);
}

/* a chunk an extent overlaps; sorted by chunk, then by extent */
typedef struct ChunkTouch
{
	int64		chunkno;
	int			ext;
} ChunkTouch;

static int
ChunkTouchCmp(const void *a, const void *b)
{
	const ChunkTouch *x = a;
	const ChunkTouch *y = b;

	if (x->chunkno != y->chunkno)
		return x->chunkno < y->chunkno ? -1 : 1;
	return x->ext < y->ext ? -1 : x->ext > y->ext;
}

/*
 * Write n extents, in their order (where two overlap, the later one's bytes
 * stay), with the same contract as ChunkWrite.  Each chunk the extents touch
 * is read, patched by every extent over it, and stored once: a vector of
 * scattered 4 KiB writes (pgfs_ll_writev) costs one rewrite per chunk, not
 * one per write.
 */
void
ChunkWriteV(PgfsInode *inode, const PgfsExtent *ext, int n)
{
	ChunkTouch *touch;
	int64		ntouch = 0;
	int64		end = 0;
	char	   *page;
	char	   *cbuf;
	MemoryContext tmp;

	for (int i = 0; i < n; i++)
		if (ext[i].len > 0)
			ntouch += ((ext[i].offset + ext[i].len - 1) >> PGFS_CHUNK_SHIFT) -
				(ext[i].offset >> PGFS_CHUNK_SHIFT) + 1;
	if (ntouch == 0)
		return;
	touch = palloc_extended(ntouch * sizeof(ChunkTouch), MCXT_ALLOC_HUGE);
	ntouch = 0;
	for (int i = 0; i < n; i++)
	{
		if (ext[i].len <= 0)
			continue;
		for (int64 c = ext[i].offset >> PGFS_CHUNK_SHIFT;
			 c <= (ext[i].offset + ext[i].len - 1) >> PGFS_CHUNK_SHIFT; c++)
		{
			touch[ntouch].chunkno = c;
			touch[ntouch++].ext = i;
		}
		end = Max(end, ext[i].offset + ext[i].len);
	}
	if (n > 1)
		qsort(touch, ntouch, sizeof(ChunkTouch), ChunkTouchCmp);

	page = AllocChunkBuf(PGFS_CHUNK_SIZE);
	cbuf = AllocChunkBuf(PgfsCompressBound(PGFS_CHUNK_SIZE));
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pgfs write", ALLOCSET_DEFAULT_SIZES);
	for (int64 t = 0; t < ntouch;)
	{
		int64		c = touch[t].chunkno;
		int64		cstart = c << PGFS_CHUNK_SHIFT;
		int64		group = t;
		int			new_len = 0;
		int64		old_id = 0;
		int			old_refs = 0;
		int			old_len = 0;
		MemoryContext oldcxt;

		/* the extents over chunk c: touch[group .. t) */
		for (; t < ntouch && touch[t].chunkno == c; t++)
		{
			const PgfsExtent *e = &ext[touch[t].ext];

			new_len = Max(new_len, Min(e->offset + e->len, cstart + PGFS_CHUNK_SIZE) - cstart);
		}

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(tmp);

		/* chunks exist only below the file size */
		if (cstart < inode->size)
		{
			RangeScan	scan;

			RangeBegin(&scan, inode->ino, c, c);
			if (RangeNext(&scan))
			{
				bool		covered = false;

				old_id = scan.chunk_id;
				old_refs = scan.refs;
				old_len = scan.rawlen;
				/* keep the old bytes unless one extent covers them all */
				for (int64 k = group; k < t && !covered; k++)
				{
					const PgfsExtent *e = &ext[touch[k].ext];

					covered = e->offset <= cstart && e->offset + e->len >= cstart + old_len;
				}
				if (!covered)
					LoadChunk(inode, c, scan.data, old_len, scan.comp, page, old_len);
				inode->blocks -= CHUNK_BLOCKS(old_len);
			}
			RangeEnd(&scan);
		}
		if (old_len < new_len)
			memset(page + old_len, 0, new_len - old_len);
		for (int64 k = group; k < t; k++)
		{
			const PgfsExtent *e = &ext[touch[k].ext];
			int			ws = Max(e->offset, cstart) - cstart;
			int			we = Min(e->offset + e->len, cstart + PGFS_CHUNK_SIZE) - cstart;

			memcpy(page + ws, e->data + (cstart + ws - e->offset), we - ws);
		}
		StoreChunk(inode, c, page, Max(old_len, new_len), old_id, old_refs, cbuf);

		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(tmp);
	}
	MemoryContextDelete(tmp);
	FreeChunkBuf(page);
	FreeChunkBuf(cbuf);
	pfree(touch);
	if (end > inode->size)
		inode->size = end;
}

/*
 * Drop the map entries of chunks [from, to) of a file, and the chunks nobody
 * references any more.
 */
static void
UnmapChunks(PgfsInode *inode, int64 from, int64 to)
{
	Datum		v[3];
	int			rows;
	int64	   *ids;

	v[0] = Int64GetDatum(inode->ino);
	v[1] = Int64GetDatum(from);
	v[2] = Int64GetDatum(to);
	rows = PgfsExec(&unmap_range_plan, v, NULL);
	if (rows == 0)
		return;
	ids = palloc(sizeof(int64) * rows);
	for (int r = 0; r < rows; r++)
		ids[r] = PgfsGetInt64(r, 1);
	SPI_freetuptable(SPI_tuptable);
	inode->blocks -= DropRefs(ids, rows);
	pfree(ids);
}

/*
 * Zero bytes [zs, ze) of chunk c of a file (0 <= zs < ze <= PGFS_CHUNK_SIZE):
 * the chunk is stored again without them (StoreChunk drops a chunk left all
 * zeros, and a shared one is copied first); nothing happens where it holds
 * no bytes.
 */
static void
ZeroInChunk(PgfsInode *inode, int64 c, int zs, int ze)
{
	RangeScan	scan;
	char	   *page;
	char	   *cbuf;
	int64		old_id;
	int			old_refs;
	int			old_len;
	int			keep;

	RangeBegin(&scan, inode->ino, c, c);
	if (!RangeNext(&scan) || scan.rawlen <= zs)
	{
		RangeEnd(&scan);
		return;
	}
	old_id = scan.chunk_id;
	old_refs = scan.refs;
	old_len = scan.rawlen;
	/* zeros to its end: only the bytes before them are decoded and kept */
	keep = ze >= old_len ? zs : old_len;
	if (keep == 0)
	{
		RangeEnd(&scan);
		UnmapChunks(inode, c, c + 1);
		return;
	}
	page = AllocChunkBuf(PGFS_CHUNK_SIZE);
	cbuf = AllocChunkBuf(PgfsCompressBound(PGFS_CHUNK_SIZE));
	LoadChunk(inode, c, scan.data, old_len, scan.comp, page, keep);
	RangeEnd(&scan);
	if (keep == old_len)
		memset(page + zs, 0, ze - zs);
	inode->blocks -= CHUNK_BLOCKS(old_len);
	StoreChunk(inode, c, page, keep, old_id, old_refs, cbuf);
	FreeChunkBuf(page);
	FreeChunkBuf(cbuf);
}

/*
 * Make bytes [offset, offset + len) of a file read as zeros, storing nothing
 * for them (fallocate's PUNCH_HOLE and ZERO_RANGE): chunks the range covers
 * whole are unmapped, the one or two it covers in part are stored again
 * without those bytes.  The size does not change; nothing past it is
 * stored.  The caller holds the inode's row lock and writes the row
 * afterwards.
 */
void
ChunkZeroRange(PgfsInode *inode, int64 offset, int64 len)
{
	int64		end = Min(offset + len, inode->size);
	int64		first,
				last;

	if (offset >= end)
		return;
	first = offset >> PGFS_CHUNK_SHIFT;
	last = (end - 1) >> PGFS_CHUNK_SHIFT;
	for (int64 c = first; c <= last; c++)
	{
		int64		cstart = c << PGFS_CHUNK_SHIFT;
		int			zs = Max(offset, cstart) - cstart;
		int			ze = Min(end, cstart + PGFS_CHUNK_SIZE) - cstart;

		/* a chunk never holds bytes at or past the size */
		if (zs == 0 && (ze == PGFS_CHUNK_SIZE || cstart + ze == inode->size))
		{
			int64		to = c + 1;

			/* a run of whole chunks: one statement */
			while (to <= last &&
				   ((to << PGFS_CHUNK_SHIFT) + PGFS_CHUNK_SIZE <= end ||
					end == inode->size))
				to++;
			UnmapChunks(inode, c, to);
			c = to - 1;
			continue;
		}
		CHECK_FOR_INTERRUPTS();
		ZeroInChunk(inode, c, zs, ze);
	}
	if (inode->blocks < 0)
		inode->blocks = 0;
}

/*
 * Where the next data (data = true) or hole begins at or after offset, as
 * lseek(2)'s SEEK_DATA and SEEK_HOLE report it: a missing chunk is a hole,
 * and so are the zeros a chunk does not store past its rawlen (a chunk
 * never stores trailing zeros) from the first whole block (statfs's 4 KiB)
 * on, so that a chunk whose data happens to end in a zero byte does not
 * make a hole of a byte; the end of the file is a hole.  -1 when offset is
 * at or past the size, or no data follows it.  Reads only the map entries
 * and chunk rows from offset on, not the data.
 */
#define SEEK_BLOCK 4096

int64
ChunkSeek(const PgfsInode *inode, int64 offset, bool data)
{
	RangeScan	scan;
	int64		pos = offset;
	int64		found = -1;

	if (offset < 0 || offset >= inode->size)
		return -1;
	RangeBegin(&scan, inode->ino, offset >> PGFS_CHUNK_SHIFT,
			   (inode->size - 1) >> PGFS_CHUNK_SHIFT);
	while (RangeNext(&scan))
	{
		int64		cstart = scan.chunkno << PGFS_CHUNK_SHIFT;
		int			stored = Max(Min(scan.rawlen, PGFS_CHUNK_SIZE), 0);
		int64		dend = Min(cstart + TYPEALIGN(SEEK_BLOCK, stored), inode->size);

		if (dend <= pos)
			continue;			/* its bytes end before pos */
		if (data)
		{
			found = Max(pos, cstart);
			break;
		}
		if (cstart > pos)
			break;				/* pos is in a hole */
		pos = dend;				/* pos is in data that runs to dend */
		if (dend < cstart + PGFS_CHUNK_SIZE)
			break;
	}
	RangeEnd(&scan);
	if (!data)
		found = pos;			/* at most the size: the end is a hole */
	return found;
}

/* the chunk piece c of file ino maps to and its *rawlen, or 0 for a hole */
static int64
MappedChunk(int64 ino, int64 c, int *rawlen)
{
	RangeScan	scan;
	int64		id = 0;

	*rawlen = 0;
	RangeBegin(&scan, ino, c, c);
	if (RangeNext(&scan))
	{
		id = scan.chunk_id;
		*rawlen = scan.rawlen;
	}
	RangeEnd(&scan);
	return id;
}

/*
 * Copy len bytes of src at off_in to dst at off_out.  The caller holds both
 * inode row locks, has checked both ranges and clamped len to src's size,
 * and writes dst's row afterwards; src and dst are the same PgfsInode when
 * the file is the same (the ranges do not overlap).
 *
 * Where the two offsets lie at the same place in a chunk, a destination
 * chunk the range covers whole -- or up to the source's end, with nothing
 * of the destination's past it -- takes the source's chunk row itself
 * (copy-on-write, as pgfs_copy shares chunks): nothing is read or written
 * but a map entry and a reference count, and no data is stored twice.
 * Everything else is copied through memory, a destination chunk at a time.
 * Within one file nothing is shared: its chunks are read and written as
 * they are copied.
 */
void
ChunkCopyRange(PgfsInode *src, int64 off_in, PgfsInode *dst, int64 off_out, int64 len)
{
	int64		end = off_out + len;
	bool		aligned = ((off_in - off_out) & (PGFS_CHUNK_SIZE - 1)) == 0 && src != dst;
	MemoryContext tmp;

	if (len <= 0)
		return;
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pgfs copy", ALLOCSET_DEFAULT_SIZES);
	for (int64 c = off_out >> PGFS_CHUNK_SHIFT; c <= (end - 1) >> PGFS_CHUNK_SHIFT; c++)
	{
		int64		cstart = c << PGFS_CHUNK_SHIFT;
		int64		ds = Max(off_out, cstart);
		int64		de = Min(end, cstart + PGFS_CHUNK_SIZE);
		int64		s = ds - off_out + off_in;
		MemoryContext oldcxt;

		CHECK_FOR_INTERRUPTS();
		oldcxt = MemoryContextSwitchTo(tmp);
		if (aligned && ds == cstart &&
			(de == cstart + PGFS_CHUNK_SIZE ||
			 (s + (de - ds) == src->size && dst->size <= de)))
		{
			int			src_len;
			int			old_len = 0;
			int64		src_id = MappedChunk(src->ino, s >> PGFS_CHUNK_SHIFT, &src_len);
			int64		old_id = cstart < dst->size ? MappedChunk(dst->ino, c, &old_len) : 0;
			Datum		v[3];

			if (src_id != old_id)
			{
				v[0] = Int64GetDatum(dst->ino);
				v[1] = Int64GetDatum(c);
				v[2] = Int64GetDatum(src_id);
				if (src_id == 0)
					PgfsExec(&unmap_plan, v, NULL);
				else
				{
					PgfsExec(old_id ? &remap_plan : &map_plan, v, NULL);
					PgfsExec(&ref_plan, &v[2], NULL);
					dst->blocks += CHUNK_BLOCKS(src_len);
				}
				if (old_id != 0)
				{
					Unref(old_id);
					dst->blocks -= CHUNK_BLOCKS(old_len);
				}
			}
			if (de > dst->size)
				dst->size = de;
		}
		else
		{
			bytea	   *piece = ChunkRead(src, s, de - ds);

			ChunkWrite(dst, ds, VARDATA(piece), de - ds);
			pfree(piece);
		}
		MemoryContextSwitchTo(oldcxt);
		MemoryContextReset(tmp);
	}
	MemoryContextDelete(tmp);
	if (dst->blocks < 0)
		dst->blocks = 0;
}

/*
 * Set the file size.  Growing adds a hole; shrinking drops whole chunks past
 * the end and trims the last one, so that bytes past the new end read as
 * zeros if the file grows again.
 */
void
ChunkTruncate(PgfsInode *inode, int64 newsize)
{
	int64		keep = (newsize + PGFS_CHUNK_SIZE - 1) >> PGFS_CHUNK_SHIFT;

	if (newsize >= inode->size)
	{
		inode->size = newsize;
		return;
	}

	/* whole chunks at or past the new end */
	UnmapChunks(inode, keep, PG_INT64_MAX);

	/* the partial chunk the new end falls into */
	if ((newsize & (PGFS_CHUNK_SIZE - 1)) != 0)
	{
		int64		c = newsize >> PGFS_CHUNK_SHIFT;

		ZeroInChunk(inode, c, newsize - (c << PGFS_CHUNK_SHIFT), PGFS_CHUNK_SIZE);
	}
	inode->size = newsize;
	/* a damaged rawlen must not drive the count negative and block the fix */
	if (newsize == 0 || inode->blocks < 0)
		inode->blocks = 0;
}

/*
 * Make dst (an empty regular file) share all of src's chunks: its map
 * entries, a batch at a time in chunk order, then a reference more on each
 * chunk, added directly (rowwrite.c) in ascending chunk_id order.  One
 * UPDATE of every chunk's count (share_plan) found each through the
 * primary key, past every version the transaction had left of it: copying
 * one file 4000 times in a transaction took 311 ms, against 50 ms for 1000.
 */
#define SHARE_BATCH 1024

static PgfsPlan share_batch_plan = {
	"INSERT INTO pgfs.filemap (ino, chunkno, chunk_id)"
	" SELECT $2, chunkno, chunk_id FROM pgfs.filemap WHERE ino = $1 AND chunkno > $3"
	" ORDER BY chunkno LIMIT " CppAsString2(SHARE_BATCH) " RETURNING chunkno, chunk_id",
	3, {INT8OID, INT8OID, INT8OID}
};

void
ChunkShareAll(int64 src, PgfsInode *dst)
{
	Datum		v[3] = {Int64GetDatum(src), Int64GetDatum(dst->ino), Int64GetDatum(PG_INT64_MIN)};
	int64	   *ids;
	int			rows;

	if (!RowPlain(PGFS_REL_CHUNK, CMD_UPDATE))
	{
		PgfsExec(&share_plan, v, NULL);
		return;
	}
	ids = palloc(sizeof(int64) * SHARE_BATCH);
	do
	{
		int64		last = DatumGetInt64(v[2]);

		rows = PgfsExec(&share_batch_plan, v, NULL);
		for (int r = 0; r < rows; r++)
		{
			last = Max(last, PgfsGetInt64(r, 1));
			ids[r] = PgfsGetInt64(r, 2);
		}
		SPI_freetuptable(SPI_tuptable);
		v[2] = Int64GetDatum(last);
		/* chunk rows in one order, as rows are locked everywhere */
		qsort(ids, rows, sizeof(int64), IdCmp);
		for (int r = 0; r < rows; r++)
		{
			Datum		id = Int64GetDatum(ids[r]);

			/* a concurrent change to the count: the UPDATE reads it again */
			if (!RowAddChunkRefs(ids[r], 1))
				PgfsExec(&ref_plan, &id, NULL);
		}
	} while (rows == SHARE_BATCH);
	pfree(ids);
}
