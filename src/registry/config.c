/* Full configs: a registry file as a YAML tree with its `include:` chain
 * merged, for `show`, `validate` and runs. Never used by `list`.
 *
 * The include semantics (paths, cycles, depth, which keys win) are
 * include.c's, shared with the index; this file reads a file into a tree and
 * merges trees' top-level keys. Every node keeps the file:line:col it came
 * from, so `show` can say where each key was set. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/include.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/path.h"

/* Set key in map to val (taking both), replacing an existing value. */
static int map_set(struct lle_node *map, char *key, struct lle_node *val)
{
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i], key) == 0) {
			lle_node_free(map->items[i]);
			free(key);
			map->items[i] = val;
			return 0;
		}
	struct lle_node **it = realloc(map->items, (map->n + 1) * sizeof(*it));
	if (!it)
		return -1;
	map->items = it;
	char **k = realloc(map->keys, (map->n + 1) * sizeof(*k));
	if (!k)
		return -1;
	map->keys = k;
	map->items[map->n] = val;
	map->keys[map->n] = key;
	map->n++;
	return 0;
}

/* Move every pair of src (except `include`) into dst; src is freed. */
static int merge_into(struct lle_node *dst, struct lle_node *src)
{
	int rc = 0;
	for (size_t i = 0; i < src->n; i++) {
		if (rc == 0 && strcmp(src->keys[i], "include") != 0) {
			rc = map_set(dst, src->keys[i], src->items[i]);
			if (rc == 0) {
				src->keys[i] = NULL;
				src->items[i] = NULL;
			}
		}
	}
	lle_node_free(src);
	return rc;
}

/* The include ops' context: the list of files read, and the include items
 * of the file read last. */
struct cfg {
	char ***files;
	size_t *nfiles;
	struct lle_inc_item *items;
	size_t cap;
};

/* A file being resolved: its own tree, and its includes merged so far. */
struct unit {
	struct lle_node *own, *merged;
};

/* Read the file here (not in yaml.c) so every failure names path:line:col,
 * as every registry message does. */
static struct lle_node *read_tree(const char *path, struct lle_err *err, int *nofile)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		*nofile = 1;
		lle_err_set(err, LLE_EXIT_CONFIG, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	if (S_ISDIR(st.st_mode) || st.st_size > (off_t)LLE_REG_MAX_FILE) {
		if (S_ISDIR(st.st_mode))
			lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_CANNOT_OPEN, path, strerror(EISDIR));
		else
			lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_TOO_BIG, path, (long long)st.st_size,
				    LLE_REG_MAX_FILE);
		close(fd);
		return NULL;
	}
	struct lle_buf text = LLE_BUF_INIT;
	char chunk[65536];
	int failed = 0;
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			failed = lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_CANNOT_READ, path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if (lle_buf_add(&text, chunk, (size_t)r) < 0) {
			failed = lle_err_oom(err);
			break;
		}
		if (text.n > LLE_REG_MAX_FILE) {
			failed = lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_TOO_BIG, path, (long long)text.n, LLE_REG_MAX_FILE);
			break;
		}
	}
	close(fd);
	if (failed) {
		lle_buf_free(&text);
		return NULL;
	}
	struct lle_node *own = lle_yaml_load_mem(lle_buf_str(&text), text.n, path, err);
	lle_buf_free(&text);
	if (!own)
		return NULL;
	if (own->kind != LLE_NODE_MAP) {
		lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_NOT_MAP, path, (unsigned)own->line, (unsigned)own->col);
		lle_node_free(own);
		return NULL;
	}
	return own;
}

static int cfg_read(void *ctx, const char *path, void **unitp, struct lle_inc_val *iv, struct lle_err *err)
{
	struct cfg *C = ctx;
	int nofile = 0;
	struct lle_node *own = read_tree(path, err, &nofile);
	if (!own)
		return nofile ? LLE_INC_NOFILE : err->code == LLE_EXIT_INTERNAL ? LLE_INC_NOMEM : LLE_INC_BROKEN;
	struct unit *u = calloc(1, sizeof(*u));
	if (!u) {
		lle_node_free(own);
		return LLE_INC_NOMEM;
	}
	u->own = own;
	*unitp = u;
	if (C->files) {
		char **f = realloc(*C->files, (*C->nfiles + 1) * sizeof(*f));
		char *copy = lle_strdup(path);
		if (f)
			*C->files = f;
		if (!f || !copy) {
			free(copy);
			return LLE_INC_NOMEM;
		}
		f[(*C->nfiles)++] = copy;
	}
	const struct lle_node *inc = lle_node_get(own, "include");
	if (!inc)
		return LLE_INC_OK;
	iv->present = 1;
	iv->line = (unsigned)inc->line;
	iv->col = (unsigned)inc->col;
	/* the merged tree, even for `include: []`: it drops the include key */
	if (!(u->merged = calloc(1, sizeof(*u->merged))))
		return LLE_INC_NOMEM;
	u->merged->kind = LLE_NODE_MAP;
	u->merged->file = own->file;
	u->merged->line = own->line;
	u->merged->col = own->col;
	if (inc->kind == LLE_NODE_MAP || (inc->kind == LLE_NODE_SCALAR && lle_node_is_null(inc))) {
		iv->bad = 1;
		iv->bad_line = (unsigned)inc->line;
		iv->bad_col = (unsigned)inc->col;
		return LLE_INC_OK;
	}
	size_t n = inc->kind == LLE_NODE_SEQ ? inc->n : 1;
	if (n > C->cap) {
		struct lle_inc_item *it = realloc(C->items, n * sizeof(*it));
		if (!it)
			return LLE_INC_NOMEM;
		C->items = it;
		C->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct lle_node *item = inc->kind == LLE_NODE_SEQ ? inc->items[i] : inc;
		if (item->kind != LLE_NODE_SCALAR) {
			iv->bad = 1;
			iv->bad_line = (unsigned)item->line;
			iv->bad_col = (unsigned)item->col;
			return LLE_INC_OK;
		}
		C->items[i] = (struct lle_inc_item){ item->str, (unsigned)item->line, (unsigned)item->col };
	}
	iv->items = C->items;
	iv->n = n;
	return LLE_INC_OK;
}

static int cfg_include(void *ctx, void *unit, const char *path, void *sub, int ok)
{
	struct unit *u = unit;
	(void)ctx;
	(void)path;
	if (!ok)
		return 0; /* a broken include was freed by its finish */
	if (!sub)
		return -1; /* its merge ran out of memory */
	return merge_into(u->merged, sub);
}

static void *cfg_finish(void *ctx, void *unit, const struct lle_err *err)
{
	struct unit *u = unit;
	(void)ctx;
	if (!u)
		return NULL;
	struct lle_node *own = u->own, *merged = u->merged;
	free(u);
	if (err) {
		lle_node_free(merged);
		lle_node_free(own);
		return NULL;
	}
	if (!merged)
		return own;
	if (merge_into(merged, own) < 0) {
		lle_node_free(merged);
		return NULL;
	}
	return merged;
}

struct lle_node *lle_reg_load_full(const char *path, char ***files, size_t *nfiles, struct lle_err *err)
{
	struct cfg C = { files, nfiles, NULL, 0 };
	const struct lle_inc_ops ops = { .ctx = &C, .wrap_broken = 0, .read = cfg_read, .include = cfg_include,
					 .finish = cfg_finish };
	int rc;
	struct lle_node *n = lle_inc_resolve(&ops, path, path, &rc, err);
	free(C.items);
	if (rc == LLE_INC_OK && !n)
		rc = LLE_INC_NOMEM;
	if (rc == LLE_INC_NOMEM) {
		lle_node_free(n);
		lle_err_oom(err);
		return NULL;
	}
	return rc == LLE_INC_OK ? n : NULL;
}
