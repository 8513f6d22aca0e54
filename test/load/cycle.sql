-- /load/cyc/a/x into /load/cyc/b/y and back, or y into x and back, in one
-- transaction: run concurrently, the two first steps together would be a
-- cycle
\set which random(0, 1)
\if :which = 0
BEGIN;
SELECT /* cycle */ load_try('SELECT pgfs_rename(''/load/cyc/a/x'', ''/load/cyc/b/y/x'')');
SELECT /* cycle */ load_try('SELECT pgfs_rename(''/load/cyc/b/y/x'', ''/load/cyc/a/x'')');
END;
\else
BEGIN;
SELECT /* cycle */ load_try('SELECT pgfs_rename(''/load/cyc/b/y'', ''/load/cyc/a/x/y'')');
SELECT /* cycle */ load_try('SELECT pgfs_rename(''/load/cyc/a/x/y'', ''/load/cyc/b/y'')');
END;
\endif
