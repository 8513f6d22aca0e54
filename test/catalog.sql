-- test/catalog.sql: the SQL API of pgfs--1.0.sql and its update scripts as declared: every function
-- exists with its return type, volatility, strictness, SECURITY DEFINER,
-- parallel label and comment; and no other pgfs_* function exists.
BEGIN;

CREATE TEMP TABLE api (
    fname    name,
    args     name[],
    rettype  text,
    vol      text,
    strict   boolean,
    definer  boolean
);
INSERT INTO api VALUES
    -- path API
    ('pgfs_write',        '{text,bytea}',                   'bigint',       'volatile',  true,  true),
    ('pgfs_write',        '{text,bytea,bigint}',            'bigint',       'volatile',  true,  true),
    ('pgfs_append',       '{text,bytea}',                   'bigint',       'volatile',  true,  true),
    ('pgfs_read',         '{text,bigint,bigint}',           'bytea',        'stable',    false, true),
    ('pgfs_readdir',      '{text,boolean}',                 'setof record', 'stable',    true,  true),
    ('pgfs_stat',         '{text}',                         'pgfs_stat_result',       'stable',    true,  true),
    ('pgfs_lstat',        '{text}',                         'pgfs_stat_result',       'stable',    true,  true),
    ('pgfs_exists',       '{text}',                         'boolean',      'stable',    true,  true),
    ('pgfs_mkdir',        '{text,integer,boolean}',         'bigint',       'volatile',  false, true),
    ('pgfs_rmdir',        '{text}',                         'void',         'volatile',  true,  true),
    ('pgfs_unlink',       '{text}',                         'void',         'volatile',  true,  true),
    ('pgfs_rename',       '{text,text,boolean,boolean}',    'void',         'volatile',  true,  true),
    ('pgfs_link',         '{text,text}',                    'void',         'volatile',  true,  true),
    ('pgfs_symlink',      '{text,text}',                    'void',         'volatile',  true,  true),
    ('pgfs_readlink',     '{text}',                         'text',         'stable',    true,  true),
    ('pgfs_truncate',     '{text,bigint}',                  'void',         'volatile',  true,  true),
    ('pgfs_chmod',        '{text,integer}',                 'void',         'volatile',  true,  true),
    ('pgfs_chown',        '{text,bigint,bigint}',           'void',         'volatile',  false, true),
    ('pgfs_utimens',      '{text,"timestamp with time zone","timestamp with time zone"}',
                                                            'void',         'volatile',  false, true),
    ('pgfs_mknod',        '{text,text,integer,integer,integer}', 'bigint',  'volatile',  false, true),
    ('pgfs_statfs',       '{}',                             'record',       'stable',    false, true),
    ('pgfs_setxattr',     '{text,text,bytea,integer}',      'void',         'volatile',  true,  true),
    ('pgfs_getxattr',     '{text,text}',                    'bytea',        'stable',    true,  true),
    ('pgfs_listxattr',    '{text}',                         'setof text',   'stable',    true,  true),
    ('pgfs_removexattr',  '{text,text}',                    'void',         'volatile',  true,  true),
    ('pgfs_remove',       '{text,boolean}',                 'bigint',       'volatile',  true,  true),
    ('pgfs_copy',         '{text,text,boolean}',            'bigint',       'volatile',  true,  true),
    ('pgfs_fsck',         '{}',                             'setof record', 'stable',    true,  true),
    ('pgfs_errcodes',     '{}',                             'setof record', 'immutable', true,  false),
    ('pgfs_store_id',     '{}',                             'text',         'stable',    true,  true),
    ('pgfs_reclaim_orphans', '{}',                          'bigint',       'volatile',  true,  true),
    ('pgfs_policy_set',   '{name,text,boolean}',            'void',         'volatile',  true,  true),
    ('pgfs_policy_drop',  '{name}',                         'boolean',      'volatile',  true,  true),
    ('pgfs_policies',     '{}',                             'setof record', 'stable',    true,  true),
    -- inode API
    ('pgfs_ll_lookup',    '{bigint,bytea,boolean}',         'pgfs_attr',       'stable',    true,  true),
    ('pgfs_ll_getattr',   '{bigint}',                       'pgfs_attr',       'stable',    true,  true),
    ('pgfs_ll_setattr',   '{bigint,integer,bigint,bigint,bigint,bigint,bigint,boolean,boolean,boolean}',
                                                            'pgfs_attr',    'volatile',  false, true),
    ('pgfs_ll_read',      '{bigint,bigint,integer}',        'bytea',        'stable',    true,  true),
    ('pgfs_ll_write',     '{bigint,bigint,bytea,boolean}',  'bigint',       'volatile',  true,  true),
    ('pgfs_ll_writev',    '{bigint,bigint[],integer[],bytea,boolean}', 'bigint', 'volatile', true, true),
    ('pgfs_ll_fsync',     '{}',                             'void',         'volatile',  true,  true),
    ('pgfs_ll_copy_range', '{bigint,bigint,bigint,bigint,bigint,boolean}', 'bigint', 'volatile', true, true),
    ('pgfs_ll_fallocate', '{bigint,integer,bigint,bigint,boolean}', 'bigint', 'volatile',  true,  true),
    ('pgfs_ll_seek',      '{bigint,bigint,integer}',        'bigint',       'stable',    true,  true),
    ('pgfs_ll_create',    '{bigint,bytea,integer,bigint,bigint,bigint,boolean,integer}', 'pgfs_created', 'volatile', false, true),
    ('pgfs_ll_mkdir',     '{bigint,bytea,integer,bigint,bigint,boolean,integer}', 'pgfs_attr', 'volatile', true, true),
    ('pgfs_ll_mknod',     '{bigint,bytea,integer,bigint,bigint,bigint,boolean,integer}', 'pgfs_attr', 'volatile', true, true),
    ('pgfs_ll_symlink',   '{bigint,bytea,bytea,bigint,bigint,boolean}', 'pgfs_attr', 'volatile', true, true),
    ('pgfs_ll_link',      '{bigint,bigint,bytea,boolean}',  'pgfs_attr',       'volatile',  true,  true),
    ('pgfs_ll_unlink',    '{bigint,bytea,boolean}',         'void',         'volatile',  true,  true),
    ('pgfs_ll_rmdir',     '{bigint,bytea,boolean}',         'void',         'volatile',  true,  true),
    ('pgfs_ll_rename',    '{bigint,bytea,bigint,bytea,integer,boolean,bigint,bigint}', 'void',    'volatile',  true,  true),
    ('pgfs_ll_readlink',  '{bigint}',                       'bytea',        'stable',    true,  true),
    ('pgfs_ll_readdir',   '{bigint,bigint,integer,integer}', 'setof record', 'volatile', true,  true),
    ('pgfs_ll_statfs',    '{}',                             'record',       'stable',    false, true),
    ('pgfs_ll_setxattr',  '{bigint,bytea,bytea,integer}',   'void',         'volatile',  true,  true),
    ('pgfs_ll_getxattr',  '{bigint,bytea,boolean}',         'bytea',        'stable',    true,  true),
    ('pgfs_ll_listxattr', '{bigint}',                       'setof bytea',  'stable',    true,  true),
    ('pgfs_ll_removexattr', '{bigint,bytea}',               'void',         'volatile',  true,  true),
    ('pgfs_ll_client_begin', '{bigint}',                    'boolean',      'volatile',  true,  true),
    ('pgfs_ll_open',      '{bigint,bigint}',                'void',         'volatile',  true,  true),
    ('pgfs_ll_reopen',    '{bigint,bigint,integer,bigint}', 'void',         'volatile',  false, true),
    ('pgfs_ll_release',   '{bigint,bigint}',                'void',         'volatile',  true,  true),
    ('pgfs_ll_open_read', '{bigint,bigint,integer,integer,bigint,integer}', 'record', 'volatile', true,  true),
    ('pgfs_ll_release_many', '{bigint[],bigint}',           'integer',      'volatile',  true,  true),
    -- file locks (1.3)
    ('pgfs_ll_setlk',     '{bigint,bigint,bigint,integer,boolean,integer,bigint,bigint}', 'bigint', 'volatile', true, true),
    ('pgfs_ll_getlk',     '{bigint,bigint,bigint,boolean,integer,bigint,bigint}', 'record', 'volatile', true, true),
    -- lock reclaims after a crash (1.4)
    ('pgfs_ll_reclaimlk', '{bigint,bigint,bigint,integer,boolean,integer,bigint,bigint}', 'boolean', 'volatile', true, true),
    ('pgfs_ll_locks_taken', '{bigint}',                      'boolean',      'volatile',  true,  true);

-- five assertions per function, and the whole-API checks below
SELECT plan((SELECT 5 * count(*)::integer + 10 FROM api));

SELECT has_function(fname, args, format('%s(%s) exists', fname, array_to_string(args, ', ')))
  FROM api ORDER BY fname, args::text;
SELECT function_returns(fname, args, rettype,
                        format('%s(%s) returns %s', fname, array_to_string(args, ', '), rettype))
  FROM api ORDER BY fname, args::text;
SELECT volatility_is(fname, args, vol,
                     format('%s(%s) is %s', fname, array_to_string(args, ', '), vol))
  FROM api ORDER BY fname, args::text;
SELECT CASE WHEN strict
            THEN is_strict(fname, args, format('%s(%s) is strict', fname, array_to_string(args, ', ')))
            ELSE isnt_strict(fname, args, format('%s(%s) is not strict', fname, array_to_string(args, ', ')))
       END
  FROM api ORDER BY fname, args::text;
SELECT CASE WHEN definer
            THEN is_definer(fname, args, format('%s(%s) is security definer', fname, array_to_string(args, ', ')))
            ELSE isnt_definer(fname, args, format('%s(%s) is not security definer', fname, array_to_string(args, ', ')))
       END
  FROM api ORDER BY fname, args::text;

-- the extension's functions (in any schema) are exactly the API above, plus pgfs.merge_root()
CREATE TEMP VIEW ext_funcs AS
SELECT p.oid, n.nspname, p.proname, p.proparallel, p.provolatile, p.proconfig,
       array_to_string(p.proargtypes::regtype[], ',') AS args
  FROM pg_proc p
  JOIN pg_namespace n ON n.oid = p.pronamespace
  JOIN pg_depend d ON d.objid = p.oid AND d.classid = 'pg_proc'::regclass
                  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'pgfs';

SELECT set_eq(
    $$SELECT proname::text, args FROM ext_funcs WHERE nspname <> 'pgfs'$$,
    $$SELECT fname::text, array_to_string(args::regtype[], ',') FROM api$$,
    'the extension defines exactly the documented pgfs_* functions');
SELECT set_eq(
    $$SELECT proname::text FROM ext_funcs WHERE nspname = 'pgfs'$$,
    ARRAY['merge_root'],
    'the only function in schema pgfs is the restore trigger merge_root()');

SELECT is_empty(
    $$SELECT proname FROM ext_funcs WHERE nspname <> 'pgfs' AND provolatile = 'v' AND proparallel <> 'u'$$,
    'every volatile function is PARALLEL UNSAFE');
SELECT is_empty(
    $$SELECT proname FROM ext_funcs WHERE nspname <> 'pgfs' AND provolatile <> 'v' AND proparallel <> 's'$$,
    'every stable and immutable function is PARALLEL SAFE');
SELECT is_empty(
    $$SELECT proname FROM ext_funcs
       WHERE nspname <> 'pgfs' AND obj_description(oid, 'pg_proc') IS NULL$$,
    'every function has a comment');
-- the hot path calls pin it in C instead (src/spi.c; sql/search_path.sql tests it)
CREATE TEMP VIEW hot_calls AS
SELECT unnest(ARRAY['pgfs_write', 'pgfs_append', 'pgfs_read', 'pgfs_stat', 'pgfs_lstat',
                    'pgfs_exists', 'pgfs_ll_lookup', 'pgfs_ll_getattr', 'pgfs_ll_read',
                    'pgfs_ll_readdir', 'pgfs_ll_getxattr', 'pgfs_ll_write', 'pgfs_ll_writev', 'pgfs_ll_create',
                    'pgfs_ll_setattr', 'pgfs_ll_open_read', 'pgfs_ll_release_many',
                    'pgfs_ll_setlk', 'pgfs_ll_getlk']::name[]) AS proname;
SELECT is_empty(
    $$SELECT f.proname FROM ext_funcs f JOIN pg_proc p USING (oid)
       WHERE p.prosecdef
         AND NOT coalesce(f.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
         AND f.proname NOT IN (SELECT proname FROM hot_calls)$$,
    'every other SECURITY DEFINER function pins search_path to pg_catalog, pg_temp');
SELECT is_empty(
    $$SELECT f.proname FROM ext_funcs f
       WHERE f.proname IN (SELECT proname FROM hot_calls) AND f.proconfig IS NOT NULL$$,
    'the hot path calls set nothing per call: their C code pins search_path');

-- the storage is there, out of PUBLIC's reach
SELECT tables_are('pgfs', ARRAY['inode', 'dirent', 'filemap', 'chunk', 'xattr', 'handle', 'client', 'meta', 'policy', 'lock', 'lock_kept', 'lock_taken', 'lock_epoch', 'lock_holder'],
    'schema pgfs holds the storage tables');
SELECT is(
    (SELECT array_agg(c.relname::text ORDER BY c.relname)
       FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
       JOIN pg_class c ON c.oid = cfg.oid
      WHERE e.extname = 'pgfs'),
    ARRAY['chunk', 'chunk_seq', 'cookie_seq', 'dirent', 'filemap', 'ino_seq', 'inode', 'policy', 'xattr'],
    'file data and its sequences are dumped by pg_dump (pg_extension_config_dump)');
SELECT ok(NOT has_schema_privilege('public', 'pgfs', 'USAGE'), 'PUBLIC has no USAGE on schema pgfs');

SELECT * FROM finish();
ROLLBACK;
