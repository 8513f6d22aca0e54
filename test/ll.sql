-- test/ll.sql: the inode API that pgfs-fuse uses: lookup, getattr,
-- setattr, create/mkdir/mknod/symlink/link, read/write, rename flags,
-- readdir cookies and paging, byte names, xattrs, and open handles that
-- keep unlinked files alive until release (or until their client is gone).
BEGIN;
SELECT plan(76);

-- the root
SELECT is((SELECT (ino, mode, nlink) FROM pgfs_ll_getattr(1)), (1::bigint, 16877, 2), 'getattr of the root');
SELECT is(((pgfs_ll_lookup(1, '.'::bytea)).ino, (pgfs_ll_lookup(1, '..'::bytea)).ino), (1::bigint, 1::bigint),
          '"." and ".." of the root are the root');

-- create
SELECT ino AS dir FROM pgfs_ll_mkdir(1, 'll'::bytea, 493, 1000, 100) \gset
SELECT is((SELECT (mode, nlink, uid, gid, size) FROM pgfs_ll_getattr(:dir)),
          (16877, 2, 1000::bigint, 100::bigint, 0::bigint), 'mkdir makes a directory with the given owner');
SELECT is((pgfs_ll_lookup(1, 'll'::bytea)).ino, :dir::bigint, 'lookup finds it');
SELECT is((pgfs_ll_lookup(:dir, '..'::bytea)).ino, 1::bigint, 'its ".." is the root');
SELECT is((pgfs_ll_getattr(1)).nlink, 3, 'the root gained a link');
SELECT is((pgfs_stat('/ll')).ino, :dir::bigint, 'the path API sees it');
SELECT ino AS f FROM pgfs_ll_create(:dir, 'f'::bytea, 33188, 1000, 100) \gset
SELECT is((SELECT (mode, nlink, size) FROM pgfs_ll_getattr(:f)), (33188, 1, 0::bigint),
          'create makes an empty regular file (mode with S_IFREG)');
SELECT is((pgfs_ll_create(:dir, 'g'::bytea, 384, 0, 0)).mode, 33152, 'create with bare permission bits');
SELECT is((pgfs_ll_mknod(:dir, 'fifo'::bytea, 4516, 1234, 0, 0)).rdev, 0::bigint,
          'mknod of a fifo ignores rdev');
SELECT is((SELECT (mode, rdev) FROM pgfs_ll_mknod(:dir, 'chr'::bytea, 8612, 259, 0, 0)),
          (8612, 259::bigint), 'mknod of a char device keeps rdev');
SELECT is((pgfs_ll_mknod(:dir, 'plain'::bytea, 420, 0, 0, 0)).mode, 33188, 'mknod without a type makes a file');
SELECT is((SELECT (mode, size) FROM pgfs_ll_symlink(:dir, 'sl'::bytea, 'f'::bytea, 0, 0)),
          (41471, 1::bigint), 'symlink: lrwxrwxrwx, size is the target length');
SELECT is(pgfs_ll_readlink((pgfs_ll_lookup(:dir, 'sl'::bytea)).ino), 'f'::bytea, 'readlink');
SELECT is((pgfs_ll_link(:f, 1, 'hard'::bytea)).nlink, 2, 'link returns the attributes with two links');
SELECT is((pgfs_ll_lookup(1, 'hard'::bytea)).ino, :f::bigint, 'the new name is the same inode');

-- names are bytes: anything but '/' and NUL
SELECT ok((pgfs_ll_create(:dir, '\xfffe0a20'::bytea, 420, 0, 0)).ino > 0, 'a name that is not UTF-8 (with a newline)');
SELECT ok((pgfs_ll_lookup(:dir, '\xfffe0a20'::bytea)).ino > 0, 'is found by its bytes');
SELECT ok(EXISTS (SELECT 1 FROM pgfs_ll_readdir(:dir, 0, 100) WHERE name = '\xfffe0a20'::bytea),
          'and listed with its bytes');
SELECT lives_ok(format('SELECT pgfs_ll_unlink(%s, %L::bytea)', :dir, '\xfffe0a20'), 'and unlinked by them');

-- write and read
SELECT is(pgfs_ll_write(:f, 0, 'hello'::bytea), 5::bigint, 'write returns the new size');
SELECT is(pgfs_ll_write(:f, 10, 'x'::bytea), 11::bigint, 'write past the end returns the new size');
SELECT is(pgfs_ll_write(:f, 1, 'E'::bytea), 11::bigint, 'a write inside keeps the size');
SELECT is(pgfs_ll_read(:f, 0, 100), 'hEllo'::bytea || '\x0000000000'::bytea || 'x'::bytea, 'read: short at the end, zeros in the gap');
SELECT is(pgfs_ll_read(:f, 3, 4), '\x6c6f0000'::bytea, 'read of a range');
SELECT is(pgfs_ll_read(:f, 11, 10), ''::bytea, 'read at the end is empty');
SELECT is(pgfs_ll_read(:f, 1000, 10), ''::bytea, 'read beyond the end is empty');
SELECT is(pgfs_read('/hard'), pgfs_ll_read(:f, 0, 1000), 'the path API reads the same bytes');

-- setattr
SELECT generation AS gen FROM pgfs_ll_getattr(:f) \gset
SELECT is((pgfs_ll_setattr(:f, NULL, NULL, NULL, 3, NULL, NULL)).size, 3::bigint, 'setattr size truncates');
SELECT is(pgfs_ll_read(:f, 0, 100), 'hEl'::bytea, 'to that size');
SELECT cmp_ok((pgfs_ll_getattr(:f)).generation, '>', :gen::bigint, 'and bumps generation');
SELECT is((pgfs_ll_setattr(:f, NULL, NULL, NULL, 8, NULL, NULL)).size, 8::bigint, 'setattr size extends');
SELECT is(pgfs_ll_read(:f, 0, 100), 'hEl'::bytea || '\x0000000000'::bytea, 'with zeros');
SELECT is((SELECT (mode, uid, gid, size) FROM pgfs_ll_setattr(:f, 33261, 7, 8, NULL, NULL, NULL)),
          (33261, 7::bigint, 8::bigint, 8::bigint), 'setattr mode (type bits ignored), owner and group');
SELECT is((SELECT (atime_ns, mtime_ns) FROM pgfs_ll_setattr(:f, NULL, NULL, NULL, NULL, 1000000001, -5))
          , (1000000001::bigint, -5::bigint), 'setattr times in nanoseconds, also before 1970');
SELECT is((SELECT (mode, uid, gid, size, atime_ns, mtime_ns) FROM pgfs_ll_getattr(:f)),
          (33261, 7::bigint, 8::bigint, 8::bigint, 1000000001::bigint, -5::bigint), 'all of it stays');
SELECT ok((SELECT atime_ns >= (extract(epoch FROM now()) * 1e9)::bigint AND mtime_ns = -5
             FROM pgfs_ll_setattr(:f, NULL, NULL, NULL, NULL, NULL, NULL, true, false)),
          'setattr atime_now sets atime to the server clock');

-- rename flags
SELECT lives_ok(format('SELECT pgfs_ll_rename(%s, %L, 1, %L, 2)', :dir, 'f', 'hard'),
                'exchange two names of one inode (does nothing)');
SELECT lives_ok(format('SELECT pgfs_ll_rename(%s, %L, 1, %L, 2)', :dir, 'g', 'hard'), 'exchange two files');
SELECT is(((pgfs_ll_lookup(1, 'hard'::bytea)).mode, (pgfs_ll_lookup(:dir, 'g'::bytea)).ino),
          (33152, :f::bigint), 'they swapped');
SELECT lives_ok(format('SELECT pgfs_ll_rename(1, %L, %s, %L, 1)', 'hard', :dir, 'new'), 'rename noreplace to a free name');
SELECT ok(NOT pgfs_exists('/hard') AND pgfs_exists('/ll/new'), 'moved');

-- readdir: cookies, paging, stability
SELECT lives_ok(format('SELECT pgfs_ll_create(%s, convert_to(%L || i, %L), 420, 0, 0) FROM generate_series(1, 5) i',
                       :dir, 'p', 'UTF8'), 'make five more entries');
CREATE TEMP TABLE page1 AS SELECT * FROM pgfs_ll_readdir(:dir, 0, 4);
SELECT is((SELECT count(*) FROM page1), 4::bigint, 'readdir returns max_entries entries');
SELECT ok((SELECT min(cookie) >= 3 AND bool_and(name NOT IN ('.'::bytea, '..'::bytea)) FROM page1),
          'cookies start at 3, "." and ".." are not listed');
SELECT is((SELECT array_agg(cookie) FROM page1), (SELECT array_agg(cookie ORDER BY cookie) FROM page1),
          'entries come in cookie order');
SELECT is_empty($$SELECT * FROM page1 p, pgfs_ll_lookup(1, 'll'::bytea) d, pgfs_ll_lookup(d.ino, p.name) l
                   WHERE (p.ino, p.mode, p.nlink, p.size, p.mtime_ns) IS DISTINCT FROM
                         (l.ino, l.mode, l.nlink, l.size, l.mtime_ns)$$,
                'each entry carries the attributes lookup gives');
-- remove one entry already returned and one not yet returned, then resume
SELECT lives_ok(format('SELECT pgfs_ll_unlink(%s, (SELECT name FROM page1 ORDER BY cookie LIMIT 1)),
                              pgfs_ll_unlink(%s, convert_to(%L, %L))', :dir, :dir, 'p5', 'UTF8'),
                'remove an entry before and one after the resume point');
CREATE TEMP TABLE rest AS
SELECT * FROM pgfs_ll_readdir(:dir, (SELECT max(cookie) FROM page1), 1000);
SELECT set_eq($$SELECT name FROM page1 WHERE pgfs_exists('/ll/' || convert_from(name, 'UTF8'))
                UNION ALL SELECT name FROM rest$$,
              $$SELECT name FROM pgfs_ll_readdir((pgfs_ll_lookup(1, 'll'::bytea)).ino, 0, 1000)$$,
              'resuming after a cookie neither skips nor repeats the survivors');
SELECT is((SELECT count(*) FROM pgfs_ll_readdir(:dir, 0, 0)), 0::bigint, 'max_entries 0 returns nothing');
SELECT is((SELECT cookie FROM pgfs_ll_readdir(:dir, 0, 1000) WHERE name = 'chr'::bytea),
          (SELECT cookie FROM page1 WHERE name = 'chr'::bytea), 'an entry keeps its cookie');

-- extended attributes by inode
SELECT lives_ok(format('SELECT pgfs_ll_setxattr(%s, %L::bytea, %L::bytea)', :f, '\x757365722eff', 'v'),
                'setxattr with a non-UTF-8 name');
SELECT is(pgfs_ll_getxattr(:f, '\x757365722eff'::bytea), 'v'::bytea, 'getxattr');
SELECT set_eq(format('SELECT pgfs_ll_listxattr(%s)', :f), ARRAY['\x757365722eff'::bytea], 'listxattr');
SELECT lives_ok(format('SELECT pgfs_ll_removexattr(%s, %L::bytea)', :f, '\x757365722eff'), 'removexattr');

-- open handles keep an unlinked file alive
SELECT pgfs_ll_client_begin(4242) \g /dev/null
SELECT ino AS o FROM pgfs_ll_create(:dir, 'open'::bytea, 420, 0, 0, 4242) \gset
SELECT pgfs_ll_write(:o, 0, 'still here'::bytea), pgfs_ll_open(:o, 4242), pgfs_ll_unlink(:dir, 'open'::bytea) \g /dev/null
SELECT is((SELECT (nlink, size) FROM pgfs_ll_getattr(:o)), (0, 10::bigint),
          'an unlinked file that is open still has its attributes');
SELECT is(pgfs_ll_read(:o, 0, 100), 'still here'::bytea, 'and its data');
SELECT is(pgfs_ll_write(:o, 10, '!'::bytea), 11::bigint, 'and can be written');
SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck accepts an open unlinked file');
SELECT is(pgfs_reclaim_orphans(), 0::bigint, 'reclaim leaves a file open by a live client');
SELECT pgfs_ll_release(:o, 4242) \g /dev/null
SELECT is((pgfs_ll_getattr(:o)).ino, :o::bigint, 'releasing one of two handles keeps it');
SELECT pgfs_ll_release(:o, 4242) \g /dev/null
SELECT throws_ok(format('SELECT pgfs_ll_getattr(%s)', :o), 'PF002', NULL, 'releasing the last handle frees it');
-- a handle of a client that is gone (never began in any session), once the
-- mounts have had their time to reconnect after the server started
SET pgfs.lock_grace = 0;
SELECT ino AS z FROM pgfs_ll_create(:dir, 'zombie'::bytea, 420, 0, 0, 999999) \gset
SELECT pgfs_ll_write(:z, 0, 'x'::bytea), pgfs_ll_unlink(:dir, 'zombie'::bytea) \g /dev/null
SELECT is(pgfs_reclaim_orphans(), 1::bigint, 'reclaim frees an unlinked file held only by a dead client');
SELECT throws_ok(format('SELECT pgfs_ll_getattr(%s)', :z), 'PF002', NULL, 'it is gone');

-- open_read: the first bytes and the generation; none when the caller has them
SELECT ino AS r FROM pgfs_ll_create(:dir, 'rd'::bytea, 420, 0, 0) \gset
SELECT pgfs_ll_write(:r, 0, 'first bytes'::bytea) \g /dev/null
SELECT size AS rsize, data AS rdata, generation AS rgen FROM pgfs_ll_open_read(:r, 4242, 1, 5) \gset
SELECT is(:'rdata'::bytea, 'first'::bytea, 'open_read returns the first bytes asked for');
SELECT is((SELECT (size, data IS NULL, generation) FROM pgfs_ll_open_read(:r, 4242, 1, 5, :rgen)),
          (11::bigint, true, :rgen::bigint), 'but none to a caller that holds them as of this generation');
SELECT pgfs_ll_write(:r, 0, 'F'::bytea) \g /dev/null
SELECT is((SELECT (data, generation > :rgen) FROM pgfs_ll_open_read(:r, 4242, 1, 5, :rgen)),
          ('First'::bytea, true), 'a change bumps the generation, and the bytes come again');
-- the access time: relatime (1), always (2), never (0, the default)
UPDATE pgfs.inode SET atime_ns = mtime_ns - 1000000000 WHERE ino = :r;
SELECT atime_ns AS a0, generation AS g0 FROM pgfs_ll_getattr(:r) \gset
SELECT pgfs_ll_open_read(:r, 4242, 1, 0) \g /dev/null
SELECT is((SELECT atime_ns FROM pgfs_ll_getattr(:r)), :a0::bigint, 'open_read leaves the access time by default');
SELECT pgfs_ll_open_read(:r, 4242, 1, 0, -1, 1) \g /dev/null
SELECT ok((SELECT atime_ns > mtime_ns FROM pgfs_ll_getattr(:r)), 'relatime: an access time before the mtime is set');
SELECT is((SELECT generation FROM pgfs_ll_getattr(:r)), :g0::bigint, '... and the generation stays');
SELECT atime_ns AS a1 FROM pgfs_ll_getattr(:r) \gset
SELECT pgfs_ll_open_read(:r, 4242, 1, 0, -1, 1) \g /dev/null
SELECT is((SELECT atime_ns FROM pgfs_ll_getattr(:r)), :a1::bigint, 'relatime: a later one within a day stays');
UPDATE pgfs.inode SET atime_ns = atime_ns - 86400000000000, mtime_ns = mtime_ns - 2 * 86400000000000,
                      ctime_ns = ctime_ns - 2 * 86400000000000 WHERE ino = :r;
SELECT pgfs_ll_open_read(:r, 4242, 1, 0, -1, 1) \g /dev/null
SELECT ok((SELECT atime_ns > :a1 - 1000000000 FROM pgfs_ll_getattr(:r)), 'relatime: a day-old one is set');
SELECT atime_ns AS a2 FROM pgfs_ll_getattr(:r) \gset
SELECT pgfs_ll_open_read(:r, 4242, 1, 0, -1, 2) \g /dev/null
SELECT ok((SELECT atime_ns > :a2 FROM pgfs_ll_getattr(:r)), 'strict: set at every read');
SELECT throws_ok(format('SELECT pgfs_ll_open_read(%s, 4242, 1, 0, -1, 3)', :r), 'PF022', NULL,
                 'another access time rule is EINVAL');
SELECT atime_ns AS dir_a FROM pgfs_ll_getattr(:dir) \gset
SELECT pgfs_ll_open_read(:dir, 4242, 1, 0, -1, 2) \g /dev/null
SELECT is((SELECT atime_ns FROM pgfs_ll_getattr(:dir)), :dir_a::bigint, 'only a regular file''s is set');
SELECT pgfs_ll_reopen(:dir, 4242, 0) \g /dev/null
SELECT pgfs_ll_release(:r, 4242) \g /dev/null

SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck finds no problem');

SELECT * FROM finish();
ROLLBACK;
