/*
 * handle.c
 *	  Open files of pgfs-fuse: their write buffers and their registration.
 *
 * Without the kernel's writeback cache (which pgfs-fuse leaves off, because
 * it cannot be kept coherent between mounts) every write(2) reaches the
 * daemon as a request of its own.  Sending each as its own autocommit
 * pgfs_ll_write would cost a commit per call, a WAL flush per 4 KiB for a
 * program that writes in small pieces.  So each open handle has a buffer: a
 * write that continues where the buffered data ends is appended, and the
 * buffer goes to the server as one pgfs_ll_write when it is full
 * (PGFS_WBUF_MAX, cut at a PGFS_WBUF_ALIGN boundary so that sequential
 * writes fill whole chunks), before a write through another handle, and at
 * the latest at flush (close), fsync and release.  A write elsewhere in the
 * file starts a new piece of the buffer (piece_begin), up to PGFS_WBUF_SEGS
 * pieces and PGFS_WBUF_MAX bytes in all; such a buffer goes as one
 * pgfs_ll_writev, which applies the pieces in the order they were written.
 *
 * Whatever reports file data or size must see the writes made through this
 * mount, so those operations first flush every handle open on the inode.
 * For that the handles are listed per inode in a small hash table; an inode
 * leaves it with its last handle.
 *
 * A buffered write was acknowledged before the server saw it, so the error
 * of sending it is kept in the handle: every flush (each close(2) of a copy
 * of the descriptor, also in a child process) reports it, and the next fsync
 * reports it and forgets it, as Linux reports writeback errors.  The data
 * itself is dropped: a program that fsyncs learns that it is missing.
 *
 * All buffers together are limited to PGFS_WBUF_TOTAL bytes; past that,
 * writes go to the server as they come.
 *
 * Durability is owed at flush (close), fsync and release, not before: so a
 * buffer sent while the file stays open commits without waiting for the
 * WAL flush (pgfs_ll_write with durable => false: the server's
 * synchronous_commit off for that transaction).  Every other client sees
 * it at once, as it would see a write on a local filesystem that has not
 * reached the disk yet.  At the next flush, fsync or release of any handle on the inode
 * the last buffer goes as a durable commit, whose WAL flush covers every
 * commit made before it, or, with nothing left to send, pgfs_ll_fsync()
 * flushes the WAL.  Only then does the call return 0.  Sequence numbers
 * (async_made, async_synced) tell whether a durable commit has already
 * covered an inode's deferred ones, so that a write, fsync, close costs no
 * more round trips than before.  A server crash loses deferred commits that
 * were not flushed yet; it also breaks every connection, and the server
 * that comes back no longer knows this mount (conn.c counts such resets:
 * a clean restart, a terminated session or a network failure is none, as
 * that server still has every commit).  So an inode with a deferred commit
 * made before a reset reports EIO at its next flush, fsync or release
 * instead of success.  A big sequential write saves the WAL flush of each
 * 1 MiB.
 *
 * Creating a file is deferred the same way (pgfs_ll_create with durable =>
 * false): its close or fsync commits the data durably anyway, and that WAL
 * flush covers the create, so a file written and closed costs one WAL flush,
 * not two.  A create is acknowledged by its close or fsync, or by the fsync
 * of its directory, as on a local filesystem, where a new name is not on
 * disk before either; until then a crash may take the file away.  If the
 * server lost it, it may also hand its inode number out again (the number
 * comes from a sequence, whose advance was in the lost WAL), and a handle
 * registered on that number again would write into somebody else's file.
 * So while the server was reset since a deferred create that no durable
 * commit is known to cover, the create's registrations carry the file's
 * birth time (pgfs_ll_reopen's born), and the server refuses them for
 * another file as for a missing one: the handles become stale (their I/O
 * fails with ESTALE, their next flush, fsync or release with EIO).  When
 * the file is there, born when it was (the server did not crash, or wrote
 * the create before it did: its WAL writer flushes within a second), the
 * create is known durable, and so is everything else deferred for the file
 * if the create was the last of it.
 *
 * A change of attributes of an inode open here (pgfs_ino_change_begin) is
 * deferred the same way, after the buffers of its handles: a program that
 * sets the times, owner and mode of each file it writes before closing it
 * (tar, cp -p, rsync) waits for one WAL flush per file, not four.  So are
 * fallocate(2) and copy_file_range(2) into an open file, which change its
 * data on the server without passing through a buffer.
 *
 * A full buffer is sent behind the writer's back: a sender thread commits
 * it while the next write(2)s fill the next buffer, so the program, the
 * kernel and this daemon work while the server does.  An inode has at most
 * one such send in flight (oi->inflight); everything that sends for the
 * inode or asks the server about its data or size waits for it first, so
 * writes still reach the server in order and every reply sees them.  Its
 * error is kept in the handle like any other of an acknowledged write.
 *
 * Before every write(2) the kernel asks for the file's security.capability
 * (to drop it, as it drops set-user-ID); FUSE cannot tell it that the answer
 * does not change.  So an open inode also remembers for attr_timeout that it
 * has none, which spares small writes a round trip each.
 *
 * The server counts our open handles per inode (pgfs.handle), so that an
 * unlinked file lives while open here.  That table is unlogged: a server
 * crash empties it, and a restored server has whatever it had.  So the
 * count is always set, never stepped: pgfs_ll_reopen(ino, client, n) with
 * the number of handles this mount has, which is the same whether the
 * server had the old count or none, and safe to repeat after a lost
 * connection.  Every new connection (conn.c) sets all counts again before
 * its first statement.  One registration per inode runs at a time
 * (reg_busy); a re-registration that finds one running leaves the count to
 * it (rereg), because it cannot wait: it holds a connection that the
 * running one may need.  For the same reason it never takes an inode's
 * buffer lock.  An inode that is gone from the server makes its handles
 * stale: their I/O fails with ESTALE (the number may be reused by a
 * restored store for another file).
 *
 * Registering costs a round trip per open, and a program that opens a file
 * reads it next: so an open for reading registers with pgfs_ll_open_read,
 * which also returns the file's first PGFS_PREREAD_MAX bytes, and the
 * handle answers reads within them without asking the server again (a small
 * file costs one round trip to read, not two).  They are what the server
 * had when the open registered, after this mount's buffered writes to the
 * file were sent; so a read of them is what a read right after the open
 * would have returned.  Any write or truncation through this mount makes
 * them useless (wgen counts those; a handle keeps the count its bytes were
 * read at), and they are dropped once a read reached their end: the kernel
 * has the pages then.  A change by another mount or by SQL after the open
 * is not seen by reads of those bytes, as it is not seen by reads the
 * kernel answers from its page cache while the file stays open.  All
 * handles together hold about PGFS_PREREAD_TOTAL at most; past that, opens
 * bring nothing along.  Releases of the counts go in batches: the releaser
 * sends all it gathered in one pgfs_ll_release_many.  Neither registration
 * nor release waits for a WAL flush (src/funcs_open.c says why that is
 * safe), except a release that frees a file unlinked elsewhere.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "pgfs_fuse.h"

struct open_inode
{
	int64_t		ino;
	int			refs;			/* handles and flushers; under table_lock */
	struct open_inode *next;	/* hash chain; under table_lock */
	struct timespec nocaps_until;	/* known to have no security.capability */
	int			opens;			/* handles counted on the server; under table_lock */
	int			reg_busy;		/* a registration runs; under table_lock */
	int			rereg;			/* ... and must send the count again */
	struct pgfs_fh *counted;	/* the counted handles; under table_lock */
	pthread_mutex_t lock;		/* serializes use of the buffers below */
	struct pgfs_fh *fhs;		/* open handles; under lock */
	uint64_t	unsynced;		/* its last deferred commit not known durable, or 0;
								 * under sync_lock */
	unsigned	unsynced_resets;	/* server resets (conn.c) before the first of them */
	uint64_t	created;		/* its deferred create (sequence number), or 0;
								 * under sync_lock */
	unsigned	created_resets; /* server resets before it */
	int64_t		born;			/* the file's birth time (ns) the create returned */
	int			release_pending;	/* in pending: its count of 0 is to be sent */
	int			unlinking;		/* a name of it was removed here: release at once */
	struct open_inode *pnext;	/* in pending; under table_lock */
	int			inflight;		/* a buffer is being sent behind; under lock */
	pthread_cond_t idle;		/* ... and is no longer */
	uint64_t	wgen;			/* writes and truncations through this mount; under lock */
	int			locks;			/* a file lock was taken through this mount; atomic */
	uint64_t	lock_seq;		/* record locks taken through this mount; under lock */
	struct held_lock *held;		/* the locks this mount holds on the server; under lock */
	int			nheld;			/* ... how many; read without it too */
	pthread_mutex_t lockop;		/* a record lock being taken, or a release's
								 * unlocks (pgfs_fh_lock_begin); before lock */
	int64_t		lock_gen;		/* the generation the last lock taken saw; under lock */
};

struct pgfs_fh
{
	struct open_inode *oi;
	uint64_t	id;				/* unique in this mount: the owner of its flocks */
	struct lock_use *uses;		/* owners granted record locks through fh;
								 * under oi->lock */
	int			nuses;
	struct pgfs_fh *next;		/* in oi->fhs */
	struct pgfs_fh *cnext;		/* in oi->counted */
	int			is_counted;		/* in oi->counted; under table_lock */
	int			stale;			/* the inode is gone; atomic */
	int			sync;			/* O_SYNC, O_DSYNC: send every write at once */
	int			err;			/* error of an acknowledged write, until fsync */
	int			err_told;		/* ... reported by flush or fsync */
	off_t		off;			/* file offset of buf[0] */
	off_t		end;			/* the buffer is sent when it reaches here */
	size_t		len;			/* bytes in buf */
	struct wseg *segs;			/* nsegs > 0: buf holds these pieces, in order */
	int			nsegs;			/* ... or 0: one piece, len bytes at off */
	size_t		size;			/* bytes allocated */
	size_t		grown;			/* ... before buf was sent behind */
	char	   *buf;
	/* the file's first bytes, read by the open; under the inode's lock */
	PGresult   *pre;			/* holds them, or NULL */
	const char *pdata;
	size_t		plen;
	int			peof;			/* ... which were all the file had */
	uint64_t	pgen;			/* oi->wgen when they were read */
	int			keep;			/* the kernel may keep the file's pages at this open */
	int			stale_attrs;	/* ... or its attributes may be older than the file */
};

/*
 * A lock this mount holds on the server, as granted: an owner's byte range
 * (or a flock, the whole file, owned by a handle), its type and process,
 * and pgfs_conn_lock_resets() when it was granted.  A change since means
 * the server crashed (or was restored, or promoted) and its lock table is
 * empty, or that another mount took our locks while we had no session
 * (conn.c).  The lock is then asked back (pgfs_ll_reclaimlk),
 * which the server grants within pgfs.lock_grace of a crash, as an NFS
 * server grants its clients' reclaims: by the keeper soon after it
 * reconnected (pgfs_fh_reclaim_locks), or by the first I/O through a
 * handle of its owner, whichever comes first.  A reclaim refused means
 * the lock is lost: I/O through the handles of its owner fails with EIO
 * until the owner unlocks it or closes the file, as an NFS client does
 * with the locks it could not reclaim.
 */
struct held_lock
{
	struct pgfs_lock lk;		/* F_RDLCK or F_WRLCK */
	unsigned	resets;
	int			refused;		/* its reclaim was refused: lost for good */
};

/*
 * Is h lost for good: its reclaim refused, or taken by another mount while
 * this one was cut off (conn.c; then it is not asked back)?
 */
static int
held_gone(const struct held_lock *h)
{
	return h->refused || pgfs_conn_lock_taken(h->resets);
}

/* an owner that took a record lock through a handle, and oi->lock_seq then */
struct lock_use
{
	uint64_t	owner;
	uint64_t	seq;
};

/* a piece of a buffer that holds writes to several places of the file */
struct wseg
{
	off_t		off;
	size_t		len;
};

#define NBUCKETS 256
static struct open_inode *table[NBUCKETS];
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reg_done = PTHREAD_COND_INITIALIZER;
static size_t buffered;			/* bytes allocated for buffers, all handles */
static size_t prereading;		/* bytes held as read by opens, all handles */

/* deferred commits: made, and known durable up to (sequence numbers) */
static pthread_mutex_t sync_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t async_made,
			async_synced;

/*
 * Directories whose names were removed, moved or linked by deferred
 * commits (ops.c), which the directory's fsync makes durable
 * (pgfs_sync_dir): for each, the last such commit's sequence number and
 * the server's resets before the first.  A durable commit made with no
 * reset since removes those it covers; the others wait for their
 * directory's fsync, which reports their possible loss once.  Past
 * NAMES_MAX directories, the change that adds one makes them all durable.
 * Under sync_lock.
 */
struct names_dir
{
	int64_t		dir;
	uint64_t	seq;
	unsigned	resets;
	struct names_dir *next;
};
#define NAMES_MAX 4096
static struct names_dir *names_table[NBUCKETS];
static int	names_count;

/*
 * Inodes whose last handle was released: the server's count of them is set
 * to 0 by the releaser thread, off the path of close(2), unless a name of
 * the inode was removed through this mount (pgfs_ino_unlinking), when the
 * release frees the file before close(2) returns.  A file unlinked by
 * another mount or by SQL stays a little longer, which nobody can observe
 * but statfs.  Under table_lock.
 */
#define RELEASE_DELAY_MS 50
static struct open_inode *pending;
static pthread_cond_t pending_cond = PTHREAD_COND_INITIALIZER;
static pthread_t releaser;
static int	releaser_running,
			releaser_stop;

/* buffers sent behind, and the threads that send them */
struct wjob
{
	struct pgfs_fh *fh;
	off_t		off;
	size_t		len;
	struct wseg *segs;			/* as in pgfs_fh, malloc'd, or NULL */
	int			nsegs;
	size_t		size;			/* allocated; counted in buffered */
	char	   *buf;
	struct wjob *next;
};
static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wq_cond = PTHREAD_COND_INITIALIZER;
static struct wjob *wq_head,
		  **wq_tail = &wq_head;
static pthread_t *senders;
static int	nsenders,
			wq_stop;

static struct open_inode *
oi_get(int64_t ino, int create)
{
	struct open_inode **b = &table[(uint64_t) ino % NBUCKETS];
	struct open_inode *oi;

	pthread_mutex_lock(&table_lock);
	for (oi = *b; oi && oi->ino != ino; oi = oi->next)
		;
	if (!oi && create && (oi = calloc(1, sizeof(*oi))))
	{
		oi->ino = ino;
		pthread_mutex_init(&oi->lock, NULL);
		pthread_mutex_init(&oi->lockop, NULL);
		pthread_cond_init(&oi->idle, NULL);
		oi->next = *b;
		*b = oi;
	}
	if (oi)
		oi->refs++;
	pthread_mutex_unlock(&table_lock);
	return oi;
}

static void
oi_put(struct open_inode *oi)
{
	struct open_inode **p;

	pthread_mutex_lock(&table_lock);
	if (--oi->refs == 0)
	{
		for (p = &table[(uint64_t) oi->ino % NBUCKETS]; *p != oi; p = &(*p)->next)
			;
		*p = oi->next;
		pthread_mutex_destroy(&oi->lock);
		pthread_mutex_destroy(&oi->lockop);
		pthread_cond_destroy(&oi->idle);
		free(oi->held);
		free(oi);
	}
	pthread_mutex_unlock(&table_lock);
}

/* Wait until the inode has no buffer in flight; under its lock. */
static void
wait_inflight(struct open_inode *oi)
{
	while (oi->inflight)
		pthread_cond_wait(&oi->idle, &oi->lock);
}

/* ---- durability ---- */

/*
 * A deferred commit for oi succeeded; resets: pgfs_conn_resets() before it
 * was sent.  Under sync_lock.
 */
static void
note_deferred_locked(struct open_inode *oi, unsigned resets)
{
	if (oi->unsynced == 0 || oi->unsynced <= async_synced)
		oi->unsynced_resets = resets;
	oi->unsynced = ++async_made;
}

static void
note_deferred(struct open_inode *oi, unsigned resets)
{
	pthread_mutex_lock(&sync_lock);
	note_deferred_locked(oi, resets);
	pthread_mutex_unlock(&sync_lock);
}

/*
 * fh's file was just created by a deferred commit (pgfs_ll_create with
 * durable => false); resets: pgfs_conn_resets() before it was sent.
 */
void
pgfs_fh_created_deferred(struct pgfs_fh *fh, unsigned resets, int64_t born)
{
	struct open_inode *oi = fh->oi;

	pthread_mutex_lock(&sync_lock);
	note_deferred_locked(oi, resets);
	oi->created = oi->unsynced;
	oi->created_resets = resets;
	oi->born = born;
	pthread_mutex_unlock(&sync_lock);
}

static struct names_dir **
names_find_locked(int64_t dir)
{
	struct names_dir **pp = &names_table[(uint64_t) dir % NBUCKETS];

	while (*pp && (*pp)->dir != dir)
		pp = &(*pp)->next;
	return pp;
}

static void
names_drop_locked(struct names_dir **pp)
{
	struct names_dir *nd = *pp;

	*pp = nd->next;
	free(nd);
	names_count--;
}

/*
 * Drop the records of dir (of every directory with dir 0) whose last change
 * is no later than upto; a change made since belongs to a later fsync.
 * covered: a durable commit covered up to upto (durable_done), so only
 * records made with no server reset since go, and the others stay for
 * their directory's fsync.  Otherwise that fsync is reporting: all of
 * them go, and the result says whether one was made before a reset, which
 * may have taken it.  Under sync_lock.
 */
static int
names_clear_locked(int64_t dir, uint64_t upto, unsigned resets, int covered)
{
	int			lo = dir ? (int) ((uint64_t) dir % NBUCKETS) : 0;
	int			hi = dir ? lo + 1 : NBUCKETS;
	int			lost = 0;

	for (int i = lo; i < hi; i++)
	{
		struct names_dir **pp = &names_table[i];

		while (*pp)
		{
			struct names_dir *nd = *pp;

			if ((dir == 0 || nd->dir == dir) && nd->seq <= upto &&
				(!covered || nd->resets == resets))
			{
				lost |= nd->resets != resets;
				names_drop_locked(pp);
			}
			else
				pp = &nd->next;
		}
	}
	return lost;
}

static int	sql_fsync(void);

/*
 * Names in dir and dir2 (0 if none) were removed, moved or linked by a
 * deferred commit (durable => false); resets: pgfs_conn_resets() before it
 * was sent.  As on a local filesystem, the change is durable once the
 * directory is synced (or any file whose data was still to commit: one WAL
 * flush covers every commit before it), and a crash may take it back
 * before that.  Past NAMES_MAX directories (or without memory for the
 * record), everything is made durable now.
 */
void
pgfs_names_deferred(int64_t dir, int64_t dir2, unsigned resets)
{
	int64_t		dirs[2] = {dir, dir2};
	uint64_t	seq;
	int			now = 0;

	pthread_mutex_lock(&sync_lock);
	seq = ++async_made;
	for (int i = 0; i < 2 && !now; i++)
	{
		struct names_dir **pp;

		if (dirs[i] == 0 || (i == 1 && dirs[1] == dirs[0]))
			continue;
		pp = names_find_locked(dirs[i]);
		if (*pp == NULL)
		{
			if ((*pp = malloc(sizeof(**pp))) == NULL)
			{
				now = 1;
				break;
			}
			(*pp)->dir = dirs[i];
			(*pp)->resets = resets;
			(*pp)->next = NULL;
			names_count++;
		}
		(*pp)->seq = seq;
	}
	now |= names_count > NAMES_MAX;
	pthread_mutex_unlock(&sync_lock);
	/* an error stays with the records, for the directories' fsync */
	if (now)
		(void) sql_fsync();
}

/*
 * If oi's create may have been lost (deferred, not known durable, and the
 * server was reset since it was sent): the file's birth time, else 0.
 * *seq, if seq is not NULL, gets the create's sequence number.
 */
static int64_t
create_maybe_lost(struct open_inode *oi, uint64_t *seq)
{
	int64_t		born = 0;

	pthread_mutex_lock(&sync_lock);
	if (seq)
		*seq = oi->created;
	if (oi->created > async_synced && oi->created_resets != pgfs_conn_resets())
		born = oi->born;
	pthread_mutex_unlock(&sync_lock);
	return born;
}

/*
 * The server has the file oi's create made, born when it was: the create
 * is durable (the server either never lost it or restarted with it), and
 * so is every deferred commit for the file if the create was the last.
 */
static void
create_survived(struct open_inode *oi, uint64_t seq)
{
	pthread_mutex_lock(&sync_lock);
	if (oi->created == seq)
		oi->created = 0;
	if (oi->unsynced == seq)
		oi->unsynced = 0;
	pthread_mutex_unlock(&sync_lock);
}

/* Before a durable commit is sent: the deferred commits it will cover. */
static uint64_t
durable_begin(void)
{
	uint64_t	upto;

	pthread_mutex_lock(&sync_lock);
	upto = async_made;
	pthread_mutex_unlock(&sync_lock);
	return upto;
}

/* ... and after it succeeded. */
static void
durable_done(uint64_t upto)
{
	pthread_mutex_lock(&sync_lock);
	if (upto > async_synced)
		async_synced = upto;
	/* unless the server was reset in between: pgfs_sync_dir reports that */
	if (names_count > 0)
		(void) names_clear_locked(0, upto, pgfs_conn_resets(), 1);
	pthread_mutex_unlock(&sync_lock);
}

/* pgfs_ll_fsync(): every commit made so far is durable; 0 or an errno. */
static int
sql_fsync(void)
{
	struct pgfs_params p = {0};
	uint64_t	upto = durable_begin();
	PGresult   *r;
	int			err = 0;

	r = pgfs_exec(SQL_FSYNC, &p, &err);
	PQclear(r);
	if (r)
		durable_done(upto);
	return r ? 0 : err;
}

/*
 * Make oi's deferred commits durable, if a durable commit has not already;
 * 0, or EIO when the server was reset since the first of them (it may have
 * lost them), or the error of pgfs_ll_fsync().  Under oi->lock.
 */
static int
oi_sync(struct open_inode *oi)
{
	uint64_t	mine;
	unsigned	resets;
	int			need,
				err = 0;

	pthread_mutex_lock(&sync_lock);
	mine = oi->unsynced;
	need = mine > async_synced;
	resets = oi->unsynced_resets;
	pthread_mutex_unlock(&sync_lock);
	if (mine == 0)
		return 0;
	if (need && (err = sql_fsync()) != 0)
		return err;
	if (pgfs_conn_resets() != resets)
	{
		err = EIO;
		pgfs_log(FUSE_LOG_ERR, "inode %lld: writes committed before the server was reset "
				 "may be lost: reporting EIO", (long long) oi->ino);
	}
	pthread_mutex_lock(&sync_lock);
	if (oi->unsynced == mine)
		oi->unsynced = 0;
	pthread_mutex_unlock(&sync_lock);
	return err;
}

/*
 * Every deferred commit made so far durable: the fsync of directory dir,
 * or with dir 0 of the mount (unmount).  0; EIO if a file open here has a
 * deferred commit that a server reset may have taken, or a name in dir
 * (any directory, with 0) was changed by one; or the error of
 * pgfs_ll_fsync().  Each directory's possible loss is reported once, and
 * so is an error of pgfs_ll_fsync() for its name changes: a later fsync
 * makes what is there durable and succeeds, as on a local filesystem.  A
 * file already closed is not asked about: its close made its deferred
 * commits durable or reported that it could not (oi_sync), so a
 * directory's fsync after a server crash does not fail for a file whose
 * program already learned of it.
 */
int
pgfs_sync_dir(int64_t dir)
{
	unsigned	resets;
	uint64_t	upto;
	int			need,
				lost = 0,
				err = 0,
				i;

	pthread_mutex_lock(&sync_lock);
	need = async_made > async_synced;
	upto = async_made;
	if (!need && names_count == 0)
	{
		pthread_mutex_unlock(&sync_lock);
		return 0;
	}
	pthread_mutex_unlock(&sync_lock);
	if (need)
		err = sql_fsync();
	resets = pgfs_conn_resets();
	pthread_mutex_lock(&sync_lock);
	/* what the flush covered is gone from the table (durable_done) */
	if (names_clear_locked(dir, upto, resets, 0) && err == 0)
	{
		err = EIO;
		if (dir)
			pgfs_log(FUSE_LOG_ERR, "directory %lld: names changed before the server was "
					 "reset may be lost: reporting EIO", (long long) dir);
		else
			pgfs_log(FUSE_LOG_ERR, "names changed before the server was reset may be lost");
	}
	pthread_mutex_unlock(&sync_lock);
	if (err)
		return err;
	pthread_mutex_lock(&table_lock);
	pthread_mutex_lock(&sync_lock);
	for (i = 0; i < NBUCKETS && !lost; i++)
	{
		struct open_inode *oi;

		for (oi = table[i]; oi && !lost; oi = oi->next)
			lost = oi->unsynced != 0 && oi->unsynced_resets != resets;
	}
	pthread_mutex_unlock(&sync_lock);
	pthread_mutex_unlock(&table_lock);
	return lost ? EIO : 0;
}

static void
put_be32(char *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, 4);
}

/*
 * Start a one-dimensional array of n elements of type oid, each width bytes,
 * in binary format at p (which has room for them all); returns where the
 * first element goes.
 */
static char *
array_begin(char *p, uint32_t oid, int n)
{
	put_be32(p, 1);				/* dimensions */
	put_be32(p + 4, 0);			/* no NULLs */
	put_be32(p + 8, oid);
	put_be32(p + 12, n);
	put_be32(p + 16, 1);		/* lower bound */
	return p + 20;
}

/* The size of such an array. */
#define ARRAY_SIZE(n, width) (20 + (size_t) (n) * (4 + (width)))

/*
 * Write to oi's file: a durable commit, or a deferred one.  data is len
 * bytes at off, or with nsegs > 0 the pieces segs describe, which go as one
 * pgfs_ll_writev.
 */
static int
sql_write_v(struct open_inode *oi, off_t off, const char *data, size_t len,
			const struct wseg *segs, int nsegs, int durable)
{
	struct pgfs_params p = {0};
	unsigned	resets = pgfs_conn_resets();
	uint64_t	upto;
	char	   *arr = NULL;
	PGresult   *r;
	int			err = 0;

	par_i64(&p, oi->ino);
	if (nsegs > 0)
	{
		size_t		offs_size = ARRAY_SIZE(nsegs, 8);
		char	   *q;

		if (!(arr = malloc(offs_size + ARRAY_SIZE(nsegs, 4))))
			return ENOMEM;
		q = array_begin(arr, 20, nsegs);	/* int8 */
		for (int i = 0; i < nsegs; i++, q += 12)
		{
			uint64_t	v = htobe64((uint64_t) segs[i].off);

			put_be32(q, 8);
			memcpy(q + 4, &v, 8);
		}
		q = array_begin(arr + offs_size, 23, nsegs);	/* int4 */
		for (int i = 0; i < nsegs; i++, q += 8)
		{
			put_be32(q, 4);
			put_be32(q + 4, (uint32_t) segs[i].len);
		}
		par_bytes(&p, arr, offs_size);
		par_bytes(&p, arr + offs_size, ARRAY_SIZE(nsegs, 4));
	}
	else
		par_i64(&p, off);
	par_bytes(&p, data, len);
	par_bool(&p, durable);
	upto = durable ? durable_begin() : 0;
	r = pgfs_exec(nsegs > 0 ? SQL_WRITEV : SQL_WRITE, &p, &err);
	PQclear(r);
	free(arr);
	if (!r)
		return err == ENOENT ? ESTALE : err;	/* the inode itself is gone */
	if (durable)
		durable_done(upto);
	else
		note_deferred(oi, resets);
	return 0;
}

static int
sql_write(struct open_inode *oi, off_t off, const char *data, size_t len, int durable)
{
	return sql_write_v(oi, off, data, len, NULL, 0, durable);
}

static int
fh_stale(struct pgfs_fh *fh)
{
	return __atomic_load_n(&fh->stale, __ATOMIC_RELAXED);
}

/*
 * Send the buffer of fh; the caller holds its inode's lock.  A failure is
 * kept for flush and fsync if the buffer held acknowledged writes (all but
 * the write(2) in progress, which reports its own error, have been).  A
 * handle opened with O_SYNC or O_DSYNC commits durably every time.
 */
static int
fh_send_part(struct pgfs_fh *fh, int acknowledged, int durable)
{
	int			err = 0;

	wait_inflight(fh->oi);
	if (fh->len)
		err = fh_stale(fh) ? ESTALE :
			sql_write_v(fh->oi, fh->off, fh->buf, fh->len, fh->segs, fh->nsegs,
						durable || fh->sync);
	fh->len = 0;
	fh->nsegs = 0;
	if (err && acknowledged && !fh->err)
	{
		fh->err = err;
		fh->err_told = 0;
	}
	return err;
}

static int
fh_send(struct pgfs_fh *fh)
{
	return fh_send_part(fh, 1, 0);
}

/*
 * Flush, fsync, release: send fh's buffer durably and make the inode's
 * deferred commits durable.  Under the inode's lock.
 */
static int
fh_sync(struct pgfs_fh *fh)
{
	int			err = fh_send_part(fh, 1, 1);

	/*
	 * Also on a stale handle: a file whose deferred create was lost with the
	 * server is stale, and its close must not return 0 (oi_sync: EIO).
	 */
	if (!err)
		err = oi_sync(fh->oi);
	return err;
}

/* ---- registration: the server's count of our handles ---- */

/* Take the right to register oi's handles. */
static void
reg_begin(struct open_inode *oi)
{
	pthread_mutex_lock(&table_lock);
	while (oi->reg_busy)
		pthread_cond_wait(&reg_done, &table_lock);
	oi->reg_busy = 1;
	pthread_mutex_unlock(&table_lock);
}

/*
 * The inode is gone: its counted handles become stale and uncounted.  Under
 * table_lock, with the registration taken.
 */
static void
mark_stale(struct open_inode *oi)
{
	struct pgfs_fh *fh;
	int			n = 0;

	for (fh = oi->counted; fh; fh = fh->cnext)
	{
		__atomic_store_n(&fh->stale, 1, __ATOMIC_RELAXED);
		fh->is_counted = 0;
		n++;
	}
	oi->counted = NULL;
	oi->opens = 0;
	if (n)
		pgfs_log(FUSE_LOG_WARNING, "inode %lld is gone from the store: %d open handle%s stale",
				 (long long) oi->ino, n, n == 1 ? " is" : "s are");
}

/* The parameters pgfs_ll_reopen and pgfs_ll_open_read begin with: ino, client, count. */
static void
reg_params(struct pgfs_params *p, const struct open_inode *oi, int count)
{
	par_i64(p, oi->ino);
	par_i64(p, pgfs.client);
	par_i32(p, count);
}

/*
 * Set the server's count of our handles on oi to count, on connection pg
 * (one being set up) or, without one, through the pool.  Returns 0 or an
 * errno; ENOENT when the inode is gone, or is not the file a create that
 * may have been lost made.
 */
static int
reg_send(struct open_inode *oi, int count, PGconn *pg)
{
	struct pgfs_params p = {0};
	uint64_t	seq;
	int64_t		born = create_maybe_lost(oi, &seq);
	PGresult   *r;
	int			err = 0;

	reg_params(&p, oi, count);
	if (born)
		par_i64(&p, born);
	else
		par_null(&p);
	r = pg ? pgfs_exec_on(pg, SQL_REOPEN, &p, &err) : pgfs_exec(SQL_REOPEN, &p, &err);
	PQclear(r);
	if (r && born)
		create_survived(oi, seq);
	return r ? 0 : err;
}

/* Drop fh's pre-read bytes; under its inode's lock, or with fh not yet listed. */
static void
preread_drop(struct pgfs_fh *fh)
{
	if (!fh->pre)
		return;
	PQclear(fh->pre);
	__atomic_sub_fetch(&prereading, fh->plen, __ATOMIC_RELAXED);
	fh->pre = NULL;
	fh->pdata = NULL;
	fh->plen = 0;
}

/*
 * Set the count as reg_send does, through the pool, and keep the file's
 * first want bytes in fh, which is not listed yet (pgfs_ll_open_read) --
 * none if the file's generation is still cached, the one the kernel's pages
 * are as of (-1: none).  *gen gets the file's generation (-1: unknown).  A
 * read-only mount counts no handles: it asks for the same with a statement
 * that writes nothing (a standby takes no writes).
 */
static int
open_read(struct open_inode *oi, int count, int flags, int want, int64_t cached,
		  struct pgfs_fh *fh, int64_t *gen)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err = 0;

	if (pgfs.cfg.ro)
		par_i64(&p, oi->ino);
	else
		reg_params(&p, oi, count);
	par_i32(&p, want);
	par_i64(&p, cached);		/* the kernel's pages are as of this one: no bytes then */
	/*
	 * The access time: an open for reading stands for the read (the kernel
	 * leaves access times to FUSE daemons, and reads that its pages answer
	 * never reach us); a read-only mount leaves it.
	 */
	if (!pgfs.cfg.ro)
		par_i32(&p, (flags & O_ACCMODE) != O_WRONLY ? pgfs.cfg.atime : PGFS_ATIME_NONE);
	if (!(r = pgfs_exec(pgfs.cfg.ro ? SQL_OPEN_RO : SQL_OPEN_READ, &p, &err)))
		return err;
	*gen = PQntuples(r) == 1 && !PQgetisnull(r, 0, 2) ? res_i64(r, 0, 2) : -1;
	if (want > 0 && PQntuples(r) == 1 && !PQgetisnull(r, 0, 1))
	{
		fh->pre = r;
		fh->pdata = PQgetvalue(r, 0, 1);
		fh->plen = PQgetlength(r, 0, 1);
		fh->peof = (int64_t) fh->plen >= res_i64(r, 0, 0);
		__atomic_add_fetch(&prereading, fh->plen, __ATOMIC_RELAXED);
	}
	else
		PQclear(r);
	return 0;
}

/* The server dropped this mount's locks of oi's file: its last handle went. */
static void
held_clear(struct open_inode *oi)
{
	pthread_mutex_lock(&oi->lock);
	free(oi->held);
	oi->held = NULL;
	__atomic_store_n(&oi->nheld, 0, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&oi->lock);
}

/* Set the server's count of oi to 0, with the registration taken. */
static void
send_release(struct open_inode *oi)
{
	int			err = reg_send(oi, 0, NULL);

	held_clear(oi);
	if (err != 0 && err != ENOENT)
		pgfs_log(FUSE_LOG_ERR, "inode %lld: release failed: %s",
				 (long long) oi->ino, strerror(err));
}

/*
 * Send the count again while a re-registration asked for it, and give the
 * registration up.  Returns -1 if pg was lost (then the next connection
 * registers everything again).
 */
static int
reg_end(struct open_inode *oi, PGconn *pg)
{
	int			ret = 0;

	pthread_mutex_lock(&table_lock);
	while (oi->rereg && ret == 0)
	{
		int			count = oi->opens,
					err;

		oi->rereg = 0;
		pthread_mutex_unlock(&table_lock);
		err = reg_send(oi, count, pg);
		pthread_mutex_lock(&table_lock);
		if (err == ENOENT)
			mark_stale(oi);
		else if (err && pg && PQstatus(pg) != CONNECTION_OK)
			ret = -1;
		else if (err)
			pgfs_log(FUSE_LOG_ERR, "inode %lld: registering %d open handles failed: %s",
					 (long long) oi->ino, count, strerror(err));
	}
	oi->reg_busy = 0;
	pthread_cond_broadcast(&reg_done);
	pthread_mutex_unlock(&table_lock);
	return ret;
}

/*
 * On a new connection pg, after pgfs_ll_client_begin: set the count of
 * every inode open here.  Returns -1 if pg was lost.
 */
int
pgfs_fh_reregister(PGconn *pg)
{
	struct open_inode **list,
			   *oi;
	size_t		n = 0,
				size = 16,
				i;
	int			ret = 0;

	if (pgfs.cfg.ro)
		return 0;
	pthread_mutex_lock(&table_lock);
	list = malloc(sizeof(*list) * size);
	for (i = 0; list && i < NBUCKETS; i++)
		for (oi = table[i]; oi && list; oi = oi->next)
		{
			/* a busy one may have just been counted by the server we lost */
			if (oi->opens == 0 && !oi->reg_busy)
				continue;
			if (n == size)
			{
				struct open_inode **l2 = realloc(list, sizeof(*list) * (size *= 2));

				if (!l2)
				{
					while (n > 0)
						list[--n]->refs--;	/* none reaches 0: they have handles */
					free(list);
					list = NULL;
					break;
				}
				list = l2;
			}
			oi->refs++;
			list[n++] = oi;
		}
	pthread_mutex_unlock(&table_lock);
	if (!list)
	{
		pgfs_log(FUSE_LOG_ERR, "out of memory re-registering open files");
		return -1;
	}

	for (i = 0; i < n; i++)
	{
		oi = list[i];
		pthread_mutex_lock(&table_lock);
		oi->rereg = 1;
		if (oi->reg_busy || ret != 0)
		{
			/* its registration sends the count; or the next connection does */
			pthread_mutex_unlock(&table_lock);
			oi_put(oi);
			continue;
		}
		oi->reg_busy = 1;
		pthread_mutex_unlock(&table_lock);
		ret = reg_end(oi, pg);
		oi_put(oi);
	}
	free(list);
	if (n)
		pgfs_log(FUSE_LOG_DEBUG, "re-registered %zu open files", n);
	return ret;
}

/* Whether fh's inode is gone from the store (its I/O fails with ESTALE). */
int
pgfs_fh_stale(struct pgfs_fh *fh)
{
	return fh_stale(fh);
}

/* Where a buffer starting at off must end. */
static off_t
buffer_end(off_t off)
{
	off_t		end = off + PGFS_WBUF_MAX;
	off_t		aligned = end - end % PGFS_WBUF_ALIGN;

	return aligned > off ? aligned : end;
}

/*
 * Write buffers.  A full one (PGFS_WBUF_MAX) is a mapping of its own: it is
 * filled by a FUSE worker and freed by a sender thread, and glibc's arenas
 * would keep such buffers per thread (main.c sets the mmap threshold above
 * them, for libpq's results).  A few freed ones are kept for the next
 * writer, whose pages are then already there: mapping 1 MiB afresh costs
 * 256 page faults that zero every page before the data is copied in.
 * Smaller ones come from malloc.
 */
#define WBUF_POOL	4

static char *wbuf_pool[WBUF_POOL];
static int	wbuf_pooled;
static pthread_mutex_t wbuf_lock = PTHREAD_MUTEX_INITIALIZER;

static char *
wbuf_get(size_t size)
{
	char	   *b = NULL;

	if (size != PGFS_WBUF_MAX)
		return malloc(size);
	pthread_mutex_lock(&wbuf_lock);
	if (wbuf_pooled > 0)
		b = wbuf_pool[--wbuf_pooled];
	pthread_mutex_unlock(&wbuf_lock);
	if (!b && (b = mmap(NULL, size, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
		b = NULL;
	return b;
}

static void
wbuf_put(char *b, size_t size)
{
	if (!b)
		return;
	if (size != PGFS_WBUF_MAX)
	{
		free(b);
		return;
	}
	pthread_mutex_lock(&wbuf_lock);
	if (wbuf_pooled < WBUF_POOL)
	{
		wbuf_pool[wbuf_pooled++] = b;
		b = NULL;
	}
	pthread_mutex_unlock(&wbuf_lock);
	if (b)
		munmap(b, size);
}

/* b (size bytes, len of them used) grown to new_size; NULL if out of memory */
static char *
wbuf_grow(char *b, size_t size, size_t len, size_t new_size)
{
	char	   *n;

	if (size != PGFS_WBUF_MAX && new_size != PGFS_WBUF_MAX)
		return realloc(b, new_size);
	if (!(n = wbuf_get(new_size)))
		return NULL;
	if (len)
		memcpy(n, b, len);
	wbuf_put(b, size);
	return n;
}

/* Grow fh's buffer to hold need bytes; ENOBUFS when over the memory budget. */
static int
reserve(struct pgfs_fh *fh, size_t need)
{
	size_t		size = fh->size ? fh->size : fh->grown ? fh->grown : PGFS_WBUF_ALIGN;
	char	   *buf;

	if (need <= fh->size)
		return 0;
	while (size < need)
		size *= 2;
	if (__atomic_add_fetch(&buffered, size - fh->size, __ATOMIC_RELAXED) > PGFS_WBUF_TOTAL ||
		!(buf = wbuf_grow(fh->buf, fh->size, fh->len, size)))
	{
		__atomic_sub_fetch(&buffered, size - fh->size, __ATOMIC_RELAXED);
		return ENOBUFS;
	}
	fh->buf = buf;
	fh->size = size;
	return 0;
}

/*
 * The kernel's pages of a file across opens.  Without the writeback cache
 * the kernel drops a file's cached pages at every open, unless the open
 * says keep_cache; so a file read again and again came from the server each
 * time.  An open that registers with pgfs_ll_open_read learns the inode's
 * generation, which every change of the file bumps (ours, another mount's,
 * SQL's), under the row lock its data is read with.  kc remembers, per
 * inode, the generation at the open that last emptied the kernel's pages:
 * an open that finds the same generation again, with no other handle of
 * this mount open on the inode, lets the kernel keep them, since every page
 * it holds was read since then and nothing changed the file meanwhile (the
 * generation only grows; a change while the file was open moved it on, and
 * a later open no longer matches).  With other handles open, what they
 * read, or read at their own open (preread), may be older: the pages go and
 * the record is dropped.  A new cache epoch (cache.c: a lost connection,
 * a restored or different store) ends every record.  A slot taken by
 * another inode only loses a record: the next open drops the pages.  An
 * open that may keep them tells the server the generation they are as of,
 * and gets no bytes along if it is still the file's (the kernel has them).
 */
#define KC_SLOTS 4096
static struct
{
	int64_t		ino;
	int64_t		gen;			/* -1: none */
	unsigned	epoch;
}			kc[KC_SLOTS];
static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;

/*
 * The generation ino's pages in the kernel are as of, if an open now
 * (others: with other handles of ours open on it) may keep them; else -1.
 */
static int64_t
kc_cached(int64_t ino, int others)
{
	int			i = (int) ((uint64_t) ino % KC_SLOTS);
	int64_t		gen = -1;

	pthread_mutex_lock(&kc_lock);
	if (!others && kc[i].ino == ino && kc[i].epoch == pgfs_cache_epoch())
		gen = kc[i].gen;
	pthread_mutex_unlock(&kc_lock);
	return gen;
}

/*
 * An open registered on the server found generation gen (-1: unknown);
 * others: whether other handles of ours are open on the inode.  Returns
 * whether the kernel may keep the file's pages; *stale, whether the
 * kernel's attributes of it, its size among them, may be older than the
 * file (until attr_timeout; a read stops at the size the kernel has): this
 * mount opened it before at another generation, or at one it did not learn
 * (with other handles open, or by creating it).  A record lost to another
 * inode taking its slot loses that too.
 */
static int
kc_open(int64_t ino, int64_t gen, int others, int *stale)
{
	unsigned	ep = pgfs_cache_epoch();
	int			keep;
	int			i = (int) ((uint64_t) ino % KC_SLOTS);

	pthread_mutex_lock(&kc_lock);
	keep = gen >= 0 && !others && kc[i].ino == ino && kc[i].gen == gen && kc[i].epoch == ep;
	*stale = kc[i].ino == ino && kc[i].epoch == ep && kc[i].gen != gen;
	kc[i].ino = ino;
	kc[i].gen = others ? -1 : gen;
	kc[i].epoch = ep;
	pthread_mutex_unlock(&kc_lock);
	return keep;
}

/* An open that did not learn the generation: the pages go, and the record. */
static void
kc_forget(int64_t ino)
{
	int			i = (int) ((uint64_t) ino % KC_SLOTS);

	pthread_mutex_lock(&kc_lock);
	if (kc[i].ino == ino)
		kc[i].gen = -1;
	pthread_mutex_unlock(&kc_lock);
}

/*
 * Whether the kernel's attributes of fh's file may be older than what the
 * open of fh found (kc_open): the caller drops them, as an NFS client asks
 * for them again at each open (close-to-open).
 */
int
pgfs_fh_stale_attrs(struct pgfs_fh *fh)
{
	return fh->stale_attrs;
}

/* Whether the kernel may keep its pages of fh's file at the open of fh. */
int
pgfs_fh_keep_cache(struct pgfs_fh *fh)
{
	return fh->keep;
}

/*
 * An open of an existing file (count: the handles the server is to count,
 * with the new one): what it reads along (open_read), and whether the
 * kernel may keep the file's pages (kc_open).  With the registration taken.
 */
static int
open_for_reading(struct open_inode *oi, int count, int flags, struct pgfs_fh *fh)
{
	struct pgfs_fh *other;
	int			want = 0;
	int64_t		gen = -1;
	int			others;
	int			err;

	pthread_mutex_lock(&oi->lock);
	others = oi->fhs != NULL;
	if ((flags & O_ACCMODE) != O_WRONLY && !(flags & O_TRUNC) &&
		__atomic_load_n(&prereading, __ATOMIC_RELAXED) + PGFS_PREREAD_MAX <= PGFS_PREREAD_TOTAL)
	{
		/* the bytes read must include what this mount wrote */
		want = PGFS_PREREAD_MAX;
		wait_inflight(oi);
		for (other = oi->fhs; other; other = other->next)
			if (other->len)
				fh_send(other); /* an error is other's to report */
		fh->pgen = oi->wgen;
	}
	pthread_mutex_unlock(&oi->lock);
	err = open_read(oi, count, flags, want, kc_cached(oi->ino, others), fh, &gen);
	if (!err)
		fh->keep = kc_open(oi->ino, gen, others, &fh->stale_attrs);
	return err;
}

/*
 * Open a handle on ino: count it on the server (pgfs_ll_create already did
 * for a file it created), then make ours.  0 or an errno.
 */
int
pgfs_fh_open(int64_t ino, int flags, int created, struct pgfs_fh **out)
{
	struct pgfs_fh *fh = calloc(1, sizeof(*fh));
	struct open_inode *oi;
	int			err = 0;
	static uint64_t ids;

	if (!fh)
		return ENOMEM;
	fh->id = __atomic_add_fetch(&ids, 1, __ATOMIC_RELAXED);
	if (!(oi = oi_get(ino, 1)))
	{
		free(fh);
		return ENOMEM;
	}
	fh->oi = oi;
	fh->sync = (flags & O_DSYNC) != 0;
	/* one open or release of the inode at a time (so others below is right) */
	reg_begin(oi);
	if (pgfs.cfg.ro)
		err = open_for_reading(oi, 0, flags, fh);
	else
	{
		int			count;

		pthread_mutex_lock(&table_lock);
		count = oi->opens + 1;
		pthread_mutex_unlock(&table_lock);
		if ((created && count != 1) || (!created && create_maybe_lost(oi, NULL)))
		{
			err = reg_send(oi, count, NULL);
			kc_forget(oi->ino);
		}
		else if (!created)
			err = open_for_reading(oi, count, flags, fh);
		else
			kc_forget(oi->ino);
		pthread_mutex_lock(&table_lock);
		if (!err)
		{
			oi->opens = count;
			fh->is_counted = 1;
			fh->cnext = oi->counted;
			oi->counted = fh;
		}
		else if (err == ENOENT)
			mark_stale(oi);
		pthread_mutex_unlock(&table_lock);
	}
	if (!err)
	{
		pthread_mutex_lock(&oi->lock);
		fh->next = oi->fhs;
		oi->fhs = fh;
		pthread_mutex_unlock(&oi->lock);
	}
	reg_end(oi, NULL);
	if (err)
	{
		preread_drop(fh);
		oi_put(oi);
		free(fh);
		return err;
	}
	*out = fh;
	return 0;
}

/* Send what is buffered, uncount and drop fh; returns an error never reported. */
int
pgfs_fh_release(struct pgfs_fh *fh)
{
	struct open_inode *oi = fh->oi;
	struct pgfs_fh **p;
	int			err;

	pthread_mutex_lock(&oi->lock);
	err = fh_sync(fh);
	if (!err && !fh->err_told)
		err = fh->err;
	for (p = &oi->fhs; *p != fh; p = &(*p)->next)
		;
	*p = fh->next;
	preread_drop(fh);
	pthread_mutex_unlock(&oi->lock);

	if (!pgfs.cfg.ro)
	{
		int			count = -1;

		/*
		 * A count that stays above ours does no harm; the last handle's 0,
		 * which frees an unlinked file, goes to the releaser.
		 */
		reg_begin(oi);
		pthread_mutex_lock(&table_lock);
		if (fh->is_counted)		/* not if it went stale meanwhile */
		{
			for (p = &oi->counted; *p != fh; p = &(*p)->cnext)
				;
			*p = fh->cnext;
			fh->is_counted = 0;
			if (--oi->opens == 0 && oi->unlinking)
				count = 0;
			else if (oi->opens == 0 && !oi->release_pending)
			{
				oi->release_pending = 1;
				oi->refs++;
				oi->pnext = pending;
				pending = oi;
				pthread_cond_signal(&pending_cond);
			}
		}
		pthread_mutex_unlock(&table_lock);
		if (count == 0)
			send_release(oi);	/* the last handle of a file unlinked here frees it */
		reg_end(oi, NULL);
	}
	oi_put(oi);
	__atomic_sub_fetch(&buffered, fh->size, __ATOMIC_RELAXED);
	wbuf_put(fh->buf, fh->size);
	free(fh->segs);
	free(fh->uses);
	free(fh);
	return err;
}

/*
 * Hand buf (len bytes of the file at off; size bytes allocated and counted
 * in buffered) to a sender.  Without one, send it here; then the error.
 * Under the inode's lock.
 */
static int
queue_job(struct pgfs_fh *fh, off_t off, char *buf, size_t len, size_t size,
		  const struct wseg *segs, int nsegs)
{
	struct open_inode *oi = fh->oi;
	struct wjob *j;
	int			err;

	wait_inflight(oi);
	if (nsenders && (j = malloc(sizeof(*j) + sizeof(struct wseg) * nsegs)))
	{
		j->fh = fh;
		j->off = off;
		j->len = len;
		j->segs = nsegs ? (struct wseg *) (j + 1) : NULL;
		j->nsegs = nsegs;
		if (nsegs)
			memcpy(j->segs, segs, sizeof(struct wseg) * nsegs);
		j->size = size;
		j->buf = buf;
		j->next = NULL;
		oi->inflight = 1;
		pthread_mutex_lock(&wq_lock);
		*wq_tail = j;
		wq_tail = &j->next;
		pthread_cond_signal(&wq_cond);
		pthread_mutex_unlock(&wq_lock);
		return 0;
	}
	err = fh_stale(fh) ? ESTALE : sql_write_v(oi, off, buf, len, segs, nsegs, 0);
	__atomic_sub_fetch(&buffered, size, __ATOMIC_RELAXED);
	wbuf_put(buf, size);
	return err;
}

/* Send fh's full buffer behind; acknowledged as for fh_send_part. */
static int
send_behind_buf(struct pgfs_fh *fh, int acknowledged)
{
	char	   *buf;
	size_t		size,
				len;
	int			err;

	wait_inflight(fh->oi);		/* (which lets others at fh meanwhile) */
	if (fh->len == 0)
		return 0;				/* sent by one of them */
	buf = fh->buf;
	size = fh->size;
	len = fh->len;
	fh->grown = size;
	fh->buf = NULL;
	fh->size = 0;
	fh->len = 0;
	err = queue_job(fh, fh->off, buf, len, size, fh->segs, fh->nsegs);
	fh->nsegs = 0;
	if (err && acknowledged && !fh->err)
	{
		fh->err = err;
		fh->err_told = 0;
	}
	return err;
}

/* Send a whole buffer's worth of an O_SYNC write(2), durably, after what is in flight. */
static int
send_now(struct pgfs_fh *fh, off_t off, const char *data, size_t n)
{
	wait_inflight(fh->oi);
	return sql_write(fh->oi, off, data, n, 1);
}

/* Send a whole buffer's worth of a write(2) behind: a copy of it. */
static int
send_behind_copy(struct pgfs_fh *fh, off_t off, const char *data, size_t n)
{
	char	   *buf;

	if (nsenders)
	{
		if (__atomic_add_fetch(&buffered, n, __ATOMIC_RELAXED) <= PGFS_WBUF_TOTAL &&
			(buf = wbuf_get(n)))
		{
			memcpy(buf, data, n);
			return queue_job(fh, off, buf, n, n, NULL, 0);
		}
		__atomic_sub_fetch(&buffered, n, __ATOMIC_RELAXED);
	}
	wait_inflight(fh->oi);
	return sql_write(fh->oi, off, data, n, 0);
}

static void *
sender_main(void *arg)
{
	pthread_mutex_lock(&wq_lock);
	for (;;)
	{
		struct wjob *j;
		struct open_inode *oi;
		int			err;

		while (!wq_head && !wq_stop)
			pthread_cond_wait(&wq_cond, &wq_lock);
		if (!(j = wq_head))
			break;
		if (!(wq_head = j->next))
			wq_tail = &wq_head;
		pthread_mutex_unlock(&wq_lock);

		/* fh, and so oi, live until inflight is 0: release waits for it */
		oi = j->fh->oi;
		err = fh_stale(j->fh) ? ESTALE :
			sql_write_v(oi, j->off, j->buf, j->len, j->segs, j->nsegs, 0);
		pthread_mutex_lock(&oi->lock);
		if (err && !j->fh->err)
		{
			j->fh->err = err;
			j->fh->err_told = 0;
		}
		oi->inflight = 0;
		pthread_cond_broadcast(&oi->idle);
		pthread_mutex_unlock(&oi->lock);
		__atomic_sub_fetch(&buffered, j->size, __ATOMIC_RELAXED);
		wbuf_put(j->buf, j->size);
		free(j);
		pthread_mutex_lock(&wq_lock);
	}
	pthread_mutex_unlock(&wq_lock);
	return NULL;
}

/* oi's data changes through this mount: what opens read of it is old; under oi->lock. */
static void
oi_changed(struct open_inode *oi)
{
	struct pgfs_fh *fh;

	oi->wgen++;
	for (fh = oi->fhs; fh; fh = fh->next)
		preread_drop(fh);
}

/* A truncation through this mount, before it is sent and after it returned. */
void
pgfs_ino_changed(int64_t ino)
{
	struct open_inode *oi = oi_get(ino, 0);

	if (!oi)
		return;
	pthread_mutex_lock(&oi->lock);
	oi_changed(oi);
	pthread_mutex_unlock(&oi->lock);
	oi_put(oi);
}

/*
 * Answer a read of size bytes at off from the bytes the open read, if they
 * hold it (or hold the file up to its end then); returns whether it did.
 */
int
pgfs_fh_preread(struct pgfs_fh *fh, fuse_req_t req, size_t size, off_t off)
{
	struct open_inode *oi = fh->oi;
	int			served = 0;

	pthread_mutex_lock(&oi->lock);
	if (fh->pre && fh->pgen != oi->wgen)
		preread_drop(fh);
	if (fh->pre && off >= 0 && off < (off_t) fh->plen)
	{
		size_t		n = fh->plen - off;

		if (n >= size || fh->peof)
		{
			if (n > size)
				n = size;
			fuse_reply_buf(req, fh->pdata + off, n);
			served = 1;
			if ((size_t) off + n >= fh->plen)
				preread_drop(fh);	/* read to their end: the kernel has the pages */
		}
	}
	pthread_mutex_unlock(&oi->lock);
	return served;
}

/*
 * A file lock was taken through fh (ops.c) when the file was at generation
 * gen: from now on until the file's last close here, a close asks the
 * server to drop its owner's locks.  Returns whether the file changed since
 * the last lock taken here (or this is the first): then what this mount
 * holds of its data (the kernel's pages, what opens read) may be older, and
 * the caller drops it, as NFS does when a lock is taken.
 */
int
pgfs_fh_note_lock(struct pgfs_fh *fh, int64_t gen)
{
	struct open_inode *oi = fh->oi;
	int			changed;

	__atomic_store_n(&oi->locks, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&oi->lock);
	changed = oi->lock_gen != gen;
	oi->lock_gen = gen;
	if (changed)
		oi_changed(oi);
	pthread_mutex_unlock(&oi->lock);
	return changed;
}

int
pgfs_fh_has_locks(struct pgfs_fh *fh)
{
	return __atomic_load_n(&fh->oi->locks, __ATOMIC_RELAXED);
}

/*
 * The owner of fh's flocks.  A flock belongs to the open file, which the
 * kernel names by its struct file; but the kernel sends the release that
 * drops the flock after close(2) returned, and by then a new open may have
 * the same struct file, and a flock of its own under that name.  fh's id is
 * never another handle's.
 */
uint64_t
pgfs_fh_id(struct pgfs_fh *fh)
{
	return fh->id;
}

/*
 * A record lock is being taken through fh, until pgfs_fh_lock_end says
 * whether it was, and by which owner.  A handle opened only for reading may
 * get no flush at its close (ops.c sets noflush), so its release drops the
 * locks of the owners that locked through it instead
 * (pgfs_fh_release_locks).  Without memory for the record, that release
 * leaves the owner's locks (to the file's last close here), rather than
 * fail the lock.
 */
void
pgfs_fh_lock_begin(struct pgfs_fh *fh)
{
	pthread_mutex_lock(&fh->oi->lockop);
}

void
pgfs_fh_lock_end(struct pgfs_fh *fh, uint64_t granted_to)
{
	struct open_inode *oi = fh->oi;
	struct lock_use *u;
	int			i;

	pthread_mutex_lock(&oi->lock);
	for (i = 0; granted_to && i < fh->nuses && fh->uses[i].owner != granted_to; i++)
		;
	if (granted_to && i == fh->nuses)
	{
		if ((u = realloc(fh->uses, sizeof(*u) * (i + 1))))
		{
			fh->uses = u;
			fh->uses[fh->nuses++].owner = granted_to;
		}
		else
			pgfs_log(FUSE_LOG_ERR, "inode %lld: out of memory: a lock will be dropped at the file's last close here",
					 (long long) oi->ino);
	}
	if (granted_to && i < fh->nuses)
		fh->uses[i].seq = ++oi->lock_seq;
	pthread_mutex_unlock(&oi->lock);
	pthread_mutex_unlock(&oi->lockop);
}

/*
 * A lock call through fh was granted: lk's owner now holds [start, end] of
 * the file with a lock of lk's type (F_RDLCK, F_WRLCK) of process pid, or
 * none of it (F_UNLCK), as a flock or a record lock.  resets: pgfs_conn_lock_resets()
 * at the answer.  Same-owner locks the range overlaps are cut as the server
 * cuts them (lock.c), but not joined: reclaimed piece by piece, they join
 * there again.
 */
void
pgfs_fh_locks_held(struct pgfs_fh *fh, const struct pgfs_lock *lk, unsigned resets)
{
	uint64_t	owner = lk->owner;
	int			flock = lk->flock;
	int64_t		start = lk->start;
	int64_t		end = lk->end;
	struct open_inode *oi = fh->oi;
	struct held_lock *held;
	int			n = 0;

	pthread_mutex_lock(&oi->lock);
	/* each lock cut in two at most, and the new one */
	if (!(held = malloc(sizeof(*held) * (oi->nheld * 2 + 1))))
	{
		pthread_mutex_unlock(&oi->lock);
		pgfs_log(FUSE_LOG_ERR, "inode %lld: out of memory: after a server crash, a lock lost may go "
				 "unreported, or one given up be reported lost", (long long) oi->ino);
		return;
	}
	for (int i = 0; i < oi->nheld; i++)
	{
		struct held_lock h = oi->held[i];

		if (h.lk.owner != owner || h.lk.flock != flock || h.lk.end < start || h.lk.start > end)
		{
			held[n++] = h;
			continue;
		}
		if (h.lk.start < start)
		{
			held[n] = h;
			held[n++].lk.end = start - 1;
		}
		if (h.lk.end > end)
		{
			held[n] = h;
			held[n++].lk.start = end + 1;
		}
	}
	if (lk->type != F_UNLCK)
		held[n++] = (struct held_lock) {*lk, resets, 0};
	free(oi->held);
	oi->held = held;
	__atomic_store_n(&oi->nheld, n, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&oi->lock);
}

/*
 * Ask the server for h back (reclaim_inode); *again is set if what the
 * owner holds of that range here changed meanwhile and something of it is
 * still to be asked for.  Returns -1 if no answer came.
 */
static int
reclaim_one(struct open_inode *oi, const struct held_lock *h, int *again)
{
	struct pgfs_params p = {0};
	PGresult   *r;
	int			err = 0,
				granted = 0,
				kept = 0,
				current = 0,
				overlap = 0;
	unsigned	now;

	pgfs_lock_params(&p, oi->ino, &h->lk, h->lk.type);
	if ((r = pgfs_exec(SQL_RECLAIMLK, &p, &err)))
	{
		err = 0;
		granted = PQntuples(r) == 1 && res_bool(r, 0, 0);
		PQclear(r);
	}
	else if (err == EIO)
		return -1;				/* no answer: try again later */
	now = pgfs_conn_lock_resets();
	pgfs_log(granted ? FUSE_LOG_INFO : FUSE_LOG_WARNING,
			 "inode %lld: %s %s lock of process %d on bytes %lld to %lld after the server lost it%s%s",
			 (long long) oi->ino, granted ? "took back the" : "could not take back the",
			 h->lk.flock ? "flock" : h->lk.type == F_WRLCK ? "exclusive" : "shared", (int) h->lk.pid,
			 (long long) h->lk.start, (long long) h->lk.end,
			 granted ? "" : ": I/O through it fails with EIO until it is unlocked",
			 err ? " (the server answered with an error)" : "");
	pthread_mutex_lock(&oi->lock);
	for (int j = 0; j < oi->nheld; j++)
	{
		struct held_lock *g = &oi->held[j];

		if (g->lk.owner != h->lk.owner || g->lk.flock != h->lk.flock ||
			g->lk.end < h->lk.start || g->lk.start > h->lk.end)
			continue;
		if (g->lk.type == h->lk.type && g->lk.start == h->lk.start && g->lk.end == h->lk.end &&
			g->resets == h->resets && !held_gone(g) && !kept)
		{
			kept = 1;
			if (granted)
				g->resets = now;
			else
				g->refused = 1;
		}
		else if (g->resets == now)
			current = 1;		/* taken since the reset: not ours to undo */
		else
			overlap = 1;		/* what is left of it after an unlock */
	}
	pthread_mutex_unlock(&oi->lock);
	/* given up here meanwhile (some or all of it): give it up there too */
	if (granted && !kept && !current)
	{
		struct pgfs_params u = {0};

		pgfs_lock_params(&u, oi->ino, &h->lk, F_UNLCK);
		if ((r = pgfs_exec(SQL_SETLK, &u, &err)))
			PQclear(r);
		else
			pgfs_log(FUSE_LOG_ERR, "inode %lld: unlocking a lock taken back after it was given up "
					 "failed: %s", (long long) oi->ino, strerror(err));
		if (overlap)
			*again = 1;
	}
	return 0;
}

/*
 * Take back from the server the locks of oi that a server reset took
 * (struct held_lock).  Under lockop, so that no record lock of the file is
 * taken meanwhile; each answer is recorded if the lock is still held here
 * as it was.  An unlock, or the release of the file's last handle, takes
 * no lockop and may have come between: a lock granted back that is no
 * longer held here as it was is unlocked again, or the server would keep
 * what the owner gave up (until the file's last close here, or for good
 * after a release), and what is left of it here is asked for again.  Only
 * files open here: a closed one's locks go with its release.  Returns 0,
 * or -1 if a reclaim could not be asked for (the connection was lost
 * again: the next pass tries again).
 */
static int
reclaim_inode(struct open_inode *oi)
{
	int			ret = 0,
				again = 1;

	pthread_mutex_lock(&oi->lockop);
	/* a few rounds: each one that undoes a reclaim may leave pieces to ask for */
	for (int round = 0; round < 4 && again && ret == 0; round++)
	{
		struct held_lock *want;
		int			n = 0;
		unsigned	resets = pgfs_conn_lock_resets();

		again = 0;
		pthread_mutex_lock(&oi->lock);
		want = malloc(sizeof(*want) * (oi->nheld + 1));
		for (int i = 0; want && oi->fhs && i < oi->nheld; i++)
			if (oi->held[i].resets != resets && !held_gone(&oi->held[i]))
				want[n++] = oi->held[i];
		pthread_mutex_unlock(&oi->lock);
		if (!want)
			pgfs_log(FUSE_LOG_ERR, "inode %lld: out of memory: locks lost to a server crash "
					 "are not taken back", (long long) oi->ino);
		for (int i = 0; i < n && ret == 0; i++)
			ret = reclaim_one(oi, &want[i], &again);
		free(want);
	}
	pthread_mutex_unlock(&oi->lockop);
	return ret;
}

/* Whether a lock of oi that fh's owners hold is lost, or to be reclaimed (*stale). */
static int
fh_locks_stale(struct pgfs_fh *fh, unsigned resets, int *stale)
{
	struct open_inode *oi = fh->oi;
	int			lost = 0;

	*stale = 0;
	pthread_mutex_lock(&oi->lock);
	for (int i = 0; i < oi->nheld && !lost; i++)
	{
		const struct held_lock *h = &oi->held[i];
		int			mine = 0;

		if (h->resets == resets)
			continue;
		if (h->lk.flock)
			mine = h->lk.owner == fh->id;
		else
			for (int j = 0; j < fh->nuses && !mine; j++)
				mine = fh->uses[j].owner == h->lk.owner;
		if (mine && held_gone(h))
			lost = 1;
		else if (mine)
			*stale = 1;
	}
	pthread_mutex_unlock(&oi->lock);
	return lost;
}

/*
 * Whether a lock this mount held through fh (a record lock of an owner
 * that locked through fh, or fh's flock) was lost since it was granted
 * (struct held_lock): one the server would not give back.  One not asked
 * back yet is asked for here.
 */
int
pgfs_fh_locks_lost(struct pgfs_fh *fh)
{
	struct open_inode *oi = fh->oi;
	unsigned	resets;
	int			lost,
				stale;

	/* no lock held here: no lock, no mutex (nheld changes under it) */
	if (!__atomic_load_n(&oi->nheld, __ATOMIC_RELAXED))
		return 0;
	resets = pgfs_conn_lock_resets();
	lost = fh_locks_stale(fh, resets, &stale);
	if (lost || !stale)
		return lost;
	/* not reclaimed yet: a failure to ask counts as lost, for now */
	if (reclaim_inode(oi) != 0)
		return 1;
	lost = fh_locks_stale(fh, pgfs_conn_lock_resets(), &stale);
	return lost || stale;
}

/*
 * After a server reset, take back every lock this mount held: soon, before
 * the server's grace period (pgfs.lock_grace) ends, even of files nobody
 * reads or writes meanwhile.  Run by the keeper (conn.c).  Returns 0, or
 * -1 if it must be run again (a connection was lost on the way).
 */
int
pgfs_fh_reclaim_locks(void)
{
	struct open_inode **list = NULL,
			   *oi;
	size_t		n = 0,
				i;
	int			ok = 1;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < NBUCKETS; i++)
		for (oi = table[i]; oi; oi = oi->next)
			if (__atomic_load_n(&oi->nheld, __ATOMIC_RELAXED))
			{
				struct open_inode **l2 = realloc(list, sizeof(*list) * (n + 1));

				if (!l2)
				{
					ok = 0;		/* try again at the next pass */
					continue;
				}
				list = l2;
				oi->refs++;
				list[n++] = oi;
			}
	pthread_mutex_unlock(&table_lock);
	for (i = 0; i < n; i++)
	{
		if (ok && reclaim_inode(list[i]) != 0)
			ok = 0;
		oi_put(list[i]);
	}
	free(list);
	return ok ? 0 : -1;
}

/*
 * Whether owner may hold record locks of fh's file taken through this
 * mount: it locked through a handle of the file that is still open (a
 * handle's release drops its owners' locks, but for an owner that has
 * locked anew through another).  A close by anyone else need not ask the
 * server to drop its locks.
 */
int
pgfs_fh_owner_locked(struct pgfs_fh *fh, uint64_t owner)
{
	struct open_inode *oi = fh->oi;
	int			found = 0;

	/* every close asks: a file never locked here takes no mutex */
	if (!pgfs_fh_has_locks(fh))
		return 0;
	pthread_mutex_lock(&oi->lock);
	for (struct pgfs_fh *h = oi->fhs; h && !found; h = h->next)
		for (int i = 0; i < h->nuses && !found; i++)
			found = h->uses[i].owner == owner;
	pthread_mutex_unlock(&oi->lock);
	return found;
}

/*
 * At the release of fh, opened only for reading: drop, by unlock(owner,
 * arg), the record locks of each owner that locked through fh.  The release
 * comes after close(2) returned: an owner that has since locked the file
 * through another open file of it took those locks after the close, which
 * the release must not drop, so it is skipped.  (It then keeps the locks it
 * took through fh until it closes the other file, instead of losing the new
 * ones.)  Under lockop, so that no lock is taken through this mount between
 * the decision and the unlocks.
 */
void
pgfs_fh_release_locks(struct pgfs_fh *fh, void (*unlock) (uint64_t owner, void *arg), void *arg)
{
	struct open_inode *oi = fh->oi;
	uint64_t   *owners;
	int			n = 0;

	/* no lock call comes through fh any more: nobody adds to its owners */
	if (__atomic_load_n(&fh->nuses, __ATOMIC_RELAXED) == 0)
		return;
	pthread_mutex_lock(&oi->lockop);
	pthread_mutex_lock(&oi->lock);
	owners = malloc(sizeof(*owners) * fh->nuses);
	for (int i = 0; owners && i < fh->nuses; i++)
	{
		const struct lock_use *u = &fh->uses[i];
		int			newer = 0;

		for (struct pgfs_fh *other = oi->fhs; other && !newer; other = other->next)
			for (int j = 0; other != fh && j < other->nuses && !newer; j++)
				newer = other->uses[j].owner == u->owner && other->uses[j].seq > u->seq;
		if (!newer)
			owners[n++] = u->owner;
	}
	pthread_mutex_unlock(&oi->lock);
	if (!owners)
		pgfs_log(FUSE_LOG_ERR, "inode %lld: out of memory: locks of a closed file stay to its last close here",
				 (long long) oi->ino);
	for (int i = 0; i < n; i++)
		unlock(owners[i], arg);
	pthread_mutex_unlock(&oi->lockop);
	free(owners);
}

/* Where the next write must start to extend the last piece of fh's buffer. */
static off_t
fh_tail(const struct pgfs_fh *fh)
{
	if (fh->nsegs)
		return fh->segs[fh->nsegs - 1].off + (off_t) fh->segs[fh->nsegs - 1].len;
	return fh->off + (off_t) fh->len;
}

/*
 * Start a new piece of fh's (non-empty) buffer at off, for a write of size
 * bytes elsewhere in the file than where the buffer ends; false if the
 * buffer has no room for it (then it must be sent first).  A program that
 * writes here and there (a database, a linker, a download in parallel
 * pieces) would otherwise cost a round trip and a commit per write(2); the
 * pieces go together as one pgfs_ll_writev, which applies them in order
 * and stores each chunk they touch once.
 */
static int
piece_begin(struct pgfs_fh *fh, off_t off, size_t size)
{
	if (fh->sync || fh->len + size > PGFS_WBUF_MAX ||
		fh->nsegs + (fh->nsegs ? 1 : 2) > PGFS_WBUF_SEGS)
		return 0;
	if (!fh->segs && !(fh->segs = malloc(sizeof(struct wseg) * PGFS_WBUF_SEGS)))
		return 0;
	if (fh->nsegs == 0)
	{
		fh->segs[0].off = fh->off;
		fh->segs[0].len = fh->len;
		fh->nsegs = 1;
	}
	fh->segs[fh->nsegs].off = off;
	fh->segs[fh->nsegs].len = 0;
	fh->nsegs++;
	/* full at PGFS_WBUF_MAX bytes in all */
	fh->end = off + (off_t) (PGFS_WBUF_MAX - fh->len);
	return 1;
}

int
pgfs_fh_write(struct pgfs_fh *fh, const char *data, size_t size, off_t off)
{
	struct open_inode *oi = fh->oi;
	struct pgfs_fh *other;
	int			err = 0;

	if (fh_stale(fh))
		return ESTALE;
	pthread_mutex_lock(&oi->lock);
	oi_changed(oi);
	/* writes reach the server in the order they were made */
	for (other = oi->fhs; other; other = other->next)
		if (other != fh && other->len)
			fh_send(other);		/* an error is other's to report */
	if (fh->len && off != fh_tail(fh) && !piece_begin(fh, off, size))
		err = fh_send(fh);
	while (!err && size > 0)
	{
		size_t		n;

		if (fh->len == 0)
		{
			fh->off = off;
			fh->end = buffer_end(off);
		}
		n = fh->end - off;
		if (n > size)
			n = size;
		if (fh->len == 0 && off + (off_t) n == fh->end)
			err = fh->sync ? send_now(fh, off, data, n) : send_behind_copy(fh, off, data, n);
		else if (!(err = reserve(fh, fh->len + n)))
		{
			int			acknowledged = fh->len > 0;

			memcpy(fh->buf + fh->len, data, n);
			fh->len += n;
			if (fh->nsegs)
				fh->segs[fh->nsegs - 1].len += n;
			if (fh->sync)
				err = fh_send_part(fh, acknowledged, 0);
			else if (off + (off_t) n == fh->end)
				err = send_behind_buf(fh, acknowledged);
		}
		else if (err == ENOBUFS && !(err = fh_send(fh)))
			err = sql_write(oi, off, data, n, fh->sync);	/* no memory to spare */
		data += n;
		off += n;
		size -= n;
	}
	pthread_mutex_unlock(&oi->lock);
	return err;
}

/*
 * Flush (close) and fsync: send the buffer of fh (fsync: of every handle on
 * the file) and make the file's writes durable; returns the error or the
 * kept one, which fsync (and only fsync) then forgets.
 */
int
pgfs_fh_flush(struct pgfs_fh *fh, int fsync)
{
	int			err;

	pthread_mutex_lock(&fh->oi->lock);
	if (fsync)
	{
		struct pgfs_fh *other;

		/* the file's data, whichever handle wrote it; fh_sync's commit covers these */
		for (other = fh->oi->fhs; other; other = other->next)
			if (other != fh && other->len)
				fh_send(other);	/* an error is other's to report */
	}
	err = fh_sync(fh);
	if (!err)
		err = fh->err;
	fh->err_told = 1;
	if (fsync)
		fh->err = 0;
	pthread_mutex_unlock(&fh->oi->lock);
	return err;
}

/* Send the buffers of all handles of oi, keeping errors for their owners; under oi->lock. */
static void
oi_send_all(struct open_inode *oi)
{
	struct pgfs_fh *fh;

	wait_inflight(oi);
	for (fh = oi->fhs; fh; fh = fh->next)
		if (fh->len)
			fh_send(fh);		/* an error is fh's to report */
}

/*
 * Send the buffers of all handles open on ino, keeping errors for their
 * owners.  Returns whether the inode is open here; false, cheaply, when not.
 * (Attributes read before this call may miss writes it sent, even when it
 * sent nothing itself: another thread may just have done so.)
 */
int
pgfs_ino_flush(int64_t ino)
{
	struct open_inode *oi = oi_get(ino, 0);

	if (!oi)
		return 0;
	pthread_mutex_lock(&oi->lock);
	oi_send_all(oi);
	pthread_mutex_unlock(&oi->lock);
	oi_put(oi);
	return 1;
}

/*
 * A change of ino's attributes (setattr), or of its data on the server
 * (fallocate, copy_file_range), is about to be sent: the buffers of its
 * handles go first (writes come before a truncation or a new mtime), and a
 * change of size or data drops what opens read (size_change).  If ino is open here
 * (and none of its handles is O_SYNC), the change may commit without
 * waiting for the WAL flush, as a buffer sent behind does: the flush, fsync
 * or release of a handle makes it durable, or reports EIO if the server was
 * reset before.  A program that sets the times, owner and mode of a file it
 * has written and is about to close (tar, cp -p, rsync) then waits for one
 * WAL flush, at the close, instead of four.  Returns ino's open_inode,
 * locked and referenced, for pgfs_ino_change_done, with *resets set; or
 * NULL (not open here: the change must be durable).
 */
struct open_inode *
pgfs_ino_change_begin(int64_t ino, int size_change, unsigned *resets)
{
	struct open_inode *oi = oi_get(ino, 0);
	struct pgfs_fh *fh;
	int			defer;

	if (!oi)
		return NULL;
	pthread_mutex_lock(&oi->lock);
	oi_send_all(oi);
	if (size_change)
		oi_changed(oi);
	defer = oi->fhs != NULL;
	for (fh = oi->fhs; fh; fh = fh->next)
		defer = defer && !fh->sync;
	if (!defer)
	{
		pthread_mutex_unlock(&oi->lock);
		oi_put(oi);
		return NULL;
	}
	*resets = pgfs_conn_resets();
	return oi;
}

/* ... and it was sent: committed (deferred) if ok. */
void
pgfs_ino_change_done(struct open_inode *oi, int size_change, int ok, unsigned resets)
{
	if (ok)
		note_deferred(oi, resets);
	if (size_change)
		oi_changed(oi);
	pthread_mutex_unlock(&oi->lock);
	oi_put(oi);
}

/* A name of ino is about to be removed through this mount. */
void
pgfs_ino_unlinking(int64_t ino)
{
	struct open_inode *oi = oi_get(ino, 0);

	if (!oi)
		return;
	pthread_mutex_lock(&table_lock);
	oi->unlinking = 1;
	pthread_mutex_unlock(&table_lock);
	oi_put(oi);
}

/* Whether an open inode is known to have no security.capability. */
int
pgfs_ino_nocaps(int64_t ino)
{
	struct open_inode *oi = oi_get(ino, 0);
	struct timespec now;
	int			known;

	if (!oi)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&table_lock);
	known = now.tv_sec < oi->nocaps_until.tv_sec ||
		(now.tv_sec == oi->nocaps_until.tv_sec && now.tv_nsec < oi->nocaps_until.tv_nsec);
	pthread_mutex_unlock(&table_lock);
	oi_put(oi);
	return known;
}

/* Remember (none) or forget (!none) that an open inode has no security.capability. */
void
pgfs_ino_set_nocaps(int64_t ino, int none)
{
	struct open_inode *oi = oi_get(ino, 0);
	struct timespec until = {0};
	double		t = pgfs.cfg.attr_timeout;

	if (!oi)
		return;
	if (none)
	{
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t) t;
		until.tv_nsec += (long) ((t - (time_t) t) * 1e9);
		if (until.tv_nsec >= 1000000000)
		{
			until.tv_sec++;
			until.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&table_lock);
	oi->nocaps_until = until;
	pthread_mutex_unlock(&table_lock);
	oi_put(oi);
}

/*
 * Send the count of 0 of n inodes, their registrations taken, in one
 * pgfs_ll_release_many (its bigint[] parameter in binary format).
 */
static void
release_batch(struct open_inode **batch, int n)
{
	struct pgfs_params p = {0};
	size_t		len = ARRAY_SIZE(n, 8);
	char	   *arr = malloc(len),
			   *q;
	PGresult   *r;
	int			err = 0,
				i;

	if (!arr)
	{
		for (i = 0; i < n; i++)
			send_release(batch[i]);
		return;
	}
	for (i = 0, q = array_begin(arr, 20, n); i < n; i++, q += 12)	/* int8 */
	{
		uint64_t	ino = htobe64((uint64_t) batch[i]->ino);

		put_be32(q, 8);
		memcpy(q + 4, &ino, 8);
	}
	par_bytes(&p, arr, len);
	par_i64(&p, pgfs.client);
	r = pgfs_exec(SQL_RELEASE_MANY, &p, &err);
	PQclear(r);
	free(arr);
	for (i = 0; i < n; i++)
		held_clear(batch[i]);
	if (!r)
		pgfs_log(FUSE_LOG_ERR, "releasing %d closed files failed: %s", n, strerror(err));
}

/* Send the count of 0 of every inode in pending (taken off the list). */
static void
send_releases(struct open_inode *list)
{
	struct open_inode *batch[PGFS_RELEASE_BATCH];
	int			n = 0,
				i;

	while (list || n > 0)
	{
		struct open_inode *oi = list;
		int			count;

		if (oi)
		{
			list = oi->pnext;
			reg_begin(oi);
			pthread_mutex_lock(&table_lock);
			oi->release_pending = 0;
			count = oi->opens;
			pthread_mutex_unlock(&table_lock);
			if (count == 0)
				batch[n++] = oi;
			else
			{
				/* reopened meanwhile: its count was sent */
				reg_end(oi, NULL);
				oi_put(oi);
			}
			if (n < PGFS_RELEASE_BATCH && list)
				continue;
		}
		if (n > 0)
			release_batch(batch, n);
		for (i = 0; i < n; i++)
		{
			reg_end(batch[i], NULL);
			oi_put(batch[i]);
		}
		n = 0;
	}
}

static struct open_inode *
take_pending(void)
{
	struct open_inode *list = pending;

	pending = NULL;
	return list;
}

static void *
releaser_main(void *arg)
{
	pthread_mutex_lock(&table_lock);
	while (!releaser_stop)
	{
		struct open_inode *list;

		if (!pending)
		{
			pthread_cond_wait(&pending_cond, &table_lock);
			continue;
		}
		/* let more gather (a tree of files closed in a row) */
		pthread_mutex_unlock(&table_lock);
		usleep(RELEASE_DELAY_MS * 1000);
		pthread_mutex_lock(&table_lock);
		list = take_pending();
		pthread_mutex_unlock(&table_lock);
		send_releases(list);
		pthread_mutex_lock(&table_lock);
	}
	pthread_mutex_unlock(&table_lock);
	return NULL;
}

/* Start the releaser; after the daemon has forked. */
int
pgfs_fh_start(void)
{
	int			want = pgfs.cfg.workers / 2 > 1 ? pgfs.cfg.workers / 2 : 1;

	if (pgfs.cfg.ro)
		return 0;
	if (pthread_create(&releaser, NULL, releaser_main, NULL) != 0)
		return -1;
	releaser_running = 1;
	if (!(senders = calloc(want, sizeof(*senders))))
		return -1;
	for (; nsenders < want; nsenders++)
		if (pthread_create(&senders[nsenders], NULL, sender_main, NULL) != 0)
			return -1;
	return 0;
}

/* Stop it, sending what it has not sent. */
void
pgfs_fh_stop(void)
{
	struct open_inode *list;
	int			i;

	/* (buffers sent behind were waited for by the flushes at unmount) */
	pthread_mutex_lock(&wq_lock);
	wq_stop = 1;
	pthread_cond_broadcast(&wq_cond);
	pthread_mutex_unlock(&wq_lock);
	for (i = 0; i < nsenders; i++)
		pthread_join(senders[i], NULL);
	nsenders = 0;
	free(senders);
	senders = NULL;
	if (releaser_running)
	{
		pthread_mutex_lock(&table_lock);
		releaser_stop = 1;
		pthread_cond_signal(&pending_cond);
		pthread_mutex_unlock(&table_lock);
		pthread_join(releaser, NULL);
		releaser_running = 0;
	}
	pthread_mutex_lock(&table_lock);
	list = take_pending();
	pthread_mutex_unlock(&table_lock);
	send_releases(list);
}

/* At unmount: send everything still buffered, durably. */
void
pgfs_flush_all(void)
{
	struct open_inode *oi;
	struct pgfs_fh *fh;
	int			i;

	pthread_mutex_lock(&table_lock);
	for (i = 0; i < NBUCKETS; i++)
		for (oi = table[i]; oi; oi = oi->next)
		{
			pthread_mutex_lock(&oi->lock);
			for (fh = oi->fhs; fh; fh = fh->next)
				if (fh_send(fh) != 0)
					pgfs_log(FUSE_LOG_ERR, "inode %lld: buffered data lost at unmount",
							 (long long) oi->ino);
			pthread_mutex_unlock(&oi->lock);
		}
	pthread_mutex_unlock(&table_lock);
	if (pgfs_sync_dir(0) != 0)
		pgfs_log(FUSE_LOG_ERR, "data written before unmount may not be durable");
}
