
# Copyright (c) pgfs contributors

# pgBackRest: full and incremental backups with WAL archived by
# archive-push, restored to points in time into new data directories.
#
#   phase 0 -> full backup -> phase 1 -> T1 -> incremental backup
#     -> more changes -> T2 -> phase 2
#
# A restore to T1 is built from the full backup plus WAL, one to T2 from the
# incremental (on top of the full) plus WAL; each must show exactly the tree
# of its instant.  The repository, locks, logs and the configuration live in
# the test's temporary directory; pgBackRest runs as the cluster's OS user.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;    # PgfsTest.pm
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use PgfsTest;
use Test::More;

my $db     = 'postgres';
my $stanza = 'pgfs';

my ($version) = eval { run_command([ 'pgbackrest', 'version' ]) };
plan skip_all => 'pgbackrest is not installed or does not run'
  unless defined $version && $version =~ /pgBackRest/;
note $version;

my $primary = pgfs_node('primary', allows_streaming => 1);
my $dir     = PostgreSQL::Test::Utils::tempdir('pgbackrest');
my $conf    = "$dir/pgbackrest.conf";
mkdir "$dir/$_" for qw(repo log lock spool);
PostgreSQL::Test::Utils::append_to_file(
	$conf, <<"EOC");
[global]
repo1-path=$dir/repo
repo1-retention-full=2
log-path=$dir/log
lock-path=$dir/lock
spool-path=$dir/spool
log-level-console=warn
log-level-file=detail
start-fast=y
compress-type=gz
compress-level=1

[$stanza]
pg1-path=${\ $primary->data_dir}
pg1-port=${\ $primary->port}
pg1-socket-path=${\ $primary->host}
EOC
$primary->append_conf(
	'postgresql.conf', <<"EOC");
archive_mode = on
archive_command = 'pgbackrest --config=$conf --stanza=$stanza archive-push %p'
EOC
$primary->restart;

my @pgbackrest = ('pgbackrest', "--config=$conf", "--stanza=$stanza");

# Passes when the command succeeds, showing its output otherwise; returns
# the output when it succeeded.
sub pgbackrest_ok
{
	my ($name, @args) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($stdout, $stderr);
	my $ok = IPC::Run::run([ @pgbackrest, @args ], '>', \$stdout, '2>', \$stderr);
	print "# pgbackrest @args\n$stdout$stderr";
	ok($ok, $name) or diag("pgbackrest @args:\n$stdout$stderr");
	return $ok ? "$stdout$stderr" : undef;
}

if (!defined pgbackrest_ok('stanza-create', 'stanza-create'))
{
	done_testing();
	exit;
}
pgbackrest_ok('check: archiving works', 'check');

pgfs_create_extension($primary, $db);
pgfs_tree_phase0($primary, $db);
pgbackrest_ok('full backup', '--type=full', 'backup');

pgfs_tree_phase1($primary, $db);
my $m1 = manifest_sql($primary, $db);
sleep 1;
my $t1 = $primary->safe_psql($db, 'SELECT clock_timestamp()');
sleep 1;

pgbackrest_ok('incremental backup', '--type=incr', 'backup');
$primary->safe_psql(
	$db, q{
SELECT pgfs_mkdir('/after-incr');
SELECT pgfs_write('/after-incr/a.bin', pgfs_test_bytes('after-incr', 150000));
SELECT pgfs_write('/data/rand-64k.bin', 'between the backups'::bytea, 65530);
SELECT pgfs_copy('/docs/big.txt', '/after-incr/big-copy.txt');
SELECT pgfs_unlink('/links/dangling');
});
my $m2 = manifest_sql($primary, $db);
manifest_isnt($m2, $m1, 'the changes after the incremental backup change the manifest');
sleep 1;
my $t2 = $primary->safe_psql($db, 'SELECT clock_timestamp()');
sleep 1;

pgfs_tree_phase2($primary, $db);
manifest_isnt(manifest_sql($primary, $db), $m2, 'phase 2 changes the manifest');
$primary->safe_psql($db, 'SELECT pg_switch_wal()');
pgbackrest_ok('check: WAL up to now is archived', 'check');

my $info = `@pgbackrest info 2>&1`;
print "# pgbackrest info\n$info";
like($info, qr/full backup.*incr backup/s, 'the repository has a full and an incremental backup');

my $why_no_mount = mount_unavailable();

# pgBackRest picks the newest backup that ended before the target time:
# the full one for T1, the incremental one for T2.
for my $t ([ 't1', $t1, $m1, qr/F$/ ], [ 't2', $t2, $m2, qr/I$/ ])
{
	my ($name, $time, $expected, $set_re) = @$t;
	my $node = PostgreSQL::Test::Cluster->new("restored_$name");
	mkdir $node->data_dir, 0700;
	my $out = pgbackrest_ok(
		"$name: restore --type=time",
		'--pg1-path=' . $node->data_dir,
		'--log-level-console=info',
		'--type=time', "--target=$time", '--target-action=promote', 'restore');
	next unless defined $out;
	my ($set) = $out =~ /restore backup set ([0-9FDI_-]+)/;
	like($set // '(none)', $set_re, "$name: restored from backup set " . ($set // '(none)'));
	# The restored configuration is the primary's: give the copy its own
	# port and socket directory, and do not archive into the primary's
	# stanza.
	$node->append_conf(
		'postgresql.conf', <<"EOC");
port = ${\ $node->port}
unix_socket_directories = '${\ $node->host}'
archive_mode = off
EOC
	$node->start;
	pgfs_wait_until_promoted($node);

	manifest_is(manifest_sql($node, $db), $expected, "$name: the tree at the target time");
	pgfs_fsck_is_clean($node, $db, "$name: fsck is clean");

	SKIP:
	{
		skip "no mount: $why_no_mount", 1 if $why_no_mount;
		my $mnt = mount_store($node, $db, 'ro');
		manifest_is(manifest_mount($mnt), $expected,
			"$name: the tree at the target time through a read-only mount",
			mtime => 's');
		unmount_store($mnt);
	}
	$node->stop;
}

done_testing();
