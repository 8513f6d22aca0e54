-- File locks (src/lock.c): fcntl record locks and flocks that every mount
-- of a store sees.  One client here (a second client needs a second
-- session: specs/race-locks.spec), several lock owners.
SET client_min_messages = warning;
SELECT pgfs_write('/lk', 'locked file'::bytea) AS wrote;
SELECT (pgfs_stat('/lk')).ino AS ino \gset
SELECT pgfs_ll_client_begin(11) IS NOT NULL AS begun;
SELECT pgfs_ll_open(:ino, 11);
-- what a crash does to the lock tables, which are unlogged
CREATE FUNCTION pg_temp.crash() RETURNS void
LANGUAGE sql AS $$ DELETE FROM pgfs.lock; DELETE FROM pgfs.lock_kept $$;
CREATE FUNCTION pg_temp.locks() RETURNS TABLE (owner bigint, flock boolean, excl boolean, lstart bigint, lend bigint, pid integer)
LANGUAGE sql AS $$ SELECT owner, flock, excl, lstart, lend, pid FROM pgfs.lock ORDER BY flock, owner, lstart $$;

-- owner 1: exclusive 0-9, shared 10-19, exclusive 20-29
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 1, 0, 9) IS NOT NULL AS granted;
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 0, 10, 19) IS NOT NULL AS granted;
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 1, 20, 29) IS NOT NULL AS granted;
SELECT * FROM pg_temp.locks();
-- an exclusive 5-12 joins 0-9 and cuts the shared one to 13-19
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 1, 5, 12) IS NOT NULL AS granted;
SELECT * FROM pg_temp.locks();
-- an owner's own locks never stand in its way; the generation comes back
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 0, 0, 100) = (pgfs_stat('/lk')).generation AS granted_at_generation;
SELECT * FROM pg_temp.locks();

-- owner 2: a shared lock goes with owner 1's shared one, an exclusive does not
SELECT pgfs_ll_setlk(:ino, 11, 2, 200, false, 1, 0, 200) IS NOT NULL AS granted;
SELECT pgfs_ll_setlk(:ino, 11, 2, 200, false, 0, 50, 60) IS NOT NULL AS granted;
SELECT pgfs_ll_setlk(:ino, 11, 2, 200, false, 1, 101, 9223372036854775807) IS NOT NULL AS granted_past;
-- F_GETLK: the first lock in the way, or type 2 with the range asked about
SELECT * FROM pgfs_ll_getlk(:ino, 11, 2, false, 1, 0, 0);
SELECT * FROM pgfs_ll_getlk(:ino, 11, 1, false, 1, 101, 200);
SELECT * FROM pgfs_ll_getlk(:ino, 11, 3, false, 0, 90, 99);
SELECT * FROM pgfs_ll_getlk(:ino, 11, 3, false, 1, 0, 9223372036854775807);

-- unlocking a middle range splits a lock; unlocking what is not held is no error;
-- owner 2 gone, owner 1's shared lock still keeps an exclusive one out
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 2, 40, 45) IS NOT NULL AS unlocked;
SELECT pgfs_ll_setlk(:ino, 11, 3, 300, false, 2, 0, 9223372036854775807) IS NOT NULL AS unlocked;
SELECT * FROM pg_temp.locks();
SELECT pgfs_ll_setlk(:ino, 11, 2, 200, false, 2, 0, 9223372036854775807) IS NOT NULL AS unlocked;
SELECT pgfs_ll_setlk(:ino, 11, 3, 300, false, 1, 0, 0) IS NOT NULL AS granted_over_owner1_shared;

-- flocks: whole file, independent of record locks, converted in place
SELECT pgfs_ll_setlk(:ino, 11, 7, 700, true, 0, 5, 6) IS NOT NULL AS shared_flock;
SELECT pgfs_ll_setlk(:ino, 11, 8, 800, true, 0, 0, 0) IS NOT NULL AS second_shared_flock;
SELECT pgfs_ll_setlk(:ino, 11, 8, 800, true, 1, 0, 0) IS NOT NULL AS exclusive_while_shared;
SELECT pgfs_ll_setlk(:ino, 11, 7, 700, true, 2, 0, 0) IS NOT NULL AS unlocked;
SELECT pgfs_ll_setlk(:ino, 11, 8, 800, true, 1, 0, 0) IS NOT NULL AS exclusive_alone;
SELECT * FROM pg_temp.locks() WHERE flock;
SELECT * FROM pgfs_fsck();

-- bad input changes nothing
SELECT pgfs_ll_setlk(1, 11, 1, 100, false, 3, 0, 0);
SELECT pgfs_ll_setlk(1, 11, 1, 100, false, 1, 10, 9);
SELECT pgfs_ll_setlk(1, 11, 1, 100, false, 1, -1, 9);
SELECT * FROM pgfs_ll_getlk(1, 11, 1, false, -1, 0, 0);
SELECT pgfs_ll_setlk(12345678, 11, 1, 100, false, 1, 0, 0);
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 1, 0, 0);
ROLLBACK;
SELECT count(*) AS locks FROM pgfs.lock;

-- the client's last handle on the file takes its locks along
SELECT pgfs_ll_reopen(:ino, 11, 0);
SELECT count(*) AS locks_after_release FROM pgfs.lock;
SELECT * FROM pgfs_fsck();

-- a lock without an open handle is a problem fsck reports
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 1, 0, 0) IS NOT NULL AS granted;
SELECT problem, ino = :ino AS this_file, detail FROM pgfs_fsck();
DELETE FROM pgfs.lock;

-- a crash empties pgfs.lock and pgfs.lock_kept (here: pg_temp.crash()); for
-- pgfs.lock_grace after that the mounts take back the locks they held, and
-- nobody gets a new one
SELECT pgfs_ll_open(:ino, 11);
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 1, 0, 9) IS NOT NULL AS granted;
SELECT pg_temp.crash();
SET pgfs.lock_grace = 3600;
SELECT pgfs_ll_setlk(:ino, 11, 2, 200, false, 0, 50, 60) IS NULL AS new_lock_refused;
SELECT pgfs_ll_setlk(:ino, 11, 8, 800, true, 1, 0, 0) IS NULL AS new_flock_refused;
SELECT pgfs_ll_reclaimlk(:ino, 11, 1, 100, false, 1, 0, 9) AS reclaimed;
SELECT pgfs_ll_reclaimlk(:ino, 11, 7, 700, true, 0, 0, 0) AS reclaimed_flock;
-- two mounts cannot both have held these
SELECT pgfs_ll_reclaimlk(:ino, 12, 2, 200, false, 0, 5, 5) AS conflicting_reclaim;
SELECT * FROM pg_temp.locks();
-- unlocking goes on as usual; an unlock is no reclaim
SELECT pgfs_ll_setlk(:ino, 11, 1, 100, false, 2, 0, 4) IS NOT NULL AS unlocked;
SELECT pgfs_ll_reclaimlk(1, 11, 1, 100, false, 2, 0, 4);
SELECT count(*) AS kept FROM pgfs.lock_kept;
-- the grace over: a reclaim comes too late, the first lock asked for puts
-- the row back, and new locks are granted again
SET pgfs.lock_grace = 0;
SELECT pgfs_ll_reclaimlk(:ino, 11, 3, 300, false, 1, 100, 200) AS late_reclaim;
SELECT count(*) AS kept FROM pgfs.lock_kept;
SELECT pgfs_ll_setlk(:ino, 11, 2, 200, false, 0, 50, 60) IS NOT NULL AS granted;
-- with nothing lost, there is nothing to reclaim, grace or not
SET pgfs.lock_grace = 3600;
SELECT pgfs_ll_reclaimlk(:ino, 11, 3, 300, false, 1, 100, 200) AS reclaim_when_nothing_lost;
SELECT pgfs_ll_setlk(:ino, 11, 3, 300, false, 1, 100, 200) IS NOT NULL AS granted_in_grace;
RESET pgfs.lock_grace;
SELECT * FROM pg_temp.locks();
SELECT pgfs_ll_reopen(:ino, 11, 0);
SELECT count(*) AS locks_after_release FROM pgfs.lock;

-- lock epochs (1.6): client 21 holds a lock; the server crashes, 21 stays
-- away through the grace period, after which 22 takes that lock (and the
-- epoch ends); a second crash: 22 takes its lock back, 21 may not
SELECT epoch AS e0 FROM pgfs.lock_epoch \gset
SELECT pgfs_ll_open(:ino, 21), pgfs_ll_open(:ino, 22);
SELECT pgfs_ll_setlk(:ino, 21, 1, 100, false, 1, 0, 9) IS NOT NULL AS granted_21;
SELECT epoch - :e0 AS epoch_21 FROM pgfs.lock_holder WHERE client = 21;
SELECT pg_temp.crash();
SET pgfs.lock_grace = 0;
SELECT pgfs_ll_setlk(:ino, 22, 2, 200, false, 1, 0, 9) IS NOT NULL AS granted_22;
SELECT epoch - :e0 AS epoch FROM pgfs.lock_epoch;
SELECT client, epoch - :e0 AS epoch FROM pgfs.lock_holder WHERE client IN (21, 22) ORDER BY client;
SELECT pg_temp.crash();
SET pgfs.lock_grace = 3600;
SELECT pgfs_ll_reclaimlk(:ino, 21, 1, 100, false, 1, 0, 9) AS reclaimed_21;
SELECT pgfs_ll_reclaimlk(:ino, 22, 2, 200, false, 1, 0, 9) AS reclaimed_22;
SELECT count(*) AS kept FROM pgfs.lock_kept;
-- a grace period ends with the locks taken back in it: they are of the next
-- epoch, and 22 takes them back after a third crash
SET pgfs.lock_grace = 0;
SELECT pgfs_ll_setlk(:ino, 22, 3, 300, false, 0, 100, 109) IS NOT NULL AS granted_22;
SELECT epoch - :e0 AS epoch FROM pgfs.lock_epoch;
SELECT client, epoch - :e0 AS epoch FROM pgfs.lock_holder WHERE client IN (21, 22) ORDER BY client;
SELECT pg_temp.crash();
SET pgfs.lock_grace = 3600;
SELECT pgfs_ll_reclaimlk(:ino, 22, 2, 200, false, 1, 0, 9) AS reclaimed_22;
-- two crashes with no lock asked for in between: nobody can have taken a
-- lock lost at the first, and 22 takes back what it held then
SELECT pg_temp.crash();
SELECT pgfs_ll_reclaimlk(:ino, 22, 2, 200, false, 1, 0, 9) AS reclaimed_22_again;
SELECT epoch - :e0 AS epoch FROM pgfs.lock_epoch;
RESET pgfs.lock_grace;
-- without its epoch the server grants nothing once a grace period is over
BEGIN;
DELETE FROM pgfs.lock_epoch;
DELETE FROM pgfs.lock_kept;
SET LOCAL pgfs.lock_grace = 0;
SELECT pgfs_ll_setlk(:ino, 21, 1, 100, false, 1, 100, 109);
ROLLBACK;
SELECT pgfs_ll_setlk(:ino, 22, 2, 200, false, 2, 0, 9223372036854775807) IS NOT NULL AS unlocked;
SELECT pgfs_ll_reopen(:ino, 21, 0), pgfs_ll_reopen(:ino, 22, 0);
SELECT count(*) AS locks_after_release FROM pgfs.lock;
SELECT pgfs_unlink('/lk');
