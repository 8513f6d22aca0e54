-- bench/sql/report.sql: the Markdown results table from bench_measure
--
-- psql variables: big_mb, small_n (files of the "10k" scale step), big_n
-- (files of the large step).  Targets are informational, not a test.
\set ON_ERROR_STOP on
\pset format unaligned
\pset tuples_only on

WITH spec(ord, label, key, ref, fmt, base, tkind, tval, tlabel) AS (VALUES
    (10, 'big file write, random data, MiB/s', 'big_write_random', 'bytea', 'rate', 'bytea', 'ge', 1.0, '≥ 1.0× bytea'),
    (11, 'big file write, random data, MiB/s, bytea column by COPY', 'big_write_random', 'copy', 'rate', 'copy', 'info', NULL, NULL),
    (12, 'big file read, random data, MiB/s', 'big_read_random', 'bytea', 'rate', 'bytea', 'ge', 1.0, '≥ 1.0× bytea'),
    (12.5, 'big file read, random data, 1 MiB ranges, MiB/s', 'big_read1_random', 'bytea', 'rate', 'bytea', 'ge', 1.0, '≥ 1.0× bytea'),
    (13, '4 KiB reads at random offsets, random data, reads/s', 'rand4k_random', 'bytea', 'rate', 'lo', 'ge', 1.0, '≥ 1.0× large objects'),
    (14, 'disk bytes per logical byte, random data', 'disk_random', 'bytea', 'per', 'bytea', 'le', 1.05, '≤ 1.05'),
    (15, 'WAL bytes per logical byte (big write), random data', 'wal_random', 'bytea', 'per', 'bytea', 'info', NULL, NULL),
    (20, 'big file write, text, MiB/s', 'big_write_text', 'bytea', 'rate', 'bytea', 'ge', 1.0, '≥ 1.0× bytea'),
    (21, 'big file write, text, MiB/s, bytea column by COPY', 'big_write_text', 'copy', 'rate', 'copy', 'info', NULL, NULL),
    (22, 'big file read, text, MiB/s', 'big_read_text', 'bytea', 'rate', 'bytea', 'ge', 1.0, '≥ 1.0× bytea'),
    (22.5, 'big file read, text, 1 MiB ranges, MiB/s', 'big_read1_text', 'bytea', 'rate', 'bytea', 'ge', 1.0, '≥ 1.0× bytea'),
    (23, '4 KiB reads at random offsets, text, reads/s', 'rand4k_text', 'bytea', 'rate', 'lo', 'ge', 1.0, '≥ 1.0× large objects'),
    (24, 'disk bytes per logical byte, text', 'disk_text', 'bytea', 'per', 'bytea', 'le', 0.5, '≤ 0.50 (2× smaller)'),
    (25, 'WAL bytes per logical byte (big write), text', 'wal_text', 'bytea', 'per', 'bytea', 'info', NULL, NULL),
    (30, 'write 4 KiB files, random data, files/s', 'small_write_4k_random', 'bytea', 'rate', 'bytea', 'ge', 0.9, '≥ 0.9× bytea'),
    (31, 'write 4 KiB files, text, files/s', 'small_write_4k_text', 'bytea', 'rate', 'bytea', 'ge', 0.9, '≥ 0.9× bytea'),
    (32, 'write 128 KiB files, random data, files/s', 'small_write_128k_random', 'bytea', 'rate', 'bytea', 'ge', 0.9, '≥ 0.9× bytea'),
    (33, 'write 128 KiB files, text, files/s', 'small_write_128k_text', 'bytea', 'rate', 'bytea', 'ge', 0.9, '≥ 0.9× bytea'),
    (34, 'read 4 KiB files, random data, files/s', 'small_read_4k_random', 'bytea', 'rate', 'bytea', 'info', NULL, NULL),
    (35, 'read 4 KiB files, text, files/s', 'small_read_4k_text', 'bytea', 'rate', 'bytea', 'info', NULL, NULL),
    (36, 'read 128 KiB files, random data, files/s', 'small_read_128k_random', 'bytea', 'rate', 'bytea', 'info', NULL, NULL),
    (37, 'read 128 KiB files, text, files/s', 'small_read_128k_text', 'bytea', 'rate', 'bytea', 'info', NULL, NULL),
    (38, 'stat of 4 KiB files, stats/s', 'small_stat_4k', 'bytea', 'rate', 'bytea', 'ge', 0.8, '≥ 0.8× bytea'),
    (39, 'stat of 128 KiB files, stats/s', 'small_stat_128k', 'bytea', 'rate', 'bytea', 'ge', 0.8, '≥ 0.8× bytea'),
    (40, format('stat among %s files, stats/s', :'small_n'), 'scale_stat_small', 'bytea', 'rate', 'bytea', 'ge', 0.8, '≥ 0.8× bytea'),
    (41, format('stat among %s files, stats/s', :'big_n'), 'scale_stat_big', 'bytea', 'rate', 'bytea', 'ge', 0.8, '≥ 0.8× bytea'),
    (42, format('stat latency growth %s → %s files', :'small_n', :'big_n'), 'scale_growth', 'bytea', 'x', NULL, 'le', 1.5, '≤ 1.5×'),
    (43, 'bulk file creation (inode API, 2 sessions), files/s', 'scale_create', 'bytea', 'rate', NULL, 'info', NULL, NULL)
),
growth AS (
    SELECT 'scale_growth' AS key, s.method, s.value / b.value AS value
      FROM bench_measure s JOIN bench_measure b USING (method)
     WHERE s.key = 'scale_stat_small' AND b.key = 'scale_stat_big'
),
m AS (
    SELECT key, method, value FROM bench_measure UNION ALL SELECT * FROM growth
),
rows_ AS (
    SELECT spec.*,
           (SELECT value FROM m WHERE m.key = spec.key AND m.method = 'pgfs') AS p,
           (SELECT value FROM m WHERE m.key = spec.key AND m.method = spec.ref) AS b,
           CASE WHEN spec.ref = 'bytea'
                THEN (SELECT value FROM m WHERE m.key = spec.key AND m.method = 'lo') END AS l,
           (SELECT value FROM m WHERE m.key = spec.key AND m.method = spec.base) AS basev
      FROM spec
),
fmt AS (
    SELECT ord, label, fmt, base, tkind, tval, tlabel, p, b, l, basev,
           CASE WHEN p IS NOT NULL AND basev > 0 THEN p / basev END AS ratio
      FROM rows_
)
SELECT line FROM (
    SELECT 0 AS ord, '| workload | pgfs | bytea | large objects | ratio | target |' AS line
    UNION ALL
    SELECT 1, '|---|---:|---:|---:|---:|---|'
    UNION ALL
    SELECT ord, format('| %s | %s | %s | %s | %s | %s |',
        label,
        coalesce(CASE fmt WHEN 'rate' THEN CASE WHEN p >= 100 THEN round(p::numeric)::text
                                                ELSE round(p::numeric, 1)::text END
                          WHEN 'per' THEN round(p::numeric, 3)::text
                          ELSE round(p::numeric, 2)::text || '×' END, '—'),
        coalesce(CASE fmt WHEN 'rate' THEN CASE WHEN b >= 100 THEN round(b::numeric)::text
                                                ELSE round(b::numeric, 1)::text END
                          WHEN 'per' THEN round(b::numeric, 3)::text
                          ELSE round(b::numeric, 2)::text || '×' END, '—'),
        coalesce(CASE fmt WHEN 'rate' THEN CASE WHEN l >= 100 THEN round(l::numeric)::text
                                                ELSE round(l::numeric, 1)::text END
                          WHEN 'per' THEN round(l::numeric, 3)::text
                          ELSE round(l::numeric, 2)::text || '×' END, '—'),
        coalesce(round(ratio::numeric, 2)::text || '× '
                 || CASE base WHEN 'lo' THEN 'LO' WHEN 'copy' THEN 'COPY' ELSE base END, '—'),
        CASE tkind
            WHEN 'info' THEN 'info'
            WHEN 'ge' THEN tlabel || ': ' || CASE WHEN ratio IS NULL THEN 'n/a'
                                                  WHEN ratio >= tval THEN 'PASS' ELSE 'MISS' END
            WHEN 'le' THEN tlabel || ': ' || CASE WHEN p IS NULL THEN 'n/a'
                                                  WHEN p <= tval THEN 'PASS' ELSE 'MISS' END
        END)
      FROM fmt
) t
ORDER BY ord;
