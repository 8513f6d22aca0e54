/* pgfs--1.0--1.1.sql */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION pgfs UPDATE TO '1.1'" to load this file. \quit

/*
 * 1.1: POSIX ACLs, access times and RENAME_WHITEOUT (src/acl.c,
 * src/funcs_open.c, src/namespace.c).  No table
 * changes: system.posix_acl_access and system.posix_acl_default are rows of
 * pgfs.xattr as before, now kept in step with the mode.  The inode calls
 * that create take the creator's umask, which applies unless the directory
 * has a default ACL; pgfs_ll_open_read takes the access time rule.  The C
 * library serves both versions (a missing argument takes its default), so
 * a 1.0 database keeps working until it is updated; pgfs-fuse of this
 * version needs 1.1.
 */

-- 1.0 as released; development builds before it differ, and are refused
DO $$
BEGIN
    IF to_regprocedure('pgfs_ll_create(bigint, bytea, integer, bigint, bigint, bigint, boolean)') IS NULL
       OR to_regprocedure('pgfs_ll_mkdir(bigint, bytea, integer, bigint, bigint, boolean)') IS NULL
       OR to_regprocedure('pgfs_ll_mknod(bigint, bytea, integer, bigint, bigint, bigint, boolean)') IS NULL
       OR to_regprocedure('pgfs_ll_open_read(bigint, bigint, integer, integer, bigint)') IS NULL
       OR to_regprocedure('pgfs_ll_rename(bigint, bytea, bigint, bytea, integer, boolean)') IS NULL THEN
        RAISE EXCEPTION 'this database''s pgfs 1.0 is a development build older than the 1.0 that 1.1 updates from'
            USING ERRCODE = 'feature_not_supported',
                  HINT = 'Copy its files out (with the pgfs-fuse of that build, or pgfs_read), then '
                         'DROP EXTENSION pgfs CASCADE, CREATE EXTENSION pgfs, and copy them back.';
    END IF;
END $$;

DROP FUNCTION pgfs_ll_create(bigint, bytea, integer, bigint, bigint, bigint, boolean);
CREATE FUNCTION pgfs_ll_create(parent bigint, name bytea, mode integer, uid bigint, gid bigint,
    client bigint DEFAULT NULL, durable boolean DEFAULT true, umask integer DEFAULT 0)
RETURNS pgfs_created
AS 'MODULE_PATHNAME', 'pgfs_ll_create' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_create(bigint, bytea, integer, bigint, bigint, bigint, boolean, integer) IS
'create a regular file (EEXIST if the name exists); mode may carry S_IFREG; with client, also open it; '
'durable => false commits without waiting for the WAL flush, as pgfs_ll_write does; umask applies '
'unless the directory has a default ACL, which then gives the file its ACL';

DROP FUNCTION pgfs_ll_mkdir(bigint, bytea, integer, bigint, bigint, boolean);
CREATE FUNCTION pgfs_ll_mkdir(parent bigint, name bytea, mode integer, uid bigint, gid bigint,
    durable boolean DEFAULT true, umask integer DEFAULT 0)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_mkdir' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_mkdir(bigint, bytea, integer, bigint, bigint, boolean, integer) IS
'create a directory; durable => false commits without waiting for the WAL flush; umask applies '
'unless the parent has a default ACL, which the directory then inherits';

DROP FUNCTION pgfs_ll_mknod(bigint, bytea, integer, bigint, bigint, bigint, boolean);
CREATE FUNCTION pgfs_ll_mknod(parent bigint, name bytea, mode integer, rdev bigint, uid bigint, gid bigint,
    durable boolean DEFAULT true, umask integer DEFAULT 0)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_mknod' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_mknod(bigint, bytea, integer, bigint, bigint, bigint, boolean, integer) IS
'create a regular file, fifo, socket or device node; mode carries the S_IFMT type; '
'durable => false commits without waiting for the WAL flush; umask as for pgfs_ll_create';

DROP FUNCTION pgfs_ll_open_read(bigint, bigint, integer, integer, bigint);
CREATE FUNCTION pgfs_ll_open_read(ino bigint, client bigint, count integer, max_bytes integer,
    cached_generation bigint DEFAULT -1, atime integer DEFAULT 0,
    OUT size bigint, OUT data bytea, OUT generation bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgfs_ll_open_read' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c; no SET clause, see src/funcs_open.c
COMMENT ON FUNCTION pgfs_ll_open_read(bigint, bigint, integer, integer, bigint, integer) IS
'set the number of open handles of client on ino, as pgfs_ll_reopen, and return the file size, '
'its first max_bytes bytes (at most 131072; NULL for a file that is not regular, or when its '
'generation is still cached_generation, whose bytes the client has) and its generation; atime '
'1 sets a regular file''s access time as relatime does (when not later than its mtime or ctime, '
'or a day old), 2 always, 0 never; commits without waiting for the WAL flush (the handle table '
'is unlogged; a crash may lose an access time)';

DROP FUNCTION pgfs_ll_rename(bigint, bytea, bigint, bytea, integer, boolean);
CREATE FUNCTION pgfs_ll_rename(parent bigint, name bytea, newparent bigint, newname bytea,
    flags integer DEFAULT 0, durable boolean DEFAULT true, uid bigint DEFAULT 0, gid bigint DEFAULT 0)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_rename' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_rename(bigint, bytea, bigint, bytea, integer, boolean, bigint, bigint) IS
'rename; flags are renameat2() flags: 1 RENAME_NOREPLACE, 2 RENAME_EXCHANGE, 4 RENAME_WHITEOUT '
'(leaves a character device 0:0 owned by uid:gid at the old name); '
'durable => false commits without waiting for the WAL flush';

COMMENT ON FUNCTION pgfs_ll_setxattr(bigint, bytea, bytea, integer) IS
'set an extended attribute; flags 1 XATTR_CREATE, 2 XATTR_REPLACE, 4 with system.posix_acl_access: '
'also clear set-group-ID (Linux does for a caller outside the file''s group)';

-- as 1.0 grants them: nothing to PUBLIC, the calls that change to pgfs_writer
REVOKE ALL ON FUNCTION pgfs_ll_create(bigint, bytea, integer, bigint, bigint, bigint, boolean, integer),
    pgfs_ll_mkdir(bigint, bytea, integer, bigint, bigint, boolean, integer),
    pgfs_ll_mknod(bigint, bytea, integer, bigint, bigint, bigint, boolean, integer),
    pgfs_ll_open_read(bigint, bigint, integer, integer, bigint, integer),
    pgfs_ll_rename(bigint, bytea, bigint, bytea, integer, boolean, bigint, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pgfs_ll_create(bigint, bytea, integer, bigint, bigint, bigint, boolean, integer),
    pgfs_ll_mkdir(bigint, bytea, integer, bigint, bigint, boolean, integer),
    pgfs_ll_mknod(bigint, bytea, integer, bigint, bigint, bigint, boolean, integer),
    pgfs_ll_open_read(bigint, bigint, integer, integer, bigint, integer),
    pgfs_ll_rename(bigint, bytea, bigint, bytea, integer, boolean, bigint, bigint) TO pgfs_writer;
