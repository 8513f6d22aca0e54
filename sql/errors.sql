-- bad input: a documented SQLSTATE, the path in the message, and no change
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;
-- a fingerprint of the whole store, to show failed calls change nothing
CREATE FUNCTION pg_temp.manifest() RETURNS text LANGUAGE sql AS $$
  SELECT md5(string_agg(x, ',' ORDER BY x)) FROM (
    SELECT i.ino || ':' || i.mode || ':' || i.nlink || ':' || i.size || ':' || i.generation AS x FROM pgfs.inode i
    UNION ALL SELECT d.parent || '/' || encode(d.name, 'hex') || '=' || d.ino || '@' || d.cookie FROM pgfs.dirent d
    UNION ALL SELECT m.ino || '#' || m.chunkno || '=' || md5(c.data) FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id)
    UNION ALL SELECT x.ino || '!' || encode(x.name, 'hex') || '=' || encode(x.value, 'hex') FROM pgfs.xattr x) s $$;

-- the table
SELECT * FROM pgfs_errcodes() ORDER BY sqlstate;

SELECT pgfs_mkdir('/er') > 1 AS made;
SELECT pgfs_write('/er/f', 'content'::bytea);
SELECT pgfs_mkdir('/er/d') > 1 AS made;
SELECT pgfs_write('/er/d/x', 'x'::bytea);
SELECT pg_temp.try(format('SELECT pgfs_mkdir(%L)', '/er/' || repeat('n', 255))) AS max_name_ok;
SELECT pgfs_rmdir('/er/' || repeat('n', 255));
CREATE TEMP TABLE before AS SELECT pg_temp.manifest() AS m;

-- path syntax
SELECT pg_temp.try($$SELECT pgfs_read('')$$);
SELECT pg_temp.try($$SELECT pgfs_read('er/f')$$);
SELECT pg_temp.try($$SELECT pgfs_write('/er/./f', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_write('/er/../f', 'x'::bytea)$$);
SELECT pg_temp.try(format('SELECT pgfs_write(%L, %L::bytea)', '/er/' || repeat('n', 256), 'x'));
SELECT pg_temp.try(format('SELECT pgfs_write(%L, %L::bytea)', repeat('/abcdefg', 512), 'x'));
-- 4095 bytes is the longest path; its parent does not exist here
SELECT left(pg_temp.try(format('SELECT pgfs_stat(%L)', '/er' || repeat('/abcdefg', 511) || '/ab')), 50);
-- parents
SELECT pg_temp.try($$SELECT pgfs_write('/er/none/f', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_write('/er/f/g', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_mkdir('/er/f/g', parents => true)$$);
SELECT pg_temp.try($$SELECT pgfs_mkdir('/er/f', parents => true)$$);
-- offsets and lengths
SELECT pg_temp.try($$SELECT pgfs_write('/er/f', 'x'::bytea, -1)$$);
SELECT pg_temp.try($$SELECT pgfs_write('/er/f', 'x'::bytea, 9223372036854775807)$$);
SELECT pg_temp.try($$SELECT pgfs_write('/er/f', 'xy'::bytea, 1125899906842623)$$);
SELECT pg_temp.try($$SELECT pgfs_read('/er/f', -5, 1)$$);
SELECT pg_temp.try($$SELECT pgfs_read('/er/f', 0, -1)$$);
SELECT pg_temp.try($$SELECT pgfs_read('/er/f', 9223372036854775807, 10)$$);
SELECT length(pgfs_read('/er/f', 9223372036854775807, 0)) AS huge_offset_reads_nothing;
SELECT pg_temp.try($$SELECT pgfs_truncate('/er/f', -1)$$);
SELECT pg_temp.try($$SELECT pgfs_truncate('/er/f', 1125899906842625)$$);
SELECT pg_temp.try($$SELECT pgfs_truncate('/er/d', 0)$$);
-- NULLs: strict functions return NULL, the others refuse
SELECT pgfs_write(NULL, 'x'::bytea) IS NULL AS strict_null, pgfs_stat(NULL) IS NULL AS strict_null2;
SELECT pg_temp.try($$SELECT pgfs_read(NULL)$$);
SELECT pg_temp.try($$SELECT pgfs_read('/er/f', NULL)$$);
SELECT pg_temp.try($$SELECT pgfs_mkdir(NULL)$$);
SELECT pg_temp.try($$SELECT pgfs_chown(NULL, 1, 1)$$);
SELECT pg_temp.try($$SELECT pgfs_mknod('/er/n', NULL)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_create(1, 'n'::bytea, NULL, 0, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_setattr(NULL, 420, NULL, NULL, NULL, NULL, NULL)$$);
-- types
SELECT pg_temp.try($$SELECT pgfs_unlink('/er/d')$$);
SELECT pg_temp.try($$SELECT pgfs_rmdir('/er/f')$$);
SELECT pg_temp.try($$SELECT pgfs_rmdir('/er/d')$$);
SELECT pg_temp.try($$SELECT pgfs_rmdir('/')$$);
SELECT pg_temp.try($$SELECT pgfs_unlink('/')$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_readdir('/er/f')$$);
SELECT pg_temp.try($$SELECT pgfs_link('/er/d', '/er/d2')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/er/d', '/er/d/x/y')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/er/none', '/er/y')$$);
SELECT pg_temp.try($$SELECT pgfs_mknod('/er/f', 'fifo')$$);
SELECT pg_temp.try($$SELECT pgfs_symlink('/er/f', '/er/f')$$);
SELECT pg_temp.try(format('SELECT pgfs_symlink(%L, %L)', repeat('t', 4096), '/er/l'));
-- the inode API checks names as bytes
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_create(1, '\x612f62'::bytea, 420, 0, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_create(1, '\x6100'::bytea, 420, 0, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_create(1, ''::bytea, 420, 0, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_create(1, '\x2e2e'::bytea, 420, 0, 0)$$);
SELECT pg_temp.try(format('SELECT * FROM pgfs_ll_mkdir(1, %L::bytea, 493, 0, 0)', '\x' || repeat('61', 256)));
SELECT pg_temp.try(format('SELECT * FROM pgfs_ll_lookup(1, %L::bytea)', '\x' || repeat('61', 256)));
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_getattr(999999)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_read(1, 0, 10)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_rename(1, 'er'::bytea, 1, 'x'::bytea, 8)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_mknod(1, 'q'::bytea, 16877, 0, 0, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_symlink(1, 'q'::bytea, ''::bytea, 0, 0)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_readdir((pgfs_stat('/er/f')).ino, 0, 10)$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_create(1, 'q'::bytea, 420, 4294967296, 0)$$);

-- nothing above changed the store
SELECT pg_temp.manifest() = m AS unchanged FROM before;
SELECT pgfs_remove('/er', true);
SELECT * FROM pgfs_fsck();
