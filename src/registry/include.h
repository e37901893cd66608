/* The `include:` semantics of registry files, one implementation for both
 * readers of a file: full configs (config.c: YAML trees, for `show`,
 * `validate` and runs) and the index (index_scan.c: a few top-level keys
 * read with libyaml's event API, for `list`). Private to src/registry/.
 *
 * As in lm-evaluation-harness: `include:` is a path or a list of paths,
 * relative to the directory of the including file (an absolute path is
 * taken as it is); the included files are merged in order (a later include
 * wins over an earlier one), then the including file's own keys win; the
 * merge is of top-level keys only and `include` itself is never merged. A
 * cycle is an error that shows the chain from the file that starts it;
 * chains nest at most LLE_REG_MAX_INCLUDE_DEPTH files. Errors point at the
 * include value (type, depth) or at the item (cycle, missing file).
 *
 * The walk is here; what a file's keys are, how they are read and merged,
 * and whether a resolved file is kept for the next one that includes it are
 * the caller's (struct lle_inc_ops). */
#ifndef LLE_REGISTRY_INCLUDE_H
#define LLE_REGISTRY_INCLUDE_H

#include <stddef.h>

#include "util/err.h"

/* One path of an include: value. */
struct lle_inc_item {
	const char *path;     /* as written */
	unsigned line, col;   /* of the item */
};

/* A file's include: value, as its reader found it. */
struct lle_inc_val {
	int present;          /* the file has an include: key */
	int bad;              /* it is not a path or a list of paths: at bad_line:bad_col */
	unsigned bad_line, bad_col;
	unsigned line, col;   /* of the value */
	const struct lle_inc_item *items; /* valid until the next call of an op */
	size_t n;
};

/* What read, lookup and lle_inc_resolve return. */
enum {
	LLE_INC_OK = 0,
	LLE_INC_BROKEN = -1,  /* the file's message is in err */
	LLE_INC_NOMEM = -2,
	LLE_INC_NOFILE = -3,  /* it cannot be opened: err->msg is strerror()'s text alone */
};

struct lle_inc_ops {
	void *ctx;
	/* A broken include is reported inside the including file's message
	 * ("a.yaml:1:10: in included 'b.yaml': ...") rather than as the included
	 * file's own: the index notes each file's problem on that file; a full
	 * load names the place that is wrong. */
	int wrap_broken;
	/* Read the file's own keys into a new unit *unit and its include: value
	 * into *inc. Returns LLE_INC_*; *unit may be set whatever it returns,
	 * and is then handed to finish. */
	int (*read)(void *ctx, const char *path, void **unit, struct lle_inc_val *inc, struct lle_err *err);
	/* Optional: a file resolved before (the index resolves each file once a
	 * build): LLE_INC_OK with *unit, LLE_INC_BROKEN or LLE_INC_NOFILE with
	 * err as read gives it, or 1 when it is new. */
	int (*lookup)(void *ctx, const char *path, void **unit, struct lle_err *err);
	/* The unit includes path, resolved to sub (the value finish returned):
	 * ok, its keys win over those of the includes before it; !ok, it is
	 * broken, absent or in a cycle (sub may be NULL): the unit will be
	 * broken. 0, or -1 out of memory. */
	int (*include)(void *ctx, void *unit, const char *path, void *sub, int ok);
	/* The unit's includes are done. err NULL: its own keys win over what
	 * they gave; else it is broken with err's message. Returns the resolved
	 * unit (what include and lle_inc_resolve hand on). */
	void *(*finish)(void *ctx, void *unit, const struct lle_err *err);
};

/* Resolve the file at path with its includes; shown is its name in a cycle's
 * chain (path when NULL). Returns finish()'s result, with *rc LLE_INC_OK,
 * LLE_INC_BROKEN (err: its message; LLE_INC_NOFILE is reported as broken
 * here) or LLE_INC_NOMEM. */
void *lle_inc_resolve(const struct lle_inc_ops *ops, const char *path, const char *shown, int *rc,
		      struct lle_err *err);

#endif
