/*
 * conn.c
 *	  The server connections of pgfs-fuse.
 *
 * libpq connections must not be used by two threads at once, so a FUSE
 * worker checks a connection out for one statement and back in right after;
 * nothing else is ever waited for while a connection is held, so the pool
 * cannot deadlock with the open-file locks of handle.c.
 *
 * A connection is set up completely before its first use: every statement
 * is prepared, the mount's client id is registered (pgfs_ll_client_begin
 * takes a session advisory lock that keeps our open-but-unlinked files alive
 * while the session lasts), and the identity of the store is compared with
 * the one we mounted, because a reconnect may land on a database that was
 * restored in the meantime.
 *
 * Failures sort three ways.  A serialization failure or deadlock rolled the
 * statement's transaction back, so the statement is simply repeated.  A lost
 * connection is replaced; a read is then repeated once, but a write may or
 * may not have committed, so it fails with EIO.  Anything else is the
 * server's answer and goes through errmap.c.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pgfs_fuse.h"

struct slot
{
	PGconn	   *pg;				/* NULL until (re)connected */
	int			busy;
};

static const struct
{
	const char *name;
	const char *sql;
	int			writes;
}			stmts[SQL_COUNT] = {
#define PGFS_STMT(id, w, s) [SQL_##id] = {"pgfs_" #id, s, w},
	PGFS_STMT_LIST
#undef PGFS_STMT
};

static struct slot *slots;
static int	nslots;
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pool_cond = PTHREAD_COND_INITIALIZER;

/* store id, system identifier and timeline seen at mount time */
static char *identity;
static pthread_mutex_t identity_lock = PTHREAD_MUTEX_INITIALIZER;

static PGresult *
exec_stmt(PGconn *pg, enum pgfs_stmt st, const struct pgfs_params *p)
{
	return PQexecPrepared(pg, stmts[st].name, p->n, p->val, p->len, p->fmt, 1);
}

static int
res_ok(const PGresult *r)
{
	return PQresultStatus(r) == PGRES_TUPLES_OK ||
		PQresultStatus(r) == PGRES_COMMAND_OK;
}

/* Append the single value of sql to buf; false if the query failed. */
static int
append_value(PGconn *pg, const char *sql, char *buf, size_t size)
{
	PGresult   *r = PQexec(pg, sql);
	int			ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;

	if (ok)
		snprintf(buf + strlen(buf), size - strlen(buf), "/%s", PQgetvalue(r, 0, 0));
	else
		pgfs_log(FUSE_LOG_DEBUG, "\"%s\" failed: %s", sql, PQerrorMessage(pg));
	PQclear(r);
	return ok;
}

/*
 * Walk -o subdir from the store's root and make it the mount's root.  Runs
 * on a connection being set up, so it uses that connection directly.
 */
static int
resolve_root(PGconn *pg)
{
	int64_t		ino = 1;
	int			mode = S_IFDIR;
	char	   *path,
			   *save,
			   *name;
	int			ret = 0;

	if (!pgfs.cfg.subdir)
	{
		__atomic_store_n(&pgfs.root_ino, 1, __ATOMIC_RELAXED);
		return 0;
	}
	path = strdup(pgfs.cfg.subdir);
	for (name = strtok_r(path, "/", &save); name; name = strtok_r(NULL, "/", &save))
	{
		struct pgfs_params p = {0};
		PGresult   *r;

		if (!S_ISDIR(mode))
			break;
		par_i64(&p, ino);
		par_bytes(&p, name, strlen(name));
		r = exec_stmt(pg, SQL_LOOKUP, &p);
		if (!res_ok(r))
		{
			pgfs_log(FUSE_LOG_ERR, "subdir \"%s\": %s", pgfs.cfg.subdir,
					 strerror(pgfs_sqlstate_errno(PQresultErrorField(r, PG_DIAG_SQLSTATE),
												  PQresultErrorMessage(r))));
			PQclear(r);
			ret = -1;
			goto out;
		}
		ino = res_i64(r, 0, 0);
		mode = res_i32(r, 0, 1);
		PQclear(r);
	}
	if (!S_ISDIR(mode))
	{
		pgfs_log(FUSE_LOG_ERR, "subdir \"%s\": %s", pgfs.cfg.subdir, strerror(ENOTDIR));
		ret = -1;
		goto out;
	}
	__atomic_store_n(&pgfs.root_ino, ino, __ATOMIC_RELAXED);
	pgfs_log(FUSE_LOG_DEBUG, "subdir \"%s\" is inode %lld", pgfs.cfg.subdir, (long long) ino);
out:
	free(path);
	return ret;
}

/* Kernel notifications may block, so they are sent from a thread of their own. */
static void *
invalidate_thread(void *arg)
{
	if (pgfs.se)
		fuse_lowlevel_notify_inval_inode(pgfs.se, FUSE_ROOT_ID, 0, 0);
	return NULL;
}

/*
 * A restored database may carry the same store under another identity:
 * pg_dump makes a new store id, a physical restore a new timeline.  When the
 * identity changes, drop what the kernel caches of the root and re-resolve
 * the subdir; the rest of the cache expires within attr/entry_timeout.  The
 * pg_control functions need privileges; without them the store id alone
 * must do.
 */
static int
check_identity(PGconn *pg)
{
	char		buf[256] = "";
	int			first,
				changed;

	if (!append_value(pg, "SELECT pgfs_store_id()", buf, sizeof(buf)))
	{
		pgfs_log(FUSE_LOG_ERR, "pgfs_store_id() failed: %s", PQerrorMessage(pg));
		return -1;
	}
	append_value(pg, "SELECT system_identifier FROM pg_control_system()", buf, sizeof(buf));
	append_value(pg, "SELECT timeline_id FROM pg_control_checkpoint()", buf, sizeof(buf));

	pthread_mutex_lock(&identity_lock);
	first = identity == NULL;
	changed = !first && strcmp(identity, buf) != 0;
	if (first || changed)
	{
		if (changed)
			pgfs_log(FUSE_LOG_WARNING, "the store changed under the mount (%s, was %s); "
					 "dropping cached attributes", buf, identity);
		free(identity);
		identity = strdup(buf);
	}
	pthread_mutex_unlock(&identity_lock);

	if ((first || changed) && resolve_root(pg) != 0)
		return -1;
	if (changed)
	{
		pthread_t	t;

		if (pthread_create(&t, NULL, invalidate_thread, NULL) == 0)
			pthread_detach(t);
	}
	return 0;
}

/*
 * A filesystem must not hang forever on a server that went away: unless the
 * conninfo (which is expanded after these) or PGCONNECT_TIMEOUT says
 * otherwise, give up connecting after 10 s and notice a dead peer within a
 * minute.
 */
static PGconn *
connect_one(void)
{
	static const char *const kw[] = {"connect_timeout", "keepalives_idle",
		"keepalives_interval", "keepalives_count", "dbname",
	"fallback_application_name", NULL};
	const char *const val[] = {getenv("PGCONNECT_TIMEOUT") ? NULL : "10", "30",
		"10", "3", pgfs.cfg.conninfo, "pgfs-fuse", NULL};
	PGconn	   *pg = PQconnectdbParams(kw, val, 1);
	PGresult   *r;
	int			i;

	if (PQstatus(pg) != CONNECTION_OK)
	{
		pgfs_log(FUSE_LOG_ERR, "cannot connect: %s", PQerrorMessage(pg));
		goto fail;
	}
	for (i = 0; i < SQL_COUNT; i++)
	{
		if (pgfs.cfg.ro && stmts[i].writes)
			continue;
		r = PQprepare(pg, stmts[i].name, stmts[i].sql, 0, NULL);
		if (!res_ok(r))
		{
			pgfs_log(FUSE_LOG_ERR, "cannot prepare %s (is extension pgfs installed?): %s",
					 stmts[i].name, PQresultErrorMessage(r));
			PQclear(r);
			goto fail;
		}
		PQclear(r);
	}
	if (!pgfs.cfg.ro)
	{
		struct pgfs_params p = {0};

		par_i64(&p, pgfs.client);
		/* a mount must fail, not hang, if the lock cannot be had */
		PQclear(PQexec(pg, "SET lock_timeout = '10s'"));
		r = exec_stmt(pg, SQL_CLIENT_BEGIN, &p);
		PQclear(PQexec(pg, "RESET lock_timeout"));
		if (!res_ok(r))
		{
			pgfs_log(FUSE_LOG_ERR, "pgfs_ll_client_begin failed%s: %s",
					 strcmp(PQresultErrorField(r, PG_DIAG_SQLSTATE) ?: "", "25006") == 0
					 ? " (mount a standby with -o ro)" : "",
					 PQresultErrorMessage(r));
			PQclear(r);
			goto fail;
		}
		PQclear(r);
	}
	if (check_identity(pg) != 0)
		goto fail;
	return pg;

fail:
	PQfinish(pg);
	return NULL;
}

/*
 * An idle session has nothing to say: input waiting on one means the server
 * is terminating it (shutdown, pg_terminate_backend).  Noticing that here
 * lets a write go to a fresh connection instead of failing with EIO.
 */
static int
conn_usable(PGconn *pg)
{
	struct pollfd pfd = {.fd = PQsocket(pg),.events = POLLIN};

	return PQstatus(pg) == CONNECTION_OK &&
		PQtransactionStatus(pg) == PQTRANS_IDLE &&
		poll(&pfd, 1, 0) == 0;
}

static void
checkin(struct slot *s)
{
	pthread_mutex_lock(&pool_lock);
	s->busy = 0;
	pthread_cond_signal(&pool_cond);
	pthread_mutex_unlock(&pool_lock);
}

static struct slot *
checkout(void)
{
	struct slot *s = NULL;
	int			i;

	pthread_mutex_lock(&pool_lock);
	while (!s)
	{
		for (i = 0; i < nslots && !s; i++)
			if (!slots[i].busy)
				s = &slots[i];
		if (!s)
			pthread_cond_wait(&pool_cond, &pool_lock);
	}
	s->busy = 1;
	pthread_mutex_unlock(&pool_lock);

	if (s->pg && !conn_usable(s->pg))
	{
		pgfs_log(FUSE_LOG_WARNING, "connection lost, reconnecting");
		PQfinish(s->pg);
		s->pg = NULL;
	}
	if (!s->pg && !(s->pg = connect_one()))
	{
		checkin(s);
		return NULL;
	}
	return s;
}

/*
 * Run statement st.  Returns its result (the caller PQclear()s it), or NULL
 * with *err set to the errno to report.
 */
PGresult *
pgfs_exec(enum pgfs_stmt st, const struct pgfs_params *p, int *err)
{
	int			attempt = 0,
				relost = 0;

	for (;;)
	{
		struct slot *s = checkout();
		PGresult   *r;
		const char *state;
		int			lost;

		if (!s)
		{
			*err = EIO;
			return NULL;
		}
		r = exec_stmt(s->pg, st, p);
		if (res_ok(r))
		{
			checkin(s);
			return r;
		}
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		lost = PQstatus(s->pg) != CONNECTION_OK;
		if (lost)
		{
			pgfs_log(FUSE_LOG_WARNING, "connection lost during %s: %s",
					 stmts[st].name, PQerrorMessage(s->pg));
			PQfinish(s->pg);
			s->pg = NULL;
			checkin(s);
			PQclear(r);
			if (!stmts[st].writes && !relost++)
				continue;
			*err = EIO;
			return NULL;
		}
		checkin(s);
		if (state && attempt < PGFS_MAX_RETRIES &&
			(strcmp(state, PGFS_SQLSTATE_SERIALIZATION_FAILURE) == 0 ||
			 strcmp(state, PGFS_SQLSTATE_DEADLOCK_DETECTED) == 0))
		{
			PQclear(r);
			attempt++;
			pgfs_log(FUSE_LOG_DEBUG, "%s: retry %d after %s", stmts[st].name, attempt, state);
			usleep((useconds_t) (1000 * attempt + random() % 1000 * attempt));
			continue;
		}
		*err = pgfs_sqlstate_errno(state, PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
}

int
pgfs_conn_init(void)
{
	int			i;

	nslots = pgfs.cfg.workers;
	slots = calloc(nslots, sizeof(*slots));
	if (!slots)
		return -1;
	for (i = 0; i < nslots; i++)
		if (!(slots[i].pg = connect_one()))
			goto fail;
	if (!pgfs.cfg.ro)
	{
		/* a standby takes advisory locks, but every write would fail */
		PGresult   *r = PQexec(slots[0].pg, "SELECT pg_is_in_recovery()");
		int			standby = PQresultStatus(r) == PGRES_TUPLES_OK &&
			strcmp(PQgetvalue(r, 0, 0), "t") == 0;

		PQclear(r);
		if (standby)
		{
			pgfs_log(FUSE_LOG_ERR, "the server is a standby: mount it with -o ro");
			goto fail;
		}
	}
	return 0;

fail:
	pgfs_conn_fini();
	return -1;
}

void
pgfs_conn_fini(void)
{
	int			i;

	for (i = 0; slots && i < nslots; i++)
		PQfinish(slots[i].pg);
	free(slots);
	slots = NULL;
	free(identity);
	identity = NULL;
}
