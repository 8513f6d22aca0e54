/*-------------------------------------------------------------------------
 *
 * fsck.c
 *	  pgfs_fsck(): check every invariant of the store.
 *
 * Each check is one query returning (ino, detail) for every violation, so
 * the list below doubles as the specification of a healthy store.  The last
 * check decodes every chunk.  Nothing is repaired: fsck reports, an admin
 * decides.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "access/xlog.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "pgfs.h"

typedef struct FsckCheck
{
	const char *problem;
	PgfsPlan	plan;
} FsckCheck;

#define CHECK(name, sql) {name, {sql, 0, {InvalidOid}}}

static FsckCheck checks[] = {
	CHECK("root_missing",
		  "SELECT 1::bigint, 'inode 1 must be a directory whose parent is itself'"
		  " WHERE NOT EXISTS (SELECT 1 FROM pgfs.inode WHERE ino = 1"
		  "   AND (mode & 61440) = 16384 AND parent = 1)"),
	CHECK("root_has_name",
		  "SELECT ino, 'the root directory is an entry of directory ' || parent"
		  " FROM pgfs.dirent WHERE ino = 1"),
	CHECK("dangling_entry",
		  "SELECT d.ino, 'entry ' || encode(d.name, 'escape') || ' in directory ' || d.parent"
		  " || ' names a missing inode' FROM pgfs.dirent d"
		  " WHERE NOT EXISTS (SELECT 1 FROM pgfs.inode i WHERE i.ino = d.ino)"),
	CHECK("entry_in_non_directory",
		  "SELECT d.parent, 'entry ' || encode(d.name, 'escape') || ' is in a missing or non-directory inode'"
		  " FROM pgfs.dirent d LEFT JOIN pgfs.inode p ON p.ino = d.parent"
		  " WHERE p.ino IS NULL OR (p.mode & 61440) <> 16384"),
	CHECK("bad_name",
		  "SELECT parent, 'entry name ' || encode(name, 'escape') || ' is empty, too long, \".\", \"..\" or has / or NUL'"
		  " FROM pgfs.dirent WHERE length(name) NOT BETWEEN 1 AND 255"
		  " OR name IN ('\\x2e'::bytea, '\\x2e2e'::bytea)"
		  " OR position('\\x2f'::bytea IN name) > 0 OR position('\\x00'::bytea IN name) > 0"),
	CHECK("bad_type",
		  "SELECT ino, 'mode ' || mode || ' has no valid file type' FROM pgfs.inode"
		  " WHERE (mode & 61440) NOT IN (32768, 16384, 40960, 4096, 49152, 8192, 24576)"),
	CHECK("directory_hard_linked",
		  "SELECT d.ino, 'directory has ' || count(*) || ' names' FROM pgfs.dirent d"
		  " JOIN pgfs.inode i ON i.ino = d.ino WHERE (i.mode & 61440) = 16384"
		  " GROUP BY d.ino HAVING count(*) > 1"),
	CHECK("directory_parent_mismatch",
		  "SELECT i.ino, 'parent column says ' || i.parent || ', its entry is in ' || d.parent"
		  " FROM pgfs.inode i JOIN pgfs.dirent d ON d.ino = i.ino"
		  " WHERE (i.mode & 61440) = 16384 AND i.parent IS DISTINCT FROM d.parent"),
	CHECK("parent_on_non_directory",
		  "SELECT ino, 'a non-directory has a parent column' FROM pgfs.inode"
		  " WHERE (mode & 61440) <> 16384 AND parent IS NOT NULL"),
	CHECK("wrong_nlink",
		  "SELECT i.ino, 'nlink is ' || i.nlink || ', expected ' || e.n FROM pgfs.inode i"
		  " CROSS JOIN LATERAL (SELECT CASE WHEN (i.mode & 61440) = 16384 THEN"
		  "   CASE WHEN i.nlink = 0 THEN 0 ELSE 2 + (SELECT count(*) FROM pgfs.dirent d"
		  "     JOIN pgfs.inode c ON c.ino = d.ino WHERE d.parent = i.ino AND (c.mode & 61440) = 16384"
		  "     AND c.ino <> i.ino) END"
		  "  ELSE (SELECT count(*) FROM pgfs.dirent d WHERE d.ino = i.ino) END AS n) e"
		  " WHERE i.nlink <> e.n"),
	CHECK("unnamed_directory",
		  "SELECT i.ino, 'directory has no name' FROM pgfs.inode i"
		  " WHERE (i.mode & 61440) = 16384 AND i.ino <> 1"
		  " AND NOT EXISTS (SELECT 1 FROM pgfs.dirent d WHERE d.ino = i.ino)"
		  " AND NOT (i.nlink = 0 AND EXISTS (SELECT 1 FROM pgfs.handle h WHERE h.ino = i.ino))"),
	CHECK("orphan_inode",
		  "SELECT i.ino, 'inode has no name and is not open' FROM pgfs.inode i"
		  " WHERE i.nlink = 0 AND NOT EXISTS (SELECT 1 FROM pgfs.handle h WHERE h.ino = i.ino)"),
	CHECK("unreachable",
		  "WITH RECURSIVE t(ino) AS (SELECT 1::bigint UNION"
		  "  SELECT d.ino FROM pgfs.dirent d JOIN t ON d.parent = t.ino)"
		  " SELECT i.ino, 'not reachable from the root (a cycle?)' FROM pgfs.inode i"
		  " WHERE i.nlink > 0 AND NOT EXISTS (SELECT 1 FROM t WHERE t.ino = i.ino)"),
	CHECK("symlink_target",
		  "SELECT ino, CASE WHEN (mode & 61440) = 40960 THEN 'symbolic link without a valid target'"
		  "  ELSE 'non-link has a link target' END FROM pgfs.inode"
		  " WHERE ((mode & 61440) = 40960) <> (target IS NOT NULL)"
		  "  OR ((mode & 61440) = 40960 AND (length(target) = 0 OR size <> length(target)))"),
	CHECK("size_of_non_file",
		  "SELECT ino, 'size ' || size || ' or blocks ' || blocks || ' on a directory or special file'"
		  " FROM pgfs.inode WHERE (mode & 61440) NOT IN (32768, 40960) AND (size <> 0 OR blocks <> 0)"),
	CHECK("data_on_non_file",
		  "SELECT m.ino, 'chunk map rows for a missing or non-regular inode' FROM pgfs.filemap m"
		  " LEFT JOIN pgfs.inode i ON i.ino = m.ino"
		  " WHERE i.ino IS NULL OR (i.mode & 61440) <> 32768 GROUP BY m.ino"),
	CHECK("chunk_past_eof",
		  "SELECT m.ino, 'chunk ' || m.chunkno || ' holds ' || c.rawlen || ' bytes past the size ' || i.size"
		  " FROM pgfs.filemap m JOIN pgfs.inode i ON i.ino = m.ino JOIN pgfs.chunk c ON c.chunk_id = m.chunk_id"
		  " WHERE m.chunkno < 0 OR m.chunkno * " CppAsString2(PGFS_CHUNK_SIZE) " + c.rawlen > i.size"),
	CHECK("missing_chunk",
		  "SELECT m.ino, 'chunk ' || m.chunkno || ' maps to missing chunk row ' || m.chunk_id"
		  " FROM pgfs.filemap m WHERE NOT EXISTS (SELECT 1 FROM pgfs.chunk c WHERE c.chunk_id = m.chunk_id)"),
	CHECK("wrong_refs",
		  "SELECT (SELECT min(ino + 0) FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id),"
		  " 'chunk row ' || c.chunk_id || ' has refs ' || c.refs || ' but ' || n.n || ' map rows'"
		  " FROM pgfs.chunk c CROSS JOIN LATERAL (SELECT count(*) AS n FROM pgfs.filemap m"
		  "  WHERE m.chunk_id = c.chunk_id) n WHERE c.refs <> n.n"),
	CHECK("wrong_blocks",
		  "SELECT i.ino, 'blocks is ' || i.blocks || ', chunks hold ' || coalesce(b.n, 0)"
		  " FROM pgfs.inode i LEFT JOIN (SELECT m.ino, sum((c.rawlen + 511) / 512) AS n"
		  "  FROM pgfs.filemap m JOIN pgfs.chunk c ON c.chunk_id = m.chunk_id GROUP BY m.ino) b"
		  " ON b.ino = i.ino WHERE (i.mode & 61440) = 32768 AND i.blocks <> coalesce(b.n, 0)"),
	CHECK("xattr_without_inode",
		  "SELECT x.ino, 'extended attribute ' || encode(x.name, 'escape') || ' of a missing inode'"
		  " FROM pgfs.xattr x WHERE NOT EXISTS (SELECT 1 FROM pgfs.inode i WHERE i.ino = x.ino)"),
	CHECK("wrong_xattrs",
		  "SELECT i.ino, 'xattrs is ' || coalesce(i.xattrs, 0) || ', it has ' || coalesce(x.n, 0)"
		  " FROM pgfs.inode i LEFT JOIN (SELECT ino, count(*) AS n FROM pgfs.xattr GROUP BY ino) x"
		  " ON x.ino = i.ino WHERE coalesce(i.xattrs, 0) <> coalesce(x.n, 0)"),
	/* the mode's owner, group (or mask) and other bits are the access ACL's (acl.c) */
	CHECK("acl_mode_mismatch",
		  "SELECT x.ino, 'mode ' || ((i.mode >> 6) & 7) || ((i.mode >> 3) & 7) || (i.mode & 7)"
		  " || ', its access ACL says ' || ((a.m >> 6) & 7) || ((a.m >> 3) & 7) || (a.m & 7)"
		  " FROM pgfs.xattr x JOIN pgfs.inode i ON i.ino = x.ino CROSS JOIN LATERAL"
		  " (SELECT (max(p) FILTER (WHERE t = 1) << 6)"
		  "   | (coalesce(max(p) FILTER (WHERE t = 16), max(p) FILTER (WHERE t = 4)) << 3)"
		  "   | max(p) FILTER (WHERE t = 32) AS m"
		  "  FROM (SELECT get_byte(x.value, 4 + 8 * k) + 256 * get_byte(x.value, 5 + 8 * k) AS t,"
		  "               get_byte(x.value, 6 + 8 * k) AS p"
		  "         FROM generate_series(0, (length(x.value) - 4) / 8 - 1) k) e) a"
		  " WHERE x.name = 'system.posix_acl_access'::bytea"
		  " AND a.m IS DISTINCT FROM (i.mode & 511)"),
	CHECK("misplaced_acl",
		  "SELECT x.ino, encode(x.name, 'escape') || ' on a ' ||"
		  " CASE WHEN (i.mode & 61440) = 40960 THEN 'symbolic link' ELSE 'file that is no directory' END"
		  " FROM pgfs.xattr x JOIN pgfs.inode i ON i.ino = x.ino"
		  " WHERE (x.name = 'system.posix_acl_default'::bytea AND (i.mode & 61440) <> 16384)"
		  " OR (x.name = 'system.posix_acl_access'::bytea AND (i.mode & 61440) = 40960)"),
	CHECK("handle_without_inode",
		  "SELECT h.ino, 'open handle of client ' || h.client || ' on a missing inode'"
		  " FROM pgfs.handle h WHERE NOT EXISTS (SELECT 1 FROM pgfs.inode i WHERE i.ino = h.ino)"),
	/* a mount's locks on a file go with its last handle on it (lock.c) */
	CHECK("lock_without_handle",
		  "SELECT l.ino, 'lock of client ' || l.client || ' without an open handle'"
		  " FROM pgfs.lock l WHERE NOT EXISTS"
		  " (SELECT 1 FROM pgfs.handle h WHERE h.ino = l.ino AND h.client = l.client)"),
};

/*
 * The file a chunk belongs to, for the report: min(ino + 0) rather than
 * min(ino), which the planner may turn into a walk of filemap's primary key
 * in ino order until a row of that chunk turns up -- a scan of the whole
 * map per chunk (pgfs_fsck() of a store of 250000 files took 8.5 minutes).
 * This way it is a probe of filemap_chunk_idx.
 */
static PgfsPlan chunks_plan = {
	"SELECT c.chunk_id, c.rawlen, c.comp, c.data,"
	" (SELECT min(m.ino + 0) FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id)"
	" FROM pgfs.chunk c",
	0, {InvalidOid}
};

static void
Emit(ReturnSetInfo *rsinfo, const char *problem, bool inonull, int64 ino, const char *detail)
{
	Datum		values[3];
	bool		nulls[3] = {false, inonull, detail == NULL};

	values[0] = CStringGetTextDatum(problem);
	values[1] = Int64GetDatum(ino);
	values[2] = detail ? CStringGetTextDatum(detail) : (Datum) 0;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

PG_FUNCTION_INFO_V1(pgfs_fsck);
Datum
pgfs_fsck(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Portal		portal;
	char	   *page;
	MemoryContext tmp;

	InitMaterializedSRF(fcinfo, 0);
	PgfsSpiBegin(true);
	for (int i = 0; i < lengthof(checks); i++)
	{
		int			rows;

		/*
		 * Open handles live in an unlogged table, which a standby cannot
		 * read; there, files open on the primary look like orphans.
		 */
		if (RecoveryInProgress() && (strstr(checks[i].plan.sql, "pgfs.handle") != NULL ||
									 strstr(checks[i].plan.sql, "pgfs.lock") != NULL))
			continue;
		/* a database still at 1.2 has no locks */
		if (strstr(checks[i].plan.sql, "pgfs.lock") != NULL && !FileLockTableExists())
			continue;
		checks[i].plan.scans = true;	/* every check reads whole tables */
		rows = PgfsExec(&checks[i].plan, NULL, NULL);

		CHECK_FOR_INTERRUPTS();
		for (int r = 0; r < rows; r++)
		{
			bool		isnull;
			bool		dnull;
			Datum		ino = PgfsGetDatum(r, 1, &isnull);
			Datum		detail = PgfsGetDatum(r, 2, &dnull);

			Emit(rsinfo, checks[i].problem, isnull, isnull ? 0 : DatumGetInt64(ino),
				 dnull ? NULL : TextDatumGetCString(detail));
		}
		SPI_freetuptable(SPI_tuptable);
	}

	/* decode every chunk, a batch at a time */
	page = palloc(PGFS_CHUNK_SIZE);
	tmp = AllocSetContextCreate(CurrentMemoryContext, "pgfs fsck", ALLOCSET_DEFAULT_SIZES);
	portal = PgfsCursorOpen(&chunks_plan, NULL, NULL);
	for (;;)
	{
		SPI_cursor_fetch(portal, true, 256);
		if (SPI_processed == 0)
			break;
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			MemoryContext old = MemoryContextSwitchTo(tmp);
			bool		isnull;
			bool		inonull;
			int64		id = PgfsGetInt64(r, 1);
			int			rawlen = PgfsGetInt32(r, 2);
			int			comp = PgfsGetInt32(r, 3);
			Datum		data = PgfsGetDatum(r, 4, &isnull);
			Datum		ino = PgfsGetDatum(r, 5, &inonull);
			const char *why;

			CHECK_FOR_INTERRUPTS();
			why = isnull ? "Its data is NULL." : ChunkDecode(data, rawlen, comp, page, rawlen);
			MemoryContextSwitchTo(old);
			if (why)
				Emit(rsinfo, "corrupt_chunk", inonull, inonull ? 0 : DatumGetInt64(ino),
					 psprintf("chunk row %lld: %s", (long long) id, why));
			MemoryContextReset(tmp);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	MemoryContextDelete(tmp);
	PgfsSpiEnd();
	return (Datum) 0;
}
