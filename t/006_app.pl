
# Copyright (c) pgfs contributors

# The application story: invoices whose PDFs are files.
#
# A table row names its file (pdf_path) and the file's MD5; a deferred
# constraint trigger checks at commit that the file exists and matches, so
# a row cannot commit without its file.  Rows and files are written in one
# transaction and roll back together (whole transactions, failed statements,
# savepoints).  The application role has nothing but pgfs_writer and its
# own table.  Then a point-in-time restore brings rows and files back to the
# same instant: every row has its file with the right contents, there is no
# file without a row, and the tree is exactly that of the target.

use strict;
use warnings;

use FindBin;
use lib $FindBin::RealBin;    # PgfsTest.pm
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Digest::MD5;
use PgfsTest;
use Test::More;

my $db = 'shop';

my $primary = pgfs_node('primary', has_archiving => 1, allows_streaming => 1);
pgfs_create_extension($primary, $db);
$primary->safe_psql(
	$db, q{
CREATE ROLE app LOGIN;
GRANT pgfs_writer TO app;
GRANT CREATE ON SCHEMA public TO app;
SELECT pgfs_mkdir('/invoices');
SELECT pgfs_chown('/invoices', 1000, 1000);
});

# Run sql as the application; returns (exit code, stdout, stderr).
sub app_psql
{
	my ($node, $sql) = @_;
	my ($out, $err);
	my $rc = $node->psql($db, $sql,
		connstr => $node->connstr($db) . ' user=app',
		stdout  => \$out,
		stderr  => \$err,
		extra_params => [ '-v', 'VERBOSITY=verbose' ]);
	return ($rc, $out, $err);
}

sub app_ok
{
	my ($node, $sql, $name) = @_;
	local $Test::Builder::Level = $Test::Builder::Level + 1;
	my ($rc, $out, $err) = app_psql($node, $sql);
	ok($rc == 0, $name) or diag($err);
	return $out;
}

app_ok(
	$primary, q{
CREATE TABLE invoices (
    id        integer PRIMARY KEY,
    customer  text    NOT NULL,
    amount    numeric NOT NULL,
    pdf_path  text    NOT NULL UNIQUE,
    pdf_md5   text    NOT NULL
);

-- a row must not commit without its file, and the file must be the one
-- the row describes
CREATE FUNCTION invoices_pdf_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT pgfs_exists(NEW.pdf_path) THEN
        RAISE EXCEPTION 'invoice % has no file "%"', NEW.id, NEW.pdf_path
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    IF md5(pgfs_read(NEW.pdf_path)) <> NEW.pdf_md5 THEN
        RAISE EXCEPTION 'file "%" of invoice % does not match the row', NEW.pdf_path, NEW.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER invoices_pdf_exists
    AFTER INSERT OR UPDATE ON invoices
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION invoices_pdf_check();

-- what the application does to issue an invoice: the file and the row, in
-- the caller's transaction
CREATE FUNCTION issue_invoice(p_id integer, p_customer text, p_amount numeric, p_pdf bytea)
RETURNS void LANGUAGE sql AS $$
    SELECT pgfs_write('/invoices/' || p_id || '.pdf', p_pdf);
    INSERT INTO invoices VALUES (p_id, p_customer, p_amount,
        '/invoices/' || p_id || '.pdf', md5(p_pdf));
$$;
}, 'the application creates its schema');

# a PDF-ish document: a header and some random bytes
my $pdf = q{(convert_to('%PDF-1.4 invoice ' || %d, 'UTF8') || pgfs_test_bytes('inv' || %d, %d))};

# Helper function for the tests to make PDFs as the app (pgfs_test_bytes
# belongs to the superuser; the app may call it).
$primary->safe_psql($db, 'GRANT EXECUTE ON FUNCTION pgfs_test_bytes(text, integer) TO app');

sub state_of
{
	my ($node) = @_;
	return $node->safe_psql($db,
		'SELECT id, customer, amount, pdf_path, pdf_md5 FROM invoices ORDER BY id');
}

# 1. a rolled-back transaction leaves neither row nor file
app_ok($primary, sprintf(q{
BEGIN;
SELECT issue_invoice(1, 'ACME', 100, %s);
ROLLBACK;
}, sprintf($pdf, 1, 1, 5000)), 'issue an invoice and roll back');
is($primary->safe_psql($db, q{SELECT count(*) FROM invoices}), '0', 'rollback: no row');
is($primary->safe_psql($db, q{SELECT pgfs_exists('/invoices/1.pdf')}), 'f', 'rollback: no file');

# 2. a row without its file does not commit
my ($rc, $out, $err) = app_psql($primary,
	q{INSERT INTO invoices VALUES (2, 'ACME', 5, '/invoices/2.pdf', 'x')});
like($err, qr/ERROR:  23503: invoice 2 has no file/, 'a row without its file fails at commit');
is($primary->safe_psql($db, q{SELECT count(*) FROM invoices}), '0', 'and is not there');

# 3. a row whose file does not match does not commit, and takes the file along
($rc, $out, $err) = app_psql($primary, q{
BEGIN;
SELECT pgfs_write('/invoices/3.pdf', 'the wrong file'::bytea);
INSERT INTO invoices VALUES (3, 'ACME', 5, '/invoices/3.pdf', md5('another file'));
COMMIT;
});
like($err, qr/ERROR:  23514: file "\/invoices\/3.pdf" of invoice 3 does not match/,
	'a row whose file does not match fails at commit');
is($primary->safe_psql($db, q{SELECT pgfs_exists('/invoices/3.pdf')}), 'f',
	'and its file is gone with it');

# 4. a failing statement aborts the transaction: the file written before it goes too
($rc, $out, $err) = app_psql($primary, sprintf(q{
BEGIN;
SELECT issue_invoice(4, 'ACME', 100, %s);
SELECT issue_invoice(4, 'ACME', 100, %s);
COMMIT;
}, sprintf($pdf, 4, 4, 3000), sprintf($pdf, 4, 44, 3000)));
like($err, qr/ERROR:  23505/, 'a duplicate invoice fails');
is($primary->safe_psql($db, q{SELECT count(*), pgfs_exists('/invoices/4.pdf') FROM invoices}),
	'0|f', 'an aborted transaction leaves neither row nor file');

# 5. savepoints: the rolled-back part's file goes, the rest commits
app_ok($primary, sprintf(q{
BEGIN;
SELECT issue_invoice(5, 'Globex', 250, %s);
SAVEPOINT s;
SELECT issue_invoice(6, 'Globex', 260, %s);
ROLLBACK TO SAVEPOINT s;
COMMIT;
}, sprintf($pdf, 5, 5, 70000), sprintf($pdf, 6, 6, 70000)), 'savepoint');
is($primary->safe_psql($db,
		q{SELECT string_agg(id::text, ','), pgfs_exists('/invoices/5.pdf'), pgfs_exists('/invoices/6.pdf') FROM invoices}),
	'5|t|f', 'the invoice before the savepoint committed, with its file; the other did not');

$primary->backup('base');

# A day of business: 20 invoices of 1 KB to 200 KB, a transaction each.
app_ok(
	$primary,
	join('',
		map {
			sprintf("SELECT issue_invoice(%d, 'customer %d', %d, %s);\n",
				$_, $_, $_ * 10, sprintf($pdf, $_, $_, 1000 + ($_ - 10) * 10000))
		} 10 .. 29),
	'issue 20 invoices');
my $target_rows = state_of($primary);
my $target_tree = manifest_sql($primary, $db);
is($primary->safe_psql($db, 'SELECT count(*) FROM invoices'), '21', '21 invoices at the target');
sleep 1;
my $target_time = $primary->safe_psql($db, 'SELECT clock_timestamp()');
sleep 1;

# After the target: a cancelled invoice goes with its file, a corrected one
# gets a new file, new invoices arrive.
app_ok($primary, q{
BEGIN;
DELETE FROM invoices WHERE id = 12;
SELECT pgfs_unlink('/invoices/12.pdf');
COMMIT;
BEGIN;
SELECT pgfs_write('/invoices/13.pdf', convert_to('%PDF-1.4 corrected', 'UTF8'));
UPDATE invoices SET amount = 999, pdf_md5 = md5(convert_to('%PDF-1.4 corrected', 'UTF8')) WHERE id = 13;
COMMIT;
}, 'cancel one invoice and correct another');
app_ok(
	$primary,
	join('',
		map { sprintf("SELECT issue_invoice(%d, 'late %d', %d, %s);\n", $_, $_, $_, sprintf($pdf, $_, $_, 2000)) }
		  30 .. 34),
	'issue 5 more invoices');
isnt(state_of($primary), $target_rows, 'the invoices changed after the target');
pgfs_wait_for_archive($primary);

# Restore to the target time.
my $restored = pgfs_restore_node('restored', $primary, 'base',
	"recovery_target_time = '$target_time'");
is(state_of($restored), $target_rows, 'restored: the invoices of the target');
manifest_is(manifest_sql($restored, $db), $target_tree, 'restored: the files of the target');
is( $restored->safe_psql($db, q{
SELECT count(*) FROM invoices
 WHERE NOT pgfs_exists(pdf_path) OR md5(pgfs_read(pdf_path)) <> pdf_md5}),
	'0', 'restored: every invoice has its file, with the right contents');
is( $restored->safe_psql($db, q{
SELECT count(*) FROM pgfs_readdir('/invoices') d
 WHERE NOT EXISTS (SELECT 1 FROM invoices i WHERE i.pdf_path = '/invoices/' || d.name)}),
	'0', 'restored: no file without its invoice');
pgfs_fsck_is_clean($restored, $db, 'restored: fsck is clean');

# The application carries on on the restored server.
app_ok($restored, sprintf('SELECT issue_invoice(40, %s, 40, %s)', "'after restore'", sprintf($pdf, 40, 40, 100)),
	'restored: the application can issue invoices again');

my $why_no_mount = mount_unavailable();
SKIP:
{
	skip "no mount: $why_no_mount", 1 if $why_no_mount;
	# A program that reads the PDFs from a directory sees the same files.
	my $mnt  = mount_store($restored, $db, 'ro');
	my @rows = map { [ split /\|/ ] }
	  split /\n/, $restored->safe_psql($db, 'SELECT pdf_path, pdf_md5 FROM invoices ORDER BY id');
	my @bad;
	for my $r (@rows)
	{
		my ($path, $md5) = @$r;
		my $fh;
		my $got = open($fh, '<:raw', "$mnt$path")
		  ? Digest::MD5->new->addfile($fh)->hexdigest
		  : "open failed: $!";
		push @bad, "$path: $got, expected $md5" unless $got eq $md5;
	}
	is(join("\n", @bad), '', 'restored: every invoice\'s file reads right through a mount');
	unmount_store($mnt);
}

done_testing();
