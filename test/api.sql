-- test/api.sql: file data and attributes through the path API: write/read
-- round trips and ranges, holes, offsets past the end, append, truncate,
-- copy-on-write copies, exists, stat/lstat fields.
BEGIN;
SELECT plan(76);

-- deterministic incompressible bytes: n bytes from seed
CREATE FUNCTION pg_temp.noise(n integer, seed integer) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$
    SELECT substring(decode(string_agg(md5(seed || ':' || i), '' ORDER BY i), 'hex') FROM 1 FOR n)
      FROM generate_series(0, n / 16) AS i
$$;
CREATE FUNCTION pg_temp.zeros(n integer) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$ SELECT decode(repeat('00', n), 'hex') $$;

SELECT cmp_ok(pgfs_mkdir('/api'), '>', 1::bigint, 'mkdir returns the new inode number');

-- whole-file write and read
SELECT is(pgfs_write('/api/a', 'hello'::bytea), 5::bigint, 'write returns the bytes written');
SELECT is(pgfs_read('/api/a'), 'hello'::bytea, 'read returns what was written');
SELECT is(pgfs_read('/api/a', 1, 3), 'ell'::bytea, 'read of a range');
SELECT is(pgfs_read('/api/a', 3), 'lo'::bytea, 'read from an offset to the end');
SELECT is(pgfs_read('/api/a', 3, NULL), 'lo'::bytea, 'a NULL length reads to the end');
SELECT is(pgfs_read('/api/a', 2, 100), 'llo'::bytea, 'a read past the end is short');
SELECT is(pgfs_read('/api/a', 5, 10), ''::bytea, 'a read at the end is empty');
SELECT is(pgfs_read('/api/a', 1000, 10), ''::bytea, 'a read beyond the end is empty');
SELECT is(pgfs_read('/api/a', 1, 0), ''::bytea, 'a zero-length read is empty');
SELECT is(pgfs_write('/api/a', 'xy'::bytea), 2::bigint, 'rewrite with shorter data');
SELECT is(pgfs_read('/api/a'), 'xy'::bytea, 'whole-file write replaces the old contents');
SELECT is((pgfs_stat('/api/a')).size, 2::bigint, 'and sets the size');
SELECT is(pgfs_write('/api/empty', ''::bytea), 0::bigint, 'writing nothing creates an empty file');
SELECT is(pgfs_read('/api/empty'), ''::bytea, 'an empty file reads as empty');

-- writes at an offset
SELECT is(pgfs_write('/api/a', 'Z'::bytea, 1), 1::bigint, 'write at an offset returns the bytes written');
SELECT is(pgfs_read('/api/a'), 'xZ'::bytea, 'write at an offset overwrites in place');
SELECT is(pgfs_write('/api/a', 'END'::bytea, 10), 3::bigint, 'write past the end');
SELECT is(pgfs_read('/api/a'), 'xZ'::bytea || pg_temp.zeros(8) || 'END'::bytea,
          'the gap before a write past the end reads as zeros');
SELECT is((pgfs_stat('/api/a')).size, 13::bigint, 'write past the end extends the file');
SELECT is(pgfs_write('/api/new', 'abc'::bytea, 4), 3::bigint, 'write at an offset creates a missing file');
SELECT is(pgfs_read('/api/new'), pg_temp.zeros(4) || 'abc'::bytea, 'with a hole before the data');
SELECT is(pgfs_write('/api/a', ''::bytea, 100), 0::bigint, 'an empty write past the end');
SELECT is((pgfs_stat('/api/a')).size, 13::bigint, 'does not extend the file (as pwrite of 0 bytes)');

-- append
SELECT is(pgfs_append('/api/log', 'ab'::bytea), 2::bigint, 'append creates the file, returns the new size');
SELECT is(pgfs_append('/api/log', 'cde'::bytea), 5::bigint, 'append returns the new size');
SELECT is(pgfs_read('/api/log'), 'abcde'::bytea, 'append adds at the end');

-- data over many 64 KiB chunks
CREATE TEMP TABLE big AS SELECT pg_temp.noise(300000, 1) AS data;
SELECT is(pgfs_write('/api/big', (SELECT data FROM big)), 300000::bigint, 'write 300000 bytes');
SELECT is(md5(pgfs_read('/api/big')), (SELECT md5(data) FROM big), 'read them back whole');
SELECT is(pgfs_read('/api/big', 65530, 20), (SELECT substring(data FROM 65531 FOR 20) FROM big),
          'a range read across a chunk boundary');
SELECT is(pgfs_read('/api/big', 131072, 65536), (SELECT substring(data FROM 131073 FOR 65536) FROM big),
          'a range read of exactly one chunk');
SELECT is(pgfs_read('/api/big', 299990), (SELECT substring(data FROM 299991) FROM big),
          'a read of the tail');
SELECT is(pgfs_write('/api/big', '\x4142434445464748494a'::bytea, 65531), 10::bigint,
          'overwrite across a chunk boundary');
UPDATE big SET data = overlay(data PLACING '\x4142434445464748494a'::bytea FROM 65532);
SELECT is(md5(pgfs_read('/api/big')), (SELECT md5(data) FROM big),
          'the overwrite changed exactly those bytes');
SELECT is(pgfs_write('/api/zip', convert_to(repeat('all work and no play ', 50000), 'UTF8')),
          1050000::bigint, 'write 1 MB of compressible text');
SELECT is(pgfs_read('/api/zip'), convert_to(repeat('all work and no play ', 50000), 'UTF8'),
          'compressible text reads back');
SELECT is(pgfs_write('/api/zeros', pg_temp.zeros(200000)), 200000::bigint, 'write 200000 zero bytes');
SELECT is(pgfs_read('/api/zeros'), pg_temp.zeros(200000), 'zeros read back as zeros');

-- sparse files
SELECT is(pgfs_write('/api/sparse', 'x'::bytea, 10 * 65536 + 5), 1::bigint, 'write far past the end');
SELECT is(pgfs_read('/api/sparse', 3 * 65536, 100), pg_temp.zeros(100), 'a hole reads as zeros');
SELECT is(pgfs_read('/api/sparse', 10 * 65536, 10), pg_temp.zeros(5) || 'x'::bytea,
          'the data after the hole is there');
SELECT ok((SELECT blocks * 512 < size FROM pgfs_stat('/api/sparse')), 'a hole takes no blocks');
SELECT is(pgfs_write('/api/huge', 'x'::bytea, 1125899906842623), 1::bigint,
          'write the last byte a file may have (2^50 - 1)');
SELECT is((pgfs_stat('/api/huge')).size, 1125899906842624::bigint, 'the file is 2^50 bytes');
SELECT is(pgfs_read('/api/huge', 1125899906842614, 100), pg_temp.zeros(9) || 'x'::bytea,
          'and reads at its end');

-- truncate
SELECT lives_ok($$SELECT pgfs_truncate('/api/big', 100)$$, 'truncate shrinks');
SELECT is((pgfs_stat('/api/big')).size, 100::bigint, 'size after shrinking');
SELECT is(pgfs_read('/api/big'), (SELECT substring(data FROM 1 FOR 100) FROM big), 'the kept bytes are intact');
SELECT lives_ok($$SELECT pgfs_truncate('/api/big', 70000)$$, 'truncate extends');
SELECT is(pgfs_read('/api/big', 100), pg_temp.zeros(69900),
          'the extension reads as zeros, not as the bytes cut before');
SELECT is(pgfs_read('/api/big', 0, 100), (SELECT substring(data FROM 1 FOR 100) FROM big),
          'and the start is unchanged');
SELECT lives_ok($$SELECT pgfs_truncate('/api/big', 0)$$, 'truncate to zero');
SELECT is((SELECT (size, blocks) FROM pgfs_stat('/api/big')), (0::bigint, 0::bigint),
          'an empty file has size 0 and 0 blocks');
SELECT is(pgfs_read('/api/big'), ''::bytea, 'and reads as empty');

-- copies share data copy-on-write and never see each other's writes
SELECT lives_ok($$SELECT pgfs_write('/api/orig', pg_temp.noise(150000, 2))$$, 'write a file to copy');
SELECT is(pgfs_copy('/api/orig', '/api/copy'), 1::bigint, 'copy a file counts one entry');
SELECT is(pgfs_read('/api/copy'), pg_temp.noise(150000, 2), 'the copy has the same data');
SELECT isnt((pgfs_stat('/api/copy')).ino, (pgfs_stat('/api/orig')).ino, 'the copy is a new inode');
SELECT lives_ok($$SELECT pgfs_write('/api/copy', 'COPY'::bytea, 70000)$$, 'write into the copy');
SELECT is(pgfs_read('/api/orig'), pg_temp.noise(150000, 2), 'the original is unchanged');
SELECT is(pgfs_read('/api/copy', 69998, 8),
          substring(pg_temp.noise(150000, 2) FROM 69999 FOR 2) || 'COPY'::bytea
          || substring(pg_temp.noise(150000, 2) FROM 70005 FOR 2),
          'the copy changed');
SELECT lives_ok($$SELECT pgfs_truncate('/api/orig', 10)$$, 'truncate the original');
SELECT is((pgfs_stat('/api/copy')).size, 150000::bigint, 'the copy keeps its size');
SELECT is(md5(pgfs_read('/api/copy', 100000)), md5(substring(pg_temp.noise(150000, 2) FROM 100001)),
          'and its data');

-- exists
SELECT ok(pgfs_exists('/'), 'the root exists');
SELECT ok(pgfs_exists('/api/a'), 'a file exists');
SELECT ok(pgfs_exists('/api'), 'a directory exists');
SELECT ok(NOT pgfs_exists('/api/nothing'), 'a missing name does not');

-- stat fields
SELECT is((SELECT (ino, type, mode, nlink) FROM pgfs_stat('/')),
          (1::bigint, 'directory'::text, 16877, 3),
          'the root: inode 1, drwxr-xr-x, two links plus one per subdirectory');
SELECT is((SELECT (type, mode & 61440, mode & 4095, nlink, uid, gid, rdev, size)
             FROM pgfs_stat('/api/log')),
          ('file'::text, 32768, 420, 1, 0::bigint, 0::bigint, 0::bigint, 5::bigint),
          'a new file: regular, 0644 (pgfs.default_file_mode), one link, owner 0:0, its size');
SELECT is((SELECT (type, mode) FROM pgfs_stat('/api')), ('directory'::text, 16877),
          'a new directory: 0755 (pgfs.default_dir_mode)');
SELECT ok((SELECT blksize > 0 AND blocks * 512 >= size AND generation > 0 FROM pgfs_stat('/api/log')),
          'blksize is set, blocks cover the data, generation is positive');
SELECT ok((SELECT mtime_ns / 1000 = (extract(epoch FROM mtime) * 1000000)::bigint
              AND atime_ns / 1000 = (extract(epoch FROM atime) * 1000000)::bigint
              AND ctime_ns / 1000 = (extract(epoch FROM ctime) * 1000000)::bigint
             FROM pgfs_stat('/api/log')),
          'the timestamptz columns are the *_ns columns');
SELECT ok((SELECT mtime >= now() AND mtime <= clock_timestamp() FROM pgfs_stat('/api/log')),
          'mtime is the time of the write');
SELECT is(pgfs_lstat('/api/log'), pgfs_stat('/api/log'), 'lstat of a file is stat');

SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck finds no problem');

SELECT * FROM finish();
ROLLBACK;
