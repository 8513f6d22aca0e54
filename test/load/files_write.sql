-- create or replace a file with one record
\set d random(0, 7)
\set f random(0, 23)
\set seed random(1, 1000000000)
\set n random(0, 70000)
SELECT load_try(format('SELECT pgfs_write(%L, load_record(%s, %s))', '/load/f/d' || :d || '/f' || :f, :seed, :n));
