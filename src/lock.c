/*-------------------------------------------------------------------------
 *
 * lock.c
 *	  Record locks (fcntl) and whole-file locks (flock) that hold across
 *	  every mount of a store.
 *
 * The kernel keeps the locks of one mount to itself; two mounts of one
 * store (two application servers) would each grant a lock the other holds.
 * So pgfs-fuse sends them here and a lock is a row of pgfs.lock: the inode,
 * the mount (client), the kernel's lock owner there, whether it is a flock,
 * shared or exclusive, and the byte range [lstart, lend] (lend is
 * PGFS_LOCK_EOF for "to the end of the file, however far it grows").
 *
 * The rules are Linux's.  A record lock conflicts with one of another owner
 * (a process of this mount, or anything of another mount) that overlaps it
 * when either of the two is exclusive; an owner's new lock replaces what it
 * held of that range, splitting its older locks around it, and joins its
 * locks of the same kind that overlap or touch it, so that the locks F_GETLK
 * reports have the ranges ext4's would have.  Of several locks in the way
 * it reports the one that starts first (POSIX lets it be any of them;
 * Linux takes the first in its list, by owner).  A flock covers the whole
 * file and belongs to an open file; record locks and flocks never conflict
 * with each other.
 *
 * The table is unlogged, as pgfs.handle is: a lock means nothing after a
 * server crash, and taking one must not cost a WAL flush.  Every call locks
 * the inode's row first, as the release of a handle does, so calls on one
 * file run one after the other and see each other's rows (READ COMMITTED:
 * each statement takes a new snapshot).  The row lock writes WAL, so the
 * commit is deferred (PgfsDeferCommit) like an open's.
 *
 * A mount's locks on a file go with its last handle on it (namespace.c,
 * funcs_open.c), which also reclaims the locks a mount could not drop
 * itself (open file description locks, which the kernel never unlocks in a
 * FUSE filesystem).  The locks of a mount that died are ignored and
 * deleted when they stand in the way, and a row of pgfs.lock_taken (1.5;
 * logged, so that a crash in between keeps it; 1.4 had a flag in the
 * unlogged pgfs.client) tells a mount that was only cut off when it comes
 * back, which then reclaims none of them: a
 * client is live while one of its sessions holds its advisory lock
 * (funcs_ll.c).  For pgfs.lock_grace
 * seconds after the server starts (or restarts after a crash, or is
 * promoted) every client counts as live, so that mounts have time to reconnect after a restart before anyone
 * takes their locks (NFS servers give their clients such a grace period
 * too).
 *
 * A crash (or a restore, or a promotion) empties pgfs.lock, and with it
 * pgfs.lock_kept, whose one row says that no lock was lost (1.4).  While
 * that row is missing and the grace period lasts, the mounts take back the
 * locks they held (pgfs_ll_reclaimlk, which grants nothing else) and
 * nobody gets a new one (pgfs_ll_setlk answers "in the way"), as an NFS
 * server in its grace period grants only reclaims.  So a lock reclaimed
 * is one that nobody else held since the crash: the process that held it
 * goes on as if nothing happened.  A mount that comes back later finds its
 * reclaims refused and reports its locks lost (EIO).  The first lock asked
 * for after the grace period puts the row back, and ends the lock epoch
 * (1.6, below): a mount that comes back only in the grace period after a
 * later crash may not take back locks of an older epoch.  A clean restart
 * keeps the locks and the row, and costs lockers nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "pgfs.h"

/* lock types, the Linux values of F_RDLCK, F_WRLCK and F_UNLCK */
#define FL_SHARED		0
#define FL_EXCLUSIVE	1
#define FL_UNLOCK		2

#define LOCK_COLS "client, owner, excl, lstart, lend, pid"

static PgfsPlan conflicts_plan = {
	"SELECT " LOCK_COLS " FROM pgfs.lock"
	" WHERE ino = $1 AND flock = $2 AND (client <> $3 OR owner <> $4)"
	" AND lstart <= $6 AND lend >= $5 AND (excl OR $7)"
	" ORDER BY lstart, lend",
	7, {INT8OID, BOOLOID, INT8OID, INT8OID, INT8OID, INT8OID, BOOLOID}
};
/* the owner's locks that overlap or touch [$5, $6] */
static PgfsPlan own_plan = {
	"DELETE FROM pgfs.lock"
	" WHERE ino = $1 AND flock = $2 AND client = $3 AND owner = $4"
	" AND lstart <= $6 AND lend >= $5"
	" RETURNING excl, lstart, lend, pid",
	6, {INT8OID, BOOLOID, INT8OID, INT8OID, INT8OID, INT8OID}
};
static PgfsPlan insert_plan = {
	"INSERT INTO pgfs.lock (ino, client, owner, flock, excl, lstart, lend, pid)"
	" VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	8, {INT8OID, INT8OID, INT8OID, BOOLOID, BOOLOID, INT8OID, INT8OID, INT4OID}
};
/* a dead client's locks, and a flag that tells it so when it comes back (1.4) */
static PgfsPlan drop_client_plan = {
	"WITH told AS (UPDATE pgfs.client SET locks_taken = true WHERE client = $1)"
	" DELETE FROM pgfs.lock WHERE client = $1", 1, {INT8OID}
};
/* ... and from 1.5 in a table that a crash keeps */
static PgfsPlan drop_client_1_5_plan = {
	"WITH told AS (INSERT INTO pgfs.lock_taken VALUES ($1) ON CONFLICT DO NOTHING)"
	" DELETE FROM pgfs.lock WHERE client = $1", 1, {INT8OID}
};
/* ... in a database still at 1.3, which has no such flag */
static PgfsPlan drop_client_1_3_plan = {
	"DELETE FROM pgfs.lock WHERE client = $1", 1, {INT8OID}
};
static PgfsPlan locks_taken_plan = {
	"UPDATE pgfs.client SET locks_taken = false WHERE client = $1 AND locks_taken", 1, {INT8OID}
};
static PgfsPlan locks_taken_1_5_plan = {
	"DELETE FROM pgfs.lock_taken WHERE client = $1", 1, {INT8OID}
};
static PgfsPlan release_plan = {
	"DELETE FROM pgfs.lock WHERE ino = $1 AND client = $2", 2, {INT8OID, INT8OID}
};
static PgfsPlan kept_plan = {
	"SELECT 1 FROM pgfs.lock_kept", 0, {}
};
static PgfsPlan keep_plan = {
	"INSERT INTO pgfs.lock_kept VALUES (true) ON CONFLICT DO NOTHING", 0, {}
};
/* from 1.6 the row also says which lock epoch it is */
static PgfsPlan kept_1_6_plan = {
	"SELECT epoch FROM pgfs.lock_kept", 0, {}
};
/* taken before an epoch ends, so that one session ends it */
static PgfsPlan epoch_lock_plan = {
	"SELECT epoch FROM pgfs.lock_epoch FOR UPDATE", 0, {}
};
/* the epoch ends: the locks taken back in its grace period go on in the next */
static PgfsPlan keep_1_6_plan = {
	"WITH e AS (UPDATE pgfs.lock_epoch SET epoch = $1),"
	" h AS (INSERT INTO pgfs.lock_holder (client, epoch)"
	"       SELECT DISTINCT client, $1 FROM pgfs.lock"
	"       ON CONFLICT (client) DO UPDATE SET epoch = excluded.epoch)"
	" INSERT INTO pgfs.lock_kept (kept, epoch) VALUES (true, $1)", 1, {INT8OID}
};
static PgfsPlan holder_plan = {
	"SELECT epoch FROM pgfs.lock_holder WHERE client = $1", 1, {INT8OID}
};
static PgfsPlan note_holder_plan = {
	"INSERT INTO pgfs.lock_holder (client, epoch) VALUES ($1, $2)"
	" ON CONFLICT (client) DO UPDATE SET epoch = excluded.epoch", 2, {INT8OID, INT8OID}
};
/* may client reclaim: did it hold locks in the epoch the lost locks were of? */
static PgfsPlan may_reclaim_plan = {
	"SELECT h.epoch = e.epoch OR (h.epoch IS NULL AND e.epoch = 0)"
	" FROM pgfs.lock_epoch e LEFT JOIN pgfs.lock_holder h ON h.client = $1", 1, {INT8OID}
};
/* held to the end of the transaction, so that an error cannot leave it held */
static PgfsPlan try_live_plan = {
	"SELECT pg_catalog.pg_try_advisory_xact_lock($1, $2)", 2, {INT4OID, INT4OID}
};

typedef struct LockRow
{
	int64		client;
	int64		owner;
	bool		excl;
	int64		lstart;
	int64		lend;
	int32		pid;
} LockRow;

/*
 * Does pgfs.lock exist?  Not in a database still at 1.2, whose handles this
 * library releases too.  Two catalog cache lookups, made each time: the
 * extension may be updated, or dropped and made again at 1.2, in a session.
 */
bool
FileLockTableExists(void)
{
	Oid			nsp = get_namespace_oid("pgfs", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("lock", nsp));
}

/*
 * Is it less than pgfs.lock_grace since the server last became ready for
 * writes: its start, its restart after a backend crashed (the postmaster
 * starts over without a new start time, and crash recovery empties the
 * unlogged tables), or the promotion of a standby?  Until then the clients
 * that have not reconnected yet count as live: their locks stand, and
 * pgfs_reclaim_orphans() frees none of their files (tree.c).  The
 * postmaster writes its state into postmaster.pid at each of those moments,
 * and at no other while it runs (the socket lock files are the ones it
 * touches), so the file's modification time is the latest of them.  Only on
 * a primary: a standby takes no locks and reclaims nothing.
 */
bool
ClientGraceActive(void)
{
	TimestampTz since = PgStartTime;
	struct stat st;

	/* the backend runs in the data directory */
	if (stat("postmaster.pid", &st) == 0)
	{
		TimestampTz ready = time_t_to_timestamptz(st.st_mtim.tv_sec) +
			st.st_mtim.tv_nsec / 1000;

		if (ready > since)
			since = ready;
	}
	return !TimestampDifferenceExceeds(since, GetCurrentTimestamp(), pgfs_lock_grace * 1000);
}

/* Is the database at 1.4 or later: does pgfs.lock_kept exist?  (Inside an SPI block.) */
static bool
LockTables_1_4(void)
{
	return OidIsValid(get_relname_relid("lock_kept", get_namespace_oid("pgfs", false)));
}

/* ... at 1.5 or later: does pgfs.lock_taken exist? */
static bool
LockTables_1_5(void)
{
	return OidIsValid(get_relname_relid("lock_taken", get_namespace_oid("pgfs", false)));
}

/* ... at 1.6 or later: does pgfs.lock_holder exist? */
static bool
LockTables_1_6(void)
{
	return OidIsValid(get_relname_relid("lock_holder", get_namespace_oid("pgfs", false)));
}

/*
 * Lock epochs (1.6).  A mount that stayed away through a whole grace period
 * lost its locks for good: others may have taken them once the grace was
 * over.  It must not take them back in the grace period after a later
 * crash, although nothing it can see (its row of pgfs.client is missing
 * either way) tells the two crashes apart.  So the locks belong to an
 * epoch, pgfs.lock_epoch, which ends when the grace period after lost
 * locks is over (the first lock asked for after it puts pgfs.lock_kept
 * back); pgfs.lock_holder records the epoch of each mount's locks: the
 * current one when it is granted a lock, and the next one for every mount
 * that holds locks (those it took back) when an epoch ends.  In a grace
 * period a mount may reclaim only if its locks are of the current epoch,
 * the one the crash ended.  If no lock was asked for since the last grace
 * period ended, the epoch did not end, and rightly: nobody can have taken
 * a lock lost then.  The holder's row is written in an epoch's first grant
 * to a mount only, and that commit waits for the WAL flush, so that a
 * crash cannot forget the epoch of an acknowledged lock.  Each backend
 * remembers the last (client, epoch) it found written, and pgfs.lock_kept
 * carries the epoch, so that later grants cost no statement more.
 *
 * A mount without a row at epoch 0 may reclaim: a database updated from 1.5
 * in a grace period has no row for the mounts that had not taken their
 * locks back yet.
 */
static int64 holder_client = 0;
static int64 holder_epoch = -1;
static TransactionId holder_noted_xid = InvalidTransactionId;

/* the epoch has ended: the next one begins, with the locks held now */
static int64
EndEpoch(void)
{
	bool		isnull;
	int64		epoch;
	Datum		v[1];

	/* one session ends it; another that waited here finds it ended */
	if (PgfsExec(&epoch_lock_plan, NULL, NULL) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("pgfs.lock_epoch does not have its one row"),
				 errhint("Put it back, with an epoch above those of pgfs.lock_holder: "
						 "INSERT INTO pgfs.lock_epoch SELECT true, coalesce(max(epoch), 0) + 1 "
						 "FROM pgfs.lock_holder.")));
	epoch = DatumGetInt64(PgfsGetDatum(0, 1, &isnull));
	if (PgfsExec(&kept_1_6_plan, NULL, NULL) > 0)
		return DatumGetInt64(PgfsGetDatum(0, 1, &isnull));
	v[0] = Int64GetDatum(epoch + 1);
	PgfsExec(&keep_1_6_plan, v, NULL);
	return epoch + 1;
}

/* has this transaction written a holder's row? */
static bool
HolderNotedNow(void)
{
	return TransactionIdIsValid(holder_noted_xid) &&
		TransactionIdEquals(holder_noted_xid, GetTopTransactionIdIfAny());
}

/* client is granted a lock in epoch: make its row say so */
static void
NoteHolder(int64 client, int64 epoch)
{
	Datum		v[2] = {Int64GetDatum(client), Int64GetDatum(epoch)};
	bool		isnull;

	if (client == holder_client && epoch == holder_epoch)
		return;
	if (PgfsExec(&holder_plan, v, NULL) > 0 &&
		DatumGetInt64(PgfsGetDatum(0, 1, &isnull)) == epoch)
	{
		/* committed, unless this transaction wrote it: remember it */
		if (!HolderNotedNow())
		{
			holder_client = client;
			holder_epoch = epoch;
		}
		return;
	}
	PgfsExec(&note_holder_plan, v, NULL);
	holder_noted_xid = GetTopTransactionId();
}

/* may client take back now the locks it held when the locks were lost?  (1.6) */
static bool
MayReclaim(int64 client)
{
	Datum		v[1] = {Int64GetDatum(client)};
	bool		isnull;
	bool		may;

	if (PgfsExec(&may_reclaim_plan, v, NULL) != 1)
		return false;			/* no epoch: EndEpoch reports that */
	may = DatumGetBool(PgfsGetDatum(0, 1, &isnull));
	return !isnull && may;
}

/*
 * Were the locks lost less than pgfs.lock_grace ago: is this the time for
 * reclaims only?  When the grace period is over, the row that says no lock
 * is missing goes back (a transaction that rolls back leaves it to the next
 * lock), and from 1.6 (v1_6) the lock epoch ends.  *epoch is the current
 * epoch when not in the grace period (0 before 1.6).  A database still at
 * 1.3 has no such table and reclaims nothing.  Inside an SPI block.
 */
static bool
LocksReclaimOnly(bool v1_6, int64 *epoch)
{
	bool		isnull;

	*epoch = 0;
	if (!LockTables_1_4())
		return false;
	if (PgfsExec(v1_6 ? &kept_1_6_plan : &kept_plan, NULL, NULL) > 0)
	{
		if (v1_6)
			*epoch = DatumGetInt64(PgfsGetDatum(0, 1, &isnull));
		return false;
	}
	if (ClientGraceActive())
		return true;
	if (v1_6)
		*epoch = EndEpoch();
	else
		PgfsExec(&keep_plan, NULL, NULL);
	return false;
}

/*
 * Is client (another mount) live: does one of its sessions hold its
 * advisory lock?  If not, its locks are dropped, and pgfs.lock_taken says
 * so, under that lock, which this transaction keeps: a
 * mount that was only cut off from the server (a network failure) learns
 * it when it reconnects (pgfs_ll_client_begin waits for the lock, and
 * pgfs_ll_locks_taken answers), and reports those locks lost, instead of
 * going on as if it held what others may have taken since.  The note
 * commits with the lock call, which does not wait for its WAL flush: a
 * crash can lose it only together with all the new holder did under the
 * lock that was not yet durable either.
 */
static bool
ClientLiveOrDropped(int64 client)
{
	Datum		v[2] = {Int32GetDatum(PGFS_LOCK_CLASS), Int32GetDatum(PgfsClientKey(client))};
	Datum		c[1] = {Int64GetDatum(client)};
	bool		isnull;

	if (ClientGraceActive())
		return true;
	PgfsExec(&try_live_plan, v, NULL);
	if (!DatumGetBool(PgfsGetDatum(0, 1, &isnull)))
		return true;
	PgfsExec(LockTables_1_5() ? &drop_client_1_5_plan :
			 LockTables_1_4() ? &drop_client_plan : &drop_client_1_3_plan, c, NULL);
	return false;
}

static void
CheckArgs(int64 ino, int32 type, int64 lstart, int64 lend)
{
	if (type != FL_SHARED && type != FL_EXCLUSIVE && type != FL_UNLOCK)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid lock type %d for inode %lld", type, (long long) ino),
				 errdetail("0 is a shared (read) lock, 1 an exclusive (write) lock, 2 unlocks.")));
	if (lstart < 0 || lend < lstart)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid lock range %lld to %lld of inode %lld",
						(long long) lstart, (long long) lend, (long long) ino),
				 errhint("The range is [start, end], both inclusive, 0 <= start <= end.")));
	/* pgfs.lock is unlogged: a standby has no such rows to read */
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot lock inode %lld during recovery", (long long) ino)));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("file locks need a READ COMMITTED transaction"),
				 errdetail("A lock must see the locks committed since the transaction began.")));
	if (!FileLockTableExists())
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the pgfs extension in this database is older than 1.3 and has no locks"),
				 errhint("Run ALTER EXTENSION pgfs UPDATE.")));
}

/*
 * The first lock of another owner that conflicts with the one asked for, in
 * *out; false if none.  Locks of dead clients are dropped on the way.
 */
static bool
FirstConflict(int64 ino, bool flock, int64 client, int64 owner, bool excl,
			  int64 lstart, int64 lend, LockRow *out)
{
	Datum		v[7] = {Int64GetDatum(ino), BoolGetDatum(flock), Int64GetDatum(client),
		Int64GetDatum(owner), Int64GetDatum(lstart), Int64GetDatum(lend), BoolGetDatum(excl)};
	int			n = PgfsExec(&conflicts_plan, v, NULL);
	LockRow    *rows = palloc(sizeof(LockRow) * Max(n, 1));
	bool		found = false;

	for (int r = 0; r < n; r++)
	{
		bool		isnull;

		rows[r].client = PgfsGetInt64(r, 1);
		rows[r].owner = PgfsGetInt64(r, 2);
		rows[r].excl = DatumGetBool(PgfsGetDatum(r, 3, &isnull));
		rows[r].lstart = PgfsGetInt64(r, 4);
		rows[r].lend = PgfsGetInt64(r, 5);
		rows[r].pid = PgfsGetInt32(r, 6);
	}
	SPI_freetuptable(SPI_tuptable);
	for (int r = 0; r < n && !found; r++)
	{
		if (rows[r].client == client || ClientLiveOrDropped(rows[r].client))
		{
			*out = rows[r];
			found = true;
		}
	}
	pfree(rows);
	return found;
}

static void
InsertLock(int64 ino, int64 client, int64 owner, bool flock, bool excl,
		   int64 lstart, int64 lend, int32 pid)
{
	Datum		v[8] = {Int64GetDatum(ino), Int64GetDatum(client), Int64GetDatum(owner),
		BoolGetDatum(flock), BoolGetDatum(excl), Int64GetDatum(lstart),
	Int64GetDatum(lend), Int32GetDatum(pid)};

	PgfsExec(&insert_plan, v, NULL);
}

/*
 * Give owner the lock asked for (or unlock the range), over what it held:
 * its locks that overlap or touch the range are taken out, the parts
 * outside the range go back, and those of the same kind join the new lock.
 */
static void
ApplyLock(int64 ino, bool flock, int64 client, int64 owner, int32 pid, int32 type,
		  int64 lstart, int64 lend)
{
	bool		excl = type == FL_EXCLUSIVE;
	int64		nstart = lstart,
				nend = lend;
	Datum		v[6] = {Int64GetDatum(ino), BoolGetDatum(flock), Int64GetDatum(client),
		Int64GetDatum(owner), Int64GetDatum(lstart > 0 ? lstart - 1 : 0),
	Int64GetDatum(lend < PGFS_LOCK_EOF ? lend + 1 : PGFS_LOCK_EOF)};
	int			n = PgfsExec(&own_plan, v, NULL);
	LockRow    *rows = palloc(sizeof(LockRow) * Max(n, 1));

	for (int r = 0; r < n; r++)
	{
		bool		isnull;

		rows[r].excl = DatumGetBool(PgfsGetDatum(r, 1, &isnull));
		rows[r].lstart = PgfsGetInt64(r, 2);
		rows[r].lend = PgfsGetInt64(r, 3);
		rows[r].pid = PgfsGetInt32(r, 4);
	}
	SPI_freetuptable(SPI_tuptable);
	for (int r = 0; r < n; r++)
	{
		LockRow    *o = &rows[r];

		if (type != FL_UNLOCK && o->excl == excl)
		{
			/* the same kind, overlapping or touching: one lock */
			nstart = Min(nstart, o->lstart);
			nend = Max(nend, o->lend);
			continue;
		}
		if (o->lstart < lstart)
			InsertLock(ino, client, owner, flock, o->excl, o->lstart,
					   Min(o->lend, lstart - 1), o->pid);
		if (o->lend > lend)
			InsertLock(ino, client, owner, flock, o->excl, Max(o->lstart, lend + 1),
					   o->lend, o->pid);
	}
	if (type != FL_UNLOCK)
		InsertLock(ino, client, owner, flock, excl, nstart, nend, pid);
	pfree(rows);
}

/*
 * Lock ino's row (one call at a time per file, and none while a handle of
 * it is released), check that the caller may use it (a role confined to a
 * subtree locks nothing outside it, as it opens nothing there), and find
 * the first lock of another owner in the way of the one asked for, in
 * *other; false if none (or type unlocks).  *node gets the inode.
 */
static bool
LockInodeAndConflict(int64 ino, bool flock, int64 client, int64 owner, int32 type,
					 int64 lstart, int64 lend, PgfsInode *node, LockRow *other)
{
	CatalogLockInode(ino, node);
	PolicyCheckInode(node, false, InoLabel(ino, NULL));
	return type != FL_UNLOCK &&
		FirstConflict(ino, flock, client, owner, type == FL_EXCLUSIVE, lstart, lend, other);
}

/*
 * pgfs_ll_setlk and pgfs_ll_reclaimlk, whose arguments are the same: give
 * the lock asked for (or unlock), if no lock of another owner is in the
 * way and it is the time for what is asked: reclaims only while the locks
 * lost are taken back (LocksReclaimOnly), new locks only after that;
 * unlocks always.  Returns whether it was granted, and the inode in *node.
 */
static bool
SetLock(FunctionCallInfo fcinfo, bool reclaim, PgfsInode *node)
{
	int64		ino = PG_GETARG_INT64(0);
	int64		client = PG_GETARG_INT64(1);
	int64		owner = PG_GETARG_INT64(2);
	int32		pid = PG_GETARG_INT32(3);
	bool		flock = PG_GETARG_BOOL(4);
	int32		type = PG_GETARG_INT32(5);
	int64		lstart = PG_GETARG_INT64(6);
	int64		lend = PG_GETARG_INT64(7);
	LockRow		other;
	bool		granted;

	CheckArgs(ino, type, lstart, lend);
	if (reclaim && type == FL_UNLOCK)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid lock type %d to reclaim on inode %lld", type, (long long) ino),
				 errdetail("Only a shared (0) or exclusive (1) lock can be reclaimed.")));
	if (flock)
	{
		/* a flock is the whole file */
		lstart = 0;
		lend = PGFS_LOCK_EOF;
	}
	PgfsSpiBegin(false);
	granted = !LockInodeAndConflict(ino, flock, client, owner, type, lstart, lend, node, &other);
	if (granted && type != FL_UNLOCK)
	{
		bool		v1_6 = LockTables_1_6();
		int64		epoch;

		granted = LocksReclaimOnly(v1_6, &epoch) == reclaim &&
			(!reclaim || !v1_6 || MayReclaim(client));
		if (granted && !reclaim && v1_6)
			NoteHolder(client, epoch);
	}
	if (granted)
		ApplyLock(ino, flock, client, owner, pid, type, lstart, lend);
	PgfsSpiEnd();
	/*
	 * The lock table is unlogged, and the row lock's WAL need not be flushed
	 * before the answer; a holder's new epoch must be (spi.c puts the flush
	 * back if an earlier call of this transaction deferred it).
	 */
	if (!HolderNotedNow())
		PgfsDeferCommit();
	return granted;
}

PG_FUNCTION_INFO_V1(pgfs_ll_setlk);
Datum
pgfs_ll_setlk(PG_FUNCTION_ARGS)
{
	PgfsInode	node;

	if (!SetLock(fcinfo, false, &node))
		PG_RETURN_NULL();
	/* a client that caches the file's pages keeps them if this is what it saw */
	PG_RETURN_INT64(node.generation);
}

/*
 * A lock client held when the server lost its locks, taken back: granted
 * only while reclaims are (LocksReclaimOnly), and if no lock reclaimed
 * before stands in the way, which would mean that two mounts claim what
 * could not both have been theirs.  Returns whether it was granted.
 */
PG_FUNCTION_INFO_V1(pgfs_ll_reclaimlk);
Datum
pgfs_ll_reclaimlk(PG_FUNCTION_ARGS)
{
	PgfsInode	node;

	PG_RETURN_BOOL(SetLock(fcinfo, true, &node));
}

/*
 * Were client's locks dropped since it last asked (ClientLiveOrDropped)?
 * A mount asks at each session it begins, after pgfs_ll_client_begin, so
 * that no other mount can drop them between the question and the answer.
 */
PG_FUNCTION_INFO_V1(pgfs_ll_locks_taken);
Datum
pgfs_ll_locks_taken(PG_FUNCTION_ARGS)
{
	Datum		c[1] = {PG_GETARG_DATUM(0)};
	bool		taken;

	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("a standby has no file locks to ask about")));
	PgfsSpiBegin(false);
	taken = PgfsExec(LockTables_1_5() ? &locks_taken_1_5_plan : &locks_taken_plan, c, NULL) > 0;
	PgfsSpiEnd();
	PG_RETURN_BOOL(taken);
}

PG_FUNCTION_INFO_V1(pgfs_ll_getlk);
Datum
pgfs_ll_getlk(PG_FUNCTION_ARGS)
{
	int64		ino = PG_GETARG_INT64(0);
	int64		client = PG_GETARG_INT64(1);
	int64		owner = PG_GETARG_INT64(2);
	bool		flock = PG_GETARG_BOOL(3);
	int32		type = PG_GETARG_INT32(4);
	int64		lstart = PG_GETARG_INT64(5);
	int64		lend = PG_GETARG_INT64(6);
	TupleDesc	td;
	PgfsInode	node;
	LockRow		other;
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	CheckArgs(ino, type, lstart, lend);
	if (get_call_result_type(fcinfo, NULL, &td) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	td = BlessTupleDesc(td);
	values[0] = Int32GetDatum(FL_UNLOCK);
	values[1] = Int64GetDatum(lstart);
	values[2] = Int64GetDatum(lend);
	values[3] = Int32GetDatum(0);
	PgfsSpiBegin(false);
	if (LockInodeAndConflict(ino, flock, client, owner, type, lstart, lend, &node, &other))
	{
		values[0] = Int32GetDatum(other.excl ? FL_EXCLUSIVE : FL_SHARED);
		values[1] = Int64GetDatum(other.lstart);
		values[2] = Int64GetDatum(other.lend);
		/* a process of another mount has no number here */
		values[3] = Int32GetDatum(other.client == client ? other.pid : 0);
	}
	PgfsSpiEnd();
	PgfsDeferCommit();
	return HeapTupleGetDatum(heap_form_tuple(td, values, nulls));
}

/*
 * client's last handle on ino is gone: so are its locks there.  Inside an
 * SPI block, with the inode's row locked.
 */
void
FileLocksDrop(int64 ino, int64 client)
{
	Datum		v[2] = {Int64GetDatum(ino), Int64GetDatum(client)};

	if (FileLockTableExists())
		PgfsExec(&release_plan, v, NULL);
}
