-- Rows written without the executor (src/rowwrite.c): the same rows as the
-- SQL statements write, and the statements still run, triggers and all,
-- where a table has something the direct path cannot do.
CREATE TABLE wlog (tab text, op text, ino bigint);
CREATE FUNCTION public.wlog_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.wlog VALUES (TG_TABLE_NAME, TG_OP,
        (to_jsonb(NEW) ->> 'ino')::bigint);
    RETURN NEW;
END $$;

-- direct: a new file with data, a write to it, a directory
SELECT pgfs_mkdir('/dw') > 1 AS made;
SELECT pgfs_write('/dw/a', '\x616263'::bytea);
SELECT pgfs_write('/dw/a', '\x64'::bytea, 70000);
SELECT encode(pgfs_read('/dw/a', 0, 4), 'escape') AS head, size, nlink, blocks, generation
  FROM pgfs_stat('/dw/a');
SELECT nlink, generation FROM pgfs_stat('/dw');
SELECT count(*) AS chunks, sum(refs) AS refs FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id)
 WHERE m.ino = (pgfs_stat('/dw/a')).ino;
-- the entry got a cookie of its own, above "." and ".."
SELECT cookie > 2 AS cookie_ok FROM pgfs.dirent WHERE name = 'a'::bytea;
-- a duplicate key still fails as the INSERT would
BEGIN;
SELECT setval('pgfs.chunk_seq', (SELECT max(chunk_id) FROM pgfs.chunk), false) > 0 AS rewound;
\set VERBOSITY terse
SELECT pgfs_write('/dw/dup', '\x01'::bytea);
\set VERBOSITY default
ROLLBACK;

-- a trigger on each table: the SQL statements run, and the trigger sees them
CREATE TRIGGER wlog AFTER INSERT OR UPDATE ON pgfs.inode FOR EACH ROW EXECUTE FUNCTION public.wlog_row();
CREATE TRIGGER wlog AFTER INSERT ON pgfs.dirent FOR EACH ROW EXECUTE FUNCTION public.wlog_row();
CREATE TRIGGER wlog AFTER INSERT ON pgfs.filemap FOR EACH ROW EXECUTE FUNCTION public.wlog_row();
CREATE TRIGGER wlog AFTER INSERT ON pgfs.chunk FOR EACH ROW EXECUTE FUNCTION public.wlog_row();
SELECT pgfs_write('/dw/b', '\x78797a'::bytea);
SELECT pgfs_write('/dw/b', '\x7878'::bytea);
SELECT tab, op, ino = (pgfs_stat('/dw/b')).ino AS new_file, count(*)
  FROM wlog GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
SELECT encode(pgfs_read('/dw/b'), 'escape') AS data, size, generation FROM pgfs_stat('/dw/b');
DROP TRIGGER wlog ON pgfs.inode;
DROP TRIGGER wlog ON pgfs.dirent;
DROP TRIGGER wlog ON pgfs.filemap;
DROP TRIGGER wlog ON pgfs.chunk;

-- deletes and updates of entries and chunks: direct, then with a trigger
-- that sees the statements (an unlink; a rename over an existing name; the
-- last references to chunks dropped, and one of two)
SELECT pgfs_write('/dw/d' || i, convert_to(repeat('d', 70000), 'UTF8')) FROM generate_series(1, 2) i;
SELECT pgfs_copy('/dw/d1', '/dw/e1') > 0 AS copied;
SELECT pgfs_unlink('/dw/d2');
SELECT pgfs_rename('/dw/e1', '/dw/d1');
SELECT c.refs, count(*) FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id)
 WHERE m.ino = (pgfs_stat('/dw/d1')).ino GROUP BY 1;
CREATE FUNCTION public.wlog_old() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.wlog VALUES (TG_TABLE_NAME, TG_OP, (to_jsonb(OLD) ->> 'ino')::bigint);
    RETURN OLD;
END $$;
TRUNCATE wlog;
CREATE TRIGGER wlog AFTER UPDATE OR DELETE ON pgfs.dirent FOR EACH ROW EXECUTE FUNCTION public.wlog_old();
CREATE TRIGGER wlog AFTER UPDATE OR DELETE ON pgfs.chunk FOR EACH ROW EXECUTE FUNCTION public.wlog_old();
SELECT pgfs_write('/dw/f' || i, convert_to(repeat('f', 70000), 'UTF8')) FROM generate_series(1, 2) i;
SELECT pgfs_copy('/dw/f1', '/dw/g1') > 0 AS copied;
SELECT pgfs_unlink('/dw/f2');
SELECT pgfs_rename('/dw/g1', '/dw/f1');
SELECT c.refs, count(*) FROM pgfs.filemap m JOIN pgfs.chunk c USING (chunk_id)
 WHERE m.ino = (pgfs_stat('/dw/f1')).ino GROUP BY 1;
SELECT pgfs_unlink('/dw/f1');
SELECT tab, op, count(*) FROM wlog GROUP BY 1, 2 ORDER BY 1, 2;
DROP TRIGGER wlog ON pgfs.dirent;
DROP TRIGGER wlog ON pgfs.chunk;
DROP FUNCTION public.wlog_old();
SELECT name FROM pgfs_readdir('/dw') ORDER BY name;
SELECT count(*) FROM pgfs_fsck();

-- the inode API the mount uses: create, then a write to the empty file
SELECT (pgfs_ll_create((pgfs_stat('/dw')).ino, 'c'::bytea, 416, 7, 8)).ino AS c \gset
SELECT pgfs_ll_write(:c, 0, '\x6c6c'::bytea);
SELECT encode(pgfs_read('/dw/c'), 'escape') AS data, mode, uid, gid, size, generation
  FROM pgfs_stat('/dw/c');
SELECT pgfs_remove('/dw', true);
SELECT * FROM pgfs_fsck();
DROP FUNCTION public.wlog_row();
DROP TABLE wlog;
