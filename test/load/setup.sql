-- test/load/setup.sql: the tree and helpers the pgbench scripts in test/load
-- use.  Run once, after CREATE EXTENSION pgfs, in the database the scripts
-- will run against, by a role that may call the pgfs functions and create
-- tables and functions:
--
--   psql -f test/load/setup.sql
--   pgbench -n -c 8 -T 30 --max-tries=20 -f test/load/files_write.sql@4 ...
--
-- Files under /load/f hold "records": a header line "R <seed> <n>" and n
-- bytes derived from the seed, so every file can be checked afterwards
-- without knowing who wrote it last (t/102_concurrency.pl does).

-- pgfs errors the load met, per backend so that clients do not contend
CREATE UNLOGGED TABLE load_errors (
    pid    integer NOT NULL,
    state  text    NOT NULL,
    n      bigint  NOT NULL,
    PRIMARY KEY (pid, state)
);

-- Run one pgfs call.  A pgfs error (class PF, e.g. PF002 ENOENT because
-- another client removed the file) is an answer, not a failure: it is
-- counted and swallowed.  Anything else is raised again: pgbench retries
-- 40001 and 40P01 (--max-tries) and reports every other error.
CREATE FUNCTION load_try(call text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE call;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE NOT LIKE 'PF%' THEN
        RAISE;
    END IF;
    INSERT INTO load_errors VALUES (pg_backend_pid(), SQLSTATE, 1)
        ON CONFLICT (pid, state) DO UPDATE SET n = load_errors.n + 1;
    RETURN SQLSTATE;
END $$;

-- A record: header line, then n bytes from the seed; md5 blocks (do not
-- compress) for even seeds, text (compresses) for odd ones.
CREATE FUNCTION load_record(seed bigint, n integer) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT convert_to(format('R %s %s', seed, n) || E'\n', 'UTF8')
        || CASE WHEN seed % 2 = 0 THEN
               (SELECT substr(string_agg(decode(md5(seed || '/' || i), 'hex'), ''::bytea ORDER BY i), 1, n)
                  FROM generate_series(0, n / 16) i)
           ELSE
               substr(convert_to(repeat(seed || ' ', n / (length(seed::text) + 1) + 1), 'UTF8'), 1, n)
           END
$$;

-- /load/f/d0 .. d7: the files
SELECT pgfs_mkdir('/load/f/d' || i, NULL, true) FROM generate_series(0, 7) i;

-- /load/t/d0 .. d11: directories that move into each other and back;
-- n = -1 is /load/t itself
CREATE TABLE load_dirs (n integer PRIMARY KEY, ino bigint NOT NULL UNIQUE);
INSERT INTO load_dirs SELECT -1, pgfs_mkdir('/load/t');
INSERT INTO load_dirs SELECT i, pgfs_mkdir('/load/t/d' || i) FROM generate_series(0, 11) i;

-- /load/cyc/a/x and /load/cyc/b/y: x into y and y into x at the same time
SELECT pgfs_mkdir('/load/cyc/a/x', NULL, true), pgfs_mkdir('/load/cyc/b/y', NULL, true);

-- Where directory dN is now: its parents walked up with pgfs_ll_lookup.
-- NULL when the walk does not reach /load/t (it reads several snapshots
-- while other clients move directories).
CREATE FUNCTION load_path(n integer) RETURNS text
LANGUAGE plpgsql STABLE AS $$
DECLARE
    cur  bigint;
    up   bigint;
    k    integer;
    path text;
BEGIN
    SELECT d.ino INTO cur FROM load_dirs d WHERE d.n = load_path.n;
    path := '/d' || n;
    FOR depth IN 1 .. 32 LOOP
        SELECT l.ino INTO up FROM pgfs_ll_lookup(cur, '..'::bytea) l;
        SELECT d.n INTO k FROM load_dirs d WHERE d.ino = up;
        IF k IS NULL THEN
            RETURN NULL;
        ELSIF k = -1 THEN
            RETURN '/load/t' || path;
        END IF;
        path := '/d' || k || path;
        cur := up;
    END LOOP;
    RETURN NULL;
END $$;

-- NULL when data is a sequence of intact records, else what is wrong
CREATE FUNCTION load_check(data bytea) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    off integer := 1;
    nl  integer;
    hdr text;
    m   text[];
    rec bytea;
BEGIN
    WHILE off <= length(data) LOOP
        nl := position('\x0a'::bytea IN substr(data, off, 40));
        hdr := encode(substr(data, off, greatest(nl - 1, 0)), 'escape');
        m := regexp_match(hdr, '^R (\d+) (\d+)$');
        IF nl = 0 OR m IS NULL THEN
            RETURN format('no record header at byte %s', off - 1);
        END IF;
        rec := load_record(m[1]::bigint, m[2]::integer);
        IF substr(data, off, length(rec)) <> rec THEN
            RETURN format('record "%s" at byte %s is damaged', hdr, off - 1);
        END IF;
        off := off + length(rec);
    END LOOP;
    RETURN NULL;
END $$;
