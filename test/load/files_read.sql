-- list a directory with attributes, stat and read a file
\set d random(0, 7)
\set f random(0, 23)
SELECT count(*) FROM pgfs_readdir('/load/f/d' || :d, true);
SELECT load_try(format('SELECT pgfs_stat(%L)', '/load/f/d' || :d || '/f' || :f));
SELECT load_try(format('SELECT length(pgfs_read(%L))', '/load/f/d' || :d || '/f' || :f));
