/* pgfs--1.2--1.3.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgfs UPDATE TO '1.3'" to load this file. \quit

/*
 * 1.3: file locks that hold across mounts (src/lock.c).  pgfs-fuse sends
 * fcntl record locks and flock locks here instead of keeping them in one
 * kernel, so two mounts of a store (two application servers) see each
 * other's locks.  The C library of 1.3 serves a 1.2 database as before
 * (without this table it has no locks to drop); pgfs-fuse of 1.3 needs 1.3.
 */

-- Locks of live clients' processes.  Unlogged, as pgfs.handle: a lock means
-- nothing after a server crash, and taking one must not wait for a WAL flush.
CREATE UNLOGGED TABLE pgfs.lock (
    ino     bigint  NOT NULL,
    client  bigint  NOT NULL,               -- the mount
    owner   bigint  NOT NULL,               -- the kernel's lock owner on that mount
    flock   boolean NOT NULL,               -- flock(2), else an fcntl record lock
    excl    boolean NOT NULL,               -- exclusive (write), else shared (read)
    lstart  bigint  NOT NULL CHECK (lstart >= 0),
    lend    bigint  NOT NULL CHECK (lend >= lstart),    -- inclusive; 2^63-1: to the end
    pid     integer NOT NULL                -- the process, as its mount numbers it
);
CREATE INDEX lock_ino_idx ON pgfs.lock (ino, client, owner);

CREATE FUNCTION pgfs_ll_setlk(ino bigint, client bigint, owner bigint, pid integer,
    flock boolean, type integer, lstart bigint, lend bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_ll_setlk' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_setlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint) IS
'give lock owner owner of client (a mount) a lock of type 0 (shared), 1 (exclusive) or 2 (unlock) '
'on bytes lstart to lend (inclusive; 9223372036854775807 is the end of the file) of ino, as fcntl '
'F_SETLK does, or, with flock, on the whole file as flock(2) does; returns the generation of ino '
'(a client whose cached pages of the file are older drops them), or NULL, changing nothing, if a '
'lock of another owner (or mount) is in the way; locks of dead mounts are dropped; commits without '
'waiting for the WAL flush, since the lock table is unlogged';

CREATE FUNCTION pgfs_ll_getlk(ino bigint, client bigint, owner bigint, flock boolean,
    type integer, lstart bigint, lend bigint,
    OUT type integer, OUT lstart bigint, OUT lend bigint, OUT pid integer)
RETURNS record
AS 'MODULE_PATHNAME', 'pgfs_ll_getlk' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_getlk(bigint, bigint, bigint, boolean, integer, bigint, bigint) IS
'the first lock that would stop pgfs_ll_setlk with these arguments, as fcntl F_GETLK reports it '
'(pid 0 for a process of another mount), or type 2 and the range asked about if none';

COMMENT ON FUNCTION pgfs_reclaim_orphans() IS
'free unlinked files whose open handles belong to no live client, and drop the locks of clients '
'that are not live; returns inodes freed';

REVOKE ALL ON FUNCTION pgfs_ll_setlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint),
    pgfs_ll_getlk(bigint, bigint, bigint, boolean, integer, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgfs_ll_setlk(bigint, bigint, bigint, integer, boolean, integer, bigint, bigint),
    pgfs_ll_getlk(bigint, bigint, bigint, boolean, integer, bigint, bigint) TO pgfs_writer;
