-- copy_file_range, fallocate and SEEK_DATA/SEEK_HOLE of the inode API:
-- chunks shared and copied, holes punched and found, the errors, fsck
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, 'inode [0-9]+', 'inode N', 'g'); END $$;
-- deterministic incompressible bytes: md5 chains
CREATE FUNCTION pg_temp.noise(n int, seed int) RETURNS bytea LANGUAGE sql AS $$
    SELECT substring(string_agg(decode(md5(seed::text || ':' || i), 'hex'), ''::bytea ORDER BY i) FROM 1 FOR n)
      FROM generate_series(0, (n - 1) / 16) i $$;
CREATE FUNCTION pg_temp.zeros(n int) RETURNS bytea LANGUAGE sql AS $$
    SELECT decode(repeat('00', n), 'hex') $$;

SELECT pgfs_mkdir('/rg') > 0 AS made;
-- 4 chunks and a part: 300000 bytes
SELECT pgfs_write('/rg/src', pg_temp.noise(300000, 1));
SELECT pgfs_write('/rg/dst', ''::bytea);
SELECT (pgfs_stat('/rg/src')).ino AS src, (pgfs_stat('/rg/dst')).ino AS dst \gset

-- at the same place in a chunk: every chunk shared, the partial last one too
SELECT pgfs_ll_copy_range(:src, 0, :dst, 0, 1000000) AS copied;
SELECT pgfs_read('/rg/dst') = pg_temp.noise(300000, 1) AS same;
SELECT count(*) AS shared FROM pgfs.filemap a JOIN pgfs.filemap b USING (chunk_id)
 WHERE a.ino = :src AND b.ino = :dst;
SELECT (pgfs_stat('/rg/dst')).blocks = (pgfs_stat('/rg/src')).blocks AS same_blocks;
-- a write to the copy copies its chunk first; the source keeps its bytes
SELECT pgfs_write('/rg/dst', 'changed'::bytea, 70000) AS written;
SELECT pgfs_read('/rg/src') = pg_temp.noise(300000, 1) AS source_intact,
       pgfs_read('/rg/dst', 70000, 7) = 'changed'::bytea AS copy_changed;
SELECT count(*) AS still_shared FROM pgfs.filemap a JOIN pgfs.filemap b USING (chunk_id)
 WHERE a.ino = :src AND b.ino = :dst;
-- elsewhere in a chunk: copied through memory, into the middle
SELECT pgfs_ll_copy_range(:src, 1000, :dst, 5, 100000) AS copied;
SELECT pgfs_read('/rg/dst', 0, 100010) = substring(pgfs_read('/rg/dst') FROM 1 FOR 5)
       || substring(pg_temp.noise(300000, 1) FROM 1001 FOR 100000)
       || substring(pg_temp.noise(300000, 1) FROM 100006 FOR 5) AS middle;
-- past the end: a hole, then the bytes; from the end: nothing
SELECT pgfs_ll_copy_range(:src, 0, :dst, 400000, 65536) AS copied;
SELECT (pgfs_stat('/rg/dst')).size,
       pgfs_read('/rg/dst', 300000, 100000) = pg_temp.zeros(100000) AS hole,
       pgfs_read('/rg/dst', 400000, 65536) = substring(pg_temp.noise(300000, 1) FROM 1 FOR 65536) AS tail;
SELECT pgfs_ll_copy_range(:src, 300000, :dst, 0, 10) AS at_end,
       pgfs_ll_copy_range(:src, 299990, :dst, 0, 1000) AS short;
-- one source chunk twice in one file, then all of it dropped: counts stay right
SELECT pgfs_write('/rg/twice', ''::bytea);
SELECT (pgfs_stat('/rg/twice')).ino AS twice \gset
SELECT pgfs_ll_copy_range(:src, 65536, :twice, 0, 65536), pgfs_ll_copy_range(:src, 65536, :twice, 131072, 65536);
SELECT refs FROM pgfs.chunk WHERE chunk_id = (SELECT chunk_id FROM pgfs.filemap WHERE ino = :src AND chunkno = 1);
SELECT pgfs_truncate('/rg/twice', 0);
SELECT refs FROM pgfs.chunk WHERE chunk_id = (SELECT chunk_id FROM pgfs.filemap WHERE ino = :src AND chunkno = 1);
-- within one file: nothing shared, ranges must not overlap
SELECT pgfs_ll_copy_range(:src, 0, :src, 300000, 70000) AS copied;
SELECT pgfs_read('/rg/src', 300000, 70000) = substring(pg_temp.noise(300000, 1) FROM 1 FOR 70000) AS self;
SELECT pgfs_truncate('/rg/src', 300000);
SELECT pg_temp.try(format('SELECT pgfs_ll_copy_range(%s, 0, %s, 100, 1000)', :src, :src));
SELECT pg_temp.try(format('SELECT pgfs_ll_copy_range(%s, -1, %s, 0, 10)', :src, :dst));
SELECT pg_temp.try(format('SELECT pgfs_ll_copy_range(%s, 0, %s, 1125899906842620, 10)', :src, :dst));
SELECT pg_temp.try(format('SELECT pgfs_ll_copy_range(%s, 0, %s, 0, 10)', :src, (pgfs_stat('/rg')).ino));
SELECT pg_temp.try(format('SELECT pgfs_ll_copy_range(%s, 0, 999999999, 0, 10)', :src));

-- fallocate: grow, keep size, punch, zero
SELECT pgfs_write('/rg/fa', pg_temp.noise(200000, 2));
SELECT (pgfs_stat('/rg/fa')).ino AS fa \gset
SELECT pgfs_ll_fallocate(:fa, 0, 0, 300000) AS size;
SELECT pgfs_read('/rg/fa') = pg_temp.noise(200000, 2) || pg_temp.zeros(100000) AS grown;
SELECT pgfs_ll_fallocate(:fa, 1, 0, 1000000) AS keep_size;
SELECT (pgfs_stat('/rg/fa')).blocks AS blocks_before \gset
SELECT pgfs_ll_fallocate(:fa, 3, 1000, 150000) AS punched;
SELECT pgfs_read('/rg/fa', 0, 200000) = substring(pg_temp.noise(200000, 2) FROM 1 FOR 1000)
       || pg_temp.zeros(150000) || substring(pg_temp.noise(200000, 2) FROM 151001) AS hole_punched,
       (pgfs_stat('/rg/fa')).blocks < :blocks_before - 200 AS freed;
SELECT count(*) AS chunks FROM pgfs.filemap WHERE ino = :fa;
SELECT pgfs_ll_fallocate(:fa, 16, 190000, 110000 + 50000) AS zeroed_and_grown;
SELECT pgfs_read('/rg/fa', 151000, 199000) = substring(pg_temp.noise(200000, 2) FROM 151001 FOR 39000)
       || pg_temp.zeros(160000) AS zero_range;
SELECT pgfs_ll_fallocate(:fa, 17, 340000, 1000) AS zero_keep_size;
SELECT pg_temp.try(format('SELECT pgfs_ll_fallocate(%s, 2, 0, 10)', :fa));
SELECT pg_temp.try(format('SELECT pgfs_ll_fallocate(%s, 8, 0, 65536)', :fa));
SELECT pg_temp.try(format('SELECT pgfs_ll_fallocate(%s, 18, 0, 10)', :fa));
SELECT pg_temp.try(format('SELECT pgfs_ll_fallocate(%s, 0, 0, 0)', :fa));
SELECT pg_temp.try(format('SELECT pgfs_ll_fallocate(%s, 0, 1125899906842620, 10)', :fa));

-- SEEK_DATA (3) and SEEK_HOLE (4)
SELECT pgfs_write('/rg/sp', 'x'::bytea, 0), pgfs_write('/rg/sp', 'y'::bytea, 1048576),
       pgfs_truncate('/rg/sp', 2097152);
SELECT (pgfs_stat('/rg/sp')).ino AS sp \gset
SELECT pgfs_ll_seek(:sp, 0, 3) AS data0, pgfs_ll_seek(:sp, 0, 4) AS hole0,
       pgfs_ll_seek(:sp, 4096, 3) AS next_data, pgfs_ll_seek(:sp, 1048576, 4) AS next_hole,
       pgfs_ll_seek(:sp, 1500000, 4) AS in_hole;
SELECT pgfs_ll_seek(:fa, 0, 4) AS fa_hole, pgfs_ll_seek(:fa, 1000, 3) AS fa_data_in_block,
       pgfs_ll_seek(:fa, 4096, 3) AS fa_next_data;
SELECT pg_temp.try(format('SELECT pgfs_ll_seek(%s, 1200000, 3)', :sp));
SELECT pg_temp.try(format('SELECT pgfs_ll_seek(%s, 2097152, 4)', :sp));
SELECT pg_temp.try(format('SELECT pgfs_ll_seek(%s, -1, 3)', :sp));
SELECT pg_temp.try(format('SELECT pgfs_ll_seek(%s, 0, 0)', :sp));
SELECT pg_temp.try(format('SELECT pgfs_ll_seek(%s, 0, 3)', (pgfs_stat('/rg')).ino));

SELECT * FROM pgfs_fsck();
SELECT pgfs_remove('/rg', true) > 0 AS removed;
SELECT count(*) AS chunks_left FROM pgfs.chunk;
SELECT * FROM pgfs_fsck();
