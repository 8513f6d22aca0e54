# pgfs: PostgreSQL extension (PGXS) + pgfs-fuse daemon (fuse/)

EXTENSION = pgfs
MODULE_big = pgfs
OBJS = \
	src/pgfs.o \
	src/errors.o \
	src/spi.o \
	src/path.o \
	src/catalog.o \
	src/rowwrite.o \
	src/chunkstore.o \
	src/compress.o \
	src/namespace.o \
	src/acl.o \
	src/funcs_path.o \
	src/funcs_ll.o \
	src/funcs_open.o \
	src/tree.o \
	src/policy.o \
	src/lock.o \
	src/fsck.o
DATA = pgfs--1.0.sql pgfs--1.0--1.1.sql pgfs--1.1--1.2.sql pgfs--1.2--1.3.sql pgfs--1.3--1.4.sql pgfs--1.4--1.5.sql pgfs--1.5--1.6.sql
PGFILEDESC = "pgfs - a POSIX filesystem stored in PostgreSQL"

PG_CPPFLAGS = -I$(srcdir)/include -Wextra -Wno-unused-parameter \
	-Wno-missing-field-initializers -Wno-sign-compare
ifdef WERROR
PG_CPPFLAGS += -Werror
endif
SHLIB_LINK = -llz4

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=pgfs
ISOLATION = $(patsubst specs/%.spec,%,$(sort $(wildcard specs/*.spec)))
ISOLATION_OPTS = --load-extension=pgfs

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# every object depends on the shared headers (PGXS tracks no dependencies
# unless the server was configured with --enable-depend)
$(OBJS): src/pgfs.h include/pgfs_errcodes.h

# the daemon and its mount helper
all: fuse-all
fuse-all:
	$(MAKE) -C fuse PG_CONFIG=$(PG_CONFIG)
install: fuse-install
fuse-install:
	$(MAKE) -C fuse install PG_CONFIG=$(PG_CONFIG)
clean: fuse-clean
fuse-clean:
	$(MAKE) -C fuse clean

.PHONY: fuse-all fuse-install fuse-clean

# the mount suite against an AddressSanitizer/UBSan build of the daemon
sanitize-check:
	bash scripts/test.sh --no-apt --no-build sanitize

.PHONY: fuse-all fuse-install fuse-clean sanitize-check
