/*-------------------------------------------------------------------------
 *
 * errors.c
 *	  The SQLSTATE/errno table as SQL, and small formatting helpers.
 *
 * The table itself is include/pgfs_errcodes.h, shared with pgfs-fuse.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <time.h>

#include "funcapi.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "pgfs.h"

typedef struct PgfsErrcodeRow
{
	const char *sqlstate;
	const char *name;
	int			errnum;
} PgfsErrcodeRow;

#define PGFS_ERRCODE(e, s, c1, c2, c3, c4, c5) {s, #e, e},
static const PgfsErrcodeRow errcode_table[] = {
	PGFS_ERRCODE_LIST
	PGFS_STD_ERRCODE_LIST
};
#undef PGFS_ERRCODE

PG_FUNCTION_INFO_V1(pgfs_errcodes);
Datum
pgfs_errcodes(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < lengthof(errcode_table); i++)
	{
		Datum		values[3];
		bool		nulls[3] = {false, false, false};

		values[0] = CStringGetTextDatum(errcode_table[i].sqlstate);
		values[1] = CStringGetTextDatum(errcode_table[i].name);
		values[2] = Int32GetDatum(errcode_table[i].errnum);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/* wall-clock time in nanoseconds since the Unix epoch */
int64
PgfsNowNs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64) ts.tv_sec * INT64CONST(1000000000) + ts.tv_nsec;
}

#define UNIX_TO_PG_USEC \
	((int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC)

Datum
PgfsNsToTimestamptz(int64 ns)
{
	/* floor division keeps pre-1970 times right */
	int64		us = ns / 1000 - ((ns % 1000) < 0 ? 1 : 0);

	return TimestampTzGetDatum(us - UNIX_TO_PG_USEC);
}

int64
PgfsTimestamptzToNs(Datum ts)
{
	TimestampTz t = DatumGetTimestampTz(ts);
	int64		us;

	if (TIMESTAMP_NOT_FINITE(t))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("file times must be finite")));
	us = t + UNIX_TO_PG_USEC;
	if (us > PG_INT64_MAX / 1000 || us < PG_INT64_MIN / 1000)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("file time out of range")));
	return us * 1000;
}

/* a name for messages: the bytes as they are when valid text, else escaped */
const char *
PgfsNameStr(PgfsName name)
{
	StringInfoData buf;

	if (pg_verify_mbstr(GetDatabaseEncoding(), name.data, name.len, true))
		return pnstrdup(name.data, name.len);
	initStringInfo(&buf);
	for (int i = 0; i < name.len; i++)
	{
		unsigned char c = (unsigned char) name.data[i];

		if (c < 0x20 || c >= 0x7f || c == '\\')
			appendStringInfo(&buf, "\\x%02x", c);
		else
			appendStringInfoChar(&buf, c);
	}
	return buf.data;
}

const char *
PgfsTypeName(int32 mode)
{
	switch (mode & S_IFMT)
	{
		case S_IFREG:
			return "file";
		case S_IFDIR:
			return "directory";
		case S_IFLNK:
			return "symlink";
		case S_IFIFO:
			return "fifo";
		case S_IFSOCK:
			return "socket";
		case S_IFCHR:
			return "char";
		case S_IFBLK:
			return "block";
	}
	return "unknown";
}
