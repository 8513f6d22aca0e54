-- directories, rename, hard and symbolic links
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;
CREATE FUNCTION pg_temp.tree(root text) RETURNS TABLE (path text, type text, nlink int, size bigint)
LANGUAGE sql AS $$
  WITH RECURSIVE t(path, type, nlink, size) AS (
    SELECT root || '/' || r.name, r.type, r.nlink, r.size FROM pgfs_readdir(root, true) r
    UNION ALL
    SELECT t.path || '/' || r.name, r.type, r.nlink, r.size
      FROM t, LATERAL pgfs_readdir(t.path, true) r WHERE t.type = 'directory')
  SELECT * FROM t ORDER BY 1 $$;

-- mkdir and mkdir -p
SELECT pgfs_mkdir('/ns') > 1 AS made;
SELECT pgfs_mkdir('/ns/a/b/c', parents => true) > 1 AS made;
SELECT pgfs_mkdir('/ns/a/b/c', parents => true) > 1 AS again_fine;
SELECT pg_temp.try($$SELECT pgfs_mkdir('/ns/a')$$);
SELECT pg_temp.try($$SELECT pgfs_mkdir('/ns/x/y')$$);
SELECT pgfs_mkdir('/ns/m', 448) > 1 AS made;
SELECT mode, nlink FROM pgfs_stat('/ns/m');
SELECT (pgfs_stat('/ns')).nlink, (pgfs_stat('/ns/a')).nlink;
SELECT * FROM pg_temp.tree('/ns');

-- rmdir: only empty directories
SELECT pg_temp.try($$SELECT pgfs_rmdir('/ns/a')$$);
SELECT pgfs_rmdir('/ns/m');
SELECT pgfs_exists('/ns/m');

-- files and hard links
SELECT pgfs_write('/ns/f', 'data'::bytea);
SELECT pgfs_link('/ns/f', '/ns/a/f2');
SELECT pgfs_link('/ns/f', '/ns/a/b/f3');
SELECT nlink FROM pgfs_stat('/ns/f');
SELECT (pgfs_stat('/ns/f')).ino = (pgfs_stat('/ns/a/b/f3')).ino AS same_inode;
SELECT pgfs_unlink('/ns/f');
SELECT nlink, convert_from(pgfs_read('/ns/a/f2'), 'UTF8') FROM pgfs_stat('/ns/a/f2');
SELECT pg_temp.try($$SELECT pgfs_link('/ns/a', '/ns/alink')$$);
SELECT pg_temp.try($$SELECT pgfs_link('/ns/a/f2', '/ns/a/b/f3')$$);

-- symbolic links: relative, absolute, chains, dangling, loops
SELECT pgfs_symlink('a/f2', '/ns/rel');
SELECT pgfs_symlink('/ns/a/b', '/ns/abs');
SELECT pgfs_symlink('../rel', '/ns/a/up');
SELECT pgfs_symlink('nowhere', '/ns/dangling');
SELECT convert_from(pgfs_read('/ns/rel'), 'UTF8'), convert_from(pgfs_read('/ns/a/up'), 'UTF8');
SELECT convert_from(pgfs_read('/ns/abs/f3'), 'UTF8');
SELECT pgfs_readlink('/ns/a/up'), (pgfs_lstat('/ns/a/up')).type, (pgfs_lstat('/ns/a/up')).size, (pgfs_stat('/ns/a/up')).type;
SELECT pgfs_exists('/ns/dangling') AS link_exists, pg_temp.try($$SELECT pgfs_stat('/ns/dangling')$$);
-- writing through a dangling link creates its target, as open(O_CREAT) does
SELECT pgfs_write('/ns/dangling', 'made'::bytea);
SELECT convert_from(pgfs_read('/ns/nowhere'), 'UTF8');
SELECT pgfs_symlink('/ns/loop2', '/ns/loop1');
SELECT pgfs_symlink('/ns/loop1', '/ns/loop2');
SELECT pg_temp.try($$SELECT pgfs_read('/ns/loop1')$$);
SELECT pg_temp.try($$SELECT pgfs_readlink('/ns/a')$$);
SELECT pg_temp.try($$SELECT pgfs_symlink('', '/ns/empty')$$);
-- unlinking a link removes the link, not its target
SELECT pgfs_unlink('/ns/rel');
SELECT pgfs_exists('/ns/rel'), pgfs_exists('/ns/a/f2');

-- rename: move, replace, directories, no-replace, exchange
SELECT pgfs_write('/ns/r1', 'one'::bytea);
SELECT pgfs_write('/ns/r2', 'two'::bytea);
SELECT pgfs_rename('/ns/r1', '/ns/a/r1');
SELECT pgfs_exists('/ns/r1'), convert_from(pgfs_read('/ns/a/r1'), 'UTF8');
SELECT pgfs_rename('/ns/r2', '/ns/a/r1');
SELECT convert_from(pgfs_read('/ns/a/r1'), 'UTF8'), pgfs_exists('/ns/r2');
SELECT pgfs_write('/ns/r3', 'three'::bytea);
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/r3', '/ns/a/r1', noreplace => true)$$);
SELECT pgfs_rename('/ns/r3', '/ns/a/r1', exchange => true);
SELECT convert_from(pgfs_read('/ns/r3'), 'UTF8'), convert_from(pgfs_read('/ns/a/r1'), 'UTF8');
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/r3', '/ns/none', exchange => true)$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/r3', '/ns/a', noreplace => true, exchange => true)$$);
-- directories: into another directory, over an empty one, never into themselves
SELECT pgfs_mkdir('/ns/d1') > 1 AS made;
SELECT pgfs_mkdir('/ns/d2') > 1 AS made;
SELECT pgfs_write('/ns/d1/in', 'x'::bytea);
SELECT pgfs_rename('/ns/d1', '/ns/d2/d1');
SELECT (pgfs_stat('/ns')).nlink, (pgfs_stat('/ns/d2')).nlink;
SELECT pgfs_mkdir('/ns/empty') > 1 AS made;
SELECT pgfs_rename('/ns/empty', '/ns/d2/d1/sub');
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/d2', '/ns/d2/d1/sub/d2')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/d2', '/ns/d2/d1')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/d2', '/ns/r3')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/r3', '/ns/d2')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/ns/r3', '/')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/', '/ns/root')$$);
SELECT pgfs_mkdir('/ns/d3') > 1 AS made;
SELECT pgfs_rename('/ns/d3', '/ns/d2/d1/sub');
-- exchange a file and a directory across directories
SELECT pgfs_rename('/ns/r3', '/ns/d2/d1/sub', exchange => true);
SELECT (pgfs_lstat('/ns/r3')).type, (pgfs_lstat('/ns/d2/d1/sub')).type;
-- renaming one name of a file onto another name of the same file does nothing
SELECT pgfs_link('/ns/a/r1', '/ns/a/r1b');
SELECT pgfs_rename('/ns/a/r1', '/ns/a/r1b');
SELECT pgfs_exists('/ns/a/r1'), (pgfs_stat('/ns/a/r1b')).nlink;
SELECT * FROM pg_temp.tree('/ns');

-- copies share data and never recurse into themselves
SELECT pgfs_copy('/ns/d2', '/ns/d2copy', true);
SELECT (SELECT string_agg(path || ':' || type, ' ') FROM pg_temp.tree('/ns/d2copy'));
SELECT pg_temp.try($$SELECT pgfs_copy('/ns/d2', '/ns/d2/d1/again', true)$$);
SELECT pg_temp.try($$SELECT pgfs_copy('/ns/d2', '/ns/d2again')$$);
SELECT pg_temp.try($$SELECT pgfs_copy('/ns/a/r1b', '/ns/d2copy')$$);

-- pgfs_remove
SELECT pg_temp.try($$SELECT pgfs_remove('/ns/d2')$$);
SELECT pgfs_remove('/ns/d2', true);
SELECT pg_temp.try($$SELECT pgfs_remove('/')$$);
SELECT pgfs_remove('/ns', true) > 0;
SELECT pgfs_exists('/ns');
SELECT * FROM pgfs_fsck();
SELECT (SELECT count(*) FROM pgfs.inode) AS inodes, (SELECT count(*) FROM pgfs.dirent) AS entries,
       (SELECT nlink FROM pgfs.inode WHERE ino = 1) AS root_nlink;
