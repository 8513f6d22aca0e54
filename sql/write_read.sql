-- whole-file and ranged writes and reads, holes, sparse files, compression
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;

SELECT pgfs_mkdir('/wr') > 1 AS made;
-- create, read back whole and by range
SELECT pgfs_write('/wr/a', 'hello world'::bytea);
SELECT convert_from(pgfs_read('/wr/a'), 'UTF8');
SELECT convert_from(pgfs_read('/wr/a', 6, 5), 'UTF8');
SELECT convert_from(pgfs_read('/wr/a', 6), 'UTF8');
-- reads past the end are short or empty
SELECT length(pgfs_read('/wr/a', 8, 100)), length(pgfs_read('/wr/a', 11, 10)), length(pgfs_read('/wr/a', 1000, 10));
-- whole-file write replaces
SELECT pgfs_write('/wr/a', 'bye'::bytea);
SELECT convert_from(pgfs_read('/wr/a'), 'UTF8'), (pgfs_stat('/wr/a')).size;
-- write at an offset past the end leaves a hole of zeros
SELECT pgfs_write('/wr/a', 'XY'::bytea, 10);
SELECT encode(pgfs_read('/wr/a'), 'hex'), (pgfs_stat('/wr/a')).size;
-- overwrite in the middle
SELECT pgfs_write('/wr/a', 'Z'::bytea, 1);
SELECT encode(pgfs_read('/wr/a'), 'hex');
-- append
SELECT pgfs_append('/wr/a', '!!'::bytea);
SELECT encode(pgfs_read('/wr/a', 10), 'hex');
SELECT pgfs_append('/wr/new', 'first'::bytea);
SELECT convert_from(pgfs_read('/wr/new'), 'UTF8');

-- a multi-chunk file: 512 KiB + 5 bytes of a recognizable pattern
SELECT pgfs_write('/wr/big', decode(repeat('0123456789abcdef', 65536), 'hex') || '\x0102030405'::bytea);
SELECT (pgfs_stat('/wr/big')).size;
SELECT md5(pgfs_read('/wr/big')) = md5(decode(repeat('0123456789abcdef', 65536), 'hex') || '\x0102030405'::bytea) AS same;
-- a range straddling chunk boundaries (chunks are 64 KiB)
SELECT encode(pgfs_read('/wr/big', 65534, 4), 'hex'), encode(pgfs_read('/wr/big', 524286, 10), 'hex');
-- a 4 KiB write in the middle rewrites only its chunk
SELECT pgfs_write('/wr/big', decode(repeat('ff', 4096), 'hex'), 300000);
SELECT encode(pgfs_read('/wr/big', 299998, 4), 'hex'), encode(pgfs_read('/wr/big', 304094, 4), 'hex');
SELECT count(*) AS chunks FROM pgfs.filemap m JOIN pgfs_stat('/wr/big') s ON s.ino = m.ino;

-- sparse: 5 GiB file stores only what was written
SELECT pgfs_write('/wr/sparse', 'end'::bytea, 5368709120);
SELECT size, blocks FROM pgfs_stat('/wr/sparse');
SELECT encode(pgfs_read('/wr/sparse', 5368709118, 10), 'hex');
SELECT encode(pgfs_read('/wr/sparse', 4294967290, 12), 'hex');
-- writing zeros over data punches no data: the chunk disappears
SELECT pgfs_write('/wr/z', decode(repeat('00', 70000), 'hex'));
SELECT size, blocks FROM pgfs_stat('/wr/z');
SELECT count(*) FROM pgfs.filemap m JOIN pgfs_stat('/wr/z') s ON s.ino = m.ino;

-- compression: text compresses, random data is stored raw
SELECT pgfs_write('/wr/text', convert_to(repeat('the quick brown fox jumps over the lazy dog ', 3000), 'UTF8'));
SELECT pgfs_write('/wr/random', (SELECT string_agg(uuid_send(gen_random_uuid()), '') FROM generate_series(1, 8192)));
SELECT s.size, c.comp, c.rawlen, length(c.data) < c.rawlen / 4 AS small
  FROM pgfs_stat('/wr/text') s JOIN pgfs.filemap m ON m.ino = s.ino JOIN pgfs.chunk c USING (chunk_id) ORDER BY m.chunkno;
-- (rawlen leaves out trailing zero bytes: "whole" allows a few)
SELECT s.size, c.comp, c.rawlen > 65000 AS whole, length(c.data) = c.rawlen AS raw
  FROM pgfs_stat('/wr/random') s JOIN pgfs.filemap m ON m.ino = s.ino JOIN pgfs.chunk c USING (chunk_id) ORDER BY m.chunkno;
SELECT convert_from(pgfs_read('/wr/text', 44 * 2000, 44), 'UTF8');

-- truncate: shrink, then grow again: the cut bytes come back as zeros
SELECT pgfs_write('/wr/t', decode(repeat('ab', 200000), 'hex'));
SELECT pgfs_truncate('/wr/t', 65540);
SELECT size, blocks FROM pgfs_stat('/wr/t');
SELECT pgfs_truncate('/wr/t', 131072);
SELECT encode(pgfs_read('/wr/t', 65536, 8), 'hex'), (pgfs_stat('/wr/t')).size;
SELECT pgfs_truncate('/wr/t', 0);
SELECT size, blocks FROM pgfs_stat('/wr/t');

-- a whole-file read larger than a bytea can hold is refused with a hint
SELECT pgfs_truncate('/wr/t', 2147483648);
SELECT pg_temp.try($$SELECT pgfs_read('/wr/t')$$);
SELECT length(pgfs_read('/wr/t', 2147483640, 100));

-- reading and writing need a regular file
SELECT pg_temp.try($$SELECT pgfs_read('/wr')$$);
SELECT pg_temp.try($$SELECT pgfs_write('/wr', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_write('/wr/a/', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_write('/wr/nodir/', 'x'::bytea)$$);

SELECT pgfs_remove('/wr', true);
SELECT * FROM pgfs_fsck();
SELECT count(*) FROM pgfs.chunk;
