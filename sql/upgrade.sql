-- A database made with pgfs 1.0 (or 1.1, 1.2, 1.3, 1.4, 1.5) is brought to
-- 1.6 by ALTER EXTENSION pgfs UPDATE and keeps its files; until then the
-- library serves its older functions.  (A new install runs the same
-- scripts, so the other tests check what 1.6 is.)
SET client_min_messages = warning;
CREATE DATABASE pgfs_upgrade_old;

\c pgfs_upgrade_old
SET client_min_messages = warning;
CREATE EXTENSION pgfs VERSION '1.0';
SELECT pg_get_function_arguments('pgfs_ll_create'::regproc) AS create_1_0;
SELECT pgfs_mkdir('/d') > 0 AS made, pgfs_write('/d/f', 'kept across the update'::bytea) AS wrote;
-- the 1.1 library serves the 1.0 functions (a missing argument takes its default)
SELECT mode & 511 AS mode FROM pgfs_ll_create((pgfs_stat('/d')).ino, 'g'::bytea, 438, 0, 0);
SELECT size FROM pgfs_ll_open_read((pgfs_stat('/d/f')).ino, 5, 1, 4);
SELECT pgfs_ll_reopen((pgfs_stat('/d/f')).ino, 5, 0);
ALTER EXTENSION pgfs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgfs';
SELECT pg_get_function_arguments('pgfs_ll_create'::regproc) AS create_1_1;
SELECT count(*) AS functions_granted_to_public FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
   AND d.refclassid = 'pg_extension'::regclass
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pgfs'
 WHERE has_function_privilege('public', p.oid, 'EXECUTE');
SELECT has_function_privilege('pgfs_writer', 'pgfs_ll_open_read(bigint, bigint, integer, integer, bigint, integer)', 'EXECUTE') AS writer_may_open;
SELECT convert_from(pgfs_read('/d/f'), 'UTF8') AS data, pgfs_stat('/d/g') IS NOT NULL AS g;
SELECT mode & 511 AS mode FROM pgfs_ll_create((pgfs_stat('/d')).ino, 'h'::bytea, 438, 0, 0, NULL, true, 18);
SELECT oidvectortypes(proargtypes) AS readdir_1_2, provolatile FROM pg_proc WHERE proname = 'pgfs_ll_readdir';
SELECT has_function_privilege('pgfs_reader', 'pgfs_ll_readdir(bigint, bigint, integer, integer)', 'EXECUTE') AS reader_may_list;
SELECT * FROM pgfs_fsck();

-- from 1.1: its readdir (STABLE, no access time) is served until the update
\c contrib_regression
CREATE DATABASE pgfs_upgrade_1_1;
\c pgfs_upgrade_1_1
SET client_min_messages = warning;
CREATE EXTENSION pgfs VERSION '1.1';
SELECT pgfs_mkdir('/d') > 0 AS made, pgfs_write('/d/f', 'x'::bytea) AS wrote;
SELECT name FROM pgfs_ll_readdir((pgfs_stat('/d')).ino, 0, 10);
ALTER EXTENSION pgfs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgfs';
SELECT pgfs_utimens('/d', '2020-01-01', NULL);
SELECT name FROM pgfs_ll_readdir((pgfs_stat('/d')).ino, 0, 10, 1);
SELECT atime_ns > mtime_ns AS listing_set_atime FROM pgfs_stat('/d');
SELECT * FROM pgfs_fsck();

-- from 1.2: no lock table, yet handles are released and fsck runs; the
-- update brings file locks
\c contrib_regression
CREATE DATABASE pgfs_upgrade_1_2;
\c pgfs_upgrade_1_2
SET client_min_messages = warning;
CREATE EXTENSION pgfs VERSION '1.2';
SELECT pgfs_write('/f', 'x'::bytea) AS wrote;
SELECT pgfs_ll_open((pgfs_stat('/f')).ino, 5);
SELECT pgfs_ll_reopen((pgfs_stat('/f')).ino, 5, 0);
SELECT pgfs_ll_release_many(ARRAY[(pgfs_stat('/f')).ino], 5);
SELECT * FROM pgfs_fsck();
ALTER EXTENSION pgfs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgfs';
SELECT pgfs_ll_open((pgfs_stat('/f')).ino, 5);
SELECT pgfs_ll_setlk((pgfs_stat('/f')).ino, 5, 1, 1, false, 1, 0, 0) IS NOT NULL AS locked;
SELECT has_function_privilege('pgfs_writer', 'pgfs_ll_setlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint)', 'EXECUTE') AS writer_may_lock,
       has_function_privilege('pgfs_reader', 'pgfs_ll_setlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint)', 'EXECUTE') AS reader_may_lock;
SELECT pgfs_ll_release_many(ARRAY[(pgfs_stat('/f')).ino], 5);
SELECT count(*) AS locks FROM pgfs.lock;
SELECT * FROM pgfs_fsck();

-- from 1.3: locks as before (nothing to reclaim without pgfs.lock_kept);
-- the update brings reclaims, with no lock counted as lost
\c contrib_regression
CREATE DATABASE pgfs_upgrade_1_3;
\c pgfs_upgrade_1_3
SET client_min_messages = warning;
CREATE EXTENSION pgfs VERSION '1.3';
SET pgfs.lock_grace = 3600;
SELECT pgfs_write('/f', 'x'::bytea) AS wrote;
SELECT pgfs_ll_open((pgfs_stat('/f')).ino, 5);
SELECT pgfs_ll_setlk((pgfs_stat('/f')).ino, 5, 1, 1, false, 1, 0, 0) IS NOT NULL AS locked;
ALTER EXTENSION pgfs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgfs';
SELECT count(*) AS kept FROM pgfs.lock_kept;
SELECT pgfs_ll_setlk((pgfs_stat('/f')).ino, 5, 2, 2, false, 1, 1, 1) IS NOT NULL AS locked_in_grace;
SELECT pgfs_ll_reclaimlk((pgfs_stat('/f')).ino, 5, 3, 3, false, 1, 2, 2) AS reclaimed;
SELECT pgfs_ll_locks_taken(5) AS locks_taken;
SELECT has_function_privilege('pgfs_writer', 'pgfs_ll_reclaimlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint)', 'EXECUTE') AS writer_may_reclaim,
       has_function_privilege('pgfs_reader', 'pgfs_ll_reclaimlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint)', 'EXECUTE') AS reader_may_reclaim;
SELECT pgfs_ll_release_many(ARRAY[(pgfs_stat('/f')).ino], 5);
SELECT count(*) AS locks FROM pgfs.lock;
SELECT * FROM pgfs_fsck();

-- from 1.4: a mount is told that its locks were taken from its row of
-- pgfs.client until the update, from pgfs.lock_taken (which a crash keeps)
-- after it
\c contrib_regression
CREATE DATABASE pgfs_upgrade_1_4;
\c pgfs_upgrade_1_4
SET client_min_messages = warning;
CREATE EXTENSION pgfs VERSION '1.4';
SELECT pgfs_ll_client_begin(5) IS NOT NULL AS begun;
UPDATE pgfs.client SET locks_taken = true WHERE client = 5;
SELECT pgfs_ll_locks_taken(5) AS locks_taken;
SELECT pgfs_ll_locks_taken(5) AS told_again;
ALTER EXTENSION pgfs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgfs';
INSERT INTO pgfs.lock_taken VALUES (5);
SELECT pgfs_ll_locks_taken(5) AS locks_taken;
SELECT pgfs_ll_locks_taken(5) AS told_again;
SELECT * FROM pgfs_fsck();

-- from 1.5 in a grace period: the locks taken back so far are of epoch 0,
-- and so are those of mounts that have not come back yet (they have no row
-- of pgfs.lock_holder); the next epoch, after the grace, has every holder
\c contrib_regression
CREATE DATABASE pgfs_upgrade_1_5;
\c pgfs_upgrade_1_5
SET client_min_messages = warning;
CREATE EXTENSION pgfs VERSION '1.5';
SELECT pgfs_write('/f', 'locked'::bytea) AS wrote;
SELECT pgfs_ll_open((pgfs_stat('/f')).ino, 5), pgfs_ll_open((pgfs_stat('/f')).ino, 6);
SELECT pgfs_ll_setlk((pgfs_stat('/f')).ino, 5, 1, 10, false, 1, 0, 9) IS NOT NULL AS granted_5;
SELECT pgfs_ll_setlk((pgfs_stat('/f')).ino, 6, 1, 10, false, 1, 20, 29) IS NOT NULL AS granted_6;
DELETE FROM pgfs.lock;
DELETE FROM pgfs.lock_kept;
SET pgfs.lock_grace = 3600;
SELECT pgfs_ll_reclaimlk((pgfs_stat('/f')).ino, 5, 1, 10, false, 1, 0, 9) AS reclaimed_5;
ALTER EXTENSION pgfs UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'pgfs';
SELECT * FROM pgfs.lock_epoch;
SELECT * FROM pgfs.lock_holder;
SELECT pgfs_ll_reclaimlk((pgfs_stat('/f')).ino, 6, 1, 10, false, 1, 20, 29) AS reclaimed_6;
SET pgfs.lock_grace = 0;
SELECT pgfs_ll_setlk((pgfs_stat('/f')).ino, 5, 2, 20, false, 0, 40, 49) IS NOT NULL AS granted_5;
SELECT * FROM pgfs.lock_epoch;
SELECT * FROM pgfs.lock_holder ORDER BY client;
SELECT * FROM pgfs.lock_kept;
RESET pgfs.lock_grace;
SELECT pgfs_ll_release_many(ARRAY[(pgfs_stat('/f')).ino], 5), pgfs_ll_release_many(ARRAY[(pgfs_stat('/f')).ino], 6);
SELECT count(*) AS locks FROM pgfs.lock;
SELECT * FROM pgfs_fsck();

\c contrib_regression
DROP DATABASE pgfs_upgrade_old;
DROP DATABASE pgfs_upgrade_1_1;
DROP DATABASE pgfs_upgrade_1_2;
DROP DATABASE pgfs_upgrade_1_3;
DROP DATABASE pgfs_upgrade_1_4;
DROP DATABASE pgfs_upgrade_1_5;
