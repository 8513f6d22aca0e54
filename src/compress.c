/*-------------------------------------------------------------------------
 *
 * compress.c
 *	  lz4 for chunks.
 *
 * A chunk is stored compressed only when that saves at least an eighth of
 * it: below that, the CPU spent decompressing on every read buys too little
 * disk.  Incompressible data (media, archives, encrypted files) is detected
 * by one failed attempt at write time and stored raw, so reads of it never
 * touch lz4.  Corrupt input makes lz4 report an error, never overrun: the
 * "_safe" decoders check every bound.
 *
 * Two passes.  Fast lz4 (LZ4_compress_default) goes first: on data that
 * does not compress it gives up within microseconds, so random data costs
 * what it always did.  A chunk it did compress is compressed again with
 * LZ4HC at pgfs.compression_level, and the smaller output is kept.  LZ4HC
 * searches harder for matches but writes the same format, so reads, and
 * chunks stored before the second pass existed, decode as before (and
 * somewhat faster: fewer, longer matches).  LZ4HC on its own would first
 * spend its full effort on random data only to throw the result away.
 *
 * Measured on 64 KiB blocks, one core of an AMD EPYC, lz4 1.9.4, 64 MiB of
 * the text of bench/sql_bench.sh (bench_gen_text); "stored/raw" counts a
 * block that fails the eighth as raw; MB/s is the whole write-side cost
 * (fast pass, then LZ4HC) per raw byte:
 *
 *	level			stored/raw	write MB/s	decode MB/s
 *	0 (fast only)	0.504		570			2700
 *	1 (= 2)			0.413		100			3600
 *	3				0.395		 80			3800
 *	4				0.383		 58			3900
 *	5				0.375		 45			3900
 *	6				0.371		 35			4000
 *	9				0.367		 20			3900
 *	12				0.362		 13			4100
 *
 * Random data goes at 11000 MB/s at every level, the fast pass rejecting it
 * before LZ4HC runs; LZ4HC 9 alone would take it at 72 MB/s.
 *
 * Level 1 takes a fifth off text (0.504 to 0.413); every further level buys
 * a few percent for a large share of the speed.  In bench/sql_bench.sh
 * --quick (one build, the level set per run):
 *
 *	level	disk/logical, text	big text write	128 KiB text files	big random write
 *	0		0.535				258 MiB/s		1007/s				227 MiB/s
 *	1		0.446				 80 MiB/s		 429/s				209 MiB/s
 *	3		0.416				 65 MiB/s		 411/s				214 MiB/s
 *	(a bytea column with pglz: 0.412, 41-43 MiB/s, 287-294/s)
 *
 * The target was at most 0.50 bytes on disk per byte of text (TOAST pages
 * and catalog rows included), which fast lz4 alone misses.  Level 1 meets
 * it with room to spare at the least cost any LZ4HC level has; the second
 * pass is then the largest cost of writing text, a third of level 0's speed
 * but still about twice a pglz column's.  Random data does not notice (the
 * big random write differs by noise).  Hence a default of 1, and 0 for
 * write-bound loads that would rather spend disk than CPU.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <lz4.h>
#include <lz4hc.h>

#include "utils/memutils.h"

#include "pgfs.h"

StaticAssertDecl(PGFS_COMPRESSION_LEVEL_MAX == LZ4HC_CLEVEL_MAX,
				 "pgfs.compression_level must span the LZ4HC levels");

/*
 * LZ4HC's working state (256 KiB) and the second pass's output, allocated on
 * a backend's first compressible chunk and kept: LZ4_compress_HC would
 * malloc and free the state for every chunk.
 */
static void *hc_state;
static char *hc_out;

int
PgfsCompressBound(int srclen)
{
	return LZ4_compressBound(srclen);
}

/*
 * Compress src into dst; returns the compressed length, or 0 when the data
 * does not compress well enough to be worth storing compressed.
 */
int
PgfsCompress(const char *src, int srclen, char *dst, int dstcap)
{
	int			limit = srclen - srclen / 8;
	int			n;
	int			hn;

	if (srclen < 64)
		return 0;
	/* lz4 gives up as soon as the output would exceed limit */
	n = LZ4_compress_default(src, dst, srclen, Min(limit, dstcap));
	if (n <= 0 || n > limit)
		return 0;
	if (pgfs_compression_level <= 0 || srclen > PGFS_CHUNK_SIZE)
		return n;

	if (hc_state == NULL)
	{
		hc_state = MemoryContextAlloc(TopMemoryContext, LZ4_sizeofStateHC());
		hc_out = MemoryContextAlloc(TopMemoryContext, PGFS_CHUNK_SIZE);
	}
	/* capped below n: LZ4HC stops once it cannot beat the fast pass */
	hn = LZ4_compress_HC_extStateHC(hc_state, src, hc_out, srclen, n - 1,
									pgfs_compression_level);
	if (hn <= 0)
		return n;
	memcpy(dst, hc_out, hn);
	return hn;
}

/*
 * Decompress a chunk holding rawlen bytes into dst, at least the first want
 * bytes of it (want <= rawlen).  Returns false when the data is corrupt.
 */
bool
PgfsDecompress(const char *src, int srclen, char *dst, int rawlen, int want)
{
	int			n;

	if (want >= rawlen)
		return LZ4_decompress_safe(src, dst, srclen, rawlen) == rawlen;
	n = LZ4_decompress_safe_partial(src, dst, srclen, want, rawlen);
	return n >= want;
}
