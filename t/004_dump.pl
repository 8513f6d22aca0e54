
# Copyright (c) pgfs contributors

# pg_dump carries the files: the extension registers its tables and
# sequences with pg_extension_config_dump, so a custom-format dump restored
# with pg_restore, and a plain dump loaded with psql, give a new database
# with the same manifest (hard links, xattrs and shared chunks included) and
# a clean fsck.  CREATE EXTENSION makes a fresh root directory before the
# dumped rows arrive; the extension's merge_root trigger folds the dumped
# root row into it.  The meta table is not dumped: a restored database is a
# new store with a new pgfs_store_id(), so mounts of the old one notice.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;    # PgfsTest.pm
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use PgfsTest;
use Test::More;

my $node = pgfs_node('main');
pgfs_create_extension($node, 'src');
pgfs_tree_phase0($node, 'src');
pgfs_tree_phase1($node, 'src');
# an application table next to the files, dumped with them
$node->safe_psql(
	'src', q{
CREATE TABLE attachments (path text PRIMARY KEY, note text);
INSERT INTO attachments VALUES ('/docs/readme.txt', 'the readme'), ('/data/rand-300k.bin', 'random');
});

# A file that a client (a mount) holds open after its last name is gone:
# its inode stays (nlink 0) while the client's handle row lives.  Handles
# are in an unlogged table that is not dumped, so in a restored database
# the inode is an orphan until pgfs_reclaim_orphans() frees it.
$node->safe_psql('src',
	q{SELECT pgfs_write('/open-unlinked.bin', pgfs_test_bytes('ou', 100000))});
my $open_ino = $node->safe_psql('src', q{SELECT ino FROM pgfs_lstat('/open-unlinked.bin')});
my $holder = $node->background_psql('src');
$holder->query_safe('SELECT pgfs_ll_client_begin(4242)');
$holder->query_safe("SELECT pgfs_ll_open($open_ino, 4242)");
$node->safe_psql('src', q{SELECT pgfs_unlink('/open-unlinked.bin')});
pgfs_fsck_is_clean($node, 'src', 'source: an open unlinked file is no orphan');

my $src       = manifest_sql($node, 'src');
my $src_id    = $node->safe_psql('src', 'SELECT pgfs_store_id()');
my $chunks_sql = 'SELECT count(*), sum(refs), sum(rawlen) FROM pgfs.chunk';
my $src_chunks = $node->safe_psql('src', $chunks_sql);
my $dir       = PostgreSQL::Test::Utils::tempdir('dump');

$node->command_ok([ 'pg_dump', '-Fc', '-f', "$dir/src.dump", '-d', 'src' ],
	'pg_dump -Fc');
$node->command_ok([ 'pg_dump', '-Fp', '-f', "$dir/src.sql", '-d', 'src' ],
	'pg_dump -Fp');

$node->safe_psql('postgres', 'CREATE DATABASE custom');
$node->command_ok(
	[ 'pg_restore', '--exit-on-error', '-d', 'custom', "$dir/src.dump" ],
	'pg_restore into a new database');
$node->safe_psql('postgres', 'CREATE DATABASE plain');
$node->command_ok(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', 'plain', '-f', "$dir/src.sql" ],
	'the plain dump loads with psql');

my $why_no_mount = mount_unavailable();
for my $db ('custom', 'plain')
{
	manifest_is(manifest_sql($node, $db), $src, "$db: the same tree as the source");
	is($node->safe_psql($db, $chunks_sql),
		$src_chunks, "$db: the same chunks, shared as often (copies stay copy-on-write)");
	is( $node->safe_psql($db, 'SELECT problem, ino FROM pgfs_fsck()'),
		"orphan_inode|$open_ino",
		"$db: the file that was open and unlinked is an orphan (handles are not dumped)");
	is($node->safe_psql($db, 'SELECT pgfs_reclaim_orphans()'),
		'1', "$db: pgfs_reclaim_orphans() frees it");
	pgfs_fsck_is_clean($node, $db, "$db: fsck is clean");
	is($node->safe_psql($db, 'SELECT count(*) FROM attachments'),
		'2', "$db: the application's rows came along");
	is( $node->safe_psql(
			$db, 'SELECT count(*) FROM pgfs.inode WHERE ino = 1'),
		'1', "$db: one root directory");
	my $id = $node->safe_psql($db, 'SELECT pgfs_store_id()');
	like($id, qr/^\w{16,}$/, "$db: has a store id");
	isnt($id, $src_id, "$db: the store id is new (meta is not dumped)");

	# The sequences came along too: new files, chunks and entries do not
	# collide with restored ones, and writing into a shared chunk still
	# copies it.
	$node->safe_psql(
		$db, q{
SELECT pgfs_write('/restored-new.bin', pgfs_test_bytes('new', 200000));
SELECT pgfs_mkdir('/restored-dir');
SELECT pgfs_write('/data/copy-300k.bin', 'cow'::bytea, 65534);
});
	is( $node->safe_psql($db,
			q{SELECT md5(pgfs_read('/data/rand-300k.bin')) = md5(pgfs_test_bytes('a', 300000))}),
		't', "$db: writing into a copy leaves the shared original alone");
	pgfs_fsck_is_clean($node, $db, "$db: fsck is clean after new writes");

	SKIP:
	{
		skip "no mount: $why_no_mount", 1 if $why_no_mount;
		# the state before the new writes, as dumped, is in $src; compare the
		# mount with the database's own manifest now
		my $now = manifest_sql($node, $db);
		my $mnt = mount_store($node, $db, 'ro');
		manifest_is(manifest_mount($mnt), $now, "$db: the restored store through a mount",
			mtime => 's');
		unmount_store($mnt);
	}
}

# A client that goes away without closing (a crashed mount) leaves its
# handle row; pgfs_reclaim_orphans() sees the client is gone and frees the
# file.
$holder->quit;
is($node->safe_psql('src', 'SELECT pgfs_reclaim_orphans()'),
	'1', 'source: the open unlinked file of a vanished client is reclaimed');
is($node->safe_psql('src', "SELECT count(*) FROM pgfs.inode WHERE ino = $open_ino"),
	'0', 'source: its inode is gone');
pgfs_fsck_is_clean($node, 'src', 'source: fsck is clean');

done_testing();
