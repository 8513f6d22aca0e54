--
-- Lookup hints (src/catalog.c): a backend goes first to where it last found
-- a directory entry or an inode row, and uses the primary key only when the
-- row it finds there is not the one its snapshot sees.  The isolation spec
-- lookup-hints changes the tree between the lookups of another session;
-- this checks that the hints are taken, and when they are not.
--
SELECT pgfs_mkdir('/hints/a/b', NULL, true) > 0 AS made;
SELECT pgfs_write('/hints/a/b/f', '\x0102'::bytea);
SELECT pgfs_write('/hints/a/b/g', '\x03'::bytea);
-- index scans of the two tables by this backend since it last reported
-- them; inside a transaction block it reports none
CREATE TEMP VIEW probes AS
SELECT sum(idx_scan) FILTER (WHERE relname = 'dirent') AS dirent,
       sum(idx_scan) FILTER (WHERE relname = 'inode') AS inode
  FROM pg_stat_xact_user_tables WHERE schemaname = 'pgfs';

-- an entry read from the index alone is learned in two lookups
SELECT size FROM pgfs_stat('/hints/a/b/f');
SELECT size FROM pgfs_stat('/hints/a/b/f');

-- then no probe of a primary key: four entries and an inode row
BEGIN;
SELECT dirent AS d0, inode AS i0 FROM probes \gset
SELECT size FROM pgfs_stat('/hints/a/b/f');
SELECT dirent - :d0 AS dirent_probes, inode - :i0 AS inode_probes FROM probes;
COMMIT;

-- a name renamed over: the row at the entry's hint is no longer the one
-- seen, and the key is probed (g's inode row the rename itself found)
SELECT pgfs_rename('/hints/a/b/g', '/hints/a/b/f');
BEGIN;
SELECT dirent AS d0, inode AS i0 FROM probes \gset
SELECT size FROM pgfs_stat('/hints/a/b/f');
SELECT dirent - :d0 AS dirent_probes, inode - :i0 AS inode_probes FROM probes;
COMMIT;

-- a directory renamed away: its old name is not found
SELECT pgfs_rename('/hints/a', '/hints/c');
SELECT pgfs_exists('/hints/a/b/f') AS a, pgfs_exists('/hints/c/b/f') AS c;
SELECT size FROM pgfs_stat('/hints/a/b/f');

-- SERIALIZABLE: always through the keys, whose page locks SSI needs
SELECT size FROM pgfs_stat('/hints/c/b/f');
SELECT size FROM pgfs_stat('/hints/c/b/f');
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT dirent AS d0, inode AS i0 FROM probes \gset
SELECT size FROM pgfs_stat('/hints/c/b/f');
SELECT dirent - :d0 AS dirent_probes, inode - :i0 AS inode_probes FROM probes;
COMMIT;

-- a page reached through hints is pruned, as an index fetch prunes the
-- pages it visits: files made one transaction each in a directory, whose
-- inode row each creation finds through its hint and updates, keep that
-- row on its page; without pruning its dead versions filled the pages the
-- new files' rows went to, each holding half as many
SELECT pgfs_mkdir('/hints/p') AS p \gset
DO $$
BEGIN
    FOR n IN 1 .. 400 LOOP
        PERFORM pgfs_write('/hints/p/f' || n, '\x00'::bytea);
        COMMIT;
    END LOOP;
END $$;
SELECT count(*) AS files,
       count(*) >= 40 * count(DISTINCT (i.ctid::text::point)[0]) AS packed
  FROM pgfs.dirent d JOIN pgfs.inode i USING (ino) WHERE d.parent = :p;

SELECT pgfs_remove('/hints', true);
SELECT * FROM pgfs_fsck();
