-- the small-file write mix of bench/concurrency.sh: create or replace a file
-- of 100 B .. 8 KiB (4 in 5), or append 100 B .. 1 KiB (1 in 5); each call
-- is its own transaction, committed durably
\set d random(0, 7)
\set f random(0, 23)
\set seed 2 * random(1, 500000000) + 1
\set op random(0, 4)
\if :op = 0
\set n random(100, 1024)
SELECT pgfs_append('/load/f/d' || :d || '/f' || :f, load_record(:seed, :n));
\else
\set n random(100, 8192)
SELECT pgfs_write('/load/f/d' || :d || '/f' || :f, load_record(:seed, :n));
\endif
