
# Copyright (c) pgfs contributors

=pod

=head1 NAME

PgfsTest - shared code of pgfs's TAP tests: a test tree, manifests, mounts

=head1 SYNOPSIS

  use PostgreSQL::Test::Cluster;
  use PgfsTest;

  my $node = pgfs_node('main', has_archiving => 1, allows_streaming => 1);
  pgfs_create_extension($node, 'postgres');
  pgfs_tree_phase1($node, 'postgres');
  my $m = manifest_sql($node, 'postgres');
  ...
  manifest_is(manifest_sql($restored, 'postgres'), $m, 'restored tree');

  if (my $why = mount_unavailable()) { skip $why, 3 }
  my $mnt = mount_store($restored, 'postgres', 'ro');
  manifest_is(manifest_mount($mnt), $m, 'through the mount', mtime => 's');
  unmount_store($mnt);

=head1 DESCRIPTION

The point of the tests that use this module is that after any backup and
restore the files are exactly those of the target instant.  "Exactly" is a
manifest: one line per name with its type, permission bits, owner, link
count, size, modification time, MD5 of the contents, symbolic link target,
extended attributes, and which names share an inode (hard-link groups).  The
manifest is built the same way from SQL (pgfs_readdir, pgfs_lstat, pgfs_read,
pgfs_readlink, pgfs_listxattr/pgfs_getxattr) and from a mount (lstat,
readlink, read, llistxattr/lgetxattr), so the two can be compared with each
other and with the manifest taken on the original server at the target.

Inode numbers themselves are not in the manifest, only the grouping of names
by inode: a hard-link group is named by its first path in byte order.

Mounts run C<pgfs-fuse -f> in the background with its output in the test's
log directory; every mount is unmounted and its daemon stopped at exit, also
when a test dies.

=cut

package PgfsTest;

use strict;
use warnings;

use Carp;
use Digest::MD5;
use Errno qw(ENODATA ENOTSUP ERANGE);
use Exporter 'import';
use Fcntl qw(:mode);
use File::Find;
use POSIX qw(WNOHANG);
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

our @EXPORT = qw(
  pgfs_node
  pgfs_create_extension
  pgfs_tree_phase0
  pgfs_tree_phase1
  pgfs_tree_phase2
  pgfs_fsck_is_clean
  pgfs_wait_for_archive
  pgfs_wait_until_promoted
  pgfs_restore_node
  manifest_sql
  manifest_mount
  manifest_mount_paths
  manifest_expect_paths
  manifest_lines
  manifest_is
  manifest_isnt
  mount_unavailable
  mount_store
  unmount_store
  mount_log
  mount_daemon_alive
);

# Settings every test node gets: the framework's streaming defaults
# (shared_buffers = 1MB, max_connections = 10) are too tight for two mounts
# of four connections each plus psql.
my $node_conf = <<'EOC';
shared_buffers = 16MB
max_connections = 40
log_min_error_statement = error
# the tests reclaim orphans at once after restarts (test/fuse/restore.sh
# checks the default: nothing reclaimed while mounts may be reconnecting)
pgfs.lock_grace = 0
EOC

=pod

=head1 FUNCTIONS

=over

=item pgfs_node(name, %init_params)

A new, started node initialized with C<%init_params> (passed to
C<< PostgreSQL::Test::Cluster->init >>) and the settings above.

=cut

sub pgfs_node
{
	my ($name, %params) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%params);
	$node->append_conf('postgresql.conf', $node_conf);
	$node->start;
	return $node;
}

=pod

=item pgfs_create_extension(node, dbname)

C<CREATE EXTENSION pgfs> in dbname (created if missing) and a helper
C<pgfs_test_bytes(seed, n)>: n reproducible bytes that do not compress.

=cut

sub pgfs_create_extension
{
	my ($node, $db) = @_;
	if ($node->safe_psql('postgres',
			"SELECT count(*) FROM pg_database WHERE datname = '$db'") eq '0')
	{
		$node->safe_psql('postgres', qq{CREATE DATABASE "$db"});
	}
	$node->safe_psql(
		$db, q{
CREATE EXTENSION pgfs;
CREATE FUNCTION pgfs_test_bytes(seed text, n integer) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT substr(string_agg(decode(md5(seed || i::text), 'hex'), ''::bytea ORDER BY i), 1, n)
      FROM generate_series(0, n / 16) i
$$;
});
	return;
}

=pod

=item pgfs_tree_phase0(node, dbname), pgfs_tree_phase1, pgfs_tree_phase2

The test tree.  Phase 0 is what exists before a base backup; phase 1
builds the tree the tests restore to: directories (one mode 0700), text and
random files of 0 bytes to 300 KB (several 64 KiB chunks, one exactly one
chunk), a sparse file, chunks shared by C<pgfs_copy>, names with spaces and
non-ASCII letters, a fifo, symbolic links (one dangling), a file with three
names, and extended attributes (one binary).  Phase 2 then changes all of it
in many small transactions: overwrite, append, truncate, write into a shared
chunk, rename a directory, rename over a file, unlink one name of a hard-link
group, delete files, change modes and attributes, create new files.

=cut

sub pgfs_tree_phase0
{
	my ($node, $db) = @_;
	$node->safe_psql(
		$db, q{
SELECT pgfs_mkdir('/before');
SELECT pgfs_write('/before/a.txt', convert_to('written before the base backup' || E'\n', 'UTF8'));
SELECT pgfs_write('/before/b.bin', pgfs_test_bytes('before', 70000));
SELECT pgfs_write('/journal.txt', convert_to('phase 0' || E'\n', 'UTF8'));
});
	return;
}

sub pgfs_tree_phase1
{
	my ($node, $db) = @_;
	$node->safe_psql(
		$db, q{
SELECT pgfs_mkdir('/docs');
SELECT pgfs_mkdir('/data/nested/deep', NULL, true);
SELECT pgfs_mkdir('/links');
SELECT pgfs_mkdir('/private', 448);
SELECT pgfs_append('/before/a.txt', convert_to('appended after it' || E'\n', 'UTF8'));
SELECT pgfs_write('/docs/readme.txt', convert_to('pgfs test tree' || E'\n', 'UTF8'));
SELECT pgfs_write('/docs/big.txt',
    convert_to(repeat('All work and no play makes Jack a dull boy.' || E'\n', 5000), 'UTF8'));
SELECT pgfs_write('/data/rand-300k.bin', pgfs_test_bytes('a', 300000));
SELECT pgfs_write('/data/rand-64k.bin', pgfs_test_bytes('b', 65536));
SELECT pgfs_write('/data/empty', ''::bytea);
SELECT pgfs_write('/data/sparse', 'tail'::bytea, 200000);
SELECT pgfs_write('/data/nested/deep/x.txt', 'deep'::bytea);
SELECT pgfs_write('/docs/space name.txt', 'spaces'::bytea);
SELECT pgfs_write('/docs/ünïcödé.txt', convert_to('ünïcödé', 'UTF8'));
SELECT pgfs_copy('/data/rand-300k.bin', '/data/copy-300k.bin');
SELECT pgfs_write('/private/secret', 'secret'::bytea);
SELECT pgfs_chmod('/private/secret', 384);
SELECT pgfs_symlink('../docs/readme.txt', '/links/readme');
SELECT pgfs_symlink('/does/not/exist', '/links/dangling');
SELECT pgfs_write('/links/target', 'one inode, three names'::bytea);
SELECT pgfs_link('/links/target', '/data/hardlink');
SELECT pgfs_link('/links/target', '/docs/hardlink2');
SELECT pgfs_setxattr('/docs/readme.txt', 'user.author', 'pgfs'::bytea);
SELECT pgfs_setxattr('/docs/readme.txt', 'user.bin', pgfs_test_bytes('x', 1000));
SELECT pgfs_setxattr('/data', 'user.dir', 'yes'::bytea);
SELECT pgfs_mknod('/data/fifo', 'fifo');
SELECT pgfs_append('/journal.txt', convert_to('phase 1' || E'\n', 'UTF8'));
});
	return;
}

sub pgfs_tree_phase2
{
	my ($node, $db) = @_;
	$node->safe_psql(
		$db, q{
SELECT pgfs_write('/docs/readme.txt', 'overwritten'::bytea);
SELECT pgfs_append('/data/rand-300k.bin', pgfs_test_bytes('c', 100000));
SELECT pgfs_truncate('/docs/big.txt', 70000);
SELECT pgfs_write('/data/rand-64k.bin', 'patch'::bytea, 1000);
SELECT pgfs_write('/data/copy-300k.bin', 'cow'::bytea, 65534);
SELECT pgfs_rename('/data/nested', '/data/moved');
SELECT pgfs_unlink('/data/empty');
SELECT pgfs_unlink('/docs/hardlink2');
SELECT pgfs_unlink('/links/readme');
SELECT pgfs_rename('/docs/space name.txt', '/docs/ünïcödé.txt');
SELECT pgfs_write('/new.txt', 'created after the target'::bytea);
SELECT pgfs_setxattr('/docs/readme.txt', 'user.author', 'someone else'::bytea);
SELECT pgfs_removexattr('/data', 'user.dir');
SELECT pgfs_chmod('/private', 493);
SELECT pgfs_truncate('/data/sparse', 10);
SELECT pgfs_remove('/before', true);
SELECT pgfs_link('/data/hardlink', '/new-hardlink');
SELECT pgfs_append('/journal.txt', convert_to('phase 2' || E'\n', 'UTF8'));
});
	return;
}

=pod

=item pgfs_fsck_is_clean(node, dbname, test_name)

Passes when C<pgfs_fsck()> returns no rows; otherwise shows them.

=cut

sub pgfs_fsck_is_clean
{
	my ($node, $db, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my $out = $node->safe_psql($db,
		'SELECT problem, ino, detail FROM pgfs_fsck() ORDER BY 1, 2, 3');
	return is($out, '', $name);
}

=pod

=item pgfs_wait_for_archive(node)

Switch to a new WAL segment and wait until the one just ended is archived,
so a restore can replay everything written so far.  Returns the LSN of the
switch.

=cut

sub pgfs_wait_for_archive
{
	my ($node) = @_;
	my $lsn = $node->safe_psql('postgres', 'SELECT pg_switch_wal()');
	my $seg = $node->safe_psql('postgres', "SELECT pg_walfile_name('$lsn')");
	$node->poll_query_until('postgres',
		"SELECT last_archived_wal >= '$seg' FROM pg_stat_archiver")
	  or croak "WAL segment $seg was not archived";
	return $lsn;
}

=pod

=item pgfs_wait_until_promoted(node)

Wait until a node recovering to a target has reached it and promoted.

=cut

sub pgfs_wait_until_promoted
{
	my ($node) = @_;
	$node->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
	  or croak 'node ' . $node->name . ' did not finish recovery';
	return;
}

=pod

=item pgfs_restore_node(name, root_node, backup_name, conf, %new_params)

A node restored from a base backup of root_node with WAL from its archive
(point-in-time recovery, not a standby), recovery settings conf appended,
started, and waited for until it has promoted.  Archiving is switched off:
restored nodes would otherwise push their new timeline's history into the
archive that the next restore in the same test reads.

=cut

sub pgfs_restore_node
{
	my ($name, $root, $backup, $conf, %params) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name, %params);
	$node->init_from_backup($root, $backup, has_restoring => 1, standby => 0);
	$node->append_conf('postgresql.conf',
		"archive_mode = off\nrecovery_target_action = 'promote'\n$conf");
	$node->start;
	pgfs_wait_until_promoted($node);
	return $node;
}

=pod

=item manifest_sql(node, dbname)

The manifest of the store in dbname, walked through the path API: a hash
of path => { type, perm, uid, gid, nlink, size, mtime_ns, md5, target,
xattr, ino, link }.

=cut

sub manifest_sql
{
	my ($node, $db) = @_;
	my $out = $node->safe_psql(
		$db, q{
WITH RECURSIVE walk(path, type) AS (
    SELECT '/'::text, 'directory'::text
  UNION ALL
    SELECT CASE w.path WHEN '/' THEN '' ELSE w.path END || '/' || d.name, d.type
      FROM walk w CROSS JOIN LATERAL pgfs_readdir(w.path) d
     WHERE w.type = 'directory'
)
SELECT w.path, s.type, s.mode & 4095, s.uid, s.gid, s.nlink, s.size, s.mtime_ns, s.ino,
       CASE WHEN s.type = 'file' THEN md5(pgfs_read(w.path)) END,
       CASE WHEN s.type = 'symlink' THEN pgfs_readlink(w.path) END,
       CASE WHEN s.type <> 'symlink' THEN
           (SELECT string_agg(x || '=' || md5(pgfs_getxattr(w.path, x)), ',' ORDER BY x COLLATE "C")
              FROM pgfs_listxattr(w.path) x) END
  FROM walk w CROSS JOIN LATERAL pgfs_lstat(w.path) s
 ORDER BY w.path COLLATE "C"
},
		extra_params => [ '-F', "\t" ]);
	my %m;
	for my $line (split /\n/, $out)
	{
		my @f = split /\t/, $line, -1;
		croak "unexpected manifest row: $line" unless @f == 12;
		$m{ $f[0] } = {
			type     => $f[1],
			perm     => $f[2] + 0,
			uid      => $f[3],
			gid      => $f[4],
			nlink    => $f[5],
			size     => $f[6],
			mtime_ns => $f[7],
			ino      => $f[8],
			md5      => $f[9],
			target   => $f[10],
			xattr    => $f[11],
		};
	}
	_link_groups(\%m);
	return \%m;
}

# Name each group of paths sharing an inode by its first path.
sub _link_groups
{
	my ($m) = @_;
	my %by_ino;
	push @{ $by_ino{ $m->{$_}{ino} } }, $_
	  for grep { defined $m->{$_}{ino} } sort keys %$m;
	for my $paths (values %by_ino)
	{
		next unless @$paths > 1;
		$m->{$_}{link} = $paths->[0] for @$paths;
	}
	return;
}

my %type_of = (
	S_IFREG, 'file', S_IFDIR, 'directory', S_IFLNK, 'symlink', S_IFIFO, 'fifo',
	S_IFSOCK, 'socket', S_IFCHR, 'char', S_IFBLK, 'block');

=pod

=item manifest_mount(dir)

The same manifest, walked through a mount at dir with lstat, readlink, read
and the xattr system calls.  mtime is only known to the second here, so
compare with C<< mtime => 's' >>.

=cut

sub manifest_mount
{
	my ($dir) = @_;
	my %m;
	my $visit = sub {
		my $full = $File::Find::name;
		my $path = substr($full, length $dir);
		$path = '/' if $path eq '';
		$m{$path} = _mount_entry($full);
	};
	local $File::Find::dont_use_nlink = 1;
	find({ wanted => $visit, no_chdir => 1, follow => 0 }, $dir);
	_link_groups(\%m);
	return \%m;
}

=pod

=item manifest_mount_paths(dir, paths)

Like manifest_mount, but looks each of the given paths up directly, the way
an application opens a file it has the name of, without listing any
directory (listing refreshes the kernel's name cache).  A path that does not
exist has type C<absent>; compare with manifest_expect_paths.

=cut

sub manifest_mount_paths
{
	my ($dir, $paths) = @_;
	my %m;
	for my $path (sort @$paths)
	{
		my $full = $path eq '/' ? $dir : "$dir$path";
		if (!lstat($full) && $!{ENOENT})
		{
			$m{$path} = { type => 'absent' };
			next;
		}
		$m{$path} = _mount_entry($full);
	}
	_link_groups(\%m);
	return \%m;
}

=pod

=item manifest_expect_paths(manifest, paths)

What manifest_mount_paths should return for paths on a store whose
manifest is given.

=cut

sub manifest_expect_paths
{
	my ($m, $paths) = @_;
	my %e;
	for my $path (@$paths)
	{
		$e{$path} = $m->{$path} ? { %{ $m->{$path} } } : { type => 'absent' };
		delete $e{$path}{link};
	}
	_link_groups(\%e);
	return \%e;
}

# The manifest entry of one name under a mount.
sub _mount_entry
{
	my ($full) = @_;
	my @st = lstat($full);
	return { type => "lstat failed: $!" } unless @st;
	my $e = {
		type     => $type_of{ S_IFMT($st[2]) } // sprintf('mode %o', $st[2]),
		perm     => S_IMODE($st[2]),
		uid      => $st[4],
		gid      => $st[5],
		nlink    => $st[3],
		size     => $st[7],
		mtime_ns => $st[9] . '000000000',
		ino      => $st[1],
	};
	if ($e->{type} eq 'file')
	{
		if (open my $fh, '<:raw', $full)
		{
			my $md5 = Digest::MD5->new;
			$e->{md5} =
			  eval { $md5->addfile($fh); 1 }
			  ? $md5->hexdigest
			  : "read failed: $!";
			close $fh;
		}
		else
		{
			$e->{md5} = "open failed: $!";
		}
	}
	$e->{target} = readlink($full) // "readlink failed: $!"
	  if $e->{type} eq 'symlink';
	# the path API's pgfs_listxattr follows symbolic links, so neither side
	# looks at a link's own attributes
	$e->{xattr} = _xattrs($full) unless $e->{type} eq 'symlink';
	return $e;
}

# "name=md5,..." of the extended attributes of a path (not following links).
sub _xattrs
{
	my ($path) = @_;
	require 'syscall.ph';    ## no critic (RequireBarewordIncludes)
	my $p   = "$path";
	my $buf = "\0" x 65536;
	my $n   = syscall(&SYS_llistxattr, $p, $buf, length $buf);
	return $!{ENOTSUP} ? '' : "llistxattr failed: $!" if $n < 0;
	my @names = sort grep { length } split /\0/, substr($buf, 0, $n);
	my @out;
	for my $name (@names)
	{
		my $nm  = "$name";
		my $val = "\0" x 65536;
		my $len = syscall(&SYS_lgetxattr, $p, $nm, $val, length $val);
		push @out,
		  $len < 0
		  ? "$name=lgetxattr failed: $!"
		  : "$name=" . Digest::MD5::md5_hex(substr($val, 0, $len));
	}
	return join ',', @out;
}

=pod

=item manifest_lines(manifest, %opts)

The manifest as sorted text lines.  C<< mtime => 's' >> rounds modification
times down to seconds (for comparisons with a mount), C<< mtime => 'none' >>
leaves them out.

=cut

sub manifest_lines
{
	my ($m, %opts) = @_;
	my $prec = $opts{mtime} // 'ns';
	my @lines;
	for my $path (sort keys %$m)
	{
		my $e     = $m->{$path};
		my $mtime = $e->{mtime_ns} // '';
		$mtime = substr($mtime, 0, -9) . 's'
		  if $prec eq 's' && length($mtime) > 9;
		$mtime = '' if $prec eq 'none';
		push @lines,
		  join(' ',
			$path,
			$e->{type} // '?',
			sprintf('%04o', $e->{perm} // 0),
			'owner=' . ($e->{uid} // '') . ':' . ($e->{gid} // ''),
			'nlink=' . ($e->{nlink} // ''),
			'size=' . ($e->{size} // ''),
			'mtime=' . $mtime,
			'md5=' . ($e->{md5} // ''),
			'target=' . ($e->{target} // ''),
			'xattr=' . ($e->{xattr} // ''),
			'link=' . ($e->{link} // ''));
	}
	return @lines;
}

=pod

=item manifest_is(got, expected, test_name, %opts)

Passes when two manifests are equal (%opts as for manifest_lines); on a
difference shows the lines only one of them has.

=item manifest_isnt(got, expected, test_name, %opts)

Passes when they differ: a sanity check that a test compares different
states.

=cut

sub manifest_is
{
	my ($got, $exp, $name, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my @g = manifest_lines($got, %opts);
	my @e = manifest_lines($exp, %opts);
	my (%g, %e);
	@g{@g} = ();
	@e{@e} = ();
	my @missing = grep { !exists $g{$_} } @e;
	my @extra   = grep { !exists $e{$_} } @g;
	my $ok = ok(!@missing && !@extra, $name);
	if (!$ok)
	{
		diag("expected, not found:\n" . join('', map { "  - $_\n" } @missing))
		  if @missing;
		diag("found, not expected:\n" . join('', map { "  + $_\n" } @extra))
		  if @extra;
	}
	return $ok;
}

sub manifest_isnt
{
	my ($got, $exp, $name, %opts) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	return isnt(join("\n", manifest_lines($got, %opts)),
		join("\n", manifest_lines($exp, %opts)), $name);
}

=pod

=item mount_unavailable()

Why no mount can be made here (as a TAP skip reason), or undef when
C<pgfs-fuse> and C<fusermount3> are on PATH and /dev/fuse opens for
reading and writing.

=cut

sub mount_unavailable
{
	for my $prog ('pgfs-fuse', 'fusermount3')
	{
		return "$prog is not on PATH"
		  unless grep { -x "$_/$prog" } split /:/, ($ENV{PATH} // '');
	}
	open(my $fh, '+<', '/dev/fuse')
	  or return "cannot open /dev/fuse as uid $>: $!";
	close $fh;
	return undef;
}

my %mounts;    # dir => { pid, log, status }
my $mount_seq = 0;

=pod

=item mount_store(node, dbname, options[, conninfo])

Mount the store of dbname on node (or the one conninfo names) at a new
directory with C<pgfs-fuse -f -o options> in the background and return the
directory once it is mounted.  The daemon's output goes to the test's log directory
(see mount_log).  Dies when the daemon exits before mounting.

=cut

sub mount_store
{
	my ($node, $db, $opts, $conninfo) = @_;
	my $dir = PostgreSQL::Test::Utils::tempdir('mnt');
	$mount_seq++;
	my $log =
	  "$PostgreSQL::Test::Utils::log_path/pgfs-fuse-" . $node->name . "-$mount_seq.log";
	$conninfo //= 'host=' . $node->host . ' port=' . $node->port . " dbname=$db";
	my @cmd = ('pgfs-fuse', $conninfo, $dir, '-f');
	push @cmd, '-o', $opts if defined $opts && $opts ne '';
	note "mounting: @cmd";

	my $pid = fork // croak "fork: $!";
	if ($pid == 0)
	{
		# the framework sets PGAPPNAME to the test's name; let the daemon
		# name itself (fallback_application_name) as it does in production
		delete $ENV{PGAPPNAME};
		open STDIN,  '<',  '/dev/null' or POSIX::_exit(126);
		open STDOUT, '>>', $log        or POSIX::_exit(126);
		open STDERR, '>&', \*STDOUT    or POSIX::_exit(126);
		exec @cmd or POSIX::_exit(127);
	}
	$mounts{$dir} = { pid => $pid, log => $log };

	for (my $i = 0; $i < 300; $i++)
	{
		return $dir if _is_mounted($dir);
		if (!_daemon_alive($mounts{$dir}))
		{
			my $status = $mounts{$dir}{status};
			delete $mounts{$dir};
			croak "pgfs-fuse exited (wait status $status) before mounting:\n"
			  . slurp_file($log);
		}
		usleep(100_000);
	}
	# stop the daemon now, so that it does nothing after its caller gave up
	unmount_store($dir);
	croak "pgfs-fuse did not mount $dir within 30 s:\n" . slurp_file($log);
}

# Reaps the daemon when it has exited, keeping its wait status.
sub _daemon_alive
{
	my ($m) = @_;
	return 0 if defined $m->{status};
	my $r = waitpid($m->{pid}, WNOHANG);
	return 1 if $r == 0;
	$m->{status} = $r == $m->{pid} ? $? : -1;
	return 0;
}

sub _is_mounted
{
	my ($dir) = @_;
	open my $fh, '<', '/proc/self/mounts' or return 0;
	while (<$fh>)
	{
		my @f  = split ' ';
		my $mp = $f[1];
		$mp =~ s/\\([0-7]{3})/chr(oct($1))/ge;
		return 1 if $mp eq $dir;
	}
	return 0;
}

=pod

=item mount_log(dir)

The daemon's output so far for the mount at dir.

=cut

sub mount_log
{
	my ($dir) = @_;
	my $m = $mounts{$dir} or return '';
	return -e $m->{log} ? slurp_file($m->{log}) : '';
}

=pod

=item mount_daemon_alive(dir)

Whether the daemon of the mount at dir is still running.

=cut

sub mount_daemon_alive
{
	my ($dir) = @_;
	my $m = $mounts{$dir} or return 0;
	return _daemon_alive($m);
}

=pod

=item unmount_store(dir)

Unmount (retrying while busy, lazily at last) and wait for the daemon to
exit.  Returns true when it exited with status 0.

=cut

sub unmount_store
{
	my ($dir) = @_;
	my $m = delete $mounts{$dir};
	for (my $i = 0; $i < 50 && _is_mounted($dir); $i++)
	{
		last if system('fusermount3', '-u', $dir) == 0;
		usleep(100_000);
	}
	system('fusermount3', '-u', '-z', $dir) if _is_mounted($dir);
	return 1 unless $m;
	for (my $i = 0; $i < 100 && _daemon_alive($m); $i++)
	{
		usleep(100_000);
	}
	if (_daemon_alive($m))
	{
		kill 'TERM', $m->{pid};
		usleep(500_000);
		kill 'KILL', $m->{pid} if _daemon_alive($m);
		waitpid($m->{pid}, 0);
		return 0;
	}
	return $m->{status} == 0;
}

END
{
	# before PostgreSQL::Test::Utils removes the directories under them
	my $saved = $?;
	unmount_store($_) for keys %mounts;
	$? = $saved;
}

=pod

=back

=cut

1;
