/* pgfs--1.1--1.2.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgfs UPDATE TO '1.2'" to load this file. \quit

/*
 * 1.2: a directory's access time.  pgfs_ll_readdir takes an access time
 * rule, as pgfs_ll_open_read does for a file, and applies it to the
 * directory when a listing starts; it is VOLATILE now, since it may write
 * that.  No table changes.  The C library serves both versions (a missing
 * argument takes its default, 0: the access time stays), so a 1.1 database
 * keeps working until it is updated; pgfs-fuse of this version needs 1.2.
 */

DROP FUNCTION pgfs_ll_readdir(bigint, bigint, integer);
CREATE FUNCTION pgfs_ll_readdir(ino bigint, after_cookie bigint, max_entries integer,
    atime integer DEFAULT 0,
    OUT cookie bigint, OUT name bytea,
    OUT ino bigint, OUT mode integer, OUT nlink integer, OUT uid bigint, OUT gid bigint,
    OUT rdev bigint, OUT size bigint, OUT blocks bigint,
    OUT atime_ns bigint, OUT mtime_ns bigint, OUT ctime_ns bigint, OUT generation bigint,
    OUT xattrs integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgfs_ll_readdir' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_readdir(bigint, bigint, integer, integer) IS
'up to max_entries entries with cookie > after_cookie, in cookie order ("." and ".." not included); '
'an entry keeps its cookie while it keeps its name, so resuming never skips or repeats survivors; '
'a listing from the start (after_cookie at most 2) with atime 1 sets the directory''s access time '
'as relatime does (when not later than its mtime or ctime, or a day old), 2 always, 0 never, unless '
'another transaction holds the directory''s row (a listing does not wait for an access time) or '
'the transaction is read-only; '
'a call that sets it commits without waiting for the WAL flush (a crash may lose an access time)';

REVOKE ALL ON FUNCTION pgfs_ll_readdir(bigint, bigint, integer, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgfs_ll_readdir(bigint, bigint, integer, integer) TO pgfs_reader;
