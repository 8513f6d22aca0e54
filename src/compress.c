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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <lz4.h>

#include "pgfs.h"

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

	if (srclen < 64)
		return 0;
	/* lz4 gives up as soon as the output would exceed limit */
	n = LZ4_compress_default(src, dst, srclen, Min(limit, dstcap));
	return (n > 0 && n <= limit) ? n : 0;
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
