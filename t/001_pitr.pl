
# Copyright (c) pgfs contributors

# Point-in-time recovery brings back exactly the tree of the target instant.
#
# A base backup is taken with part of the tree in place; the rest is written
# after it (so recovery must replay it from archived WAL); the target is
# recorded as an LSN, a time and a named restore point; then every kind of
# change follows.  Restores to each kind of target must show the target's
# manifest (through SQL and through a read-only mount) and a clean fsck.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;    # PgfsTest.pm
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use PgfsTest;
use Test::More;

my $db = 'postgres';

my $primary = pgfs_node('primary', has_archiving => 1, allows_streaming => 1);
pgfs_create_extension($primary, $db);
pgfs_tree_phase0($primary, $db);
$primary->backup('base');

pgfs_tree_phase1($primary, $db);
my $target = manifest_sql($primary, $db);
print "# manifest at the target:\n", map { "#   $_\n" } manifest_lines($target);
pgfs_fsck_is_clean($primary, $db, 'primary is clean at the target');

# The target: an LSN, a restore point and, a second apart from any commit,
# a time.
my $target_lsn = $primary->safe_psql($db, 'SELECT pg_current_wal_lsn()');
$primary->safe_psql($db, "SELECT pg_create_restore_point('pgfs_target')");
sleep 1;
my $target_time = $primary->safe_psql($db, 'SELECT clock_timestamp()');
sleep 1;

pgfs_tree_phase2($primary, $db);
my $after = manifest_sql($primary, $db);
manifest_isnt($after, $target, 'the changes after the target change the manifest');
pgfs_fsck_is_clean($primary, $db, 'primary is clean after the changes');
pgfs_wait_for_archive($primary);

my $why_no_mount = mount_unavailable();

my @targets = (
	[ 'lsn',  "recovery_target_lsn = '$target_lsn'" ],
	[ 'time', "recovery_target_time = '$target_time'" ],
	[ 'name', "recovery_target_name = 'pgfs_target'" ],);
for my $t (@targets)
{
	my ($kind, $conf) = @$t;
	my $node = pgfs_restore_node("restored_$kind", $primary, 'base', $conf);

	manifest_is(manifest_sql($node, $db), $target,
		"recovery_target_$kind: the tree of the target");
	pgfs_fsck_is_clean($node, $db, "recovery_target_$kind: fsck is clean");
	is( $node->safe_psql($db, 'SELECT pgfs_store_id()'),
		$primary->safe_psql($db, 'SELECT pgfs_store_id()'),
		"recovery_target_$kind: the store keeps its id");

	SKIP:
	{
		skip "no mount: $why_no_mount", 1 if $why_no_mount;
		my $mnt = mount_store($node, $db, 'ro');
		manifest_is(manifest_mount($mnt), $target,
			"recovery_target_$kind: the tree of the target through a read-only mount",
			mtime => 's');
		unmount_store($mnt);
	}

	# The restored store is writable and stays consistent.
	$node->safe_psql($db,
		"SELECT pgfs_write('/after-restore.txt', 'new timeline'::bytea)");
	pgfs_fsck_is_clean($node, $db, "recovery_target_$kind: clean after a new write");
	$node->stop;
}

done_testing();
