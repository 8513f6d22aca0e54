/*
 * pgfs_errcodes.h
 *	  The one table that maps pgfs SQLSTATEs to POSIX errno values.
 *
 * Shared by the backend (which raises these codes) and by pgfs-fuse (which
 * turns them back into errno).  It is an X-macro list so both sides expand
 * the same rows: PGFS_ERRCODE(errno_name, sqlstate_string, c1..c5).
 *
 * pgfs SQLSTATEs live in class "PF".  The three digits after the class are
 * the Linux errno number, so a code reads as what it means: PF002 is ENOENT.
 * Each code maps to exactly one errno and back.  A few standard PostgreSQL
 * codes that carry filesystem meaning are listed at the end; everything else
 * a client sees (syntax errors, connection loss, ...) becomes EIO.
 *
 * This header includes nothing and defines no functions: it is safe to
 * include from both frontend and backend code.
 */
#ifndef PGFS_ERRCODES_H
#define PGFS_ERRCODES_H

#define PGFS_ERRCODE_LIST \
	PGFS_ERRCODE(EPERM,        "PF001", 'P','F','0','0','1') \
	PGFS_ERRCODE(ENOENT,       "PF002", 'P','F','0','0','2') \
	PGFS_ERRCODE(ENXIO,        "PF006", 'P','F','0','0','6') \
	PGFS_ERRCODE(E2BIG,        "PF007", 'P','F','0','0','7') \
	PGFS_ERRCODE(EBADF,        "PF009", 'P','F','0','0','9') \
	PGFS_ERRCODE(EACCES,       "PF013", 'P','F','0','1','3') \
	PGFS_ERRCODE(EBUSY,        "PF016", 'P','F','0','1','6') \
	PGFS_ERRCODE(EEXIST,       "PF017", 'P','F','0','1','7') \
	PGFS_ERRCODE(EXDEV,        "PF018", 'P','F','0','1','8') \
	PGFS_ERRCODE(ENOTDIR,      "PF020", 'P','F','0','2','0') \
	PGFS_ERRCODE(EISDIR,       "PF021", 'P','F','0','2','1') \
	PGFS_ERRCODE(EINVAL,       "PF022", 'P','F','0','2','2') \
	PGFS_ERRCODE(EFBIG,        "PF027", 'P','F','0','2','7') \
	PGFS_ERRCODE(ENOSPC,       "PF028", 'P','F','0','2','8') \
	PGFS_ERRCODE(EROFS,        "PF030", 'P','F','0','3','0') \
	PGFS_ERRCODE(EMLINK,       "PF031", 'P','F','0','3','1') \
	PGFS_ERRCODE(ERANGE,       "PF034", 'P','F','0','3','4') \
	PGFS_ERRCODE(ENAMETOOLONG, "PF036", 'P','F','0','3','6') \
	PGFS_ERRCODE(ENOTEMPTY,    "PF039", 'P','F','0','3','9') \
	PGFS_ERRCODE(ELOOP,        "PF040", 'P','F','0','4','0') \
	PGFS_ERRCODE(ENODATA,      "PF061", 'P','F','0','6','1') \
	PGFS_ERRCODE(EOVERFLOW,    "PF075", 'P','F','0','7','5') \
	PGFS_ERRCODE(EOPNOTSUPP,   "PF095", 'P','F','0','9','5') \
	PGFS_ERRCODE(ESTALE,       "PF116", 'P','F','1','1','6')

/*
 * Standard PostgreSQL SQLSTATEs with a fixed errno meaning.  Serialization
 * failures and deadlocks are not here: clients retry them (pgfs-fuse does so
 * internally), they are not filesystem errors.
 */
#define PGFS_STD_ERRCODE_LIST \
	PGFS_ERRCODE(EROFS,        "25006", '2','5','0','0','6') /* read_only_sql_transaction */ \
	PGFS_ERRCODE(EACCES,       "42501", '4','2','5','0','1') /* insufficient_privilege */ \
	PGFS_ERRCODE(ENOSPC,       "53100", '5','3','1','0','0') /* disk_full */ \
	PGFS_ERRCODE(EIO,          "XX001", 'X','X','0','0','1') /* data_corrupted */

/* retryable: the whole operation may be repeated */
#define PGFS_SQLSTATE_SERIALIZATION_FAILURE	"40001"
#define PGFS_SQLSTATE_DEADLOCK_DETECTED		"40P01"

/* rename flags, the Linux renameat2() values */
#define PGFS_RENAME_NOREPLACE	(1 << 0)
#define PGFS_RENAME_EXCHANGE	(1 << 1)
#define PGFS_RENAME_WHITEOUT	(1 << 2)

/* fallocate modes pgfs knows, the Linux values */
#define PGFS_FALLOC_KEEP_SIZE	0x01
#define PGFS_FALLOC_PUNCH_HOLE	0x02
#define PGFS_FALLOC_ZERO_RANGE	0x10

/* lseek whence values pgfs_ll_seek takes, the Linux values */
#define PGFS_SEEK_DATA			3
#define PGFS_SEEK_HOLE			4

/* setxattr flags, the Linux values */
#define PGFS_XATTR_CREATE		1
#define PGFS_XATTR_REPLACE		2
/*
 * and one of pgfs's: setting system.posix_acl_access also clears the
 * set-group-ID bit, for a caller outside the file's group (what Linux's
 * FUSE_SETXATTR_ACL_KILL_SGID says; pgfs-fuse decides it, fuse/ops.c)
 */
#define PGFS_XATTR_ACL_KILL_SGID	4

/* access time rules of pgfs_ll_open_read: noatime, relatime, strictatime */
#define PGFS_ATIME_NONE			0
#define PGFS_ATIME_RELATIME		1
#define PGFS_ATIME_STRICT		2

/* limits shared with clients */
#define PGFS_NAME_MAX			255
#define PGFS_PATH_MAX			4096	/* including the terminating NUL */
/* largest file: 1 PiB, far above ext4's 16 TiB, and offset + length never overflows int64 */
#define PGFS_FILE_SIZE_MAX		(1LL << 50)
#define PGFS_XATTR_NAME_MAX		255
#define PGFS_XATTR_SIZE_MAX		65536
/* the names of a file's extended attributes, each with its NUL: what one
 * listxattr(2) can return (Linux's XATTR_LIST_MAX) */
#define PGFS_XATTR_LIST_MAX		65536
#define PGFS_LINK_MAX			65000

/* readdir cookies 1 and 2 are "." and ".."; stored cookies start at 3 */
#define PGFS_FIRST_COOKIE		3

#endif							/* PGFS_ERRCODES_H */
