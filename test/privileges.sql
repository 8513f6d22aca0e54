-- test/privileges.sql: who may call what.  PUBLIC may call nothing;
-- pgfs_reader reads, pgfs_writer also writes, pgfs_admin also runs fsck;
-- nobody but the extension's functions touches the storage tables.
-- The roles are made inside the transaction and vanish with its rollback.
BEGIN;
SELECT plan(40);

CREATE ROLE pgfs_tap_nobody;
CREATE ROLE pgfs_tap_reader IN ROLE pgfs_reader;
CREATE ROLE pgfs_tap_writer IN ROLE pgfs_writer;
CREATE ROLE pgfs_tap_admin IN ROLE pgfs_admin;

-- the catalog: no EXECUTE for PUBLIC, and the grants the SQL script makes
CREATE TEMP VIEW pgfs_funcs AS
SELECT p.oid, p.proname, p.oid::regprocedure AS sig
  FROM pg_proc p
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
                  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pgfs';
GRANT SELECT ON pgfs_funcs TO PUBLIC;

SELECT is_empty($$SELECT sig FROM pgfs_funcs WHERE has_function_privilege('public', oid, 'EXECUTE')$$,
                'PUBLIC may execute no function of the extension');
SELECT is_empty($$SELECT sig FROM pgfs_funcs WHERE has_function_privilege('pgfs_tap_nobody', oid, 'EXECUTE')$$,
                'a role without pgfs roles may execute nothing');
SELECT set_eq($$SELECT proname::text FROM pgfs_funcs WHERE has_function_privilege('pgfs_reader', oid, 'EXECUTE')$$,
              ARRAY['pgfs_read', 'pgfs_readdir', 'pgfs_stat', 'pgfs_lstat', 'pgfs_exists', 'pgfs_readlink',
                    'pgfs_statfs', 'pgfs_getxattr', 'pgfs_listxattr', 'pgfs_errcodes', 'pgfs_store_id',
                    'pgfs_ll_lookup', 'pgfs_ll_getattr', 'pgfs_ll_read', 'pgfs_ll_readlink', 'pgfs_ll_readdir',
                    'pgfs_ll_statfs', 'pgfs_ll_getxattr', 'pgfs_ll_listxattr', 'pgfs_ll_seek'],
              'pgfs_reader may execute exactly the reading functions');
SELECT set_eq($$SELECT proname::text FROM pgfs_funcs WHERE has_function_privilege('pgfs_writer', oid, 'EXECUTE')$$,
              $$SELECT proname::text FROM pgfs_funcs WHERE proname NOT IN
                  ('pgfs_fsck', 'pgfs_policy_set', 'pgfs_policy_drop', 'pgfs_policies', 'merge_root')$$,
              'pgfs_writer may execute every function but fsck and the policy administration');
SELECT set_eq($$SELECT proname::text FROM pgfs_funcs WHERE has_function_privilege('pgfs_admin', oid, 'EXECUTE')$$,
              $$SELECT proname::text FROM pgfs_funcs WHERE proname <> 'merge_root'$$,
              'pgfs_admin may execute every function');
SELECT is_empty($$SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'pgfs'
                     AND (has_table_privilege('public', c.oid, 'SELECT')
                          OR has_table_privilege('pgfs_admin', c.oid, 'SELECT')
                          OR has_table_privilege('pgfs_admin', c.oid, 'INSERT'))
                     AND c.relkind IN ('r', 'S', 'v')$$,
                'no pgfs role has rights on the storage tables');
SELECT ok(NOT has_schema_privilege('pgfs_admin', 'pgfs', 'USAGE'), 'nor on schema pgfs');

-- make a tree as the superuser to read from
SELECT lives_ok($$SELECT pgfs_mkdir('/priv'), pgfs_write('/priv/f', 'secret'::bytea),
                         pgfs_symlink('f', '/priv/l'), pgfs_setxattr('/priv/f', 'user.k', 'v'::bytea)$$,
                'make a tree');

-- a role with no pgfs role
SET LOCAL ROLE pgfs_tap_nobody;
SELECT throws_ok($$SELECT pgfs_read('/priv/f')$$, '42501', NULL, 'without a pgfs role, read is denied');
SELECT throws_ok($$SELECT * FROM pgfs_errcodes()$$, '42501', NULL, 'even pgfs_errcodes()');
RESET ROLE;

-- pgfs_reader
SET LOCAL ROLE pgfs_tap_reader;
SELECT is(pgfs_read('/priv/f'), 'secret'::bytea, 'a reader reads');
SELECT is((SELECT array_agg(name ORDER BY name) FROM pgfs_readdir('/priv')), ARRAY['f', 'l'], 'a reader lists');
SELECT is((pgfs_stat('/priv/l')).size, 6::bigint, 'a reader stats');
SELECT ok(pgfs_exists('/priv/f') AND pgfs_readlink('/priv/l') = 'f', 'a reader checks names and links');
SELECT is(pgfs_getxattr('/priv/f', 'user.k'), 'v'::bytea, 'a reader reads extended attributes');
SELECT is((pgfs_ll_getattr((pgfs_stat('/priv/f')).ino)).size, 6::bigint, 'a reader uses the inode API to read');
SELECT throws_ok($$SELECT pgfs_write('/priv/f', 'x'::bytea)$$, '42501', NULL, 'a reader may not write');
SELECT throws_ok($$SELECT pgfs_mkdir('/priv/d')$$, '42501', NULL, 'a reader may not mkdir');
SELECT throws_ok($$SELECT pgfs_unlink('/priv/f')$$, '42501', NULL, 'a reader may not unlink');
SELECT throws_ok($$SELECT pgfs_setxattr('/priv/f', 'user.k', 'w'::bytea)$$, '42501', NULL,
                 'a reader may not set extended attributes');
SELECT throws_ok($$SELECT pgfs_ll_write((pgfs_stat('/priv/f')).ino, 0, 'x'::bytea)$$, '42501', NULL,
                 'a reader may not write through the inode API');
SELECT throws_ok($$SELECT pgfs_ll_writev((pgfs_stat('/priv/f')).ino, '{0}', '{1}', 'x'::bytea)$$, '42501', NULL,
                 'a reader may not write scattered pieces');
SELECT throws_ok($$SELECT pgfs_ll_copy_range((pgfs_stat('/priv/f')).ino, 0, (pgfs_stat('/priv/f')).ino, 100, 1)$$,
                 '42501', NULL, 'a reader may not copy ranges');
SELECT throws_ok($$SELECT pgfs_ll_fallocate((pgfs_stat('/priv/f')).ino, 3, 0, 1)$$, '42501', NULL,
                 'a reader may not punch holes');
SELECT is(pgfs_ll_seek((pgfs_stat('/priv/f')).ino, 0, 4), 6::bigint, 'a reader finds holes');
SELECT throws_ok($$SELECT * FROM pgfs.inode$$, '42501', NULL, 'a reader may not read pgfs.inode');
SELECT throws_ok($$SELECT * FROM pgfs.chunk$$, '42501', NULL, 'a reader may not read pgfs.chunk');
RESET ROLE;

-- pgfs_writer
SET LOCAL ROLE pgfs_tap_writer;
SELECT is(pgfs_write('/priv/f', 'changed'::bytea), 7::bigint, 'a writer writes');
SELECT lives_ok($$SELECT pgfs_mkdir('/priv/w'), pgfs_rename('/priv/l', '/priv/w/l'), pgfs_unlink('/priv/w/l'),
                         pgfs_rmdir('/priv/w')$$, 'a writer changes names');
SELECT is(pgfs_read('/priv/f'), 'changed'::bytea, 'a writer reads');
SELECT throws_ok($$SELECT * FROM pgfs_fsck()$$, '42501', NULL, 'a writer may not run fsck');
SELECT throws_ok($$SELECT * FROM pgfs.inode$$, '42501', NULL, 'a writer may not read pgfs.inode');
SELECT throws_ok($$DELETE FROM pgfs.chunk$$, '42501', NULL, 'a writer may not change pgfs.chunk');
SELECT throws_ok($$SELECT * FROM pgfs.dirent$$, '42501', NULL, 'a writer may not read pgfs.dirent');
RESET ROLE;

-- pgfs_admin
SET LOCAL ROLE pgfs_tap_admin;
SELECT is_empty('SELECT * FROM pgfs_fsck()', 'an admin runs fsck');
SELECT is(pgfs_remove('/priv', true), 2::bigint, 'an admin removes');
SELECT throws_ok($$SELECT * FROM pgfs.inode$$, '42501', NULL, 'an admin may not read pgfs.inode either');
RESET ROLE;

-- files made through the path API belong to pgfs.default_uid/gid, not to the SQL role
SELECT lives_ok($$SET LOCAL pgfs.default_uid = 1000; SET LOCAL pgfs.default_gid = 100;
                  SELECT pgfs_write('/owned', 'x'::bytea)$$, 'write with pgfs.default_uid/gid set');
SELECT is(((pgfs_stat('/owned')).uid, (pgfs_stat('/owned')).gid), (1000::bigint, 100::bigint),
          'the new file has that owner');

SELECT is_empty('SELECT * FROM pgfs_fsck()', 'fsck finds no problem');

SELECT * FROM finish();
ROLLBACK;
