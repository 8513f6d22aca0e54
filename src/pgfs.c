/*-------------------------------------------------------------------------
 *
 * pgfs.c
 *	  Module entry point: the module magic and the pgfs.* settings.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "fmgr.h"
#include "utils/guc.h"

#include "pgfs.h"

PG_MODULE_MAGIC;

/* owner and modes for files created through the path API (the mount passes its own) */
int			pgfs_default_uid = 0;
int			pgfs_default_gid = 0;
int			pgfs_default_file_mode = 0644;
int			pgfs_default_dir_mode = 0755;

/* LZ4HC level of the second compression pass; 0 turns it off */
int			pgfs_compression_level = PGFS_COMPRESSION_LEVEL_DEFAULT;

/* seconds after the server starts during which every mount's locks stand (lock.c) */
int			pgfs_lock_grace = PGFS_LOCK_GRACE_DEFAULT;

void		_PG_init(void);

void
_PG_init(void)
{
#if defined(__GLIBC__) && defined(M_MMAP_THRESHOLD)

	/*
	 * A read of a file range makes a few buffers of the range's size: the
	 * result, bytea_send's copy and the message to the client.  glibc maps
	 * any allocation over its mmap threshold afresh and, below that, gives
	 * the top of the heap back to the kernel once more than the trim
	 * threshold is free; either way the next read of the same size touches
	 * new pages, and the kernel zeroes each one.  Measured on the mount's
	 * 1 MiB reads, page faults were a third of the server's time, and a
	 * cold sequential read went from 300 to 540 MB/s with these settings.
	 * glibc's default, adaptive thresholds only rise after a large block is
	 * freed, to its size (32 MiB at most) and twice that for the trim, and
	 * still trim what several buffers of one read free together.  These
	 * are those ceilings, set from the start: a backend serving reads of
	 * up to 32 MiB reuses the same pages, and may keep up to 64 MiB of
	 * freed heap.
	 */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
	mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
#endif
	DefineCustomIntVariable("pgfs.default_uid",
							"Owner of files and directories created through the path API.",
							NULL, &pgfs_default_uid, 0, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgfs.default_gid",
							"Group of files and directories created through the path API.",
							NULL, &pgfs_default_gid, 0, 0, INT_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgfs.default_file_mode",
							"Permission bits of files created through the path API.",
							NULL, &pgfs_default_file_mode, 0644, 0, 07777,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgfs.default_dir_mode",
							"Permission bits of directories created through the path API.",
							NULL, &pgfs_default_dir_mode, 0755, 0, 07777,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgfs.compression_level",
							"LZ4HC level at which compressible chunks are recompressed.",
							"0 stores the output of fast lz4 alone; 1 to 12 trade write speed for smaller chunks.",
							&pgfs_compression_level, PGFS_COMPRESSION_LEVEL_DEFAULT,
							0, PGFS_COMPRESSION_LEVEL_MAX,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("pgfs.lock_grace",
							"Seconds after the server starts, restarts after a crash or is promoted during which the locks and open files of mounts that have not reconnected stand.",
							"Until then pgfs_reclaim_orphans() frees nothing, and after a crash (which loses the locks) only the locks mounts held are granted, to them; after it, a lock of a mount none of whose sessions is connected counts for nothing.",
							&pgfs_lock_grace, PGFS_LOCK_GRACE_DEFAULT, 0, 3600,
							PGC_SUSET, GUC_UNIT_S, NULL, NULL, NULL);
	CatalogInit();
	PgfsDeferInit();
#if PG_VERSION_NUM >= 150000
	MarkGUCPrefixReserved("pgfs");
#else
	EmitWarningsOnPlaceholders("pgfs");
#endif
}
