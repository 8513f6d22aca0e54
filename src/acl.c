/*-------------------------------------------------------------------------
 *
 * acl.c
 *	  POSIX access control lists, kept as Linux keeps them on a disk
 *	  filesystem.
 *
 * An ACL is the extended attribute system.posix_acl_access (a file's) or
 * system.posix_acl_default (a directory's, inherited by what is created
 * in it), in the format the Linux kernel hands to filesystems
 * (<linux/posix_acl_xattr.h>): a little-endian 32-bit version (2), then
 * entries of tag (16 bits), permissions (16 bits) and id (32 bits).  The
 * kernel checks permissions against them (pgfs-fuse asks it to, see
 * fuse/ops.c); what a filesystem must do itself, and what this file does
 * for every client, SQL included, is keep them and the mode consistent:
 *
 *	- setting an access ACL sets the mode's permission bits from it (the
 *	  group bits from the mask entry, if there is one); an ACL that says no
 *	  more than a mode is not kept, only the mode (posix_acl_update_mode);
 *	- chmod sets the ACL's owner, mask (or owning group) and other entries
 *	  from the new mode (posix_acl_chmod);
 *	- a file or directory made in a directory with a default ACL gets that
 *	  ACL as its access ACL, narrowed by the mode asked for, and no umask;
 *	  a directory also gets it as its own default ACL (posix_acl_create).
 *	  Without one, the creator's umask applies.
 *
 * These are the kernel's rules, function for function (fs/posix_acl.c),
 * so that the mount and ext4 agree; the callers are in namespace.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "pgfs.h"

#define ACL_XATTR_VERSION	0x0002

#define ACL_USER_OBJ	0x01
#define ACL_USER		0x02
#define ACL_GROUP_OBJ	0x04
#define ACL_GROUP		0x08
#define ACL_MASK		0x10
#define ACL_OTHER		0x20

#define ACL_PERMS		07

#define ACL_ACCESS_NAME		"system.posix_acl_access"
#define ACL_DEFAULT_NAME	"system.posix_acl_default"

static uint32
get_le32(const unsigned char *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) | ((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

static void
put_le32(unsigned char *p, uint32 v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

PgfsAclType
PgfsAclNameType(PgfsName name)
{
	if (name.len == strlen(ACL_ACCESS_NAME) && memcmp(name.data, ACL_ACCESS_NAME, name.len) == 0)
		return PGFS_ACL_ACCESS;
	if (name.len == strlen(ACL_DEFAULT_NAME) && memcmp(name.data, ACL_DEFAULT_NAME, name.len) == 0)
		return PGFS_ACL_DEFAULT;
	return PGFS_ACL_NONE;
}

PgfsName
PgfsAclName(PgfsAclType type)
{
	PgfsName	n;

	n.data = type == PGFS_ACL_ACCESS ? ACL_ACCESS_NAME : ACL_DEFAULT_NAME;
	n.len = strlen(n.data);
	return n;
}

/*
 * Decode and check an ACL (posix_acl_from_xattr, then posix_acl_valid).
 * NULL for one with no entries, which removes the ACL, as in Linux.
 */
PgfsAcl *
PgfsAclParse(bytea *value, const char *label)
{
	const unsigned char *p = (const unsigned char *) VARDATA_ANY(value);
	int			len = VARSIZE_ANY_EXHDR(value);
	int			count;
	int			state = ACL_USER_OBJ;
	bool		needs_mask = false;
	PgfsAcl    *acl;

	if (len < 4 || (len - 4) % 8 != 0 || get_le32(p) != ACL_XATTR_VERSION)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid access control list for \"%s\"", label),
				 errdetail("An ACL is a 4-byte version (2) and 8-byte entries, little-endian, "
						   "as in <linux/posix_acl_xattr.h>.")));
	count = (len - 4) / 8;
	if (count == 0)
		return NULL;
	acl = palloc(offsetof(PgfsAcl, e) + sizeof(PgfsAclEntry) * count);
	acl->count = count;
	for (int i = 0; i < count; i++)
	{
		const unsigned char *q = p + 4 + 8 * i;
		PgfsAclEntry *e = &acl->e[i];
		bool		ok;

		e->tag = q[0] | (q[1] << 8);
		e->perm = q[2] | (q[3] << 8);
		e->id = get_le32(q + 4);
		ok = (e->perm & ~ACL_PERMS) == 0;
		switch (e->tag)
		{
			case ACL_USER_OBJ:
				ok = ok && state == ACL_USER_OBJ;
				state = ACL_USER;
				break;
			case ACL_USER:
				ok = ok && state == ACL_USER && e->id != PG_UINT32_MAX;
				needs_mask = true;
				break;
			case ACL_GROUP_OBJ:
				ok = ok && state == ACL_USER;
				state = ACL_GROUP;
				break;
			case ACL_GROUP:
				ok = ok && state == ACL_GROUP && e->id != PG_UINT32_MAX;
				needs_mask = true;
				break;
			case ACL_MASK:
				ok = ok && state == ACL_GROUP;
				state = ACL_OTHER;
				break;
			case ACL_OTHER:
				ok = ok && (state == ACL_OTHER || (state == ACL_GROUP && !needs_mask));
				state = 0;
				break;
			default:
				ok = false;
		}
		if (!ok)
			ereport(ERROR,
					(errcode(PGFS_SQLSTATE_EINVAL),
					 errmsg("invalid access control list for \"%s\"", label),
					 errdetail("Entry %d (tag 0x%x, permissions %o) is out of place or invalid.",
							   i + 1, e->tag, e->perm),
					 errhint("An ACL has the owner, named users, the owning group, named groups, "
							 "a mask (required with named entries) and others, in that order.")));
	}
	if (state != 0)
		ereport(ERROR,
				(errcode(PGFS_SQLSTATE_EINVAL),
				 errmsg("invalid access control list for \"%s\"", label),
				 errdetail("It has no entry for others.")));
	return acl;
}

bytea *
PgfsAclEncode(const PgfsAcl *acl)
{
	int			len = 4 + 8 * acl->count;
	bytea	   *b = palloc(VARHDRSZ + len);
	unsigned char *p = (unsigned char *) VARDATA(b);

	SET_VARSIZE(b, VARHDRSZ + len);
	put_le32(p, ACL_XATTR_VERSION);
	for (int i = 0; i < acl->count; i++)
	{
		unsigned char *q = p + 4 + 8 * i;

		q[0] = acl->e[i].tag;
		q[1] = acl->e[i].tag >> 8;
		q[2] = acl->e[i].perm;
		q[3] = acl->e[i].perm >> 8;
		put_le32(q + 4, acl->e[i].id);
	}
	return b;
}

/*
 * The permission bits acl stands for, into *mode; false when the ACL says
 * no more than they do (posix_acl_equiv_mode).
 */
bool
PgfsAclToMode(const PgfsAcl *acl, int32 *mode)
{
	int32		m = 0;
	bool		extended = false;

	for (int i = 0; i < acl->count; i++)
	{
		const PgfsAclEntry *e = &acl->e[i];

		switch (e->tag)
		{
			case ACL_USER_OBJ:
				m |= (e->perm & ACL_PERMS) << 6;
				break;
			case ACL_GROUP_OBJ:
				m |= (e->perm & ACL_PERMS) << 3;
				break;
			case ACL_OTHER:
				m |= e->perm & ACL_PERMS;
				break;
			case ACL_MASK:
				m = (m & ~S_IRWXG) | ((e->perm & ACL_PERMS) << 3);
				extended = true;
				break;
			default:
				extended = true;
		}
	}
	*mode = (*mode & ~(S_IRWXU | S_IRWXG | S_IRWXO)) | m;
	return extended;
}

/* The ACL's owner, mask (or owning group) and others from mode (posix_acl_chmod). */
void
PgfsAclChmod(PgfsAcl *acl, int32 mode)
{
	PgfsAclEntry *group_obj = NULL,
			   *mask = NULL;

	for (int i = 0; i < acl->count; i++)
	{
		PgfsAclEntry *e = &acl->e[i];

		if (e->tag == ACL_USER_OBJ)
			e->perm = (mode & S_IRWXU) >> 6;
		else if (e->tag == ACL_GROUP_OBJ)
			group_obj = e;
		else if (e->tag == ACL_MASK)
			mask = e;
		else if (e->tag == ACL_OTHER)
			e->perm = mode & S_IRWXO;
	}
	if (mask)
		mask->perm = (mode & S_IRWXG) >> 3;
	else if (group_obj)
		group_obj->perm = (mode & S_IRWXG) >> 3;
}

/*
 * A new node's access ACL from its directory's default ACL, narrowed by
 * the mode asked for, which is narrowed by it in turn (posix_acl_create_masq).
 * acl is changed in place; false when the result says no more than the mode.
 */
bool
PgfsAclCreateMasq(PgfsAcl *acl, int32 *mode)
{
	PgfsAclEntry *group_obj = NULL,
			   *mask = NULL;
	int32		m = *mode;
	bool		extended = false;

	for (int i = 0; i < acl->count; i++)
	{
		PgfsAclEntry *e = &acl->e[i];

		switch (e->tag)
		{
			case ACL_USER_OBJ:
				e->perm &= (m >> 6) | ~ACL_PERMS;
				m &= (e->perm << 6) | ~S_IRWXU;
				break;
			case ACL_GROUP_OBJ:
				group_obj = e;
				break;
			case ACL_OTHER:
				e->perm &= m | ~ACL_PERMS;
				m &= e->perm | ~S_IRWXO;
				break;
			case ACL_MASK:
				mask = e;
				extended = true;
				break;
			default:
				extended = true;
		}
	}
	if (mask == NULL)
		mask = group_obj;
	if (mask != NULL)
	{
		mask->perm &= (m >> 3) | ~ACL_PERMS;
		m &= (mask->perm << 3) | ~S_IRWXG;
	}
	*mode = (*mode & ~(S_IRWXU | S_IRWXG | S_IRWXO)) | (m & (S_IRWXU | S_IRWXG | S_IRWXO));
	return extended;
}
