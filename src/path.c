/*-------------------------------------------------------------------------
 *
 * path.c
 *	  Parsing, validating and walking text paths of the path API.
 *
 * Paths given by users are absolute, '/'-separated, at most PGFS_PATH_MAX-1
 * bytes, with components of at most PGFS_NAME_MAX bytes and without "." or
 * ".." components (an API is not a shell; a path means one thing).  Repeated
 * slashes collapse; a trailing slash demands a directory.  Symbolic links met
 * on the way are followed, their targets may be relative and may use "." and
 * "..", and after PGFS_MAX_SYMLINKS of them the walk fails with ELOOP.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "pgfs.h"

typedef struct NameList
{
	PgfsName   *names;
	int			n;
} NameList;

static bool
IsDot(PgfsName n)
{
	return n.len == 1 && n.data[0] == '.';
}

static bool
IsDotDot(PgfsName n)
{
	return n.len == 2 && n.data[0] == '.' && n.data[1] == '.';
}

/* split on '/', dropping empty components */
static NameList
SplitPath(const char *s, int len)
{
	NameList	l;
	int			i = 0;

	l.names = palloc(sizeof(PgfsName) * (len / 2 + 1));
	l.n = 0;
	while (i < len)
	{
		int			start;

		while (i < len && s[i] == '/')
			i++;
		start = i;
		while (i < len && s[i] != '/')
			i++;
		if (i > start)
		{
			l.names[l.n].data = s + start;
			l.names[l.n].len = i - start;
			l.n++;
		}
	}
	return l;
}

void
PgfsValidateName(PgfsName name, const char *ctx)
{
	if (name.len == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("file name must not be empty"),
				 ctx ? errdetail("While resolving \"%s\".", ctx) : 0));
	if (name.len > PGFS_NAME_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENAMETOOLONG),
				 errmsg("file name \"%.40s...\" is too long", PgfsNameStr(name)),
				 errdetail("Names are limited to %d bytes; this one has %d.",
						   PGFS_NAME_MAX, name.len)));
	if (memchr(name.data, '/', name.len) != NULL || memchr(name.data, '\0', name.len) != NULL)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("file name \"%s\" contains '/' or a NUL byte", PgfsNameStr(name))));
	if (IsDot(name) || IsDotDot(name))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("file name \"%s\" is reserved", PgfsNameStr(name))));
}

PgfsName
PgfsByteaName(bytea *b)
{
	PgfsName	n;

	n.data = VARDATA_ANY(b);
	n.len = VARSIZE_ANY_EXHDR(b);
	return n;
}

static void
CheckPathSyntax(const char *path, int len)
{
	NameList	l;

	if (len == 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("path must not be empty")));
	if (path[0] != '/')
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("path \"%s\" is not absolute", path),
				 errhint("pgfs paths start with \"/\".")));
	if (len >= PGFS_PATH_MAX)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENAMETOOLONG),
				 errmsg("path \"%.64s...\" is too long", path),
				 errdetail("Paths are limited to %d bytes; this one has %d.",
						   PGFS_PATH_MAX - 1, len)));
	l = SplitPath(path, len);
	for (int i = 0; i < l.n; i++)
	{
		if (IsDot(l.names[i]) || IsDotDot(l.names[i]))
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("path \"%s\" contains a \".\" or \"..\" component", path),
					 errhint("Give the path in canonical form.")));
		if (l.names[i].len > PGFS_NAME_MAX)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENAMETOOLONG),
					 errmsg("path \"%.64s...\" has a component longer than %d bytes",
							path, PGFS_NAME_MAX)));
	}
	pfree(l.names);
}

static void Walk(const char *path, bool follow, bool soft, NameList *lp, PgfsPath *res);

/*
 * Resolve path.  On return res->exists tells whether the last component
 * exists; res->parent/res->name are where it is (or would be created).
 * A final symbolic link is followed when follow is true (as open(2) does);
 * so is one before a trailing slash.
 */
static void
Resolve(const char *path, bool follow, bool soft, PgfsPath *res)
{
	int			len = strlen(path);
	NameList	l;

	CheckPathSyntax(path, len);
	memset(res, 0, sizeof(*res));
	res->path = path;
	res->trailing_slash = (len > 1 && path[len - 1] == '/');
	if (res->trailing_slash)
		follow = true;

	l = SplitPath(path, len);
	if (l.n == 0)
	{
		/* the root */
		res->parent = PGFS_ROOT_INO;
		res->exists = true;
		CatalogGetInodeOrError(PGFS_ROOT_INO, &res->inode);
		return;
	}

	/* the whole walk reads under one snapshot */
	PgfsLookupBegin();
	Walk(path, follow, soft, &l, res);
	PgfsLookupEnd();
}

/*
 * Replace the components before index from of *l with the target of
 * symbolic link ino; a target starting with "/" restarts the walk at the
 * root.  Returns false for a link to "/" with nothing after it (the walk
 * ends at *cur, the root).
 */
static bool
FollowLink(const char *path, int64 ino, int from, int *nlinks, NameList *l, int64 *cur)
{
	bytea	   *target = CatalogGetTarget(ino);
	int			tlen = VARSIZE_ANY_EXHDR(target);
	NameList	t;
	PgfsName   *merged;
	int			rest = l->n - from;

	if (++*nlinks > PGFS_MAX_SYMLINKS)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ELOOP),
				 errmsg("too many levels of symbolic links in path \"%s\"", path)));
	t = SplitPath(VARDATA_ANY(target), tlen);
	if (tlen > 0 && VARDATA_ANY(target)[0] == '/')
		*cur = PGFS_ROOT_INO;
	if (t.n == 0 && rest == 0)
		return false;
	merged = palloc(sizeof(PgfsName) * (t.n + rest));
	memcpy(merged, t.names, sizeof(PgfsName) * t.n);
	memcpy(merged + t.n, l->names + from, sizeof(PgfsName) * rest);
	l->names = merged;
	l->n = t.n + rest;
	return true;
}

/*
 * The walk.  A component that is only passed through costs one probe of
 * dirent's key: its inode row is not read, because finding the next name
 * in it proves it a directory (only directories have entries).  Its inode
 * is read only when that next lookup misses, or before "." or "..", to
 * tell a missing name (ENOENT) from a file in the way (ENOTDIR) and from
 * a symbolic link to follow.  The last component is read whole.
 *
 * Measured (pgbench, one client, pgfs_stat('/s/dN/fM') among 10k files):
 * with the inode of every component read, the six probes were 22% of the
 * backend's time; four probes instead of six gave 8% more stats per second.
 */
static void
Walk(const char *path, bool follow, bool soft, NameList *lp, PgfsPath *res)
{
	NameList	l = *lp;
	int64		cur = PGFS_ROOT_INO;
	bool		cur_is_dir = true;	/* is cur known to be a directory? */
	int64		up = PGFS_ROOT_INO; /* the directory holding cur, when not known */
	PgfsName	cur_name = {NULL, 0};
	int			nlinks = 0;
	int			i = 0;

	while (i < l.n)
	{
		PgfsName	name = l.names[i];
		bool		last = (i == l.n - 1);
		bool		dots = IsDot(name) || IsDotDot(name);
		PgfsInode	node;
		int64		next = 0;
		bool		found;

		CHECK_FOR_INTERRUPTS();
		if (!dots && !last)
		{
			next = CatalogLookupIno(cur, name);
			found = (next != 0);
		}
		else if (!dots)
			found = CatalogLookup(cur, name, &node);
		else
			found = false;

		if (!found && !cur_is_dir)
		{
			/* what is cur?  (a hit would have proved it a directory) */
			PgfsInode	curnode;

			CatalogGetInodeOrError(cur, &curnode);
			if (PGFS_IS_LNK(curnode.mode))
			{
				cur = up;
				cur_is_dir = true;
				if (!FollowLink(path, curnode.ino, i, &nlinks, &l, &cur))
					elog(ERROR, "symbolic link followed by nothing in the middle of \"%s\"", path);
				i = 0;
				continue;
			}
			if (!PGFS_IS_DIR(curnode.mode))
			{
				if (soft)
				{
					res->exists = false;
					return;
				}
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ENOTDIR),
						 errmsg("\"%s\" in path \"%s\" is not a directory",
								PgfsNameStr(cur_name), path)));
			}
			cur_is_dir = true;
		}

		if (dots)
		{
			/* only symbolic link targets get here; cur is a directory */
			if (IsDotDot(name))
			{
				CatalogGetInodeOrError(cur, &node);
				cur = node.parent;
			}
			i++;
			if (last)
			{
				res->exists = true;
				CatalogGetInodeOrError(cur, &res->inode);
				res->parent = res->inode.parent;
				res->name.len = 0;
				return;
			}
			continue;
		}

		if (!found)
		{
			if (!last && soft)
			{
				res->exists = false;
				return;
			}
			if (!last)
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ENOENT),
						 errmsg("directory \"%s\" in path \"%s\" does not exist",
								PgfsNameStr(name), path)));
			res->parent = cur;
			res->name = name;
			res->exists = false;
			return;
		}

		if (!last)
		{
			/* pass through: what next is shows at the next component */
			up = cur;
			cur = next;
			cur_is_dir = false;
			cur_name = name;
			i++;
			continue;
		}

		if (PGFS_IS_LNK(node.mode) && follow)
		{
			if (!FollowLink(path, node.ino, i + 1, &nlinks, &l, &cur))
			{
				/* a link to "/" (or to "" — which cannot be created) */
				res->exists = true;
				CatalogGetInodeOrError(cur, &res->inode);
				res->parent = res->inode.parent;
				res->name.len = 0;
				return;
			}
			i = 0;
			continue;
		}

		res->parent = cur;
		res->name = name;
		res->exists = true;
		res->inode = node;
		if (res->trailing_slash && !PGFS_IS_DIR(node.mode))
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENOTDIR),
					 errmsg("\"%s\" is not a directory", path)));
		return;
	}
}

void
PgfsResolve(const char *path, bool follow, PgfsPath *res)
{
	Resolve(path, follow, false, res);
}

/* as PgfsResolve, but a missing or non-directory component only means "absent" */
void
PgfsResolveSoft(const char *path, bool follow, PgfsPath *res)
{
	Resolve(path, follow, true, res);
}

void
PgfsResolveExisting(const char *path, bool follow, PgfsPath *res)
{
	PgfsResolve(path, follow, res);
	if (!res->exists)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOENT),
				 errmsg("file \"%s\" does not exist", path)));
}
