-- list a moving directory
\set a random(0, 11)
SELECT load_try(format('SELECT count(*) FROM pgfs_readdir(%L)', load_path(:a)));
