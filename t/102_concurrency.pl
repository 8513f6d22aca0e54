# Copyright (c) pgfs contributors

# Many clients at once on one store.
#
# SQL: pgbench runs the scripts of test/load (creates, writes, appends,
# renames across directories, unlinks, readdirs, directories moved into
# each other, x-into-y-while-y-into-x cycle attempts, multi-call and
# REPEATABLE READ transactions).  Each pgfs call goes through load_try()
# (test/load/setup.sql), which counts pgfs errors (class PF, e.g. ENOENT
# because another client removed the file) and raises everything else
# again: pgbench --max-tries retries 40001 and 40P01, and any other error
# aborts its client, which fails this test.  The PF codes met must all be
# documented ones (pgfs_errcodes()).
#
# Mounts: three pgfs-fuse mounts of the same store, two writers on each.  A
# writer rewrites, appends, renames across its two directories, replaces
# through a temporary file and unlinks its own files, and now and then
# renames shared files and moves shared directories into each other (cycle
# attempts across mounts, where no kernel can see the whole tree).  Its own
# operations must all succeed; shared ones may fail only as a lost race does
# (ENOENT, EINVAL, ENOTEMPTY, EEXIST, EBUSY, ENOTDIR, and the kernel's
# ESTALE and ELOOP for directories another mount moved); an EIO or EDEADLK,
# a deadlock or serialization failure reaching the user, fails.
#
# Both run at the same time for 30 s, or PGFS_LOAD_SECONDS, or 300 s with
# PGFS_LOAD_LONG=1.  Then: pgfs_fsck() is clean after
# pgfs_reclaim_orphans(); every record file under /load/f is intact; each
# writer's files are exactly what it last wrote, through SQL and through
# every mount; each shared directory exists once and the shared files are
# the original ones, none duplicated.
#
# The pgbench scripts are read from test/load: next to t/ when the tests run
# from the source tree (prove, make installcheck), or from PGFS_LOAD_DIR.
# Without them (t/run.sh copies only t/) the pgbench half is skipped.  The
# PGFS_* variables reach the test when prove or make installcheck runs in
# the source tree; t/run.sh starts tests with a fixed environment.

use strict;
use warnings;

use Digest::MD5 qw(md5 md5_hex);
use Errno;
use Fcntl qw(O_WRONLY O_CREAT O_TRUNC O_APPEND O_EXCL);
use FindBin;
use IO::Handle;
use IPC::Run ();
use POSIX ();
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib $FindBin::RealBin;    # PgfsTest.pm
use PgfsTest;

my $LONG     = $ENV{PGFS_LOAD_LONG} ? 1 : 0;
my $DURATION = $ENV{PGFS_LOAD_SECONDS} || ($LONG ? 300 : 30);
my $CLIENTS  = 8;
my $NMOUNTS  = 3;
my $WRITERS  = 2 * $NMOUNTS;
my $DB       = 'postgres';

# pgbench scripts and their weights
my @SCRIPTS = (
	[ 'files_write.sql',  6 ], [ 'files_append.sql', 3 ],
	[ 'files_rename.sql', 4 ], [ 'files_unlink.sql', 2 ],
	[ 'files_read.sql',   4 ], [ 'files_multi.sql',  1 ],
	[ 'files_rr.sql',     1 ], [ 'tree_move.sql',    4 ],
	[ 'tree_readdir.sql', 1 ], [ 'cycle.sql',        1 ]);

my ($loaddir) = grep { defined && -f "$_/setup.sql" }
  ($ENV{PGFS_LOAD_DIR}, "$FindBin::RealBin/../test/load", 'test/load');
my $why_no_mount = mount_unavailable();

my $node = pgfs_node('load');
# durability on; deadlocks of multi-call transactions found quickly
$node->append_conf('postgresql.conf', <<'EOC');
fsync = on
synchronous_commit = on
deadlock_timeout = 50ms
log_statement = none
log_lock_waits = on
EOC
$node->restart;
pgfs_create_extension($node, $DB);
my @ERRCODES = split /\n/, $node->safe_psql($DB, 'SELECT sqlstate FROM pgfs_errcodes()');

# ---------------------------------------------------------------------------
# Mount writers
# ---------------------------------------------------------------------------

my @SHARED_DIRS = map { "s$_" } 0 .. 5;
# How a move or rename of a shared name may fail when another client changed
# the tree first.  ESTALE and ELOOP come from the kernel, not from pgfs: a
# directory has one dentry per mount, and when a lookup during rename finds
# it moved (by another mount) the VFS cannot re-attach it while it holds the
# rename lock (__d_unalias), or finds it above the target (loop).
my %SHARED_ERRNO_OK =
  map { $_ => 1 } qw(ENOENT EINVAL ENOTEMPTY EEXIST EBUSY ENOTDIR ESTALE ELOOP);

sub gen_bytes
{
	my ($seed, $n) = @_;
	my $s = '';
	$s .= md5($seed . $_) for 0 .. int($n / 16);
	return substr($s, 0, $n);
}

sub errno_name
{
	my ($name) = grep { $!{$_} } keys %!;
	return $name // ('errno ' . ($! + 0));
}

sub pick { return $_[ int rand @_ ] }

# Write all of $data to $path opened with $flags, fsync, close; undef or
# the error.
sub write_file
{
	my ($path, $flags, $data, $bs) = @_;
	sysopen(my $fh, $path, $flags, 0644) or return 'open: ' . errno_name();
	for (my $off = 0; $off < length $data;)
	{
		my $n = length($data) - $off;
		$n = $bs if $n > $bs;
		my $w = syswrite($fh, $data, $n, $off);
		return 'write: ' . errno_name() unless defined $w;
		$off += $w;
	}
	$fh->sync or return 'fsync: ' . errno_name();
	close $fh or return 'close: ' . errno_name();
	return undef;
}

# The current path of each shared directory as this mount sees it.
sub shared_dir_paths
{
	my ($root) = @_;
	my %where;
	my @todo = ($root);
	while (my $dir = shift @todo)
	{
		opendir(my $dh, $dir) or next;
		for my $e (readdir $dh)
		{
			next unless $e =~ /^s\d+$/;
			$where{$e} = "$dir/$e";
			push @todo, "$dir/$e";
		}
		closedir $dh;
	}
	return \%where;
}

# The body of writer $k: own files under /mw/w$k/{a,b}, shared renames under
# /ms, until $deadline.  Reports to $out: "F path length md5" per own file
# at the end, "S op errno count" per failed shared operation kind, "X ..."
# for what must not happen, "N count" operations done.
sub mount_writer
{
	my ($k, $mnt, $deadline, $seed, $out) = @_;
	srand($seed);
	my %files;    # own path -> content
	my (%shared_err, @bad);
	my @own = map { my $d = $_; map { "/mw/w$k/$d/f$_" } 0 .. 5 } qw(a b);
	my $n = 0;
	while (time < $deadline && @bad < 10)
	{
		$n++;
		my $r = rand;
		my $err;
		if ($r < 0.30)
		{
			my $p = pick(@own);
			my $c = gen_bytes("w$k-$n", int(rand 200000));
			$err = write_file("$mnt$p", O_WRONLY | O_CREAT | O_TRUNC, $c,
				pick(4096, 65536, 1048576, 1 + int(rand 50000)));
			$files{$p} = $c unless $err;
			$err = "rewrite $p: $err" if $err;
		}
		elsif ($r < 0.45)
		{
			my $p = pick(@own);
			my $c = gen_bytes("w$k-$n", int(rand 30000));
			$err = write_file("$mnt$p", O_WRONLY | O_CREAT | O_APPEND, $c, 65536);
			$files{$p} = ($files{$p} // '') . $c unless $err;
			$err = "append $p: $err" if $err;
		}
		elsif ($r < 0.55)
		{
			my $p = pick(@own);
			(my $tmp = $p) =~ s{/[^/]+$}{/tmp$n};
			my $c = gen_bytes("w$k-$n", int(rand 100000));
			$err = write_file("$mnt$tmp", O_WRONLY | O_CREAT | O_EXCL, $c, 65536);
			if (!$err)
			{
				if (rename("$mnt$tmp", "$mnt$p")) { $files{$p} = $c }
				else { $err = 'rename: ' . errno_name() }
			}
			$err = "replace $p: $err" if $err;
		}
		elsif ($r < 0.68)
		{
			my @have = sort keys %files;
			next unless @have;
			my $p = pick(@have);
			my $q = pick(grep { $_ ne $p } @own);
			if (rename("$mnt$p", "$mnt$q")) { $files{$q} = delete $files{$p} }
			else { $err = "rename $p $q: " . errno_name() }
		}
		elsif ($r < 0.75)
		{
			my @have = sort keys %files;
			next unless @have;
			my $p = pick(@have);
			if (unlink("$mnt$p")) { delete $files{$p} }
			else { $err = "unlink $p: " . errno_name() }
		}
		elsif ($r < 0.88)
		{
			# move a shared directory into another one, or back home
			my $where = shared_dir_paths("$mnt/ms");
			my ($a, $b) = (pick(@SHARED_DIRS), pick(@SHARED_DIRS));
			next unless $where->{$a} && $where->{$b};
			my $to = rand() < 0.3 ? "$mnt/ms/$a" : "$where->{$b}/$a";
			next if $to eq $where->{$a};
			next if rename($where->{$a}, $to);
			my $e = errno_name();
			$shared_err{"dir $e"}++;
			push @bad, "shared directory move $where->{$a} -> $to: $e"
			  unless $SHARED_ERRNO_OK{$e};
			next;
		}
		else
		{
			# rename a shared file, maybe into the other directory
			my $from = '/ms/' . pick('g1', 'g2') . '/f' . int(rand 8);
			my $to   = '/ms/' . pick('g1', 'g2') . '/f' . int(rand 8);
			next if $from eq $to || rename("$mnt$from", "$mnt$to");
			my $e = errno_name();
			$shared_err{"file $e"}++;
			push @bad, "shared rename $from -> $to: $e" unless $SHARED_ERRNO_OK{$e};
			next;
		}
		push @bad, $err if $err;
	}
	open my $fh, '>', $out or die "$out: $!";
	printf $fh "F %s %d %s\n", $_, length $files{$_}, md5_hex($files{$_})
	  for sort keys %files;
	print $fh "S $_ $shared_err{$_}\n" for sort keys %shared_err;
	print $fh "X $_\n" for @bad;
	print $fh "N $n\n";
	close $fh;
	return;
}

sub spawn
{
	my ($body) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0)
	{
		eval { $body->(); 1 } or print STDERR "writer $$ died: $@";
		POSIX::_exit(0);
	}
	return $pid;
}

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------

SKIP:
{
	skip 'test/load not found (t/run.sh copies only t/: run from the source tree or set PGFS_LOAD_DIR)', 1
	  unless $loaddir;
	$node->command_ok(
		[
			'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $node->connstr($DB),
			'-o', '/dev/null', '-f', "$loaddir/setup.sql"
		],
		'test/load/setup.sql');
}

my %shared_content;
my @mounts;
if ($why_no_mount)
{
	note "no mounts: $why_no_mount";
}
else
{
	my $sql = join '',
	  map { "SELECT pgfs_mkdir('/mw/w$_/a', NULL, true), pgfs_mkdir('/mw/w$_/b');\n" }
	  0 .. $WRITERS - 1;
	$sql .= "SELECT pgfs_mkdir('/ms/$_', NULL, true);\n" for @SHARED_DIRS;
	$sql .= "SELECT pgfs_mkdir('/ms/g2');\n";
	for my $i (0 .. 7)
	{
		$shared_content{ md5_hex(gen_bytes("shared-$i", 5000 + $i)) } = "f$i";
		$sql .= "SELECT pgfs_write('/ms/g1/f$i', pgfs_test_bytes('shared-$i', "
		  . (5000 + $i) . "));\n";
	}
	$node->safe_psql($DB, "SELECT pgfs_mkdir('/ms/g1', NULL, true);\n$sql");
	push @mounts, mount_store($node, $DB, undef) for 1 .. $NMOUNTS;
}

# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------

my $outdir = "$PostgreSQL::Test::Utils::log_path/102_concurrency-writers";
mkdir $outdir;
my $start    = time;
my $deadline = $start + $DURATION;
my @writers;
for my $k (0 .. ($#mounts >= 0 ? $WRITERS - 1 : -1))
{
	my $mnt  = $mounts[ $k % @mounts ];
	my $seed = int(rand 2**31);
	my $out  = "$outdir/w$k.out";
	unlink $out;
	push @writers, [ $k, spawn(sub { mount_writer($k, $mnt, $deadline, $seed, $out) }), $out ];
}

my ($pgb_out, $pgb_err) = ('', '');
my $pgb_ok;
if ($loaddir)
{
	my @cmd = (
		'pgbench', '-n', '-h', $node->host, '-p', $node->port,
		'-c', $CLIENTS, '-j', 2, '-T', $DURATION,
		'--max-tries=20', '--failures-detailed',
		(map { ('-f', "$loaddir/$_->[0]\@$_->[1]") } @SCRIPTS), $DB);
	note "running: @cmd";
	$pgb_ok = IPC::Run::run(\@cmd, '<', \undef, '>', \$pgb_out, '2>', \$pgb_err);
}
else
{
	my $wait = $deadline - time;
	Time::HiRes::sleep($wait) if $wait > 0;
}
for my $w (@writers)
{
	waitpid($w->[1], 0);
}
note sprintf('ran for %.0f s', time - $start);

# ---------------------------------------------------------------------------
# pgbench: only retryable SQLSTATEs and documented pgfs errors
# ---------------------------------------------------------------------------

SKIP:
{
	skip 'no test/load', 4 unless $loaddir;
	my %stat;
	for my $key ('number of transactions actually processed', 'number of failed transactions',
		'number of serialization failures', 'number of deadlock failures',
		'number of transactions retried', 'total number of retries')
	{
		($stat{$key}) = $pgb_out =~ /^\Q$key\E: (\d+)/m;
	}
	my ($tps) = $pgb_out =~ /^tps = ([\d.]+)/m;
	note "pgbench: $_ = " . ($stat{$_} // '?') for sort keys %stat;
	note "pgbench: tps = " . ($tps // '?');
	my ($script, @retried);
	for (split /\n/, $pgb_out)
	{
		$script = $1 if /^SQL script \d+: (\S+)/;
		push @retried, "$script $1" if $script && /^ - number of transactions retried: (\d+)/;
	}
	note 'pgbench transactions retried per script: ' . join(', ', @retried);

	ok($pgb_ok, 'pgbench exited 0') or diag("pgbench stderr:\n$pgb_err\nstdout:\n$pgb_out");
	my @errors = grep { /error|abort/i } split /\n/, $pgb_err;
	ok(!@errors, 'no client met an error other than a retryable one or a pgfs error')
	  or diag(join("\n", @errors[ 0 .. ($#errors < 30 ? $#errors : 30) ]));
	ok(($stat{'number of transactions actually processed'} // 0) > 0, 'transactions ran');

	my $met = $node->safe_psql($DB,
		'SELECT state, sum(n) FROM load_errors GROUP BY 1 ORDER BY 1');
	note "pgfs errors met by pgbench clients (sqlstate|count):\n$met";
	my %doc = map { $_ => 1 } @ERRCODES;
	my @undoc = grep { !$doc{ (split /\|/)[0] } } split /\n/, $met;
	ok(!@undoc, 'every pgfs error is a documented one') or diag("undocumented: @undoc");
}

# ---------------------------------------------------------------------------
# Mount writers
# ---------------------------------------------------------------------------

SKIP:
{
	skip "no mounts: $why_no_mount", 1 unless @mounts;

	my (%want, %shared_err, $ops);
	for my $w (@writers)
	{
		my ($k, undef, $out) = @$w;
		my (@bad, %files);
		if (open my $fh, '<', $out)
		{
			while (<$fh>)
			{
				chomp;
				if (/^F (\S+) (\d+) (\S+)$/) { $files{$1} = { size => $2, md5 => $3 } }
				elsif (/^S (.+) (\d+)$/) { $shared_err{$1} += $2 }
				elsif (/^X (.*)$/)       { push @bad, $1 }
				elsif (/^N (\d+)$/)      { $ops += $1 }
			}
			close $fh;
		}
		else
		{
			push @bad, "no report: $!";
		}
		$want{$k} = \%files;
		ok(!@bad, "writer $k (mount " . ($k % @mounts) . '): no error reached the user')
		  or diag(join("\n", @bad));
	}
	note "mount writers: $ops operations; lost races on shared names: "
	  . join(', ', map { "$_ $shared_err{$_}" } sort keys %shared_err);

	# every writer's files are what it last wrote: through SQL ...
	my @diff;
	for my $k (sort keys %want)
	{
		my $out = $node->safe_psql(
			$DB, qq{
SELECT d.dir || '/' || e.name, s.size, md5(pgfs_read(d.dir || '/' || e.name))
  FROM unnest(ARRAY['/mw/w$k/a', '/mw/w$k/b']) d(dir)
 CROSS JOIN LATERAL pgfs_readdir(d.dir) e
 CROSS JOIN LATERAL pgfs_lstat(d.dir || '/' || e.name) s},
			extra_params => [ '-F', ' ' ]);
		my %got = map { my @f = split / /; ($f[0] => { size => $f[1], md5 => $f[2] }) }
		  split /\n/, $out;
		for my $p (sort keys %{ $want{$k} })
		{
			my ($w, $g) = ($want{$k}{$p}, $got{$p});
			push @diff, $g
			  ? "$p: $g->{size} bytes md5 $g->{md5}, written $w->{size} bytes md5 $w->{md5}"
			  : "$p: missing"
			  if !$g || $g->{md5} ne $w->{md5};
		}
		push @diff, "$_: not written by its writer" for grep { !$want{$k}{$_} } sort keys %got;
	}
	ok(!@diff, "the store has each writer's last write") or diag(join("\n", @diff));

	# ... and through every mount, after the attribute caches expired
	usleep(1_200_000);
	for my $i (0 .. $#mounts)
	{
		my @mdiff;
		for my $k (sort keys %want)
		{
			for my $d ('a', 'b')
			{
				my $dir = "$mounts[$i]/mw/w$k/$d";
				opendir(my $dh, $dir) or push(@mdiff, "opendir $dir: $!"), next;
				my @names = sort grep { !/^\.\.?$/ } readdir $dh;
				closedir $dh;
				my @exp = sort map { m{/([^/]+)$} } grep { m{^/mw/w$k/$d/} } keys %{ $want{$k} };
				push @mdiff, "/mw/w$k/$d lists [@names], expected [@exp]" if "@names" ne "@exp";
			}
			for my $p (sort keys %{ $want{$k} })
			{
				open(my $fh, '<:raw', "$mounts[$i]$p") or push(@mdiff, "open $p: $!"), next;
				my $md5 = Digest::MD5->new->addfile($fh)->hexdigest;
				close $fh;
				push @mdiff, "$p: md5 $md5, expected $want{$k}{$p}{md5}"
				  if $md5 ne $want{$k}{$p}{md5};
			}
		}
		ok(!@mdiff, "mount $i shows every writer's last write") or diag(join("\n", @mdiff));
	}

	# shared directories: each once, in one tree; shared files: the
	# originals, none twice
	my $tree = $node->safe_psql(
		$DB, q{
WITH RECURSIVE walk(path, type) AS (
    SELECT '/ms'::text, 'directory'::text
  UNION ALL
    SELECT w.path || '/' || d.name, d.type
      FROM walk w CROSS JOIN LATERAL pgfs_readdir(w.path) d
     WHERE w.type = 'directory'
)
SELECT path, type, CASE WHEN type = 'file' THEN md5(pgfs_read(path)) END
  FROM walk ORDER BY path});
	my (%dirs, %seen, @sdiff);
	for my $line (split /\n/, $tree)
	{
		my ($path, $type, $md5) = split /\|/, $line, -1;
		$dirs{$1}++ if $type eq 'directory' && $path =~ m{/(s\d+)$};
		next unless $type eq 'file';
		push @sdiff, "$path is not one of the shared files" unless $shared_content{$md5};
		push @sdiff, "$path duplicates $seen{$md5}" if $seen{$md5};
		$seen{$md5} = $path;
	}
	push @sdiff, "shared directory $_ appears " . ($dirs{$_} // 0) . ' times'
	  for grep { ($dirs{$_} // 0) != 1 } @SHARED_DIRS;
	ok(!@sdiff, 'shared directories and files are intact') or diag(join("\n", @sdiff));
	note "shared tree:\n" . join("\n", map { (split /\|/)[0] } grep { /\|directory\|/ } split /\n/, $tree);
}

# ---------------------------------------------------------------------------
# The whole store
# ---------------------------------------------------------------------------

SKIP:
{
	skip 'no test/load', 2 unless $loaddir;
	my $bad = $node->safe_psql(
		$DB, q{
SELECT p, load_check(pgfs_read(p))
  FROM generate_series(0, 7) d
 CROSS JOIN LATERAL pgfs_readdir('/load/f/d' || d) e
 CROSS JOIN LATERAL (SELECT '/load/f/d' || d || '/' || e.name) x(p)
 WHERE load_check(pgfs_read(p)) IS NOT NULL});
	is($bad, '', 'every file under /load/f is a sequence of intact records');
	is($node->safe_psql($DB,
			'SELECT count(*) FROM load_dirs WHERE n >= 0 AND load_path(n) IS NULL'),
		'0', 'every moving directory is still reachable from /load/t');
}

my $freed = $node->safe_psql($DB, 'SELECT pgfs_reclaim_orphans()');
note "pgfs_reclaim_orphans() freed $freed";
pgfs_fsck_is_clean($node, $DB, 'pgfs_fsck() is clean');

for my $i (0 .. $#mounts)
{
	ok(mount_daemon_alive($mounts[$i]), "pgfs-fuse of mount $i is still running")
	  or diag(mount_log($mounts[$i]));
	my @errs = grep { /unexpected server error|deadlock|serializ/i } split /\n/,
	  mount_log($mounts[$i]);
	ok(!@errs, "pgfs-fuse of mount $i logged no unexpected server error")
	  or diag(join("\n", @errs[ 0 .. ($#errs < 20 ? $#errs : 20) ]));
	unmount_store($mounts[$i]);
}
$node->stop;
done_testing();
