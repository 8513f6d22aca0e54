
# Copyright (c) pgfs contributors

# A streaming standby serves the files: SQL reads work there, SQL writes
# fail with SQLSTATE 25006 (read_only_sql_transaction, which pgfs maps to
# EROFS), and a read-only mount reads what the primary writes while every
# write through it fails with EROFS.  The standby's statement log shows that
# the read-only daemon never sends a writing function, and the standby never
# rejected anything as a write in a read-only transaction.  Last, the
# standby is promoted under a read-write mount that names both servers.

use strict;
use warnings;

use Errno qw(EROFS);
use FindBin;
use lib $FindBin::RealBin;    # PgfsTest.pm
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use PgfsTest;
use Test::More;

my $db = 'postgres';

my $primary = pgfs_node('primary', allows_streaming => 1);
pgfs_create_extension($primary, $db);
pgfs_tree_phase0($primary, $db);
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->start;

pgfs_tree_phase1($primary, $db);
$primary->wait_for_catchup($standby, 'replay');
my $m1 = manifest_sql($primary, $db);
manifest_is(manifest_sql($standby, $db), $m1, 'the standby has the primary\'s tree');
pgfs_fsck_is_clean($standby, $db, 'fsck runs on the standby and is clean');
is( $standby->safe_psql($db, 'SELECT pgfs_store_id()'),
	$primary->safe_psql($db, 'SELECT pgfs_store_id()'),
	'the standby has the primary\'s store id');
is( $standby->safe_psql($db,
		q{SELECT encode(pgfs_read('/data/rand-300k.bin', 131070, 4), 'hex')}),
	$primary->safe_psql($db,
		q{SELECT encode(pgfs_read('/data/rand-300k.bin', 131070, 4), 'hex')}),
	'a ranged read across a chunk boundary works on the standby');

# Every writing function of the path API fails as a read-only transaction.
for my $sql (
	q{SELECT pgfs_write('/standby.txt', 'x'::bytea)},
	q{SELECT pgfs_append('/docs/readme.txt', 'x'::bytea)},
	q{SELECT pgfs_mkdir('/standby-dir')},
	q{SELECT pgfs_unlink('/docs/readme.txt')},
	q{SELECT pgfs_rename('/docs', '/docs2')},
	q{SELECT pgfs_truncate('/docs/big.txt', 0)},
	q{SELECT pgfs_setxattr('/docs/readme.txt', 'user.x', 'y'::bytea)},
	q{SELECT pgfs_reclaim_orphans()})
{
	my ($ret, $stdout, $stderr) =
	  $standby->psql($db, "\\set VERBOSITY verbose\n$sql");
	like($stderr, qr/ERROR:  25006:/, "on the standby, $sql fails with SQLSTATE 25006");
}

my $why_no_mount = mount_unavailable();
SKIP:
{
	skip "no mount: $why_no_mount", 25 if $why_no_mount;

	# A read-write mount of a standby is refused, and says why.
	my $rw = eval { mount_store($standby, $db, '') };
	my $err = $@;
	ok(!defined $rw, 'a read-write mount of the standby fails');
	like($err, qr/-o ro/, 'and its message says to mount with -o ro');
	unmount_store($rw) if defined $rw;

	# Anything the test wrote to the standby's log so far is not the daemon's.
	my $log_offset = -s $standby->logfile;

	my $mnt = mount_store($standby, $db, 'ro');
	manifest_is(manifest_mount($mnt), $m1, 'the read-only mount shows the tree', mtime => 's');

	# Writes through the mount fail with EROFS.
	my %writes = (
		'create a file'    => sub { open(my $fh, '>', "$mnt/new.txt") },
		'open for append'  => sub { open(my $fh, '>>', "$mnt/docs/readme.txt") },
		'mkdir'            => sub { mkdir "$mnt/newdir" },
		'unlink'           => sub { unlink "$mnt/docs/readme.txt" },
		'rename'           => sub { rename "$mnt/docs/readme.txt", "$mnt/docs/r2" },
		'symlink'          => sub { symlink 'x', "$mnt/newlink" },
		'link'             => sub { link "$mnt/links/target", "$mnt/newhard" },
		'chmod'            => sub { chmod 0600, "$mnt/docs/readme.txt" },
		'truncate'         => sub { truncate "$mnt/docs/big.txt", 0 },
		'rmdir'            => sub { rmdir "$mnt/data/nested/deep" },);
	for my $what (sort keys %writes)
	{
		$! = 0;
		my $ok = $writes{$what}->();
		my $errno = $! + 0;
		ok(!$ok && $errno == EROFS, "$what through the read-only mount fails with EROFS")
		  or diag("got " . ($ok ? 'success' : "errno $errno ($!)"));
	}

	# What the primary writes appears through the mount once replayed (the
	# kernel caches attributes and names for up to 1 s).
	pgfs_tree_phase2($primary, $db);
	$primary->wait_for_catchup($standby, 'replay');
	my $m2 = manifest_sql($primary, $db);
	my $seen;
	for (my $i = 0; $i < 100; $i++)
	{
		$seen = manifest_mount($mnt);
		last if join("\n", manifest_lines($seen, mtime => 's')) eq
		  join("\n", manifest_lines($m2, mtime => 's'));
		Time::HiRes::usleep(100_000);
	}
	manifest_is($seen, $m2, 'changes on the primary appear through the standby\'s mount',
		mtime => 's');
	ok(unmount_store($mnt), 'the read-only mount unmounts cleanly');

	# The daemon's statements, as the standby logged them (log_statement =
	# all, log_line_prefix with the application name).
	my $slog = slurp_file($standby->logfile, $log_offset);
	my @daemon = grep { /\] pgfs-fuse / } split /\n/, $slog;
	my @writing = grep {
		/pgfs_ll_(setattr|write|create|mkdir|mknod|symlink|link|unlink|rmdir|rename|setxattr|removexattr|client_begin|open|reopen|release)\b|pgfs_reclaim_orphans/
	} @daemon;
	ok(scalar(grep { /(statement|execute [^:]*):/ } @daemon) > 0,
		'the standby logged the daemon\'s statements');
	is(join("\n", @writing), '', 'the read-only daemon sent no writing function');
	is(join("\n", grep { /read-only transaction/ } split /\n/, $slog),
		'', 'the standby rejected no write from the mount');

	# Failover: a read-write mount that names both servers and asks for the
	# writable one follows the promotion.  It reconnects, notices the new
	# timeline (and drops its caches), and writes go to the new primary.
	my $both = sprintf(
		'host=%s,%s port=%d,%d dbname=%s target_session_attrs=read-write',
		$primary->host, $standby->host, $primary->port, $standby->port, $db);
	my $fo = eval { mount_store($primary, $db, '', $both) };
	ok(defined $fo, 'failover: a read-write mount naming both servers comes up') or diag($@);
  SKIP:
	{
		skip 'the mount did not come up', 8 unless defined $fo;
		ok(_write_file("$fo/before-failover.txt", "written on the primary\n"),
			'failover: write through the mount on the primary');
		$primary->wait_for_catchup($standby, 'replay');
		$primary->stop;
		$standby->promote;
		pgfs_wait_until_promoted($standby);
		promoted_grace($standby);
		ok(_write_file("$fo/after-failover.txt", "written on the new primary\n"),
			'failover: write through the same mount after the promotion')
		  or diag(mount_log($fo));
		is( $standby->safe_psql($db,
				q{SELECT convert_from(pgfs_read('/before-failover.txt') || pgfs_read('/after-failover.txt'), 'UTF8')}),
			"written on the primary\nwritten on the new primary\n",
			'failover: the new primary has both files');
		manifest_is(manifest_mount($fo), manifest_sql($standby, $db),
			'failover: the mount shows the new primary\'s tree', mtime => 's');
		like(mount_log($fo), qr/store changed under the mount/,
			'failover: the daemon noticed the new timeline')
		  or diag('after the promotion: timeline of the last checkpoint '
			  . $standby->safe_psql($db, 'SELECT timeline_id FROM pg_control_checkpoint()')
			  . ', timeline of the current WAL '
			  . $standby->safe_psql($db,
				  q{SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int}));
		ok(unmount_store($fo), 'failover: the mount unmounts cleanly');
	}
}

# A promoted server's pgfs.lock_grace counts from the promotion, when the
# mounts lost the open handles they had registered with it (its unlogged
# table starts empty), not from its start: pgfs_reclaim_orphans() frees
# nothing until the grace ends.  With a grace between the two ages it must
# say so.
sub promoted_grace
{
	my ($node) = @_;
	# the ages and the reclaim in one session, a moment apart
	my ($rc, $out, $err) = $node->psql(
		$db, q{
		SELECT set_config('pgfs.lock_grace', ((up + promoted) / 2)::int::text, false), up, promoted
		FROM (SELECT extract(epoch FROM now() - pg_postmaster_start_time()) AS up,
		             extract(epoch FROM now() - (pg_stat_file('pg_wal/'
		                 || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)
		                 || '.history')).modification) AS promoted) a;
		SELECT pgfs_reclaim_orphans()});
	my ($grace, $up, $promoted, $freed) = split /[|\n]/, $out;
  SKIP:
	{
		skip "promoted too soon after the start ($up s, $promoted s ago) to tell them apart", 2
		  if $rc == 0 && $up - $promoted < 3;
		ok($rc == 0 && $freed eq '0' && $err =~ /no orphans reclaimed/,
			"promotion: no reclaim within the grace ($grace s) after the promotion, "
			  . "though the server started before it")
		  or diag("up $up s, promoted $promoted s ago: $out $err");
		($rc, $out, $err) = $node->psql($db,
			'SET pgfs.lock_grace = 0; SELECT pgfs_reclaim_orphans()');
		ok($rc == 0 && $err !~ /no orphans reclaimed/, 'promotion: after it, reclaim works')
		  or diag($err);
	}
}

sub _write_file
{
	my ($path, $data) = @_;
	my $fh;
	return open($fh, '>', $path) && print($fh $data) && close($fh);
}

done_testing();
