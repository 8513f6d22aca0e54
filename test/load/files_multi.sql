-- several calls in one transaction: write, move across directories, append
\set d1 random(0, 7)
\set d2 random(0, 7)
\set f1 random(0, 23)
\set f2 random(0, 23)
\set seed random(1, 1000000000)
\set n random(0, 30000)
BEGIN;
SELECT /* files_multi */ load_try(format('SELECT pgfs_write(%L, load_record(%s, %s))', '/load/f/d' || :d1 || '/f' || :f1, :seed, :n));
SELECT /* files_multi */ load_try(format('SELECT pgfs_rename(%L, %L)', '/load/f/d' || :d1 || '/f' || :f1, '/load/f/d' || :d2 || '/f' || :f2));
SELECT /* files_multi */ load_try(format('SELECT pgfs_append(%L, load_record(%s, %s))', '/load/f/d' || :d2 || '/f' || :f2, :seed + 1, 100));
END;
