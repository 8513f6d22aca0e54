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
 * Frames.  A chunk was once one lz4 block (PGFS_COMP_LZ4), and a 4 KiB read
 * of it fetched all its TOAST rows and decoded up to the read's end, on
 * average half the chunk: 4 KiB random reads of text ran at 0.8x large
 * objects, whose 2 KiB pages decode little.  A chunk longer than
 * PGFS_FRAME_SIZE is now stored as independently compressed frames behind
 * a table of their ends (PGFS_COMP_LZ4_FRAMES, layout in pgfs.h), so such
 * a read fetches the table and the frame's TOAST rows only and decodes at
 * most one frame.  A frame that does not compress is stored raw inside the
 * chunk; the chunk as a whole must still save an eighth.  Chunks of one
 * frame or less stay single blocks, and old single-block chunks read as
 * before.
 *
 * Smaller frames read faster and compress worse, since lz4 finds no
 * matches across a frame's start.  On the benchmark text (64 MiB of
 * bench_gen_text, below), stored/raw per frame size and LZ4HC level:
 *
 *	frame		level 1		level 3		level 4		level 6
 *	64 KiB		0.413		0.395		0.383		0.371
 *	32 KiB		0.433		0.418		0.409		0.401
 *	16 KiB		0.466		0.455		0.449		0.444
 *	8 KiB		0.517
 *
 * and in one session of bench_rand_reads-style 4 KiB reads of a 64 MiB text
 * file (5000 reads per figure, best of 3; noisy machine):
 *
 *	single 64 KiB blocks	34-37k reads/s
 *	32 KiB frames			44k
 *	16 KiB frames			55-58k
 *	large objects			41-44k
 *
 * 32 KiB frames only draw level with large objects; 16 KiB frames beat
 * them by a third.  On disk the benchmark counts TOAST row headers, pages
 * and indexes too (about 1.09x the stored bytes): 16 KiB frames at level 1
 * measured 0.509 bytes per byte of text, over the 0.50 target, and at
 * level 4 0.477.  Hence 16 KiB frames and a default level of 4, which
 * costs text writes a quarter of their speed: 43-64 MiB/s against 59-87 at
 * level 1 and 35-41 for a bytea column with pglz, in alternating runs of
 * one session (64 MiB each).  Random data does not notice.  Full runs of
 * bench/sql_bench.sh, one before frames and one after, each on a new
 * cluster of the same machine:
 *
 *								single blocks, level 1	16 KiB frames, level 4
 *	4 KiB random reads, text	0.73x large objects		1.32x
 *	disk per byte of text		0.445					0.477
 *	big text write				2.02x bytea				1.50x
 *	big text read				2.22x bytea				2.45x
 *	128 KiB text files read		2.48x bytea				3.40x
 *	128 KiB text files written	1.65x bytea				1.32x
 *
 * (reads of whole frames decode straight into the result, which is why
 * large reads of text gained too).
 *
 * Chunks of one frame or less (small files, the tails of others) are
 * stored as fast lz4 makes them, without the LZ4HC pass.  LZ4HC's cost per
 * byte is highest on small inputs: 40-50 us for a 4 KiB block of the
 * benchmark text at level 1 as at level 4, a tenth of a 4 KiB file's whole
 * write transaction, to store 0.58 of it instead of 0.64 (about 230 bytes
 * less).  Without it the backend spent 21-23 ticks of CPU per 1000 4 KiB
 * text files written by pgbench instead of 26-31 (a bytea column: 25-27),
 * alternating runs in one session.
 *
 * Two passes.  Fast lz4 (LZ4_compress_default) goes first: on data that
 * does not compress it gives up within microseconds, so random data costs
 * what it always did.  A block it did compress is compressed again with
 * LZ4HC at pgfs.compression_level, and the smaller output is kept.  LZ4HC
 * searches harder for matches but writes the same format, so reads, and
 * chunks stored before the second pass existed, decode as before (and
 * somewhat faster: fewer, longer matches).  LZ4HC on its own would first
 * spend its full effort on random data only to throw the result away; so
 * the frames after one that compressed skip the fast pass and go to LZ4HC
 * directly (compressing text 5-10 % faster at level 4 in a standalone test
 * of 16 KiB frames, 15-50 % at level 1), while the frames after one that
 * did not are guarded by it again.
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
 * With single 64 KiB blocks, level 1 took a fifth off text (0.504 to 0.413)
 * and every further level bought a few percent for a large share of the
 * speed.  In bench/sql_bench.sh --quick (one build, the level set per run):
 *
 *	level	disk/logical, text	big text write	128 KiB text files	big random write
 *	0		0.535				258 MiB/s		1007/s				227 MiB/s
 *	1		0.446				 80 MiB/s		 429/s				209 MiB/s
 *	3		0.416				 65 MiB/s		 411/s				214 MiB/s
 *	(a bytea column with pglz: 0.412, 41-43 MiB/s, 287-294/s)
 *
 * The target is at most 0.50 bytes on disk per byte of text (TOAST pages
 * and catalog rows included), which fast lz4 alone misses.  Level 1 met it
 * with room to spare for 64 KiB blocks; 16 KiB frames spend that room and
 * more, and level 4 buys it back (above).  Level 0 remains for write-bound
 * loads that would rather spend disk than CPU.
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
 * One lz4 block of src in at most cap bytes, or 0 when it does not fit.
 * With guard, the fast pass goes first and LZ4HC (at pgfs.compression_level)
 * only tries to beat what it made; without, LZ4HC goes alone, for a frame
 * of a chunk whose previous frame compressed.
 */
static int
CompressBlock(const char *src, int srclen, char *dst, int cap, bool guard)
{
	int			n = 0;
	int			hn;

	if (guard || pgfs_compression_level <= 0)
	{
		/* lz4 gives up as soon as the output would exceed cap */
		n = LZ4_compress_default(src, dst, srclen, cap);
		if (n <= 0 || n > cap)
			return 0;
		if (pgfs_compression_level <= 0)
			return n;
		/* capped below n: LZ4HC stops once it cannot beat the fast pass */
		cap = n - 1;
	}
	if (srclen > PGFS_CHUNK_SIZE || cap <= 0)
		return n;
	if (hc_state == NULL)
	{
		hc_state = MemoryContextAlloc(TopMemoryContext, LZ4_sizeofStateHC());
		hc_out = MemoryContextAlloc(TopMemoryContext, PGFS_CHUNK_SIZE);
	}
	hn = LZ4_compress_HC_extStateHC(hc_state, src, hc_out, srclen, cap,
									pgfs_compression_level);
	if (hn <= 0 || hn > cap)
		return n;
	memcpy(dst, hc_out, hn);
	return hn;
}

/*
 * Compress src into dst as one lz4 block (PGFS_COMP_LZ4); returns the
 * compressed length, or 0 when the data does not compress well enough to be
 * worth storing compressed.
 */
static int
CompressOne(const char *src, int srclen, char *dst, int dstcap)
{
	int			limit = srclen - srclen / 8;
	int			n;

	if (srclen < 64)
		return 0;
	/* lz4 gives up as soon as the output would exceed the limit */
	n = LZ4_compress_default(src, dst, srclen, Min(limit, dstcap));
	return n > 0 && n <= limit ? n : 0;
}

static inline void
Put32(char *p, uint32 v)
{
	unsigned char *u = (unsigned char *) p;

	u[0] = v & 0xff;
	u[1] = (v >> 8) & 0xff;
	u[2] = (v >> 16) & 0xff;
	u[3] = (v >> 24) & 0xff;
}

static inline uint32
Get32(const char *p)
{
	const unsigned char *u = (const unsigned char *) p;

	return (uint32) u[0] | ((uint32) u[1] << 8) | ((uint32) u[2] << 16) | ((uint32) u[3] << 24);
}

/*
 * Compress a chunk of srclen bytes into dst (PgfsCompressBound(srclen)
 * bytes) the way it is best stored: PGFS_COMP_LZ4_FRAMES when it is longer
 * than a frame, else PGFS_COMP_LZ4.  Returns the stored length and sets
 * *comp, or returns 0 when the chunk is better stored raw.
 */
int
PgfsCompressChunk(const char *src, int srclen, char *dst, int *comp)
{
	int			nframes = PGFS_FRAMES(srclen);
	int			hdr = PGFS_FRAME_HEADER(nframes);
	int			limit = srclen - srclen / 8;
	int			pos = hdr;
	bool		guard = true;

	if (nframes <= 1)
	{
		/* a chunk of one frame: fast lz4 alone (see the top of the file) */
		*comp = PGFS_COMP_LZ4;
		return CompressOne(src, srclen, dst, PgfsCompressBound(srclen));
	}
	*comp = PGFS_COMP_LZ4_FRAMES;
	for (int k = 0; k < nframes; k++)
	{
		const char *fsrc = src + k * PGFS_FRAME_SIZE;
		int			flen = Min(PGFS_FRAME_SIZE, srclen - k * PGFS_FRAME_SIZE);
		int			budget = limit - pos;
		int			n;

		if (budget <= 0)
			return 0;
		/* compressed only if shorter than raw: equal lengths mean a raw frame */
		n = CompressBlock(fsrc, flen, dst + pos, Min(flen - 1, budget), guard);
		guard = n <= 0;
		if (n <= 0)
		{
			/* a frame that does not compress is stored raw, if the chunk still pays */
			if (flen > budget)
				return 0;
			memcpy(dst + pos, fsrc, flen);
			n = flen;
		}
		pos += n;
		Put32(dst + 4 * k, pos - hdr);
	}
	return pos;
}

/*
 * Where frame k of a framed chunk holding rawlen bytes lies in its stored
 * bytes (stored long): [*start, *end).  hdr holds at least the header
 * entries 0 .. k.  false when the header is corrupt.
 */
bool
PgfsFrameBounds(const char *hdr, int rawlen, int stored, int k, int *start, int *end)
{
	int			nframes = PGFS_FRAMES(rawlen);
	int			h = PGFS_FRAME_HEADER(nframes);
	int			flen = PGFS_FRAME_LEN(rawlen, k);
	uint32		s = k == 0 ? 0 : Get32(hdr + 4 * (k - 1));
	uint32		e = Get32(hdr + 4 * k);

	if (k < 0 || k >= nframes || stored < h || s >= e || e > (uint32) (stored - h) ||
		e - s > (uint32) flen)
		return false;
	*start = h + s;
	*end = h + e;
	return true;
}

/*
 * Decode the first want bytes of a frame of flen bytes stored in
 * src[0..srclen) into dst, which holds exactly want bytes.  false when the
 * data is corrupt.
 */
bool
PgfsDecodeFrame(const char *src, int srclen, char *dst, int flen, int want)
{
	if (srclen == flen)
	{
		memcpy(dst, src, want);
		return true;
	}
	if (want >= flen)
		return LZ4_decompress_safe(src, dst, srclen, flen) == flen;
	/* capacity want: lz4 writes nothing past it */
	return LZ4_decompress_safe_partial(src, dst, srclen, want, want) == want;
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

/*
 * Decode the first want bytes of a framed chunk, stored in src[0..srclen),
 * into dst.  false when the data is corrupt.
 */
bool
PgfsDecompressFrames(const char *src, int srclen, char *dst, int rawlen, int want)
{
	int			nframes = PGFS_FRAMES(rawlen);
	int			start = 0;
	int			end = 0;

	if (srclen < PGFS_FRAME_HEADER(nframes))
		return false;
	for (int k = 0; k < nframes; k++)
	{
		int			flen = PGFS_FRAME_LEN(rawlen, k);
		int			fwant = Min(flen, want - k * PGFS_FRAME_SIZE);

		if (!PgfsFrameBounds(src, rawlen, srclen, k, &start, &end))
			return false;
		if (fwant > 0 &&
			!PgfsDecodeFrame(src + start, end - start, dst + k * PGFS_FRAME_SIZE, flen, fwant))
			return false;
	}
	/* the last frame ends where the value does */
	return end == srclen;
}
