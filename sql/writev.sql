-- pgfs_ll_writev: scattered pieces in one change, in order; the same bytes
-- as the writes one at a time; copy-on-write kept; the errors change nothing
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'inode [0-9]+', 'inode N', 'g'); END $$;
CREATE FUNCTION pg_temp.noise(n int, seed int) RETURNS bytea LANGUAGE sql AS $$
    SELECT substring(string_agg(decode(md5(seed::text || ':' || i), 'hex'), ''::bytea ORDER BY i) FROM 1 FOR n)
      FROM generate_series(0, (n - 1) / 16) i $$;

SELECT pgfs_mkdir('/wv') > 0 AS made;
SELECT pgfs_write('/wv/a', 'abcdefghij'::bytea);
SELECT (pgfs_stat('/wv/a')).ino AS a \gset
-- three pieces: inside, overlapping the end, past the end with a hole
SELECT pgfs_ll_writev(:a, '{1,8,14}', '{2,4,2}', 'XYPQRSuv'::bytea) AS size;
SELECT pgfs_read('/wv/a');
-- where pieces overlap, the later one wins
SELECT pgfs_ll_writev(:a, '{0,2,1}', '{4,1,2}', '1234_ab'::bytea) AS size;
SELECT pgfs_read('/wv/a', 0, 6);
-- no pieces, or empty ones: nothing written, the size stays
SELECT pgfs_ll_writev(:a, '{}', '{}', ''::bytea) AS size,
       pgfs_ll_writev(:a, '{100}', '{0}', ''::bytea) AS size_after_empty;

-- across chunks: pieces over a chunk boundary, and far apart (holes between)
SELECT pgfs_write('/wv/big', ''::bytea);
SELECT (pgfs_stat('/wv/big')).ino AS big \gset
SELECT pgfs_ll_writev(:big, '{65000,300000,1048576}', '{1000,70000,10}',
                      pg_temp.noise(71010, 2)) AS size;
SELECT pgfs_read('/wv/big', 65000, 1000) = substring(pg_temp.noise(71010, 2) FROM 1 FOR 1000) AS first,
       pgfs_read('/wv/big', 300000, 70000) = substring(pg_temp.noise(71010, 2) FROM 1001 FOR 70000) AS second,
       pgfs_read('/wv/big', 1048576, 10) = substring(pg_temp.noise(71010, 2) FROM 71001 FOR 10) AS third,
       pgfs_read('/wv/big', 66000, 234000) = decode(repeat('00', 234000), 'hex') AS hole;
SELECT array_agg(chunkno ORDER BY chunkno) AS chunks FROM pgfs.filemap WHERE ino = :big;

-- the same random pieces as one writev and as writes one at a time: same bytes, same blocks
SELECT pgfs_write('/wv/one', ''::bytea), pgfs_write('/wv/many', ''::bytea);
SELECT (pgfs_stat('/wv/one')).ino AS one, (pgfs_stat('/wv/many')).ino AS many \gset
SELECT setseed(0.25);
CREATE TEMP TABLE piece AS
SELECT i, (random() * 400000)::bigint AS off, (1 + random() * 9000)::int AS len
  FROM generate_series(1, 60) i;
SELECT pgfs_ll_writev(:one, array_agg(off ORDER BY i), array_agg(len ORDER BY i),
                      string_agg(pg_temp.noise(len, i), ''::bytea ORDER BY i)) > 0 AS written
  FROM piece;
SELECT count(pgfs_ll_write(:many, off, pg_temp.noise(len, i))) AS writes FROM (SELECT * FROM piece ORDER BY i) p;
SELECT pgfs_read('/wv/one') = pgfs_read('/wv/many') AS same_bytes,
       (pgfs_stat('/wv/one')).size = (pgfs_stat('/wv/many')).size AS same_size,
       (pgfs_stat('/wv/one')).blocks = (pgfs_stat('/wv/many')).blocks AS same_blocks;

-- a shared chunk is copied before it changes: the other file keeps its bytes
SELECT pgfs_write('/wv/src', pg_temp.noise(131072, 3));
SELECT pgfs_copy('/wv/src', '/wv/clone') > 0 AS copied;
SELECT (pgfs_stat('/wv/clone')).ino AS clone \gset
SELECT pgfs_ll_writev(:clone, '{10,70000,20}', '{3,3,3}', 'aaabbbccc'::bytea) AS size;
SELECT pgfs_read('/wv/src') = pg_temp.noise(131072, 3) AS source_intact,
       pgfs_read('/wv/clone', 10, 13) = 'aaa'::bytea || substring(pg_temp.noise(131072, 3) FROM 14 FOR 7)
           || 'ccc'::bytea AS clone_changed,
       pgfs_read('/wv/clone', 70000, 3) = 'bbb'::bytea AS second_chunk;

-- bad input: the error names the inode, and nothing changes
SELECT md5(pgfs_read('/wv/a')) AS before, (pgfs_stat('/wv/a')).mtime AS mtime_before \gset
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0,5}', '{1}', 'x'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0,5}', '{1,1}', 'x'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0}', '{1}', 'xy'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0,5}', '{2,-1}', 'xy'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0,NULL}', '{1,1}', 'xy'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0,1}', '{1,NULL}', 'xy'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{{0},{1}}', '{{1},{1}}', 'xy'));
-- a valid first piece, then one negative or past the maximum size: the first is not written
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0,-3}', '{1,1}', 'xy'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', :a, '{0,1125899906842624}', '{1,1}', 'xy'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', (pgfs_stat('/wv')).ino, '{0}', '{1}', 'x'));
SELECT pg_temp.try(format('SELECT pgfs_ll_writev(%s, %L, %L, %L::bytea)', 999999999, '{0}', '{1}', 'x'));
-- STRICT: a NULL argument returns NULL and does nothing
SELECT pgfs_ll_writev(:a, NULL, '{1}', 'x'::bytea) IS NULL AS strict_null;
SELECT md5(pgfs_read('/wv/a')) = :'before' AS unchanged,
       (pgfs_stat('/wv/a')).mtime = :'mtime_before' AS mtime_unchanged;

-- durable => false: committed like any other, visible at once
SELECT pgfs_ll_writev(:a, '{0}', '{1}', 'D'::bytea, false) AS size;
SELECT pgfs_read('/wv/a', 0, 1);

SELECT pgfs_remove('/wv', true) > 0 AS removed;
SELECT * FROM pgfs_fsck();
