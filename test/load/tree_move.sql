-- move directory dA into dB (a cycle attempt when dB is below dA, or dA
-- itself), or back to /load/t
\set a random(0, 11)
\set b random(0, 11)
\set home random(0, 3)
\if :home = 0
SELECT /* tree_move */ load_try(format('SELECT pgfs_rename(%L, %L)', load_path(:a), '/load/t/d' || :a));
\else
SELECT /* tree_move */ load_try(format('SELECT pgfs_rename(%L, %L)', load_path(:a), load_path(:b) || '/d' || :a));
\endif
