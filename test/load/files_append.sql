-- append a record (creates the file when missing)
\set d random(0, 7)
\set f random(0, 23)
\set seed random(1, 1000000000)
\set n random(0, 20000)
SELECT load_try(format('SELECT pgfs_append(%L, load_record(%s, %s))', '/load/f/d' || :d || '/f' || :f, :seed, :n));
