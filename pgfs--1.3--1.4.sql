/* pgfs--1.3--1.4.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgfs UPDATE TO '1.4'" to load this file. \quit

/*
 * 1.4: file locks are reclaimed after a server crash (src/lock.c), as NFS
 * clients reclaim theirs in the server's grace period.  A crash (or a
 * restore, or a promotion) empties pgfs.lock; for pgfs.lock_grace seconds
 * after that the mounts may take back the locks they held, with
 * pgfs_ll_reclaimlk, and nobody may take a new one.  The C library of 1.4
 * serves 1.3 databases as before; pgfs-fuse of 1.4 needs 1.4.
 */

-- A mount whose locks were dropped while none of its sessions was connected
-- (it was cut off from the server, and another mount wanted them) learns it
-- at its next session from this flag (pgfs_ll_locks_taken), and reports
-- those locks lost.
ALTER TABLE pgfs.client ADD COLUMN locks_taken boolean NOT NULL DEFAULT false;

-- One row while pgfs.lock holds every lock granted.  Unlogged, so crash
-- recovery empties it along with the locks: its absence is how the server
-- knows that it lost them (a clean restart keeps both).  The first lock
-- asked for once the grace period is over puts the row back.
CREATE UNLOGGED TABLE pgfs.lock_kept (
    kept  boolean PRIMARY KEY CHECK (kept)
);
INSERT INTO pgfs.lock_kept VALUES (true);

CREATE FUNCTION pgfs_ll_reclaimlk(ino bigint, client bigint, owner bigint, pid integer,
    flock boolean, type integer, lstart bigint, lend bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgfs_ll_reclaimlk' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_reclaimlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint) IS
'take back a lock (type 0 shared, 1 exclusive; the arguments of pgfs_ll_setlk) that client held '
'before the server lost its locks to a crash, a restore or a promotion; true if granted, false, '
'changing nothing, once pgfs.lock_grace has passed since then, if the locks were not lost, or '
'if another lock is in the way';

CREATE FUNCTION pgfs_ll_locks_taken(client bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgfs_ll_locks_taken' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_locks_taken(bigint) IS
'whether the file locks of client (a mount) were dropped since it last asked, because they stood '
'in the way of another mount''s while none of its sessions was connected; asked once a session '
'has begun (pgfs_ll_client_begin), and answered once';

COMMENT ON FUNCTION pgfs_ll_setlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint) IS
'give lock owner owner of client (a mount) a lock of type 0 (shared), 1 (exclusive) or 2 (unlock) '
'on bytes lstart to lend (inclusive; 9223372036854775807 is the end of the file) of ino, as fcntl '
'F_SETLK does, or, with flock, on the whole file as flock(2) does; returns the generation of ino '
'(a client whose cached pages of the file are older drops them), or NULL, changing nothing, if a '
'lock of another owner (or mount) is in the way, or if the server lost its locks less than '
'pgfs.lock_grace ago (only reclaims are granted then); locks of dead mounts are dropped; commits '
'without waiting for the WAL flush, since the lock table is unlogged';

REVOKE ALL ON FUNCTION pgfs_ll_reclaimlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint),
    pgfs_ll_locks_taken(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgfs_ll_reclaimlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint),
    pgfs_ll_locks_taken(bigint) TO pgfs_writer;
