/* pgfs--1.0.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION pgfs" to load this file. \quit

/*
 * Storage lives in schema "pgfs", which no ordinary role can use: every
 * access goes through the SECURITY DEFINER functions below, which enforce the
 * filesystem invariants.  The functions themselves live in the extension's
 * schema (public by default) so that applications call pgfs_write() etc.
 * unqualified.  The design of the tables is explained at the top of
 * src/chunkstore.c and src/catalog.c.
 */
CREATE SCHEMA pgfs;
REVOKE ALL ON SCHEMA pgfs FROM PUBLIC;
COMMENT ON SCHEMA pgfs IS 'pgfs storage tables; use the pgfs_* functions, not these tables';

CREATE SEQUENCE pgfs.ino_seq START 2;          -- inode 1 is the root directory
CREATE SEQUENCE pgfs.chunk_seq;
CREATE SEQUENCE pgfs.cookie_seq START 3;       -- readdir cookies 1, 2 are "." and ".."

CREATE TABLE pgfs.inode (
    ino         bigint  PRIMARY KEY,
    mode        integer NOT NULL,              -- st_mode: S_IFMT type bits | permission bits
    nlink       integer NOT NULL,
    uid         bigint  NOT NULL,
    gid         bigint  NOT NULL,
    rdev        bigint  NOT NULL DEFAULT 0,
    size        bigint  NOT NULL DEFAULT 0,
    blocks      bigint  NOT NULL DEFAULT 0,    -- 512-byte units holding data
    atime_ns    bigint  NOT NULL,              -- nanoseconds since the Unix epoch
    mtime_ns    bigint  NOT NULL,
    ctime_ns    bigint  NOT NULL,
    btime_ns    bigint  NOT NULL,
    generation  bigint  NOT NULL DEFAULT 1,    -- bumped by every change; for caches
    parent      bigint,                        -- directories only: the containing directory
    target      bytea,                         -- symlinks only
    xattrs      integer                        -- its rows in pgfs.xattr, so that a client
                                               -- learns "none" with the attributes; NULL
                                               -- for none, which takes no byte in the row
    -- nlink, size, blocks and xattrs are never negative: src/catalog.c checks each
    -- row it writes (CheckCounts says why not a CHECK constraint here)
) WITH (fillfactor = 90);   -- room for HOT updates of size, times and generation

CREATE TABLE pgfs.dirent (
    parent  bigint NOT NULL,
    name    bytea  NOT NULL,
    ino     bigint NOT NULL,
    cookie  bigint NOT NULL DEFAULT nextval('pgfs.cookie_seq'),
    -- ino rides in the key's index so that a path walk passing through a
    -- directory reads only the index (an index-only probe, src/catalog.c):
    -- pgfs_stat among 1M files, 0.61x to 0.65-0.70x a bytea lookup.  ino is
    -- indexed anyway (dirent_ino_idx), so no update loses HOT by this.
    PRIMARY KEY (parent, name) INCLUDE (ino)
);
CREATE INDEX dirent_ino_idx ON pgfs.dirent (ino);
CREATE UNIQUE INDEX dirent_cookie_idx ON pgfs.dirent (parent, cookie);

-- per-file chunk map: chunk number -> immutable-by-sharing chunk row
CREATE TABLE pgfs.filemap (
    ino       bigint NOT NULL,
    chunkno   bigint NOT NULL,
    chunk_id  bigint NOT NULL,
    PRIMARY KEY (ino, chunkno)
);
CREATE INDEX filemap_chunk_idx ON pgfs.filemap (chunk_id);

CREATE TABLE pgfs.chunk (
    chunk_id  bigint   PRIMARY KEY,
    refs      integer  NOT NULL DEFAULT 1,     -- filemap rows pointing here
    rawlen    integer  NOT NULL,               -- bytes of file data this chunk holds
    comp      smallint NOT NULL,               -- 0 raw, 1 lz4, 2 lz4 frames (compress.c)
    data      bytea    NOT NULL
);
-- pgfs compresses chunks itself; stop TOAST from trying again.  Chunks up to
-- half a page (small files, well-compressed pieces) stay inline in the row.
ALTER TABLE pgfs.chunk ALTER COLUMN data SET STORAGE EXTERNAL;
ALTER TABLE pgfs.chunk SET (toast_tuple_target = 4080);

CREATE TABLE pgfs.xattr (
    ino    bigint NOT NULL,
    name   bytea  NOT NULL,
    value  bytea  NOT NULL,
    PRIMARY KEY (ino, name)
);

-- open handles of live clients (pgfs-fuse mounts).  Unlogged: a handle means
-- nothing after a server crash, and opening a file must not cost a WAL flush.
CREATE UNLOGGED TABLE pgfs.handle (
    ino     bigint  NOT NULL,
    client  bigint  NOT NULL,
    count   integer NOT NULL CHECK (count > 0),
    PRIMARY KEY (ino, client)
);

-- clients (pgfs-fuse mounts) that began a session since the server last
-- started from a crash.  Unlogged, so crash recovery (or a restore, or a
-- promoted standby) empties it, while a clean restart keeps it: a client that
-- still finds its row after a lost connection knows that the server lost no
-- commit it made without waiting for the WAL flush (pgfs_ll_client_begin).
CREATE UNLOGGED TABLE pgfs.client (
    client  bigint      PRIMARY KEY,
    since   timestamptz NOT NULL DEFAULT now()
);

-- reclaiming orphans finds unlinked inodes without scanning every inode
CREATE INDEX inode_orphan_idx ON pgfs.inode (ino) WHERE nlink = 0;

-- per-role subtrees (src/policy.c); no rows: nobody is confined
CREATE TABLE pgfs.policy (
    role_name  name    PRIMARY KEY,
    root       bigint  NOT NULL,                -- the directory the role is confined to
    writable   boolean NOT NULL
);

CREATE TABLE pgfs.meta (
    key    text PRIMARY KEY,
    value  text NOT NULL
);

/*
 * The root directory is created here, and pg_dump also dumps it (its mode,
 * times and nlink matter).  On restore CREATE EXTENSION makes a fresh root
 * before the dumped rows arrive; this trigger folds the dumped root into it.
 */
CREATE FUNCTION pgfs.merge_root() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    UPDATE pgfs.inode SET mode = NEW.mode, nlink = NEW.nlink, uid = NEW.uid,
           gid = NEW.gid, atime_ns = NEW.atime_ns, mtime_ns = NEW.mtime_ns,
           ctime_ns = NEW.ctime_ns, btime_ns = NEW.btime_ns,
           generation = NEW.generation, parent = NEW.parent
     WHERE ino = NEW.ino;
    IF FOUND THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER merge_root BEFORE INSERT ON pgfs.inode
    FOR EACH ROW WHEN (NEW.ino = 1) EXECUTE FUNCTION pgfs.merge_root();

INSERT INTO pgfs.inode (ino, mode, nlink, uid, gid, atime_ns, mtime_ns, ctime_ns, btime_ns, parent)
SELECT 1, 16877 /* S_IFDIR | 0755 */, 2, 0, 0, t, t, t, t, 1
  FROM (SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000 AS t) s;

INSERT INTO pgfs.meta VALUES
    ('format', '1'),
    ('store_id', md5(random()::text || clock_timestamp()::text));

SELECT pg_catalog.pg_extension_config_dump('pgfs.inode', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.dirent', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.filemap', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.chunk', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.xattr', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.policy', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.ino_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.chunk_seq', '');
SELECT pg_catalog.pg_extension_config_dump('pgfs.cookie_seq', '');

/* Roles.  They are cluster-wide, so another database may have made them. */
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgfs_reader') THEN
        CREATE ROLE pgfs_reader NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgfs_writer') THEN
        CREATE ROLE pgfs_writer NOLOGIN IN ROLE pgfs_reader;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'pgfs_admin') THEN
        CREATE ROLE pgfs_admin NOLOGIN IN ROLE pgfs_writer;
    END IF;
END $$;

/* ------------------------------------------------------------------------
 * Path API: absolute, '/'-separated text paths.
 *
 * The hot calls (read, write, stat) carry no SET search_path clause: its
 * cost per call was a large share of a stat.  They are as safe as the rest,
 * because the C code resolves no names itself and pins search_path to
 * pg_catalog, pg_temp before it prepares or runs any statement (src/spi.c).
 * ------------------------------------------------------------------------ */

CREATE FUNCTION pgfs_write(path text, data bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_write' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_write(text, bytea) IS
'create or replace the whole file at path with data; returns the bytes written';

CREATE FUNCTION pgfs_write(path text, data bytea, "offset" bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_write_at' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_write(text, bytea, bigint) IS
'write data at offset (creating the file if missing); a gap past the end reads as zeros';

CREATE FUNCTION pgfs_append(path text, data bytea)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_append' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_append(text, bytea) IS
'append data at the end of the file (creating it if missing); returns the new size';

CREATE FUNCTION pgfs_read(path text, "offset" bigint DEFAULT 0, length bigint DEFAULT NULL)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgfs_read' LANGUAGE C STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_read(text, bigint, bigint) IS
'read length bytes at offset (to the end of the file when length is NULL); short at end of file';

CREATE FUNCTION pgfs_readdir(path text, with_stat boolean DEFAULT false,
    OUT name text, OUT type text, OUT ino bigint,
    OUT mode integer, OUT nlink integer, OUT uid bigint, OUT gid bigint,
    OUT size bigint, OUT mtime timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgfs_readdir' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_readdir(text, boolean) IS
'entries of a directory ordered by name; stat columns are filled when with_stat';

/*
 * pgfs_stat and pgfs_lstat return a named row type rather than declaring
 * OUT parameters: for a function with OUT parameters the executor works the
 * row type out of pg_proc at the start of every statement that calls it
 * (build_function_result_tupdesc_t, and a new record type to register),
 * 5% of the backend's time in a pgbench stat; a named type comes from the
 * type cache.  Measured: 1.5 us less per stat of a 48 us round trip.
 */
CREATE TYPE pgfs_stat_result AS (
    ino bigint, type text, mode integer, nlink integer,
    uid bigint, gid bigint, rdev bigint, size bigint,
    blocks bigint, blksize integer,
    atime timestamptz, mtime timestamptz, ctime timestamptz,
    atime_ns bigint, mtime_ns bigint, ctime_ns bigint,
    generation bigint);
COMMENT ON TYPE pgfs_stat_result IS 'the row pgfs_stat() and pgfs_lstat() return';

CREATE FUNCTION pgfs_stat(path text)
RETURNS pgfs_stat_result
AS 'MODULE_PATHNAME', 'pgfs_stat' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_stat(text) IS
'stat(2) of path, following symbolic links; *_ns are nanoseconds since the epoch';

CREATE FUNCTION pgfs_lstat(path text)
RETURNS pgfs_stat_result
AS 'MODULE_PATHNAME', 'pgfs_lstat' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_lstat(text) IS
'lstat(2) of path: a final symbolic link is not followed';

CREATE FUNCTION pgfs_exists(path text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgfs_exists' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_exists(text) IS
'true when path names an entry (a dangling symbolic link counts); invalid paths still raise';

CREATE FUNCTION pgfs_mkdir(path text, mode integer DEFAULT NULL, parents boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_mkdir' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_mkdir(text, integer, boolean) IS
'create a directory (mode defaults to pgfs.default_dir_mode); with parents, like mkdir -p; returns its inode';

CREATE FUNCTION pgfs_rmdir(path text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_rmdir' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_rmdir(text) IS 'remove an empty directory';

CREATE FUNCTION pgfs_unlink(path text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_unlink' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_unlink(text) IS
'remove a name that is not a directory; the data goes with the last link and the last open handle';

CREATE FUNCTION pgfs_rename(oldpath text, newpath text,
    noreplace boolean DEFAULT false, exchange boolean DEFAULT false)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_rename' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_rename(text, text, boolean, boolean) IS
'rename(2), with renameat2() RENAME_NOREPLACE and RENAME_EXCHANGE';

CREATE FUNCTION pgfs_link(oldpath text, newpath text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_link' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_link(text, text) IS 'make a hard link newpath to the file at oldpath';

CREATE FUNCTION pgfs_symlink(target text, linkpath text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_symlink' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_symlink(text, text) IS 'make a symbolic link at linkpath pointing to target';

CREATE FUNCTION pgfs_readlink(path text)
RETURNS text
AS 'MODULE_PATHNAME', 'pgfs_readlink' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_readlink(text) IS 'the target of a symbolic link';

CREATE FUNCTION pgfs_truncate(path text, length bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_truncate' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_truncate(text, bigint) IS 'shrink or extend (with a hole) a file to length bytes';

CREATE FUNCTION pgfs_chmod(path text, mode integer)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_chmod' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_chmod(text, integer) IS 'set the permission bits (07777) of path';

CREATE FUNCTION pgfs_chown(path text, uid bigint, gid bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_chown' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_chown(text, bigint, bigint) IS
'set owner and group (NULL leaves one unchanged); clears set-user/group-ID on files like Linux';

CREATE FUNCTION pgfs_utimens(path text, atime timestamptz, mtime timestamptz)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_utimens' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_utimens(text, timestamptz, timestamptz) IS
'set access and modification times (NULL leaves one unchanged); ctime becomes now';

CREATE FUNCTION pgfs_mknod(path text, type text, mode integer DEFAULT NULL,
    major integer DEFAULT 0, minor integer DEFAULT 0)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_mknod' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_mknod(text, text, integer, integer, integer) IS
'make a special file: type is file, fifo, socket, char or block; returns its inode';

CREATE FUNCTION pgfs_statfs(
    OUT bsize bigint, OUT frsize bigint, OUT blocks bigint, OUT bfree bigint,
    OUT bavail bigint, OUT files bigint, OUT ffree bigint, OUT namemax integer)
AS 'MODULE_PATHNAME', 'pgfs_statfs' LANGUAGE C STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_statfs() IS
'statvfs(3) of the store: blocks used by file data, free space of the database''s disk';

CREATE FUNCTION pgfs_setxattr(path text, name text, value bytea, flags integer DEFAULT 0)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_setxattr' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_setxattr(text, text, bytea, integer) IS
'set an extended attribute; flags 1 = XATTR_CREATE, 2 = XATTR_REPLACE';

CREATE FUNCTION pgfs_getxattr(path text, name text)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgfs_getxattr' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_getxattr(text, text) IS 'the value of an extended attribute';

CREATE FUNCTION pgfs_listxattr(path text)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'pgfs_listxattr' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_listxattr(text) IS 'names of the extended attributes of path';

CREATE FUNCTION pgfs_removexattr(path text, name text)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_removexattr' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_removexattr(text, text) IS 'remove an extended attribute';

CREATE FUNCTION pgfs_remove(path text, recursive boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_remove' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_remove(text, boolean) IS
'remove path (rm, or rm -r when recursive); returns the number of names removed';

CREATE FUNCTION pgfs_copy(source text, dest text, recursive boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_copy' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_copy(text, text, boolean) IS
'copy a file (cp) or a tree (cp -r); file data is shared copy-on-write, not duplicated; returns entries copied';

CREATE FUNCTION pgfs_fsck(OUT problem text, OUT ino bigint, OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgfs_fsck' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_fsck() IS
'check every invariant of the store, chunk contents included; no rows means healthy';

CREATE FUNCTION pgfs_policy_set(role_name name, path text, writable boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_policy_set' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_policy_set(name, text, boolean) IS
'confine role (and its members) to the directory at path, read-only unless writable; '
'it may still look up the directories on the way there';

CREATE FUNCTION pgfs_policy_drop(role_name name)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgfs_policy_drop' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_policy_drop(name) IS 'lift the confinement of role; false when it had none';

CREATE FUNCTION pgfs_policies(OUT role_name name, OUT root bigint, OUT writable boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgfs_policies' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_policies() IS 'the confined roles and the inode of their directory';

CREATE FUNCTION pgfs_errcodes(OUT sqlstate text, OUT errno_name text, OUT errno integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgfs_errcodes' LANGUAGE C STRICT IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION pgfs_errcodes() IS 'the SQLSTATE to errno table pgfs errors follow';

CREATE FUNCTION pgfs_store_id()
RETURNS text
AS 'MODULE_PATHNAME', 'pgfs_store_id' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_store_id() IS 'identity of this store; changes when it is recreated';

CREATE FUNCTION pgfs_reclaim_orphans()
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_reclaim_orphans' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_reclaim_orphans() IS
'free unlinked files whose open handles belong to no live client; returns inodes freed';

/* ------------------------------------------------------------------------
 * Inode API for pgfs-fuse: names are bytea (any byte but '/' and NUL).
 * Every function returning a single inode returns the same row type,
 * pgfs_attr (a named type, not OUT parameters: see pgfs_stat_result).
 *
 * The daemon's hot calls (lookup, getattr, read, readdir, getxattr, write,
 * create, setattr) carry no SET search_path clause, as the path API's hot
 * calls: src/spi.c pins search_path before any statement runs, and
 * lookup, getattr and read usually run none at all (direct index reads).
 * ------------------------------------------------------------------------ */

CREATE TYPE pgfs_attr AS (
    ino bigint, mode integer, nlink integer, uid bigint, gid bigint,
    rdev bigint, size bigint, blocks bigint,
    atime_ns bigint, mtime_ns bigint, ctime_ns bigint, generation bigint,
    xattrs integer);
COMMENT ON TYPE pgfs_attr IS 'attributes of an inode, as the inode API returns them; '
'xattrs counts its extended attributes';

CREATE TYPE pgfs_created AS (
    ino bigint, mode integer, nlink integer, uid bigint, gid bigint,
    rdev bigint, size bigint, blocks bigint,
    atime_ns bigint, mtime_ns bigint, ctime_ns bigint, generation bigint,
    xattrs integer, parent_generation bigint);
COMMENT ON TYPE pgfs_created IS 'a new file''s attributes, as pgfs_attr, and its directory''s '
'generation after the create (one more than before it: a client that knew the one before learns '
'that nobody else changed the directory in between)';

CREATE FUNCTION pgfs_ll_lookup(parent bigint, name bytea, missing_ok boolean DEFAULT false)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_lookup' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_lookup(bigint, bytea, boolean) IS
'look name up in directory parent ("." and ".." included); a missing name raises ENOENT, '
'or with missing_ok gives a row of NULLs (a negative lookup without an error in the server log)';

CREATE FUNCTION pgfs_ll_getattr(ino bigint)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_getattr' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_getattr(bigint) IS 'attributes of an inode (also of an unlinked but open one)';

CREATE FUNCTION pgfs_ll_setattr(ino bigint, mode integer, uid bigint, gid bigint, size bigint,
    atime_ns bigint, mtime_ns bigint, atime_now boolean DEFAULT false, mtime_now boolean DEFAULT false,
    durable boolean DEFAULT true)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_setattr' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_setattr(bigint, integer, bigint, bigint, bigint, bigint, bigint, boolean, boolean, boolean) IS
'change attributes; NULL leaves one unchanged; mode is the permission bits; *_now sets a time to the server''s clock; '
'durable => false commits without waiting for the WAL flush, as pgfs_ll_write''s';

CREATE FUNCTION pgfs_ll_read(ino bigint, "offset" bigint, length integer)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgfs_ll_read' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_read(bigint, bigint, integer) IS 'read up to length bytes at offset; short or empty at end of file';

CREATE FUNCTION pgfs_ll_write(ino bigint, "offset" bigint, data bytea, durable boolean DEFAULT true)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_ll_write' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_write(bigint, bigint, bytea, boolean) IS
'write data at offset; returns the file size afterwards; durable => false commits the transaction '
'without waiting for its WAL flush (synchronous_commit off), for a client that calls pgfs_ll_fsync() later';

CREATE FUNCTION pgfs_ll_writev(ino bigint, offsets bigint[], lengths integer[], data bytea,
    durable boolean DEFAULT true)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_ll_writev' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_writev(bigint, bigint[], integer[], bytea, boolean) IS
'write scattered pieces in one change: lengths[i] bytes of data, in order, at offsets[i] (a later piece '
'wins where two overlap); returns the file size afterwards; durable => false as pgfs_ll_write';

CREATE FUNCTION pgfs_ll_copy_range(ino_in bigint, off_in bigint, ino_out bigint, off_out bigint,
    length bigint, durable boolean DEFAULT true)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_ll_copy_range' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_copy_range(bigint, bigint, bigint, bigint, bigint, boolean) IS
'copy_file_range(2): copy up to length bytes of ino_in at off_in to ino_out at off_out, stopping at '
'the source''s end; returns the bytes copied; where both offsets lie at the same place in a chunk, '
'whole chunks are shared (copy-on-write), not copied; durable => false as pgfs_ll_write';

CREATE FUNCTION pgfs_ll_fallocate(ino bigint, mode integer, "offset" bigint, length bigint,
    durable boolean DEFAULT true)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_ll_fallocate' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_fallocate(bigint, integer, bigint, bigint, boolean) IS
'fallocate(2) with the Linux mode flags: 0 grows the size to offset + length (nothing is reserved: '
'zeros take no space), KEEP_SIZE (1) alone does nothing, PUNCH_HOLE (2) | KEEP_SIZE and ZERO_RANGE '
'(16) make the range read as zeros and free its storage; other modes are EOPNOTSUPP; returns the '
'size afterwards; durable => false as pgfs_ll_write';

CREATE FUNCTION pgfs_ll_seek(ino bigint, "offset" bigint, whence integer)
RETURNS bigint
AS 'MODULE_PATHNAME', 'pgfs_ll_seek' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_seek(bigint, bigint, integer) IS
'lseek(2)''s SEEK_DATA (3) and SEEK_HOLE (4): where the next data or hole begins at or after offset '
'(holes: missing chunks and the zeros a chunk does not store; the end of file is one); ENXIO at or '
'past the end, or when no data follows';

CREATE FUNCTION pgfs_ll_fsync()
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_fsync' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_fsync() IS
'make every transaction committed so far durable (WAL flushed, and confirmed by synchronous standbys '
'as synchronous_commit asks): the fsync of a client that committed writes with durable => false';

CREATE FUNCTION pgfs_ll_create(parent bigint, name bytea, mode integer, uid bigint, gid bigint,
    client bigint DEFAULT NULL, durable boolean DEFAULT true)
RETURNS pgfs_created
AS 'MODULE_PATHNAME', 'pgfs_ll_create' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_create(bigint, bytea, integer, bigint, bigint, bigint, boolean) IS
'create a regular file (EEXIST if the name exists); mode may carry S_IFREG; with client, also open it; '
'durable => false commits without waiting for the WAL flush, as pgfs_ll_write does';

CREATE FUNCTION pgfs_ll_mkdir(parent bigint, name bytea, mode integer, uid bigint, gid bigint,
    durable boolean DEFAULT true)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_mkdir' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_mkdir(bigint, bytea, integer, bigint, bigint, boolean) IS
'create a directory; durable => false commits without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_mknod(parent bigint, name bytea, mode integer, rdev bigint, uid bigint, gid bigint,
    durable boolean DEFAULT true)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_mknod' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_mknod(bigint, bytea, integer, bigint, bigint, bigint, boolean) IS
'create a regular file, fifo, socket or device node; mode carries the S_IFMT type; '
'durable => false commits without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_symlink(parent bigint, name bytea, target bytea, uid bigint, gid bigint,
    durable boolean DEFAULT true)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_symlink' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_symlink(bigint, bytea, bytea, bigint, bigint, boolean) IS
'create a symbolic link; durable => false commits without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_link(ino bigint, newparent bigint, newname bytea, durable boolean DEFAULT true)
RETURNS pgfs_attr
AS 'MODULE_PATHNAME', 'pgfs_ll_link' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_link(bigint, bigint, bytea, boolean) IS
'add a hard link to a non-directory inode; durable => false commits without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_unlink(parent bigint, name bytea, durable boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_unlink' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_unlink(bigint, bytea, boolean) IS
'remove a non-directory name; durable => false commits without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_rmdir(parent bigint, name bytea, durable boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_rmdir' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_rmdir(bigint, bytea, boolean) IS
'remove an empty directory; durable => false commits without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_rename(parent bigint, name bytea, newparent bigint, newname bytea,
    flags integer DEFAULT 0, durable boolean DEFAULT true)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_rename' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_rename(bigint, bytea, bigint, bytea, integer, boolean) IS
'rename; flags are renameat2() flags: 1 RENAME_NOREPLACE, 2 RENAME_EXCHANGE; '
'durable => false commits without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_readlink(ino bigint)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgfs_ll_readlink' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_readlink(bigint) IS 'target of a symbolic link';

CREATE FUNCTION pgfs_ll_readdir(ino bigint, after_cookie bigint, max_entries integer,
    OUT cookie bigint, OUT name bytea,
    OUT ino bigint, OUT mode integer, OUT nlink integer, OUT uid bigint, OUT gid bigint,
    OUT rdev bigint, OUT size bigint, OUT blocks bigint,
    OUT atime_ns bigint, OUT mtime_ns bigint, OUT ctime_ns bigint, OUT generation bigint,
    OUT xattrs integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'pgfs_ll_readdir' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_readdir(bigint, bigint, integer) IS
'up to max_entries entries with cookie > after_cookie, in cookie order ("." and ".." not included); '
'an entry keeps its cookie while it keeps its name, so resuming never skips or repeats survivors';

CREATE FUNCTION pgfs_ll_statfs(
    OUT bsize bigint, OUT frsize bigint, OUT blocks bigint, OUT bfree bigint,
    OUT bavail bigint, OUT files bigint, OUT ffree bigint, OUT namemax integer)
AS 'MODULE_PATHNAME', 'pgfs_statfs' LANGUAGE C STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_statfs() IS 'statvfs(3) of the store';

CREATE FUNCTION pgfs_ll_setxattr(ino bigint, name bytea, value bytea, flags integer DEFAULT 0)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_setxattr' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_setxattr(bigint, bytea, bytea, integer) IS
'set an extended attribute; flags 1 XATTR_CREATE, 2 XATTR_REPLACE';

CREATE FUNCTION pgfs_ll_getxattr(ino bigint, name bytea, missing_ok boolean DEFAULT false)
RETURNS bytea
AS 'MODULE_PATHNAME', 'pgfs_ll_getxattr' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c
COMMENT ON FUNCTION pgfs_ll_getxattr(bigint, bytea, boolean) IS
'value of an extended attribute (ENODATA when absent; NULL instead with missing_ok)';

CREATE FUNCTION pgfs_ll_listxattr(ino bigint)
RETURNS SETOF bytea
AS 'MODULE_PATHNAME', 'pgfs_ll_listxattr' LANGUAGE C STRICT STABLE PARALLEL SAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_listxattr(bigint) IS 'extended attribute names of an inode';

CREATE FUNCTION pgfs_ll_removexattr(ino bigint, name bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_removexattr' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_removexattr(bigint, bytea) IS 'remove an extended attribute';

CREATE FUNCTION pgfs_ll_client_begin(client bigint)
RETURNS boolean
AS 'MODULE_PATHNAME', 'pgfs_ll_client_begin' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_client_begin(bigint) IS
'mark client as live for this session (its open handles are kept while the session lasts); true if '
'client began a session before and the server has not started from a crash, a restore or a promotion '
'since, so it lost none of client''s commits made without waiting for the WAL flush';

CREATE FUNCTION pgfs_ll_open(ino bigint, client bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_open' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_open(bigint, bigint) IS 'count an open handle of client on ino';

CREATE FUNCTION pgfs_ll_reopen(ino bigint, client bigint, count integer, born bigint DEFAULT NULL)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_reopen' LANGUAGE C VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_reopen(bigint, bigint, integer, bigint) IS
'set the number of open handles of client on ino (after reconnecting to a restarted server, whose '
'unlogged handle table may have been emptied); ENOENT when the inode is gone, or, with born, when '
'it was not created at that time (ns since the epoch): a crash lost the create and reused its number';

CREATE FUNCTION pgfs_ll_release(ino bigint, client bigint)
RETURNS void
AS 'MODULE_PATHNAME', 'pgfs_ll_release' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION pgfs_ll_release(bigint, bigint) IS
'drop an open handle; an unlinked inode is freed with its last handle';

CREATE FUNCTION pgfs_ll_open_read(ino bigint, client bigint, count integer, max_bytes integer,
    cached_generation bigint DEFAULT -1, OUT size bigint, OUT data bytea, OUT generation bigint)
RETURNS record
AS 'MODULE_PATHNAME', 'pgfs_ll_open_read' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c; no SET clause, see src/funcs_open.c
COMMENT ON FUNCTION pgfs_ll_open_read(bigint, bigint, integer, integer, bigint) IS
'set the number of open handles of client on ino, as pgfs_ll_reopen, and return the file size, '
'its first max_bytes bytes (at most 131072; NULL for a file that is not regular, or when its '
'generation is still cached_generation, whose bytes the client has) and its generation; commits '
'without waiting for the WAL flush, since the handle table is unlogged';

CREATE FUNCTION pgfs_ll_release_many(inos bigint[], client bigint)
RETURNS integer
AS 'MODULE_PATHNAME', 'pgfs_ll_release_many' LANGUAGE C STRICT VOLATILE PARALLEL UNSAFE
SECURITY DEFINER;   -- search_path: pinned in C, see src/spi.c; no SET clause, see src/funcs_open.c
COMMENT ON FUNCTION pgfs_ll_release_many(bigint[], bigint) IS
'drop every open handle of client on each of inos (absent inodes are skipped) and free those of '
'them that are unlinked; returns the handles dropped; commits without waiting for the WAL flush '
'unless it may have freed a file';

/* ------------------------------------------------------------------------
 * Privileges: nothing for PUBLIC.
 * ------------------------------------------------------------------------ */
DO $$
DECLARE
    f regprocedure;
    readonly text[] := ARRAY['pgfs_read', 'pgfs_readdir', 'pgfs_stat', 'pgfs_lstat',
        'pgfs_exists', 'pgfs_readlink', 'pgfs_statfs', 'pgfs_getxattr', 'pgfs_listxattr',
        'pgfs_errcodes', 'pgfs_store_id',
        'pgfs_ll_lookup', 'pgfs_ll_getattr', 'pgfs_ll_read', 'pgfs_ll_readlink',
        'pgfs_ll_readdir', 'pgfs_ll_statfs', 'pgfs_ll_getxattr', 'pgfs_ll_listxattr',
        'pgfs_ll_seek'];
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_catalog.pg_proc p
               JOIN pg_catalog.pg_depend d ON d.objid = p.oid
                   AND d.classid = 'pg_catalog.pg_proc'::regclass
                   AND d.refclassid = 'pg_catalog.pg_extension'::regclass
               JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'pgfs'
              WHERE p.proname LIKE 'pgfs\_%'
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        IF (SELECT proname FROM pg_catalog.pg_proc WHERE oid = f) = ANY (readonly) THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pgfs_reader', f);
        ELSIF (SELECT proname FROM pg_catalog.pg_proc WHERE oid = f)
                  IN ('pgfs_fsck', 'pgfs_policy_set', 'pgfs_policy_drop', 'pgfs_policies') THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pgfs_admin', f);
        ELSE
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO pgfs_writer', f);
        END IF;
    END LOOP;
END $$;
REVOKE ALL ON FUNCTION pgfs.merge_root() FROM PUBLIC;
