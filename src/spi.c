/*-------------------------------------------------------------------------
 *
 * spi.c
 *	  Saved SPI plans and small accessors for their results.
 *
 * pgfs reaches its tables through SPI with plans prepared once per backend
 * (SPI_keepplan).  Each SQL-callable function brackets its work with
 * PgfsSpiBegin/PgfsSpiEnd; results meant for the caller are allocated in
 * PgfsCallerContext().  Hot read-only calls (stat, read) begin with
 * PgfsSpiBeginDirect instead: they read through index scans (catalog.c,
 * chunkstore.c).  Either way SPI is connected, and the search_path pinned
 * (below), only when the call runs its first statement: creating a small
 * file or writing one reads and writes its rows directly (catalog.c,
 * rowwrite.c) and may run none; the pin and SPI_connect/SPI_finish were
 * 1.7 % of the backend's time in creating a 4 KiB file, not counting the
 * namespace recomputation the restored search_path costs the caller's next
 * statement.  A statement, or a cursor (PgfsCursorOpen), connects first.
 *
 * The search_path.  The functions are SECURITY DEFINER, and a plan made
 * under the caller's search_path could call the caller's operators with our
 * rights.  A SET search_path clause on each function costs a GUC save,
 * parse and restore per call (and a namespace recomputation after it) even
 * in calls that never run a statement, so the hot functions carry no such
 * clause and the pin is taken here instead, before the first statement is
 * prepared or run: every statement pgfs runs is planned, and replanned, only
 * under "pg_catalog, pg_temp" (the plan cache replans a saved plan whose
 * search_path differs from the current one, so the pin must cover execution
 * as well as preparation).  Direct index scans resolve no names.  The pin is
 * a GUC nest level, as fmgr_security_definer uses; an error unwinds it with
 * the (sub)transaction.
 *
 * Sequential scans.  The same nest level sets enable_seqscan off.  pgfs's
 * statements find rows by key, and their plans are generic and kept for
 * the life of the backend, replanned only when an invalidation comes (an
 * ANALYZE, a schema change).  A plan made while a table was small -- a new
 * store, or one analyzed when it was new -- chose a sequential scan for
 * "WHERE ino = $1" as the cheapest, and kept it as the table grew: creating
 * 3000 files in one session ran 3000 sequential scans of pgfs.inode that
 * read 4.5 million rows, each create slower than the last (in the mount
 * benchmark, whose connections live long, a create or a write statement
 * took 340-500 us of server time, against about 80 in a fresh store).  With
 * sequential scans off while any statement is planned, key lookups are
 * planned as index scans whatever the table's size then.  The few
 * statements that read whole tables (pgfs_fsck's checks, orphan reclaim,
 * statfs) are marked "scans" and planned with them on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "optimizer/cost.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "pgfs.h"

#define PGFS_SEARCH_PATH "pg_catalog, pg_temp"

static bool spi_read_only = false;
static bool spi_connected = false;
static int	pin_level = 0;		/* GUC nest level of the search_path pin, or 0 */
static int	lookup_depth = 0;
static bool lookup_pushed = false;
static MemoryContext caller_context = NULL;

/* the path the current call is about, for messages below path.c; or NULL */
const char *PgfsCurrentPath = NULL;

/*
 * Pin search_path, and sequential scans off, for the rest of this call (see
 * the top of the file).
 */
void
PgfsPinSearchPath(void)
{
	int			level;

	if (pin_level != 0)
		return;
	level = NewGUCNestLevel();
	if (strcmp(namespace_search_path, PGFS_SEARCH_PATH) != 0)
		(void) set_config_option("search_path", PGFS_SEARCH_PATH, PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	if (enable_seqscan)
		(void) set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	pin_level = level;
}

/*
 * Deferred commits.  A call whose own changes may be lost in a crash (an
 * open, a lock, a write the client makes durable later with an fsync)
 * commits without waiting for its WAL flush: SET LOCAL synchronous_commit =
 * off.  That setting is the whole transaction's, and a transaction that
 * also wrote something else -- rows of the caller's, a durable pgfs call --
 * must still wait for the flush before its commit is acknowledged.  So the
 * WAL this backend writes (XactLastRecEnd) is accounted for: each call's,
 * by whether it deferred its commit, and what was written between calls
 * and after the last one as the caller's.  At pre-commit, if anything but
 * deferring calls wrote WAL, synchronous_commit goes back to what it was.
 * (Before 1.6's library, a deferring call made any such transaction skip
 * its flush.)
 *
 * A call asks for the deferral before it begins (PgfsDeferThisCall, from
 * its arguments) or after it ended (PgfsDeferCommit); either way outside
 * the call's pin, so that the setting is not undone with the pin's nest
 * level but lasts to the end of the transaction.
 */
typedef struct DeferState
{
	bool		set;			/* this transaction set synchronous_commit off */
	char	   *saved;			/* ... which was this before */
	bool		durable;		/* WAL was written that must be flushed */
	bool		next;			/* the call about to begin defers */
	bool		call_defers;	/* the current call defers */
	XLogRecPtr	call_start;
	XLogRecPtr	accounted;		/* WAL up to here has an owner */
	bool		ended_pending;	/* a call ended: is its WAL durable? */
	bool		ended_defers;
	XLogRecPtr	ended_start;
} DeferState;

static DeferState defer;		/* all zero: a transaction's start */

static void
DeferReset(void)
{
	if (defer.saved != NULL)
		pfree(defer.saved);
	memset(&defer, 0, sizeof(defer));
}

/* the WAL of the call that ended, and of anything after it, is accounted for */
static void
DeferSettle(void)
{
	if (defer.ended_pending && !defer.ended_defers && defer.accounted != defer.ended_start)
		defer.durable = true;
	defer.ended_pending = false;
	if (XactLastRecEnd != defer.accounted)
		defer.durable = true;	/* written outside pgfs's calls */
	defer.accounted = XactLastRecEnd;
}

static void
DeferXactCallback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (!defer.set)
				break;
			DeferSettle();
			if (defer.durable)
				(void) set_config_option("synchronous_commit", defer.saved, PGC_USERSET,
										 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
			break;
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
			DeferReset();
			break;
		default:
			break;
	}
}

/* a call that failed in a subtransaction asked for nothing for the next one */
static void
DeferSubXactCallback(SubXactEvent event, SubTransactionId mySubid,
					 SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		defer.next = false;
}

/* from _PG_init: the accounting starts afresh with each transaction */
void
PgfsDeferInit(void)
{
	RegisterXactCallback(DeferXactCallback, NULL);
	RegisterSubXactCallback(DeferSubXactCallback, NULL);
}

static void
DeferSet(void)
{
	if (!defer.set)
	{
		defer.saved = MemoryContextStrdup(TopMemoryContext,
										  GetConfigOption("synchronous_commit", false, false));
		defer.set = true;
	}
	(void) set_config_option("synchronous_commit", "off", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_LOCAL, true, 0, false);
}

/* the call about to begin commits without waiting for its WAL flush */
void
PgfsDeferThisCall(void)
{
	defer.next = true;
	DeferSet();
}

/* the call that just ended commits without waiting for its WAL flush */
void
PgfsDeferCommit(void)
{
	defer.ended_defers = true;
	DeferSet();
}

static void
Connect(void)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spi_connected = true;
	/* keep allocating where the caller was; PgfsSpiEnd returns to caller_context */
	MemoryContextSwitchTo(cxt);
}

static void
Begin(bool read_only)
{
	DeferSettle();
	defer.call_defers = defer.next;
	defer.next = false;
	defer.call_start = XactLastRecEnd;
	caller_context = CurrentMemoryContext;
	spi_read_only = read_only;
	spi_connected = false;
	pin_level = 0;
	lookup_depth = 0;
	lookup_pushed = false;
	PgfsCurrentPath = NULL;
	CatalogForget();
}

/* SPI, and the pin, on demand: PgfsPrepare and PgfsExec take them */
void
PgfsSpiBegin(bool read_only)
{
	Begin(read_only);
}

/* a read-only call that mostly reads through index scans */
void
PgfsSpiBeginDirect(void)
{
	Begin(true);
}

void
PgfsSpiEnd(void)
{
	CatalogCloseAll();
	if (spi_connected)
		SPI_finish();
	spi_connected = false;
	MemoryContextSwitchTo(caller_context);
	if (pin_level != 0)
		AtEOXact_GUC(true, pin_level);
	pin_level = 0;
	/* the call's WAL: durable unless it deferred, which it may say still */
	defer.ended_pending = true;
	defer.ended_defers = defer.call_defers;
	defer.ended_start = defer.call_start;
	defer.accounted = XactLastRecEnd;
}

/*
 * Bracket direct index reads.  A read-only call reads under the query's
 * snapshot, as SPI's read-only statements do.  Calls that change the tree
 * read what a new SPI statement would see: their own earlier changes and,
 * under READ COMMITTED, everything committed before the row locks they hold
 * were granted.  Nested brackets share the outer one's snapshot.
 */
void
PgfsLookupBegin(void)
{
	if (lookup_depth++ > 0 || spi_read_only)
		return;
	CommandCounterIncrement();
	PushActiveSnapshot(GetTransactionSnapshot());
	UpdateActiveSnapshotCommandId();
	lookup_pushed = true;
}

void
PgfsLookupEnd(void)
{
	if (--lookup_depth > 0)
		return;
	if (lookup_pushed)
		PopActiveSnapshot();
	lookup_pushed = false;
}

/* is this call read-only (a STABLE function, under the query's snapshot)? */
bool
PgfsSpiReadOnly(void)
{
	return spi_read_only;
}

MemoryContext
PgfsCallerContext(void)
{
	return caller_context;
}

/* Prepare and keep the plan of p, once per backend. */
void
PgfsPrepare(PgfsPlan *p)
{
	SPIPlanPtr	plan;

	PgfsPinSearchPath();
	if (!spi_connected)
		Connect();

	/*
	 * Generic plans: the statements are key
	 * lookups, and letting the plan cache weigh custom plans made every
	 * pgfs_read re-plan (58% of a 4 KiB read was spent in the planner).
	 */
	plan = SPI_prepare_cursor(p->sql, p->nargs, p->argtypes, CURSOR_OPT_GENERIC_PLAN);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed for \"%s\": %s", p->sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "SPI_keepplan failed");
	p->plan = plan;
}

/*
 * The planner settings p needs besides the pin's, in a GUC nest level of
 * their own that the caller ends with AtEOXact_GUC(true, level) once the
 * plan is made (an error unwinds it); -1 where p needs none.
 *
 * A statement that reads whole tables (fsck's checks) is planned with
 * sequential scans.  A statement that joins a directory's entries to their
 * inodes is planned with nested loops only: its generic plan expects the
 * directory of the average "parent = $1", and where one directory holds
 * most of the store's entries that is a hash join over a scan of every
 * inode.  Listing a directory of one entry in a store of 100000 files in
 * one directory took 13 ms that way, and a recursive pgfs_remove or
 * pgfs_copy paid it for every directory of the tree.
 */
static int
PlanSettings(PgfsPlan *p)
{
	int			level;

	if (!p->scans && !p->joins)
		return -1;
	level = NewGUCNestLevel();
	if (p->scans)
		(void) set_config_option("enable_seqscan", "on", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	if (p->joins)
	{
		(void) set_config_option("enable_hashjoin", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
		(void) set_config_option("enable_mergejoin", "off", PGC_USERSET, PGC_S_SESSION,
								 GUC_ACTION_SAVE, true, 0, false);
	}
	return level;
}

/*
 * Open a read-only cursor on the saved plan of p, prepared on first use.
 * SPI is connected and the pin taken first, as PgfsExec does, since a plan
 * prepared by an earlier call leaves this one connected to nothing (the
 * cursor would open in the SPI connection of whoever called us).
 */
Portal
PgfsCursorOpen(PgfsPlan *p, Datum *values, const char *nulls)
{
	Portal		portal;
	int			level;

	if (p->plan == NULL)
		PgfsPrepare(p);
	PgfsPinSearchPath();
	if (!spi_connected)
		Connect();
	level = PlanSettings(p);
	portal = SPI_cursor_open(NULL, p->plan, values, nulls, true);
	if (level >= 0)
		AtEOXact_GUC(true, level);
	return portal;
}

/* Run a saved plan, preparing it on first use; returns SPI_processed. */
int
PgfsExec(PgfsPlan *p, Datum *values, const char *nulls)
{
	int			rc;
	int			level;

	if (p->plan == NULL)
		PgfsPrepare(p);
	PgfsPinSearchPath();
	if (!spi_connected)
		Connect();
	level = PlanSettings(p);
	rc = SPI_execute_plan(p->plan, values, nulls, spi_read_only, 0);
	if (level >= 0)
		AtEOXact_GUC(true, level);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s", p->sql,
			 SPI_result_code_string(rc));
	return (int) SPI_processed;
}

Datum
PgfsGetDatum(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
}

bool
PgfsIsNull(int row, int col)
{
	bool		isnull;

	(void) PgfsGetDatum(row, col, &isnull);
	return isnull;
}

int64
PgfsGetInt64(int row, int col)
{
	bool		isnull;
	Datum		d = PgfsGetDatum(row, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

int32
PgfsGetInt32(int row, int col)
{
	bool		isnull;
	Datum		d = PgfsGetDatum(row, col, &isnull);

	return isnull ? 0 : DatumGetInt32(d);
}
