/*
 * dcache.c
 *	  Directory listings read whole for a run of lookups.
 *
 * Programs that stat many names of one directory without reading it (git
 * status, make, rsync's receiver, a web server) make the kernel send one
 * LOOKUP per name once its own entry cache has expired, and each lookup
 * costs a round trip to the server.  When a directory sees PGFS_DC_AFTER
 * lookups with no change made through this mount in between, the daemon
 * reads the whole directory with the attributes of its entries (the
 * statement readdirplus uses, in pages) and answers the next lookups in it
 * from that listing, names it lacks as absent, until min(entry_timeout,
 * attr_timeout) after the listing was read.  Every reply carries only the
 * time its listing has left, so nothing is served for longer after it was
 * read from the server than with the kernel's caches alone: a change made by
 * another mount or by SQL shows within the same timeouts as before.
 *
 * Changes made through this mount are of three kinds.  Each writing
 * statement bumps a sequence number (mutations) before it is sent and after
 * it returns, and a listing answers with attributes only while the number
 * is the one it was read under, so a listing read while a change was in
 * flight never hands out attributes.  A statement that removes or moves a
 * name (unlink, rmdir, rename) also bumps a second number (renames) the
 * same way, and a listing answers at all only while that one is unchanged.
 * A statement that adds a name (create, mkdir, mknod, symlink, link) tells
 * the listing of its directory the name, whatever the outcome, before the
 * reply: the listing then sends lookups of it to the server, and still
 * answers that other names are absent.  (A listing read while such a
 * statement was in flight is dropped: the statement's directory counts
 * them.)  So a listing outlives the files a program makes and writes next
 * to the names it stats (a build), without a name being reported absent
 * for longer than the kernel itself would.  A
 * lookup that finds an inode open here asks the server instead (its size
 * may still be buffered here), and a new cache epoch (cache.c: a lost
 * connection, another store) ends every listing.
 *
 * A program filling a directory (tar, cp -r, git checkout, a mail spool)
 * makes the kernel look each new name up before creating it, a round trip
 * to the server that only ever says "absent": a third of the time a small
 * file takes.  Reading a listing for those, anew once a window, did not
 * pay: a directory being filled can take longer to list than the lookups it
 * saves.  So a listing is also read when PGFS_DC_AFTER files are created in
 * a directory through this mount within one window, and it is kept current
 * instead of being read again: the directory's generation, which the server
 * bumps with every change of its entries (and of its attributes), is read
 * before and after the listing, and each create returns it as it is after
 * the create (pgfs_ll_create's parent_generation).  While that is one more
 * than the listing knew, nobody else changed the directory in between: the
 * listing with the names added through this mount is the directory as of
 * that create, and its window starts again from when the create was sent.
 * Any other number (another client's change, or a change through this mount
 * that does not report it, such as mkdir) stops the renewals, and the
 * listing lasts its window as any other.  Absent names are then answered
 * for no longer after the server last vouched for them than a negative
 * entry in the kernel's cache would be.  (The kernel holds the directory's
 * lock from the lookup to the create, so a mount's creates in one
 * directory come one at a time.)
 *
 * Bounded: a directory with more than PGFS_DC_MAX_ENTRIES entries is not listed (and
 * not tried again for a while), PGFS_DC_SLOTS directories at most are
 * followed, and all listings together hold PGFS_DC_TOTAL entries at most
 * (about 200 bytes each), the least recently used giving way.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pgfs_fuse.h"

#define PGFS_DC_AFTER		8		/* lookups in a row that make a listing worth it */
#define PGFS_DC_MAX_ENTRIES	100000
#define PGFS_DC_SLOTS		16
#define PGFS_DC_TOTAL		200000
#define PGFS_DC_PAGE		2000	/* entries per statement */
#define PGFS_DC_ADDED_MAX	50000	/* names added to one listing; more drop it */
#define PGFS_DC_ADDED_B		4096	/* their hash buckets */

struct dc_ent
{
	uint32_t	hash;
	uint32_t	len;
	const char *name;			/* in the listing's arena */
	struct stat st;
	int			xattrs;			/* its extended attributes */
};

/* a name added through this mount after the listing was read */
struct dc_added
{
	struct dc_added *next;
	uint32_t	hash;
	uint32_t	len;
	char		name[];
};

struct dc_list
{
	size_t		n;
	size_t		nb;				/* buckets, a power of two > n */
	int32_t    *bucket;			/* index into ents, -1: empty */
	struct dc_ent *ents;
	char	   *arena;
	struct dc_added **added;	/* PGFS_DC_ADDED_B chains, or NULL */
	size_t		nadded;
};

struct dc_slot
{
	fuse_ino_t	dir;			/* 0: free */
	int64_t		used;			/* last lookup, for replacement */
	uint64_t	seq;			/* mutations sequence misses belongs to */
	uint64_t	list_seq;		/* mutations sequence the listing was read under */
	uint64_t	list_rseq;		/* ... and renames sequence */
	unsigned	adds;			/* names added in dir through this mount */
	unsigned	epoch;			/* cache.c epoch of the listing */
	unsigned	xstamp;			/* ... and xattr stamp */
	unsigned	misses;			/* lookups without a listing under seq */
	int			fetching;
	int64_t		gen;			/* the directory's generation the listing is exact
								 * at, with the names added since; 0: unknown */
	unsigned	fills;			/* files created here through this mount ... */
	int64_t		fill_start;		/* ... since this time */
	int64_t		expires;		/* the listing's end (CLOCK_MONOTONIC ns) */
	int64_t		retry_at;		/* too big: not before this */
	struct dc_list *list;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct dc_slot slots[PGFS_DC_SLOTS];
static uint64_t mutations;		/* atomic */
static uint64_t renames;		/* atomic */
static size_t total;			/* entries in all listings; under lock */

static void
list_free(struct dc_list *l)
{
	if (!l)
		return;
	if (l->added)
	{
		for (size_t b = 0; b < PGFS_DC_ADDED_B; b++)
			while (l->added[b])
			{
				struct dc_added *a = l->added[b];

				l->added[b] = a->next;
				free(a);
			}
		free(l->added);
	}
	free(l->bucket);
	free(l->ents);
	free(l->arena);
	free(l);
}

/* Drop s's listing; under lock. */
static void
slot_drop(struct dc_slot *s)
{
	if (s->list)
		total -= s->list->n + s->list->nadded;
	list_free(s->list);
	s->list = NULL;
}

static const struct dc_ent *
list_find(const struct dc_list *l, const char *name)
{
	size_t		len = strlen(name);
	uint32_t	h = pgfs_name_hash(name, len);
	size_t		b;

	for (b = h & (l->nb - 1); l->bucket[b] >= 0; b = (b + 1) & (l->nb - 1))
	{
		const struct dc_ent *e = &l->ents[l->bucket[b]];

		if (e->hash == h && e->len == len && memcmp(e->name, name, len) == 0)
			return e;
	}
	return NULL;
}

static int
added_find(const struct dc_list *l, const char *name)
{
	size_t		len = strlen(name);
	uint32_t	h = pgfs_name_hash(name, len);
	const struct dc_added *a;

	if (!l->added)
		return 0;
	for (a = l->added[h % PGFS_DC_ADDED_B]; a; a = a->next)
		if (a->hash == h && a->len == len && memcmp(a->name, name, len) == 0)
			return 1;
	return 0;
}

/* The validity window of listings: 0 disables them. */
static double
window(void)
{
	return pgfs.cfg.entry_timeout < pgfs.cfg.attr_timeout ?
		pgfs.cfg.entry_timeout : pgfs.cfg.attr_timeout;
}

static int64_t
window_ns(void)
{
	return (int64_t) (window() * 1e9);
}

/* A writing statement is about to be sent, or returned; rename: it removes or moves names. */
void
pgfs_dcache_mutated(int rename)
{
	if (rename)
		__atomic_add_fetch(&renames, 1, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&mutations, 1, __ATOMIC_SEQ_CST);
}

static uint64_t
mutation_seq(void)
{
	return __atomic_load_n(&mutations, __ATOMIC_SEQ_CST);
}

/* for ops.c's readdir: the mutation sequence, and the listing window in ns */
uint64_t
pgfs_dcache_mutation_seq(void)
{
	return mutation_seq();
}

int64_t
pgfs_dcache_window_ns(void)
{
	return window_ns();
}

static uint64_t
rename_seq(void)
{
	return __atomic_load_n(&renames, __ATOMIC_SEQ_CST);
}

/*
 * A statement that adds name to directory parent (kernel id) returned,
 * whether it succeeded or not; before the reply.
 */
void
pgfs_dcache_added(fuse_ino_t parent, const char *name)
{
	struct dc_slot *s = NULL;
	struct dc_list *l;
	struct dc_added *a;
	size_t		len = strlen(name);
	int			i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < PGFS_DC_SLOTS && !s; i++)
		if (slots[i].dir == parent)
			s = &slots[i];
	if (s)
	{
		int64_t		now = pgfs_now_ns();

		s->adds++;				/* a listing being read may lack it */
		if (now - s->fill_start > window_ns())
		{
			s->fill_start = now;
			s->fills = 0;
		}
		s->fills++;
		if ((l = s->list) && !added_find(l, name))
		{
			if (l->nadded >= PGFS_DC_ADDED_MAX || total >= PGFS_DC_TOTAL ||
				(!l->added && !(l->added = calloc(PGFS_DC_ADDED_B, sizeof(*l->added)))) ||
				!(a = malloc(sizeof(*a) + len)))
				slot_drop(s);
			else
			{
				a->hash = pgfs_name_hash(name, len);
				a->len = len;
				memcpy(a->name, name, len);
				a->next = l->added[a->hash % PGFS_DC_ADDED_B];
				l->added[a->hash % PGFS_DC_ADDED_B] = a;
				l->nadded++;
				total++;
			}
		}
	}
	pthread_mutex_unlock(&lock);
}

/*
 * A create in directory parent (kernel id) returned the directory's
 * generation after it; sent: when it was sent (pgfs_now_ns).  After
 * pgfs_dcache_added.
 */
void
pgfs_dcache_created(fuse_ino_t parent, int64_t generation, int64_t sent)
{
	int			i;

	pthread_mutex_lock(&lock);
	for (i = 0; i < PGFS_DC_SLOTS; i++)
	{
		struct dc_slot *s = &slots[i];

		if (s->dir != parent)
			continue;
		if (s->list && s->gen != 0 && generation == s->gen + 1 &&
			s->epoch == pgfs_cache_epoch() && s->list_rseq == rename_seq())
		{
			int64_t		until = sent + window_ns();

			s->gen = generation;
			if (until > s->expires)
				s->expires = until;
		}
		else
			s->gen = 0;
		break;
	}
	pthread_mutex_unlock(&lock);
}

/* Directory dir's generation (kernel id), or 0 on an error. */
static int64_t
dir_generation(fuse_ino_t dir)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int64_t		g = 0;
	int			err;

	par_i64(&p, ino_in(dir));
	if ((r = pgfs_exec(SQL_GENERATION, &p, &err)) && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
		g = res_i64(r, 0, 0);
	PQclear(r);
	return g;
}

/*
 * Read directory dir (kernel id) whole; NULL when it is too big, on an
 * error, or out of memory (*too_big says which).  *gen: the directory's
 * generation the listing is exact at, or 0 if it changed while it was read.
 */
static struct dc_list *
fetch(fuse_ino_t dir, int *too_big, int64_t *gen)
{
	struct dc_list *l = calloc(1, sizeof(*l));
	size_t		cap = 0,
				arena_used = 0,
				arena_cap = 0,
				i;
	int64_t		cookie = 2;
	int			err = 0;

	*too_big = 0;
	if (!l)
		return NULL;
	*gen = dir_generation(dir);
	for (;;)
	{
		struct pgfs_params p = {0};
		PGresult   *r;
		int			row,
					rows;

		par_i64(&p, ino_in(dir));
		par_i64(&p, cookie);
		par_i32(&p, PGFS_DC_PAGE);
		par_i32(&p, PGFS_ATIME_NONE);	/* the daemon's own listing: not a read */
		if (!(r = pgfs_exec(SQL_READDIR, &p, &err)))
			goto fail;
		rows = PQntuples(r);
		if (l->n + rows > PGFS_DC_MAX_ENTRIES)
		{
			PQclear(r);
			*too_big = 1;
			goto fail;
		}
		for (row = 0; row < rows; row++)
		{
			size_t		len = PQgetlength(r, row, 1);
			struct dc_ent *e;

			if (l->n == cap)
			{
				size_t		c2 = cap ? cap * 2 : 256;
				struct dc_ent *e2 = realloc(l->ents, c2 * sizeof(*e2));

				if (!e2)
				{
					PQclear(r);
					goto fail;
				}
				l->ents = e2;
				cap = c2;
			}
			if (arena_used + len + 1 > arena_cap)
			{
				size_t		a2 = arena_cap ? arena_cap * 2 : 16384;
				char	   *n2;

				while (a2 < arena_used + len + 1)
					a2 *= 2;
				if (!(n2 = realloc(l->arena, a2)))
				{
					PQclear(r);
					goto fail;
				}
				l->arena = n2;
				arena_cap = a2;
			}
			memcpy(l->arena + arena_used, PQgetvalue(r, row, 1), len);
			l->arena[arena_used + len] = '\0';
			e = &l->ents[l->n++];
			e->name = (const char *) (uintptr_t) arena_used;	/* an offset until the end */
			e->len = len;
			e->hash = pgfs_name_hash(l->arena + arena_used, len);
			pgfs_row_stat(r, row, 2, &e->st);
			e->xattrs = pgfs_row_xattrs(r, row, 2);
			arena_used += len + 1;
			cookie = res_i64(r, row, 0);
		}
		PQclear(r);
		if (rows < PGFS_DC_PAGE)
			break;
	}
	for (l->nb = 16; l->nb < 2 * l->n + 2; l->nb *= 2)
		;
	if (!(l->bucket = malloc(l->nb * sizeof(*l->bucket))))
		goto fail;
	memset(l->bucket, 0xff, l->nb * sizeof(*l->bucket));
	for (i = 0; i < l->n; i++)
	{
		size_t		b;

		l->ents[i].name = l->arena + (uintptr_t) l->ents[i].name;
		for (b = l->ents[i].hash & (l->nb - 1); l->bucket[b] >= 0; b = (b + 1) & (l->nb - 1))
			;
		l->bucket[b] = (int32_t) i;
	}
	if (*gen != 0 && dir_generation(dir) != *gen)
		*gen = 0;
	return l;

fail:
	list_free(l);
	return NULL;
}

/* Answer from s's listing if it is current; under lock. */
static int
answer(struct dc_slot *s, const char *name, int64_t now, struct fuse_entry_param *e,
	   int *xattrs, unsigned *xs)
{
	const struct dc_ent *ent;
	double		left;

	if (!s->list || s->list_rseq != rename_seq() || s->epoch != pgfs_cache_epoch() ||
		now >= s->expires)
		return 0;
	ent = list_find(s->list, name);
	/* attributes may have changed since; a name added here is the server's to tell */
	if (ent ? s->list_seq != mutation_seq() : added_find(s->list, name))
		return 0;
	left = (double) (s->expires - now) / 1e9;
	memset(e, 0, sizeof(*e));
	*xattrs = -1;
	*xs = s->xstamp;
	if (ent)
	{
		e->attr = ent->st;
		e->ino = ent->st.st_ino;
		*xattrs = ent->xattrs;
	}
	e->attr_timeout = e->entry_timeout = left;
	return 1;
}

/*
 * Look name up in parent's listing.  Returns 1 with *e filled (e->ino 0:
 * absent; timeouts: what the listing has left), *xattrs (its count of
 * extended attributes, -1 if absent) and *xs (cache.c's xattr stamp when the
 * listing was read), or 0: ask the server.
 */
int
pgfs_dcache_lookup(fuse_ino_t parent, const char *name, struct fuse_entry_param *e,
				   int *xattrs, unsigned *xs)
{
	struct dc_slot *s = NULL;
	int64_t		now;
	uint64_t	seq,
				mseq;
	unsigned	ep,
				xstamp,
				adds;
	int64_t		gen;
	struct dc_list *l;
	int			i,
				too_big,
				ok;

	if (window() <= 0)
		return 0;
	now = pgfs_now_ns();
	pthread_mutex_lock(&lock);
	for (i = 0; i < PGFS_DC_SLOTS; i++)
		if (slots[i].dir == parent)
		{
			s = &slots[i];
			break;
		}
	if (!s)
	{
		for (i = 0; i < PGFS_DC_SLOTS; i++)
			if (!slots[i].fetching && (!s || slots[i].used < s->used))
				s = &slots[i];
		if (!s)
		{
			pthread_mutex_unlock(&lock);
			return 0;
		}
		slot_drop(s);
		memset(s, 0, sizeof(*s));
		s->dir = parent;
	}
	s->used = now;
	if (answer(s, name, now, e, xattrs, xs))
	{
		pthread_mutex_unlock(&lock);
		return 1;
	}
	mseq = mutation_seq();
	if (s->seq != mseq)
	{
		s->seq = mseq;
		s->misses = 0;
	}
	seq = rename_seq();
	/* a run of lookups, or a directory being filled through this mount */
	if ((++s->misses < PGFS_DC_AFTER &&
		 (s->fills < PGFS_DC_AFTER || now - s->fill_start > window_ns())) ||
		s->fetching || now < s->retry_at)
	{
		pthread_mutex_unlock(&lock);
		return 0;
	}
	s->fetching = 1;
	adds = s->adds;
	pthread_mutex_unlock(&lock);

	ep = pgfs_cache_epoch();
	xstamp = pgfs_cache_xattr_stamp();
	l = fetch(parent, &too_big, &gen);

	pthread_mutex_lock(&lock);
	s->fetching = 0;
	ok = 0;
	if (s->dir == parent)
	{
		if (too_big)
			s->retry_at = now + window_ns() * 10;
		if (l && rename_seq() == seq && s->adds == adds && pgfs_cache_epoch() == ep)
		{
			slot_drop(s);
			/* room: the least recently used listings give way */
			while (total + l->n > PGFS_DC_TOTAL)
			{
				struct dc_slot *old = NULL;

				for (i = 0; i < PGFS_DC_SLOTS; i++)
					if (slots[i].list && (!old || slots[i].used < old->used))
						old = &slots[i];
				if (!old)
					break;
				slot_drop(old);
			}
			total += l->n;
			s->list = l;
			l = NULL;
			s->list_seq = mseq;
			s->list_rseq = seq;
			s->gen = gen;
			s->fills = 0;
			s->epoch = ep;
			s->xstamp = xstamp;
			s->expires = now + window_ns();	/* from before the read */
			ok = answer(s, name, pgfs_now_ns(), e, xattrs, xs);
		}
	}
	pthread_mutex_unlock(&lock);
	list_free(l);
	return ok;
}
