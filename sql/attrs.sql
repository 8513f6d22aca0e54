-- stat, chmod, chown, utimens, mknod, statfs, extended attributes
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;

SELECT pgfs_mkdir('/at') > 1 AS made;
SELECT pgfs_write('/at/f', 'abc'::bytea);
SELECT type, to_char(mode, 'FM999999') AS mode, nlink, uid, gid, size, blksize, generation > 0 AS gen
  FROM pgfs_stat('/at/f');
-- times: nanosecond columns agree with the timestamptz ones
SELECT abs(extract(epoch FROM mtime) * 1e6 - mtime_ns / 1000) < 1 AS same_us
  FROM pgfs_stat('/at/f');
-- every change bumps the generation and ctime
CREATE TEMP TABLE g AS SELECT generation, ctime_ns FROM pgfs_stat('/at/f');
SELECT pgfs_chmod('/at/f', 1004);  -- 01754: sticky, rwxr-xr--
SELECT mode & 4095 = 1004 AS mode_set, (mode & 61440) = 32768 AS still_file,
       s.generation > g.generation AS gen_bumped, s.ctime_ns >= g.ctime_ns AS ctime
  FROM pgfs_stat('/at/f') s, g;
SELECT pg_temp.try($$SELECT pgfs_chmod('/at/f', 65535)$$);

-- chown, and the set-user/group-ID bits it clears on files
SELECT pgfs_chmod('/at/f', 3565);  -- 06755
SELECT pgfs_chown('/at/f', 1000, 100);
SELECT uid, gid, mode & 4095 = 493 AS now_0755 FROM pgfs_stat('/at/f');
SELECT pgfs_chown('/at/f', NULL, 200);
SELECT uid, gid FROM pgfs_stat('/at/f');
SELECT pgfs_chmod('/at', 3565);
SELECT pgfs_chown('/at', 7, 8);
SELECT uid, gid, mode & 4095 AS dir_keeps_bits FROM pgfs_stat('/at');
SELECT pgfs_chmod('/at', 493);
SELECT pg_temp.try($$SELECT pgfs_chown('/at/f', -1, 0)$$);

-- utimens keeps nanoseconds through the inode API and microseconds through timestamptz
SELECT pgfs_utimens('/at/f', '2001-02-03 04:05:06.123456+00', '1969-12-31 23:59:59.5+00');
SELECT atime, mtime, atime_ns, mtime_ns FROM pgfs_stat('/at/f');
SELECT pgfs_utimens('/at/f', NULL, '2020-01-01 00:00:00+00');
SELECT atime, mtime FROM pgfs_stat('/at/f');
SELECT mtime_ns FROM pgfs_ll_setattr((pgfs_stat('/at/f')).ino, NULL, NULL, NULL, NULL, NULL, 1234567890123456789);
SELECT mtime_ns, mtime FROM pgfs_stat('/at/f');
SELECT pg_temp.try($$SELECT pgfs_utimens('/at/f', 'infinity', NULL)$$);

-- mknod
SELECT pgfs_mknod('/at/fifo', 'fifo') > 0, pgfs_mknod('/at/sock', 'socket', 384) > 0,
       pgfs_mknod('/at/null', 'char', 438, 1, 3) > 0, pgfs_mknod('/at/blk', 'block', 432, 8, 1) > 0,
       pgfs_mknod('/at/plain', 'file') > 0;
SELECT name, type, to_char(mode, 'FM999999') FROM pgfs_readdir('/at', true) ORDER BY name;
SELECT rdev, (rdev >> 8) & 4095 AS major, rdev & 255 AS minor FROM pgfs_stat('/at/null');
SELECT pg_temp.try($$SELECT pgfs_mknod('/at/bad', 'door')$$);
SELECT pg_temp.try($$SELECT pgfs_mknod('/at/fifo', 'fifo')$$);
SELECT pg_temp.try($$SELECT pgfs_read('/at/fifo')$$);
SELECT pg_temp.try($$SELECT pgfs_truncate('/at/fifo', 0)$$);

-- statfs
SELECT bsize, frsize, namemax, blocks >= bfree AS sane, bfree >= bavail AS sane2 FROM pgfs_statfs();

-- extended attributes
SELECT pgfs_setxattr('/at/f', 'user.mime', 'text/plain'::bytea);
SELECT pgfs_setxattr('/at/f', 'user.empty', ''::bytea);
SELECT * FROM pgfs_listxattr('/at/f');
SELECT convert_from(pgfs_getxattr('/at/f', 'user.mime'), 'UTF8'), length(pgfs_getxattr('/at/f', 'user.empty'));
SELECT pg_temp.try($$SELECT pgfs_setxattr('/at/f', 'user.mime', 'x'::bytea, 1)$$);
SELECT pg_temp.try($$SELECT pgfs_setxattr('/at/f', 'user.new', 'x'::bytea, 2)$$);
SELECT pgfs_setxattr('/at/f', 'user.mime', 'text/html'::bytea, 2);
SELECT convert_from(pgfs_getxattr('/at/f', 'user.mime'), 'UTF8');
SELECT pg_temp.try($$SELECT pgfs_getxattr('/at/f', 'user.none')$$);
SELECT pg_temp.try($$SELECT pgfs_removexattr('/at/f', 'user.none')$$);
SELECT pg_temp.try($$SELECT pgfs_setxattr('/at/f', repeat('n', 256), 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_setxattr('/at/f', '', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_setxattr('/at/f', 'user.big', decode(repeat('00', 65537), 'hex'))$$);
SELECT pg_temp.try($$SELECT pgfs_setxattr('/at/f', 'user.x', 'x'::bytea, 4)$$);
SELECT pgfs_removexattr('/at/f', 'user.empty');
SELECT * FROM pgfs_listxattr('/at/f');
-- xattrs go with the file
SELECT pgfs_unlink('/at/f');
SELECT count(*) FROM pgfs.xattr;

SELECT pgfs_remove('/at', true);
SELECT * FROM pgfs_fsck();
