-- POSIX ACLs: system.posix_acl_access / _default kept in step with the mode,
-- as Linux keeps them (src/acl.c)
CREATE FUNCTION pg_temp.try(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN EXECUTE sql; RETURN 'ok';
EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(inode|directory) [0-9]+', '\1 N', 'g'); END $$;

-- n bytes of v, little-endian
CREATE FUNCTION pg_temp.le(v bigint, n int) RETURNS bytea LANGUAGE sql AS $$
    SELECT string_agg(set_byte('\x00'::bytea, 0, ((v >> (8 * i)) & 255)::int), ''::bytea ORDER BY i)
      FROM generate_series(0, n - 1) i $$;
-- an ACL in the kernel's format from entries 'u::rw-', 'u:1000:r--', 'g::r--',
-- 'g:100:rwx', 'm::rw-', 'o::---'
CREATE FUNCTION pg_temp.acl(VARIADIC e text[]) RETURNS bytea LANGUAGE sql AS $$
    SELECT '\x02000000'::bytea || coalesce(string_agg(
        pg_temp.le(CASE split_part(x, ':', 1)
                     WHEN 'u' THEN CASE WHEN split_part(x, ':', 2) = '' THEN 1 ELSE 2 END
                     WHEN 'g' THEN CASE WHEN split_part(x, ':', 2) = '' THEN 4 ELSE 8 END
                     WHEN 'm' THEN 16 WHEN 'o' THEN 32 END, 2)
        || pg_temp.le((CASE WHEN substr(split_part(x, ':', 3), 1, 1) = 'r' THEN 4 ELSE 0 END)
                    + (CASE WHEN substr(split_part(x, ':', 3), 2, 1) = 'w' THEN 2 ELSE 0 END)
                    + (CASE WHEN substr(split_part(x, ':', 3), 3, 1) = 'x' THEN 1 ELSE 0 END), 2)
        || pg_temp.le(coalesce(nullif(split_part(x, ':', 2), '')::bigint, 4294967295), 4),
        ''::bytea ORDER BY o), ''::bytea)
      FROM unnest(e) WITH ORDINALITY AS t(x, o) $$;
-- and back
CREATE FUNCTION pg_temp.acl_text(b bytea) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(
        CASE tag WHEN 1 THEN 'u:' WHEN 2 THEN 'u:' || id WHEN 4 THEN 'g:' WHEN 8 THEN 'g:' || id
                 WHEN 16 THEN 'm:' WHEN 32 THEN 'o:' ELSE '?' || tag || ':' END
        || ':' || CASE WHEN perm & 4 > 0 THEN 'r' ELSE '-' END
               || CASE WHEN perm & 2 > 0 THEN 'w' ELSE '-' END
               || CASE WHEN perm & 1 > 0 THEN 'x' ELSE '-' END, ',' ORDER BY i)
      FROM (SELECT i, get_byte(b, 4 + 8 * i) + 256 * get_byte(b, 5 + 8 * i) AS tag,
                   get_byte(b, 6 + 8 * i) AS perm,
                   get_byte(b, 8 + 8 * i) + 256 * get_byte(b, 9 + 8 * i)
                     + 65536 * get_byte(b, 10 + 8 * i) AS id
              FROM generate_series(0, (length(b) - 4) / 8 - 1) i) e $$;
CREATE FUNCTION pg_temp.octal(m int) RETURNS text LANGUAGE sql AS $$
    SELECT string_agg(((m >> (3 * i)) & 7)::text, '' ORDER BY i DESC) FROM generate_series(0, 3) i $$;
CREATE FUNCTION pg_temp.perms(path text) RETURNS text LANGUAGE sql AS $$
    SELECT pg_temp.octal(mode & 4095) || ' ' || coalesce(pg_temp.acl_text(pgfs_ll_getxattr(ino, 'system.posix_acl_access', true)), '-')
           || ' / ' || coalesce(pg_temp.acl_text(pgfs_ll_getxattr(ino, 'system.posix_acl_default', true)), '-')
           || ' (' || (SELECT count(*) FROM pgfs_ll_listxattr(ino)) || ' xattrs)'
      FROM pgfs_lstat(path) $$;

SELECT pgfs_mkdir('/acl') > 1 AS made;
SELECT pgfs_write('/acl/f', 'abc'::bytea);
SELECT pgfs_chmod('/acl/f', 420);  -- 0644
SELECT pg_temp.perms('/acl/f');

-- an access ACL sets the mode: group bits from the mask
SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access',
                     pg_temp.acl('u::rw-', 'u:1000:r--', 'g::r--', 'm::rw-', 'o::r--'));
SELECT pg_temp.perms('/acl/f');
-- chmod sets the owner, mask and other entries; named entries stay
SELECT pgfs_chmod('/acl/f', 384);  -- 0600
SELECT pg_temp.perms('/acl/f');
SELECT pgfs_chmod('/acl/f', 1021);  -- 01775
SELECT pg_temp.perms('/acl/f');
-- an ACL a mode can say is kept as the mode only
SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('u::rwx', 'g::r-x', 'o::---'));
SELECT pg_temp.perms('/acl/f');
-- a mask alone is more than a mode can say
SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('u::rw-', 'g::rw-', 'm::r--', 'o::---'));
SELECT pg_temp.perms('/acl/f');
-- removing the ACL leaves the mode; an ACL of no entries removes it too
SELECT pgfs_removexattr('/acl/f', 'system.posix_acl_access');
SELECT pg_temp.perms('/acl/f');
SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('u::rw-', 'u:7:rwx', 'g::---', 'm::rwx', 'o::---'));
SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl(VARIADIC '{}'));
SELECT pg_temp.perms('/acl/f');

-- invalid ACLs are EINVAL and change nothing
SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('u::rw-', 'u:7:r--', 'g::r--', 'm::r--', 'o::---'));
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', '\x01000000'::bytea)$$) AS version;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', '\x0200000001'::bytea)$$) AS length;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('u::rw-', 'g::r--'))$$) AS no_other;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('u::rw-', 'u:7:r--', 'g::r--', 'o::---'))$$) AS no_mask;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('g::r--', 'u::rw-', 'o::---'))$$) AS order;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access', pg_temp.acl('u::rw-', 'u::rw-', 'g::r--', 'o::---'))$$) AS two_owners;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access',
                      pg_temp.acl('u::rw-', 'g::r--', 'o::---') || '\x200000000000ffff'::bytea)$$) AS two_others;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access',
                      set_byte(pg_temp.acl('u::rw-', 'g::r--', 'o::---'), 6, 8))$$) AS bad_perm;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_access',
                      set_byte(pg_temp.acl('u::rw-', 'g::r--', 'o::---'), 4, 64))$$) AS bad_tag;
SELECT pg_temp.perms('/acl/f');

-- only directories have a default ACL; removing one from a file is no error
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_default', pg_temp.acl('u::rwx', 'g::r-x', 'o::---'))$$) AS default_on_file;
SELECT pg_temp.try($$SELECT pgfs_setxattr('/acl/f', 'system.posix_acl_default', pg_temp.acl(VARIADIC '{}'))$$) AS empty_default_on_file;
-- symbolic links have none
SELECT pgfs_symlink('f', '/acl/l');
SELECT pg_temp.try($$SELECT pgfs_ll_setxattr((pgfs_lstat('/acl/l')).ino, 'system.posix_acl_access',
                      pg_temp.acl('u::rwx', 'g::r-x', 'o::---'))$$) AS on_symlink;
-- the set-group-ID flag: only with an access ACL
SELECT pgfs_chmod('/acl/f', 1517);  -- 02755
SELECT pgfs_ll_setxattr((pgfs_stat('/acl/f')).ino, 'system.posix_acl_access',
                        pg_temp.acl('u::rwx', 'g::r-x', 'o::r-x'), 4);
SELECT pg_temp.perms('/acl/f');
SELECT pg_temp.try($$SELECT pgfs_ll_setxattr((pgfs_stat('/acl/f')).ino, 'user.x', 'v'::bytea, 4)$$) AS flag_elsewhere;

-- a default ACL is inherited, narrowed by the mode asked for, with no umask
SELECT pgfs_mkdir('/acl/d', 493) > 0;
SELECT pgfs_setxattr('/acl/d', 'system.posix_acl_default',
                     pg_temp.acl('u::rwx', 'u:1000:rwx', 'g::r-x', 'g:100:-w-', 'm::rwx', 'o::r-x'));
SELECT pg_temp.perms('/acl/d');
SELECT pgfs_write('/acl/d/file', 'x'::bytea);        -- pgfs.default_file_mode 0644
SELECT pg_temp.perms('/acl/d/file');
SELECT pgfs_mkdir('/acl/d/sub', 448) > 0;            -- 0700
SELECT pg_temp.perms('/acl/d/sub');
SELECT pgfs_mkdir('/acl/d/sub/deeper') > 0;
SELECT pg_temp.perms('/acl/d/sub/deeper');
SELECT pgfs_mknod('/acl/d/fifo', 'fifo', 438) > 0;  -- 0666
SELECT pg_temp.perms('/acl/d/fifo');
SELECT pgfs_symlink('file', '/acl/d/link');
SELECT pg_temp.perms('/acl/d/link');
-- through the inode API, whose umask applies only without a default ACL
SELECT (pgfs_stat('/acl/d')).ino AS d, (pgfs_stat('/acl')).ino AS top \gset
SELECT pg_temp.octal(mode & 4095) FROM pgfs_ll_create(:d, 'c'::bytea, 438, 0, 0, NULL, true, 18);
SELECT pg_temp.perms('/acl/d/c');
SELECT pg_temp.octal(mode & 4095) FROM pgfs_ll_create(:top, 'c'::bytea, 438, 0, 0, NULL, true, 18);
SELECT pg_temp.perms('/acl/c');
SELECT pg_temp.octal(mode & 4095) FROM pgfs_ll_mkdir(:top, 'm'::bytea, 511, 0, 0, true, 63);
SELECT pg_temp.octal(mode & 4095) FROM pgfs_ll_mknod(:top, 'n'::bytea, 4534, 0, 0, 0, true, 7);  -- S_IFIFO|0666
SELECT pg_temp.try(format('SELECT pgfs_ll_mkdir(%s, %L::bytea, 511, 0, 0, true, 512)', :top, 'bad')) AS bad_umask;
-- a default ACL a mode can say still narrows, and leaves no access ACL
SELECT pgfs_mkdir('/acl/e', 493) > 0;
SELECT pgfs_setxattr('/acl/e', 'system.posix_acl_default', pg_temp.acl('u::rwx', 'g::---', 'o::---'));
SELECT pgfs_write('/acl/e/file', 'x'::bytea);
SELECT pg_temp.perms('/acl/e/file');
-- a failed create inherits nothing
SELECT pg_temp.try($$SELECT pgfs_mkdir('/acl/d/sub')$$) AS exists;
SELECT count(*) FROM pgfs.xattr WHERE convert_from(name, 'UTF8') LIKE 'system.posix_acl%';

-- pgfs_fsck() checks that the mode agrees with the access ACL, and where ACLs are
SELECT * FROM pgfs_fsck();
UPDATE pgfs.inode SET mode = mode # 8 WHERE ino = (pgfs_stat('/acl/d/file')).ino;
SELECT problem, detail FROM pgfs_fsck();
UPDATE pgfs.inode SET mode = mode # 8 WHERE ino = (pgfs_stat('/acl/d/file')).ino;
UPDATE pgfs.xattr SET name = 'system.posix_acl_default' WHERE ino = (pgfs_stat('/acl/d/file')).ino;
SELECT problem, detail FROM pgfs_fsck();
UPDATE pgfs.xattr SET name = 'system.posix_acl_access' WHERE ino = (pgfs_stat('/acl/d/file')).ino;
SELECT count(*) FROM pgfs_fsck();

SELECT pgfs_remove('/acl', true) > 0;
SELECT * FROM pgfs_fsck();
SELECT count(*) FROM pgfs.xattr;
