/* The walk over a registry file's `include:` chain (include.h has the
 * semantics): path resolution relative to the including file, cycle
 * detection with the chain in the message, the depth limit, the order in
 * which keys win, and the messages of a bad include. Used by config.c (full
 * trees) and index_scan.c (the index's keys), which supply reading and
 * merging through struct lle_inc_ops.
 *
 * Not here: reading a file, what its keys are, keeping resolved files. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "registry/include.h"
#include "registry/index_int.h"
#include "registry/msg.h"
#include "registry/registry.h"

/* A file being resolved, with the files that include it above. */
struct frame {
	const struct frame *up;
	const char *abs;   /* normalised absolute path: the cycle check */
	const char *shown; /* its name in a cycle's chain */
};

/* Lexically normalise a path ("a/./b/../c" -> "a/c") in place. */
void lle_reg_normalise(char *p)
{
	char *src = p, *dst = p;
	int abs = *p == '/';
	if (abs)
		src++, dst++;
	char *base = dst;
	while (*src) {
		char *end = strchr(src, '/');
		size_t n = end ? (size_t)(end - src) : strlen(src);
		if (n == 0 || (n == 1 && src[0] == '.')) {
			/* skip */
		} else if (n == 2 && src[0] == '.' && src[1] == '.' && abs && dst == base) {
			/* "/.." is "/" */
		} else if (n == 2 && src[0] == '.' && src[1] == '.' && dst > base &&
			   !(dst - base >= 2 && dst[-1] == '.' && dst[-2] == '.' &&
			     (dst - base == 2 || dst[-3] == '/'))) {
			/* drop the last component */
			dst--;
			while (dst > base && dst[-1] != '/')
				dst--;
		} else {
			if (dst != base && dst[-1] != '/')
				*dst++ = '/';
			memmove(dst, src, n);
			dst += n;
		}
		src += n;
		if (*src == '/')
			src++;
	}
	if (dst > base && dst[-1] == '/')
		dst--;
	*dst = '\0';
	if (!*p)
		strcpy(p, ".");
}

/* path, absolute and normalised, into out; -1 when it does not fit or the
 * working directory is unknown. */
static int absolute(const char *path, char *out, size_t n)
{
	size_t k = 0;
	if (path[0] != '/') {
		if (!getcwd(out, n))
			return -1;
		k = strlen(out);
		if (k + 1 >= n)
			return -1;
		out[k++] = '/';
	}
	size_t len = strlen(path);
	if (k + len >= n)
		return -1;
	memcpy(out + k, path, len + 1);
	/* Most paths are normal already (the index joins its root, normalised,
	 * with the names the walk found): one look instead of a rewrite. */
	int normal = k == 0 && len > 1 && path[len - 1] != '/';
	for (const char *q = path; normal && (q = strchr(q, '/')) != NULL; q++)
		if (q[1] == '/' || (q[1] == '.' && (q[2] == '/' || !q[2] || (q[2] == '.' && (q[3] == '/' || !q[3])))))
			normal = 0;
	if (!normal)
		lle_reg_normalise(out);
	return 0;
}

/* The directory of the including file joined with an include's path,
 * normalised, into out; -1 when it does not fit. */
static int join(const char *from, const char *inc, char *out, size_t n)
{
	int w;
	const char *slash = strrchr(from, '/');
	if (inc[0] == '/')
		w = snprintf(out, n, "%s", inc);
	else if (!slash)
		w = snprintf(out, n, "%s", inc);
	else if (slash == from)
		w = snprintf(out, n, "/%s", inc);
	else
		w = snprintf(out, n, "%.*s/%s", (int)(slash - from), from, inc);
	if (w < 0 || (size_t)w >= n)
		return -1;
	lle_reg_normalise(out);
	return 0;
}

/* The cycle message: the chain from the file that starts the cycle (c) down
 * to the current one (me), then the include that closes it. */
static void cycle_error(const struct frame *me, const struct frame *c, const char *path,
			const struct lle_inc_item *it, const char *ipath, struct lle_err *err)
{
	const char *names[LLE_REG_MAX_INCLUDE_DEPTH + 2];
	size_t k = 0;
	for (const struct frame *d = me; d && k < LLE_REG_MAX_INCLUDE_DEPTH + 1; d = d->up) {
		names[k++] = d->shown;
		if (d == c)
			break;
	}
	char chain[900];
	size_t o = 0;
	chain[0] = '\0';
	while (k > 0 && o < sizeof(chain)) {
		int w = snprintf(chain + o, sizeof(chain) - o, "%s -> ", names[--k]);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (o < sizeof(chain))
		snprintf(chain + o, sizeof(chain) - o, "%s", ipath);
	lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_CYCLE, path, it->line, it->col, chain);
}

/* The items of an include: value, copied (the ops may move what the reader
 * pointed at): one allocation, the strings after the array. */
static struct lle_inc_item *copy_items(const struct lle_inc_val *inc)
{
	size_t bytes = inc->n * sizeof(struct lle_inc_item);
	for (size_t i = 0; i < inc->n; i++)
		bytes += strlen(inc->items[i].path) + 1;
	struct lle_inc_item *it = malloc(bytes ? bytes : 1);
	if (!it)
		return NULL;
	char *s = (char *)(it + inc->n);
	for (size_t i = 0; i < inc->n; i++) {
		size_t len = strlen(inc->items[i].path) + 1;
		memcpy(s, inc->items[i].path, len);
		it[i] = inc->items[i];
		it[i].path = s;
		s += len;
	}
	return it;
}

/* Scratch of one file's walk over its includes (on the heap: chains nest 32
 * deep, and the index may build in a thread). */
struct scratch {
	char ipath[PATH_MAX];
	char iabs[PATH_MAX];
	char why[256];
	struct lle_err sub;
};

/* Resolve path (me is its frame). *rc as lle_inc_resolve, or LLE_INC_NOFILE
 * with why (strerror's text) when the file cannot be opened. */
static void *walk(const struct lle_inc_ops *ops, const char *path, const struct frame *me, int depth, int *rc,
		  char *why, size_t nwhy, struct lle_err *err)
{
	void *unit = NULL;
	int r = 1;
	if (ops->lookup && (r = ops->lookup(ops->ctx, path, &unit, err)) != 1) {
		/* resolved before: unit is finished already */
		if (r == LLE_INC_NOFILE) {
			snprintf(why, nwhy, "%.200s", err->msg);
			lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_CANNOT_OPEN, path, why);
		}
		*rc = r;
		return unit;
	}
	{
		struct lle_inc_val inc;
		memset(&inc, 0, sizeof(inc));
		r = ops->read(ops->ctx, path, &unit, &inc, err);
		if (r == LLE_INC_OK) {
			if (!inc.present) {
				*rc = LLE_INC_OK;
				return ops->finish(ops->ctx, unit, NULL);
			}
			if (inc.bad) {
				lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_TYPE, path, inc.bad_line, inc.bad_col);
				r = LLE_INC_BROKEN;
			} else if (depth >= LLE_REG_MAX_INCLUDE_DEPTH) {
				lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_DEPTH, path, inc.line, inc.col,
					    LLE_REG_MAX_INCLUDE_DEPTH);
				r = LLE_INC_BROKEN;
			} else {
				struct lle_inc_item *items = copy_items(&inc);
				struct scratch *S = malloc(sizeof(*S));
				r = items && S ? LLE_INC_OK : LLE_INC_NOMEM;
				for (size_t i = 0; r == LLE_INC_OK && i < inc.n; i++) {
					const struct lle_inc_item *it = &items[i];
					if (join(path, it->path, S->ipath, sizeof(S->ipath)) < 0 ||
					    absolute(S->ipath, S->iabs, sizeof(S->iabs)) < 0) {
						lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_MISSING, path, it->line,
							    it->col, it->path, strerror(ENAMETOOLONG));
						r = LLE_INC_BROKEN;
						break;
					}
					const struct frame *c = me;
					while (c && strcmp(c->abs, S->iabs) != 0)
						c = c->up;
					if (c) {
						cycle_error(me, c, path, it, S->ipath, err);
						r = ops->include(ops->ctx, unit, S->ipath, NULL, 0) < 0 ? LLE_INC_NOMEM
											       : LLE_INC_BROKEN;
						break;
					}
					struct frame f = { me, S->iabs, S->ipath };
					int subrc;
					void *sub = walk(ops, S->ipath, &f, depth + 1, &subrc, S->why, sizeof(S->why), &S->sub);
					if (subrc == LLE_INC_NOMEM ||
					    ops->include(ops->ctx, unit, S->ipath, sub, subrc == LLE_INC_OK) < 0) {
						r = LLE_INC_NOMEM;
						break;
					}
					if (subrc == LLE_INC_NOFILE) {
						lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_MISSING, path, it->line,
							    it->col, it->path, S->why);
						r = LLE_INC_BROKEN;
					} else if (subrc != LLE_INC_OK && ops->wrap_broken) {
						lle_err_set(err, S->sub.code, LLE_MSG_IN_INCLUDE, path, it->line, it->col,
							    it->path, S->sub.msg);
						r = LLE_INC_BROKEN;
					} else if (subrc != LLE_INC_OK) {
						*err = S->sub;
						r = LLE_INC_BROKEN;
					}
				}
				free(items);
				free(S);
				if (r == LLE_INC_OK) {
					*rc = LLE_INC_OK;
					return ops->finish(ops->ctx, unit, NULL);
				}
			}
		}
	}
	if (r == LLE_INC_NOMEM)
		lle_err_oom(err);
	if (r == LLE_INC_NOFILE) {
		snprintf(why, nwhy, "%.200s", err->msg);
		lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_CANNOT_OPEN, path, why);
	}
	*rc = r;
	return ops->finish(ops->ctx, unit, err);
}

void *lle_inc_resolve(const struct lle_inc_ops *ops, const char *path, const char *shown, int *rc,
		      struct lle_err *err)
{
	char abs[PATH_MAX], why[256];
	if (absolute(path, abs, sizeof(abs)) < 0) {
		lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_CANNOT_OPEN, path, strerror(ENAMETOOLONG));
		*rc = LLE_INC_BROKEN;
		return NULL;
	}
	struct frame top = { NULL, abs, shown ? shown : path };
	void *u = walk(ops, path, &top, 0, rc, why, sizeof(why), err);
	if (*rc == LLE_INC_NOFILE)
		*rc = LLE_INC_BROKEN;
	return u;
}
