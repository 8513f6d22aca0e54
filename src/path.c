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

static void
Walk(const char *path, bool follow, bool soft, NameList *lp, PgfsPath *res)
{
	NameList	l = *lp;
	int64		cur = PGFS_ROOT_INO;
	int			nlinks = 0;
	int			i = 0;

	while (i < l.n)
	{
		PgfsName	name = l.names[i];
		bool		last = (i == l.n - 1);
		PgfsInode	node;

		CHECK_FOR_INTERRUPTS();
		if (IsDot(name) || IsDotDot(name))
		{
			/* only symbolic link targets get here */
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

		if (!CatalogLookup(cur, name, &node))
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

		if (PGFS_IS_LNK(node.mode) && (!last || follow))
		{
			bytea	   *target = CatalogGetTarget(node.ino);
			int			tlen = VARSIZE_ANY_EXHDR(target);
			NameList	t;
			PgfsName   *merged;
			int			rest = l.n - i - 1;

			if (++nlinks > PGFS_MAX_SYMLINKS)
				ereport(ERROR,
						(errcode(PGFS_SQLSTATE_ELOOP),
						 errmsg("too many levels of symbolic links in path \"%s\"", path)));
			t = SplitPath(VARDATA_ANY(target), tlen);
			if (tlen > 0 && VARDATA_ANY(target)[0] == '/')
				cur = PGFS_ROOT_INO;
			if (t.n == 0 && rest == 0)
			{
				/* a link to "/" (or to "" — which cannot be created) */
				res->exists = true;
				CatalogGetInodeOrError(cur, &res->inode);
				res->parent = res->inode.parent;
				res->name.len = 0;
				return;
			}
			merged = palloc(sizeof(PgfsName) * (t.n + rest));
			memcpy(merged, t.names, sizeof(PgfsName) * t.n);
			memcpy(merged + t.n, l.names + i + 1, sizeof(PgfsName) * rest);
			l.names = merged;
			l.n = t.n + rest;
			i = 0;
			continue;
		}

		if (last)
		{
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
		if (!PGFS_IS_DIR(node.mode) && soft)
		{
			res->exists = false;
			return;
		}
		if (!PGFS_IS_DIR(node.mode))
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_ENOTDIR),
					 errmsg("\"%s\" in path \"%s\" is not a directory",
							PgfsNameStr(name), path)));
		cur = node.ino;
		i++;
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
