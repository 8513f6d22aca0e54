-- functions without a SET search_path clause pin it themselves (src/spi.c):
-- a caller's search_path never chooses the operators pgfs's statements use
CREATE SCHEMA sp_evil;
CREATE FUNCTION sp_evil.int8eq(bigint, bigint) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'caller''s operator ran'; END $$;
CREATE FUNCTION sp_evil.byteaeq(bytea, bytea) RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'caller''s operator ran'; END $$;
CREATE OPERATOR sp_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sp_evil.int8eq);
CREATE OPERATOR sp_evil.= (LEFTARG = bytea, RIGHTARG = bytea, FUNCTION = sp_evil.byteaeq);
SELECT pgfs_mkdir('/sp') > 1 AS made;
SELECT pgfs_symlink('/sp/f', '/sp/l');
-- a new session: every statement is prepared under the caller's search_path
\c
SET search_path = sp_evil, pg_catalog, public;
SELECT pgfs_write('/sp/f', 'one'::bytea), pgfs_write('/sp/f', 'two'::bytea, 3),
       pgfs_append('/sp/f', '!'::bytea);
SELECT convert_from(pgfs_read('/sp/f'), 'UTF8'), convert_from(pgfs_read('/sp/l', 3, 3), 'UTF8');
SELECT size, type FROM pgfs_stat('/sp/l');
SELECT type FROM pgfs_lstat('/sp/l');
SELECT pgfs_exists('/sp/l'), pgfs_exists('/sp/none');
-- the caller's setting is back after each call, and after an error
SHOW search_path;
DO $$
BEGIN
    PERFORM pgfs_read('/sp/none');
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END $$;
SHOW search_path;
-- plans made under the pin stay valid under the caller's path
SELECT pgfs_write('/sp/g', 'three'::bytea);
SELECT convert_from(pgfs_read('/sp/g'), 'UTF8');
-- the inode API's hot calls (the mount's) pin it the same way, each the
-- first of its kind in a new session
\c
SET search_path = sp_evil, pg_catalog, public;
SELECT ino AS dir FROM pgfs_stat('/sp') \gset
SELECT nlink, size FROM pgfs_ll_create(:dir, 'h'::bytea, 420, 0, 0);
SELECT ino AS h FROM pgfs_ll_lookup(:dir, 'h'::bytea) \gset
SELECT pgfs_ll_write(:h, 0, 'inode'::bytea), pgfs_ll_write(:h, 5, '!'::bytea, false);
SELECT convert_from(pgfs_ll_read(:h, 0, 100), 'UTF8');
SELECT size, nlink FROM pgfs_ll_getattr(:h);
SELECT size FROM pgfs_ll_setattr(:h, NULL, NULL, NULL, 3, NULL, NULL);
SELECT convert_from(name, 'UTF8') AS name, size FROM pgfs_ll_readdir(:dir, 0, 10) ORDER BY 1;
SELECT pgfs_ll_getxattr(:h, 'user.none'::bytea, true) IS NULL AS no_xattr;
SELECT ino IS NULL AS missing FROM pgfs_ll_lookup(:dir, 'none'::bytea, true);
SELECT size FROM pgfs_ll_lookup(:dir, 'l'::bytea);
DO $$
BEGIN
    PERFORM pgfs_ll_getattr(0);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'caught %', SQLSTATE;
END $$;
SHOW search_path;
RESET search_path;
SELECT pgfs_remove('/sp', true);
DROP SCHEMA sp_evil CASCADE;
