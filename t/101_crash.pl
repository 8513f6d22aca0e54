# Copyright (c) pgfs contributors

# Crash test: nothing acknowledged is ever lost.
#
# Several writers change their own part of one store while, at random
# moments, the server or the mount daemon is killed:
#
#   - SQL clients (psql coprocesses): transactions of one to three calls
#     (pgfs_write, pgfs_append, pgfs_write at an offset, pgfs_truncate,
#     pgfs_rename across directories, pgfs_unlink, pgfs_copy, pgfs_link),
#     some rolled back.  A transaction is acknowledged when the "\echo"
#     after its COMMIT prints, that is after COMMIT returned.
#   - a mount writer: rewrite with O_TRUNC, write-temporary-fsync-rename,
#     append, write at an offset, the same in 4 KiB pieces from the end
#     back (scattered writes, which the daemon sends as pieces of one
#     statement), truncate, rename, unlink through a pgfs-fuse mount.  An operation is acknowledged when fsync and close
#     (and the fsync of the directory after a rename or unlink, of both
#     directories after a rename across them) returned 0.
#
# Every file's content is derived from (seed, length) of the operation that
# wrote it, so each writer knows what every acknowledged operation left
# behind.  Each writer logs an operation before it starts ("T") and after it
# was acknowledged ("A").  After each crash the test restarts what it killed
# and checks, per writer, that its files are exactly the state after its
# last acknowledged operation, or after the one operation that was in
# flight.  For a transaction that is all or nothing; for the mount writer's
# in-flight operation unsynced data may be partly there, but only as a
# prefix of what that operation wrote (a suffix, for the pieces written from
# the end back), never old and new bytes mixed.  The
# same files are then read back through the mount, and pgfs_fsck() must be
# clean after pgfs_reclaim_orphans().
#
# Crashes: SIGKILL to the postmaster and all its processes at once, SIGKILL
# to the postmaster alone (its backends notice and exit), an immediate
# shutdown, and SIGKILL to pgfs-fuse followed by a lazy unmount and a new
# mount.  Then three targeted checks: an open-but-unlinked file of a killed
# daemon is reclaimed; an open-but-unlinked file of a live mount survives a
# server crash; a buffered write lost while the server was down is not
# reported as durable by a later fsync.
#
# Short mode (default) runs 12 crash cycles in about a minute;
# PGFS_CRASH_LONG=1 runs 120 (about ten minutes).  PGFS_CRASH_CYCLES
# overrides the count, PGFS_CRASH_SEED the random schedule (printed at the
# start).  These variables reach the test when prove or make installcheck
# runs in the source tree; t/run.sh starts tests with a fixed environment.  The
# writers' logs of the last cycle, and of a failing one, are kept in
# the log directory (101_crash-workers/).

use strict;
use warnings;

use Digest::MD5 qw(md5 md5_hex);
use Errno;
use Fcntl qw(O_WRONLY O_RDWR O_RDONLY O_CREAT O_TRUNC O_APPEND O_EXCL O_DIRECTORY);
use File::Copy ();
use File::Path qw(make_path);
use IO::Handle;
use IPC::Open2;
use POSIX ();
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

use lib $FindBin::RealBin;    # PgfsTest.pm
use PgfsTest;

my $LONG = $ENV{PGFS_CRASH_LONG} ? 1 : 0;
my $CYCLES = $ENV{PGFS_CRASH_CYCLES} || ($LONG ? 120 : 12);
my $SEED = $ENV{PGFS_CRASH_SEED} || ((time() * 1000 ^ $$) & 0x7fffffff);
my $NCLIENTS = 3;
my $DB = 'postgres';
my $MOUNT_WORKERS = 4;    # pgfs-fuse's default -o workers

srand($SEED);
note "crash schedule seed $SEED (set PGFS_CRASH_SEED=$SEED to repeat it), $CYCLES cycles";

my $why_no_mount = mount_unavailable();
my $logdir = "$PostgreSQL::Test::Utils::log_path/101_crash-workers";
make_path($logdir);

# ---------------------------------------------------------------------------
# Contents: the same bytes in Perl and in SQL.
# ---------------------------------------------------------------------------

# pgfs_test_bytes(seed, n) of PgfsTest: md5 blocks, incompressible
sub gen_bytes
{
	my ($seed, $n) = @_;
	my $s = '';
	$s .= md5($seed . $_) for 0 .. int($n / 16);
	return substr($s, 0, $n);
}

# crash_text(seed, n): the seed as lines, compresses well
sub gen_text
{
	my ($seed, $n) = @_;
	my $line = "$seed\n";
	return substr($line x (int($n / length $line) + 1), 0, $n);
}

sub gen_content
{
	my ($kind, $seed, $n) = @_;
	return $kind eq 'r' ? gen_bytes($seed, $n) : gen_text($seed, $n);
}

sub content_sql
{
	my ($kind, $seed, $n) = @_;
	return $kind eq 'r'
	  ? "pgfs_test_bytes('$seed', $n)"
	  : "crash_text('$seed', $n)";
}

sub write_at
{
	my ($old, $off, $data) = @_;
	$old .= "\0" x ($off - length $old) if $off > length $old;
	substr($old, $off, length $data) = $data;
	return $old;
}

sub truncated
{
	my ($old, $len) = @_;
	return $len <= length $old
	  ? substr($old, 0, $len)
	  : $old . ("\0" x ($len - length $old));
}

# lengths that cover empty files, chunk boundaries and several chunks
sub rand_len
{
	my $r = rand;
	return int(rand 2000) if $r < 0.25;
	return 2000 + int(rand 68000) if $r < 0.50;
	return (65535, 65536, 65537, 131072, 131073)[ int rand 5 ] if $r < 0.70;
	return 70000 + int(rand 230000) if $r < 0.95;
	return 300000 + int(rand 800000);
}

# ---------------------------------------------------------------------------
# The model of a writer's files: path -> id, id -> content.  Hard links
# share an id.
# ---------------------------------------------------------------------------

sub model_new { return { names => {}, data => {}, next => 1, txn => 1 } }

sub model_clone
{
	my ($m) = @_;
	return {
		names => { %{ $m->{names} } },
		data  => { %{ $m->{data} } },
		next  => $m->{next},
		txn   => $m->{txn}
	};
}

sub model_get
{
	my ($m, $p) = @_;
	return exists $m->{names}{$p} ? $m->{data}{ $m->{names}{$p} } : undef;
}

# set the content of path: of its inode when it exists, else of a new one
sub model_set
{
	my ($m, $p, $c) = @_;
	if (exists $m->{names}{$p})
	{
		$m->{data}{ $m->{names}{$p} } = $c;
	}
	else
	{
		my $id = $m->{next}++;
		$m->{names}{$p} = $id;
		$m->{data}{$id} = $c;
	}
	return;
}

sub model_drop
{
	my ($m, $p) = @_;
	my $id = delete $m->{names}{$p};
	delete $m->{data}{$id}
	  if defined $id && !grep { $_ == $id } values %{ $m->{names} };
	return;
}

# Apply one operation completely.  SQL and mount operations share letters
# where they mean the same: W/N (re)write whole file, A append, P write at
# an offset, T truncate, R rename, U unlink; C copy and L link are SQL only,
# S (write a temporary file, rename it over the target) mount only.
sub apply_op
{
	my ($m, $op) = @_;
	my ($t, @a) = @$op;
	if ($t eq 'W' || $t eq 'N')
	{
		model_set($m, $a[0], gen_content(@a[ 1 .. 3 ]));
	}
	elsif ($t eq 'S')
	{
		model_set($m, $a[0], gen_content(@a[ 2 .. 4 ]));
	}
	elsif ($t eq 'A')
	{
		model_set($m, $a[0], (model_get($m, $a[0]) // '') . gen_content(@a[ 1 .. 3 ]));
	}
	elsif ($t eq 'P' || $t eq 'Q')
	{
		model_set($m, $a[0],
			write_at(model_get($m, $a[0]) // '', $a[4], gen_content(@a[ 1 .. 3 ])));
	}
	elsif ($t eq 'T')
	{
		model_set($m, $a[0], truncated(model_get($m, $a[0]), $a[1]));
	}
	elsif ($t eq 'R')
	{
		my ($s, $d) = @a;
		# POSIX: renaming a name onto another name of the same file does nothing
		return if exists $m->{names}{$d} && $m->{names}{$d} == $m->{names}{$s};
		model_drop($m, $d);
		$m->{names}{$d} = delete $m->{names}{$s};
	}
	elsif ($t eq 'U')
	{
		model_drop($m, $a[0]);
	}
	elsif ($t eq 'C')
	{
		my $id = $m->{next}++;
		$m->{data}{$id} = model_get($m, $a[0]);
		$m->{names}{ $a[1] } = $id;
	}
	elsif ($t eq 'L')
	{
		$m->{names}{ $a[1] } = $m->{names}{ $a[0] };
	}
	else
	{
		die "unknown operation $t";
	}
	return;
}

sub pick { return $_[ int rand @_ ] }

# ---------------------------------------------------------------------------
# SQL clients
# ---------------------------------------------------------------------------

my @REL = map { my $d = $_; map { "$d/f$_" } 0 .. 5 } qw(a b);

sub sql_dirs { my ($id) = @_; return ("/sql/c$id/a", "/sql/c$id/b") }

sub gen_sql_op
{
	my ($m, $base, $seed) = @_;
	my @all   = map { "$base/$_" } @REL;
	my @exist = sort keys %{ $m->{names} };
	my @absent = grep { !exists $m->{names}{$_} } @all;
	my $kind = rand() < 0.5 ? 'r' : 't';
	my $r = rand;
	return [ 'W', pick(@all), $kind, $seed, rand_len() ] if !@exist || $r < 0.30;
	my $e    = pick(@exist);
	my $size = length model_get($m, $e);
	return [ 'A', pick(@all), $kind, $seed, int(rand 70000) ] if $r < 0.45;
	return [ 'P', $e, $kind, $seed, 1 + int(rand 100000), int(rand($size + 70000)) ]
	  if $r < 0.55;
	return [ 'T', $e, int(rand($size + 100000)) ] if $r < 0.60;
	return [ 'R', $e, pick(grep { $_ ne $e } @all) ] if $r < 0.76;
	return [ 'U', $e ] if $r < 0.86;
	return [ 'C', $e, pick(@absent) ] if $r < 0.95 && @absent;
	return [ 'L', $e, pick(@absent) ] if @absent;
	return [ 'W', pick(@all), $kind, $seed, rand_len() ];
}

sub op_sql
{
	my ($t, @a) = @{ $_[0] };
	return "SELECT pgfs_write('$a[0]', " . content_sql(@a[ 1 .. 3 ]) . ')' if $t eq 'W';
	return "SELECT pgfs_append('$a[0]', " . content_sql(@a[ 1 .. 3 ]) . ')' if $t eq 'A';
	return "SELECT pgfs_write('$a[0]', " . content_sql(@a[ 1 .. 3 ]) . ", $a[4])"
	  if $t eq 'P';
	return "SELECT pgfs_truncate('$a[0]', $a[1])" if $t eq 'T';
	return "SELECT pgfs_rename('$a[0]', '$a[1]')" if $t eq 'R';
	return "SELECT pgfs_unlink('$a[0]')"          if $t eq 'U';
	return "SELECT pgfs_copy('$a[0]', '$a[1]')"   if $t eq 'C';
	return "SELECT pgfs_link('$a[0]', '$a[1]')"   if $t eq 'L';
	die "unknown operation $t";
}

sub log_line
{
	my ($log, $line) = @_;
	syswrite($log, "$line\n");
	return;
}

# The body of an SQL client process: transactions until psql goes away.
sub sql_client
{
	my ($node, $id, $m, $logfile, $errfile, $seed) = @_;
	srand($seed);
	open my $log, '>', $logfile or die "$logfile: $!";
	open STDERR, '>', $errfile or die "$errfile: $!";
	$ENV{PGAPPNAME} = "crash-c$id";
	my $psql = open2(
		my $out, my $in, 'psql', '-X', '-q', '-A', '-t',
		'-v', 'ON_ERROR_STOP=1', '-h', $node->host, '-p', $node->port,
		'-d', $DB);
	$SIG{TERM} = sub { kill 'KILL', $psql; POSIX::_exit(0) };
	$SIG{PIPE} = 'IGNORE';
	$in->autoflush(1);
	print $in "\\o /dev/null\n";
	my $base = "/sql/c$id";
	for (my $n = $m->{txn};; $n++)
	{
		my $scratch = model_clone($m);
		my @ops;
		for my $k (1 .. 1 + int(rand 3))
		{
			my $op = gen_sql_op($scratch, $base, "c$id-$n-$k");
			apply_op($scratch, $op);
			push @ops, $op;
		}
		my $commit = rand() < 0.9;
		log_line($log,
			"T $n " . ($commit ? 'commit' : 'rollback') . ' '
			  . join(' ; ', map { join ' ', @$_ } @ops));
		my $sql = "BEGIN;\n" . join('', map { op_sql($_) . ";\n" } @ops)
		  . ($commit ? 'COMMIT' : 'ROLLBACK') . ";\n\\echo ACK $n\n";
		my $line;
		$line = <$out> if print $in $sql;
		if (!defined $line)
		{
			log_line($log, sprintf('E %d %.6f psql exited', $n, time));
			last;
		}
		chomp $line;
		if ($line ne "ACK $n")
		{
			log_line($log, sprintf('E %d %.6f unexpected psql output: %s', $n, time, $line));
			last;
		}
		log_line($log, "A $n");
		$m = $scratch if $commit;
	}
	close $in;
	waitpid($psql, 0);
	return;
}

# ---------------------------------------------------------------------------
# The mount writer
# ---------------------------------------------------------------------------

my @MDIRS = ('/m/a', '/m/b');
my @MREL = map { my $d = $_; map { "$d/f$_" } 0 .. 5 } @MDIRS;
# the piece size of the mount writer's scattered writes (operation Q)
my $Q_PIECE = 4096;

sub gen_mount_op
{
	my ($m, $seed) = @_;
	my @exist = sort keys %{ $m->{names} };
	my $kind = rand() < 0.5 ? 'r' : 't';
	my $bs = pick(4096, 65536, 131072, 1048576, 1 + int(rand 100000));
	my $any = pick(@MREL);
	my $r = rand;
	return [ 'N', $any, $kind, $seed, rand_len(), $bs ] if !@exist || $r < 0.25;
	if ($r < 0.45)
	{
		(my $tmp = $any) =~ s{/[^/]+$}{/t$seed};
		return [ 'S', $any, $tmp, $kind, $seed, rand_len(), $bs ];
	}
	return [ 'A', $any, $kind, $seed, int(rand 70000), $bs ] if $r < 0.60;
	my $e    = pick(@exist);
	my $size = length model_get($m, $e);
	return [ 'P', $e, $kind, $seed, 1 + int(rand 100000), int(rand($size + 70000)) ]
	  if $r < 0.66;
	return [ 'Q', $e, $kind, $seed, 1 + int(rand 1200000), int(rand($size + 70000)) ]
	  if $r < 0.72;
	return [ 'R', $e, pick(grep { $_ ne $e } @MREL) ] if $r < 0.84;
	return [ 'U', $e ] if $r < 0.93;
	return [ 'T', $e, int(rand($size + 100000)) ];
}

sub errno_text
{
	my ($what) = @_;
	my $n = $! + 0;
	my ($name) = grep { $!{$_} } keys %!;
	return sprintf('%s: %s (%s)', $what, $!, $name // $n);
}

sub write_all
{
	my ($fh, $data, $bs) = @_;
	for (my $off = 0; $off < length $data;)
	{
		my $n = length($data) - $off;
		$n = $bs if $n > $bs;
		my $w = syswrite($fh, $data, $n, $off);
		return errno_text('write') unless defined $w;
		$off += $w;
	}
	return undef;
}

sub fsync_dir
{
	my ($dir) = @_;
	sysopen(my $dh, $dir, O_RDONLY | O_DIRECTORY) or return errno_text("open $dir");
	$dh->sync or return errno_text("fsync $dir");
	close $dh or return errno_text("close $dir");
	return undef;
}

sub dir_of { my ($p) = @_; (my $d = $p) =~ s{/[^/]+$}{}; return $d }

# Write a whole file: open with flags, write in pieces of $bs, fsync, close.
sub write_file
{
	my ($path, $flags, $data, $bs, $off) = @_;
	sysopen(my $fh, $path, $flags, 0644) or return errno_text('open');
	if (defined $off)
	{
		sysseek($fh, $off, 0) or return errno_text('seek');
	}
	my $err = write_all($fh, $data, $bs);
	return $err if $err;
	$fh->sync or return errno_text('fsync');
	close $fh or return errno_text('close');
	return undef;
}

# One operation through the mount; undef when it was acknowledged.
sub mount_op
{
	my ($mnt, $op) = @_;
	my ($t, @a) = @$op;
	my $err;
	if ($t eq 'N')
	{
		return write_file("$mnt$a[0]", O_WRONLY | O_CREAT | O_TRUNC,
			gen_content(@a[ 1 .. 3 ]), $a[4]);
	}
	if ($t eq 'S')
	{
		$err = write_file("$mnt$a[1]", O_WRONLY | O_CREAT | O_EXCL,
			gen_content(@a[ 2 .. 4 ]), $a[5]);
		return $err if $err;
		rename("$mnt$a[1]", "$mnt$a[0]") or return errno_text('rename');
		return fsync_dir($mnt . dir_of($a[0]));
	}
	if ($t eq 'A')
	{
		return write_file("$mnt$a[0]", O_WRONLY | O_CREAT | O_APPEND,
			gen_content(@a[ 1 .. 3 ]), $a[4]);
	}
	if ($t eq 'P')
	{
		return write_file("$mnt$a[0]", O_WRONLY, gen_content(@a[ 1 .. 3 ]),
			65536, $a[4]);
	}
	if ($t eq 'Q')
	{
		# 4 KiB pieces from the end back to the start: scattered writes, which
		# the daemon buffers as pieces and sends 256 at a time (pgfs_ll_writev)
		my $data = gen_content(@a[ 1 .. 3 ]);
		sysopen(my $fh, "$mnt$a[0]", O_WRONLY) or return errno_text('open');
		for (my $end = length $data; $end > 0; $end -= $Q_PIECE)
		{
			my $start = $end > $Q_PIECE ? $end - $Q_PIECE : 0;
			sysseek($fh, $a[4] + $start, 0) or return errno_text('seek');
			my $w = syswrite($fh, $data, $end - $start, $start);
			return errno_text('write') unless defined $w && $w == $end - $start;
		}
		$fh->sync or return errno_text('fsync');
		close $fh or return errno_text('close');
		return undef;
	}
	if ($t eq 'T')
	{
		truncate("$mnt$a[0]", $a[1]) or return errno_text('truncate');
		return undef;
	}
	if ($t eq 'R')
	{
		# both directories, as POSIX asks: each reports its own losses once
		rename("$mnt$a[0]", "$mnt$a[1]") or return errno_text('rename');
		my $err = fsync_dir($mnt . dir_of($a[1]));
		my $err0 = dir_of($a[0]) eq dir_of($a[1]) ? undef : fsync_dir($mnt . dir_of($a[0]));
		return $err // $err0;
	}
	if ($t eq 'U')
	{
		unlink("$mnt$a[0]") or return errno_text('unlink');
		return fsync_dir($mnt . dir_of($a[0]));
	}
	die "unknown mount operation $t";
}

sub mount_writer
{
	my ($mnt, $m, $logfile, $seed) = @_;
	srand($seed);
	$SIG{TERM} = sub { POSIX::_exit(0) };
	open my $log, '>', $logfile or die "$logfile: $!";
	for (my $n = $m->{txn};; $n++)
	{
		my $op = gen_mount_op($m, "m-$n");
		log_line($log, "T $n " . join(' ', @$op));
		my $err = mount_op($mnt, $op);
		if ($err)
		{
			log_line($log, sprintf('E %d %.6f %s', $n, time, $err));
			last;
		}
		log_line($log, "A $n");
		apply_op($m, $op);
	}
	return;
}

# ---------------------------------------------------------------------------
# Workers: forked processes that must never run the test's END blocks.
# ---------------------------------------------------------------------------

sub spawn
{
	my ($body) = @_;
	my $pid = fork // die "fork: $!";
	if ($pid == 0)
	{
		$SIG{$_} = 'DEFAULT' for qw(TERM INT PIPE);
		eval { $body->(); 1 } or print STDERR "worker $$ died: $@";
		POSIX::_exit(0);
	}
	return $pid;
}

sub reap
{
	my ($pids, $timeout) = @_;
	my $deadline = time + $timeout;
	while (grep { $_ } @$pids)
	{
		for (@$pids)
		{
			$_ = 0 if $_ && waitpid($_, POSIX::WNOHANG) != 0;
		}
		last if time > $deadline;
		usleep(20_000);
	}
	return scalar grep { $_ } @$pids;
}

sub stop_workers
{
	my ($pids) = @_;
	kill 'TERM', grep { $_ } @$pids;
	if (reap($pids, 10))
	{
		kill 'KILL', grep { $_ } @$pids;
		reap($pids, 10);
	}
	return;
}

# A worker's log: its operations in order, which were acknowledged, its error.
sub read_worker_log
{
	my ($file) = @_;
	my (@ops, %acked, @errors);
	open my $fh, '<', $file or return ([], {}, ["no log $file: $!"]);
	local $/;
	my $text = <$fh>;
	close $fh;
	$text =~ s/[^\n]*\z//;    # an unfinished last line was not written
	for my $line (split /\n/, $text)
	{
		if ($line =~ /^T (\d+) (.*)$/) { push @ops, [ $1, $2 ] }
		elsif ($line =~ /^A (\d+)$/) { $acked{$1} = 1 }
		elsif ($line =~ /^E (\d+) (\S+) (.*)$/)
		{
			push @errors, { n => $1, time => $2, msg => $3 };
		}
		else { push @errors, { n => 0, time => 0, msg => "bad log line: $line" } }
	}
	return (\@ops, \%acked, \@errors);
}

sub parse_ops
{
	my ($text) = @_;
	return [ map { [ split / / ] } split / ; /, $text ];
}

# ---------------------------------------------------------------------------
# What is in the store
# ---------------------------------------------------------------------------

# path -> { ino, size, md5 } of the entries of dirs
sub actual_state
{
	my ($node, @dirs) = @_;
	my $list = join ', ', map { "'$_'" } @dirs;
	my $out = $node->safe_psql(
		$DB, qq{
SELECT p, s.type, s.ino, s.size, CASE WHEN s.type = 'file' THEN md5(pgfs_read(p)) END
  FROM unnest(ARRAY[$list]) d(dir)
 CROSS JOIN LATERAL pgfs_readdir(d.dir) e
 CROSS JOIN LATERAL (SELECT d.dir || '/' || e.name) x(p)
 CROSS JOIN LATERAL pgfs_lstat(p) s},
		extra_params => [ '-F', "\t" ]);
	my %a;
	for my $line (split /\n/, $out)
	{
		my ($p, $type, $ino, $size, $md5) = split /\t/, $line, -1;
		$a{$p} = { type => $type, ino => $ino, size => $size, md5 => $md5 };
	}
	return \%a;
}

sub fetch_content
{
	my ($node, $p) = @_;
	my $hex = $node->safe_psql($DB, "SELECT encode(pgfs_read('$p'), 'hex')");
	return pack('H*', $hex);
}

# Differences between a model and the store (names, contents, link groups);
# names in %$except are not compared.
sub state_diff
{
	my ($m, $act, $except) = @_;
	$except //= {};
	my @d;
	for my $p (sort keys %{ $m->{names} })
	{
		next if $except->{$p};
		my $c = model_get($m, $p);
		my $a = $act->{$p};
		if (!$a)
		{
			push @d, sprintf('%s: missing, expected %d bytes md5 %s', $p, length $c, md5_hex($c));
		}
		elsif ($a->{type} ne 'file' || $a->{size} != length $c || $a->{md5} ne md5_hex($c))
		{
			push @d, sprintf('%s: %s of %d bytes md5 %s, expected %d bytes md5 %s',
				$p, $a->{type}, $a->{size}, $a->{md5} // '', length $c, md5_hex($c));
		}
	}
	for my $p (sort keys %$act)
	{
		push @d, "$p: unexpected $act->{$p}{type} of $act->{$p}{size} bytes"
		  unless exists $m->{names}{$p} || $except->{$p};
	}
	return @d if @d;
	my (%mg, %ag);
	for my $p (sort keys %{ $m->{names} })
	{
		next if $except->{$p};
		push @{ $mg{ $m->{names}{$p} } }, $p;
		push @{ $ag{ $act->{$p}{ino} } }, $p;
	}
	my %mgs = map { join(' ', @$_) => 1 } values %mg;
	my %ags = map { join(' ', @$_) => 1 } values %ag;
	push @d, "hard links: expected {$_}" for grep { !$ags{$_} } sort keys %mgs;
	push @d, "hard links: found {$_}"    for grep { !$mgs{$_} } sort keys %ags;
	return @d;
}

# The model that matches the store: the state after the acknowledged
# operations, or after the one in flight too.  Returns (model, outcome)
# or (undef, explanation).
sub resolve_sql_worker
{
	my ($node, $m, $ops, $acked, @dirs) = @_;
	my $inflight;
	for my $i (0 .. $#$ops)
	{
		my ($n, $text) = @{ $ops->[$i] };
		$m->{txn} = $n + 1;
		my ($how, $rest) = split / /, $text, 2;
		if (!$acked->{$n})
		{
			return (undef, "transaction $n was not acknowledged but later ones ran")
			  if $i != $#$ops;
			$inflight = [ $how, parse_ops($rest) ];
			last;
		}
		next if $how eq 'rollback';
		apply_op($m, $_) for @{ parse_ops($rest) };
	}
	my $act = actual_state($node, @dirs);
	my @d = state_diff($m, $act);
	return ($m, 'acknowledged') unless @d;
	if ($inflight && $inflight->[0] eq 'commit')
	{
		my $m2 = model_clone($m);
		apply_op($m2, $_) for @{ $inflight->[1] };
		my @d2 = state_diff($m2, $act);
		return ($m2, 'in-flight committed') unless @d2;
		return (undef,
			join("\n", 'neither the acknowledged state:', @d,
				'nor with the transaction in flight:', @d2));
	}
	return (undef, join("\n", @d));
}

# Does content $a (undef: absent) fit spec?
sub fits
{
	my ($a, $spec) = @_;
	return !defined $a if $spec->{absent};
	return 0 unless defined $a;
	return $a eq $spec->{eq} if exists $spec->{eq};
	if (exists $spec->{prefix_of})
	{
		my $base = $spec->{base};
		return 0 if length $a < length $base || substr($a, 0, length $base) ne $base;
		my $rest = substr($a, length $base);
		return length $rest <= length $spec->{prefix_of}
		  && substr($spec->{prefix_of}, 0, length $rest) eq $rest;
	}
	if (exists $spec->{patch})
	{
		my ($base, $off, $patch) = @{$spec}{qw(base off patch)};
		return 1 if $a eq $base;
		my $k;
		if (length $a > (length $base > $off ? length $base : $off))
		{
			$k = length($a) - $off;
		}
		else
		{
			my $got = substr($a, $off);
			$k = 0;
			$k++ while $k < length $got && $k < length $patch
			  && substr($got, $k, 1) eq substr($patch, $k, 1);
		}
		return $k <= length $patch && $a eq write_at($base, $off, substr($patch, 0, $k));
	}
	if (exists $spec->{suffix})
	{
		# written from the end back in whole pieces: the last k bytes of it
		my ($base, $off, $patch) = @{$spec}{qw(base off suffix)};
		my $n = length $patch;
		return 1 if $a eq $base;
		for (my $k = 0; $k < $n;)
		{
			$k = $k + $Q_PIECE > $n ? $n : $k + $Q_PIECE;
			return 1 if $a eq write_at($base, $off + $n - $k, substr($patch, $n - $k));
		}
		return 0;
	}
	die 'bad spec';
}

sub old_spec { my ($c) = @_; return defined $c ? { eq => $c } : { absent => 1 } }

# The states the names touched by an interrupted mount operation may be in.
sub mount_alternatives
{
	my ($m, $op) = @_;
	my ($t, @a) = @$op;
	my $old = model_get($m, $a[0]);
	if ($t eq 'N')
	{
		return [ { $a[0] => old_spec($old) },
			{ $a[0] => { base => '', prefix_of => gen_content(@a[ 1 .. 3 ]) } } ];
	}
	if ($t eq 'S')
	{
		my $new = gen_content(@a[ 2 .. 4 ]);
		return [
			{ $a[0] => old_spec($old), $a[1] => { absent    => 1 } },
			{ $a[0] => old_spec($old), $a[1] => { base => '', prefix_of => $new } },
			{ $a[0] => { eq => $new }, $a[1] => { absent    => 1 } } ];
	}
	if ($t eq 'A')
	{
		return [ (defined $old ? () : { $a[0] => { absent => 1 } }),
			{ $a[0] => { base => $old // '', prefix_of => gen_content(@a[ 1 .. 3 ]) } } ];
	}
	if ($t eq 'P')
	{
		return [ { $a[0] =>
				  { base => $old, off => $a[4], patch => gen_content(@a[ 1 .. 3 ]) } } ];
	}
	if ($t eq 'Q')
	{
		return [ { $a[0] =>
				  { base => $old, off => $a[4], suffix => gen_content(@a[ 1 .. 3 ]) } } ];
	}
	if ($t eq 'T')
	{
		return [ { $a[0] => { eq => $old } }, { $a[0] => { eq => truncated($old, $a[1]) } } ];
	}
	if ($t eq 'R')
	{
		return [ { $a[0] => { eq => $old }, $a[1] => old_spec(model_get($m, $a[1])) },
			{ $a[0] => { absent => 1 }, $a[1] => { eq => $old } } ];
	}
	if ($t eq 'U')
	{
		return [ { $a[0] => { eq => $old } }, { $a[0] => { absent => 1 } } ];
	}
	die "unknown mount operation $t";
}

sub resolve_mount_worker
{
	my ($node, $m, $ops, $acked) = @_;
	my $inflight;
	for my $i (0 .. $#$ops)
	{
		my ($n, $text) = @{ $ops->[$i] };
		$m->{txn} = $n + 1;
		my $op = [ split / /, $text ];
		if (!$acked->{$n})
		{
			return (undef, "operation $n was not acknowledged but later ones ran")
			  if $i != $#$ops;
			$inflight = $op;
			last;
		}
		apply_op($m, $op);
	}
	my $act = actual_state($node, @MDIRS);
	if (!$inflight)
	{
		my @d = state_diff($m, $act);
		return @d ? (undef, join("\n", @d)) : ($m, 'acknowledged');
	}
	my $alts = mount_alternatives($m, $inflight);
	my %touched = map { %$_ } @$alts;
	$touched{$_} = 1 for keys %touched;
	my @d = state_diff($m, $act, \%touched);
	return (undef, join("\n", "names the operation in flight did not touch:", @d)) if @d;
	my %content;
	for my $p (keys %touched)
	{
		next unless $act->{$p};
		return (undef, "$p is a $act->{$p}{type}") unless $act->{$p}{type} eq 'file';
		$content{$p} = fetch_content($node, $p);
	}
	for my $i (0 .. $#$alts)
	{
		my $alt = $alts->[$i];
		next if grep { !fits($content{$_}, $alt->{$_}) } keys %$alt;
		my $m2 = model_clone($m);
		for my $p (keys %$alt)
		{
			model_drop($m2, $p);
			model_set($m2, $p, $content{$p}) if defined $content{$p};
		}
		my $full = model_clone($m);
		apply_op($full, $inflight);
		my $same = sub {
			my ($x) = @_;
			for my $p (keys %touched)
			{
				my ($u, $v) = (model_get($m2, $p), model_get($x, $p));
				return 0 if defined $u != defined $v || (defined $u && $u ne $v);
			}
			return 1;
		};
		my $how =
		    $same->($full) ? 'in-flight completed'
		  : $same->($m)    ? 'acknowledged'
		  :                  'in-flight partly written';
		return ($m2, $how);
	}
	return (undef,
		join("\n",
			"the in-flight operation \"$inflight->[0] @{$inflight}[1..$#$inflight]\" "
			  . 'left a state that is neither before nor after it:',
			map {
				sprintf('  %s: %s', $_,
					defined $content{$_}
					? sprintf('%d bytes md5 %s', length $content{$_}, md5_hex($content{$_}))
					: 'absent')
			} sort keys %touched));
}

# ---------------------------------------------------------------------------
# Killing and restarting
# ---------------------------------------------------------------------------

sub postmaster_pid
{
	my ($node) = @_;
	open my $fh, '<', $node->data_dir . '/postmaster.pid' or return undef;
	my $pid = <$fh>;
	close $fh;
	chomp $pid if defined $pid;
	return $pid;
}

sub children_of
{
	my ($ppid) = @_;
	my @kids;
	for my $stat (glob '/proc/[0-9]*/stat')
	{
		open my $fh, '<', $stat or next;
		my $s = <$fh>;
		close $fh;
		push @kids, $1 if defined $s && $s =~ /^(\d+) \(.*\) \S+ (\d+) /s && $2 == $ppid;
	}
	return @kids;
}

# Also a zombie counts: a new postmaster would take its PID in
# postmaster.pid for a live server.  (Here PID 1 reaps orphans only every
# two seconds or so.)
sub alive
{
	my ($pid) = @_;
	return -e "/proc/$pid";
}

sub wait_gone
{
	my @pids = @_;
	for (1 .. 600)
	{
		return 1 unless grep { alive($_) } @pids;
		usleep(50_000);
	}
	return 0;
}

# Crash the server $how; returns when none of its processes is left.
sub crash_server
{
	my ($node, $how) = @_;
	my $pm = postmaster_pid($node);
	my @kids = children_of($pm);
	if ($how eq 'kill9-all')
	{
		kill 'KILL', $pm, @kids;
		$node->kill9;
	}
	elsif ($how eq 'kill9-postmaster')
	{
		$node->kill9;
	}
	elsif ($how eq 'immediate')
	{
		$node->stop('immediate');
	}
	wait_gone($pm, @kids) or die "server processes of $pm did not exit";
	return;
}

sub daemon_pid
{
	my ($dir) = @_;
	for my $f (glob '/proc/[0-9]*/cmdline')
	{
		open my $fh, '<', $f or next;
		local $/;
		my $cmd = <$fh>;
		close $fh;
		next unless defined $cmd;
		my @args = split /\0/, $cmd;
		next unless @args && $args[0] =~ m{(^|/)pgfs-fuse$};
		return $1 if $f =~ m{/proc/(\d+)/} && grep { $_ eq $dir } @args;
	}
	return undef;
}

# No client of ours is still working and no killed daemon's session is left.
sub wait_quiet
{
	my ($node, $mounts) = @_;
	my $max = $MOUNT_WORKERS * $mounts;
	$node->poll_query_until(
		$DB, qq{
SELECT count(*) FILTER (WHERE application_name LIKE 'crash-%') = 0
   AND count(*) FILTER (WHERE application_name = 'pgfs-fuse' AND state <> 'idle') = 0
   AND count(*) FILTER (WHERE application_name = 'pgfs-fuse') <= $max
  FROM pg_stat_activity WHERE pid <> pg_backend_pid()})
	  or die 'sessions of killed clients did not go away';
	return;
}

# pgfs_reclaim_orphans(): the number freed, or its error
sub reclaim_orphans
{
	my ($node) = @_;
	my ($rc, $freed, $err) = $node->psql($DB, 'SELECT pgfs_reclaim_orphans()');
	return $rc ? "failed: $err" : $freed;
}

# pgfs_reclaim_orphans(), then pgfs_fsck(): returns (freed, problems) where
# problems is '' when both went well.
sub reclaim_and_fsck
{
	my ($node) = @_;
	my ($rc, $freed, $err) = $node->psql($DB, 'SELECT pgfs_reclaim_orphans()');
	my $fsck = $node->safe_psql($DB,
		'SELECT problem, ino, detail FROM pgfs_fsck() ORDER BY 1, 2, 3');
	my $problems = $rc ? "pgfs_reclaim_orphans() failed: $err\n" : '';
	$problems .= "pgfs_fsck():\n$fsck" if $fsck ne '';
	return ($rc ? 'none' : $freed, $problems);
}

# The files of the writers read through the mount: same names, same bytes.
sub mount_view_diff
{
	my ($node, $mnt, @dirs) = @_;
	my $act = actual_state($node, @dirs);
	my @d;
	for my $dir (@dirs)
	{
		my $dh;
		if (!opendir($dh, "$mnt$dir"))
		{
			push @d, "opendir $dir: $!";
			next;
		}
		my @names = sort grep { !/^\.\.?$/ } readdir $dh;
		closedir $dh;
		my @want = sort map { substr($_, length($dir) + 1) }
		  grep { dir_of($_) eq $dir } keys %$act;
		push @d, "$dir lists [@names] through the mount, [@want] through SQL"
		  if "@names" ne "@want";
	}
	for my $p (sort keys %$act)
	{
		next unless $act->{$p}{type} eq 'file';
		my $fh;
		if (!open($fh, '<:raw', "$mnt$p"))
		{
			push @d, "open $p: $!";
			next;
		}
		my $md5 = Digest::MD5->new;
		my $ok  = eval { $md5->addfile($fh); 1 };
		close $fh;
		my $hex = $ok ? $md5->hexdigest : "read failed: $!";
		push @d, "$p: md5 $hex through the mount, $act->{$p}{md5} through SQL"
		  if $hex ne $act->{$p}{md5};
	}
	return @d;
}

sub keep_logs
{
	my ($tag, @files) = @_;
	for my $f (@files)
	{
		next unless -e $f;
		(my $base = $f) =~ s{.*/}{};
		File::Copy::copy($f, "$logdir/$tag-$base");
	}
	return;
}

# A process holding one file open on the mount, driven line by line:
# "open PATH", "write OFFSET LENGTH CHAR", "chmod OCTAL" (fchmod), "copy
# SRCPATH OFF_IN OFF_OUT LENGTH" (copy_file_range from another file into
# this one), "punch OFFSET LENGTH" (fallocate PUNCH_HOLE), "fsync", "close",
# "fork" (a child that inherits the descriptor exits at once).  Answers
# "ok [n]" or "err ...".
sub holder_start
{
	pipe(my $cmd_r, my $cmd_w) or die "pipe: $!";
	pipe(my $res_r, my $res_w) or die "pipe: $!";
	my $pid = spawn(sub {
		close $cmd_w;
		close $res_r;
		$res_w->autoflush(1);
		my $fh;
		while (my $line = <$cmd_r>)
		{
			my ($c, @a) = split ' ', $line;
			my $r;
			if ($c eq 'open')
			{
				$r = sysopen($fh, $a[0], O_WRONLY | O_CREAT, 0644) ? 'ok' : "err $!";
			}
			elsif ($c eq 'write')
			{
				my $w;
				$w = syswrite($fh, $a[2] x $a[1]) if sysseek($fh, $a[0], 0);
				$r = defined $w ? "ok $w" : "err $!";
			}
			elsif ($c eq 'fsync') { $r = $fh->sync ? 'ok' : "err $!" }
			elsif ($c eq 'chmod') { $r = chmod(oct($a[0]), $fh) ? 'ok' : "err $!" }
			elsif ($c eq 'copy')
			{
				# copy_file_range(2) is system call 326 on x86_64; the
				# offsets are passed by address, as packed 64-bit integers
				my ($oi, $oo) = (pack('q', $a[1]), pack('q', $a[2]));
				my $n = -1;
				if (sysopen(my $src, $a[0], O_RDONLY))
				{
					$n = syscall(326, fileno($src), $oi, fileno($fh), $oo, $a[3] + 0, 0);
					close $src;
				}
				$r = $n >= 0 ? "ok $n" : "err $!";
			}
			elsif ($c eq 'punch')
			{
				# fallocate(2), system call 285: PUNCH_HOLE | KEEP_SIZE
				$r = syscall(285, fileno($fh), 3, $a[0] + 0, $a[1] + 0) == 0 ? 'ok' : "err $!";
			}
			elsif ($c eq 'close') { $r = close($fh) ? 'ok' : "err $!" }
			elsif ($c eq 'fork')
			{
				my $k = fork;
				POSIX::_exit(0) if defined $k && $k == 0;
				$r = defined $k && waitpid($k, 0) == $k ? 'ok' : "err $!";
			}
			print $res_w "$r\n";
		}
	});
	close $cmd_r;
	close $res_w;
	$cmd_w->autoflush(1);
	return { pid => $pid, cmd => $cmd_w, res => $res_r };
}

sub holder
{
	my ($h, $cmd) = @_;
	print { $h->{cmd} } "$cmd\n";
	my $r = readline($h->{res}) // 'err holder exited';
	chomp $r;
	return $r;
}

sub holder_stop
{
	my ($h) = @_;
	close $h->{cmd};
	waitpid($h->{pid}, 0);
	return;
}

# The processes that write WAL or pages behind the sessions' backs (the WAL
# writer, the background writer, the checkpointer): stopped, a crash takes
# what they have not written yet.
sub wal_writers
{
	my ($node) = @_;
	return split /\n/, $node->safe_psql($DB,
		"SELECT pid FROM pg_stat_activity"
		  . " WHERE backend_type IN ('walwriter', 'background writer', 'checkpointer')");
}

# Crash the server under holder $h, start it again, and fsync and close
# $h's file: what fsync and close answered.
sub crash_then_close
{
	my ($node, $h) = @_;
	crash_server($node, 'kill9-all');
	$node->start;
	my $fs = holder($h, 'fsync');
	my $cl = holder($h, 'close');
	holder_stop($h);
	return ($fs, $cl);
}

# ---------------------------------------------------------------------------
# Setup
# ---------------------------------------------------------------------------

my $node = pgfs_node('crash');
# durability as in production, checkpoints during the run, less log noise
$node->append_conf('postgresql.conf', <<'EOC');
fsync = on
synchronous_commit = on
full_page_writes = on
checkpoint_timeout = 30s
max_wal_size = 64MB
log_statement = none
EOC
$node->restart;
pgfs_create_extension($node, $DB);
$node->safe_psql(
	$DB, q{
CREATE FUNCTION crash_text(seed text, n integer) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT substr(convert_to(repeat(seed || E'\n', n / (length(seed) + 1) + 1), 'UTF8'), 1, n)
$$;
});
my @mkdirs = (@MDIRS, map { sql_dirs($_) } 1 .. $NCLIENTS);
$node->safe_psql($DB,
	join('', map { "SELECT pgfs_mkdir('$_', NULL, true);\n" } @mkdirs));

# the content helpers agree with Perl
for my $case ([ 'r', 'x-1', 70001 ], [ 't', 'c1-2-3', 5000 ], [ 'r', 'y', 0 ])
{
	is($node->safe_psql($DB, 'SELECT md5(' . content_sql(@$case) . ')'),
		md5_hex(gen_content(@$case)), "content of (@$case) is the same in SQL and Perl");
}

my %models = map { ("c$_" => model_new()) } 1 .. $NCLIENTS;
$models{m} = model_new();

my $mnt;
if ($why_no_mount)
{
	note "no mount: $why_no_mount; only SQL clients and server crashes";
}
else
{
	$mnt = mount_store($node, $DB, undef);
}

# ---------------------------------------------------------------------------
# Crash cycles
# ---------------------------------------------------------------------------

my @kinds = $mnt
  ? ('kill9-all', 'daemon', 'kill9-postmaster', 'immediate', 'daemon')
  : ('kill9-all', 'kill9-postmaster', 'immediate');
my %crashes;
my %outcomes;
my %fsck_seen;
my $acked_total = 0;
my $failed;
my $start = time;

for my $cycle (1 .. $CYCLES)
{
	my $kind = $cycle <= @kinds ? $kinds[ $cycle - 1 ] : pick(@kinds);
	my %pids;
	my %files;
	for my $w (sort keys %models)
	{
		my $log = "$logdir/cycle-$w.log";
		my $err = "$logdir/cycle-$w.stderr";
		unlink $log, $err;
		$files{$w} = [ $log, $err ];
		my $wseed = int(rand 2**31);
		if ($w eq 'm')
		{
			next unless $mnt;
			my $dir = $mnt;
			$pids{$w} = spawn(sub {
				open STDERR, '>', $err or die "$err: $!";
				mount_writer($dir, $models{m}, $log, $wseed);
			});
		}
		else
		{
			(my $id = $w) =~ s/^c//;
			$pids{$w} = spawn(sub {
				sql_client($node, $id, $models{$w}, $log, $err, $wseed);
			});
		}
	}

	Time::HiRes::sleep(1 + rand($LONG ? 3 : 2));
	my $crash_time = time;
	if ($kind eq 'daemon')
	{
		my $pid = daemon_pid($mnt);
		kill 'KILL', $pid if $pid;
		reap([ $pids{m} ], 5);
		stop_workers([ values %pids ]);
	}
	else
	{
		crash_server($node, $kind);
		stop_workers([ values %pids ]) if reap([ values %pids ], 20);
	}
	$crashes{$kind}++;

	# bring back what was killed
	if ($kind eq 'daemon')
	{
		unmount_store($mnt);
		$mnt = mount_store($node, $DB, undef);
	}
	else
	{
		$node->start;
		ok(mount_daemon_alive($mnt), "cycle $cycle: pgfs-fuse survived the server crash")
		  or diag(mount_log($mnt))
		  if $mnt;
		# The mount writer may have been stopped between a rename or unlink
		# and the fsync of its directory: the first fsync of that directory
		# since the crash reports (once) that the change may be lost, as it
		# should, whoever calls it.  This is that call, before the next
		# cycle's writer counts an error of its own as a failure.
		if ($mnt)
		{
			my @lost = grep { defined fsync_dir($mnt . $_) } @MDIRS;
			note "cycle $cycle: the fsync of @lost reported a possible loss" if @lost;
		}
	}
	wait_quiet($node, $mnt ? 1 : 0);

	# every writer's files: acknowledged state, or with the operation in flight
	my @problems;
	for my $w (sort keys %models)
	{
		next if $w eq 'm' && !$mnt;
		my ($ops, $acked, $errors) = read_worker_log($files{$w}[0]);
		$acked_total += keys %$acked;
		for my $e (@$errors)
		{
			push @problems, sprintf('%s: error before the crash (%.3f s early): %s',
				$w, $crash_time - $e->{time}, $e->{msg})
			  if $e->{time} < $crash_time;
		}
		if ($w ne 'm' && -s $files{$w}[1])
		{
			my $stderr = slurp_file($files{$w}[1]);
			my @bad = grep {
				/ERROR|FATAL|error/
				  && !/server closed the connection unexpectedly|connection to server was lost|terminating connection (because of|due to)|no connection to the server|could not send data to server|could not receive data from server|Connection refused|the database system is/
			} split /\n/, $stderr;
			push @problems, "$w: psql said:\n$stderr" if @bad;
		}
		my ($m, $how) =
		  $w eq 'm'
		  ? resolve_mount_worker($node, $models{$w}, $ops, $acked)
		  : resolve_sql_worker($node, $models{$w}, $ops, $acked, sql_dirs(substr($w, 1)));
		if ($m)
		{
			$models{$w} = $m;
			$outcomes{$how}++;
		}
		else
		{
			push @problems, "$w: $how";
		}
	}
	ok(!@problems, "cycle $cycle ($kind): every acknowledged change is there, nothing half-done")
	  or diag(join("\n", @problems));

	if ($mnt)
	{
		# the kernel caches attributes for attr_timeout (1 s)
		my $wait = $crash_time + 1.2 - time;
		Time::HiRes::sleep($wait) if $wait > 0;
		my @d = mount_view_diff($node, $mnt, @mkdirs);
		if (!ok(!@d, "cycle $cycle: the mount shows the same files"))
		{
			diag(join("\n", @d));
			push @problems, @d;
		}
	}

	# a failing reclaim or fsck does not stop the cycles (the files are
	# known to be right), but the same failure is shown only once
	my ($freed, $fsck) = reclaim_and_fsck($node);
	ok($fsck eq '', "cycle $cycle: pgfs_fsck() clean after pgfs_reclaim_orphans() ($freed freed)")
	  or $fsck_seen{$fsck}++
	  or diag($fsck);

	if (@problems)
	{
		keep_logs("failed-cycle-$cycle", map { @$_ } values %files);
		diag("writer logs kept in $logdir (failed-cycle-$cycle-*); seed $SEED");
		$failed = 1;
		last;
	}
}
note sprintf('%d crashes in %.0f s: %s; %d acknowledged operations; outcomes: %s',
	(eval { my $s = 0; $s += $_ for values %crashes; $s }), time - $start,
	join(', ', map { "$_ $crashes{$_}" } sort keys %crashes),
	$acked_total,
	join(', ', map { "$_ $outcomes{$_}" } sort keys %outcomes));
diag sprintf('crash cycles: %s', join(', ', map { "$_ $crashes{$_}" } sort keys %crashes))
  if $LONG;

# ---------------------------------------------------------------------------
# Targeted checks through the mount
# ---------------------------------------------------------------------------

SKIP:
{
	skip "no mount: $why_no_mount", 1 unless $mnt;
	skip 'a crash cycle failed', 1 if $failed;

	$node->safe_psql($DB, "SELECT pgfs_mkdir('/orphan')");
	my $data = gen_bytes('orphan', 200000);

	# 1. An open, unlinked file of a killed daemon is reclaimed.
	subtest 'open-but-unlinked file of a killed daemon is reclaimed' => sub {
		my $f = "$mnt/orphan/held";
		sysopen(my $fh, $f, O_RDWR | O_CREAT | O_TRUNC, 0644) or die "open $f: $!";
		is(write_all($fh, $data, 65536), undef, 'written');
		ok($fh->sync, 'fsync');
		my $ino = (stat $fh)[1];
		ok(unlink($f), 'unlinked while open');
		ok(!-e $f, 'the name is gone');
		sysseek($fh, 0, 0);
		my $back = '';
		1 while sysread($fh, $back, 65536, length $back);
		is(md5_hex($back), md5_hex($data), 'still readable through the open descriptor');
		is(reclaim_orphans($node), '0', 'a live mount\'s open file is not reclaimed');
		pgfs_fsck_is_clean($node, $DB, 'fsck clean while the file is open');

		kill 'KILL', daemon_pid($mnt);
		close $fh;
		unmount_store($mnt);
		wait_quiet($node, 0);
		$mnt = mount_store($node, $DB, undef);
		my $freed = reclaim_orphans($node);
		note "pgfs_reclaim_orphans() after the remount freed $freed (the new mount reclaims too)";
		is($node->safe_psql($DB,
				"SELECT count(*) FROM pgfs.inode WHERE ino = $ino"),
			'0', "the orphan (inode $ino) is gone");
		is($node->safe_psql($DB,
				"SELECT count(*) FROM pgfs.filemap WHERE ino = $ino"),
			'0', 'and its data');
		pgfs_fsck_is_clean($node, $DB, 'fsck clean after the remount');
	};

	# 2. An open, unlinked file of a live mount survives a server crash.
	subtest 'open-but-unlinked file of a live mount survives a server crash' => sub {
		my $f = "$mnt/orphan/held2";
		sysopen(my $fh, $f, O_RDWR | O_CREAT | O_TRUNC, 0644) or die "open $f: $!";
		is(write_all($fh, $data, 65536), undef, 'written');
		ok($fh->sync, 'fsync');
		my $ino = (stat $fh)[1];
		ok(unlink($f), 'unlinked while open');
		# durable only then, as on a local filesystem (3g)
		is(fsync_dir("$mnt/orphan"), undef, 'fsync of the directory');
		crash_server($node, 'kill9-all');
		$node->start;
		ok(opendir(my $dh, "$mnt/orphan"), 'the mount works again after the restart');
		my $freed = reclaim_orphans($node);
		is($freed, '0', 'pgfs_reclaim_orphans() leaves the open file alone');
		is($node->safe_psql($DB, "SELECT count(*) FROM pgfs.inode WHERE ino = $ino"),
			'1', "inode $ino still exists");
		usleep(1_200_000);    # attr_timeout: let fstat ask the daemon
		my @st = stat $fh;
		is($st[7] // "fstat failed: $!", length $data, 'fstat through the descriptor');
		sysseek($fh, length $data, 0);
		my $w = syswrite($fh, 'more');
		my $synced = $fh->sync;
		ok(defined $w && $synced,
			'writing and fsync through the descriptor work: ' . ($synced ? 'ok' : "$!"));
		ok(close($fh), 'close');
		like(reclaim_orphans($node), qr/^\d+$/, 'pgfs_reclaim_orphans() after close');
		# the kernel sends the release after close(2) returns, not before
		ok($node->poll_query_until($DB,
				"SELECT count(*) = 0 FROM pgfs.inode WHERE ino = $ino"),
			'gone after close (its release, which the kernel sends after close returns)');
		pgfs_fsck_is_clean($node, $DB, 'fsck clean after close');
	};

	# 3. fsync never reports success for data whose write was lost.  The
	# descriptor lives in a holder process that forks only when told to:
	# every close of a copy of it (also the close-on-exec in a child that
	# runs pg_ctl) is a FUSE flush that sends the daemon's buffer.  The
	# files of 3a-3c exist (durably) before the holder opens them: a create
	# through the mount is only durable at the file's close or fsync (3d).
	subtest 'buffered writes and a server outage' => sub {
		my $content = sub {
			$node->safe_psql($DB, "SELECT encode(pgfs_read('$_[0]'), 'escape')");
		};
		$node->safe_psql($DB,
			"SELECT pgfs_write('/orphan/' || f, ''::bytea) FROM unnest('{a,b,c}'::text[]) f");

		# 3a: buffered while the server restarts, sent afterwards
		my $h = holder_start();
		is(holder($h, "open $mnt/orphan/a"), 'ok', 'open');
		is(holder($h, 'write 0 1000 A'), 'ok 1000', 'write 1000 bytes (buffered by the daemon)');
		crash_server($node, 'kill9-all');
		$node->start;
		is(holder($h, 'fsync'), 'ok', 'fsync after the restart');
		is(holder($h, 'close'), 'ok', 'close');
		holder_stop($h);
		is($content->('/orphan/a'), 'A' x 1000, 'the buffered data arrived');

		# 3b: the buffer must go out while the server is down, because the
		# program writes elsewhere in the file
		$h = holder_start();
		is(holder($h, "open $mnt/orphan/b"), 'ok', 'open');
		is(holder($h, 'write 0 1000 A'), 'ok 1000', 'write 1000 bytes at 0 (buffered)');
		crash_server($node, 'kill9-all');
		my $wb = holder($h, 'write 300000 1000 B');
		$node->start;
		my $fs = holder($h, 'fsync');
		my $cl = holder($h, 'close');
		holder_stop($h);
		my $got = $content->('/orphan/b');
		note "3b: write at 300000: $wb; fsync: $fs; close: $cl; the file has "
		  . length($got) . ' bytes';
		ok(!($fs eq 'ok' && $cl eq 'ok') || substr($got, 0, 1000) eq 'A' x 1000,
			'fsync and close do not both succeed while an acknowledged write() is missing');

		# 3c: the buffer goes out while the server is down because a child
		# process that inherited the descriptor exits
		$h = holder_start();
		is(holder($h, "open $mnt/orphan/c"), 'ok', 'open');
		is(holder($h, 'write 0 1000 A'), 'ok 1000', 'write 1000 bytes at 0 (buffered)');
		crash_server($node, 'kill9-all');
		is(holder($h, 'fork'), 'ok', 'a child inherits the descriptor and exits');
		$node->start;
		$fs = holder($h, 'fsync');
		$cl = holder($h, 'close');
		holder_stop($h);
		$got = $content->('/orphan/c');
		note "3c: fsync: $fs; close: $cl; the file has " . length($got) . ' bytes';
		ok(!($fs eq 'ok' && $cl eq 'ok') || $got eq 'A' x 1000,
			'fsync and close do not both succeed while an acknowledged write() is missing');

		# 3d: a file created through the mount just before the crash.  Its
		# create committed without waiting for the WAL flush, so the crash
		# loses it, and with it the advance of the inode number sequence:
		# setval makes the create's nextval the one that writes the
		# sequence's WAL, and the WAL writer, stopped, cannot write it out
		# first (a server crash loses only what is still in WAL buffers)
		# After the restart SQL creates files, the first with the lost
		# file's number (setval makes sure), while the daemon is stopped (so that it connects
		# again only afterwards); the holder's buffered data must not land in
		# that file, and fsync and close must not both succeed.
		$node->safe_psql($DB,
			"SELECT setval('pgfs.ino_seq', (SELECT max(ino) FROM pgfs.inode) + 100, false)");
		# (nor the background writer and checkpointer, which flush WAL
		# before they write a page the create changed)
		my @writers = wal_writers($node);
		kill 'STOP', @writers;
		$h = holder_start();
		is(holder($h, "open $mnt/orphan/d"), 'ok', 'create a file');
		is(holder($h, 'write 0 1000 D'), 'ok 1000', 'write 1000 bytes (buffered)');
		my $ino = $node->safe_psql($DB, "SELECT ino FROM pgfs_lstat('/orphan/d')");
		my $daemon = daemon_pid($mnt);
		kill 'STOP', $daemon if $daemon;
		crash_server($node, 'kill9-all');
		$node->start;
		my $there = $node->safe_psql($DB, "SELECT pgfs_exists('/orphan/d')");
		# the sequence's advance may have reached the OS before the crash
		# even though the commit did not: give the number out again anyway
		$node->safe_psql($DB, "SELECT setval('pgfs.ino_seq', $ino, false)") if $there ne 't';
		$node->safe_psql($DB,
			"SELECT pgfs_write('/orphan/sql-' || i, convert_to(repeat('S', i), 'UTF8'))"
			  . ' FROM generate_series(1, 5) i');
		kill 'CONT', $daemon if $daemon;
		my $reused = $node->safe_psql($DB,
			"SELECT count(*) FROM generate_series(1, 5) i WHERE (pgfs_lstat('/orphan/sql-' || i)).ino = $ino");
		$fs = holder($h, 'fsync');
		$cl = holder($h, 'close');
		holder_stop($h);
		note "3d: the create " . ($there eq 't' ? 'survived' : 'was lost')
		  . ", its number reused $reused time(s); fsync: $fs; close: $cl";
		$got = $there eq 't' ? $content->('/orphan/d') : '';
		ok(!($fs eq 'ok' && $cl eq 'ok') || $got eq 'D' x 1000,
			'fsync and close do not both succeed unless the created file has its data');
		is( $node->safe_psql($DB,
				"SELECT string_agg(convert_from(pgfs_read('/orphan/sql-' || i), 'UTF8'), ',' ORDER BY i)"
				  . ' FROM generate_series(1, 5) i'),
			'S,SS,SSS,SSSS,SSSSS',
			'files that took the number of a lost create keep their own bytes');

		# 3e: a chmod of a file open through the mount commits without
		# waiting for the WAL flush, as its writes do, and the crash (the
		# WAL writer stopped again) may take both: fsync and close must not
		# both succeed unless the file has its data and its new mode
		$node->safe_psql($DB, "SELECT pgfs_write('/orphan/e', ''::bytea)");
		@writers = wal_writers($node);
		$h = holder_start();
		is(holder($h, "open $mnt/orphan/e"), 'ok', 'open a file');
		is(holder($h, 'write 0 1000 E'), 'ok 1000', 'write 1000 bytes (buffered)');
		kill 'STOP', @writers;
		is(holder($h, 'chmod 600'), 'ok', 'fchmod (the data goes first, then the mode, deferred)');
		($fs, $cl) = crash_then_close($node, $h);
		my $mode = $node->safe_psql($DB, "SELECT mode & 511 FROM pgfs_stat('/orphan/e')");
		$got = $content->('/orphan/e');
		note "3e: fsync: $fs; close: $cl; mode " . sprintf('%o', $mode) . ', ' . length($got) . ' bytes';
		ok(!($fs eq 'ok' && $cl eq 'ok') || ($got eq 'E' x 1000 && $mode == 0600),
			'fsync and close do not both succeed while a write or the chmod is missing');

		# 3f: copy_file_range and a punched hole in a file open through the
		# mount commit without waiting for the WAL flush too (the copy
		# shares the source's chunks); the same crash must not leave fsync
		# and close both succeeding without them
		# (the holder calls them by their x86_64 system call numbers)
	  SKIP:
		{
			skip 'copy_file_range and fallocate by number need x86_64', 5
			  unless (POSIX::uname())[4] eq 'x86_64';
			$node->safe_psql($DB,
				"SELECT pgfs_write('/orphan/f-src', convert_to(repeat('S', 131072), 'UTF8')),"
				  . " pgfs_write('/orphan/f', convert_to(repeat('F', 200000), 'UTF8'))");
			@writers = wal_writers($node);
			$h = holder_start();
			is(holder($h, "open $mnt/orphan/f"), 'ok', 'open a file');
			kill 'STOP', @writers;
			is(holder($h, "copy $mnt/orphan/f-src 0 0 131072"), 'ok 131072',
				'copy_file_range of two chunks into it (deferred)');
			is(holder($h, 'punch 150000 10000'), 'ok', 'punch a hole in it (deferred)');
			($fs, $cl) = crash_then_close($node, $h);
			my $want = md5_hex('S' x 131072 . 'F' x (150000 - 131072) . "\0" x 10000 . 'F' x 40000);
			$got = $node->safe_psql($DB, "SELECT md5(pgfs_read('/orphan/f'))");
			note "3f: fsync: $fs; close: $cl; " . ($got eq $want ? 'copy and hole there' : 'copy or hole missing');
			ok(!($fs eq 'ok' && $cl eq 'ok') || $got eq $want,
				'fsync and close do not both succeed while the copy or the hole is missing');
			is($node->safe_psql($DB, "SELECT md5(pgfs_read('/orphan/f-src'))"), md5_hex('S' x 131072),
				'the source of the copy keeps its bytes');
		}

		# 3g: a rename, a link and an unlink through the mount commit without
		# waiting for the WAL flush; the fsync of their directory makes them
		# durable, as on a local filesystem.  The crash (the WAL writer
		# stopped again) may take them: that fsync must not succeed unless
		# all three are there, and reports the loss once, not forever.
		$node->safe_psql($DB,
			"SELECT pgfs_write('/orphan/g-' || f, convert_to(f, 'UTF8')) FROM unnest('{a,b,c}'::text[]) f");
		@writers = wal_writers($node);
		kill 'STOP', @writers;
		ok(rename("$mnt/orphan/g-a", "$mnt/orphan/g-moved"), 'rename (deferred)');
		ok(link("$mnt/orphan/g-b", "$mnt/orphan/g-linked"), 'link (deferred)');
		ok(unlink("$mnt/orphan/g-c"), 'unlink (deferred)');
		crash_server($node, 'kill9-all');
		$node->start;
		my $sync1 = fsync_dir("$mnt/orphan") // 'ok';
		my $sync2 = fsync_dir("$mnt/orphan") // 'ok';
		my $names = $node->safe_psql($DB,
			"SELECT string_agg(name, ',' ORDER BY name) FROM pgfs_readdir('/orphan') WHERE name LIKE 'g-%'");
		note "3g: after the crash: $names; the directory's fsync: $sync1, then $sync2";
		ok($sync1 ne 'ok' || $names eq 'g-b,g-linked,g-moved',
			'the fsync of the directory does not succeed while a rename, link or unlink is missing');
		is($sync2, 'ok', 'the next fsync of the directory succeeds');
	};

	# 4. What only a crash may do: a clean restart, or sessions terminated
	# by an administrator, lose no commit (the server still has each one,
	# and a clean shutdown flushes the WAL), so a file whose create, first
	# MiB and chmod were committed without waiting for the WAL flush closes
	# without an error, and keeps its data and mode.
	subtest 'deferred commits across a clean restart' => sub {
		my $mib = 1024 * 1024;
		for my $how ('restart', 'terminate')
		{
			my $path = "/orphan/e-$how";
			my $h = holder_start();
			is(holder($h, "open $mnt$path"), 'ok', "$how: create a file (deferred)");
			is(holder($h, 'write 0 ' . (2 * $mib) . ' E'), 'ok ' . (2 * $mib),
				"$how: write 2 MiB (the first sent behind the writer, deferred)");
			# the first MiB is committed: the send behind is not in flight
			my $sent = 0;
			for (1 .. 100)
			{
				last if ($sent = $node->safe_psql($DB,
					"SELECT coalesce((SELECT size FROM pgfs_lstat('$path')), 0) >= $mib")) eq 't';
				usleep(100_000);
			}
			is($sent, 't', "$how: the first MiB reached the server");
			is(holder($h, 'chmod 640'), 'ok', "$how: fchmod (deferred)");
			if ($how eq 'restart')
			{
				$node->restart;    # pg_ctl's default: a fast, clean shutdown
			}
			else
			{
				$node->safe_psql($DB,
					"SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
					  . " WHERE application_name = 'pgfs-fuse'");
			}
			is(holder($h, 'fsync'), 'ok', "$how: fsync succeeds");
			is(holder($h, 'close'), 'ok', "$how: close succeeds");
			holder_stop($h);
			is( $node->safe_psql($DB,
					"SELECT pgfs_read('$path') = convert_to(repeat('E', " . (2 * $mib) . "), 'UTF8')"
					  . " AND (SELECT mode & 511 = 416 FROM pgfs_stat('$path'))"),
				't', "$how: the file has its 2 MiB and mode 640");
		}
	};
	pgfs_fsck_is_clean($node, $DB, 'fsck clean at the end');
}

unmount_store($mnt) if $mnt;
$node->stop;
done_testing();
