-- a seeded fuzzer over the SQL API: every call succeeds or raises a
-- documented SQLSTATE, and the store stays valid (fsck) throughout.
-- Longer runs: PGOPTIONS='-c pgfs_test.fuzz_ops=200000' make installcheck REGRESS=fuzz
SET client_min_messages = warning;
SELECT set_config('pgfs_test.fuzz_ops', coalesce(current_setting('pgfs_test.fuzz_ops', true), '3000'), false) IS NOT NULL AS configured;
CREATE TEMP TABLE fuzz_log (n int, call text, state text, msg text);
CREATE TEMP TABLE fuzz_stats (ok int, failed int, codes int);

DO $fuzz$
DECLARE
    names text[] := ARRAY['a', 'b', 'c', 'dir', 'x y', 'é', repeat('n', 255), repeat('m', 256),
                          '.', '..', '', 'a/b', 'a//b', 'a/', '/'];
    nums bigint[] := ARRAY[-9223372036854775808, -1, 0, 1, 7, 4095, 4096, 65535, 65536, 65537,
                           131072, 2147483647, 2147483648, 1125899906842623, 1125899906842624,
                           9223372036854775807];
    funcs text[] := ARRAY['write', 'write_at', 'append', 'read', 'readdir', 'stat', 'lstat', 'exists',
                          'mkdir', 'mkdir_p', 'rmdir', 'unlink', 'rename', 'rename_nr', 'rename_x',
                          'link', 'symlink', 'readlink', 'truncate', 'chmod', 'chown', 'utimens',
                          'mknod', 'setxattr', 'getxattr', 'listxattr', 'removexattr', 'remove',
                          'remove_r', 'copy', 'copy_r', 'll_write', 'll_read', 'll_setattr',
                          'll_rename', 'll_lookup', 'll_readdir'];
    documented text[];
    i int;
    f text;
    p1 text;
    p2 text;
    n1 bigint;
    n2 bigint;
    sql text;
    st text;
    m text;
    bad int := 0;
    ok int := 0;

    -- a random path: one to four components, sometimes broken
    rp text;
BEGIN
    SELECT array_agg(sqlstate) INTO documented FROM pgfs_errcodes();
    PERFORM setseed(0.4242);
    FOR i IN 1 .. current_setting('pgfs_test.fuzz_ops', true)::int LOOP
        p1 := '';
        FOR k IN 1 .. 1 + floor(random() ^ 2 * 3)::int LOOP
            p1 := p1 || '/' || CASE WHEN random() < 0.8 THEN names[1 + floor(random() * 5)::int]
                                    ELSE names[1 + floor(random() * array_length(names, 1))::int] END;
        END LOOP;
        IF random() < 0.05 THEN p1 := ltrim(p1, '/'); END IF;
        IF random() < 0.03 THEN p1 := NULL; END IF;
        p2 := '';
        FOR k IN 1 .. 1 + floor(random() ^ 2 * 3)::int LOOP
            p2 := p2 || '/' || names[1 + floor(random() * 5)::int];
        END LOOP;
        n1 := CASE WHEN random() < 0.7 THEN floor(random() * 200000)::bigint
                   ELSE nums[1 + floor(random() * array_length(nums, 1))::int] END;
        n2 := CASE WHEN random() < 0.7 THEN floor(random() * 70000)::bigint
                   ELSE nums[1 + floor(random() * array_length(nums, 1))::int] END;
        f := funcs[1 + floor(random() * array_length(funcs, 1))::int];
        sql := CASE f
            WHEN 'write' THEN format('SELECT pgfs_write(%L, decode(repeat(%L, %s), ''hex''))', p1, lpad(to_hex(i % 256), 2, '0'), ((n2 % 70000) + 70000) % 70000)
            WHEN 'write_at' THEN format('SELECT pgfs_write(%L, ''\x616263''::bytea, %s)', p1, n1)
            WHEN 'append' THEN format('SELECT pgfs_append(%L, ''\x00ff''::bytea)', p1)
            WHEN 'read' THEN format('SELECT length(pgfs_read(%L, %s, %s))', p1, n1, n2)
            WHEN 'readdir' THEN format('SELECT count(*) FROM pgfs_readdir(%L, %L)', p1, random() < 0.5)
            WHEN 'stat' THEN format('SELECT pgfs_stat(%L)', p1)
            WHEN 'lstat' THEN format('SELECT pgfs_lstat(%L)', p1)
            WHEN 'exists' THEN format('SELECT pgfs_exists(%L)', p1)
            WHEN 'mkdir' THEN format('SELECT pgfs_mkdir(%L, %s)', p1, CASE WHEN random() < 0.8 THEN '493' ELSE (n2 % 2147483648)::text END)
            WHEN 'mkdir_p' THEN format('SELECT pgfs_mkdir(%L, NULL, true)', p1)
            WHEN 'rmdir' THEN format('SELECT pgfs_rmdir(%L)', p1)
            WHEN 'unlink' THEN format('SELECT pgfs_unlink(%L)', p1)
            WHEN 'rename' THEN format('SELECT pgfs_rename(%L, %L)', p1, p2)
            WHEN 'rename_nr' THEN format('SELECT pgfs_rename(%L, %L, true)', p1, p2)
            WHEN 'rename_x' THEN format('SELECT pgfs_rename(%L, %L, false, true)', p1, p2)
            WHEN 'link' THEN format('SELECT pgfs_link(%L, %L)', p1, p2)
            WHEN 'symlink' THEN format('SELECT pgfs_symlink(%L, %L)', CASE WHEN random() < 0.5 THEN p2 ELSE substr(p2, 2) END, p1)
            WHEN 'readlink' THEN format('SELECT pgfs_readlink(%L)', p1)
            WHEN 'truncate' THEN format('SELECT pgfs_truncate(%L, %s)', p1, n1)
            WHEN 'chmod' THEN format('SELECT pgfs_chmod(%L, %s)', p1, CASE WHEN random() < 0.8 THEN n2 % 4096 ELSE (n2 % 2147483648) END)
            WHEN 'chown' THEN format('SELECT pgfs_chown(%L, %s, %s)', p1, CASE WHEN random() < 0.3 THEN 'NULL' ELSE n2::text END, n2 % 70000)
            WHEN 'utimens' THEN format('SELECT pgfs_utimens(%L, %L, %L)', p1, CASE WHEN random() < 0.1 THEN 'infinity' ELSE '2001-01-01' END, NULL)
            WHEN 'mknod' THEN format('SELECT pgfs_mknod(%L, %L, 420, %s, %s)', p1, (ARRAY['file','fifo','socket','char','block','bogus'])[1 + floor(random() * 6)::int], n2 % 5000, n1 % 2000000)
            WHEN 'setxattr' THEN format('SELECT pgfs_setxattr(%L, %L, ''\x01''::bytea, %s)', p1, 'user.' || names[1 + floor(random() * 8)::int], floor(random() * 5)::int)
            WHEN 'getxattr' THEN format('SELECT pgfs_getxattr(%L, %L)', p1, 'user.' || names[1 + floor(random() * 5)::int])
            WHEN 'listxattr' THEN format('SELECT count(*) FROM pgfs_listxattr(%L)', p1)
            WHEN 'removexattr' THEN format('SELECT pgfs_removexattr(%L, %L)', p1, 'user.' || names[1 + floor(random() * 5)::int])
            WHEN 'remove' THEN format('SELECT pgfs_remove(%L)', p1)
            WHEN 'remove_r' THEN format('SELECT pgfs_remove(%L, true)', p1)
            WHEN 'copy' THEN format('SELECT pgfs_copy(%L, %L)', p1, p2)
            WHEN 'copy_r' THEN format('SELECT pgfs_copy(%L, %L, true)', p1, p2)
            WHEN 'll_write' THEN format('SELECT pgfs_ll_write(%s, %s, ''\x7a''::bytea)', 1 + ((n2 % 40) + 40) % 40, n1)
            WHEN 'll_read' THEN format('SELECT pgfs_ll_read(%s, %s, %s)', 1 + ((n2 % 40) + 40) % 40, n1, n2 % 2147483648)
            WHEN 'll_setattr' THEN format('SELECT pgfs_ll_setattr(%s, %s, NULL, NULL, %s, NULL, %s)', 1 + ((n2 % 40) + 40) % 40, n2 % 8192, CASE WHEN random() < 0.5 THEN 'NULL' ELSE n1::text END, n1)
            WHEN 'll_rename' THEN format('SELECT pgfs_ll_rename(%s, %L::bytea, %s, %L::bytea, %s)', 1 + ((n1 % 40) + 40) % 40, names[1 + floor(random() * 5)::int], 1 + ((n2 % 40) + 40) % 40, names[1 + floor(random() * 5)::int], floor(random() * 4)::int)
            WHEN 'll_lookup' THEN format('SELECT pgfs_ll_lookup(%s, %L::bytea)', 1 + ((n2 % 40) + 40) % 40, names[1 + floor(random() * array_length(names, 1))::int])
            WHEN 'll_readdir' THEN format('SELECT count(*) FROM pgfs_ll_readdir(%s, %s, %s)', 1 + ((n2 % 40) + 40) % 40, n1, n2 % 100)
        END;
        BEGIN
            EXECUTE sql;
            ok := ok + 1;
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, m = MESSAGE_TEXT;
            INSERT INTO fuzz_log VALUES (i, sql, st, m);
        END;
        IF i % 500 = 0 AND EXISTS (SELECT FROM pgfs_fsck()) THEN
            RAISE WARNING 'fsck not clean after call % (%)', i, sql;
            bad := bad + 1;
        END IF;
    END LOOP;
    INSERT INTO fuzz_stats SELECT ok, count(*), count(DISTINCT state) FROM fuzz_log;
    DELETE FROM fuzz_log WHERE state = ANY (documented);
    INSERT INTO fuzz_log SELECT 0, 'periodic fsck', 'fsck', bad || ' failures' WHERE bad > 0;
END $fuzz$;

-- both outcomes were exercised, and many different errors
SELECT ok * 5 > ok + failed AS a_fifth_succeeded, failed * 5 > ok + failed AS a_fifth_failed, codes >= 8 AS many_codes FROM fuzz_stats;
-- undocumented SQLSTATEs (none expected)
SELECT state, msg, call FROM fuzz_log ORDER BY n LIMIT 20;
SELECT * FROM pgfs_fsck();
SELECT count(*) > 0 AS fuzzed_something FROM pgfs_readdir('/');
SELECT sum(pgfs_remove('/' || name, true)) > 0 AS cleaned FROM pgfs_readdir('/');
SELECT * FROM pgfs_fsck();
