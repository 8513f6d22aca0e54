/*-------------------------------------------------------------------------
 *
 * namespace.c
 *	  Operations on the tree, shared by the path API and the inode API:
 *	  create, remove, link, rename, setattr, write, open and release.
 *
 * Every operation locks before it looks: first the directories whose
 * entries change (ascending inode order when there are two), then the
 * inodes named by those entries (ascending again), and only then reads the
 * state it decides on.  Under READ COMMITTED each statement after a lock
 * sees everything committed before the lock was granted; under REPEATABLE
 * READ a conflicting concurrent change makes the lock fail with a
 * serialization error (40001), which callers retry.
 *
 * Cross-directory renames additionally take one advisory lock first: with
 * it, the check that a directory is not moved below itself cannot be raced
 * by another rename (two renames, each fine alone, that together would form
 * a cycle).  Renames inside one directory cannot form cycles and skip it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"

#include "pgfs.h"

static PgfsPlan rename_lock_plan = {
	"SELECT pg_catalog.pg_advisory_xact_lock($1, 0)", 1, {INT4OID}
};
static PgfsPlan open_plan = {
	"INSERT INTO pgfs.handle AS h (ino, client, count) VALUES ($1, $2, 1)"
	" ON CONFLICT (ino, client) DO UPDATE SET count = h.count + 1",
	2, {INT8OID, INT8OID}
};
static PgfsPlan release_plan = {
	"UPDATE pgfs.handle SET count = count - 1 WHERE ino = $1 AND client = $2 AND count > 1",
	2, {INT8OID, INT8OID}
};
static PgfsPlan release_last_plan = {
	"DELETE FROM pgfs.handle WHERE ino = $1 AND client = $2", 2, {INT8OID, INT8OID}
};

static PgfsAcl *GetAcl(int64 ino, PgfsAclType type, const char *label);
static void PutAcl(int64 ino, PgfsAclType type, bytea *value);

/* a label for messages: the path when the caller has one, else the name */
static const char *
Label(const char *errpath, PgfsName name)
{
	return errpath ? errpath : PgfsNameStr(name);
}

/* lock a directory whose entries are about to change; check it still is one */
static void
CheckDir(PgfsInode *dir, const char *errpath)
{
	if (dir->ino == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("directory of \"%s\" does not exist", errpath)));
	if (!PGFS_IS_DIR(dir->mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOTDIR),
				 errmsg("parent of \"%s\" is not a directory", errpath)));
	if (dir->nlink == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("directory of \"%s\" has been removed", errpath)));
}

static void
LockDir(int64 ino, PgfsInode *dir, const char *errpath)
{
	if (!CatalogLockInodeIfExists(ino, dir))
		dir->ino = 0;
	CheckDir(dir, errpath);
}

/*
 * Create name in directory parent, with the permissions of mode that umask
 * leaves, or, below a directory with a default ACL, with that ACL narrowed
 * by mode and no umask (acl.c).  A regular file may be given its first
 * contents (data, len at offset): they are stored before the inode row is
 * inserted, so that the row goes in once, with its final size.
 * dir_generation, if not NULL, gets the directory's generation after the
 * create (the caller's transaction holds its row lock until it ends).
 */
static void
Create(int64 parent, PgfsName name, int32 mode, int32 umask, int64 rdev,
	   int64 uid, int64 gid, bytea *target, const char *errpath,
	   bool excl, int64 offset, const char *data, int64 len,
	   PgfsInode *out, bool *created, int64 *dir_generation)
{
	PgfsInode	dir;
	PgfsInode	node;
	int64		now;
	const char *label = Label(errpath, name);
	PgfsAcl    *dacl = NULL;
	bytea	   *access = NULL;

	PgfsValidateName(name, errpath);
	LockDir(parent, &dir, label);
	PolicyCheckDir(parent, true, label);
	if (CatalogLookup(parent, name, out))
	{
		if (excl)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EEXIST),
					 errmsg("file \"%s\" already exists", label)));
		if (created)
			*created = false;
		if (dir_generation)
			*dir_generation = dir.generation;
		return;
	}
	if (PGFS_IS_DIR(mode) && dir.nlink >= PGFS_LINK_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EMLINK),
				 errmsg("directory of \"%s\" has too many subdirectories", label)));

	/* BSD group semantics below a set-group-ID directory, as Linux does */
	if (dir.mode & S_ISGID)
	{
		gid = dir.gid;
		if (PGFS_IS_DIR(mode))
			mode |= S_ISGID;
	}

	/* the directory's default ACL, if it has any extended attribute at all */
	if (!PGFS_IS_LNK(mode) && dir.xattrs > 0)
		dacl = GetAcl(parent, PGFS_ACL_DEFAULT, label);
	if (dacl != NULL)
	{
		PgfsAcl    *acl = palloc(offsetof(PgfsAcl, e) + sizeof(PgfsAclEntry) * dacl->count);

		memcpy(acl, dacl, offsetof(PgfsAcl, e) + sizeof(PgfsAclEntry) * dacl->count);
		if (PgfsAclCreateMasq(acl, &mode))
			access = PgfsAclEncode(acl);
	}
	else if (!PGFS_IS_LNK(mode))
		mode &= ~(umask & 0777);

	now = PgfsNowNs();
	memset(&node, 0, sizeof(node));
	node.ino = CatalogNewIno();
	node.mode = mode;
	node.xattrs = (access != NULL) + (dacl != NULL && PGFS_IS_DIR(mode));
	node.nlink = PGFS_IS_DIR(mode) ? 2 : 1;
	node.uid = uid;
	node.gid = gid;
	node.rdev = rdev;
	/* a symbolic link's size is the length of its target, as lstat(2) says */
	node.size = target ? VARSIZE_ANY_EXHDR(target) : 0;
	node.atime_ns = node.mtime_ns = node.ctime_ns = node.btime_ns = now;
	node.generation = 1;
	node.parent = PGFS_IS_DIR(mode) ? parent : 0;
	if (data != NULL)
	{
		Assert(PGFS_IS_REG(mode));
		ChunkWrite(&node, offset, data, len);
	}
	if (PGFS_IS_DIR(mode))
		dir.nlink++;
	CatalogCreate(&node, target, &dir, name, now);
	if (access != NULL)
		PutAcl(node.ino, PGFS_ACL_ACCESS, access);
	if (dacl != NULL && PGFS_IS_DIR(mode))
		PutAcl(node.ino, PGFS_ACL_DEFAULT, PgfsAclEncode(dacl));
	*out = node;
	if (dir_generation)
		*dir_generation = dir.generation;
	if (created)
		*created = true;
}

void
NsCreate(int64 parent, PgfsName name, int32 mode, int32 umask, int64 rdev,
		 int64 uid, int64 gid, bytea *target, const char *errpath,
		 bool excl, PgfsInode *out, bool *created, int64 *dir_generation)
{
	Create(parent, name, mode, umask, rdev, uid, gid, target, errpath, excl, 0, NULL, 0,
		   out, created, dir_generation);
}

/*
 * Create regular file name in parent holding len bytes of data at offset,
 * unless the name exists by the time parent is locked: then *created is
 * false, *out the existing inode, and nothing was written.  The caller has
 * checked the range.
 */
void
NsCreateFile(int64 parent, PgfsName name, int32 mode, int64 uid, int64 gid,
			 int64 offset, const char *data, int64 len, const char *errpath,
			 PgfsInode *out, bool *created)
{
	Create(parent, name, S_IFREG | mode, 0, 0, uid, gid, NULL, errpath, false,
		   offset, data, len, out, created, NULL);
}

void
NsRemove(int64 parent, PgfsName name, bool rmdir, const char *errpath)
{
	PgfsInode	dir;
	PgfsInode	child;
	int64		now;
	const char *label = Label(errpath, name);

	PgfsValidateName(name, errpath);
	LockDir(parent, &dir, label);
	PolicyCheckDir(parent, true, label);
	if (!CatalogLookup(parent, name, &child))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("file \"%s\" does not exist", label)));
	CatalogLockInode(child.ino, &child);
	if (rmdir)
	{
		if (!PGFS_IS_DIR(child.mode))
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENOTDIR),
					 errmsg("\"%s\" is not a directory", label)));
		if (!CatalogDirIsEmpty(child.ino))
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENOTEMPTY),
					 errmsg("directory \"%s\" is not empty", label)));
	}
	else if (PGFS_IS_DIR(child.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EISDIR),
				 errmsg("\"%s\" is a directory", label),
				 errhint("Use pgfs_rmdir() or pgfs_remove().")));

	now = PgfsNowNs();
	CatalogDeleteDirent(parent, name);
	if (PGFS_IS_DIR(child.mode))
	{
		child.nlink = 0;
		dir.nlink--;
	}
	else
		child.nlink--;
	child.ctime_ns = now;
	CatalogTouch(&dir, true, now);
	CatalogUpdateInode(&dir);
	if (child.nlink == 0 && !CatalogHasHandles(child.ino))
		CatalogFreeInode(child.ino);
	else
		CatalogUpdateInode(&child);
}

void
NsLink(int64 ino, int64 newparent, PgfsName newname, const char *errpath, PgfsInode *out)
{
	PgfsInode	dir;
	PgfsInode	node;
	PgfsInode	existing;
	int64		now;
	const char *label = Label(errpath, newname);

	PgfsValidateName(newname, errpath);
	CatalogGetInodeOrError(ino, &node);
	if (PGFS_IS_DIR(node.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EPERM),
				 errmsg("cannot make a hard link \"%s\" to a directory", label)));
	LockDir(newparent, &dir, label);
	PolicyCheckDir(newparent, true, label);
	CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, false, label);
	if (CatalogLookup(newparent, newname, &existing))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EEXIST),
				 errmsg("file \"%s\" already exists", label)));
	if (node.nlink == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("cannot link \"%s\" to a file that has been removed", label)));
	if (node.nlink >= PGFS_LINK_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EMLINK),
				 errmsg("file linked as \"%s\" has too many links", label)));
	now = PgfsNowNs();
	CatalogInsertDirent(newparent, newname, ino);
	node.nlink++;
	node.ctime_ns = now;
	CatalogUpdateInode(&node);
	CatalogTouch(&dir, true, now);
	CatalogUpdateInode(&dir);
	*out = node;
}

/*
 * Is directory ino the same as, or an ancestor of, directory start?  One
 * query walks the parent chain; UNION (not UNION ALL) ends the walk even on
 * a damaged chain with a cycle.
 */
static PgfsPlan ancestor_plan = {
	"WITH RECURSIVE up(ino, parent) AS ("
	"  SELECT ino, parent FROM pgfs.inode WHERE ino = $1"
	"  UNION SELECT i.ino, i.parent FROM pgfs.inode i JOIN up ON i.ino = up.parent)"
	" SELECT EXISTS (SELECT 1 FROM up WHERE ino = $2)",
	2, {INT8OID, INT8OID}
};

bool
NsIsAncestor(int64 ino, int64 start)
{
	Datum		v[2] = {Int64GetDatum(start), Int64GetDatum(ino)};
	bool		isnull;
	bool		r;

	PgfsExec(&ancestor_plan, v, NULL);
	r = DatumGetBool(PgfsGetDatum(0, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	return r;
}

/*
 * RENAME_WHITEOUT leaves a whiteout where the source was: a character
 * device 0:0 with no permissions, as overlayfs reads one, owned by the
 * caller (the directory's group below a set-group-ID directory).
 */
static void
Whiteout(PgfsInode *dir, PgfsName name, int64 uid, int64 gid, int64 now)
{
	PgfsInode	node;

	memset(&node, 0, sizeof(node));
	node.ino = CatalogNewIno();
	node.mode = S_IFCHR;
	node.nlink = 1;
	node.uid = uid;
	node.gid = (dir->mode & S_ISGID) ? dir->gid : gid;
	node.atime_ns = node.mtime_ns = node.ctime_ns = node.btime_ns = now;
	node.generation = 1;
	CatalogCreate(&node, NULL, dir, name, now);
}

void
NsRename(int64 parent, PgfsName name, int64 newparent, PgfsName newname,
		 int flags, int64 uid, int64 gid, const char *errpath, const char *errnewpath)
{
	const char *label = Label(errpath, name);
	const char *newlabel = Label(errnewpath, newname);
	PgfsInode	dirs[2];
	PgfsInode  *pd;
	PgfsInode  *nd;
	PgfsInode	kids[2];
	PgfsInode  *src;
	PgfsInode  *dst = NULL;
	int64		ids[2];
	bool		has_dst;
	bool		cross = (parent != newparent);
	int64		now;

	PgfsValidateName(name, errpath);
	PgfsValidateName(newname, errnewpath);
	if ((flags & ~(PGFS_RENAME_NOREPLACE | PGFS_RENAME_EXCHANGE | PGFS_RENAME_WHITEOUT)) != 0 ||
		(flags & PGFS_RENAME_NOREPLACE && flags & PGFS_RENAME_EXCHANGE) ||
		(flags & PGFS_RENAME_WHITEOUT && flags & PGFS_RENAME_EXCHANGE))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid rename flags %d for \"%s\"", flags, label)));

	if (cross)
	{
		Datum		v[1] = {Int32GetDatum(PGFS_LOCK_CLASS + 1)};

		PgfsExec(&rename_lock_plan, v, NULL);
	}
	ids[0] = parent;
	ids[1] = newparent;
	CatalogLockInodes(ids, 2, dirs);
	pd = &dirs[0];
	nd = cross ? &dirs[1] : pd;
	CheckDir(pd, label);
	CheckDir(nd, newlabel);
	PolicyCheckDir(parent, true, label);
	PolicyCheckDir(newparent, true, newlabel);

	if (!CatalogLookup(parent, name, &kids[0]))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("file \"%s\" does not exist", label)));
	has_dst = CatalogLookup(newparent, newname, &kids[1]);
	if (flags & PGFS_RENAME_EXCHANGE && !has_dst)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("file \"%s\" does not exist", newlabel)));
	if (flags & PGFS_RENAME_NOREPLACE && has_dst)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EEXIST),
				 errmsg("file \"%s\" already exists", newlabel)));
	/* two names of one file: rename(2) does nothing */
	if (has_dst && kids[0].ino == kids[1].ino)
		return;

	ids[0] = kids[0].ino;
	ids[1] = has_dst ? kids[1].ino : kids[0].ino;
	CatalogLockInodes(ids, 2, kids);
	src = &kids[0];
	if (has_dst)
		dst = &kids[1];

	/* a directory must not move below itself */
	if (cross && PGFS_IS_DIR(src->mode) && NsIsAncestor(src->ino, newparent))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("cannot move directory \"%s\" into itself (\"%s\")", label, newlabel)));
	if (cross && dst && flags & PGFS_RENAME_EXCHANGE && PGFS_IS_DIR(dst->mode) &&
		NsIsAncestor(dst->ino, parent))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("cannot move directory \"%s\" into itself (\"%s\")", newlabel, label)));

	now = PgfsNowNs();
	if (flags & PGFS_RENAME_EXCHANGE)
	{
		/* the names stay (with their readdir cookies); the inodes swap */
		CatalogRetargetDirent(parent, name, dst->ino);
		CatalogRetargetDirent(newparent, newname, src->ino);
		if (cross)
		{
			if (PGFS_IS_DIR(src->mode))
			{
				src->parent = newparent;
				pd->nlink--;
				nd->nlink++;
			}
			if (PGFS_IS_DIR(dst->mode))
			{
				dst->parent = parent;
				nd->nlink--;
				pd->nlink++;
			}
		}
		dst->ctime_ns = now;
		CatalogUpdateInode(dst);
	}
	else
	{
		if (dst)
		{
			if (PGFS_IS_DIR(src->mode) && !PGFS_IS_DIR(dst->mode))
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ENOTDIR),
						 errmsg("cannot replace non-directory \"%s\" with directory \"%s\"",
								newlabel, label)));
			if (!PGFS_IS_DIR(src->mode) && PGFS_IS_DIR(dst->mode))
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_EISDIR),
						 errmsg("cannot replace directory \"%s\" with non-directory \"%s\"",
								newlabel, label)));
			if (PGFS_IS_DIR(dst->mode) && !CatalogDirIsEmpty(dst->ino))
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ENOTEMPTY),
						 errmsg("directory \"%s\" is not empty", newlabel)));
		}
		else if (cross && PGFS_IS_DIR(src->mode) && nd->nlink >= PGFS_LINK_MAX)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EMLINK),
					 errmsg("directory of \"%s\" has too many subdirectories", newlabel)));

		if (dst)
		{
			/* the target name survives, now naming the source inode */
			CatalogRetargetDirent(newparent, newname, src->ino);
			if (PGFS_IS_DIR(dst->mode))
			{
				dst->nlink = 0;
				nd->nlink--;
			}
			else
				dst->nlink--;
			dst->ctime_ns = now;
		}
		else
			CatalogInsertDirent(newparent, newname, src->ino);
		CatalogDeleteDirent(parent, name);
		if (flags & PGFS_RENAME_WHITEOUT)
			Whiteout(pd, name, uid, gid, now);
		if (cross && PGFS_IS_DIR(src->mode))
		{
			src->parent = newparent;
			pd->nlink--;
			nd->nlink++;
		}
		if (dst)
		{
			if (dst->nlink == 0 && !CatalogHasHandles(dst->ino))
				CatalogFreeInode(dst->ino);
			else
				CatalogUpdateInode(dst);
		}
	}
	src->ctime_ns = now;
	CatalogUpdateInode(src);
	CatalogTouch(pd, true, now);
	CatalogUpdateInode(pd);
	if (cross)
	{
		CatalogTouch(nd, true, now);
		CatalogUpdateInode(nd);
	}
}

void
NsCheckRange(int64 offset, int64 length, const char *errpath)
{
	if (offset < 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("negative offset %lld for \"%s\"", (long long) offset, errpath)));
	if (length < 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("negative length %lld for \"%s\"", (long long) length, errpath)));
	if (offset > PGFS_FILE_SIZE_MAX || length > PGFS_FILE_SIZE_MAX - offset)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EFBIG),
				 errmsg("file \"%s\" would exceed the maximum file size", errpath),
				 errdetail("Files are limited to %lld bytes.", (long long) PGFS_FILE_SIZE_MAX)));
}

static void
CheckRegular(const PgfsInode *node, const char *errpath)
{
	if (PGFS_IS_DIR(node->mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EISDIR),
				 errmsg("\"%s\" is a directory", errpath)));
	if (!PGFS_IS_REG(node->mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("\"%s\" is not a regular file", errpath)));
}

void
NsSetattr(int64 ino, const int32 *mode, const int64 *uid, const int64 *gid,
		  const int64 *size, const int64 *atime_ns, const int64 *mtime_ns,
		  bool kill_suid, const char *errpath, PgfsInode *out)
{
	PgfsInode	node;
	int64		now;
	const char *label = errpath ? errpath : psprintf("inode %lld", (long long) ino);

	if (mode && (*mode & ~07777) != 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid mode %o for \"%s\"", *mode, label),
				 errdetail("Only permission bits (07777) can be changed.")));
	if ((uid && (*uid < 0 || *uid > PG_UINT32_MAX - 1)) ||
		(gid && (*gid < 0 || *gid > PG_UINT32_MAX - 1)))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid owner for \"%s\"", label)));

	CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, true, label);
	now = PgfsNowNs();
	if (size)
	{
		CheckRegular(&node, label);
		NsCheckRange(*size, 0, label);
		ChunkTruncate(&node, *size);
		node.mtime_ns = now;
	}
	if (mode)
	{
		node.mode = (node.mode & S_IFMT) | *mode;
		/* an access ACL follows the mode (posix_acl_chmod) */
		if (node.xattrs > 0 && !PGFS_IS_LNK(node.mode))
		{
			PgfsAcl    *acl = GetAcl(ino, PGFS_ACL_ACCESS, label);

			if (acl != NULL)
			{
				PgfsAclChmod(acl, node.mode);
				PutAcl(ino, PGFS_ACL_ACCESS, PgfsAclEncode(acl));
			}
		}
	}
	if (uid)
		node.uid = *uid;
	if (gid)
		node.gid = *gid;
	/* chown(2) on Linux: set-user-ID goes, set-group-ID too if group-executable */
	if (kill_suid && (uid || gid) && !PGFS_IS_DIR(node.mode))
	{
		node.mode &= ~S_ISUID;
		if (node.mode & S_IXGRP)
			node.mode &= ~S_ISGID;
	}
	if (atime_ns)
		node.atime_ns = *atime_ns;
	if (mtime_ns)
		node.mtime_ns = *mtime_ns;
	node.ctime_ns = now;
	CatalogUpdateInode(&node);
	if (out)
		*out = node;
}

/*
 * Write data at offset.  locked, when given, is the inode already locked (or
 * created) by this transaction; otherwise inode ino is locked here.
 */
void
NsWrite(int64 ino, PgfsInode *locked, int64 offset, bytea *data, bool truncate_first,
		bool append, const char *errpath, PgfsInode *out)
{
	PgfsExtent	e = {offset, VARSIZE_ANY_EXHDR(data), VARDATA_ANY(data)};

	NsWriteV(ino, locked, &e, 1, truncate_first, append, errpath, out);
}

/*
 * Write n extents, in their order, in one change of the file (ChunkWriteV);
 * append (n = 1 only) writes at the end of the file.  Every extent's range
 * is checked before anything is written.
 */
void
NsWriteV(int64 ino, PgfsInode *locked, PgfsExtent *ext, int n, bool truncate_first,
		 bool append, const char *errpath, PgfsInode *out)
{
	PgfsInode	node;
	const char *label = errpath ? errpath : psprintf("inode %lld", (long long) ino);

	Assert(!append || n == 1);
	if (locked)
		node = *locked;
	else
		CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, true, label);
	CheckRegular(&node, label);
	if (truncate_first)
		ChunkTruncate(&node, 0);
	if (append)
		ext[0].offset = node.size;
	for (int i = 0; i < n; i++)
		NsCheckRange(ext[i].offset, ext[i].len, label);
	ChunkWriteV(&node, ext, n);
	node.mtime_ns = node.ctime_ns = PgfsNowNs();
	CatalogUpdateInode(&node);
	if (out)
		*out = node;
}

/*
 * copy_file_range(2): copy up to len bytes of file ino_in at off_in to file
 * ino_out at off_out, as far as the source's end; returns the bytes copied.
 * Chunks are shared where the offsets allow (ChunkCopyRange).  Both inode
 * rows are locked, in ascending order as every two-inode call takes them.
 * Within one file the ranges must not overlap (EINVAL, as Linux says).
 */
int64
NsCopyRange(int64 ino_in, int64 off_in, int64 ino_out, int64 off_out, int64 len)
{
	int64		inos[2] = {ino_in, ino_out};
	PgfsInode	nodes[2];
	PgfsInode  *src = &nodes[0];
	PgfsInode  *dst = &nodes[1];
	const char *label_in = InoLabel(ino_in, NULL);
	const char *label_out = InoLabel(ino_out, NULL);

	if (off_in < 0 || off_out < 0 || len < 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid range (offsets %lld and %lld, length %lld) copying \"%s\" to \"%s\"",
						(long long) off_in, (long long) off_out, (long long) len,
						label_in, label_out)));
	CatalogLockInodes(inos, 2, nodes);
	for (int i = 0; i < 2; i++)
		if (nodes[i].ino == 0)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENOENT),
					 errmsg("inode %lld does not exist", (long long) inos[i])));
	if (ino_in == ino_out)
		dst = src;
	PolicyCheckInode(src, false, label_in);
	PolicyCheckInode(dst, true, label_out);
	CheckRegular(src, label_in);
	CheckRegular(dst, label_out);
	if (off_in >= src->size)
		return 0;
	len = Min(len, src->size - off_in);
	NsCheckRange(off_out, len, label_out);
	if (src == dst && off_out < off_in + len && off_in < off_out + len)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("cannot copy bytes %lld to %lld of \"%s\" onto themselves at %lld",
						(long long) off_in, (long long) (off_in + len - 1), label_in,
						(long long) off_out)));
	if (len == 0)
		return 0;
	ChunkCopyRange(src, off_in, dst, off_out, len);
	dst->mtime_ns = dst->ctime_ns = PgfsNowNs();
	CatalogUpdateInode(dst);
	return len;
}

/*
 * fallocate(2) on file ino; mode holds the Linux flags.  pgfs stores no
 * bytes for zeros, so there is nothing to reserve: mode 0 only sets the
 * size to offset + len if that is larger (as ZFS does); PUNCH_HOLE (with
 * KEEP_SIZE, as Linux requires) and ZERO_RANGE make the range read as zeros
 * and store nothing for it (ChunkZeroRange); ZERO_RANGE without KEEP_SIZE
 * may grow the file as mode 0 does.  The other modes, which move bytes or
 * manage preallocation, are EOPNOTSUPP.  out, if not NULL, gets the inode
 * as written.
 */
void
NsFallocate(int64 ino, int32 mode, int64 offset, int64 len, PgfsInode *out)
{
	const char *label = InoLabel(ino, NULL);
	PgfsInode	node;

	if ((mode & ~(PGFS_FALLOC_KEEP_SIZE | PGFS_FALLOC_PUNCH_HOLE | PGFS_FALLOC_ZERO_RANGE)) != 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EOPNOTSUPP),
				 errmsg("fallocate mode 0x%x is not supported for \"%s\"", mode, label),
				 errdetail("pgfs supports modes 0, KEEP_SIZE, PUNCH_HOLE | KEEP_SIZE and ZERO_RANGE.")));
	if ((mode & PGFS_FALLOC_PUNCH_HOLE) && (mode & PGFS_FALLOC_ZERO_RANGE))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("fallocate of \"%s\" cannot both punch a hole and zero a range", label)));
	if ((mode & PGFS_FALLOC_PUNCH_HOLE) && !(mode & PGFS_FALLOC_KEEP_SIZE))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EOPNOTSUPP),
				 errmsg("fallocate of \"%s\" punches holes only with KEEP_SIZE", label)));
	if (offset < 0 || len <= 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid range (offset %lld, length %lld) for fallocate of \"%s\"",
						(long long) offset, (long long) len, label)));
	NsCheckRange(offset, len, label);

	CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, true, label);
	CheckRegular(&node, label);
	if (mode & (PGFS_FALLOC_PUNCH_HOLE | PGFS_FALLOC_ZERO_RANGE))
		ChunkZeroRange(&node, offset, len);
	if (!(mode & PGFS_FALLOC_KEEP_SIZE) && offset + len > node.size)
		ChunkTruncate(&node, offset + len);
	node.mtime_ns = node.ctime_ns = PgfsNowNs();
	CatalogUpdateInode(&node);
	if (out)
		*out = node;
}

/*
 * lseek(2)'s SEEK_DATA (data) and SEEK_HOLE on file ino: the offset, or
 * ENXIO at or past the end, or when no data follows.
 */
int64
NsSeek(int64 ino, int64 offset, bool data)
{
	const char *label = InoLabel(ino, NULL);
	PgfsInode	node;
	int64		pos;

	CatalogGetInodeOrError(ino, &node);
	PolicyCheckInode(&node, false, label);
	CheckRegular(&node, label);
	pos = ChunkSeek(&node, offset, data);
	if (pos < 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENXIO),
				 errmsg("no %s at or after offset %lld of \"%s\" (size %lld)",
						data ? "data" : "hole", (long long) offset, label, (long long) node.size)));
	return pos;
}

void
NsOpen(int64 ino, int64 client)
{
	PgfsInode	node;
	Datum		v[2] = {Int64GetDatum(ino), Int64GetDatum(client)};

	/* the row lock orders this against a concurrent unlink's "still open?" */
	CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, false, InoLabel(ino, NULL));
	PgfsExec(&open_plan, v, NULL);
}

static PgfsPlan reopen_plan = {
	"INSERT INTO pgfs.handle AS h (ino, client, count) VALUES ($1, $2, $3)"
	" ON CONFLICT (ino, client) DO UPDATE SET count = EXCLUDED.count",
	3, {INT8OID, INT8OID, INT4OID}
};

/*
 * Make client's open count on ino exactly count (0 drops the handle).  out,
 * if not NULL, gets the inode as locked.
 */
void
NsReopen(int64 ino, int64 client, int32 count, PgfsInode *out)
{
	PgfsInode	node;
	Datum		v[3] = {Int64GetDatum(ino), Int64GetDatum(client), Int32GetDatum(count)};

	if (count < 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("negative open count %d for inode %lld", count, (long long) ino)));
	CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, false, InoLabel(ino, NULL));
	if (count == 0)
	{
		PgfsExec(&release_last_plan, v, NULL);
		FileLocksDrop(ino, client);
		CatalogMaybeFree(&node);
	}
	else
		PgfsExec(&reopen_plan, v, NULL);
	if (out)
		*out = node;
}

/*
 * A read of locked regular file node, for its access time: under relatime
 * (Linux's default) it is set when it is not later than the last change of
 * the data or the inode, or is a day old; strict sets it always.  The
 * generation stays.
 */
bool
NsReadAtime(PgfsInode *node, bool strict)
{
	if (!NsAtimeDue(node, strict))
		return false;
	CatalogSetAtime(node, PgfsNowNs());
	return true;
}

/* would a read set node's access time (relatime, or strictatime)? */
bool
NsAtimeDue(const PgfsInode *node, bool strict)
{
	return strict || node->atime_ns <= node->mtime_ns || node->atime_ns <= node->ctime_ns ||
		PgfsNowNs() - node->atime_ns >= INT64CONST(86400000000000);
}

void
NsRelease(int64 ino, int64 client)
{
	PgfsInode	node;
	Datum		v[2] = {Int64GetDatum(ino), Int64GetDatum(client)};

	if (!CatalogGetInode(ino, &node))
		return;					/* already reclaimed */
	CatalogLockInode(ino, &node);
	if (PgfsExec(&release_plan, v, NULL) == 0)
	{
		PgfsExec(&release_last_plan, v, NULL);
		FileLocksDrop(ino, client);
	}
	CatalogMaybeFree(&node);
}

/* ---- extended attributes ---- */

static PgfsPlan xattr_get_plan = {
	"SELECT value FROM pgfs.xattr WHERE ino = $1 AND name = $2", 2, {INT8OID, BYTEAOID}
};
static PgfsPlan xattr_insert_plan = {
	"INSERT INTO pgfs.xattr (ino, name, value) VALUES ($1, $2, $3)"
	" ON CONFLICT (ino, name) DO UPDATE SET value = EXCLUDED.value",
	3, {INT8OID, BYTEAOID, BYTEAOID}
};
static PgfsPlan xattr_delete_plan = {
	"DELETE FROM pgfs.xattr WHERE ino = $1 AND name = $2", 2, {INT8OID, BYTEAOID}
};
static PgfsPlan xattr_names_plan = {
	"SELECT coalesce(sum(length(name) + 1), 0)::int8 FROM pgfs.xattr WHERE ino = $1", 1, {INT8OID}
};
static PgfsPlan xattr_list_plan = {
	"SELECT name FROM pgfs.xattr WHERE ino = $1 ORDER BY name", 1, {INT8OID}
};

static Datum
XattrNameDatum(PgfsName name, const char *label)
{
	bytea	   *b;

	if (memchr(name.data, '\0', name.len) != NULL)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("extended attribute name for \"%s\" contains a NUL byte", label)));
	/* Linux answers ERANGE for an empty name as for a long one */
	if (name.len == 0 || name.len > PGFS_XATTR_NAME_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ERANGE),
				 errmsg("extended attribute name of \"%s\" must have 1 to %d bytes",
						label, PGFS_XATTR_NAME_MAX)));
	b = palloc(VARHDRSZ + name.len);
	SET_VARSIZE(b, VARHDRSZ + name.len);
	memcpy(VARDATA(b), name.data, name.len);
	return PointerGetDatum(b);
}

const char *
InoLabel(int64 ino, const char *errpath)
{
	return errpath ? errpath : psprintf("inode %lld", (long long) ino);
}

/* an ACL of inode ino, or NULL */
static PgfsAcl *
GetAcl(int64 ino, PgfsAclType type, const char *label)
{
	Datum		v[2];
	bool		isnull;

	v[0] = Int64GetDatum(ino);
	v[1] = XattrNameDatum(PgfsAclName(type), label);
	if (PgfsExec(&xattr_get_plan, v, NULL) == 0)
		return NULL;
	return PgfsAclParse(DatumGetByteaPP(PgfsGetDatum(0, 1, &isnull)), label);
}

/* store an ACL of inode ino; the caller counts it in the inode's xattrs */
static void
PutAcl(int64 ino, PgfsAclType type, bytea *value)
{
	Datum		v[3];

	v[0] = Int64GetDatum(ino);
	v[1] = XattrNameDatum(PgfsAclName(type), "");
	v[2] = PointerGetDatum(value);
	PgfsExec(&xattr_insert_plan, v, NULL);
}

/*
 * Set (or, with an ACL of no entries, remove) an ACL of locked inode node,
 * keeping its mode in step (acl.c).  Linux ignores XATTR_CREATE and
 * XATTR_REPLACE here, and so does this.
 */
static void
SetAcl(PgfsInode *node, PgfsAclType type, bytea *value, int flags, const char *label)
{
	PgfsAcl    *acl;
	Datum		v[2];
	bool		exists;

	if (PGFS_IS_LNK(node->mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EOPNOTSUPP),
				 errmsg("\"%s\" is a symbolic link, which cannot have an access control list",
						label)));
	acl = PgfsAclParse(value, label);
	if (type == PGFS_ACL_DEFAULT && !PGFS_IS_DIR(node->mode))
	{
		if (acl != NULL)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EACCES),
					 errmsg("\"%s\" is not a directory: only directories have a default ACL",
							label)));
		return;
	}
	if (type == PGFS_ACL_ACCESS)
	{
		/* an ACL that a mode can say is kept as that mode only */
		if (acl != NULL && !PgfsAclToMode(acl, &node->mode))
			acl = NULL;
		if (flags & PGFS_XATTR_ACL_KILL_SGID)
			node->mode &= ~S_ISGID;
	}
	v[0] = Int64GetDatum(node->ino);
	v[1] = XattrNameDatum(PgfsAclName(type), label);
	exists = PgfsExec(&xattr_delete_plan, v, NULL) > 0;
	if (acl != NULL)
		PutAcl(node->ino, type, PgfsAclEncode(acl));
	node->xattrs += (acl != NULL) - exists;
	node->ctime_ns = PgfsNowNs();
	CatalogUpdateInode(node);
}

void
NsSetxattr(int64 ino, PgfsName name, bytea *value, int flags, const char *errpath)
{
	const char *label = InoLabel(ino, errpath);
	Datum		v[3];
	PgfsInode	node;
	bool		exists;
	PgfsAclType acltype;

	v[0] = Int64GetDatum(ino);
	v[1] = XattrNameDatum(name, label);
	v[2] = PointerGetDatum(value);
	acltype = PgfsAclNameType(name);
	if ((flags & ~(PGFS_XATTR_CREATE | PGFS_XATTR_REPLACE)) != 0 &&
		(flags != (flags & (PGFS_XATTR_CREATE | PGFS_XATTR_REPLACE | PGFS_XATTR_ACL_KILL_SGID)) ||
		 acltype != PGFS_ACL_ACCESS))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid extended attribute flags %d for \"%s\"", flags, label)));
	if (VARSIZE_ANY_EXHDR(value) > PGFS_XATTR_SIZE_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_E2BIG),
				 errmsg("extended attribute value for \"%s\" is larger than %d bytes",
						label, PGFS_XATTR_SIZE_MAX)));
	CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, true, label);
	if (acltype != PGFS_ACL_NONE)
	{
		SetAcl(&node, acltype, value, flags, label);
		return;
	}
	exists = PgfsExec(&xattr_get_plan, v, NULL) > 0;
	if (exists && (flags & PGFS_XATTR_CREATE))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EEXIST),
				 errmsg("extended attribute \"%s\" of \"%s\" already exists",
						PgfsNameStr(name), label)));
	if (!exists && (flags & PGFS_XATTR_REPLACE))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENODATA),
				 errmsg("extended attribute \"%s\" of \"%s\" does not exist",
						PgfsNameStr(name), label)));
	/* every name must still fit one listxattr(2); ext4 says ENOSPC far sooner */
	if (!exists && node.xattrs > 0)
	{
		int64		used;

		PgfsExec(&xattr_names_plan, v, NULL);
		used = PgfsGetInt64(0, 1);
		if (used + name.len + 1 > PGFS_XATTR_LIST_MAX)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENOSPC),
					 errmsg("no room for extended attribute \"%s\" of \"%s\"",
							PgfsNameStr(name), label),
					 errdetail("The names of a file's extended attributes take at most %d bytes, "
							   "each with a NUL; these take %lld.",
							   PGFS_XATTR_LIST_MAX, (long long) used)));
	}
	PgfsExec(&xattr_insert_plan, v, NULL);
	if (!exists)
		node.xattrs++;
	node.ctime_ns = PgfsNowNs();
	CatalogUpdateInode(&node);
}

bytea *
NsGetxattr(int64 ino, PgfsName name, const char *errpath, bool missing_ok)
{
	const char *label = InoLabel(ino, errpath);
	Datum		v[2];
	bool		isnull;
	bytea	   *val;
	PgfsInode	node;
	MemoryContext old;

	CatalogGetInodeOrError(ino, &node);
	PolicyCheckInode(&node, false, label);
	v[0] = Int64GetDatum(ino);
	v[1] = XattrNameDatum(name, label);
	if (PgfsExec(&xattr_get_plan, v, NULL) == 0)
	{
		if (missing_ok)
			return NULL;
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENODATA),
				 errmsg("extended attribute \"%s\" of \"%s\" does not exist",
						PgfsNameStr(name), label)));
	}
	old = MemoryContextSwitchTo(PgfsCallerContext());
	val = DatumGetByteaPCopy(PgfsGetDatum(0, 1, &isnull));
	MemoryContextSwitchTo(old);
	return val;
}

void
NsRemovexattr(int64 ino, PgfsName name, const char *errpath)
{
	const char *label = InoLabel(ino, errpath);
	Datum		v[2];
	PgfsInode	node;

	v[0] = Int64GetDatum(ino);
	v[1] = XattrNameDatum(name, label);
	CatalogLockInode(ino, &node);
	PolicyCheckInode(&node, true, label);
	if (PgfsExec(&xattr_delete_plan, v, NULL) == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENODATA),
				 errmsg("extended attribute \"%s\" of \"%s\" does not exist",
						PgfsNameStr(name), label)));
	node.xattrs--;
	node.ctime_ns = PgfsNowNs();
	CatalogUpdateInode(&node);
}

/* emit the names into the SRF set up by the caller with InitMaterializedSRF */
void
NsListxattr(int64 ino, FunctionCallInfo fcinfo, bool as_text)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		v[1] = {Int64GetDatum(ino)};
	int			rows;
	PgfsInode	node;

	CatalogGetInodeOrError(ino, &node);
	PolicyCheckInode(&node, false, InoLabel(ino, NULL));
	rows = PgfsExec(&xattr_list_plan, v, NULL);

	for (int r = 0; r < rows; r++)
	{
		bool		isnull;
		bytea	   *b = DatumGetByteaPP(PgfsGetDatum(r, 1, &isnull));
		Datum		out;
		bool		nulls[1] = {false};

		if (as_text)
		{
			PgfsName	n = PgfsByteaName(b);

			out = CStringGetTextDatum(PgfsNameStr(n));
		}
		else
			out = PointerGetDatum(b);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &out, nulls);
	}
}
