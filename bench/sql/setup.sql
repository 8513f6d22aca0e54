-- bench/sql/setup.sql: tables and server-side drivers for bench/sql_bench.sh
--
-- Everything that is timed runs inside the server (plpgsql procedures and
-- functions below, or pgbench for one-transaction-per-file workloads), so the
-- three stores compared -- pgfs, a plain bytea table chunked like pgfs, and
-- large objects -- pay the same client costs: none for the big-file
-- workloads, one round trip per file for the small ones.  Source data is
-- generated first into unlogged tables; only the store's own work is timed.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS pgfs;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- one row per figure: key names the workload, method the store
CREATE TABLE bench_measure (
    key     text NOT NULL,
    method  text NOT NULL,
    value   float8,
    PRIMARY KEY (key, method)
);

-- the bytea reference: a plain table with pgfs's 64 KiB chunking and the
-- column defaults (STORAGE EXTENDED, pglz)
CREATE TABLE bench_bytea (
    file_id int,
    chunkno int,
    data    bytea,
    PRIMARY KEY (file_id, chunkno)
);

-- the same shape for the lookup-at-scale workload
CREATE TABLE bench_scale (
    file_id int,
    chunkno int,
    data    bytea,
    PRIMARY KEY (file_id, chunkno)
);

-- Source pieces (16 MiB) of the big file and payloads of the small files.
-- Unlogged and uncompressed, so that fetching one costs little, the same for
-- every store, and is kept out of the timings anyway.
CREATE UNLOGGED TABLE bench_src (
    kind    text,
    pieceno int,
    data    bytea,
    md5     text,
    PRIMARY KEY (kind, pieceno)
);
ALTER TABLE bench_src ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE UNLOGGED TABLE bench_small_src (
    kind    text,
    size    int,
    k       int,
    data    bytea,
    PRIMARY KEY (kind, size, k)
);
ALTER TABLE bench_small_src ALTER COLUMN data SET STORAGE EXTERNAL;

-- directory inodes of the scale workload, by directory number
CREATE UNLOGGED TABLE bench_scale_dir (
    d   int PRIMARY KEY,
    ino bigint NOT NULL
);

CREATE FUNCTION bench_put(k text, m text, v float8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench_measure VALUES (k, m, v)
    ON CONFLICT (key, method) DO UPDATE SET value = EXCLUDED.value
$$;

-- keep the best of several rounds
CREATE FUNCTION bench_put_max(k text, m text, v float8) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench_measure VALUES (k, m, v)
    ON CONFLICT (key, method) DO UPDATE SET value = GREATEST(bench_measure.value, EXCLUDED.value)
$$;

-- the big file's identity in each store
CREATE FUNCTION bench_big_fid(kind text, method text) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE kind WHEN 'random' THEN 0 ELSE 2 END
         + CASE method WHEN 'copy' THEN 2 ELSE 1 END
$$;
CREATE FUNCTION bench_big_loid(kind text) RETURNS oid
LANGUAGE sql IMMUTABLE AS $$
    SELECT (CASE kind WHEN 'random' THEN 9000001 ELSE 9000002 END)::oid
$$;

-- bytes the store occupies (tables, TOAST, indexes, free space and
-- visibility maps)
CREATE FUNCTION bench_disk(method text) RETURNS bigint
LANGUAGE sql AS $$
    SELECT CASE method
        WHEN 'pgfs' THEN pg_total_relation_size('pgfs.chunk')
                       + pg_total_relation_size('pgfs.filemap')
                       + pg_total_relation_size('pgfs.inode')
                       + pg_total_relation_size('pgfs.dirent')
        WHEN 'lo' THEN pg_total_relation_size('pg_catalog.pg_largeobject')
                     + pg_total_relation_size('pg_catalog.pg_largeobject_metadata')
        ELSE pg_total_relation_size('bench_bytea')
    END
$$;

/* ------------------------------------------------------------------------
 * Source data
 * ------------------------------------------------------------------------ */

-- incompressible: pgcrypto's CSPRNG, 1 KiB per call
CREATE PROCEDURE bench_gen_random(npieces int, piece int)
LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 0 .. npieces - 1 LOOP
        INSERT INTO bench_src (kind, pieceno, data)
        SELECT 'random', i, string_agg(gen_random_bytes(1024), ''::bytea)
          FROM generate_series(1, piece / 1024);
        COMMIT;
    END LOOP;
    UPDATE bench_src SET md5 = md5(data) WHERE kind = 'random';
    INSERT INTO bench_small_src (kind, size, k, data)
    SELECT 'random', s.size, k,
           (SELECT string_agg(gen_random_bytes(1024), ''::bytea)
              FROM generate_series(1, s.size / 1024 + k * 0))
      FROM (VALUES (4096), (131072)) s(size), generate_series(1, 64) k;
END $$;

/*
 * Compressible: documentation-like prose, deterministic (seeded).  Words are
 * drawn from a vocabulary with a skewed (roughly Zipf) distribution, so
 * short common words dominate as in English; lz4 and pglz find only the
 * repetition real prose has, not a repeated block.  A 4 MiB corpus is
 * generated once; each 16 MiB piece is 16 slices of 1 MiB of it at scattered
 * offsets, so 64 KiB chunks rarely repeat and never repeat within a chunk.
 */
CREATE PROCEDURE bench_gen_text(npieces int, piece int)
LANGUAGE plpgsql AS $$
DECLARE
    words text[] := ARRAY[
        'the', 'of the', 'a', 'to', 'is', 'and', 'in the', 'be', 'that', 'for', 'it', 'as',
        'can be', 'is not', 'the value of', 'for example,', 'such as', 'must be',
        'if the', 'the default is', 'is used to', 'in this case', 'see Section',
        'the number of', 'at least', 'as well as', 'is set to', 'the same as',
        'when the', 'of a', 'to the', 'on the', 'by the', 'from the', 'with the',
        'it is', 'there is', 'this is', 'that the', 'and the', 'is the', 'will be',
        'this', 'not', 'by', 'table', 'are', 'with', 'can', 'or', 'on', 'if',
        'an', 'value', 'which', 'will', 'function', 'from', 'when', 'column',
        'data', 'index', 'any', 'row', 'query', 'type', 'server', 'must', 'used',
        'all', 'each', 'but', 'also', 'see', 'only', 'such', 'transaction',
        'default', 'other', 'may', 'name', 'one', 'null', 'rows', 'set', 'new',
        'database', 'user', 'file', 'use', 'have', 'no', 'at', 'then', 'there',
        'time', 'than', 'so', 'these', 'using', 'parameter', 'example', 'where',
        'lock', 'system', 'number', 'string', 'command', 'option', 'statement',
        'result', 'should', 'would', 'been', 'has', 'its', 'more', 'does', 'into',
        'same', 'first', 'order', 'specified', 'given', 'following', 'case',
        'possible', 'memory', 'written', 'read', 'write', 'page', 'block',
        'buffer', 'WAL', 'record', 'checkpoint', 'tuple', 'heap', 'relation',
        'catalog', 'schema', 'role', 'privilege', 'operator', 'expression',
        'argument', 'returns', 'returned', 'array', 'integer', 'text', 'bytea',
        'timestamp', 'interval', 'boolean', 'character', 'varying', 'numeric',
        'precision', 'constraint', 'primary', 'key', 'foreign', 'unique',
        'check', 'trigger', 'view', 'sequence', 'extension', 'module', 'library',
        'configuration', 'setting', 'variable', 'session', 'connection', 'client',
        'backend', 'process', 'worker', 'parallel', 'plan', 'planner', 'executor',
        'scan', 'join', 'sort', 'hash', 'aggregate', 'subquery', 'partition',
        'vacuum', 'analyze', 'statistics', 'autovacuum', 'replication', 'standby',
        'primary', 'archive', 'backup', 'restore', 'recovery', 'crash', 'commit',
        'rollback', 'savepoint', 'isolation', 'level', 'serializable',
        'snapshot', 'visibility', 'concurrent', 'update', 'delete', 'insert',
        'select', 'SELECT', 'INSERT', 'UPDATE', 'CREATE', 'ALTER', 'DROP',
        'TABLE', 'INDEX', 'FROM', 'WHERE', 'NULL', 'TRUE', 'FALSE', 'before',
        'after', 'during', 'while', 'because', 'however', 'therefore', 'instead',
        'otherwise', 'unless', 'although', 'usually', 'typically', 'always',
        'never', 'often', 'currently', 'previously', 'explicitly', 'implicitly',
        'automatically', 'manually', 'efficient', 'expensive', 'large', 'small',
        'maximum', 'minimum', 'total', 'size', 'length', 'offset', 'limit',
        'bytes', 'kilobytes', 'megabytes', '8192', '1024', '64', '0', '1', '2',
        'PostgreSQL', 'SQL', 'Section', 'Chapter', 'Table', 'Note', 'Tip',
        'Warning', 'described', 'documented', 'supported', 'allowed', 'required',
        'optional', 'available', 'compatible', 'consistent', 'durable', 'storage',
        'compression', 'TOAST', 'chunk', 'chunks', 'object', 'objects', 'large'];
    nw int := array_length(words, 1);
    clen int := 4 * 1048576;
    corpus bytea;
    part int := 1048576;
    nparts int := piece / part;
BEGIN
    PERFORM setseed(0.31415);
    SELECT substring(convert_to(string_agg(
               words[1 + floor(nw * power(random(), 2.5))::int]
               || CASE WHEN random() < 0.07 THEN E'.\n' WHEN random() < 0.08 THEN ', '
                       ELSE ' ' END, ''), 'UTF8') FROM 1 FOR clen)
      INTO corpus
      FROM generate_series(1, clen / 3);
    IF length(corpus) < clen THEN
        RAISE EXCEPTION 'text corpus came out short: % bytes', length(corpus);
    END IF;
    corpus := corpus || corpus;
    FOR i IN 0 .. npieces - 1 LOOP
        INSERT INTO bench_src (kind, pieceno, data)
        SELECT 'text', i, string_agg(substring(corpus
                   FROM (((i * nparts + j) * 2654435761::bigint) % (clen - part) + 1)::int
                   FOR part), ''::bytea ORDER BY j)
          FROM generate_series(0, nparts - 1) j;
        COMMIT;
    END LOOP;
    UPDATE bench_src SET md5 = md5(data) WHERE kind = 'text';
    INSERT INTO bench_small_src (kind, size, k, data)
    SELECT 'text', s.size, k,
           substring(corpus FROM ((k * 7919 * 131) % (clen - s.size) + 1) FOR s.size)
      FROM (VALUES (4096), (131072)) s(size), generate_series(1, 64) k;
END $$;

-- Binary COPY files of the big file, one per piece, for the COPY variant
CREATE PROCEDURE bench_copy_files(kind text, dir text)
LANGUAGE plpgsql AS $$
DECLARE
    fid int := bench_big_fid(kind, 'copy');
    npieces int;
    per int;
BEGIN
    SELECT count(*), max(length(data)) / 65536 INTO npieces, per
      FROM bench_src s WHERE s.kind = bench_copy_files.kind;
    FOR i IN 0 .. npieces - 1 LOOP
        EXECUTE format($q$COPY (SELECT %s, %s + c, substring(s.data FROM c * 65536 + 1 FOR 65536)
                                  FROM bench_src s, generate_series(0, %s) c
                                 WHERE s.kind = %L AND s.pieceno = %s ORDER BY c)
                          TO %L WITH (FORMAT binary)$q$,
                       fid, i * per, per - 1, kind, i, dir || '/piece-' || i || '.bin');
    END LOOP;
END $$;

/* ------------------------------------------------------------------------
 * Workload 1 and 4: the big file, written in 16 MiB pieces, one transaction
 * per piece in every store; read back in 16 MiB ranges.
 * ------------------------------------------------------------------------ */

-- round 1 records disk and WAL growth too; later rounds (after the file was
-- deleted and the tables vacuumed) only the rate, of which the best is kept
CREATE PROCEDURE bench_big_write(method text, kind text, copydir text DEFAULT NULL, round int DEFAULT 1)
LANGUAGE plpgsql AS $$
DECLARE
    path text := '/big/' || kind;
    fid int := bench_big_fid(kind, method);
    loid oid := bench_big_loid(kind);
    npieces int;
    per int;
    total bigint := 0;
    secs float8 := 0;
    v bytea;
    t0 timestamptz;
    lsn0 pg_lsn;
    disk0 bigint;
    wal numeric;
    disk bigint;
BEGIN
    SELECT count(*), max(length(data)) / 65536 INTO npieces, per
      FROM bench_src s WHERE s.kind = bench_big_write.kind;
    IF method = 'lo' THEN
        PERFORM lo_create(loid);
        COMMIT;
    END IF;
    disk0 := bench_disk(method);
    lsn0 := pg_current_wal_insert_lsn();
    FOR i IN 0 .. npieces - 1 LOOP
        IF method <> 'copy' THEN
            -- "|| ''" makes an in-memory copy: no TOAST fetch inside the timing
            SELECT s.data || ''::bytea INTO v
              FROM bench_src s WHERE s.kind = bench_big_write.kind AND s.pieceno = i;
        END IF;
        t0 := clock_timestamp();
        CASE method
            WHEN 'pgfs' THEN
                PERFORM pgfs_write(path, v, total);
            WHEN 'bytea' THEN
                INSERT INTO bench_bytea (file_id, chunkno, data)
                SELECT fid, i * per + c, substring(v FROM c * 65536 + 1 FOR 65536)
                  FROM generate_series(0, (length(v) - 1) / 65536) c;
            WHEN 'lo' THEN
                PERFORM lo_put(loid, total, v);
            WHEN 'copy' THEN
                EXECUTE format('COPY bench_bytea FROM %L WITH (FORMAT binary)',
                               copydir || '/piece-' || i || '.bin');
        END CASE;
        COMMIT;
        secs := secs + extract(epoch FROM clock_timestamp() - t0);
        total := total + per * 65536;
    END LOOP;
    wal := pg_wal_lsn_diff(pg_current_wal_insert_lsn(), lsn0);
    disk := bench_disk(CASE method WHEN 'copy' THEN 'bytea' ELSE method END) - disk0;
    PERFORM bench_put_max('big_write_' || kind, method, total / 1048576.0 / secs);
    IF round = 1 THEN
        PERFORM bench_put('wal_' || kind, method, wal / total);
        PERFORM bench_put('disk_' || kind, method, disk::float8 / total);
    END IF;
    PERFORM bench_put('big_bytes', 'all', total);
END $$;

-- delete the big file of one kind from every store (between write rounds)
CREATE PROCEDURE bench_big_delete(kind text)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pgfs_unlink('/big/' || kind);
    DELETE FROM bench_bytea
     WHERE file_id IN (bench_big_fid(kind, 'bytea'), bench_big_fid(kind, 'copy'));
    PERFORM lo_unlink(bench_big_loid(kind));
END $$;

-- seconds to read the whole big file in ranges of range_mb MiB (a divisor
-- of the 16 MiB pieces); verify checks every piece against the source
-- (outside the timing; 16 MiB ranges only)
CREATE FUNCTION bench_big_read(method text, kind text, verify boolean, range_mb int DEFAULT 16)
RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    path text := '/big/' || kind;
    fid int := bench_big_fid(kind, method);
    loid oid := bench_big_loid(kind);
    npieces int;
    per int;
    piece int;
    secs float8 := 0;
    v bytea;
    got bigint;
    t0 timestamptz;
BEGIN
    SELECT count(*), max(length(data)) / 65536 INTO npieces, per
      FROM bench_src s WHERE s.kind = bench_big_read.kind;
    IF verify AND range_mb <> per / 16 THEN
        RAISE EXCEPTION 'verify needs ranges of the source pieces (% MiB)', per / 16;
    END IF;
    npieces := npieces * (per / 16) / range_mb;
    per := range_mb * 16;
    piece := per * 65536;
    FOR i IN 0 .. npieces - 1 LOOP
        t0 := clock_timestamp();
        -- every store's range is produced whole and measured with length(),
        -- not copied into a variable (plpgsql would copy it once more)
        CASE method
            WHEN 'pgfs' THEN
                got := length(pgfs_read(path, i::bigint * piece, piece));
            WHEN 'bytea' THEN
                -- every chunk row detoasted and copied, as a SELECT sending
                -- them to a client would; not assembled into one value
                -- (string_agg's growing buffer would cost more than the read)
                SELECT sum(length(b.data || ''::bytea)) INTO got
                  FROM bench_bytea b
                 WHERE b.file_id = fid AND b.chunkno BETWEEN i * per AND i * per + per - 1;
            WHEN 'lo' THEN
                got := length(lo_get(loid, i::bigint * piece, piece));
        END CASE;
        secs := secs + extract(epoch FROM clock_timestamp() - t0);
        IF verify AND method = 'pgfs' THEN
            v := pgfs_read(path, i::bigint * piece, piece);
        ELSIF verify AND method = 'lo' THEN
            v := lo_get(loid, i::bigint * piece, piece);
        ELSIF verify AND method = 'bytea' THEN
            SELECT string_agg(b.data, ''::bytea ORDER BY b.chunkno) INTO v
              FROM bench_bytea b
             WHERE b.file_id = fid AND b.chunkno BETWEEN i * per AND i * per + per - 1;
        END IF;
        IF got IS DISTINCT FROM piece THEN
            RAISE EXCEPTION '% read of % range % returned % bytes', method, kind, i, got;
        END IF;
        IF verify AND md5(v) IS DISTINCT FROM
                (SELECT s.md5 FROM bench_src s WHERE s.kind = bench_big_read.kind AND s.pieceno = i) THEN
            RAISE EXCEPTION '% read of % piece % returned wrong data', method, kind, i;
        END IF;
    END LOOP;
    RETURN secs;
END $$;

/* ------------------------------------------------------------------------
 * Workload 2: 4 KiB reads at seeded random offsets of the big file
 * ------------------------------------------------------------------------ */

CREATE FUNCTION bench_offsets(kind text, n int) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    size bigint;
    offs bigint[];
BEGIN
    SELECT sum(length(data)) INTO size FROM bench_src s WHERE s.kind = bench_offsets.kind;
    PERFORM setseed(0.2718);
    SELECT array_agg(floor(random() * (size - 4096))::bigint ORDER BY g) INTO offs
      FROM generate_series(1, n) g;
    RETURN offs;
END $$;

-- one 4 KiB read of the big file at offset o
CREATE FUNCTION bench_read4k(method text, kind text, o bigint) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
    v bytea;
BEGIN
    CASE method
        WHEN 'pgfs' THEN
            v := pgfs_read('/big/' || kind, o, 4096);
        WHEN 'bytea' THEN
            SELECT string_agg(substring(b.data
                       FROM (GREATEST(o - b.chunkno * 65536::bigint, 0) + 1)::int
                       FOR (LEAST(o + 4096, (b.chunkno + 1) * 65536::bigint)
                            - GREATEST(o, b.chunkno * 65536::bigint))::int),
                       ''::bytea ORDER BY b.chunkno) INTO v
              FROM bench_bytea b
             WHERE b.file_id = bench_big_fid(kind, 'bytea')
               AND b.chunkno BETWEEN (o / 65536)::int AND ((o + 4095) / 65536)::int;
        WHEN 'lo' THEN
            v := lo_get(bench_big_loid(kind), o, 4096);
    END CASE;
    RETURN v;
END $$;

-- reads per second over n seeded offsets.  The loop is inlined per store
-- (not a call of bench_read4k) so that no extra function call is timed.
CREATE FUNCTION bench_rand_reads(method text, kind text, n int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    offs bigint[] := bench_offsets(kind, n);
    path text := '/big/' || kind;
    fid int := bench_big_fid(kind, 'bytea');
    loid oid := bench_big_loid(kind);
    o bigint;
    v bytea;
    got bigint := 0;
    t0 timestamptz;
    secs float8;
BEGIN
    t0 := clock_timestamp();
    CASE method
        WHEN 'pgfs' THEN
            FOREACH o IN ARRAY offs LOOP
                v := pgfs_read(path, o, 4096);
                got := got + length(v);
            END LOOP;
        WHEN 'bytea' THEN
            FOREACH o IN ARRAY offs LOOP
                SELECT got + sum(length(substring(b.data
                           FROM (GREATEST(o - b.chunkno * 65536::bigint, 0) + 1)::int
                           FOR (LEAST(o + 4096, (b.chunkno + 1) * 65536::bigint)
                                - GREATEST(o, b.chunkno * 65536::bigint))::int))) INTO got
                  FROM bench_bytea b
                 WHERE b.file_id = fid
                   AND b.chunkno BETWEEN (o / 65536)::int AND ((o + 4095) / 65536)::int;
            END LOOP;
        WHEN 'lo' THEN
            FOREACH o IN ARRAY offs LOOP
                v := lo_get(loid, o, 4096);
                got := got + length(v);
            END LOOP;
    END CASE;
    secs := extract(epoch FROM clock_timestamp() - t0);
    IF got <> n::bigint * 4096 THEN
        RAISE EXCEPTION '% 4 KiB reads of % returned % bytes, not %', method, kind, got, n * 4096;
    END IF;
    RETURN n / secs;
END $$;

-- the three stores return the same bytes as the source for the first n offsets
CREATE FUNCTION bench_rand_verify(kind text, n int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    piece bigint;
    o bigint;
    want bytea;
BEGIN
    SELECT length(data) INTO piece FROM bench_src s
     WHERE s.kind = bench_rand_verify.kind AND s.pieceno = 0;
    FOREACH o IN ARRAY bench_offsets(kind, n) LOOP
        SELECT substring(string_agg(s.data, ''::bytea ORDER BY s.pieceno)
                         FROM (o % piece + 1)::int FOR 4096) INTO want
          FROM bench_src s
         WHERE s.kind = bench_rand_verify.kind
           AND s.pieceno BETWEEN o / piece AND (o + 4095) / piece;
        IF bench_read4k('pgfs', kind, o) IS DISTINCT FROM want
           OR bench_read4k('bytea', kind, o) IS DISTINCT FROM want
           OR bench_read4k('lo', kind, o) IS DISTINCT FROM want THEN
            RAISE EXCEPTION '4 KiB read of % at offset % differs between stores', kind, o;
        END IF;
    END LOOP;
END $$;

/* ------------------------------------------------------------------------
 * Workload 5: many files.  Files are spread over 1000 directories,
 * /scale/dN/fM with N = M % 1000; created through the inode API (no path
 * walk) since creation is not what is measured.
 * ------------------------------------------------------------------------ */

CREATE PROCEDURE bench_scale_dirs(ndirs int)
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pgfs_mkdir('/scale');
    FOR d IN 0 .. ndirs - 1 LOOP
        INSERT INTO bench_scale_dir VALUES (d, pgfs_mkdir('/scale/d' || d));
    END LOOP;
END $$;

-- create files lo .. hi - 1 whose number is worker modulo nworkers; the
-- directory count is a multiple of nworkers, so workers share no directory.
-- Each creation updates its directory's inode row (mtime); committing every
-- 1000 files lets HOT pruning reuse those row versions, as it would with a
-- transaction per file, instead of spreading the files' rows over twice the
-- pages (which a 20000-file transaction did).
CREATE PROCEDURE bench_scale_create(lo int, hi int, worker int, nworkers int)
LANGUAGE plpgsql AS $$
DECLARE
    dirs bigint[];
    ndirs int;
    n int := lo + ((worker - lo) % nworkers + nworkers) % nworkers;
    batch int := 0;
BEGIN
    SELECT array_agg(ino ORDER BY d), count(*) INTO dirs, ndirs FROM bench_scale_dir;
    WHILE n < hi LOOP
        PERFORM pgfs_ll_create(dirs[1 + n % ndirs], convert_to('f' || n, 'UTF8'), 33188, 0, 0);
        n := n + nworkers;
        batch := batch + 1;
        IF batch = 1000 THEN
            COMMIT;
            batch := 0;
        END IF;
    END LOOP;
END $$;
