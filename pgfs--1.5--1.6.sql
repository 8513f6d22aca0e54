/* pgfs--1.5--1.6.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgfs UPDATE TO '1.6'" to load this file. \quit

/*
 * 1.6: a mount that stayed away through a whole grace period takes none of
 * its old locks back in a later one (src/lock.c).  Before, two crashes with
 * such a mount away through the first grace let it reclaim, in the second,
 * a lock it lost at the first, which another mount may have held in
 * between.  Locks now belong to an epoch, which ends each time the server
 * lost its locks and the grace period after that is over; a mount may
 * reclaim only the locks of the epoch the last crash ended.  The C library
 * of 1.6 serves 1.5 databases as before; pgfs-fuse needs no 1.6 function.
 */

-- The current lock epoch: how many times the locks were lost and their grace
-- period ended.  Logged: a crash must not forget it.
CREATE TABLE pgfs.lock_epoch (
    one    boolean PRIMARY KEY DEFAULT true CHECK (one),
    epoch  bigint  NOT NULL
);
INSERT INTO pgfs.lock_epoch VALUES (true, 0);
COMMENT ON TABLE pgfs.lock_epoch IS
'the lock epoch: how many times the server lost its file locks (crash, restore, promotion) and the '
'grace period for taking them back ended since the extension was made; one row';

-- The epoch of each mount's locks: written when a mount is first granted a
-- lock in an epoch, and for every mount that holds locks when an epoch
-- ends.  Logged, and written before the lock is acknowledged.
CREATE TABLE pgfs.lock_holder (
    client  bigint PRIMARY KEY,
    epoch   bigint NOT NULL
);
COMMENT ON TABLE pgfs.lock_holder IS
'mounts (pgfs.client) that were granted file locks, with the lock epoch (pgfs.lock_epoch) of those '
'locks: in the grace period after a crash a mount takes back only locks of the epoch that ended';

-- what the locks held now are: this epoch, and these mounts (also if the
-- update runs in a grace period, whose reclaims the epoch 0 rule lets on)
INSERT INTO pgfs.lock_holder SELECT DISTINCT client, 0 FROM pgfs.lock;

-- the row that says no lock was lost also says in which epoch
ALTER TABLE pgfs.lock_kept ADD COLUMN epoch bigint NOT NULL DEFAULT 0;

COMMENT ON FUNCTION pgfs_ll_reclaimlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint) IS
'take back a lock (type 0 shared, 1 exclusive; the arguments of pgfs_ll_setlk) that client held '
'before the server lost its locks to a crash, a restore or a promotion; true if granted, false, '
'changing nothing, once pgfs.lock_grace has passed since then, if the locks were not lost, if '
'another lock is in the way, or if client held no lock in the epoch that ended (it stayed away '
'through an earlier grace period, after which others may have taken its locks)';
