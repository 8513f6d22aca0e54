-- the stat mix of bench/concurrency.sh: stat a file (9 in 10) or list its
-- directory with attributes (1 in 10); every file exists
\set d random(0, 7)
\set f random(0, 23)
\set op random(0, 9)
\if :op = 0
SELECT count(*) FROM pgfs_readdir('/load/f/d' || :d, true);
\else
SELECT size FROM pgfs_stat('/load/f/d' || :d || '/f' || :f);
\endif
