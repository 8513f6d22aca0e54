
# Copyright (c) pgfs contributors

# A mount whose server is replaced by a restored copy must not serve what it
# cached before the restore.
#
# Node "a" is mounted twice: read-write with the default cache times (1 s),
# and read-only with attr_timeout = entry_timeout = 3600, which leaves
# everything to the daemon's own invalidation.  Both mounts read the whole
# latest tree (and look up names that no longer exist, which the kernel
# caches as absent).  Then the server on that port is replaced, twice:
#
#   swap 1: "a" is stopped and its base backup is started in its place with
#           crash recovery only (like restoring a file-system snapshot): the
#           same system identifier, timeline 1, the same store id -- but the
#           tree of the backup, not the latest one.
#   swap 2: that node is replaced by a point-in-time restore of the same
#           backup to a later LSN: timeline 2.
#
# After each swap, one statfs reaches the daemon (so it reconnects and can
# check what it is talking to), then every name of both trees is looked up
# directly, as an application opening a path would, and the tree is walked:
# both must show exactly the restored store.  Each swap waits 1.5 s with
# no server, as no real restore is quicker than that: the default-cache
# mount's kernel caches have expired by then, so that mount checks the
# reconnect; the 3600 s mount checks that the daemon drops kernel caches
# itself when the store changed under it.  A file held open across the
# second swap must not return the contents from before it.  A write through
# the read-write mount after the swap must land in the restored store.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;    # PgfsTest.pm
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use PgfsTest;
use Test::More;
use Time::HiRes qw(usleep);

my $db = 'postgres';

plan skip_all => "no mount: $_" for grep { defined } mount_unavailable();

my $orig = pgfs_node('a', has_archiving => 1, allows_streaming => 1);
pgfs_create_extension($orig, $db);
pgfs_tree_phase0($orig, $db);
$orig->backup('base');
pgfs_tree_phase1($orig, $db);
my $m_point   = manifest_sql($orig, $db);
my $point_lsn = $orig->safe_psql($db, 'SELECT pg_current_wal_lsn()');
pgfs_tree_phase2($orig, $db);
my $m_latest = manifest_sql($orig, $db);
pgfs_wait_for_archive($orig);

my $rw = eval { mount_store($orig, $db, '') };
if (!ok(defined $rw, 'a read-write mount comes up'))
{
	diag($@);
	done_testing();
	exit;
}
my $long = mount_store($orig, $db, 'ro,attr_timeout=3600,entry_timeout=3600');
my %all_paths = map { $_ => 1 } keys %$m_point, keys %$m_latest;

# Fill both mounts' caches with the latest tree, absent names included.
my %label = ($rw => 'read-write mount, default cache times',
	$long => 'mount with 3600 s cache times');
for my $mnt ($rw, $long)
{
	manifest_is(manifest_mount($mnt), $m_latest, "before the swaps, $label{$mnt}: the latest tree",
		mtime => 's');
	my @gone = grep { !$m_latest->{$_} } sort keys %all_paths;
	ok(!grep({ lstat("$mnt$_") } @gone),
		"before the swaps, $label{$mnt}: names removed since the target are absent");
}

# Hold a file open and read it; its contents differ at each point.
open(my $held, '<:raw', "$rw/journal.txt") or die "open: $!";
my $held_before = do { local $/; <$held> };
is($held_before, "phase 0\nphase 1\nphase 2\n", 'a file held open reads the latest contents');

# Touch the mount once so that the daemon reconnects, then give the
# invalidation it may send a moment.
sub poke
{
	my ($mnt) = @_;
	system('stat', '-f', '-c', '%b', $mnt);
	usleep(500_000);
	return;
}

sub check_mounts
{
	my ($what, $expected) = @_;
	my @paths = sort keys %all_paths;
	for my $mnt ($rw, $long)
	{
		my $kind = $label{$mnt};
		poke($mnt);
		manifest_is(
			manifest_mount_paths($mnt, \@paths),
			manifest_expect_paths($expected, \@paths),
			"$what: $kind: every name looked up directly shows the restored store",
			mtime => 's');
		manifest_is(manifest_mount($mnt), $expected,
			"$what: $kind: a walk of the tree shows the restored store",
			mtime => 's');
	}
	return;
}

# swap 1: same system identifier, timeline and store id
$orig->stop;
Time::HiRes::sleep(1.5);
my $snap = PostgreSQL::Test::Cluster->new('snapshot', port => $orig->port);
$snap->init_from_backup($orig, 'base');
$snap->append_conf('postgresql.conf', 'archive_mode = off');
$snap->start;
my $m_snap = manifest_sql($snap, $db);
manifest_isnt($m_snap, $m_latest, 'swap 1: the snapshot holds an older tree');
is( $snap->safe_psql($db,
		'SELECT timeline_id FROM pg_control_checkpoint()'),
	'1', 'swap 1: the snapshot is on timeline 1, like the original');
check_mounts('swap 1 (snapshot restore, same timeline)', $m_snap);

# re-read the held file: now it has been read on the snapshot
seek($held, 0, 0);
my $held_snap = do { local $/; <$held> };

# swap 2: point-in-time recovery, a new timeline
$snap->stop;
Time::HiRes::sleep(1.5);
my $pitr = pgfs_restore_node('pitr', $orig, 'base', "recovery_target_lsn = '$point_lsn'",
	port => $orig->port);
manifest_is(manifest_sql($pitr, $db), $m_point, 'swap 2: the restored node has the target tree');
check_mounts('swap 2 (point-in-time restore, timeline 2)', $m_point);

# A file held open across the restore: its contents at the restored point,
# or an error -- not what was cached before.
seek($held, 0, 0);
my $held_after = do { local $/; <$held> };
my $read_err   = $!;
my $want = pack('H*', $pitr->safe_psql($db, q{SELECT encode(pgfs_read('/journal.txt'), 'hex')}));
ok(!defined $held_after || $held_after eq $want,
	'a file held open across the restore does not return pre-restore contents')
  or diag("read returned " . (defined $held_after ? "\"$held_after\"" : "error $read_err")
	  . ", restored contents are \"$want\"; before the restore it read \"$held_snap\"");
close $held;

# Writes go to the restored store.
my $fh;
my $ok = open($fh, '>', "$rw/written-after-restore.txt")
  && print($fh "hello from the mount\n") && close($fh);
ok($ok, 'writing a file through the read-write mount works after the restore') or diag("error: $!");
is( $pitr->safe_psql($db,
		q{SELECT convert_from(pgfs_read('/written-after-restore.txt'), 'UTF8')}),
	"hello from the mount\n",
	'the restored store has it');
pgfs_fsck_is_clean($pitr, $db, 'fsck is clean after writing through the mount');

like(mount_log($rw), qr/store changed under the mount/,
	'the read-write mount\'s daemon noticed the new timeline');

ok(unmount_store($rw),   'the read-write mount unmounts cleanly');
ok(unmount_store($long), 'the read-only mount unmounts cleanly');

done_testing();
