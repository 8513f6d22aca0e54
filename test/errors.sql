-- test/errors.sql: every error a caller can cause, with the SQLSTATE that
-- names its errno (class PF, digits = Linux errno), and proof that a failed
-- call changes nothing: a manifest of the whole tree (every attribute, the
-- data, targets and xattrs) is the same before and after all of them.
BEGIN;
SELECT plan(156);

-- a fingerprint of the whole tree: one line per name
CREATE FUNCTION pg_temp.manifest() RETURNS text
LANGUAGE sql AS $$
    WITH RECURSIVE t(path, type) AS (
        SELECT '/'::text, 'directory'::text
        UNION ALL
        SELECT rtrim(t.path, '/') || '/' || r.name, r.type
          FROM t, pgfs_readdir(t.path) r
         WHERE t.type = 'directory')
    SELECT string_agg(concat_ws(' ', t.path, s.ino, s.type, s.mode, s.nlink, s.uid, s.gid,
                                s.rdev, s.size, s.blocks, s.atime_ns, s.mtime_ns, s.ctime_ns,
                                s.generation,
                                -- the first and last MiB: /er/huge is too big to read whole
                                CASE s.type WHEN 'file' THEN md5(pgfs_read(t.path, 0, 1048576)
                                                                 || pgfs_read(t.path, greatest(s.size - 1048576, 0)))
                                            WHEN 'symlink' THEN pgfs_readlink(t.path) END,
                                (SELECT string_agg(x || '=' || md5(pgfs_getxattr(t.path, x)), ',' ORDER BY x)
                                   FROM pgfs_listxattr(t.path) x WHERE s.type IN ('file', 'directory'))),
                      E'\n' ORDER BY t.path)
      FROM t, pgfs_lstat(t.path) s
$$;

-- the tree the errors are made against
SELECT lives_ok($$
    SELECT pgfs_mkdir('/er'), pgfs_write('/er/f', 'data'::bytea), pgfs_mkdir('/er/d'),
           pgfs_write('/er/d/x', 'x'::bytea), pgfs_mkdir('/er/e'), pgfs_symlink('/er/loop', '/er/loop'),
           pgfs_symlink('l2', '/er/l1'), pgfs_symlink('l1', '/er/l2'), pgfs_symlink('f', '/er/lf'),
           pgfs_symlink('/er/missing', '/er/dangling'), pgfs_setxattr('/er/f', 'user.k', 'v'::bytea),
           pgfs_mknod('/er/fifo', 'fifo'), pgfs_write('/er/huge', 'x'::bytea, 1125899906842623)$$,
    'make the tree');
SELECT lives_ok($$SELECT pgfs_symlink(CASE i WHEN 0 THEN 'f' ELSE 'c' || (i - 1) END, '/er/c' || i)
                    FROM generate_series(0, 40) i ORDER BY i$$,
                'make a chain of 41 links: c40 -> c39 -> ... -> c0 -> f');
CREATE TEMP TABLE before AS SELECT pg_temp.manifest() AS m;

-- invalid paths: EINVAL
SELECT throws_ok($$SELECT pgfs_read('er/f')$$, 'PF022', NULL, 'a relative path is EINVAL');
SELECT throws_ok($$SELECT pgfs_stat('')$$, 'PF022', NULL, 'an empty path is EINVAL');
SELECT throws_ok($$SELECT pgfs_write('/er/./f', 'y'::bytea)$$, 'PF022', NULL, 'a "." component is EINVAL');
SELECT throws_ok($$SELECT pgfs_stat('/er/../er/f')$$, 'PF022', NULL, 'a ".." component is EINVAL');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/..')$$, 'PF022', NULL, 'mkdir of ".." is EINVAL');
SELECT throws_ok($$SELECT pgfs_exists('er')$$, 'PF022', NULL, 'exists raises for an invalid path');
SELECT throws_ok($$SELECT pgfs_rename('/er/f', 'f2')$$, 'PF022', NULL, 'a relative target path is EINVAL');
SELECT throws_ok($$SELECT pgfs_link('/er/f', '/er/d/.')$$, 'PF022', NULL, 'a link named "." is EINVAL');

-- too long: ENAMETOOLONG
SELECT throws_ok($$SELECT pgfs_write('/er/' || repeat('n', 256), 'y'::bytea)$$, 'PF036', NULL,
                 'a name of 256 bytes is ENAMETOOLONG');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/' || repeat('é', 128))$$, 'PF036', NULL,
                 'a name of 128 two-byte characters (256 bytes) is ENAMETOOLONG');
SELECT throws_ok($$SELECT pgfs_stat('/er/' || repeat('n', 256) || '/x')$$, 'PF036', NULL,
                 'a directory component of 256 bytes is ENAMETOOLONG');
SELECT throws_ok($$SELECT pgfs_stat('/er/' || repeat('n', 255))$$, 'PF002', NULL,
                 'a name of 255 bytes is fine (ENOENT)');
SELECT throws_ok($$SELECT pgfs_stat('/er' || repeat('/' || repeat('p', 99), 40) || '/' || repeat('q', 91))$$,
                 'PF002', NULL, 'a path of 4095 bytes is fine (ENOENT)');
SELECT throws_ok($$SELECT pgfs_stat('/er' || repeat('/' || repeat('p', 99), 40) || '/' || repeat('q', 92))$$,
                 'PF036', NULL, 'a path of 4096 bytes is ENAMETOOLONG');
SELECT throws_ok($$SELECT pgfs_exists('/er' || repeat('/' || repeat('p', 99), 41))$$,
                 'PF036', NULL, 'exists raises for a path over 4095 bytes');
SELECT throws_ok($$SELECT pgfs_symlink(repeat('t', 4096), '/er/longlink')$$, 'PF036', NULL,
                 'a link target of 4096 bytes is ENAMETOOLONG');

-- missing: ENOENT
SELECT throws_ok($$SELECT pgfs_read('/er/missing')$$, 'PF002', NULL, 'read of a missing file is ENOENT');
SELECT throws_ok($$SELECT pgfs_write('/er/nodir/f', 'y'::bytea)$$, 'PF002', NULL,
                 'write below a missing directory is ENOENT');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/nodir/sub')$$, 'PF002', NULL, 'mkdir below a missing directory is ENOENT');
SELECT throws_ok($$SELECT pgfs_unlink('/er/missing')$$, 'PF002', NULL, 'unlink of a missing name is ENOENT');
SELECT throws_ok($$SELECT pgfs_rmdir('/er/missing')$$, 'PF002', NULL, 'rmdir of a missing name is ENOENT');
SELECT throws_ok($$SELECT pgfs_rename('/er/missing', '/er/z')$$, 'PF002', NULL, 'rename of a missing name is ENOENT');
SELECT throws_ok($$SELECT pgfs_rename('/er/f', '/er/nodir/f')$$, 'PF002', NULL,
                 'rename into a missing directory is ENOENT');
SELECT throws_ok($$SELECT pgfs_rename('/er/f', '/er/z', exchange => true)$$, 'PF002', NULL,
                 'exchange with a missing name is ENOENT');
SELECT throws_ok($$SELECT pgfs_link('/er/missing', '/er/z')$$, 'PF002', NULL, 'link to a missing file is ENOENT');
SELECT throws_ok($$SELECT pgfs_readlink('/er/missing')$$, 'PF002', NULL, 'readlink of a missing name is ENOENT');
SELECT throws_ok($$SELECT pgfs_truncate('/er/missing', 0)$$, 'PF002', NULL, 'truncate of a missing file is ENOENT');
SELECT throws_ok($$SELECT pgfs_chmod('/er/missing', 420)$$, 'PF002', NULL, 'chmod of a missing file is ENOENT');
SELECT throws_ok($$SELECT pgfs_chown('/er/missing', 1, 1)$$, 'PF002', NULL, 'chown of a missing file is ENOENT');
SELECT throws_ok($$SELECT pgfs_utimens('/er/missing', now(), now())$$, 'PF002', NULL,
                 'utimens of a missing file is ENOENT');
SELECT throws_ok($$SELECT pgfs_getxattr('/er/missing', 'user.k')$$, 'PF002', NULL,
                 'getxattr of a missing file is ENOENT');
SELECT throws_ok($$SELECT pgfs_remove('/er/missing')$$, 'PF002', NULL, 'remove of a missing name is ENOENT');
SELECT throws_ok($$SELECT pgfs_copy('/er/missing', '/er/z')$$, 'PF002', NULL, 'copy of a missing name is ENOENT');
SELECT throws_ok($$SELECT * FROM pgfs_readdir('/er/missing')$$, 'PF002', NULL,
                 'readdir of a missing directory is ENOENT');
SELECT throws_ok($$SELECT pgfs_stat('/er/dangling')$$, 'PF002', NULL, 'stat through a dangling link is ENOENT');
SELECT throws_ok($$SELECT pgfs_symlink('', '/er/z')$$, 'PF002', NULL, 'a symlink to "" is ENOENT (as Linux)');

-- a file where a directory is needed: ENOTDIR
SELECT throws_ok($$SELECT pgfs_write('/er/f/x', 'y'::bytea)$$, 'PF020', NULL, 'write below a file is ENOTDIR');
SELECT throws_ok($$SELECT pgfs_stat('/er/f/x')$$, 'PF020', NULL, 'stat below a file is ENOTDIR');
SELECT throws_ok($$SELECT pgfs_stat('/er/f/')$$, 'PF020', NULL, 'a file with a trailing slash is ENOTDIR');
SELECT throws_ok($$SELECT * FROM pgfs_readdir('/er/f')$$, 'PF020', NULL, 'readdir of a file is ENOTDIR');
SELECT throws_ok($$SELECT pgfs_rmdir('/er/f')$$, 'PF020', NULL, 'rmdir of a file is ENOTDIR');
SELECT throws_ok($$SELECT pgfs_rmdir('/er/lf')$$, 'PF020', NULL, 'rmdir of a link is ENOTDIR');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/f/sub', NULL, true)$$, 'PF020', NULL,
                 'mkdir with parents through a file is ENOTDIR');
SELECT throws_ok($$SELECT pgfs_rename('/er/e', '/er/f')$$, 'PF020', NULL,
                 'rename of a directory over a file is ENOTDIR');

-- a directory where a file is needed: EISDIR
SELECT throws_ok($$SELECT pgfs_unlink('/er/d')$$, 'PF021', NULL, 'unlink of a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_read('/er/d')$$, 'PF021', NULL, 'read of a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_write('/er/d', 'y'::bytea)$$, 'PF021', NULL, 'write of a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_write('/er/d', 'y'::bytea, 0)$$, 'PF021', NULL,
                 'write at an offset of a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_append('/er/d', 'y'::bytea)$$, 'PF021', NULL, 'append to a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_truncate('/er/d', 0)$$, 'PF021', NULL, 'truncate of a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_rename('/er/f', '/er/e')$$, 'PF021', NULL,
                 'rename of a file over a directory is EISDIR');

-- EEXIST
SELECT throws_ok($$SELECT pgfs_mkdir('/er/d')$$, 'PF017', NULL, 'mkdir of an existing directory is EEXIST');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/f')$$, 'PF017', NULL, 'mkdir over a file is EEXIST');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/f', NULL, true)$$, 'PF017', NULL,
                 'mkdir with parents over a file is EEXIST');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/dangling')$$, 'PF017', NULL, 'mkdir over a dangling link is EEXIST');
SELECT throws_ok($$SELECT pgfs_mkdir('/')$$, 'PF017', NULL, 'mkdir of the root is EEXIST');
SELECT throws_ok($$SELECT pgfs_symlink('x', '/er/f')$$, 'PF017', NULL, 'symlink over a file is EEXIST');
SELECT throws_ok($$SELECT pgfs_link('/er/f', '/er/d/x')$$, 'PF017', NULL, 'link over a file is EEXIST');
SELECT throws_ok($$SELECT pgfs_mknod('/er/e', 'fifo')$$, 'PF017', NULL, 'mknod over a directory is EEXIST');
SELECT throws_ok($$SELECT pgfs_rename('/er/f', '/er/d/x', noreplace => true)$$, 'PF017', NULL,
                 'rename noreplace over a file is EEXIST');
SELECT throws_ok($$SELECT pgfs_setxattr('/er/f', 'user.k', 'w'::bytea, 1)$$, 'PF017', NULL,
                 'setxattr XATTR_CREATE of an existing attribute is EEXIST');

-- ENOTEMPTY, EPERM, EBUSY
SELECT throws_ok($$SELECT pgfs_rmdir('/er/d')$$, 'PF039', NULL, 'rmdir of a non-empty directory is ENOTEMPTY');
SELECT throws_ok($$SELECT pgfs_remove('/er/d')$$, 'PF039', NULL,
                 'remove of a non-empty directory without recursive is ENOTEMPTY');
SELECT throws_ok($$SELECT pgfs_rename('/er/e', '/er/d')$$, 'PF039', NULL,
                 'rename of a directory over a non-empty one is ENOTEMPTY');
SELECT throws_ok($$SELECT pgfs_link('/er/d', '/er/dl')$$, 'PF001', NULL, 'link to a directory is EPERM');
SELECT throws_ok($$SELECT pgfs_rmdir('/')$$, 'PF016', NULL, 'rmdir of the root is EBUSY');
SELECT throws_ok($$SELECT pgfs_rename('/', '/er/root')$$, 'PF016', NULL, 'rename of the root is EBUSY');

-- EINVAL: arguments
SELECT throws_ok($$SELECT pgfs_rename('/er/d', '/er/d/sub')$$, 'PF022', NULL,
                 'rename of a directory into itself is EINVAL');
SELECT throws_ok($$SELECT pgfs_rename('/er', '/er/d/er')$$, 'PF022', NULL,
                 'rename of a directory into its subtree is EINVAL');
SELECT throws_ok($$SELECT pgfs_rename('/er/d/x', '/er/d', exchange => true)$$, 'PF022', NULL,
                 'exchange of a directory with a name inside it is EINVAL');
SELECT throws_ok($$SELECT pgfs_rename('/er/f', '/er/g', true, true)$$, 'PF022', NULL,
                 'rename with both noreplace and exchange is EINVAL');
SELECT throws_ok($$SELECT pgfs_readlink('/er/f')$$, 'PF022', NULL, 'readlink of a file is EINVAL');
SELECT throws_ok($$SELECT pgfs_copy('/er/d', '/er/d2')$$, 'PF021', NULL,
                 'copy of a directory without recursive is EISDIR');
SELECT throws_ok($$SELECT pgfs_copy('/er/f', '/er/d/x')$$, 'PF017', NULL, 'copy over an existing name is EEXIST');
SELECT throws_ok($$SELECT pgfs_read('/er/f', -1)$$, 'PF022', NULL, 'a negative read offset is EINVAL');
SELECT throws_ok($$SELECT pgfs_read('/er/f', 0, -1)$$, 'PF022', NULL, 'a negative read length is EINVAL');
SELECT throws_ok($$SELECT pgfs_read('/er/f', 9223372036854775807, 10)$$, 'PF022', NULL,
                 'a read whose offset + length overflows is EINVAL (as pread)');
SELECT throws_ok($$SELECT pgfs_write('/er/f', 'y'::bytea, -1)$$, 'PF022', NULL, 'a negative write offset is EINVAL');
SELECT throws_ok($$SELECT pgfs_truncate('/er/f', -1)$$, 'PF022', NULL, 'a negative length is EINVAL');
SELECT throws_ok($$SELECT pgfs_chmod('/er/f', 33188)$$, 'PF022', NULL, 'chmod with type bits is EINVAL');
SELECT throws_ok($$SELECT pgfs_chmod('/er/f', -1)$$, 'PF022', NULL, 'chmod with a negative mode is EINVAL');
SELECT throws_ok($$SELECT pgfs_chown('/er/f', -1, NULL)$$, 'PF022', NULL, 'chown to a negative owner is EINVAL');
SELECT throws_ok($$SELECT pgfs_mkdir('/er/m', 16877)$$, 'PF022', NULL, 'mkdir with type bits in mode is EINVAL');
SELECT throws_ok($$SELECT pgfs_mknod('/er/n', 'directory')$$, 'PF022', NULL, 'mknod of a directory is EINVAL');
SELECT throws_ok($$SELECT pgfs_mknod('/er/n', 'char', NULL, 4096, 0)$$, 'PF022', NULL,
                 'a device major over 4095 is EINVAL');
SELECT throws_ok($$SELECT pgfs_utimens('/er/f', 'infinity', NULL)$$, 'PF022', NULL, 'an infinite time is EINVAL');
SELECT throws_ok($$SELECT pgfs_setxattr('/er/f', 'user.k', 'w'::bytea, 4)$$, 'PF022', NULL,
                 'setxattr with an unknown flag is EINVAL');
SELECT throws_ok($$SELECT pgfs_read('/er/fifo')$$, 'PF022', NULL, 'read of a fifo is EINVAL');

-- EINVAL: NULL where the function is not STRICT
SELECT throws_ok($$SELECT pgfs_read(NULL)$$, 'PF022', NULL, 'read of NULL is EINVAL');
SELECT throws_ok($$SELECT pgfs_read('/er/f', NULL)$$, 'PF022', NULL, 'read at a NULL offset is EINVAL');
SELECT throws_ok($$SELECT pgfs_mkdir(NULL)$$, 'PF022', NULL, 'mkdir of NULL is EINVAL');
SELECT throws_ok($$SELECT pgfs_chown(NULL, 1, 1)$$, 'PF022', NULL, 'chown of NULL is EINVAL');
SELECT throws_ok($$SELECT pgfs_utimens(NULL, now(), now())$$, 'PF022', NULL, 'utimens of NULL is EINVAL');
SELECT throws_ok($$SELECT pgfs_mknod(NULL, 'fifo')$$, 'PF022', NULL, 'mknod of NULL is EINVAL');
SELECT throws_ok($$SELECT pgfs_mknod('/er/n', NULL)$$, 'PF022', NULL, 'mknod of type NULL is EINVAL');
SELECT is(pgfs_write(NULL, 'y'::bytea), NULL::bigint, 'strict functions return NULL for NULL');

-- ELOOP
SELECT throws_ok($$SELECT pgfs_stat('/er/loop')$$, 'PF040', NULL, 'stat of a link to itself is ELOOP');
SELECT throws_ok($$SELECT pgfs_read('/er/l1')$$, 'PF040', NULL, 'read through two links to each other is ELOOP');
SELECT throws_ok($$SELECT pgfs_write('/er/loop/x', 'y'::bytea)$$, 'PF040', NULL,
                 'a loop in a directory component is ELOOP');
SELECT throws_ok($$SELECT pgfs_write('/er/l2', 'y'::bytea)$$, 'PF040', NULL, 'write through a loop is ELOOP');
SELECT is(pgfs_read('/er/c39'), 'data'::bytea, 'a chain of 40 links is followed');
SELECT throws_ok($$SELECT pgfs_read('/er/c40')$$, 'PF040', NULL, 'a chain of 41 links is ELOOP (MAXSYMLINKS 40)');
SELECT is((pgfs_lstat('/er/loop')).type, 'symlink', 'lstat of a looping link works');

-- EFBIG, EOVERFLOW
SELECT throws_ok($$SELECT pgfs_write('/er/f', 'y'::bytea, 1125899906842624)$$, 'PF027', NULL,
                 'a write at 2^50 is EFBIG');
SELECT throws_ok($$SELECT pgfs_write('/er/f', 'yz'::bytea, 1125899906842623)$$, 'PF027', NULL,
                 'a write ending past 2^50 is EFBIG');
SELECT throws_ok($$SELECT pgfs_write('/er/new', 'yz'::bytea, 9223372036854775807)$$, 'PF027', NULL,
                 'a write whose end overflows is EFBIG');
SELECT throws_ok($$SELECT pgfs_append('/er/huge', 'y'::bytea)$$, 'PF027', NULL,
                 'append to a file of 2^50 bytes is EFBIG');
SELECT throws_ok($$SELECT pgfs_truncate('/er/f', 1125899906842625)$$, 'PF027', NULL,
                 'truncate past 2^50 is EFBIG');
SELECT throws_ok($$SELECT pgfs_read('/er/huge')$$, 'PF075', NULL,
                 'reading a whole 1 PiB file into one bytea is EOVERFLOW');
SELECT throws_ok($$SELECT pgfs_read('/er/huge', 1)$$, 'PF075', NULL,
                 'reading to the end of a 1 PiB file is EOVERFLOW');
SELECT throws_ok($$SELECT pgfs_read('/er/huge', 0, 2000000000)$$, 'PF075', NULL,
                 'a 2 GB range read is EOVERFLOW');

-- extended attributes: ENODATA, ERANGE, E2BIG
SELECT throws_ok($$SELECT pgfs_getxattr('/er/f', 'user.none')$$, 'PF061', NULL,
                 'getxattr of a missing attribute is ENODATA');
SELECT throws_ok($$SELECT pgfs_removexattr('/er/f', 'user.none')$$, 'PF061', NULL,
                 'removexattr of a missing attribute is ENODATA');
SELECT throws_ok($$SELECT pgfs_setxattr('/er/f', 'user.none', 'w'::bytea, 2)$$, 'PF061', NULL,
                 'setxattr XATTR_REPLACE of a missing attribute is ENODATA');
SELECT throws_ok($$SELECT pgfs_setxattr('/er/f', 'user.' || repeat('n', 251), 'w'::bytea)$$, 'PF034', NULL,
                 'an attribute name of 256 bytes is ERANGE');
SELECT throws_ok($$SELECT pgfs_setxattr('/er/f', '', 'w'::bytea)$$, 'PF034', NULL,
                 'an empty attribute name is ERANGE');
SELECT throws_ok($$SELECT pgfs_setxattr('/er/f', 'user.big', decode(repeat('00', 65537), 'hex'))$$, 'PF007', NULL,
                 'an attribute value over 65536 bytes is E2BIG');

-- inode API: the same rules by inode number
SELECT throws_ok($$SELECT pgfs_ll_getattr(999999999)$$, 'PF002', NULL, 'getattr of a missing inode is ENOENT');
SELECT throws_ok($$SELECT pgfs_ll_lookup(1, 'missing'::bytea)$$, 'PF002', NULL, 'lookup of a missing name is ENOENT');
SELECT throws_ok($$SELECT pgfs_ll_lookup((pgfs_stat('/er/f')).ino, 'x'::bytea)$$, 'PF020', NULL,
                 'lookup in a file is ENOTDIR');
SELECT throws_ok($$SELECT pgfs_ll_create(1, 'a/b'::bytea, 420, 0, 0)$$, 'PF022', NULL, 'a name with "/" is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_create(1, '\x6100'::bytea, 420, 0, 0)$$, 'PF022', NULL,
                 'a name with a NUL byte is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_mkdir(1, '..'::bytea, 493, 0, 0)$$, 'PF022', NULL, 'mkdir of ".." is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_create(1, ''::bytea, 420, 0, 0)$$, 'PF022', NULL, 'an empty name is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_create(1, convert_to(repeat('n', 256), 'UTF8'), 420, 0, 0)$$, 'PF036', NULL,
                 'a name of 256 bytes is ENAMETOOLONG');
SELECT throws_ok($$SELECT pgfs_ll_create((pgfs_stat('/er')).ino, 'f'::bytea, 420, 0, 0)$$, 'PF017', NULL,
                 'create of an existing name is EEXIST');
SELECT throws_ok($$SELECT pgfs_ll_create(NULL, 'f'::bytea, 420, 0, 0)$$, 'PF022', NULL,
                 'create in a NULL directory is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_setattr(NULL, 420, NULL, NULL, NULL, NULL, NULL)$$, 'PF022', NULL,
                 'setattr of a NULL inode is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_read((pgfs_stat('/er/f')).ino, -1, 10)$$, 'PF022', NULL,
                 'a negative offset is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_read((pgfs_stat('/er/f')).ino, 9223372036854775807, 10)$$, 'PF022', NULL,
                 'a read whose offset + length overflows is EINVAL (as pread)');
SELECT throws_ok($$SELECT pgfs_ll_read((pgfs_stat('/er/d')).ino, 0, 10)$$, 'PF021', NULL,
                 'read of a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_ll_write((pgfs_stat('/er/f')).ino, 1125899906842624, 'y'::bytea)$$, 'PF027', NULL,
                 'a write at 2^50 is EFBIG');
SELECT throws_ok($$SELECT pgfs_ll_writev((pgfs_stat('/er/f')).ino, '{0,1125899906842624}', '{1,1}', 'yz'::bytea)$$,
                 'PF027', NULL, 'a scattered write with a piece at 2^50 is EFBIG');
SELECT throws_ok($$SELECT pgfs_ll_writev((pgfs_stat('/er/f')).ino, '{0,1}', '{1}', 'y'::bytea)$$,
                 'PF022', NULL, 'a scattered write with more offsets than lengths is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_seek((pgfs_stat('/er/f')).ino, (pgfs_stat('/er/f')).size, 3)$$, 'PF006', NULL,
                 'SEEK_DATA at the end of a file is ENXIO');
SELECT throws_ok($$SELECT pgfs_ll_seek((pgfs_stat('/er/f')).ino, 0, 2)$$, 'PF022', NULL,
                 'a whence other than SEEK_DATA and SEEK_HOLE is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_fallocate((pgfs_stat('/er/f')).ino, 32, 0, 10)$$, 'PF095', NULL,
                 'fallocate INSERT_RANGE is EOPNOTSUPP');
SELECT throws_ok($$SELECT pgfs_ll_fallocate((pgfs_stat('/er/d')).ino, 0, 0, 10)$$, 'PF021', NULL,
                 'fallocate of a directory is EISDIR');
SELECT throws_ok($$SELECT pgfs_ll_copy_range((pgfs_stat('/er/f')).ino, 0, (pgfs_stat('/er/f')).ino, 1, 10)$$,
                 'PF022', NULL, 'copy_file_range onto an overlapping range of the same file is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_copy_range((pgfs_stat('/er/f')).ino, 0, (pgfs_stat('/er/f')).ino, 0, -1)$$,
                 'PF022', NULL, 'copy_file_range of a negative length is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_rename(1, 'er'::bytea, (pgfs_stat('/er/d')).ino, 'er'::bytea)$$, 'PF022', NULL,
                 'rename of a directory into its subtree is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_rename(1, 'er'::bytea, 1, 'x'::bytea, 8)$$, 'PF022', NULL,
                 'unknown rename flags (8) are EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_link((pgfs_stat('/er/d')).ino, 1, 'dl'::bytea)$$, 'PF001', NULL,
                 'link to a directory is EPERM');
SELECT throws_ok($$SELECT pgfs_ll_readlink((pgfs_stat('/er/f')).ino)$$, 'PF022', NULL,
                 'readlink of a file is EINVAL');
SELECT throws_ok($$SELECT pgfs_ll_getxattr((pgfs_stat('/er/f')).ino, 'user.none'::bytea)$$, 'PF061', NULL,
                 'getxattr of a missing attribute is ENODATA');
SELECT throws_ok($$SELECT pgfs_ll_rmdir(1, 'er'::bytea)$$, 'PF039', NULL, 'rmdir of a non-empty directory is ENOTEMPTY');
SELECT throws_ok($$SELECT pgfs_ll_unlink((pgfs_stat('/er')).ino, 'd'::bytea)$$, 'PF021', NULL,
                 'unlink of a directory is EISDIR');

-- nothing above changed anything
SELECT is(pg_temp.manifest(), (SELECT m FROM before), 'the failed calls changed nothing');
SELECT throws_ok($$SELECT pgfs_copy('/er/d', '/er/d/inside', true)$$, 'PF022', NULL,
                 'copy of a directory into itself is EINVAL (as cp)');
-- a tree of one directory: a copy that does not stop at itself recurses linearly
SELECT throws_ok($$SELECT pgfs_mkdir('/cp/b', NULL, true), pgfs_copy('/cp', '/cp/b/deeper', true)$$, 'PF022', NULL,
                 'copy of a directory into its subtree is EINVAL (as cp)');
SELECT lives_ok($$SELECT pgfs_remove('/er/d/inside', true) WHERE pgfs_exists('/er/d/inside')$$,
                'clean up after a copy into itself');
SELECT lives_ok($$SELECT pgfs_write('/er/f', 'after'::bytea), pgfs_rename('/er/e', '/er/d/e')$$,
                'the tree still works');
SELECT is((pgfs_read('/er/f'), (pgfs_stat('/er/d')).nlink), ('after'::bytea, 3), 'and is consistent');

SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck finds no problem');

SELECT * FROM finish();
ROLLBACK;
