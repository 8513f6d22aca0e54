/*
 * cache.c
 *	  What the kernel may cache of the mount, and dropping all of it.
 *
 * The kernel caches names (dentries, also of names found absent) for
 * entry_timeout, attributes for attr_timeout, and file pages while an inode
 * lives.  Expiry keeps mounts of one store coherent enough; but when the
 * server behind the mount is replaced by a restored copy, everything the
 * kernel holds may describe a store that no longer exists, and with long
 * timeouts it would be served for an hour.  The kernel offers no "drop
 * everything" call: names are invalidated one (parent, name) at a time and
 * inodes one node id at a time.  So this file keeps a list of what the
 * kernel may hold:
 *
 *	 - every node id with a nonzero lookup count (each reply that hands out
 *	   an entry counts one; forget() gives them back), and
 *	 - every (parent, name) handed out with a nonzero entry_timeout, positive
 *	   or negative, until its timeout has passed (an expired name is looked
 *	   up again before use) or its inode is forgotten (a dentry pins its
 *	   inode, so a forgotten inode has no names left in the kernel).
 *
 * Names are bounded by PGFS_CACHE_NAMES_MAX: past it, a name is handed out
 * with entry_timeout 0, which the kernel revalidates on every use.  Nodes
 * are bounded by the kernel's inode cache.
 *
 * pgfs_cache_drop_all() (conn.c calls it when the server may have changed)
 * starts a new epoch and wakes a thread of its own that sends the
 * invalidations: libfuse forbids sending them from a request handler, and
 * the kernel may hold a directory's lock until a request in it is answered.
 * A request that started in an older epoch may carry what it read from the
 * old server; its reply gets zero timeouts, so nothing stale is cached after
 * the thread took its snapshot.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "pgfs_fuse.h"

/* at most this many names are tracked (about 100 bytes each) */
#define PGFS_CACHE_NAMES_MAX	(256 * 1024)

struct name;

struct node
{
	fuse_ino_t	ino;
	uint64_t	nlookup;
	struct node *next;			/* hash chain */
	struct name *names;			/* positive names of this node, via cnext */
	int64_t		noxattrs_until; /* known to have no extended attributes (CLOCK_MONOTONIC ns) */
};

struct name
{
	struct name *next;			/* hash chain */
	struct name *older,
			   *newer;			/* in expiry order */
	struct name *cnext;			/* in the child's list */
	fuse_ino_t	parent;
	fuse_ino_t	child;			/* 0: cached as absent */
	int64_t		expires;		/* CLOCK_MONOTONIC, ns */
	uint32_t	hash;
	size_t		len;
	char		name[];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct node **nodes;		/* hash table of nnode_b buckets */
static size_t nnode_b,
			nnodes;
static struct name **names;
static size_t nname_b,
			nnames;
static struct name *oldest,
		   *newest;
static unsigned epoch;			/* atomic reads; changes under lock */
static unsigned xattr_stamp;	/* changes of extended attributes made here; likewise */

/* the invalidation thread */
static pthread_t thread;
static int	running,
			stopping;
static unsigned wanted,
			done;				/* passes asked for and made; under lock */
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct fuse_session *session;

static size_t
ino_bucket(fuse_ino_t ino, size_t nb)
{
	return (size_t) ((ino * 0x9E3779B97F4A7C15ULL) >> 20) & (nb - 1);
}

static uint32_t
name_hash(fuse_ino_t parent, const char *name, size_t len)
{
	return pgfs_fnv(pgfs_fnv(PGFS_FNV_BASIS, &parent, sizeof(parent)), name, len);
}

/* Double a hash table when it holds more entries than buckets; false on ENOMEM. */
#define GROW(table, nb, n, type, bucket_of) \
	do { \
		if ((n) >= (nb)) \
		{ \
			size_t		nb2 = (nb) ? (nb) * 2 : 1024; \
			type	  **t2 = calloc(nb2, sizeof(*t2)); \
			size_t		i; \
			if (!t2) \
				break; \
			for (i = 0; i < (nb); i++) \
				while ((table)[i]) \
				{ \
					type	   *e = (table)[i]; \
					size_t		b = bucket_of(e, nb2); \
					(table)[i] = e->next; \
					e->next = t2[b]; \
					t2[b] = e; \
				} \
			free(table); \
			(table) = t2; \
			(nb) = nb2; \
		} \
	} while (0)

#define NODE_BUCKET(e, nb) ino_bucket((e)->ino, (nb))
#define NAME_BUCKET(e, nb) ((e)->hash & ((nb) - 1))

static struct node *
node_find(fuse_ino_t ino)
{
	struct node *n;

	if (!nnode_b)
		return NULL;
	for (n = nodes[ino_bucket(ino, nnode_b)]; n && n->ino != ino; n = n->next)
		;
	return n;
}

static struct name *
name_find(fuse_ino_t parent, const char *name, size_t len, uint32_t hash)
{
	struct name *e;

	if (!nname_b)
		return NULL;
	for (e = names[hash & (nname_b - 1)]; e; e = e->next)
		if (e->hash == hash && e->parent == parent && e->len == len &&
			memcmp(e->name, name, len) == 0)
			break;
	return e;
}

static void
child_link(struct name *e)
{
	struct node *n = e->child ? node_find(e->child) : NULL;

	e->cnext = NULL;
	if (n)
	{
		e->cnext = n->names;
		n->names = e;
	}
}

static void
child_unlink(struct name *e)
{
	struct node *n = e->child ? node_find(e->child) : NULL;
	struct name **p;

	if (!n)
		return;
	for (p = &n->names; *p && *p != e; p = &(*p)->cnext)
		;
	if (*p)
		*p = e->cnext;
}

static void
order_unlink(struct name *e)
{
	if (e->older)
		e->older->newer = e->newer;
	else
		oldest = e->newer;
	if (e->newer)
		e->newer->older = e->older;
	else
		newest = e->older;
	e->older = e->newer = NULL;
}

static void
order_append(struct name *e)
{
	e->older = newest;
	e->newer = NULL;
	if (newest)
		newest->newer = e;
	else
		oldest = e;
	newest = e;
}

/* Forget a name; unlink_child false when the caller is emptying the child's list. */
static void
name_drop(struct name *e, int unlink_child)
{
	struct name **p;

	for (p = &names[e->hash & (nname_b - 1)]; *p != e; p = &(*p)->next)
		;
	*p = e->next;
	order_unlink(e);
	if (unlink_child)
		child_unlink(e);
	nnames--;
	free(e);
}

static void
node_drop(struct node *n)
{
	struct node **p;

	while (n->names)
	{
		struct name *e = n->names;

		n->names = e->cnext;
		name_drop(e, 0);
	}
	for (p = &nodes[ino_bucket(n->ino, nnode_b)]; *p != n; p = &(*p)->next)
		;
	*p = n->next;
	nnodes--;
	free(n);
}

static void
prune(int64_t now)
{
	while (oldest && oldest->expires <= now)
		name_drop(oldest, 1);
}

/* Count n lookups of ino; false on ENOMEM. */
static int
node_ref(fuse_ino_t ino, uint64_t count)
{
	struct node *n = node_find(ino);

	if (!n)
	{
		GROW(nodes, nnode_b, nnodes, struct node, NODE_BUCKET);
		if (!nnode_b || !(n = calloc(1, sizeof(*n))))
			return 0;
		n->ino = ino;
		n->next = nodes[ino_bucket(ino, nnode_b)];
		nodes[ino_bucket(ino, nnode_b)] = n;
		nnodes++;
	}
	n->nlookup += count;
	return 1;
}

static void
node_unref(fuse_ino_t ino, uint64_t count)
{
	struct node *n = node_find(ino);

	if (!n)
		return;
	if (n->nlookup <= count)
		node_drop(n);
	else
		n->nlookup -= count;
}

/* Track (parent, name) -> child until expires; false when it cannot be tracked. */
static int
name_record(fuse_ino_t parent, const char *name, size_t len, fuse_ino_t child, int64_t expires)
{
	uint32_t	hash = name_hash(parent, name, len);
	struct name *e = name_find(parent, name, len, hash);

	if (e)
	{
		if (e->child != child)
		{
			child_unlink(e);
			e->child = child;
			child_link(e);
		}
		order_unlink(e);
	}
	else
	{
		prune(pgfs_now_ns());
		if (nnames >= PGFS_CACHE_NAMES_MAX)
			return 0;
		GROW(names, nname_b, nnames, struct name, NAME_BUCKET);
		if (!nname_b || !(e = malloc(sizeof(*e) + len)))
			return 0;
		e->parent = parent;
		e->child = child;
		e->hash = hash;
		e->len = len;
		memcpy(e->name, name, len);
		e->next = names[hash & (nname_b - 1)];
		names[hash & (nname_b - 1)] = e;
		nnames++;
		child_link(e);
	}
	e->expires = expires;
	order_append(e);
	return 1;
}

unsigned
pgfs_cache_epoch(void)
{
	return __atomic_load_n(&epoch, __ATOMIC_ACQUIRE);
}

double
pgfs_cache_attr_timeout(unsigned ep)
{
	return ep == pgfs_cache_epoch() ? pgfs.cfg.attr_timeout : 0;
}

/*
 * Note an entry about to be handed out for name in parent (e->ino 0: the
 * name is absent), read in epoch ep.  Counts a lookup of e->ino, which the
 * caller gives back with pgfs_cache_unref() if the kernel did not take the
 * reply; adjusts e's timeouts to what can be tracked.
 */
void
pgfs_cache_entry(fuse_ino_t parent, const char *name, struct fuse_entry_param *e, unsigned ep)
{
	int			ok = 1;

	pthread_mutex_lock(&lock);
	if (e->ino)
		ok = node_ref(e->ino, 1);
	if (!ok || ep != epoch)
		e->entry_timeout = e->attr_timeout = 0;
	else if (e->entry_timeout > 0 &&
			 !name_record(parent, name, strlen(name), e->ino,
						  pgfs_now_ns() + (int64_t) (e->entry_timeout * 1e9)))
		e->entry_timeout = 0;
	pthread_mutex_unlock(&lock);
}

/*
 * The node a name handed out (and not yet expired or dropped) leads to, or
 * 0.  The kernel looks a name up again before it removes one it holds
 * expired, so a name an unlink or rename is about to remove is here unless
 * the list was full.
 */
fuse_ino_t
pgfs_cache_child(fuse_ino_t parent, const char *name)
{
	size_t		len = strlen(name);
	struct name *e;
	fuse_ino_t	child;

	pthread_mutex_lock(&lock);
	e = name_find(parent, name, len, name_hash(parent, name, len));
	child = e ? e->child : 0;
	pthread_mutex_unlock(&lock);
	return child;
}

/* The kernel forgot count lookups of ino (or never got them). */
void
pgfs_cache_unref(fuse_ino_t ino, uint64_t count)
{
	pthread_mutex_lock(&lock);
	node_unref(ino, count);
	pthread_mutex_unlock(&lock);
}

/*
 * A rename succeeded: the kernel moved the dentry of (parent, name) to
 * (newparent, newname), keeping its timeout, and for an exchange the other
 * way round too.
 */
void
pgfs_cache_rename(fuse_ino_t parent, const char *name, fuse_ino_t newparent,
				  const char *newname, int exchange)
{
	size_t		len = strlen(name),
				newlen = strlen(newname);
	struct name *a,
			   *b;
	fuse_ino_t	achild = 0,
				bchild = 0;
	int64_t		aexp = 0,
				bexp = 0;

	pthread_mutex_lock(&lock);
	a = name_find(parent, name, len, name_hash(parent, name, len));
	b = name_find(newparent, newname, newlen, name_hash(newparent, newname, newlen));
	if (a)
	{
		achild = a->child;
		aexp = a->expires;
		name_drop(a, 1);
	}
	if (b && b != a)
	{
		bchild = b->child;
		bexp = b->expires;
		name_drop(b, 1);
	}
	/* room was just made, so these cannot fail for want of it */
	if (a && achild)
		name_record(newparent, newname, newlen, achild, aexp);
	if (exchange && b && bchild)
		name_record(parent, name, len, bchild, bexp);
	pthread_mutex_unlock(&lock);
}

/*
 * Extended attributes.  ls -l asks the mount for two of every file's
 * (security.selinux and system.posix_acl_access), cp -a and rsync -X list
 * them: a round trip to the server each, nearly always to learn that there
 * are none.  The server says how many an inode has with its attributes
 * (pgfs_attr.xattrs), so a node that has none is remembered as such for
 * as long as the kernel may cache its attributes; getxattr and
 * listxattr answer from that.  Another mount's or SQL's setxattr is seen
 * when the kernel would see its new ctime: after attr_timeout at most.  A
 * change made through this mount clears the node before and after it asks
 * the server, and moves the stamp, so that a reply read before the change
 * committed cannot mark the node again: a request takes the stamp before
 * it asks (pgfs_cache_xattr_stamp) and hands it to pgfs_cache_xattrs.
 */
unsigned
pgfs_cache_xattr_stamp(void)
{
	return __atomic_load_n(&xattr_stamp, __ATOMIC_ACQUIRE);
}

/*
 * The server said ino has count extended attributes (-1: it did not say), in
 * a reply read under stamp xs and handed to the kernel with attributes it
 * may keep for t seconds.
 */
void
pgfs_cache_xattrs(fuse_ino_t ino, int count, double t, unsigned xs)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	if ((n = node_find(ino)) != NULL)
		n->noxattrs_until = count == 0 && t > 0 && xs == xattr_stamp ?
			pgfs_now_ns() + (int64_t) (t * 1e9) : 0;
	pthread_mutex_unlock(&lock);
}

/* Whether ino is known to have no extended attributes. */
int
pgfs_cache_noxattrs(fuse_ino_t ino)
{
	struct node *n;
	int			none;

	pthread_mutex_lock(&lock);
	n = node_find(ino);
	none = n && n->noxattrs_until > pgfs_now_ns();
	pthread_mutex_unlock(&lock);
	return none;
}

/* This mount changes the extended attributes of ino: before and after it asks. */
void
pgfs_cache_xattrs_changing(fuse_ino_t ino)
{
	struct node *n;

	pthread_mutex_lock(&lock);
	__atomic_store_n(&xattr_stamp, xattr_stamp + 1, __ATOMIC_RELEASE);
	if ((n = node_find(ino)) != NULL)
		n->noxattrs_until = 0;
	pthread_mutex_unlock(&lock);
}

/* The store behind the mount may have changed: drop all the kernel caches. */
void
pgfs_cache_drop_all(void)
{
	size_t		i;
	struct node *n;

	pthread_mutex_lock(&lock);
	__atomic_store_n(&epoch, epoch + 1, __ATOMIC_RELEASE);
	__atomic_store_n(&xattr_stamp, xattr_stamp + 1, __ATOMIC_RELEASE);
	for (i = 0; i < nnode_b; i++)
		for (n = nodes[i]; n; n = n->next)
			n->noxattrs_until = 0;
	wanted++;
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
}

struct inval_name
{
	fuse_ino_t	parent;
	size_t		len;
	const char *name;
};

/* One pass: snapshot under the lock, then notify without it. */
static void
drop_pass(void)
{
	struct inval_name *nv = NULL;
	fuse_ino_t *iv = NULL;
	char	   *text = NULL,
			   *t;
	size_t		nn = 0,
				ni = 0,
				bytes = 0,
				i,
				sent = 0;
	int64_t		now = pgfs_now_ns();
	int			root = 0;
	struct name *e;

	/* called with lock held; returns with it held */
	for (e = oldest; e; e = e->newer)
		bytes += e->len + 1;
	nv = malloc(sizeof(*nv) * (nnames + 1));
	text = malloc(bytes + 1);
	iv = malloc(sizeof(*iv) * (nnodes + 1));
	if (!nv || !text || !iv)
	{
		pgfs_log(FUSE_LOG_ERR, "out of memory: the kernel may keep cached names and attributes");
		goto out;
	}
	t = text;
	for (e = oldest; e; e = e->newer)
	{
		if (e->expires <= now)
			continue;
		nv[nn].parent = e->parent;
		nv[nn].len = e->len;
		nv[nn].name = t;
		memcpy(t, e->name, e->len);
		t[e->len] = '\0';
		t += e->len + 1;
		nn++;
	}
	for (i = 0; i < nnode_b; i++)
	{
		struct node *n;

		for (n = nodes[i]; n; n = n->next)
		{
			iv[ni++] = n->ino;
			root |= n->ino == FUSE_ROOT_ID;
		}
	}
	if (!root)
		iv[ni++] = FUSE_ROOT_ID;
	pthread_mutex_unlock(&lock);

	/* names first: a name pins its inode */
	for (i = 0; i < nn && !__atomic_load_n(&stopping, __ATOMIC_RELAXED); i++)
		if (fuse_lowlevel_notify_inval_entry(session, nv[i].parent, nv[i].name, nv[i].len) == 0)
			sent++;
	for (i = 0; i < ni && !__atomic_load_n(&stopping, __ATOMIC_RELAXED); i++)
		if (fuse_lowlevel_notify_inval_inode(session, iv[i], 0, 0) == 0)
			sent++;
	pgfs_log(FUSE_LOG_DEBUG, "invalidated %zu names and %zu inodes (%zu were cached)",
			 nn, ni, sent);

	pthread_mutex_lock(&lock);
out:
	free(nv);
	free(text);
	free(iv);
}

static void *
drop_thread(void *arg)
{
	pthread_mutex_lock(&lock);
	while (!stopping)
	{
		unsigned	target;

		if (done == wanted)
		{
			pthread_cond_wait(&wake, &lock);
			continue;
		}
		target = wanted;
		drop_pass();
		done = target;
	}
	pthread_mutex_unlock(&lock);
	return NULL;
}

/* After the session is mounted (and the daemon has forked). */
int
pgfs_cache_start(struct fuse_session *se)
{
	session = se;
	if (pthread_create(&thread, NULL, drop_thread, NULL) != 0)
		return -1;
	running = 1;
	return 0;
}

/*
 * Stop the thread; false if it did not stop within a few seconds (a
 * notification can wait for a request the kernel sent but nobody will
 * answer any more: the session must then be left alone, not destroyed).
 */
int
pgfs_cache_stop(void)
{
	struct timespec until;

	if (!running)
		return 1;
	pthread_mutex_lock(&lock);
	__atomic_store_n(&stopping, 1, __ATOMIC_RELAXED);
	pthread_cond_signal(&wake);
	pthread_mutex_unlock(&lock);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 5;
	if (pthread_timedjoin_np(thread, NULL, &until) != 0)
	{
		pgfs_log(FUSE_LOG_WARNING, "cache invalidation did not finish");
		return 0;
	}
	running = 0;
	return 1;
}
