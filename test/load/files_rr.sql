-- the same under REPEATABLE READ, where a conflict is a serialization
-- failure (40001) that pgbench retries
\set d1 random(0, 7)
\set d2 random(0, 7)
\set f1 random(0, 23)
\set f2 random(0, 23)
\set seed random(1, 1000000000)
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT /* files_rr */ load_try(format('SELECT pgfs_append(%L, load_record(%s, %s))', '/load/f/d' || :d1 || '/f' || :f1, :seed, 500));
SELECT /* files_rr */ load_try(format('SELECT pgfs_rename(%L, %L)', '/load/f/d' || :d1 || '/f' || :f1, '/load/f/d' || :d2 || '/f' || :f2));
END;
