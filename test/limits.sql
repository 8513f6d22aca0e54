-- test/limits.sql: the link limit PGFS_LINK_MAX (65000, include/pgfs_errcodes.h)
-- for hard links and for subdirectories (each adds a link to its parent).
--
-- Making 65000 real links inside one transaction is quadratic (every link
-- updates the same inode row, and a transaction cannot prune its own row
-- versions), so the link counts are set at the limit directly, as the
-- superuser, and put back before fsck.
BEGIN;
SELECT plan(12);

SELECT lives_ok($$SELECT pgfs_mkdir('/lim/d', NULL, true), pgfs_mkdir('/lim/other'), pgfs_write('/lim/f', 'x'::bytea),
                         pgfs_link('/lim/f', '/lim/f2')$$, 'make a file with two links and directories');
SELECT lives_ok($$SELECT pgfs_link('/lim/f', '/lim/' || i) FROM generate_series(3, 100) i$$, 'link it 98 more times');
SELECT is((pgfs_stat('/lim/f')).nlink, 100, 'it has 100 links');

UPDATE pgfs.inode SET nlink = 64999 WHERE ino = (pgfs_stat('/lim/f')).ino;
SELECT lives_ok($$SELECT pgfs_link('/lim/f', '/lim/last')$$, 'the 65000th link is allowed');
SELECT throws_ok($$SELECT pgfs_link('/lim/f', '/lim/one-more')$$, 'PF031', NULL, 'the 65001st link is EMLINK');
SELECT throws_ok(format('SELECT pgfs_ll_link(%s, 1, %L::bytea)', (pgfs_stat('/lim/f')).ino, 'one-more'),
                 'PF031', NULL, 'also through the inode API');
UPDATE pgfs.inode SET nlink = 101 WHERE ino = (pgfs_stat('/lim/f')).ino;

UPDATE pgfs.inode SET nlink = 64999 WHERE ino = (pgfs_stat('/lim/d')).ino;
SELECT lives_ok($$SELECT pgfs_mkdir('/lim/d/last')$$, 'a subdirectory that makes 65000 links is allowed');
SELECT throws_ok($$SELECT pgfs_mkdir('/lim/d/one-more')$$, 'PF031', NULL, 'one more subdirectory is EMLINK');
SELECT throws_ok($$SELECT pgfs_rename('/lim/other', '/lim/d/other')$$, 'PF031', NULL,
                 'moving a directory into it is EMLINK');
SELECT lives_ok($$SELECT pgfs_write('/lim/d/file', 'x'::bytea), pgfs_rename('/lim/f2', '/lim/d/f2')$$,
                'files still go in');
UPDATE pgfs.inode SET nlink = 3 WHERE ino = (pgfs_stat('/lim/d')).ino;
SELECT is((pgfs_stat('/lim/d')).nlink, 3, 'the counts are back');

SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck finds no problem');

SELECT * FROM finish();
ROLLBACK;
