-- test/attrs.sql: attributes and the rest of the path API: chmod, chown,
-- utimens, times and generation kept by each change, mknod of every type,
-- extended attributes, statfs, store_id, and the SQLSTATE/errno table.
BEGIN;
SELECT plan(81);

CREATE FUNCTION pg_temp.st(p text) RETURNS TABLE (mode integer, uid bigint, gid bigint,
    atime_ns bigint, mtime_ns bigint, ctime_ns bigint, generation bigint)
LANGUAGE sql AS $$ SELECT mode, uid, gid, atime_ns, mtime_ns, ctime_ns, generation FROM pgfs_lstat(p) $$;
-- remember the attributes of a path under a label, to compare with later
CREATE TEMP TABLE seen (label text PRIMARY KEY, mode integer, uid bigint, gid bigint,
    atime_ns bigint, mtime_ns bigint, ctime_ns bigint, generation bigint);
CREATE FUNCTION pg_temp.remember(label text, p text) RETURNS void
LANGUAGE sql AS $$ INSERT INTO seen SELECT label, * FROM pg_temp.st(p) $$;
CREATE FUNCTION pg_temp.was(label text) RETURNS seen
LANGUAGE sql AS $$ SELECT * FROM seen WHERE seen.label = was.label $$;

SELECT lives_ok($$SELECT pgfs_mkdir('/at'), pgfs_write('/at/f', 'data'::bytea)$$, 'make a directory and a file');

-- chmod
SELECT pg_temp.remember('f0', '/at/f'), pg_sleep(0.002) \g /dev/null
SELECT lives_ok($$SELECT pgfs_chmod('/at/f', 384)$$, 'chmod 0600');
SELECT is((pgfs_stat('/at/f')).mode, 33152, 'sets the permission bits, keeps the type (-rw-------)');
SELECT cmp_ok((pgfs_stat('/at/f')).ctime_ns, '>', (pg_temp.was('f0')).ctime_ns, 'chmod changes ctime');
SELECT is((pgfs_stat('/at/f')).mtime_ns, (pg_temp.was('f0')).mtime_ns, 'but not mtime');
SELECT cmp_ok((pgfs_stat('/at/f')).generation, '>', (pg_temp.was('f0')).generation, 'chmod bumps generation');
SELECT lives_ok($$SELECT pgfs_chmod('/at/f', 3565)$$, 'chmod 06755');
SELECT is((pgfs_stat('/at/f')).mode & 4095, 3565, 'set-user-ID and set-group-ID bits are kept');
SELECT lives_ok($$SELECT pgfs_chmod('/at', 1023)$$, 'chmod a directory 01777');
SELECT is((pgfs_stat('/at')).mode, 17407, 'the sticky bit is kept (drwxrwxrwt)');
SELECT lives_ok($$SELECT pgfs_symlink('f', '/at/l')$$, 'make a link');
SELECT lives_ok($$SELECT pgfs_chmod('/at/l', 420)$$, 'chmod through a link');
SELECT is(((pgfs_stat('/at/f')).mode, (pgfs_lstat('/at/l')).mode), (33188, 41471),
          'changes the target, not the link (lrwxrwxrwx)');

-- chown
SELECT lives_ok($$SELECT pgfs_chmod('/at/f', 3565)$$, 'chmod 06755 again');
SELECT lives_ok($$SELECT pgfs_chown('/at/f', 1000, 100)$$, 'chown');
SELECT is(((pgfs_stat('/at/f')).uid, (pgfs_stat('/at/f')).gid), (1000::bigint, 100::bigint), 'sets owner and group');
SELECT is((pgfs_stat('/at/f')).mode & 4095, 493, 'clears set-user-ID and set-group-ID of a file, like Linux');
SELECT lives_ok($$SELECT pgfs_chown('/at/f', NULL, 50)$$, 'chown with a NULL owner');
SELECT is(((pgfs_stat('/at/f')).uid, (pgfs_stat('/at/f')).gid), (1000::bigint, 50::bigint), 'keeps the owner');
SELECT lives_ok($$SELECT pgfs_chown('/at/f', 7, NULL)$$, 'chown with a NULL group');
SELECT is(((pgfs_stat('/at/f')).uid, (pgfs_stat('/at/f')).gid), (7::bigint, 50::bigint), 'keeps the group');
SELECT lives_ok($$SELECT pgfs_mkdir('/at/sg', 1517), pgfs_chown('/at/sg', 5, 5)$$, 'chown a 02755 directory');
SELECT is((pgfs_stat('/at/sg')).mode & 4095, 1517, 'keeps a directory''s set-group-ID bit');

-- utimens and the times each change sets
SELECT lives_ok($$SELECT pgfs_utimens('/at/f', '2001-02-03 04:05:06.789012+00', '1960-07-08 09:10:11.5+00')$$,
                'utimens');
SELECT is(((pgfs_stat('/at/f')).atime, (pgfs_stat('/at/f')).mtime),
          ('2001-02-03 04:05:06.789012+00'::timestamptz, '1960-07-08 09:10:11.5+00'::timestamptz),
          'sets atime and mtime, also before 1970');
SELECT is(((pgfs_stat('/at/f')).atime_ns, (pgfs_stat('/at/f')).mtime_ns),
          (981173106789012000::bigint, -299256588500000000::bigint), 'in nanoseconds since the epoch');
SELECT ok((pgfs_stat('/at/f')).ctime >= now(), 'ctime becomes now');
SELECT lives_ok($$SELECT pgfs_utimens('/at/f', NULL, '2010-01-01 00:00:00+00')$$, 'utimens with a NULL atime');
SELECT is(((pgfs_stat('/at/f')).atime, (pgfs_stat('/at/f')).mtime),
          ('2001-02-03 04:05:06.789012+00'::timestamptz, '2010-01-01 00:00:00+00'::timestamptz),
          'keeps atime');
SELECT lives_ok($$SELECT pgfs_utimens('/at/f', '2011-01-01 00:00:00+00', NULL)$$, 'utimens with a NULL mtime');
SELECT is(((pgfs_stat('/at/f')).atime, (pgfs_stat('/at/f')).mtime),
          ('2011-01-01 00:00:00+00'::timestamptz, '2010-01-01 00:00:00+00'::timestamptz),
          'keeps mtime');
SELECT pg_temp.remember('f1', '/at/f'), pg_temp.remember('d1', '/at'), pg_sleep(0.002) \g /dev/null
SELECT lives_ok($$SELECT pgfs_write('/at/f', 'x'::bytea, 1)$$, 'write into the file');
SELECT ok((SELECT mtime_ns > (pg_temp.was('f1')).mtime_ns AND ctime_ns > (pg_temp.was('f1')).ctime_ns
             AND generation > (pg_temp.was('f1')).generation FROM pgfs_stat('/at/f')),
          'a write sets mtime and ctime and bumps generation');
SELECT is((pgfs_stat('/at')).mtime_ns, (pg_temp.was('d1')).mtime_ns, 'and leaves the directory alone');
SELECT lives_ok($$SELECT pgfs_write('/at/g', 'new'::bytea)$$, 'create a file');
SELECT ok((SELECT mtime_ns > (pg_temp.was('d1')).mtime_ns AND ctime_ns > (pg_temp.was('d1')).ctime_ns
             FROM pgfs_stat('/at')),
          'creating a name sets the directory''s mtime and ctime');
SELECT pg_temp.remember('f2', '/at/f'), pg_sleep(0.002) \g /dev/null
SELECT lives_ok($$SELECT pgfs_link('/at/f', '/at/f2')$$, 'link the file');
SELECT ok((SELECT ctime_ns > (pg_temp.was('f2')).ctime_ns AND mtime_ns = (pg_temp.was('f2')).mtime_ns
             FROM pgfs_stat('/at/f')),
          'a new link sets the file''s ctime, not its mtime');
SELECT pg_temp.remember('f3', '/at/f') \g /dev/null
SELECT lives_ok($$SELECT pgfs_read('/at/f')$$, 'read the file');
SELECT is((SELECT (mtime_ns, ctime_ns) FROM pgfs_stat('/at/f')),
          (SELECT (mtime_ns, ctime_ns) FROM pg_temp.was('f3')), 'a read changes neither mtime nor ctime');

-- mknod
CREATE TEMP TABLE nodes AS
SELECT t, pgfs_mknod('/at/' || t, t) AS ino FROM unnest(ARRAY['block', 'char', 'fifo', 'file', 'socket']) t;
SELECT is((SELECT array_agg((pgfs_lstat('/at/' || t)).mode ORDER BY t) FROM nodes),
          ARRAY[24996, 8612, 4516, 33188, 49572],
          'mknod makes block, char, fifo, file and socket nodes with the default mode 0644');
SELECT is((SELECT array_agg(s.type ORDER BY t) FROM nodes, pgfs_lstat('/at/' || t) s),
          ARRAY['block', 'char', 'fifo', 'file', 'socket'], 'stat names their types');
SELECT is((SELECT array_agg(s.ino ORDER BY t) FROM nodes, pgfs_lstat('/at/' || t) s),
          (SELECT array_agg(ino ORDER BY t) FROM nodes), 'mknod returns the inode');
SELECT is((pgfs_stat('/at/file')).size, 0::bigint, 'mknod file makes an empty regular file');
SELECT lives_ok($$SELECT pgfs_mknod('/at/n1', 'fifo', 384), pgfs_mknod('/at/c13', 'char', NULL, 1, 3)$$,
                'mknod with a mode, with a device number');
SELECT is((pgfs_stat('/at/n1')).mode, 4480, 'the mode is used (prw-------)');
SELECT is((pgfs_stat('/at/c13')).rdev, 259::bigint, 'char 1,3 has rdev makedev(1, 3)');
SELECT lives_ok($$SELECT pgfs_mknod('/at/b', 'block', 432, 300, 70000)$$, 'block 300,70000');
SELECT is((pgfs_stat('/at/b')).rdev, 286338160::bigint, 'rdev is Linux''s makedev(300, 70000)');

-- extended attributes
SELECT lives_ok($$SELECT pgfs_setxattr('/at/f', 'user.a', 'one'::bytea)$$, 'setxattr');
SELECT is(pgfs_getxattr('/at/f', 'user.a'), 'one'::bytea, 'getxattr');
SELECT lives_ok($$SELECT pgfs_setxattr('/at/f', 'user.a', 'uno'::bytea, 2)$$, 'setxattr XATTR_REPLACE of an existing one');
SELECT is(pgfs_getxattr('/at/f', 'user.a'), 'uno'::bytea, 'replaces the value');
SELECT lives_ok($$SELECT pgfs_setxattr('/at/f', 'user.b', ''::bytea, 1),
                         pgfs_setxattr('/at/f', 'trusted.c', decode(repeat('ab', 65536), 'hex'))$$,
                'setxattr XATTR_CREATE, an empty value, a 65536-byte value');
SELECT is(pgfs_getxattr('/at/f', 'user.b'), ''::bytea, 'an empty value');
SELECT is(pgfs_getxattr('/at/f2', 'trusted.c'), decode(repeat('ab', 65536), 'hex'),
          'a large value, read through another link');
SELECT set_eq($$SELECT pgfs_listxattr('/at/f')$$, ARRAY['user.a', 'user.b', 'trusted.c'], 'listxattr');
SELECT lives_ok($$SELECT pgfs_removexattr('/at/f', 'user.a')$$, 'removexattr');
SELECT set_eq($$SELECT pgfs_listxattr('/at/f')$$, ARRAY['user.b', 'trusted.c'], 'it is gone');
-- the inode counts its extended attributes, so that pgfs-fuse learns "none"
-- with the attributes (ls -l asks every file for two of them)
CREATE FUNCTION pg_temp.nx(p text) RETURNS integer
LANGUAGE sql AS $$ SELECT (pgfs_ll_getattr((pgfs_lstat(p)).ino)).xattrs $$;
SELECT is(pg_temp.nx('/at/f'), 2, 'xattrs counts two after three set (one twice) and one removed');
SELECT throws_ok($$SELECT pgfs_removexattr('/at/f', 'user.a')$$, 'PF061', NULL,
                 'removing a missing one: ENODATA');
SELECT throws_ok($$SELECT pgfs_setxattr('/at/f', 'user.b', 'x'::bytea, 1)$$, 'PF017', NULL,
                 'XATTR_CREATE of an existing one: EEXIST');
SELECT is(pg_temp.nx('/at/f'), 2, 'failed calls leave the count alone');
SELECT is(pg_temp.nx('/at/g'), 0, 'a file without any: 0');
SELECT is((SELECT xattrs FROM pgfs.inode WHERE ino = (pgfs_stat('/at/g')).ino), NULL,
          '... stored as NULL, which takes no byte in the row');
SELECT is((SELECT xattrs FROM pgfs_ll_readdir((pgfs_stat('/at')).ino, 0, 1000) WHERE name = 'f'),
          2, 'pgfs_ll_readdir returns the count with each entry');
UPDATE pgfs.inode SET xattrs = 5 WHERE ino = (pgfs_stat('/at/f')).ino;
SELECT results_eq($$SELECT problem, detail FROM pgfs_fsck()$$,
                  $$VALUES ('wrong_xattrs', 'xattrs is 5, it has 2')$$, 'fsck: a wrong count');
UPDATE pgfs.inode SET xattrs = 2 WHERE ino = (pgfs_stat('/at/f')).ino;
-- the names must fit one listxattr(2): 65536 bytes with their NULs
SELECT lives_ok($$SELECT count(pgfs_setxattr('/at/g', 'user.' || lpad(n::text, 250, 'n'), 'v'::bytea))
                  FROM generate_series(1, 256) n$$, '256 names of 255 bytes: 65536 bytes');
SELECT throws_ok($$SELECT pgfs_setxattr('/at/g', 'user.x', 'v'::bytea)$$, 'PF028', NULL,
                 'one more name: ENOSPC');
SELECT lives_ok($$SELECT pgfs_setxattr('/at/g', 'user.' || lpad('7', 250, 'n'), 'new'::bytea)$$,
                'replacing a value when the list is full');
SELECT is((SELECT count(*) FROM pgfs_listxattr('/at/g')), 256::bigint, 'all 256 are listed');
SELECT lives_ok($$SELECT pgfs_removexattr('/at/g', 'user.' || lpad('7', 250, 'n')),
                         pgfs_setxattr('/at/g', 'user.x', 'v'::bytea)$$, 'room again after a removal');
SELECT lives_ok($$SELECT pgfs_setxattr('/at', 'user.dir', 'd'::bytea)$$, 'setxattr on a directory');
SELECT is(pgfs_getxattr('/at', 'user.dir'), 'd'::bytea, 'getxattr on a directory');
SELECT lives_ok($$SELECT pgfs_unlink('/at/f'), pgfs_unlink('/at/f2')$$, 'unlink a file with xattrs');

-- statfs, store_id
SELECT ok((SELECT bsize > 0 AND frsize > 0 AND blocks >= bfree AND bfree >= bavail AND bavail >= 0
                  AND files >= 1 AND ffree >= 0 AND namemax = 255 FROM pgfs_statfs()),
          'statfs: sizes and counts are consistent, names are up to 255 bytes');
SELECT is((SELECT (bsize, frsize, files, namemax) FROM pgfs_ll_statfs()),
          (SELECT (bsize, frsize, files, namemax) FROM pgfs_statfs()), 'pgfs_ll_statfs is pgfs_statfs');
SELECT is(pgfs_store_id(), (SELECT value FROM pgfs.meta WHERE key = 'store_id'), 'store_id is the stored one');

-- the errcode table is include/pgfs_errcodes.h
SELECT set_eq('SELECT sqlstate, errno_name, errno FROM pgfs_errcodes()',
    $$VALUES ('PF001', 'EPERM', 1), ('PF002', 'ENOENT', 2), ('PF006', 'ENXIO', 6), ('PF007', 'E2BIG', 7),
             ('PF009', 'EBADF', 9), ('PF013', 'EACCES', 13), ('PF016', 'EBUSY', 16),
             ('PF017', 'EEXIST', 17), ('PF018', 'EXDEV', 18), ('PF020', 'ENOTDIR', 20),
             ('PF021', 'EISDIR', 21), ('PF022', 'EINVAL', 22), ('PF027', 'EFBIG', 27),
             ('PF028', 'ENOSPC', 28), ('PF030', 'EROFS', 30), ('PF031', 'EMLINK', 31),
             ('PF034', 'ERANGE', 34), ('PF036', 'ENAMETOOLONG', 36), ('PF039', 'ENOTEMPTY', 39),
             ('PF040', 'ELOOP', 40), ('PF061', 'ENODATA', 61), ('PF075', 'EOVERFLOW', 75),
             ('PF095', 'EOPNOTSUPP', 95), ('PF116', 'ESTALE', 116),
             ('25006', 'EROFS', 30), ('42501', 'EACCES', 13), ('53100', 'ENOSPC', 28),
             ('XX001', 'EIO', 5)$$,
    'pgfs_errcodes() is the table of include/pgfs_errcodes.h');
SELECT is_empty($$SELECT sqlstate FROM pgfs_errcodes() WHERE sqlstate LIKE 'PF%'
                     AND sqlstate <> 'PF' || lpad(errno::text, 3, '0')$$,
                'every PF code is PF followed by its errno');

SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck finds no problem');

SELECT * FROM finish();
ROLLBACK;
