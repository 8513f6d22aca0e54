/*-------------------------------------------------------------------------
 *
 * spi.c
 *	  Saved SPI plans and small accessors for their results.
 *
 * pgfs reaches its tables through SPI with plans prepared once per backend
 * (SPI_keepplan).  Each SQL-callable function brackets its work with
 * PgfsSpiBegin/PgfsSpiEnd; results meant for the caller are allocated in
 * PgfsCallerContext().
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"

#include "pgfs.h"

static bool spi_read_only = false;
static MemoryContext caller_context = NULL;

/* the path the current call is about, for messages below path.c; or NULL */
const char *PgfsCurrentPath = NULL;

void
PgfsSpiBegin(bool read_only)
{
	caller_context = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	spi_read_only = read_only;
	PgfsCurrentPath = NULL;
}

void
PgfsSpiEnd(void)
{
	SPI_finish();
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

/* Run a saved plan, preparing it on first use; returns SPI_processed. */
int
PgfsExec(PgfsPlan *p, Datum *values, const char *nulls)
{
	int			rc;

	if (p->plan == NULL)
		PgfsPrepare(p);
	rc = SPI_execute_plan(p->plan, values, nulls, spi_read_only, 0);
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
