/*-------------------------------------------------------------------------
 *
 * pgfs.h
 *	  Types, limits and cross-file declarations of the pgfs backend.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGFS_H
#define PGFS_H

#include <sys/stat.h>

#include "fmgr.h"
#include "executor/spi.h"
#include "utils/elog.h"
#include "utils/tuplestore.h"

#include "pgfs_errcodes.h"

/*
 * Chunk size.  A file is a sequence of PGFS_CHUNK_SIZE-byte chunks; writing
 * one byte rewrites one chunk, reading one byte fetches (part of) one chunk.
 *
 * 64 KiB, chosen by measurement (2 cores, ext4, durable settings):
 *
 *	chunk	stored/raw, C headers	stored/raw, docs	bulk write	4 KiB rewrites
 *	16 KiB	0.421					0.544				68 MiB/s	9840/s (39 KiB WAL)
 *	64 KiB	0.391					0.499				93 MiB/s	4205/s (68 KiB WAL)
 *	256 KiB	0.380					0.496				111 MiB/s	 991/s (350 KiB WAL)
 *
 * (compression: lz4 over independent chunks of 5 MB of C headers and 21 MB
 * of documentation; throughput: rows of random data in a bytea column with
 * STORAGE EXTERNAL, as pgfs.chunk stores them; 4 KiB random reads ran at
 * 75-80k/s for every size because TOAST slices serve them.)
 *
 * lz4 matches only within 64 KiB, so beyond that chunks barely compress
 * better; below it both the ratio and bulk throughput fall.  Above it bulk
 * writes gain a fifth while a small write in the middle of a file (SQLite,
 * editors, rsync --inplace) costs 4 times more.  64 KiB is where neither
 * side loses much.  Must be a power of two; changing it changes the format.
 */
#define PGFS_CHUNK_SHIFT		16
#define PGFS_CHUNK_SIZE			(1 << PGFS_CHUNK_SHIFT)


/* symbolic links followed in one path walk before ELOOP, as Linux's MAXSYMLINKS */
#define PGFS_MAX_SYMLINKS		40

#define PGFS_ROOT_INO			1

/* chunk.comp values */
#define PGFS_COMP_NONE			0
#define PGFS_COMP_LZ4			1	/* one lz4 block */
#define PGFS_COMP_LZ4_FRAMES	2	/* lz4 frames behind an offset table */

/*
 * Frames.  A chunk longer than a frame is compressed as independent
 * PGFS_FRAME_SIZE pieces, so that a small read fetches and decodes one
 * frame, not the whole chunk.  The stored value starts with one 4-byte
 * little-endian entry per frame, the end of that frame's bytes counted from
 * the end of the table; a frame as long as its raw bytes is stored raw.
 * 16 KiB, chosen by measurement (compress.c).  Changing it changes the
 * format of comp 2 chunks.
 */
#define PGFS_FRAME_SHIFT		14
#define PGFS_FRAME_SIZE			(1 << PGFS_FRAME_SHIFT)
#define PGFS_FRAMES(rawlen)		(((rawlen) + PGFS_FRAME_SIZE - 1) >> PGFS_FRAME_SHIFT)
#define PGFS_FRAME_HEADER(nframes)	(4 * (nframes))
#define PGFS_FRAME_LEN(rawlen, k)	Min(PGFS_FRAME_SIZE, (rawlen) - (k) * PGFS_FRAME_SIZE)

/*
 * pgfs.compression_level: 0 is fast lz4 alone, 1..12 the LZ4HC level of a
 * second pass over frames the fast pass compressed (compress.c says why 4)
 */
#define PGFS_COMPRESSION_LEVEL_DEFAULT	4
#define PGFS_COMPRESSION_LEVEL_MAX		12	/* LZ4HC_CLEVEL_MAX */

/* pgfs.lock_grace: the mounts' time to reconnect after a restart (lock.c, tree.c) */
#define PGFS_LOCK_GRACE_DEFAULT	30

/* the end of a file lock that reaches the end of the file, however far it grows */
#define PGFS_LOCK_EOF			PG_INT64_MAX

/* advisory lock class for pgfs (ASCII "pgfs") */
#define PGFS_LOCK_CLASS			0x70676673

/* errcodes: PGFS_SQLSTATE_ENOENT etc., built from the shared table */
#define PGFS_ERRCODE(e, s, c1, c2, c3, c4, c5) \
	PGFS_SQLSTATE_##e = MAKE_SQLSTATE(c1, c2, c3, c4, c5),
enum
{
	PGFS_ERRCODE_LIST
	PGFS_SQLSTATE_DUMMY
};
#undef PGFS_ERRCODE

/* An inode row. */
typedef struct PgfsInode
{
	int64		ino;
	int32		mode;			/* S_IFMT | permission bits */
	int32		nlink;
	int64		uid;
	int64		gid;
	int64		rdev;
	int64		size;
	int64		blocks;
	int64		atime_ns;
	int64		mtime_ns;
	int64		ctime_ns;
	int64		btime_ns;
	int64		generation;
	int64		parent;			/* directories only, else 0 */
	int32		xattrs;			/* its extended attributes (rows of pgfs.xattr) */
} PgfsInode;

/* A bytea-like name: bytes, not NUL-terminated */
typedef struct PgfsName
{
	const char *data;
	int			len;
} PgfsName;

/* Result of resolving a path. */
typedef struct PgfsPath
{
	const char *path;			/* as given, for messages */
	int64		parent;			/* directory holding the last component */
	PgfsName	name;			/* last component; len 0 for "/" */
	bool		exists;
	bool		trailing_slash;
	PgfsInode	inode;			/* valid when exists */
} PgfsPath;

/* A POSIX ACL, decoded (acl.c) */
typedef enum PgfsAclType
{
	PGFS_ACL_NONE,
	PGFS_ACL_ACCESS,			/* system.posix_acl_access */
	PGFS_ACL_DEFAULT			/* system.posix_acl_default */
} PgfsAclType;

typedef struct PgfsAclEntry
{
	uint16		tag;
	uint16		perm;
	uint32		id;
} PgfsAclEntry;

typedef struct PgfsAcl
{
	int			count;
	PgfsAclEntry e[FLEXIBLE_ARRAY_MEMBER];
} PgfsAcl;

/* in pgfs.c */
extern int	pgfs_default_uid;
extern int	pgfs_default_gid;
extern int	pgfs_default_file_mode;
extern int	pgfs_default_dir_mode;
extern int	pgfs_compression_level;
extern int	pgfs_lock_grace;

/* in spi.c */
typedef struct PgfsPlan
{
	const char *sql;
	int			nargs;
	Oid			argtypes[16];
	SPIPlanPtr	plan;
	bool		scans;			/* reads whole tables: may be planned with seq scans */
	bool		joins;			/* joins entries to their inodes: nested loops only */
} PgfsPlan;

extern void PgfsSpiBegin(bool read_only);
extern void PgfsSpiBeginDirect(void);
extern void PgfsSpiEnd(void);
extern void PgfsPinSearchPath(void);
extern void PgfsDeferCommit(void);
extern void PgfsDeferThisCall(void);
extern void PgfsDeferInit(void);
extern void PgfsLookupBegin(void);
extern void PgfsLookupEnd(void);
extern MemoryContext PgfsCallerContext(void);
extern bool PgfsSpiReadOnly(void);
extern const char *PgfsCurrentPath;
extern void PgfsPrepare(PgfsPlan *p);
extern Portal PgfsCursorOpen(PgfsPlan *p, Datum *values, const char *nulls);
extern int	PgfsExec(PgfsPlan *p, Datum *values, const char *nulls);
extern int64 PgfsGetInt64(int row, int col);
extern int32 PgfsGetInt32(int row, int col);
extern bool PgfsIsNull(int row, int col);
extern Datum PgfsGetDatum(int row, int col, bool *isnull);

/* in errors.c */
extern int64 PgfsNowNs(void);
extern Datum PgfsNsToTimestamptz(int64 ns);
extern int64 PgfsTimestamptzToNs(Datum ts);
extern const char *PgfsNameStr(PgfsName name);
extern const char *PgfsTypeName(int32 mode);

/* in path.c */
extern void PgfsResolve(const char *path, bool follow, PgfsPath *res);
extern void PgfsResolveExisting(const char *path, bool follow, PgfsPath *res);
extern void PgfsResolveSoft(const char *path, bool follow, PgfsPath *res);
extern void PgfsValidateName(PgfsName name, const char *ctx);
extern PgfsName PgfsByteaName(bytea *b);

/* in catalog.c */
typedef enum PgfsRel
{
	PGFS_REL_INODE, PGFS_REL_INODE_PKEY, PGFS_REL_DIRENT, PGFS_REL_DIRENT_PKEY,
	PGFS_REL_FILEMAP, PGFS_REL_FILEMAP_PKEY, PGFS_REL_CHUNK, PGFS_REL_CHUNK_PKEY,
	PGFS_REL_INO_SEQ, PGFS_REL_CHUNK_SEQ, PGFS_REL_COOKIE_SEQ, PGFS_NRELS
} PgfsRel;
extern Oid	CatalogRelOid(PgfsRel which);
extern Relation CatalogOpen(PgfsRel which);
extern void CatalogCloseAll(void);
extern void CatalogForget(void);
extern int64 CatalogNewIno(void);
extern void CatalogCreate(const PgfsInode *node, bytea *target, PgfsInode *dir,
						  PgfsName name, int64 now);
extern void CatalogInit(void);
extern void CatalogHintRow(PgfsRel which, int64 key, ItemPointer tid);
extern bool CatalogFetchHinted(PgfsRel which, Relation rel, int64 key, Snapshot snap,
							   TupleTableSlot *slot);
extern PgfsRel CatalogPkeyOf(PgfsRel which);
extern bool CatalogProbeRow(PgfsRel which, Relation rel, int64 key, Snapshot snap,
							TupleTableSlot *slot);
extern bool CatalogGetInode(int64 ino, PgfsInode *out);
extern void CatalogGetInodeOrError(int64 ino, PgfsInode *out);
extern bool CatalogLookup(int64 parent, PgfsName name, PgfsInode *out);
extern int64 CatalogLookupIno(int64 parent, PgfsName name);
extern void CatalogLockInodes(int64 *inos, int n, PgfsInode *out);
extern void CatalogLockInode(int64 ino, PgfsInode *out);
extern bool CatalogLockInodeIfExists(int64 ino, PgfsInode *out);
extern bool CatalogTryLockInode(int64 ino, PgfsInode *out);
extern void CatalogDirentKey(struct ScanKeyData *key, int64 parent, PgfsName name);
extern void CatalogUpdateInode(PgfsInode *ino);
extern void CatalogSetAtime(PgfsInode *node, int64 atime_ns);
extern void CatalogInsertDirent(int64 parent, PgfsName name, int64 ino);
extern void CatalogDeleteDirent(int64 parent, PgfsName name);
extern void CatalogRetargetDirent(int64 parent, PgfsName name, int64 ino);
extern bool CatalogDirIsEmpty(int64 dir);
extern bool CatalogHasHandles(int64 ino);
extern void CatalogFreeInode(int64 ino);
extern void CatalogMaybeFree(PgfsInode *ino);
extern bytea *CatalogGetTarget(int64 ino);
extern void CatalogTouch(PgfsInode *ino, bool mtime, int64 now);

/* in rowwrite.c */
extern bool RowPlain(PgfsRel which, CmdType cmd);
extern void RowInsert(PgfsRel which, const Datum *values, const bool *isnull);
extern bool RowUpdate(PgfsRel which, int64 key, const Datum *values, const bool *isnull,
					  const bool *set);
extern bool RowAddChunkRefs(int64 chunk_id, int32 add);
extern bool RowDeleteDirent(int64 parent, PgfsName name);
extern bool RowRetargetDirent(int64 parent, PgfsName name, int64 ino);
extern int	RowDropChunkRefs(int n, const int64 *ids, const int32 *refs, int32 *rawlen);

/* in chunkstore.c */
typedef struct PgfsExtent
{
	int64		offset;
	int64		len;
	const char *data;
} PgfsExtent;

extern bytea *ChunkRead(const PgfsInode *inode, int64 offset, int64 length);
extern void ChunkWrite(PgfsInode *inode, int64 offset, const char *data, int64 len);
extern void ChunkWriteV(PgfsInode *inode, const PgfsExtent *ext, int n);
extern void ChunkTruncate(PgfsInode *inode, int64 newsize);
extern void ChunkShareAll(int64 src, PgfsInode *dst);
extern void ChunkZeroRange(PgfsInode *inode, int64 offset, int64 len);
extern int64 ChunkSeek(const PgfsInode *inode, int64 offset, bool data);
extern void ChunkCopyRange(PgfsInode *src, int64 off_in, PgfsInode *dst, int64 off_out,
						   int64 len);
extern const char *ChunkDecode(Datum data, int rawlen, int comp, char *dst, int want);

/* in compress.c */
extern int	PgfsCompressChunk(const char *src, int srclen, char *dst, int *comp);
extern int	PgfsCompressBound(int srclen);
extern bool PgfsDecompress(const char *src, int srclen, char *dst, int rawlen, int want);
extern bool PgfsDecompressFrames(const char *src, int srclen, char *dst, int rawlen, int want);
extern bool PgfsFrameBounds(const char *hdr, int rawlen, int stored, int k, int *start, int *end);
extern bool PgfsDecodeFrame(const char *src, int srclen, char *dst, int flen, int want);

/* in acl.c */
extern PgfsAclType PgfsAclNameType(PgfsName name);
extern PgfsName PgfsAclName(PgfsAclType type);
extern PgfsAcl *PgfsAclParse(bytea *value, const char *label);
extern bytea *PgfsAclEncode(const PgfsAcl *acl);
extern bool PgfsAclToMode(const PgfsAcl *acl, int32 *mode);
extern void PgfsAclChmod(PgfsAcl *acl, int32 mode);
extern bool PgfsAclCreateMasq(PgfsAcl *acl, int32 *mode);

/* in namespace.c */
extern void NsCreate(int64 parent, PgfsName name, int32 mode, int32 umask, int64 rdev,
					 int64 uid, int64 gid, bytea *target, const char *errpath,
					 bool excl, PgfsInode *out, bool *created, int64 *dir_generation);
extern void NsRemove(int64 parent, PgfsName name, bool rmdir, const char *errpath);
extern void NsLink(int64 ino, int64 newparent, PgfsName newname,
				   const char *errpath, PgfsInode *out);
extern void NsRename(int64 parent, PgfsName name, int64 newparent, PgfsName newname,
					 int flags, int64 uid, int64 gid,
					 const char *errpath, const char *errnewpath);
extern void NsSetattr(int64 ino, const int32 *mode, const int64 *uid, const int64 *gid,
					  const int64 *size, const int64 *atime_ns, const int64 *mtime_ns,
					  bool kill_suid, const char *errpath, PgfsInode *out);
extern void NsCreateFile(int64 parent, PgfsName name, int32 mode, int64 uid, int64 gid,
						 int64 offset, const char *data, int64 len, const char *errpath,
						 PgfsInode *out, bool *created);
extern void NsWrite(int64 ino, PgfsInode *locked, int64 offset, bytea *data,
					bool truncate_first, bool append, const char *errpath, PgfsInode *out);
extern void NsWriteV(int64 ino, PgfsInode *locked, PgfsExtent *ext, int n,
					 bool truncate_first, bool append, const char *errpath, PgfsInode *out);
extern bool NsIsAncestor(int64 ino, int64 start);
extern void NsCheckRange(int64 offset, int64 length, const char *errpath);
extern int64 NsCopyRange(int64 ino_in, int64 off_in, int64 ino_out, int64 off_out, int64 len);
extern void NsFallocate(int64 ino, int32 mode, int64 offset, int64 len, PgfsInode *out);
extern int64 NsSeek(int64 ino, int64 offset, bool data);
extern void NsOpen(int64 ino, int64 client);
extern void NsSetxattr(int64 ino, PgfsName name, bytea *value, int flags, const char *errpath);
extern bytea *NsGetxattr(int64 ino, PgfsName name, const char *errpath, bool missing_ok);
extern void NsRemovexattr(int64 ino, PgfsName name, const char *errpath);
extern void NsListxattr(int64 ino, FunctionCallInfo fcinfo, bool as_text);
extern void NsRelease(int64 ino, int64 client);
extern const char *InoLabel(int64 ino, const char *errpath);
extern void NsReopen(int64 ino, int64 client, int32 count, PgfsInode *out);
extern bool NsReadAtime(PgfsInode *node, bool strict);
extern bool NsAtimeDue(const PgfsInode *node, bool strict);

/* in funcs_ll.c (shared tuple builders) */
extern TupleDesc PgfsResultDesc(FunctionCallInfo fcinfo);
extern Datum PgfsAttrDatum(FunctionCallInfo fcinfo, const PgfsInode *ino);
extern void PgfsAttrValues(const PgfsInode *ino, Datum *values, bool *nulls);
#define PGFS_ATTR_NCOLS 13
extern int32 PgfsClientKey(int64 client);

/* in lock.c */
extern bool ClientGraceActive(void);
extern bool FileLockTableExists(void);
extern void FileLocksDrop(int64 ino, int64 client);
extern int64 *PgfsInt8ArrayArg(FunctionCallInfo fcinfo, int argno, const char *what, int *n);

/* in policy.c */
extern void PolicyCheckDir(int64 dir, bool write, const char *label);
extern void PolicyCheckInode(const PgfsInode *node, bool write, const char *label);
extern void PolicyCheckVisible(const PgfsInode *node, const char *label);
extern void PolicyCheckLookup(int64 parent, const PgfsInode *node, const char *label);
extern bool PolicyVisible(const PgfsInode *node);
extern bool PolicyMayRead(const PgfsInode *node);

/* in fsck.c */
extern void FsckRun(Tuplestorestate *ts, TupleDesc td);

/* mode helpers */
#define PGFS_IS_DIR(m)	(((m) & S_IFMT) == S_IFDIR)
#define PGFS_IS_REG(m)	(((m) & S_IFMT) == S_IFREG)
#define PGFS_IS_LNK(m)	(((m) & S_IFMT) == S_IFLNK)

#endif							/* PGFS_H */
