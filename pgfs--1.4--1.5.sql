/* pgfs--1.4--1.5.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgfs UPDATE TO '1.5'" to load this file. \quit

/*
 * 1.5: a mount whose file locks another mount took while it was cut off
 * from the server learns it even if the server crashes before it comes
 * back (src/lock.c).  1.4 kept that in pgfs.client, which is unlogged: the
 * crash forgot it, and the mount, back within the grace period, took the
 * locks back as if it had held them all along.  The C library of 1.5
 * serves 1.4 databases as before.
 */

-- The mounts whose locks were dropped while none of their sessions was
-- connected, until they ask (pgfs_ll_locks_taken).  Logged, so that a crash
-- keeps what it must not let a mount reclaim; written only when a dead
-- mount's locks stand in another's way.
CREATE TABLE pgfs.lock_taken (
    client  bigint PRIMARY KEY
);
COMMENT ON TABLE pgfs.lock_taken IS
'mounts (pgfs.client) whose file locks another mount took while none of their sessions was '
'connected, until they ask pgfs_ll_locks_taken; kept across a crash, unlike pgfs.client';

COMMENT ON FUNCTION pgfs_ll_locks_taken(bigint) IS
'whether the file locks of client (a mount) were dropped since it last asked, because they stood '
'in the way of another mount''s while none of its sessions was connected (also if the server '
'crashed since: a mount told so reclaims none of them); asked once a session has begun '
'(pgfs_ll_client_begin), and answered once';
