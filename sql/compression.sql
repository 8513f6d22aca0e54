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

-- all chunks compressed at every level; LZ4HC, at the default level and at
-- the highest, stores them smaller than fast lz4
CREATE TEMP VIEW stored AS
SELECT f, count(*) AS chunks, bool_and(c.comp = 1) AS all_lz4, sum(length(c.data)) AS bytes
  FROM unnest(ARRAY['fast', 'hc', 'max']) f
  JOIN pgfs.filemap m ON m.ino = (pgfs_stat('/cz/' || f)).ino
  JOIN pgfs.chunk c USING (chunk_id)
 GROUP BY f;
SELECT f, chunks, all_lz4 FROM stored ORDER BY f;
SELECT h.bytes < f.bytes AS default_smaller, x.bytes < f.bytes AS max_smaller
  FROM stored f, stored h, stored x
 WHERE f.f = 'fast' AND h.f = 'hc' AND x.f = 'max';

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
