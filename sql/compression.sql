-- chunk compression: fast lz4, then LZ4HC at pgfs.compression_level
SELECT pgfs_mkdir('/cz') > 1 AS made;
-- (the setting exists once the library is loaded)
SHOW pgfs.compression_level;
SET pgfs.compression_level = 13;
SET pgfs.compression_level = -1;

-- 320 KiB of seeded prose: five chunks that fast lz4 compresses
SELECT setseed(0.25);
CREATE TEMP TABLE src AS
SELECT substring(convert_to(string_agg(w[1 + floor(random() * array_length(w, 1))::int]
                                       || CASE WHEN random() < 0.1 THEN E'.\n' ELSE ' ' END, ''),
                            'UTF8') FROM 1 FOR 327680) AS data
  FROM (SELECT ARRAY['the', 'of the', 'a', 'table', 'row', 'is', 'can be', 'index', 'column',
                     'when the', 'transaction', 'commit', 'value', 'function', 'returns',
                     'for example,', 'in this case', 'server', 'client', 'the default is',
                     'chunk', 'compression', 'storage', 'must be', 'see Section']) v(w),
       generate_series(1, 80000);
SELECT length(data) FROM src;

SET pgfs.compression_level = 0;
SELECT pgfs_write('/cz/fast', data) FROM src;
RESET pgfs.compression_level;
SELECT pgfs_write('/cz/hc', data) FROM src;
SET pgfs.compression_level = 12;
SELECT pgfs_write('/cz/max', data) FROM src;
RESET pgfs.compression_level;

-- every level reads back the same bytes, and a file written at one level
-- reads back under another
SELECT f, pgfs_read('/cz/' || f) = (SELECT data FROM src) AS same
  FROM unnest(ARRAY['fast', 'hc', 'max']) f;
SET pgfs.compression_level = 0;
SELECT pgfs_read('/cz/hc', 100000, 70000) = substring((SELECT data FROM src) FROM 100001 FOR 70000) AS same;
RESET pgfs.compression_level;

-- all chunks compressed at every level, as lz4 frames (comp 2: chunks
-- longer than a 16 KiB frame); LZ4HC, at the default level and at the
-- highest, stores them smaller than fast lz4
CREATE TEMP VIEW stored AS
SELECT f, count(*) AS chunks,
       bool_and(c.comp = CASE WHEN c.rawlen > 16384 THEN 2 ELSE 1 END) AS all_lz4,
       sum(length(c.data)) AS bytes
  FROM unnest(ARRAY['fast', 'hc', 'max']) f
  JOIN pgfs.filemap m ON m.ino = (pgfs_stat('/cz/' || f)).ino
  JOIN pgfs.chunk c USING (chunk_id)
 GROUP BY f;
SELECT f, chunks, all_lz4 FROM stored ORDER BY f;
SELECT h.bytes < f.bytes AS default_smaller, x.bytes < f.bytes AS max_smaller
  FROM stored f, stored h, stored x
 WHERE f.f = 'fast' AND h.f = 'hc' AND x.f = 'max';

-- reads inside one frame, across frames and chunks, and of single bytes at
-- the edges decode only the frames they overlap, and return the bytes written
SELECT o, l, pgfs_read('/cz/hc', o, l) = substring((SELECT data FROM src) FROM o + 1 FOR l) AS same
  FROM (VALUES (0, 4096), (5000, 4096), (14000, 5000), (16383, 1), (16384, 4096),
               (32767, 2), (40000, 30000), (65526, 20), (98303, 2), (163839, 1),
               (200000, 100000)) v(o, l);

-- a chunk of 40000 bytes: frames of 16384, 16384 and 7232 bytes; one of
-- 12000: a single lz4 block (comp 1), as every chunk was before frames
SELECT pgfs_write('/cz/tail', substring(data FROM 1 FOR 40000)),
       pgfs_write('/cz/short', substring(data FROM 1 FOR 12000)) FROM src;
SELECT f, c.comp, c.rawlen
  FROM unnest(ARRAY['tail', 'short']) f
  JOIN pgfs.filemap m ON m.ino = (pgfs_stat('/cz/' || f)).ino
  JOIN pgfs.chunk c USING (chunk_id) ORDER BY f;
SELECT pgfs_read('/cz/tail', 32700, 1300) = substring(data FROM 32701 FOR 1300) AS tail_same,
       pgfs_read('/cz/short', 7000, 4096) = substring(data FROM 7001 FOR 4096) AS short_same
  FROM src;

-- frames of random bytes are stored raw inside a framed chunk whose other
-- frames compress
CREATE TEMP TABLE mixed AS
SELECT (SELECT string_agg(uuid_send(gen_random_uuid()), '') FROM generate_series(1, 2048))
       || substring(data FROM 1 FOR 32768) AS data FROM src;
SELECT pgfs_write('/cz/mixed', data) FROM mixed;
SELECT c.comp, length(c.data) BETWEEN 32768 + 16 AND 65536 - 8192 AS raw_frames
  FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id) WHERE m.ino = (pgfs_stat('/cz/mixed')).ino;
SELECT o, l, pgfs_read('/cz/mixed', o, l) = substring((SELECT data FROM mixed) FROM o + 1 FOR l) AS same
  FROM (VALUES (0, 65536), (100, 4096), (16000, 1000), (32000, 2000), (40000, 4096)) v(o, l);

-- a damaged frame table is reported, naming the file and the chunk, and so
-- are frames cut short
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d text;
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'inode [0-9]+', 'inode N') || ' ' || d;
END $$;
-- the end of frame 0 past the value's end
UPDATE pgfs.chunk c SET data = overlay(data PLACING '\xffffff7f'::bytea FROM 1)
  FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id AND m.ino = (pgfs_stat('/cz/hc')).ino AND m.chunkno = 0;
SELECT pg_temp.try($$SELECT pgfs_read('/cz/hc', 100, 10)$$);
SELECT pg_temp.try($$SELECT pgfs_read('/cz/hc', 20000, 10)$$);
-- frame 1 ending before frame 0
UPDATE pgfs.chunk c SET data = overlay(data PLACING '\x01000000'::bytea FROM 5)
  FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id AND m.ino = (pgfs_stat('/cz/hc')).ino AND m.chunkno = 1;
SELECT pg_temp.try($$SELECT pgfs_read('/cz/hc', 65536 + 20000, 10)$$);
-- frames cut short
UPDATE pgfs.chunk c SET data = substring(data FROM 1 FOR 3000)
  FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id AND m.ino = (pgfs_stat('/cz/hc')).ino AND m.chunkno = 2;
SELECT pg_temp.try($$SELECT pgfs_read('/cz/hc', 131072 + 40000, 10)$$);
SELECT pg_temp.try($$SELECT pgfs_read('/cz/hc', 131072, 10)$$);
-- a write into a damaged chunk is refused; untouched chunks still read
SELECT pg_temp.try($$SELECT pgfs_write('/cz/hc', 'x'::bytea, 5)$$);
SELECT pgfs_read('/cz/hc', 196608, 4096) = substring((SELECT data FROM src) FROM 196609 FOR 4096) AS same;
SELECT problem, detail ~ 'frame' AS frames FROM pgfs_fsck() ORDER BY detail;
SELECT pgfs_unlink('/cz/hc');

-- random data is stored raw at every level
SET pgfs.compression_level = 12;
SELECT pgfs_write('/cz/random', (SELECT string_agg(uuid_send(gen_random_uuid()), '') FROM generate_series(1, 8192)));
RESET pgfs.compression_level;
-- (a chunk's rawlen leaves out trailing zero bytes, which read back as zeros)
SELECT c.comp, length(c.data) = c.rawlen AS raw
  FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id)
 WHERE m.ino = (pgfs_stat('/cz/random')).ino ORDER BY m.chunkno;

SELECT pgfs_remove('/cz', true);
SELECT * FROM pgfs_fsck();
