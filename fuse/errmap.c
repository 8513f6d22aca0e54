/*
 * errmap.c
 *	  SQLSTATE to errno, for pgfs-fuse.
 *
 * The table is the X-macro list in pgfs_errcodes.h, shared with the backend
 * that raises the codes.  Its character columns pack into a switch label the
 * way PostgreSQL's MAKE_SQLSTATE does, so the lookup is one switch.  Anything
 * not in the table (syntax errors, a missing extension, connection trouble)
 * is not a filesystem error: it is logged and becomes EIO.
 */
#include <errno.h>

#include "pgfs_fuse.h"

#define PGSIXBIT(ch)	(((ch) - '0') & 0x3F)
#define PACK_SQLSTATE(c1, c2, c3, c4, c5) \
	(PGSIXBIT(c1) + (PGSIXBIT(c2) << 6) + (PGSIXBIT(c3) << 12) + \
	 (PGSIXBIT(c4) << 18) + (PGSIXBIT(c5) << 24))

int
pgfs_sqlstate_errno(const char *sqlstate, const char *message)
{
	if (sqlstate && strlen(sqlstate) == 5)
	{
		switch (PACK_SQLSTATE(sqlstate[0], sqlstate[1], sqlstate[2],
							  sqlstate[3], sqlstate[4]))
		{
#define PGFS_ERRCODE(errno_value, str, c1, c2, c3, c4, c5) \
			case PACK_SQLSTATE(c1, c2, c3, c4, c5): return errno_value;
				PGFS_ERRCODE_LIST
				PGFS_STD_ERRCODE_LIST
#undef PGFS_ERRCODE
			default:
				break;
		}
	}
	pgfs_log(FUSE_LOG_ERR, "unexpected server error%s%s: %s",
			 sqlstate ? " " : "", sqlstate ? sqlstate : "",
			 message && *message ? message : "(no message)");
	return EIO;
}
