-- remove a file
\set d random(0, 7)
\set f random(0, 23)
SELECT load_try(format('SELECT pgfs_unlink(%L)', '/load/f/d' || :d || '/f' || :f));
