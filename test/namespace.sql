-- test/namespace.sql: names through the path API: mkdir (with parents),
-- rmdir, unlink, readdir, rename (plain, over targets, noreplace, exchange),
-- hard links, symbolic links, remove (recursive), copy of trees.
BEGIN;
SELECT plan(93);

CREATE FUNCTION pg_temp.nlink(p text) RETURNS integer
LANGUAGE sql AS $$ SELECT nlink FROM pgfs_lstat(p) $$;
CREATE FUNCTION pg_temp.ino(p text) RETURNS bigint
LANGUAGE sql AS $$ SELECT ino FROM pgfs_lstat(p) $$;
CREATE FUNCTION pg_temp.names(p text) RETURNS text[]
LANGUAGE sql AS $$ SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM pgfs_readdir(p) $$;
-- every name under root (root included), found with readdir
CREATE FUNCTION pg_temp.tree(root text) RETURNS TABLE (path text, type text)
LANGUAGE sql AS $$
    WITH RECURSIVE t(path, type) AS (
        SELECT root, (pgfs_lstat(root)).type
        UNION ALL
        SELECT rtrim(t.path, '/') || '/' || r.name, r.type
          FROM t, pgfs_readdir(t.path) r
         WHERE t.type = 'directory')
    SELECT * FROM t
$$;

-- mkdir
CREATE TEMP TABLE made AS SELECT pgfs_mkdir('/ns') AS ino;
SELECT is((SELECT ino FROM made), pg_temp.ino('/ns'), 'mkdir returns the inode of the new directory');
SELECT is(pg_temp.nlink('/ns'), 2, 'an empty directory has two links');
SELECT is(pg_temp.nlink('/'), 3, 'a subdirectory adds a link to its parent');
SELECT lives_ok($$SELECT pgfs_mkdir('/ns/m', 448)$$, 'mkdir with a mode');
SELECT is((pgfs_stat('/ns/m')).mode, 16832, 'the mode is used (drwx------)');
SELECT lives_ok($$SELECT pgfs_mkdir('/ns/p/q/r', NULL, true)$$, 'mkdir with parents');
SELECT is((SELECT array_agg(type ORDER BY p) FROM unnest(ARRAY['/ns/p', '/ns/p/q', '/ns/p/q/r']) p,
                  pgfs_stat(p)),
          ARRAY['directory', 'directory', 'directory'], 'creates every missing directory');
SELECT is(pg_temp.nlink('/ns/p'), 3, 'each with the right link count');
SELECT is(pgfs_mkdir('/ns/p/q', NULL, true), pg_temp.ino('/ns/p/q'),
          'mkdir with parents of an existing directory returns it (mkdir -p)');
SELECT is(pg_temp.nlink('/ns'), 4, 'the parent counts /ns/m and /ns/p');
SELECT lives_ok($$SELECT pgfs_mkdir('/ns/trail/', NULL, false)$$, 'mkdir with a trailing slash');
SELECT ok(pgfs_exists('/ns//trail'), 'repeated slashes collapse');

-- readdir
SELECT lives_ok($$SELECT pgfs_write('/ns/d/' || n, convert_to(n, 'UTF8'))
                    FROM pgfs_mkdir('/ns/d'), unnest(ARRAY['c3', 'a1', 'b2']) n$$,
                'make three files');
SELECT lives_ok($$SELECT pgfs_mkdir('/ns/d/sub')$$, 'and a subdirectory');
SELECT lives_ok($$SELECT pgfs_symlink('a1', '/ns/d/ln')$$, 'and a symbolic link');
SELECT results_eq(
    $$SELECT name, type FROM pgfs_readdir('/ns/d')$$,
    $$VALUES ('a1', 'file'), ('b2', 'file'), ('c3', 'file'), ('ln', 'symlink'), ('sub', 'directory')$$,
    'readdir lists the entries by name, without "." and ".."');
SELECT is((SELECT ino FROM pgfs_readdir('/ns/d') WHERE name = 'b2'), pg_temp.ino('/ns/d/b2'),
          'readdir gives the inode number');
SELECT is_empty($$SELECT * FROM pgfs_readdir('/ns/d')
                   WHERE name IS NULL OR type IS NULL OR ino IS NULL
                      OR num_nonnulls(mode, nlink, uid, gid, size, mtime) > 0$$,
                'without with_stat: name, type and inode only');
SELECT is_empty(
    $$SELECT * FROM pgfs_readdir('/ns/d', true) r, pgfs_lstat('/ns/d/' || r.name) s
       WHERE (r.mode, r.nlink, r.uid, r.gid, r.size, r.mtime)
             IS DISTINCT FROM (s.mode, s.nlink, s.uid, s.gid, s.size, s.mtime)$$,
    'readdir with_stat gives the lstat of each entry');
SELECT results_eq($$SELECT name FROM pgfs_readdir('/ns/m')$$, ARRAY[]::text[],
                  'an empty directory lists nothing');
SELECT is(pg_temp.names('/ns/d/sub/'), '{}'::text[], 'readdir with a trailing slash');

-- rmdir, unlink
SELECT lives_ok($$SELECT pgfs_rmdir('/ns/d/sub')$$, 'rmdir an empty directory');
SELECT ok(NOT pgfs_exists('/ns/d/sub'), 'it is gone');
SELECT is(pg_temp.nlink('/ns/d'), 2, 'and its parent lost a link');
SELECT lives_ok($$SELECT pgfs_unlink('/ns/d/c3')$$, 'unlink a file');
SELECT is(pg_temp.names('/ns/d'), '{a1,b2,ln}'::text[], 'it is gone from the directory');

-- rename
SELECT lives_ok($$SELECT pgfs_write('/ns/r1', 'one'::bytea), pgfs_write('/ns/r2', 'two'::bytea)$$,
                'make files to rename');
CREATE TEMP TABLE r1 AS SELECT pg_temp.ino('/ns/r1') AS ino;
SELECT lives_ok($$SELECT pgfs_rename('/ns/r1', '/ns/m/moved')$$, 'rename into another directory');
SELECT is(pg_temp.ino('/ns/m/moved'), (SELECT ino FROM r1), 'the inode moved with its name');
SELECT ok(NOT pgfs_exists('/ns/r1'), 'the old name is gone');
SELECT is(pgfs_read('/ns/m/moved'), 'one'::bytea, 'the data moved too');
SELECT lives_ok($$SELECT pgfs_rename('/ns/r2', '/ns/m/moved')$$, 'rename over an existing file');
SELECT is(pgfs_read('/ns/m/moved'), 'two'::bytea, 'the target is replaced');
SELECT ok(NOT pgfs_exists('/ns/r2'), 'the source name is gone');
SELECT lives_ok($$SELECT pgfs_rename('/ns/m/moved', '/ns/m/moved')$$, 'rename onto itself does nothing');
SELECT is(pgfs_read('/ns/m/moved'), 'two'::bytea, 'and loses nothing');
SELECT lives_ok($$SELECT pgfs_rename('/ns/p', '/ns/m/p')$$, 'rename a directory into another');
SELECT is((pg_temp.nlink('/ns'), pg_temp.nlink('/ns/m')), (5, 3),
          'the old parent loses a link, the new one gains it');
SELECT is((pgfs_ll_lookup(pg_temp.ino('/ns/m/p'), '..'::bytea)).ino, pg_temp.ino('/ns/m'),
          '".." of the moved directory is its new parent');
SELECT is(pg_temp.ino('/ns/m/p/q/r'), (pgfs_stat('/ns/m/p/q/r')).ino, 'its subtree moved along');
SELECT lives_ok($$SELECT pgfs_mkdir('/ns/e1'), pgfs_mkdir('/ns/e2')$$, 'make two empty directories');
SELECT lives_ok($$SELECT pgfs_rename('/ns/e1', '/ns/e2')$$, 'rename a directory over an empty one');
SELECT ok(NOT pgfs_exists('/ns/e1') AND pgfs_exists('/ns/e2'), 'the source replaced the target');
SELECT is(pg_temp.nlink('/ns'), 6, 'and the parent counts one directory for the two');
SELECT lives_ok($$SELECT pgfs_rename('/ns/d/a1', '/ns/d/new', noreplace => true)$$,
                'rename noreplace to a free name');
SELECT is(pg_temp.names('/ns/d'), '{b2,ln,new}'::text[], 'renames');

-- exchange
SELECT lives_ok($$SELECT pgfs_write('/ns/x1', 'first'::bytea), pgfs_mkdir('/ns/m/x2'),
                         pgfs_write('/ns/m/x2/inside', 'i'::bytea)$$, 'make a file and a directory');
CREATE TEMP TABLE x AS SELECT pg_temp.ino('/ns/x1') AS f, pg_temp.ino('/ns/m/x2') AS d;
SELECT lives_ok($$SELECT pgfs_rename('/ns/x1', '/ns/m/x2', exchange => true)$$,
                'exchange a file and a directory in different directories');
SELECT is((pg_temp.ino('/ns/x1'), pg_temp.ino('/ns/m/x2')), (SELECT (d, f) FROM x),
          'the two names swapped their inodes');
SELECT is(pgfs_read('/ns/x1/inside'), 'i'::bytea, 'the directory is reachable by its new name');
SELECT is((pg_temp.nlink('/ns'), pg_temp.nlink('/ns/m')), (7, 3),
          'the link counts follow the directory');
SELECT is((pgfs_ll_lookup(pg_temp.ino('/ns/x1'), '..'::bytea)).ino, pg_temp.ino('/ns'),
          '".." of the exchanged directory is its new parent');

-- hard links
SELECT lives_ok($$SELECT pgfs_write('/ns/h1', 'shared'::bytea)$$, 'make a file');
SELECT lives_ok($$SELECT pgfs_link('/ns/h1', '/ns/m/h2')$$, 'link it');
SELECT is((pg_temp.nlink('/ns/h1'), pg_temp.nlink('/ns/m/h2')), (2, 2), 'both names see two links');
SELECT is(pg_temp.ino('/ns/m/h2'), pg_temp.ino('/ns/h1'), 'both names are one inode');
SELECT lives_ok($$SELECT pgfs_write('/ns/m/h2', 'SH'::bytea, 0)$$, 'write through one name');
SELECT is(pgfs_read('/ns/h1'), 'SHared'::bytea, 'read it through the other');
SELECT lives_ok($$SELECT pgfs_rename('/ns/h1', '/ns/m/h2')$$, 'rename a link onto another link of its inode');
SELECT ok(pgfs_exists('/ns/h1') AND pgfs_exists('/ns/m/h2'), 'does nothing: both names remain (POSIX)');
SELECT lives_ok($$SELECT pgfs_unlink('/ns/h1')$$, 'unlink one name');
SELECT is(pg_temp.nlink('/ns/m/h2'), 1, 'one link is left');
SELECT is(pgfs_read('/ns/m/h2'), 'SHared'::bytea, 'with the data');

-- symbolic links
SELECT lives_ok($$SELECT pgfs_symlink('/ns/m/h2', '/ns/abs')$$, 'symlink with an absolute target');
SELECT is(pgfs_readlink('/ns/abs'), '/ns/m/h2', 'readlink returns the target');
SELECT is((SELECT (type, mode & 61440, size) FROM pgfs_lstat('/ns/abs')),
          ('symlink'::text, 40960, 8::bigint), 'lstat sees the link, its size is the target''s length');
SELECT is((pgfs_stat('/ns/abs')).ino, pg_temp.ino('/ns/m/h2'), 'stat follows it');
SELECT is(pgfs_read('/ns/abs'), 'SHared'::bytea, 'read follows it');
SELECT lives_ok($$SELECT pgfs_symlink('m', '/ns/rel')$$, 'symlink with a relative target');
SELECT is(pgfs_read('/ns/rel/h2'), 'SHared'::bytea, 'a path walks through a link to a directory');
SELECT is(pg_temp.names('/ns/rel'), pg_temp.names('/ns/m'), 'readdir follows a link to a directory');
SELECT lives_ok($$SELECT pgfs_symlink('../m/h2', '/ns/x1/up')$$, 'a relative target with ".."');
SELECT is(pgfs_read('/ns/x1/up'), 'SHared'::bytea, 'resolves from the link''s directory');
SELECT lives_ok($$SELECT pgfs_write('/ns/abs', 'via link'::bytea)$$, 'write through a link');
SELECT is((pgfs_read('/ns/m/h2'), (pgfs_lstat('/ns/abs')).type), ('via link'::bytea, 'symlink'::text),
          'writes the target and keeps the link');
SELECT lives_ok($$SELECT pgfs_symlink('/ns/nowhere', '/ns/dangling')$$, 'a dangling link');
SELECT ok(pgfs_exists('/ns/dangling'), 'exists counts a dangling link');
SELECT is((pgfs_lstat('/ns/dangling')).type, 'symlink', 'lstat of a dangling link');

-- remove
SELECT is(pgfs_remove('/ns/dangling'), 1::bigint, 'remove a link: one name');
SELECT is(pgfs_remove('/ns/abs'), 1::bigint, 'remove a link to a file');
SELECT ok(pgfs_exists('/ns/m/h2'), 'leaves the file');
SELECT lives_ok($$SELECT pgfs_mkdir('/ns/tree/sub/deeper', NULL, true),
                         pgfs_write('/ns/tree/f1', 'a'::bytea),
                         pgfs_write('/ns/tree/sub/f2', 'b'::bytea),
                         pgfs_symlink('f1', '/ns/tree/l1')$$, 'make a tree of six names');
SELECT is(pgfs_copy('/ns/tree', '/ns/m/tree2', true), 6::bigint, 'copy a tree counts its entries');
SELECT is((pgfs_read('/ns/m/tree2/sub/f2'), pgfs_readlink('/ns/m/tree2/l1'), pg_temp.nlink('/ns/m/tree2')),
          ('b'::bytea, 'f1'::text, 3), 'the copy has the files, links and directories');
SELECT is(pgfs_remove('/ns/tree', true), 6::bigint, 'remove a tree counts its names');
SELECT ok(NOT pgfs_exists('/ns/tree'), 'the tree is gone');
SELECT is(pgfs_read('/ns/m/tree2/f1'), 'a'::bytea, 'the copy stays');
SELECT is(pgfs_remove('/ns/e2'), 1::bigint, 'remove an empty directory without recursive');
CREATE TEMP TABLE left_over AS SELECT count(*) AS n FROM pg_temp.tree('/ns');
SELECT cmp_ok((SELECT n FROM left_over), '>', 20::bigint, 'readdir walks the whole tree');
SELECT is(pgfs_remove('/ns', true), (SELECT n FROM left_over), 'remove the rest: every name counts');
SELECT is(pg_temp.names('/'), '{}'::text[], 'the root is empty');
SELECT is(pg_temp.nlink('/'), 2, 'and has two links again');

SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck finds no problem');

SELECT * FROM finish();
ROLLBACK;
