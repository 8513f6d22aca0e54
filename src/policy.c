/*-------------------------------------------------------------------------
 *
 * policy.c
 *	  Per-role subtrees: a role with a policy sees and changes only its own
 *	  part of the tree, through SQL and through a mount alike.
 *
 * pgfs.policy maps a role to the directory it is confined to, read-only or
 * writable.  The calling role is the one outside the SECURITY DEFINER switch
 * (GetOuterUserId: the session user or whatever SET ROLE chose); membership
 * counts, superusers are never confined, and roles without a policy are not
 * confined at all, so the feature costs nothing until it is used.
 *
 * A confined role may:
 *	- read, list and change anything at or below its directory (changes only
 *	  if writable; its directory itself cannot be renamed or removed, since
 *	  its name lives in the parent);
 *	- look up and stat the ancestors of its directory, and nothing else
 *	  outside it, so that paths (and a mount's lookups) can reach it.
 * Everything else is EACCES.  A file counts as inside when one of its names
 * is.  The policy is cached per backend and dropped by relcache invalidation
 * of pgfs.policy or any change of role membership.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "funcapi.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "pgfs.h"

static bool cache_valid = false;
static bool callbacks_registered = false;
static Oid	cached_role = InvalidOid;
static Oid	policy_relid = InvalidOid;
static bool confined = false;
static int64 jail_root = 0;
static bool jail_writable = false;

static PgfsPlan load_plan = {
	"SELECT p.root, p.writable FROM pgfs.policy p JOIN pg_catalog.pg_roles r ON r.rolname = p.role_name"
	" WHERE pg_catalog.pg_has_role($1, r.oid, 'MEMBER')"
	" ORDER BY p.role_name LIMIT 1",
	1, {OIDOID}
};
static PgfsPlan names_plan = {
	"SELECT parent FROM pgfs.dirent WHERE ino = $1", 1, {INT8OID}
};

static void
Invalidate(Datum arg, Oid relid)
{
	if (relid == InvalidOid || relid == policy_relid)
		cache_valid = false;
}

static void
InvalidateRoles(Datum arg, int cacheid, uint32 hashvalue)
{
	cache_valid = false;
}

static void
Load(void)
{
	Oid			role = GetOuterUserId();
	Datum		v[1];

	if (cache_valid && role == cached_role)
		return;
	if (!callbacks_registered)
	{
		CacheRegisterRelcacheCallback(Invalidate, (Datum) 0);
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, InvalidateRoles, (Datum) 0);
		callbacks_registered = true;
	}
	policy_relid = get_relname_relid("policy", get_namespace_oid("pgfs", false));
	confined = false;
	if (!superuser_arg(role))
	{
		v[0] = ObjectIdGetDatum(role);
		if (PgfsExec(&load_plan, v, NULL) == 1)
		{
			bool		isnull;

			confined = true;
			jail_root = PgfsGetInt64(0, 1);
			jail_writable = DatumGetBool(PgfsGetDatum(0, 2, &isnull));
		}
		SPI_freetuptable(SPI_tuptable);
	}
	cached_role = role;
	cache_valid = true;
}

/* is directory dir the jail root or below it? */
static bool
DirInside(int64 dir)
{
	return NsIsAncestor(jail_root, dir);
}

/* is directory ino an ancestor of the jail root? */
static bool
DirAbove(int64 ino)
{
	return NsIsAncestor(ino, jail_root);
}

static bool
InodeInside(const PgfsInode *node)
{
	Datum		v[1] = {Int64GetDatum(node->ino)};
	int			rows;
	int64	   *parents;
	bool		inside = false;

	if (PGFS_IS_DIR(node->mode))
		return DirInside(node->ino);
	rows = PgfsExec(&names_plan, v, NULL);
	parents = palloc(sizeof(int64) * Max(rows, 1));
	for (int r = 0; r < rows; r++)
		parents[r] = PgfsGetInt64(r, 1);
	SPI_freetuptable(SPI_tuptable);
	for (int r = 0; r < rows && !inside; r++)
		inside = DirInside(parents[r]);
	pfree(parents);
	return inside;
}

static void
Deny(const char *label, bool write)
{
	ereport(ERROR,
			(errcode(PGFS_SQLSTATE_EACCES),
			 errmsg("permission denied for \"%s\"", label),
			 errdetail(write && jail_writable ? "Role \"%s\" may change only what lies below its directory."
					   : write ? "Role \"%s\" may only read its directory."
					   : "Role \"%s\" may see only its directory.",
					   GetUserNameFromId(GetOuterUserId(), false))));
}

/* the caller may change the entries of directory dir (create, remove, rename) */
void
PolicyCheckDir(int64 dir, bool write, const char *label)
{
	Load();
	if (!confined)
		return;
	if ((write && !jail_writable) || !DirInside(dir))
		Deny(label, write);
}

/* the caller may read (or, with write, change) inode node */
void
PolicyCheckInode(const PgfsInode *node, bool write, const char *label)
{
	Load();
	if (!confined)
		return;
	if ((write && !jail_writable) || !InodeInside(node))
		Deny(label, write);
}

/* the caller may see the attributes of node: inside, or on the way in */
void
PolicyCheckVisible(const PgfsInode *node, const char *label)
{
	Load();
	if (!confined)
		return;
	if (PGFS_IS_DIR(node->mode) && DirAbove(node->ino))
		return;
	if (!InodeInside(node))
		Deny(label, false);
}

/*
 * May the caller read node's extended attributes?  What a confined role
 * sees outside its directory, the directories on the way in, it may stat
 * but not read (PolicyCheckInode): then even how many it has stays hidden.
 */
bool
PolicyMayRead(const PgfsInode *node)
{
	Load();
	if (!confined)
		return true;
	/* a file outside is never visible, so one the caller got is inside */
	return !PGFS_IS_DIR(node->mode) || DirInside(node->ino);
}

/* lookup of a name in parent that found node (or nothing, node NULL) */
void
PolicyCheckLookup(int64 parent, const PgfsInode *node, const char *label)
{
	Load();
	if (!confined)
		return;
	if (DirInside(parent))
		return;
	/* outside: only the path down to the jail can be looked up */
	if (node == NULL || !PGFS_IS_DIR(node->mode) || !DirAbove(node->ino))
		Deny(label, false);
}

/* can the caller see node at all (as pgfs_exists must not reveal more) */
bool
PolicyVisible(const PgfsInode *node)
{
	Load();
	if (!confined)
		return true;
	if (PGFS_IS_DIR(node->mode) && DirAbove(node->ino))
		return true;
	return InodeInside(node);
}

/* ---- administration ---- */

static PgfsPlan set_plan = {
	"INSERT INTO pgfs.policy (role_name, root, writable) VALUES ($1, $2, $3)"
	" ON CONFLICT (role_name) DO UPDATE SET root = EXCLUDED.root, writable = EXCLUDED.writable",
	3, {NAMEOID, INT8OID, BOOLOID}
};
static PgfsPlan drop_plan = {
	"DELETE FROM pgfs.policy WHERE role_name = $1", 1, {NAMEOID}
};
static PgfsPlan list_plan = {
	"SELECT role_name, root, writable FROM pgfs.policy ORDER BY role_name", 0, {InvalidOid}
};

/* every backend reloads its cached policy when this transaction commits */
static void
PolicyChanged(void)
{
	CacheInvalidateRelcacheByRelid(get_relname_relid("policy", get_namespace_oid("pgfs", false)));
}

PG_FUNCTION_INFO_V1(pgfs_policy_set);
Datum
pgfs_policy_set(PG_FUNCTION_ARGS)
{
	Name		role = PG_GETARG_NAME(0);
	char	   *path = text_to_cstring(PG_GETARG_TEXT_PP(1));
	bool		writable = PG_GETARG_BOOL(2);
	PgfsPath	p;
	Datum		v[3];

	if (!OidIsValid(get_role_oid(NameStr(*role), true)))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("role \"%s\" does not exist", NameStr(*role))));
	PgfsSpiBegin(false);
	PgfsResolveExisting(path, true, &p);
	if (!PGFS_IS_DIR(p.inode.mode))
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_ENOTDIR),
				 errmsg("\"%s\" is not a directory", path)));
	v[0] = NameGetDatum(role);
	v[1] = Int64GetDatum(p.inode.ino);
	v[2] = BoolGetDatum(writable);
	PgfsExec(&set_plan, v, NULL);
	PolicyChanged();
	PgfsSpiEnd();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(pgfs_policy_drop);
Datum
pgfs_policy_drop(PG_FUNCTION_ARGS)
{
	Datum		v[1] = {PG_GETARG_DATUM(0)};
	bool		found;

	PgfsSpiBegin(false);
	found = PgfsExec(&drop_plan, v, NULL) > 0;
	PolicyChanged();
	PgfsSpiEnd();
	PG_RETURN_BOOL(found);
}

PG_FUNCTION_INFO_V1(pgfs_policies);
Datum
pgfs_policies(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			rows;

	InitMaterializedSRF(fcinfo, 0);
	PgfsSpiBegin(true);
	rows = PgfsExec(&list_plan, NULL, NULL);
	for (int r = 0; r < rows; r++)
	{
		Datum		values[3];
		bool		nulls[3];

		for (int c = 0; c < 3; c++)
			values[c] = PgfsGetDatum(r, c + 1, &nulls[c]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	PgfsSpiEnd();
	return (Datum) 0;
}
