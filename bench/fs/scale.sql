-- bench/fs/scale.sql: server-side drivers of bench/scale.sh
--
-- Files are created through the inode API (pgfs_ll_create: one call per
-- file, no path walk), committing every `batch` files: a creation updates
-- its directory's inode row, and short transactions let HOT pruning reuse
-- those row versions as a transaction per file would.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS pgfs;

-- directory inodes by number: 0 .. n-1 are /spread/dN, -1 is /wide,
-- -2 the bottom of the deep chain
CREATE UNLOGGED TABLE scale_dir (
    d   int PRIMARY KEY,
    ino bigint NOT NULL
);

CREATE PROCEDURE scale_mkdirs(ndirs int, depth int)
LANGUAGE plpgsql AS $$
DECLARE
    p text := '/deep';
BEGIN
    PERFORM pgfs_mkdir('/spread');
    FOR d IN 0 .. ndirs - 1 LOOP
        INSERT INTO scale_dir VALUES (d, pgfs_mkdir('/spread/d' || d));
    END LOOP;
    INSERT INTO scale_dir VALUES (-1, pgfs_mkdir('/wide'));
    PERFORM pgfs_mkdir(p);
    FOR l IN 1 .. depth LOOP
        p := p || '/l' || l;
        PERFORM pgfs_mkdir(p);
    END LOOP;
    INSERT INTO scale_dir VALUES (-2, (pgfs_stat(p)).ino);
    PERFORM pgfs_mkdir('/papi');
END $$;

-- /spread: files lo .. hi-1 whose number is worker modulo nworkers, file n
-- in directory n % ndirs (a multiple of nworkers: workers share no directory)
CREATE PROCEDURE scale_create_spread(lo int, hi int, worker int, nworkers int, batch int)
LANGUAGE plpgsql AS $$
DECLARE
    dirs bigint[];
    ndirs int;
    n int := lo + ((worker - lo) % nworkers + nworkers) % nworkers;
    k int := 0;
BEGIN
    SELECT array_agg(ino ORDER BY d), count(*) INTO dirs, ndirs FROM scale_dir WHERE d >= 0;
    WHILE n < hi LOOP
        PERFORM pgfs_ll_create(dirs[1 + n % ndirs], convert_to('f' || n, 'UTF8'), 33188, 0, 0);
        n := n + nworkers;
        k := k + 1;
        IF k = batch THEN
            COMMIT;
            k := 0;
        END IF;
    END LOOP;
END $$;

-- files lo .. hi-1 in one directory (scale_dir d)
CREATE PROCEDURE scale_create_in(d int, lo int, hi int, batch int)
LANGUAGE plpgsql AS $$
DECLARE
    dir bigint := (SELECT ino FROM scale_dir s WHERE s.d = scale_create_in.d);
    k int := 0;
BEGIN
    FOR n IN lo .. hi - 1 LOOP
        PERFORM pgfs_ll_create(dir, convert_to('f' || n, 'UTF8'), 33188, 0, 0);
        k := k + 1;
        IF k = batch THEN
            COMMIT;
            k := 0;
        END IF;
    END LOOP;
END $$;

-- the path API: pgfs_write(path, '') creates an empty file
CREATE PROCEDURE scale_create_path(lo int, hi int, batch int)
LANGUAGE plpgsql AS $$
DECLARE
    k int := 0;
BEGIN
    FOR n IN lo .. hi - 1 LOOP
        PERFORM pgfs_write('/papi/f' || n, ''::bytea);
        k := k + 1;
        IF k = batch THEN
            COMMIT;
            k := 0;
        END IF;
    END LOOP;
END $$;
