--
-- Plans.  pgfs's statements find rows by key, and their plans are kept for
-- the life of the backend.  A plan made while the tables were small must not
-- read them whole once they have grown (src/spi.c), and the setting that
-- ensures it must not leak into the caller's session.
--
VACUUM ANALYZE pgfs.inode, pgfs.dirent, pgfs.filemap, pgfs.chunk;
SELECT pgfs_mkdir('/plans') > 0 AS made;

BEGIN;
SELECT count(pgfs_write('/plans/f' || i, '\x0102'::bytea)) FROM generate_series(1, 200) i;
SELECT count(pgfs_write('/plans/f' || i, '\x030405'::bytea, 2)) FROM generate_series(1, 200) i;
SELECT count(*) FROM (SELECT pgfs_rename('/plans/f' || i, '/plans/g' || i)
                        FROM generate_series(1, 100) i) s;
SELECT count(*) FROM (SELECT pgfs_unlink('/plans/g' || i) FROM generate_series(1, 100) i) s;
SELECT count(*) FROM (SELECT pgfs_truncate('/plans/f' || i, 1) FROM generate_series(101, 200) i) s;
SELECT relname, seq_scan
  FROM pg_stat_xact_user_tables
 WHERE schemaname = 'pgfs' AND relname IN ('inode', 'dirent', 'filemap', 'chunk')
 ORDER BY relname;
COMMIT;

-- the caller's settings are its own again after each call
SHOW enable_seqscan;
SELECT size FROM pgfs_stat('/plans/f200');
SHOW enable_seqscan;
SET enable_seqscan = off;
SELECT pgfs_write('/plans/h', '\x01'::bytea);
SHOW enable_seqscan;
RESET enable_seqscan;

-- A directory emptied of most of its entries: VACUUM brings dirent's
-- reltuples down to what is left while its indexes keep their pages, and
-- the planner's estimate of a probe of (parent, name) then loses to the
-- smaller (parent, cookie) with the name as a filter, which reads the whole
-- directory.  Names and renames find their entry through the key whatever
-- the estimates say: (parent, cookie) is not scanned at all.
SELECT pgfs_mkdir('/plans/big') > 0 AS made;
SELECT count(pgfs_write('/plans/big/a-name-long-enough-to-widen-the-key-' || i, '\x01'::bytea))
  FROM generate_series(1, 3000) i;
SELECT count(*) FROM (SELECT pgfs_unlink('/plans/big/a-name-long-enough-to-widen-the-key-' || i)
                        FROM generate_series(11, 3000) i) s;
VACUUM pgfs.dirent;
BEGIN;
SELECT count(pgfs_write('/plans/big/n' || i, '\x01'::bytea)) FROM generate_series(1, 400) i;
SELECT count(*) FROM (SELECT pgfs_rename('/plans/big/n' || i, '/plans/big/m' || i)
                        FROM generate_series(1, 200) i) s;
SELECT count(*) FROM (SELECT pgfs_rename('/plans/big/n' || i, '/plans/big/m' || (i - 200))
                        FROM generate_series(201, 400) i) s;
SELECT count(*) FROM (SELECT pgfs_unlink('/plans/big/m' || i) FROM generate_series(1, 200) i) s;
SELECT pg_stat_get_xact_numscans('pgfs.dirent_cookie_idx'::regclass) AS cookie_scans;
COMMIT;
SELECT name FROM pgfs_readdir('/plans/big') ORDER BY name;

-- One directory holding most of the store's entries: a generic plan that
-- joins "parent = $1" to the inodes expects that many rows for any
-- directory, and hashed every inode to list one of a single entry.
-- Listing, copying and removing small directories read their own inodes.
SELECT pgfs_mkdir('/plans/crowd') > 0 AS made;
SELECT count(pgfs_write('/plans/crowd/f' || i, '\x01'::bytea)) FROM generate_series(1, 3000) i;
SELECT pgfs_mkdir('/plans/tree/d' || i || '/e', 493, true) > 0 AS made FROM generate_series(1, 3) i;
SELECT count(pgfs_write('/plans/tree/d' || i || '/e/x', '\x02'::bytea)) FROM generate_series(1, 3) i;
ANALYZE pgfs.dirent, pgfs.inode;
BEGIN;
SELECT idx_tup_fetch + seq_tup_read AS before FROM pg_stat_xact_user_tables
 WHERE relid = 'pgfs.inode'::regclass \gset
SELECT name, type FROM pgfs_readdir('/plans/tree/d1/e');
SELECT name, type, size FROM pgfs_readdir('/plans/tree/d2/e', true);
SELECT pgfs_copy('/plans/tree', '/plans/tree2', recursive => true) > 0 AS copied;
SELECT pgfs_remove('/plans/tree', true) AS removed;
SELECT idx_tup_fetch + seq_tup_read - :before < 1000 AS own_inodes_only
  FROM pg_stat_xact_user_tables WHERE relid = 'pgfs.inode'::regclass;
COMMIT;
SELECT count(*) FROM pgfs_readdir('/plans/crowd', true);

-- whole-table checks still run (with sequential scans)
SELECT count(*) FROM pgfs_fsck();
SELECT pgfs_remove('/plans', true) IS NOT NULL AS removed;
