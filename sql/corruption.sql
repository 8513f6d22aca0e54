-- damaged chunks raise ERRCODE_DATA_CORRUPTED naming the file; fsck lists them
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;

SELECT pgfs_write('/text', convert_to(repeat('compressible text ', 10000), 'UTF8'));
SELECT pgfs_write('/raw', (SELECT string_agg(uuid_send(gen_random_uuid()), '') FROM generate_series(1, 4096)));
SELECT * FROM pgfs_fsck();

-- flip bytes inside an lz4 chunk (its first frame, past the 16-byte frame table)
UPDATE pgfs.chunk c SET data = overlay(data PLACING '\xffffffffffffffff'::bytea FROM 36)
  FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id AND m.ino = (pgfs_stat('/text')).ino AND m.chunkno = 0;
SELECT pg_temp.try($$SELECT pgfs_read('/text', 0, 100)$$);
-- chunks not touched still read
SELECT convert_from(pgfs_read('/text', 65536 + 18 * 10, 18), 'UTF8');
-- truncate a raw chunk
UPDATE pgfs.chunk c SET data = substr(data, 1, 1000)
  FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id AND m.ino = (pgfs_stat('/raw')).ino AND m.chunkno = 0;
SELECT pg_temp.try($$SELECT pgfs_read('/raw', 2000, 100)$$);
SELECT length(pgfs_read('/raw', 0, 1000));
-- a wrong length header
UPDATE pgfs.chunk c SET rawlen = 70000
  FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id AND m.ino = (pgfs_stat('/text')).ino AND m.chunkno = 1;
SELECT pg_temp.try($$SELECT pgfs_read('/text', 65536, 10)$$);
-- a negative length is damage too, not a hole
UPDATE pgfs.chunk c SET rawlen = -1
  FROM pgfs.filemap m WHERE m.chunk_id = c.chunk_id AND m.ino = (pgfs_stat('/text')).ino AND m.chunkno = 2;
SELECT pg_temp.try($$SELECT pgfs_read('/text', 131072, 10)$$);
-- and through the inode API, which names the inode
SELECT pg_temp.try(format('SELECT pgfs_ll_read(%s, 0, 65536)', (pgfs_stat('/text')).ino));
-- a partial overwrite has to read the damaged chunk first: refused too
SELECT pg_temp.try($$SELECT pgfs_write('/text', 'x'::bytea, 5)$$);

SELECT problem, ino = (pgfs_stat('/text')).ino AS text_file, ino = (pgfs_stat('/raw')).ino AS raw_file
  FROM pgfs_fsck() ORDER BY problem, detail;

-- replacing the whole file heals it
SELECT pgfs_write('/text', 'fresh'::bytea), pgfs_write('/raw', 'fresh'::bytea);
SELECT * FROM pgfs_fsck();
SELECT pgfs_unlink('/text'), pgfs_unlink('/raw');
