-- files follow the caller's transaction: rollback, savepoints, failures
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;
CREATE TABLE invoices (id int PRIMARY KEY, pdf text NOT NULL);

-- a row and its file commit together ...
BEGIN;
INSERT INTO invoices VALUES (1, '/inv-1.pdf');
SELECT pgfs_write('/inv-1.pdf', 'PDF one'::bytea);
COMMIT;
SELECT i.id, convert_from(pgfs_read(i.pdf), 'UTF8') FROM invoices i;
-- ... and roll back together
BEGIN;
INSERT INTO invoices VALUES (2, '/inv-2.pdf');
SELECT pgfs_write('/inv-2.pdf', 'PDF two'::bytea);
SELECT pgfs_write('/inv-1.pdf', 'overwritten'::bytea);
SELECT pgfs_unlink('/inv-1.pdf');
ROLLBACK;
SELECT count(*) FROM invoices;
SELECT pgfs_exists('/inv-2.pdf'), convert_from(pgfs_read('/inv-1.pdf'), 'UTF8');

-- savepoints
BEGIN;
SELECT pgfs_mkdir('/sp') > 1 AS made;
SAVEPOINT a;
SELECT pgfs_write('/sp/x', 'x'::bytea);
ROLLBACK TO a;
SELECT pgfs_write('/sp/y', 'y'::bytea);
COMMIT;
SELECT name FROM pgfs_readdir('/sp');

-- a failing call inside a transaction aborts it, like any SQL error
BEGIN;
SELECT pgfs_write('/sp/z', 'z'::bytea);
SELECT pgfs_rmdir('/sp');
ROLLBACK;
SELECT pgfs_exists('/sp/z');

-- a transaction sees its own changes
BEGIN;
SELECT pgfs_write('/sp/y', 'new'::bytea, 1);
SELECT convert_from(pgfs_read('/sp/y'), 'UTF8');
COMMIT;
SELECT convert_from(pgfs_read('/sp/y'), 'UTF8');

-- a big write that fails part-way leaves the old contents
SELECT pgfs_write('/sp/big', decode(repeat('aa', 200000), 'hex'));
SELECT pg_temp.try($$SELECT pgfs_write('/sp/big', decode(repeat('bb', 200000), 'hex')) / 0$$);
SELECT md5(pgfs_read('/sp/big')) = md5(decode(repeat('aa', 200000), 'hex')) AS old_contents;

-- a call that commits without waiting for the WAL flush (an open, a
-- lock, a write with durable => false) does not take that wait from rows
-- written in the same transaction, before it or after it: their commit is
-- flushed when COMMIT returns
SELECT (pgfs_stat('/sp/y')).ino AS y \gset
BEGIN;
INSERT INTO invoices VALUES (2, 'before an open');
SELECT (pgfs_ll_open_read(:y, 31, 1, 0)).size AS opened_size;
SELECT pg_current_wal_insert_lsn() AS written \gset
COMMIT;
SELECT pg_current_wal_flush_lsn() >= :'written'::pg_lsn AS flushed;
BEGIN;
SELECT pgfs_ll_write(:y, 0, 'w'::bytea, false) IS NOT NULL AS wrote;
INSERT INTO invoices VALUES (3, 'after a write');
SELECT pg_current_wal_insert_lsn() AS written \gset
COMMIT;
SELECT pg_current_wal_flush_lsn() >= :'written'::pg_lsn AS flushed;
BEGIN;
SELECT pgfs_ll_write(:y, 0, 'x'::bytea, false) IS NOT NULL AS wrote;
SELECT pgfs_write('/sp/durable', 'd'::bytea) AS wrote_durably;
SELECT pg_current_wal_insert_lsn() AS written \gset
COMMIT;
SELECT pg_current_wal_flush_lsn() >= :'written'::pg_lsn AS flushed;
SELECT pgfs_ll_release_many(ARRAY[:y]::bigint[], 31);

SELECT pgfs_remove('/sp', true), pgfs_unlink('/inv-1.pdf');
DROP TABLE invoices;
SELECT * FROM pgfs_fsck();
