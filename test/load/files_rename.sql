-- rename a file, usually into another directory, replacing what is there
\set d1 random(0, 7)
\set d2 random(0, 7)
\set f1 random(0, 23)
\set f2 random(0, 23)
SELECT load_try(format('SELECT pgfs_rename(%L, %L)', '/load/f/d' || :d1 || '/f' || :f1, '/load/f/d' || :d2 || '/f' || :f2));
