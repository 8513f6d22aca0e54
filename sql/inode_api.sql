-- the inode API pgfs-fuse uses: byte names, readdir cookies, open handles
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;

SELECT ino AS d FROM pgfs_ll_mkdir(1, 'll'::bytea, 493, 1000, 1000) \gset
SELECT nlink, uid, gid, mode FROM pgfs_ll_getattr(:d);
-- any byte but '/' and NUL is a name
SELECT ino AS f FROM pgfs_ll_create(:d, '\xff0a20e282ac'::bytea, 33188, 1000, 1000) \gset
SELECT mode, nlink, size FROM pgfs_ll_lookup(:d, '\xff0a20e282ac'::bytea);
SELECT encode(name, 'hex'), type FROM pgfs_ll_readdir(:d, 0, 10) r, LATERAL (SELECT 'x' AS type) t;
SELECT name FROM pgfs_readdir('/ll');
SELECT pg_temp.try(format($$SELECT * FROM pgfs_ll_create(%s, '\xff0a20e282ac'::bytea, 420, 0, 0)$$, :d));
-- "." and ".."
SELECT ino = :d AS dot FROM pgfs_ll_lookup(:d, '.'::bytea);
SELECT ino = 1 AS dotdot FROM pgfs_ll_lookup(:d, '..'::bytea);
SELECT ino = 1 AS root_dotdot FROM pgfs_ll_lookup(1, '..'::bytea);
SELECT pg_temp.try(format($$SELECT * FROM pgfs_ll_lookup(%s, 'missing'::bytea)$$, :d));
SELECT ino IS NULL AS absent, mode IS NULL AS no_mode FROM pgfs_ll_lookup(:d, 'missing'::bytea, true);
SELECT ino = :d AS found_anyway FROM pgfs_ll_lookup(:d, '.'::bytea, true);
SELECT pg_temp.try(format($$SELECT * FROM pgfs_ll_lookup(%s, 'x'::bytea, true)$$, :f));

-- write, read, setattr
SELECT pgfs_ll_write(:f, 0, 'abcdef'::bytea), pgfs_ll_write(:f, 100, 'z'::bytea);
SELECT encode(pgfs_ll_read(:f, 4, 4), 'hex'), length(pgfs_ll_read(:f, 0, 1000)), length(pgfs_ll_read(:f, 200, 10));
SELECT size, mode FROM pgfs_ll_setattr(:f, 384, NULL, NULL, 3, NULL, NULL);
SELECT convert_from(pgfs_ll_read(:f, 0, 100), 'UTF8');
SELECT atime_ns, mtime_ns FROM pgfs_ll_setattr(:f, NULL, NULL, NULL, NULL, 1, 2);
SELECT atime_ns > 2, mtime_ns = 2 FROM pgfs_ll_setattr(:f, NULL, NULL, NULL, NULL, NULL, NULL, true, false);
SELECT uid, gid FROM pgfs_ll_setattr(:f, NULL, 5, 6, NULL, NULL, NULL);

-- the rest of the node types
SELECT mode FROM pgfs_ll_mknod(:d, 'fifo'::bytea, 4516, 0, 0, 0);
SELECT mode, rdev FROM pgfs_ll_mknod(:d, 'dev'::bytea, 8630, 259, 0, 0);
SELECT mode, size FROM pgfs_ll_symlink(:d, 'ln'::bytea, '\xff0a20e282ac'::bytea, 0, 0);
SELECT encode(pgfs_ll_readlink(ino), 'hex') FROM pgfs_ll_lookup(:d, 'ln'::bytea);
SELECT nlink FROM pgfs_ll_link(:f, 1, 'hard'::bytea);
SELECT pgfs_ll_unlink(1, 'hard'::bytea);
-- setgid directories hand their group down
SELECT mode FROM pgfs_ll_setattr(:d, 1517, NULL, 50, NULL, NULL, NULL);
SELECT gid, mode & 1024 > 0 AS setgid FROM pgfs_ll_mkdir(:d, 'sub'::bytea, 493, 0, 0);
SELECT gid FROM pgfs_ll_create(:d, 'inherits'::bytea, 420, 0, 0);

-- xattrs by bytes
SELECT pgfs_ll_setxattr(:f, 'user.a'::bytea, '\x00ff'::bytea);
SELECT pgfs_ll_setxattr(:f, 'trusted.b'::bytea, ''::bytea, 1);
SELECT encode(pgfs_ll_getxattr(:f, 'user.a'::bytea), 'hex');
SELECT convert_from(n, 'UTF8') FROM pgfs_ll_listxattr(:f) n;
SELECT pg_temp.try(format($$SELECT pgfs_ll_getxattr(%s, 'user.none'::bytea)$$, :f));
SELECT pgfs_ll_getxattr(:f, 'user.none'::bytea, true) IS NULL AS absent, pgfs_ll_getxattr(:f, 'user.a'::bytea, true) IS NOT NULL AS present;
SELECT pgfs_ll_removexattr(:f, 'user.a'::bytea);

-- readdir resumes by cookie: a directory changing between calls neither
-- skips nor repeats the entries that stay
SELECT pgfs_ll_mkdir(1, 'rd'::bytea, 493, 0, 0) IS NOT NULL;
SELECT ino AS rd FROM pgfs_ll_lookup(1, 'rd'::bytea) \gset
SELECT count(*) FROM generate_series(1, 20) i, LATERAL pgfs_ll_create(:rd, ('e' || i)::bytea, 420, 0, 0);
CREATE TEMP TABLE seen (name text);
INSERT INTO seen SELECT convert_from(name, 'UTF8') FROM pgfs_ll_readdir(:rd, 0, 7);
SELECT max(cookie) AS c FROM pgfs_ll_readdir(:rd, 0, 7) \gset
-- meanwhile: remove a seen and an unseen entry, rename one, add new ones
SELECT pgfs_ll_unlink(:rd, 'e2'::bytea), pgfs_ll_unlink(:rd, 'e15'::bytea);
SELECT pgfs_ll_rename(:rd, 'e16'::bytea, :rd, 'renamed'::bytea);
SELECT count(*) FROM generate_series(21, 25) i, LATERAL pgfs_ll_create(:rd, ('e' || i)::bytea, 420, 0, 0);
INSERT INTO seen SELECT convert_from(name, 'UTF8') FROM pgfs_ll_readdir(:rd, :c, 1000);
-- every survivor exactly once
SELECT count(*) AS survivors_missing FROM generate_series(1, 20) i
 WHERE i NOT IN (2, 15, 16) AND NOT EXISTS (SELECT 1 FROM seen WHERE name = 'e' || i);
SELECT name, count(*) FROM seen GROUP BY name HAVING count(*) > 1;
SELECT count(*) FROM pgfs_ll_readdir(:rd, 0, 1000);
SELECT pg_temp.try(format($$SELECT * FROM pgfs_ll_readdir(%s, 0, -1)$$, :rd));

-- an unlinked file stays readable and writable while open
SELECT pgfs_ll_client_begin(42);
SELECT ino AS o FROM pgfs_ll_create(1, 'open'::bytea, 420, 0, 0, 42) \gset
SELECT pgfs_ll_write(:o, 0, 'still here'::bytea);
SELECT pgfs_ll_open(:o, 42);
SELECT pgfs_ll_unlink(1, 'open'::bytea);
SELECT nlink, size FROM pgfs_ll_getattr(:o);
SELECT convert_from(pgfs_ll_read(:o, 0, 100), 'UTF8');
SELECT pgfs_ll_write(:o, 10, '!'::bytea);
SELECT * FROM pgfs_fsck();
SELECT pgfs_ll_release(:o, 42);
SELECT nlink FROM pgfs_ll_getattr(:o);
SELECT pgfs_ll_release(:o, 42);
SELECT pg_temp.try(format('SELECT * FROM pgfs_ll_getattr(%s)', :o));
-- a file created open but linked stays after release
SELECT ino AS k FROM pgfs_ll_create(1, 'kept'::bytea, 420, 0, 0, 42) \gset
SELECT pgfs_ll_release(:k, 42);
SELECT nlink FROM pgfs_ll_getattr(:k);

-- handles of a client that is gone are reclaimed; a live client's are kept
SELECT ino AS g FROM pgfs_ll_create(1, 'ghost'::bytea, 420, 0, 0, 777) \gset
SELECT ino AS l FROM pgfs_ll_create(1, 'live'::bytea, 420, 0, 0, 42) \gset
SELECT pgfs_ll_unlink(1, 'ghost'::bytea), pgfs_ll_unlink(1, 'live'::bytea);
-- not while the mounts may still be reconnecting after the server started
SET pgfs.lock_grace = 3600;
SELECT pgfs_reclaim_orphans();
SELECT count(*) FROM pgfs.handle WHERE ino = :g;
SET pgfs.lock_grace = 0;
SELECT pgfs_reclaim_orphans();
SELECT pg_temp.try(format('SELECT * FROM pgfs_ll_getattr(%s)', :g));
SELECT nlink FROM pgfs_ll_getattr(:l);
SELECT pgfs_ll_release(:l, 42);
-- client ids whose lock key does not fit a signed integer work the same
SELECT pgfs_ll_client_begin(3000000000);
SELECT ino AS h FROM pgfs_ll_create(1, 'high'::bytea, 420, 0, 0, 3000000000) \gset
SELECT ino AS h2 FROM pgfs_ll_create(1, 'high2'::bytea, 420, 0, 0, -5000000000) \gset
SELECT pgfs_ll_unlink(1, 'high'::bytea), pgfs_ll_unlink(1, 'high2'::bytea);
SELECT pgfs_reclaim_orphans();
SELECT nlink FROM pgfs_ll_getattr(:h);
SELECT pg_temp.try(format('SELECT * FROM pgfs_ll_getattr(%s)', :h2));
-- after a server crash empties the handle table, a mount re-registers its handles
DELETE FROM pgfs.handle;
SELECT pgfs_ll_reopen(:h, 3000000000, 2);
SELECT pgfs_reclaim_orphans();
SELECT count FROM pgfs.handle WHERE ino = :h;
SELECT pgfs_ll_reopen(:h, 3000000000, 1);
SELECT pgfs_ll_release(:h, 3000000000);
SELECT pg_temp.try(format('SELECT pgfs_ll_reopen(%s, 3000000000, 1)', :h));
SELECT pg_advisory_unlock_all();

-- pgfs_ll_client_begin says whether the server knew the client already: not
-- at its first session, and not after a crash empties the unlogged table
SELECT client FROM pgfs.client ORDER BY client;
SELECT pgfs_ll_client_begin(77) AS known_first;
SELECT pgfs_ll_client_begin(77) AS known_again;
-- reclaiming forgets the clients that hold no session (42 and 3000000000)
SELECT pgfs_reclaim_orphans();
SELECT client FROM pgfs.client ORDER BY client;
DELETE FROM pgfs.client;	-- what crash recovery does
SELECT pgfs_ll_client_begin(77) AS known_after_crash;
SELECT pg_advisory_unlock_all();

-- durable => false: this transaction commits without waiting for its WAL flush;
-- pgfs_ll_fsync() flushes everything committed so far
BEGIN;
SELECT ino AS dw FROM pgfs_ll_create(1, 'deferred'::bytea, 420, 0, 0) \gset
SELECT pgfs_ll_write(:dw, 0, 'later'::bytea, false);
SHOW synchronous_commit;
COMMIT;
SHOW synchronous_commit;
SELECT pgfs_ll_write(:dw, 5, '!'::bytea, false);
SELECT pg_current_wal_insert_lsn() AS before \gset
SELECT pgfs_ll_fsync();
-- (an insert position at the start of a page is past the header, not yet written)
SELECT pg_current_wal_flush_lsn() >= :'before'::pg_lsn - 40 AS flushed;
SELECT pgfs_read('/deferred');
SELECT pgfs_unlink('/deferred');

-- a create may be deferred too (pgfs-fuse's, made durable by the file's close);
-- NULL is the default, a durable commit
BEGIN;
SELECT ino AS dc, ctime_ns AS dcborn
  FROM pgfs_ll_create(1, 'deferred-create'::bytea, 420, 0, 0, 42, false) \gset
SHOW synchronous_commit;
COMMIT;
BEGIN;
SELECT nlink FROM pgfs_ll_create(1, 'durable-create'::bytea, 420, 0, 0, NULL, NULL);
SHOW synchronous_commit;
ROLLBACK;
SELECT ctime_ns = :dcborn AS ctime_is_birth FROM pgfs_ll_getattr(:dc);
-- and so may a change of attributes (of a file open in pgfs-fuse, made
-- durable by its close); NULL is the default, a durable commit
BEGIN;
SELECT mode, mtime_ns FROM pgfs_ll_setattr(:dc, 384, NULL, NULL, NULL, NULL, 7000, false, false, false);
SHOW synchronous_commit;
COMMIT;
BEGIN;
SELECT mode FROM pgfs_ll_setattr(:dc, 420, NULL, NULL, NULL, NULL, NULL, false, false, NULL);
SHOW synchronous_commit;
ROLLBACK;
SELECT mode, mtime_ns FROM pgfs_ll_getattr(:dc);
-- and so may a name removed, moved or linked (made durable by the fsync of a
-- directory); absent is the default, a durable commit; a failed call defers
-- nothing and changes nothing
BEGIN;
SELECT (pgfs_ll_link(:dc, 1, 'dlink'::bytea, false)).nlink;
SHOW synchronous_commit;
COMMIT;
BEGIN;
SELECT pgfs_ll_rename(1, 'dlink'::bytea, 1, 'dlink2'::bytea, 0, false);
SHOW synchronous_commit;
COMMIT;
BEGIN;
SELECT pgfs_ll_rename(1, 'dlink2'::bytea, 1, 'dlink3'::bytea);
SHOW synchronous_commit;
ROLLBACK;
BEGIN;
SELECT pgfs_ll_unlink(1, 'dlink2'::bytea, false);
SHOW synchronous_commit;
COMMIT;
SELECT pgfs_mkdir('/ddir') > 1 AS made;
BEGIN;
SELECT pgfs_ll_rmdir(1, 'ddir'::bytea, false);
SHOW synchronous_commit;
COMMIT;
BEGIN;
SELECT pg_temp.try($$SELECT pgfs_ll_unlink(1, 'no-such'::bytea, false)$$);
SHOW synchronous_commit;
COMMIT;
SELECT pgfs_ll_unlink(1, 'no-such'::bytea, NULL) IS NULL AS strict;
SELECT nlink FROM pgfs_ll_getattr(:dc);
SELECT name FROM pgfs_readdir('/') WHERE name LIKE 'd%' ORDER BY name;
-- and so may a directory, symbolic link or node made
BEGIN;
SELECT mode FROM pgfs_ll_mkdir(1, 'dmk'::bytea, 493, 0, 0, false);
SHOW synchronous_commit;
ROLLBACK;
BEGIN;
SELECT mode FROM pgfs_ll_symlink(1, 'dsl'::bytea, 'x'::bytea, 0, 0, false);
SHOW synchronous_commit;
ROLLBACK;
BEGIN;
SELECT mode FROM pgfs_ll_mknod(1, 'dfifo'::bytea, 4516, 0, 0, 0, false);
SHOW synchronous_commit;
ROLLBACK;
BEGIN;
SELECT mode FROM pgfs_ll_mkdir(1, 'dmk'::bytea, 493, 0, 0);
SHOW synchronous_commit;
ROLLBACK;
-- such a create, when it starts a new batch of inode numbers (nextval logs
-- the sequence 32 ahead), flushes that WAL record at once: a crash that
-- loses the create does not give its number to another file
SELECT setval('pgfs.ino_seq', (SELECT last_value FROM pgfs.ino_seq)) > 0 AS reset;
BEGIN;
SELECT pg_current_wal_insert_lsn() AS l0 \gset
SELECT mode FROM pgfs_ll_mkdir(1, 'dseq'::bytea, 493, 0, 0, false);
SELECT pg_current_wal_flush_lsn() > :'l0'::pg_lsn AS sequence_flushed;
ROLLBACK;
-- a client that lost its connection registers again with the birth time its
-- create returned: accepted for that file, refused like a missing inode for
-- a file born at another time (the number reused after a crash lost the create)
SELECT pgfs_ll_reopen(:dc, 42, 2, :dcborn);
SELECT pg_temp.try(format('SELECT pgfs_ll_reopen(%s, 42, 1, %s)', :dc, :dcborn + 1));
SELECT count FROM pgfs.handle WHERE ino = :dc AND client = 42;
SELECT pg_temp.try(format('SELECT pgfs_ll_reopen(%s, 42, NULL)', :dc));
SELECT pgfs_ll_reopen(:dc, 42, 0, :dcborn);
SELECT count(*) FROM pgfs.handle WHERE ino = :dc;
SELECT pgfs_unlink('/deferred-create');

-- a create returns the directory's generation after it: one more than before
SELECT generation AS g0 FROM pgfs_ll_getattr(1) \gset
SELECT parent_generation - :g0 AS bumped FROM pgfs_ll_create(1, 'gen'::bytea, 420, 0, 0);
SELECT generation - :g0 AS now FROM pgfs_ll_getattr(1);
SELECT pgfs_unlink('/gen');
SELECT generation - :g0 AS after_unlink FROM pgfs_ll_getattr(1);

-- RENAME_WHITEOUT (4): the old name becomes a character device 0:0 with no
-- permissions, owned by the caller (overlayfs's whiteout); not with EXCHANGE
SELECT pgfs_mkdir('/wo') > 0 AS made, pgfs_mkdir('/wo2') > 0 AS made2;
SELECT pgfs_write('/wo/a', 'x'::bytea);
SELECT (pgfs_stat('/wo')).ino AS wo, (pgfs_stat('/wo2')).ino AS wo2 \gset
SELECT pgfs_ll_rename(:wo, 'a'::bytea, :wo, 'b'::bytea, 4, true, 1000, 100);
SELECT name, type FROM pgfs_readdir('/wo') ORDER BY name;
SELECT type, mode & 4095 AS perms, rdev, uid, gid, nlink, size FROM pgfs_lstat('/wo/a');
SELECT convert_from(pgfs_read('/wo/b'), 'UTF8') AS moved;
SELECT pgfs_write('/wo/c', 'y'::bytea);
SELECT pg_temp.try(format('SELECT pgfs_ll_rename(%s, %L::bytea, %s, %L::bytea, 5)', :wo, 'c', :wo, 'b')) AS noreplace;
SELECT pg_temp.try(format('SELECT pgfs_ll_rename(%s, %L::bytea, %s, %L::bytea, 6)', :wo, 'c', :wo, 'b')) AS with_exchange;
SELECT pgfs_ll_rename(:wo, 'c'::bytea, :wo, 'b'::bytea, 4);
SELECT convert_from(pgfs_read('/wo/b'), 'UTF8') AS replaced, (pgfs_lstat('/wo/c')).type AS c;
-- a directory, to another directory: the whiteout takes no link of the parent
SELECT pgfs_mkdir('/wo/d') > 0 AS made;
SELECT pgfs_ll_rename(:wo, 'd'::bytea, :wo2, 'd'::bytea, 4);
SELECT (pgfs_lstat('/wo/d')).type AS d, (pgfs_stat('/wo')).nlink AS wo_nlink, (pgfs_stat('/wo2')).nlink AS wo2_nlink;
SELECT pgfs_remove('/wo', true) > 0, pgfs_remove('/wo2', true) > 0;

-- a directory's access time: a listing from the start reads the directory,
-- and sets it as a read sets a file's (atime 1: relatime, 2: always, 0:
-- never); the generation stays
SELECT pgfs_mkdir('/at') > 0 AS made, pgfs_write('/at/f', 'x'::bytea) AS wrote;
SELECT (pgfs_stat('/at')).ino AS at \gset
SELECT pgfs_utimens('/at', '2020-01-01', NULL);
SELECT atime_ns AS a0, generation AS g0 FROM pgfs_ll_getattr(:at) \gset
SELECT count(*) FROM pgfs_ll_readdir(:at, 0, 10);
SELECT count(*) FROM pgfs_ll_readdir(:at, 0, 10, 0);
SELECT atime_ns = :a0 AS atime_0_leaves FROM pgfs_ll_getattr(:at);
-- not from the start: a listing resumed does not count again
SELECT count(*) FROM pgfs_ll_readdir(:at, (SELECT cookie FROM pgfs_ll_readdir(:at, 0, 1)), 10, 1);
SELECT atime_ns = :a0 AS resumed_leaves FROM pgfs_ll_getattr(:at);
-- not in a read-only transaction
BEGIN READ ONLY;
SELECT count(*) FROM pgfs_ll_readdir(:at, 0, 10, 1);
SELECT atime_ns = :a0 AS read_only_leaves FROM pgfs_ll_getattr(:at);
COMMIT;
SELECT count(*) FROM pgfs_ll_readdir(:at, 0, 10, 1);
SELECT atime_ns > mtime_ns AS relatime_sets, generation = :g0 AS generation_kept,
       ctime_ns < atime_ns AS ctime_kept FROM pgfs_ll_getattr(:at);
SELECT atime_ns AS a1 FROM pgfs_ll_getattr(:at) \gset
SELECT count(*) FROM pgfs_ll_readdir(:at, 0, 10, 1);
SELECT atime_ns = :a1 AS relatime_leaves_a_later_one FROM pgfs_ll_getattr(:at);
SELECT count(*) FROM pgfs_ll_readdir(:at, 0, 10, 2);
SELECT atime_ns > :a1 AS strict_sets FROM pgfs_ll_getattr(:at);
SELECT pg_temp.try(format('SELECT count(*) FROM pgfs_ll_readdir(%s, 0, 10, 3)', :at)) AS bad_rule;
SELECT pgfs_remove('/at', true) > 0 AS removed;

SELECT pgfs_remove('/ll', true) > 0, pgfs_remove('/rd', true) > 0, pgfs_remove('/kept');
SELECT * FROM pgfs_fsck();
SELECT count(*) FROM pgfs.inode;
