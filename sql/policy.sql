-- per-role subtrees: a confined role sees and changes only its directory
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;
GRANT EXECUTE ON FUNCTION pg_temp.try(text) TO PUBLIC;
CREATE ROLE pgfs_test_alice IN ROLE pgfs_writer;
CREATE ROLE pgfs_test_bob IN ROLE pgfs_writer;
CREATE ROLE pgfs_test_carol IN ROLE pgfs_writer;

SELECT pgfs_mkdir('/home/alice', parents => true) > 1 AS made, pgfs_mkdir('/home/bob') > 1 AS made;
SELECT pgfs_write('/home/bob/secret', 'bob only'::bytea), pgfs_write('/top', 'top'::bytea);
SELECT pgfs_policy_set('pgfs_test_alice', '/home/alice');
SELECT pgfs_policy_set('pgfs_test_bob', '/home/bob', writable => false);
SELECT role_name, writable FROM pgfs_policies();
SELECT pg_temp.try($$SELECT pgfs_policy_set('no_such_role', '/home')$$);
SELECT pg_temp.try($$SELECT pgfs_policy_set('pgfs_test_carol', '/top')$$);

SET ROLE pgfs_test_alice;
-- inside: everything works
SELECT pgfs_write('/home/alice/notes', 'mine'::bytea), pgfs_mkdir('/home/alice/d') > 1 AS made;
SELECT pgfs_rename('/home/alice/notes', '/home/alice/d/notes');
SELECT convert_from(pgfs_read('/home/alice/d/notes'), 'UTF8'), (pgfs_stat('/home/alice/d/notes')).size;
SELECT name FROM pgfs_readdir('/home/alice');
-- on the way in: lookups and stat, nothing more
SELECT (pgfs_stat('/home')).type, (pgfs_stat('/')).type;
SELECT pg_temp.try($$SELECT * FROM pgfs_readdir('/home')$$);
SELECT pg_temp.try($$SELECT * FROM pgfs_readdir('/')$$);
-- outside: nothing
SELECT pg_temp.try($$SELECT pgfs_read('/home/bob/secret')$$);
SELECT pg_temp.try($$SELECT pgfs_stat('/home/bob/secret')$$);
SELECT pg_temp.try($$SELECT pgfs_stat('/top')$$);
SELECT pgfs_exists('/home/bob/secret') AS sees_secret, pgfs_exists('/home/alice/d') AS sees_own;
SELECT pg_temp.try($$SELECT pgfs_write('/home/bob/x', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_write('/x', 'x'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/home/alice/d', '/home/bob/d')$$);
SELECT pg_temp.try($$SELECT pgfs_rename('/home/alice', '/home/alice2')$$);
SELECT pg_temp.try($$SELECT pgfs_rmdir('/home/alice')$$);
SELECT pg_temp.try($$SELECT pgfs_link('/home/bob/secret', '/home/alice/stolen')$$);
SELECT pg_temp.try($$SELECT pgfs_copy('/home/bob/secret', '/home/alice/stolen')$$);
SELECT pg_temp.try($$SELECT pgfs_chmod('/top', 511)$$);
SELECT pg_temp.try($$SELECT pgfs_getxattr('/top', 'user.x')$$);
-- a symbolic link does not lead out
SELECT pgfs_symlink('/home/bob/secret', '/home/alice/escape');
SELECT pg_temp.try($$SELECT pgfs_read('/home/alice/escape')$$);
SELECT pgfs_readlink('/home/alice/escape');
-- the inode API obeys the same rules
SELECT ino AS home FROM pgfs_ll_lookup(1, 'home'::bytea) \gset
SELECT ino IS NOT NULL AS found FROM pgfs_ll_lookup(:home, 'alice'::bytea);
SELECT pg_temp.try(format($$SELECT * FROM pgfs_ll_lookup(%s, 'bob'::bytea)$$, :home));
SELECT pg_temp.try($$SELECT * FROM pgfs_ll_lookup(1, 'top'::bytea)$$);
SELECT pg_temp.try(format($$SELECT count(*) FROM pgfs_ll_readdir(%s, 0, 100)$$, :home));
SELECT pg_temp.try(format($$SELECT * FROM pgfs_ll_create(%s, 'x'::bytea, 420, 0, 0)$$, :home));
RESET ROLE;

SET ROLE pgfs_test_bob;
SELECT convert_from(pgfs_read('/home/bob/secret'), 'UTF8');
SELECT pg_temp.try($$SELECT pgfs_write('/home/bob/secret', 'changed'::bytea)$$);
SELECT pg_temp.try($$SELECT pgfs_unlink('/home/bob/secret')$$);
SELECT pg_temp.try($$SELECT pgfs_read('/home/alice/d/notes')$$);
RESET ROLE;

-- members of a confined role are confined; lifting the policy frees them
CREATE ROLE pgfs_test_dave IN ROLE pgfs_test_alice;
SET ROLE pgfs_test_dave;
SELECT pg_temp.try($$SELECT pgfs_read('/top')$$);
RESET ROLE;
SELECT pgfs_policy_drop('pgfs_test_alice'), pgfs_policy_drop('pgfs_test_alice');
SET ROLE pgfs_test_dave;
SELECT convert_from(pgfs_read('/top'), 'UTF8');
RESET ROLE;

SELECT pgfs_policy_drop('pgfs_test_bob');
SELECT pgfs_remove('/home', true), pgfs_unlink('/top');
DROP ROLE pgfs_test_dave;
DROP ROLE pgfs_test_alice;
DROP ROLE pgfs_test_bob;
DROP ROLE pgfs_test_carol;
SELECT * FROM pgfs_fsck();
