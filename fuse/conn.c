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
 * while the session lasts), the identity of the store is compared with the
 * one seen before, and every file open here is registered again
 * (handle.c), because the server may have lost the registrations.
 *
 * A server restart loses every connection, and the server that comes back
 * may hold a restored copy of the store.  So after a lost connection the
 * first connection made drops everything the kernel caches (cache.c), and
 * says what changed if anything did.  A thread of its own (the keeper)
 * checks the idle connections and replaces lost ones as soon as the server
 * takes them again: until then a crashed server has forgotten our open
 * files, and another mount's pgfs_reclaim_orphans() could free them.
 *
 * Failures sort three ways.  A serialization failure or deadlock rolled the
 * statement's transaction back, so the statement is simply repeated.  A lost
 * connection is replaced; a read (or a write that may be repeated) is then
 * repeated once, but another write may or may not have committed, so it
 * fails with EIO.  Anything else is the server's answer and goes through
 * errmap.c.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pgfs_fuse.h"

/* the keeper looks at idle connections this often (ms) ... */
#define KEEPER_TICK_MS		250
/* ... and retries a server that refuses connections at most this rarely */
#define KEEPER_RETRY_MAX_MS	1000

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

/*
 * What the daemon compares to notice that the server behind the mount was
 * replaced.  pg_dump makes a new store id; a point-in-time restore or a
 * promotion a new timeline (taken from the current WAL position: the
 * checkpoint's timeline stays old until the next checkpoint); any restore,
 * even of a file-system snapshot with everything else equal, a new server
 * start time.  A value that cannot be read is "?" and not compared.
 */
enum
{
	ID_STORE,
	ID_STARTED,
	ID_TIMELINE,
	ID_SYSTEM,
	ID_SERVER,
	ID_COUNT
};
static const char *const id_label[ID_COUNT] = {
	"store id", "server start", "timeline", "system identifier", "server"
};

#define ID_LEN 80
struct identity
{
	char		v[ID_COUNT][ID_LEN];
};

static pthread_mutex_t identity_lock = PTHREAD_MUTEX_INITIALIZER;
static struct identity identity;	/* of the last connection made */
static int	have_identity;

/*
 * A connection was lost: the server may have been restarted, even from a
 * restored copy that looks the same in everything compared.  The next
 * connection made drops the kernel's caches.  Under identity_lock.
 */
static int	suspect;

/*
 * Times a new connection found that the server no longer knew this mount
 * (pgfs_ll_client_begin returned false after the first time): it started
 * from a crash, a restore or a promotion since, or another mount reclaimed
 * our row while we had no session.  A commit made without a WAL flush
 * (handle.c) before such a reset may be gone.  A connection lost to a clean
 * restart, pg_terminate_backend or the network is no reset: the server
 * still has every commit, and flushes it.  begin_lock makes each session's
 * begin and the count one step, so that no connection of ours is used on a
 * server that lost our commits before the count says so (a session that
 * finds the row another one of ours made after the reset waits for it).
 */
static unsigned resets;
static int	begun;

/*
 * Times a new session learned that this mount's file locks were dropped
 * while none of its sessions was connected (pgfs_ll_locks_taken): another
 * mount wanted them.  The server lost no commit then; only the locks are
 * lost.  Under begin_lock, like resets.
 */
static unsigned locks_taken;

/*
 * pgfs_conn_lock_resets() after the last such event: a lock granted before
 * (counted lower) is gone for good, even if a crash of the server followed
 * and its grace period would give it back.  0: none.
 */
static unsigned taken_before;
static pthread_mutex_t begin_lock = PTHREAD_MUTEX_INITIALIZER;

/* connecting failed and has not succeeded since: don't repeat the message */
static int	failing;

/* the keeper */
static pthread_t keeper;
static int	keeper_running,
			keeper_stop;
static pthread_mutex_t keeper_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t keeper_cond = PTHREAD_COND_INITIALIZER;

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

static int
retryable(const char *state)
{
	return state && (strcmp(state, PGFS_SQLSTATE_SERIALIZATION_FAILURE) == 0 ||
					 strcmp(state, PGFS_SQLSTATE_DEADLOCK_DETECTED) == 0);
}

static void
retry_sleep(int attempt)
{
	usleep((useconds_t) (1000 * attempt + random() % 1000 * attempt));
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
		int			err = 0;

		if (!S_ISDIR(mode))
			break;
		par_i64(&p, ino);
		par_bytes(&p, name, strlen(name));
		r = exec_stmt(pg, SQL_LOOKUP, &p);
		if (!res_ok(r))
			err = pgfs_sqlstate_errno(PQresultErrorField(r, PG_DIAG_SQLSTATE),
									  PQresultErrorMessage(r));
		else if (PQntuples(r) != 1 || PQgetisnull(r, 0, 0))
			err = ENOENT;
		if (err)
		{
			pgfs_log(FUSE_LOG_ERR, "subdir \"%s\": %s", pgfs.cfg.subdir, strerror(err));
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

/* Copy the columns of sql's single row into out[0..]; NULLs and failures stay "?". */
static void
read_values(PGconn *pg, const char *sql, char (*out)[ID_LEN])
{
	PGresult   *r = PQexec(pg, sql);
	int			i;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
	{
		for (i = 0; i < PQnfields(r); i++)
			if (!PQgetisnull(r, 0, i))
				snprintf(out[i], ID_LEN, "%s", PQgetvalue(r, 0, i));
	}
	else
		pgfs_log(FUSE_LOG_DEBUG, "\"%s\" failed: %s", sql, PQerrorMessage(pg));
	PQclear(r);
}

static int
read_identity(PGconn *pg, struct identity *id)
{
	int			i;

	for (i = 0; i < ID_COUNT; i++)
		strcpy(id->v[i], "?");
	/* the columns in ID_ order; a standby's WAL position has no timeline */
	read_values(pg, "SELECT pgfs_store_id(), pg_postmaster_start_time(),"
				" CASE WHEN pg_is_in_recovery()"
				" THEN (SELECT received_tli FROM pg_stat_wal_receiver)"
				" ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int"
				" END", &id->v[ID_STORE]);
	if (strcmp(id->v[ID_STORE], "?") == 0)
	{
		pgfs_log(FUSE_LOG_ERR, "pgfs_store_id() failed: %s", PQerrorMessage(pg));
		return -1;
	}
	if (strcmp(id->v[ID_TIMELINE], "?") == 0)
		read_values(pg, "SELECT timeline_id FROM pg_control_checkpoint()", &id->v[ID_TIMELINE]);
	read_values(pg, "SELECT system_identifier FROM pg_control_system()", &id->v[ID_SYSTEM]);
	snprintf(id->v[ID_SERVER], ID_LEN, "%s:%s", PQhost(pg) ?: "", PQport(pg) ?: "");
	return 0;
}

/* Describe in buf how identity b differs from a; "" when it does not. */
static void
describe_change(const struct identity *a, const struct identity *b, char *buf, size_t size)
{
	int			i;

	buf[0] = '\0';
	for (i = 0; i < ID_COUNT; i++)
		if (strcmp(a->v[i], "?") != 0 && strcmp(b->v[i], "?") != 0 &&
			strcmp(a->v[i], b->v[i]) != 0)
			snprintf(buf + strlen(buf), size - strlen(buf), "%s%s %s -> %s",
					 buf[0] ? ", " : "", id_label[i], a->v[i], b->v[i]);
}

/*
 * Compare the identity of a new connection with the last one seen; drop
 * the kernel's caches if it changed or a connection was lost since, and
 * find the subdir again if it changed.
 */
static int
check_identity(PGconn *pg)
{
	struct identity id;
	char		changes[512];
	int			first,
				drop;

	if (read_identity(pg, &id) != 0)
		return -1;

	pthread_mutex_lock(&identity_lock);
	first = !have_identity;
	describe_change(&identity, &id, changes, sizeof(changes));
	pthread_mutex_unlock(&identity_lock);
	if ((first || changes[0]) && resolve_root(pg) != 0)
		return -1;

	/* again: another connection may have noticed the change meanwhile */
	pthread_mutex_lock(&identity_lock);
	first = !have_identity;
	describe_change(&identity, &id, changes, sizeof(changes));
	drop = !first && (changes[0] || suspect);
	if (drop && changes[0])
		pgfs_log(FUSE_LOG_WARNING, "the store changed under the mount (%s); "
				 "dropping cached names and attributes", changes);
	else if (drop)
		pgfs_log(FUSE_LOG_INFO, "reconnected after a lost connection (%s %s, %s %s); "
				 "dropping cached names and attributes, as the server may have been restored",
				 id_label[ID_SERVER], id.v[ID_SERVER], id_label[ID_TIMELINE], id.v[ID_TIMELINE]);
	suspect = 0;
	identity = id;
	have_identity = 1;
	pthread_mutex_unlock(&identity_lock);
	if (drop)
		pgfs_cache_drop_all();
	return 0;
}

/*
 * The server's notices (pgfs_reclaim_orphans() says why it freed nothing,
 * for one) go to the log, not to whatever stderr the daemon has.
 */
static void
log_notice(void *arg, const char *message)
{
	pgfs_log(FUSE_LOG_DEBUG, "server: %.*s", (int) strcspn(message, "\n"), message);
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
		pgfs_log(__atomic_exchange_n(&failing, 1, __ATOMIC_RELAXED) ? FUSE_LOG_DEBUG : FUSE_LOG_ERR,
				 "cannot connect: %s", PQerrorMessage(pg));
		goto fail;
	}
	PQsetNoticeProcessor(pg, log_notice, NULL);
	for (i = 0; i < SQL_COUNT; i++)
	{
		if (pgfs.cfg.ro && stmts[i].writes)
			continue;
		r = PQprepare(pg, stmts[i].name, stmts[i].sql, 0, NULL);
		if (!res_ok(r))
		{
			const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

			/*
			 * 42883: the extension is there (the first statements prepared)
			 * but lacks a function this daemon calls: an older version (or
			 * build) of it.
			 */
			pgfs_log(FUSE_LOG_ERR, "cannot prepare %s (%s): %s", stmts[i].name,
					 i > 0 && state && strcmp(state, "42883") == 0 ?
					 "the pgfs extension in this database is older than this "
					 "pgfs-fuse " PGFS_FUSE_VERSION ": run ALTER EXTENSION pgfs UPDATE in it" :
					 "is extension pgfs installed?",
					 PQresultErrorMessage(r));
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
		pthread_mutex_lock(&begin_lock);
		r = exec_stmt(pg, SQL_CLIENT_BEGIN, &p);
		if (res_ok(r))
		{
			int			reset = begun && !res_bool(r, 0, 0);
			PGresult   *t;

			begun = 1;
			/* before any I/O on this session, so that none goes on under a lock taken */
			t = exec_stmt(pg, SQL_LOCKS_TAKEN, &p);
			if (res_ok(t) && res_bool(t, 0, 0))
			{
				/*
				 * Every lock held here is lost for good (not to be asked
				 * back: after a crash, the server would give it back in
				 * its grace period), which the reclaims learn from
				 * taken_before: set before the count changes.
				 */
				__atomic_store_n(&taken_before, pgfs_conn_lock_resets() + 1, __ATOMIC_SEQ_CST);
				__atomic_add_fetch(&locks_taken, 1, __ATOMIC_SEQ_CST);
				pgfs_log(FUSE_LOG_WARNING, "another mount took this mount's file locks while none of "
						 "its sessions was connected: the processes that held them get EIO through "
						 "the files they locked until they unlock");
			}
			/* a reset counted even if this session fails: the next one finds the mount known */
			if (reset)
			{
				__atomic_add_fetch(&resets, 1, __ATOMIC_SEQ_CST);
				pgfs_log(FUSE_LOG_WARNING, "the server no longer knows this mount: it restarted "
						 "after a crash or was restored (or another mount reclaimed our open files); "
						 "writes not yet fsynced may be lost, and files with such writes report EIO, "
						 "as do the open files of processes whose file locks were lost");
			}
			if (!res_ok(t))
			{
				PQclear(r);
				r = t;			/* the session fails, as if the begin had */
			}
			else
				PQclear(t);
		}
		pthread_mutex_unlock(&begin_lock);
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
	if (pgfs_fh_reregister(pg) != 0)
	{
		pgfs_log(FUSE_LOG_WARNING, "connection lost while registering open files: %s",
				 PQerrorMessage(pg));
		goto fail;
	}
	if (__atomic_exchange_n(&failing, 0, __ATOMIC_RELAXED))
		pgfs_log(FUSE_LOG_INFO, "connected again");
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

unsigned
pgfs_conn_resets(void)
{
	return __atomic_load_n(&resets, __ATOMIC_SEQ_CST);
}

/*
 * The events that took this mount's file locks from the server: its
 * resets, and the times another mount took them (locks_taken).  A lock
 * granted before the count last changed is no longer on the server.
 */
unsigned
pgfs_conn_lock_resets(void)
{
	return __atomic_load_n(&resets, __ATOMIC_SEQ_CST) +
		__atomic_load_n(&locks_taken, __ATOMIC_SEQ_CST);
}

/*
 * Is a lock granted when pgfs_conn_lock_resets() was resets among those
 * that another mount took (locks_taken)?  Read the count first, then this.
 */
int
pgfs_conn_lock_taken(unsigned resets)
{
	unsigned	before = __atomic_load_n(&taken_before, __ATOMIC_SEQ_CST);

	return before != 0 && (int) (resets - before) < 0;
}

/* s's connection is gone; s is checked out. */
static void
lose(struct slot *s, const char *how)
{
	pgfs_log(FUSE_LOG_WARNING, "connection lost%s, reconnecting%s%s", how,
			 PQerrorMessage(s->pg)[0] ? ": " : "", PQerrorMessage(s->pg));
	PQfinish(s->pg);
	s->pg = NULL;
	pthread_mutex_lock(&identity_lock);
	suspect = 1;
	pthread_mutex_unlock(&identity_lock);
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
		lose(s, "");
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
static PGresult *exec_pool(enum pgfs_stmt st, const struct pgfs_params *p, int *err);

PGresult *
pgfs_exec(enum pgfs_stmt st, const struct pgfs_params *p, int *err)
{
	/*
	 * A change to attributes stops directory listings from handing out
	 * attributes, a removed or moved name ends them; also one in flight
	 * (dcache.c; a statement that adds a name says which, in ops.c).
	 */
	int			changes = stmts[st].writes == PGFS_WRITES && st != SQL_FSYNC;
	int			renames = st == SQL_UNLINK || st == SQL_RMDIR || st == SQL_RENAME;
	PGresult   *r;

	if (changes)
		pgfs_dcache_mutated(renames);
	r = exec_pool(st, p, err);
	if (changes)
		pgfs_dcache_mutated(renames);
	return r;
}

static PGresult *
exec_pool(enum pgfs_stmt st, const struct pgfs_params *p, int *err)
{
	int			attempt = 0,
				relost = 0;

	for (;;)
	{
		struct slot *s = checkout();
		PGresult   *r;
		const char *state;

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
		if (PQstatus(s->pg) != CONNECTION_OK)
		{
			char		how[80];

			snprintf(how, sizeof(how), " during %s", stmts[st].name);
			lose(s, how);
			checkin(s);
			PQclear(r);
			if (stmts[st].writes != PGFS_WRITES && !relost++)
				continue;
			*err = EIO;
			return NULL;
		}
		checkin(s);
		if (retryable(state) && attempt < PGFS_MAX_RETRIES)
		{
			PQclear(r);
			attempt++;
			pgfs_log(FUSE_LOG_DEBUG, "%s: retry %d after %s", stmts[st].name, attempt, state);
			retry_sleep(attempt);
			continue;
		}
		*err = pgfs_sqlstate_errno(state, PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
}

/*
 * Run statement st on pg, a connection being set up (which the pool must
 * not hand out yet).  Like pgfs_exec, but a lost connection is the caller's
 * to notice (PQstatus).
 */
PGresult *
pgfs_exec_on(PGconn *pg, enum pgfs_stmt st, const struct pgfs_params *p, int *err)
{
	int			attempt = 0;

	for (;;)
	{
		PGresult   *r = exec_stmt(pg, st, p);
		const char *state;

		if (res_ok(r))
			return r;
		state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
		if (PQstatus(pg) != CONNECTION_OK)
		{
			PQclear(r);
			*err = EIO;
			return NULL;
		}
		if (retryable(state) && attempt < PGFS_MAX_RETRIES)
		{
			PQclear(r);
			retry_sleep(++attempt);
			continue;
		}
		*err = pgfs_sqlstate_errno(state, PQresultErrorMessage(r));
		PQclear(r);
		return NULL;
	}
}

/*
 * One round of the keeper: replace lost idle connections.  While the server
 * refuses them, one connection is tried, ever more rarely.
 */
static void
keep_slots(struct timespec *retry_at, int *backoff_ms)
{
	struct timespec now;
	int			i,
				down = 0;

	for (i = 0; i < nslots; i++)
	{
		struct slot *s = &slots[i];

		pthread_mutex_lock(&pool_lock);
		if (s->busy)
		{
			pthread_mutex_unlock(&pool_lock);
			continue;
		}
		s->busy = 1;
		pthread_mutex_unlock(&pool_lock);

		if (s->pg && !conn_usable(s->pg))
			lose(s, "");
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!s->pg && !down &&
			(now.tv_sec > retry_at->tv_sec ||
			 (now.tv_sec == retry_at->tv_sec && now.tv_nsec >= retry_at->tv_nsec)))
		{
			if ((s->pg = connect_one()))
				*backoff_ms = KEEPER_TICK_MS;
			else
			{
				down = 1;
				*backoff_ms = *backoff_ms * 2 > KEEPER_RETRY_MAX_MS ?
					KEEPER_RETRY_MAX_MS : *backoff_ms * 2;
				*retry_at = now;
				retry_at->tv_nsec += (long) *backoff_ms * 1000000;
				retry_at->tv_sec += retry_at->tv_nsec / 1000000000;
				retry_at->tv_nsec %= 1000000000;
			}
		}
		checkin(s);
	}
}

static void *
keeper_main(void *arg)
{
	struct timespec retry_at = {0},
				until;
	int			backoff_ms = KEEPER_TICK_MS;
	unsigned	reclaimed = pgfs_conn_lock_resets();

	pthread_mutex_lock(&keeper_lock);
	while (!keeper_stop)
	{
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += KEEPER_TICK_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000;
		until.tv_nsec %= 1000000000;
		pthread_cond_timedwait(&keeper_cond, &keeper_lock, &until);
		if (keeper_stop)
			break;
		pthread_mutex_unlock(&keeper_lock);
		keep_slots(&retry_at, &backoff_ms);
		/* the server lost our locks: take them back within its grace period */
		if (pgfs_conn_lock_resets() != reclaimed)
		{
			unsigned	now = pgfs_conn_lock_resets();

			if (pgfs_fh_reclaim_locks() == 0)
				reclaimed = now;
		}
		pthread_mutex_lock(&keeper_lock);
	}
	pthread_mutex_unlock(&keeper_lock);
	return NULL;
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

/* Start the keeper; after the daemon has forked. */
int
pgfs_conn_start(void)
{
	if (pthread_create(&keeper, NULL, keeper_main, NULL) != 0)
		return -1;
	keeper_running = 1;
	return 0;
}

void
pgfs_conn_fini(void)
{
	int			i;

	if (keeper_running)
	{
		pthread_mutex_lock(&keeper_lock);
		keeper_stop = 1;
		pthread_cond_signal(&keeper_cond);
		pthread_mutex_unlock(&keeper_lock);
		pthread_join(keeper, NULL);
		keeper_running = 0;
	}
	for (i = 0; slots && i < nslots; i++)
		PQfinish(slots[i].pg);
	free(slots);
	slots = NULL;
	have_identity = 0;
}
