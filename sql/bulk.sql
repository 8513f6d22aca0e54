--
-- Bulk work in one transaction.  Thousands of files created in, renamed in
-- or removed from one directory in one transaction update the directory's
-- inode row as many times, a file rewritten piece by piece does the same to
-- its inode and chunk rows, and none of those row versions can be pruned
-- before the transaction ends.  A late change must still cost about what an
-- early one did: it must not look at every earlier version of the row
-- (src/catalog.c, the hints; src/rowwrite.c, the primary key's entries).
-- Cost is counted in buffer accesses, which do not depend on the machine.
-- Also here: pgfs_fsck() stays linear on tables never analysed.
--
CREATE FUNCTION pg_temp.blocks(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    p json;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, BUFFERS, TIMING OFF, SUMMARY OFF, FORMAT JSON) ' || q INTO p;
    RETURN (p -> 0 -> 'Plan' ->> 'Shared Hit Blocks')::bigint
         + (p -> 0 -> 'Plan' ->> 'Shared Read Blocks')::bigint;
END $$;
VACUUM ANALYZE pgfs.inode, pgfs.dirent, pgfs.filemap, pgfs.chunk;
SELECT pgfs_mkdir('/bulk') > 0 AS made;

BEGIN;
SELECT pgfs_mkdir('/bulk/d') > 0 AS made;
SELECT count(pgfs_write('/bulk/d/e' || i, '\x01'::bytea)) FROM generate_series(1, 20) i;
-- (each kind of call once, so that what a session's first call loads is not counted)
SELECT pgfs_unlink('/bulk/d/e20');
SELECT pgfs_rename('/bulk/d/e19', '/bulk/d/r19');
SELECT size FROM pgfs_stat('/bulk/d');
SELECT pg_temp.blocks($$SELECT pgfs_write('/bulk/d/early', '\x01'::bytea)$$) AS create_early,
       pg_temp.blocks($$SELECT pgfs_unlink('/bulk/d/e1')$$) AS unlink_early,
       pg_temp.blocks($$SELECT pgfs_rename('/bulk/d/e3', '/bulk/d/r3')$$) AS rename_early,
       pg_temp.blocks($$SELECT pgfs_stat('/bulk/d')$$) AS stat_early \gset
SELECT count(pgfs_write('/bulk/d/f' || i, '\x01'::bytea)) FROM generate_series(1, 3000) i;
SELECT pg_temp.blocks($$SELECT pgfs_write('/bulk/d/late', '\x01'::bytea)$$) AS create_late,
       pg_temp.blocks($$SELECT pgfs_unlink('/bulk/d/e2')$$) AS unlink_late,
       pg_temp.blocks($$SELECT pgfs_rename('/bulk/d/e4', '/bulk/d/r4')$$) AS rename_late,
       pg_temp.blocks($$SELECT pgfs_stat('/bulk/d')$$) AS stat_late \gset
-- 3000 versions later, a change or a stat of the directory costs about the same
SELECT :create_late <= 2 * :create_early AS create_flat,
       :unlink_late <= 3 * :unlink_early AS unlink_flat,
       :rename_late <= 3 * :rename_early AS rename_flat,
       :stat_late <= 2 * :stat_early AS stat_flat;
SELECT nlink, size FROM pgfs_stat('/bulk/d');
SELECT count(*) FROM pgfs_readdir('/bulk/d');

-- a savepoint rolled back takes its versions with it; later changes start
-- from the version before it
SAVEPOINT s;
SELECT count(pgfs_mkdir('/bulk/d/sub' || i)) FROM generate_series(1, 5) i;
SELECT nlink FROM pgfs_stat('/bulk/d');
ROLLBACK TO s;
SELECT nlink FROM pgfs_stat('/bulk/d');
SELECT pgfs_mkdir('/bulk/d/sub6') > 0 AS made;
SELECT pgfs_write('/bulk/d/after', '\x02'::bytea);
SELECT nlink FROM pgfs_stat('/bulk/d');
-- a savepoint released keeps them
SAVEPOINT t;
SELECT pgfs_mkdir('/bulk/d/sub7') > 0 AS made;
RELEASE t;
SELECT nlink FROM pgfs_stat('/bulk/d');
-- a failed call in a savepoint, then more changes
SAVEPOINT u;
\set VERBOSITY terse
SELECT pgfs_mkdir('/bulk/d/sub7');
\set VERBOSITY default
ROLLBACK TO u;
SELECT pgfs_rename('/bulk/d/f1', '/bulk/d/g1');
SELECT count(*) FROM pgfs_fsck();
COMMIT;

-- the primary key has an entry for the directory row's latest version, and
-- still refuses a second row with its number
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FROM pgfs.inode WHERE ino = (pgfs_lstat('/bulk/d')).ino;
RESET enable_seqscan;
RESET enable_bitmapscan;
\set VERBOSITY terse
INSERT INTO pgfs.inode SELECT * FROM pgfs.inode WHERE ino = (pgfs_lstat('/bulk/d')).ino;
\set VERBOSITY default
CREATE EXTENSION amcheck;
SELECT bt_index_check('pgfs.inode_pkey', true);
DROP EXTENSION amcheck;
SELECT nlink FROM pgfs_stat('/bulk/d');
SELECT count(*) FROM pgfs_readdir('/bulk/d');

-- one file rewritten in place 3000 times in one transaction: its inode row
-- and its chunk get as many versions; the last write costs what an early
-- one did, and reads see the last of them
BEGIN;
SELECT pgfs_write('/bulk/w', convert_to(repeat('x', 100), 'UTF8'));
SELECT count(pgfs_write('/bulk/w', convert_to(lpad(i::text, 8), 'UTF8'), 8 * (i % 12)))
  FROM generate_series(1, 20) i;
SELECT pg_temp.blocks($$SELECT pgfs_write('/bulk/w', '\x41'::bytea, 96)$$) AS write_early \gset
SELECT count(pgfs_write('/bulk/w', convert_to(lpad(i::text, 8), 'UTF8'), 8 * (i % 12)))
  FROM generate_series(21, 3000) i;
SELECT pg_temp.blocks($$SELECT pgfs_write('/bulk/w', '\x42'::bytea, 97)$$) AS write_late \gset
SELECT :write_late <= 2 * :write_early AS write_flat;
SELECT convert_from(pgfs_read('/bulk/w'), 'UTF8') AS content, size FROM pgfs_stat('/bulk/w');
SAVEPOINT s;
SELECT pgfs_write('/bulk/w', '\x43'::bytea, 98);
ROLLBACK TO s;
SELECT pgfs_write('/bulk/w', '\x44'::bytea, 99);
SELECT convert_from(pgfs_read('/bulk/w', 90, 10), 'UTF8') AS tail;
COMMIT;
SELECT convert_from(pgfs_read('/bulk/w', 90, 10), 'UTF8') AS tail;

-- one file copied 2000 times in one transaction: its chunks' reference
-- counts get as many versions; the last copy costs what an early one did
BEGIN;
SELECT pgfs_write('/bulk/tpl', convert_to(repeat('template ', 1000), 'UTF8'));
SELECT count(pgfs_copy('/bulk/tpl', '/bulk/c' || i)) FROM generate_series(1, 20) i;
SELECT pg_temp.blocks($$SELECT pgfs_copy('/bulk/tpl', '/bulk/c_early')$$) AS copy_early \gset
SELECT count(pgfs_copy('/bulk/tpl', '/bulk/c' || i)) FROM generate_series(21, 2000) i;
SELECT pg_temp.blocks($$SELECT pgfs_copy('/bulk/tpl', '/bulk/c_late')$$) AS copy_late \gset
SELECT :copy_late <= :copy_early + 15 AS copy_flat;
SELECT c.refs FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id)
 WHERE m.ino = (pgfs_stat('/bulk/tpl')).ino;
-- and unlinked again: each unlink drops a reference, and the last costs
-- what an early one did
SELECT count(pgfs_unlink('/bulk/c' || i)) FROM generate_series(1, 20) i;
SELECT pg_temp.blocks($$SELECT pgfs_unlink('/bulk/c_early')$$) AS unlink_copy_early \gset
SELECT count(pgfs_unlink('/bulk/c' || i)) FROM generate_series(21, 1999) i;
SELECT pg_temp.blocks($$SELECT pgfs_unlink('/bulk/c2000')$$) AS unlink_copy_late \gset
SELECT :unlink_copy_late <= :unlink_copy_early + 8 AS unlink_copy_flat;
CREATE TEMP TABLE tpl_chunks AS
  SELECT chunk_id FROM pgfs.filemap WHERE ino = (pgfs_stat('/bulk/tpl')).ino;
SELECT c.refs FROM tpl_chunks JOIN pgfs.chunk c USING (chunk_id);
-- the last two references dropped in a savepoint: the chunk row goes, and
-- comes back with the savepoint's rollback
SAVEPOINT s;
SELECT pgfs_unlink('/bulk/c_late'), pgfs_unlink('/bulk/tpl');
SELECT count(*) AS left FROM tpl_chunks JOIN pgfs.chunk c USING (chunk_id);
ROLLBACK TO s;
SELECT c.refs FROM tpl_chunks JOIN pgfs.chunk c USING (chunk_id);
SELECT pgfs_read('/bulk/c_late') = pgfs_read('/bulk/tpl') AS same;
SELECT pgfs_unlink('/bulk/c_late');
SELECT c.refs FROM tpl_chunks JOIN pgfs.chunk c USING (chunk_id);
COMMIT;
SELECT pgfs_truncate('/bulk/tpl', 0);
SELECT count(*) AS left FROM tpl_chunks JOIN pgfs.chunk c USING (chunk_id);
DROP TABLE tpl_chunks;
-- a file of 2500 chunks (more than one batch of map entries) copied whole
SELECT count(pgfs_write('/bulk/sparse', '\x07'::bytea, k * 65536)) FROM generate_series(0, 2499) k;
SELECT pgfs_copy('/bulk/sparse', '/bulk/sparse2');
SELECT count(*) AS shared, min(c.refs) AS min_refs, max(c.refs) AS max_refs
  FROM pgfs.filemap a JOIN pgfs.filemap b USING (chunkno, chunk_id) JOIN pgfs.chunk c USING (chunk_id)
 WHERE a.ino = (pgfs_stat('/bulk/sparse')).ino AND b.ino = (pgfs_stat('/bulk/sparse2')).ino;
SELECT size, blocks FROM pgfs_stat('/bulk/sparse2');
SELECT count(*) FROM pgfs_fsck();

-- removing a tree in one call, in the transaction that made it: twice the
-- files, twice the cost
BEGIN;
SELECT pgfs_mkdir('/bulk/r1') > 0 AS made, pgfs_mkdir('/bulk/r2') > 0 AS made;
SELECT count(pgfs_write('/bulk/r1/f' || i, '\x03'::bytea)) FROM generate_series(1, 1000) i;
SELECT count(pgfs_write('/bulk/r2/f' || i, '\x03'::bytea)) FROM generate_series(1, 2000) i;
SELECT pg_temp.blocks($$SELECT pgfs_remove('/bulk/r1', true)$$) AS remove_1000,
       pg_temp.blocks($$SELECT pgfs_remove('/bulk/r2', true)$$) AS remove_2000 \gset
SELECT :remove_2000 <= 3 * :remove_1000 AS remove_linear;
SELECT pgfs_remove('/bulk', true);
COMMIT;
SELECT pgfs_exists('/bulk');

-- the extension dropped and created again in the transaction: the new
-- tables' rows are found, not where the old ones were
BEGIN;
SELECT count(pgfs_mkdir('/zz' || i)) FROM generate_series(1, 400) i;
DROP EXTENSION pgfs;
CREATE EXTENSION pgfs;
SELECT pgfs_mkdir('/zz') > 0 AS made;
SELECT pgfs_write('/zz/a', '\x01'::bytea);
SELECT count(*) FROM pgfs_readdir('/');
SELECT count(*) FROM pgfs_fsck();
ROLLBACK;
SELECT count(*) FROM pgfs_readdir('/') WHERE name LIKE 'zz%';

-- pgfs_fsck() names the file of each chunk it decodes with one probe of the
-- map, and stays linear in the size of the store on tables the planner
-- knows nothing about, as after a restore: it took minutes for 250000
-- files when the probe could become a walk of the whole map
SELECT pgfs_mkdir('/fsck') > 0 AS made;
SELECT count(pgfs_write('/fsck/f' || i, decode(repeat(md5(i::text), 4), 'hex')))
  FROM generate_series(1, 2000) i;
ALTER TABLE pgfs.filemap SET (autovacuum_enabled = off);
ALTER TABLE pgfs.chunk SET (autovacuum_enabled = off);
DELETE FROM pg_statistic WHERE starelid IN ('pgfs.filemap'::regclass, 'pgfs.chunk'::regclass);
UPDATE pg_class SET reltuples = -1 WHERE oid IN ('pgfs.filemap'::regclass, 'pgfs.chunk'::regclass);
SELECT count(*) AS maps FROM pgfs.filemap \gset
-- the backend's counts not yet reported include earlier transactions' (up
-- to a second's); within one transaction none are reported, so the
-- difference is this check's
BEGIN;
SELECT idx_tup_fetch AS before FROM pg_stat_xact_user_tables
 WHERE relid = 'pgfs.filemap'::regclass \gset
SELECT count(*) FROM pgfs_fsck();
SELECT idx_tup_fetch - :before AS fetched FROM pg_stat_xact_user_tables
 WHERE relid = 'pgfs.filemap'::regclass \gset
COMMIT;
SELECT :fetched <= 3 * :maps AS fsck_linear;
ALTER TABLE pgfs.filemap RESET (autovacuum_enabled);
ALTER TABLE pgfs.chunk RESET (autovacuum_enabled);
SELECT pgfs_remove('/fsck', true);
