/* Full configs: a registry file as a YAML tree with its `include:` chain
 * merged, for `show`, `validate` and runs. Never used by `list`.
 *
 * As in lm-evaluation-harness: `include:` is a path or a list of paths,
 * relative to the including file; included files are merged in order (a
 * later include wins over an earlier one), then the including file's own keys
 * win; the merge is of top-level keys only. A cycle is an error that shows the
 * chain. Every node keeps the file:line:col it came from, so `show` can say
 * where each key was set. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/index_int.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/path.h"

struct chain {
	const struct chain *up;
	const char *abs; /* normalised absolute path */
	const char *shown;
};

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

static char *absolute(const char *path)
{
	struct lle_buf b = LLE_BUF_INIT;
	if (path[0] != '/') {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd)))
			return NULL;
		lle_buf_printf(&b, "%s/", cwd);
	}
	lle_buf_adds(&b, path);
	char *s = lle_buf_detach(&b);
	if (s)
		lle_reg_normalise(s);
	return s;
}

static struct lle_node *load(const char *path, const struct chain *up, int depth, char ***files,
			     size_t *nfiles, struct lle_err *err)
{
	/* Read the file here (not in yaml.c) so every failure names path:line:col,
	 * as every registry message does. */
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_CANNOT_OPEN, path, strerror(errno));
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
	if (files) {
		char **f = realloc(*files, (*nfiles + 1) * sizeof(*f));
		char *copy = lle_strdup(path);
		if (!f || !copy) {
			free(copy);
			if (f)
				*files = f;
			lle_node_free(own);
			lle_err_oom(err);
			return NULL;
		}
		*files = f;
		f[(*nfiles)++] = copy;
	}
	const struct lle_node *inc = lle_node_get(own, "include");
	if (!inc)
		return own;
	if (inc->kind == LLE_NODE_MAP || (inc->kind == LLE_NODE_SCALAR && lle_node_is_null(inc))) {
		lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_TYPE, path, (unsigned)inc->line, (unsigned)inc->col);
		lle_node_free(own);
		return NULL;
	}
	for (size_t i = 0; inc->kind == LLE_NODE_SEQ && i < inc->n; i++)
		if (inc->items[i]->kind != LLE_NODE_SCALAR) {
			lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_TYPE, path, (unsigned)inc->items[i]->line,
				    (unsigned)inc->items[i]->col);
			lle_node_free(own);
			return NULL;
		}
	if (depth >= LLE_REG_MAX_INCLUDE_DEPTH) {
		lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_DEPTH, path, (unsigned)inc->line, (unsigned)inc->col,
			    LLE_REG_MAX_INCLUDE_DEPTH);
		lle_node_free(own);
		return NULL;
	}
	struct lle_node *merged = calloc(1, sizeof(*merged));
	char *dir = lle_path_dirname(path);
	if (!merged || !dir) {
		free(merged);
		free(dir);
		lle_node_free(own);
		lle_err_oom(err);
		return NULL;
	}
	merged->kind = LLE_NODE_MAP;
	merged->file = own->file;
	merged->line = own->line;
	merged->col = own->col;
	size_t n = inc->kind == LLE_NODE_SEQ ? inc->n : 1;
	for (size_t i = 0; i < n; i++) {
		const struct lle_node *item = inc->kind == LLE_NODE_SEQ ? inc->items[i] : inc;
		char *ipath = lle_path_join(dir, item->str);
		char *iabs = ipath ? absolute(ipath) : NULL;
		if (!iabs) {
			free(ipath);
			lle_err_oom(err);
			goto fail;
		}
		lle_reg_normalise(ipath);
		for (const struct chain *c = up; c; c = c->up) {
			if (strcmp(c->abs, iabs) != 0)
				continue;
			/* Show the chain from the file that starts the cycle. */
			struct lle_buf b = LLE_BUF_INIT;
			const char *names[LLE_REG_MAX_INCLUDE_DEPTH + 2];
			size_t k = 0;
			for (const struct chain *d = up; d && k < LLE_REG_MAX_INCLUDE_DEPTH; d = d->up) {
				names[k++] = d->shown;
				if (d == c)
					break;
			}
			while (k > 0)
				lle_buf_printf(&b, "%s -> ", names[--k]);
			lle_buf_adds(&b, ipath);
			lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_CYCLE, path, (unsigned)item->line,
				    (unsigned)item->col, lle_buf_str(&b));
			lle_buf_free(&b);
			free(ipath);
			free(iabs);
			goto fail;
		}
		if (stat(ipath, &st) < 0) {
			lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_INCLUDE_MISSING, path, (unsigned)item->line,
				    (unsigned)item->col, item->str, strerror(errno));
			free(ipath);
			free(iabs);
			goto fail;
		}
		struct chain me = { up, iabs, ipath };
		struct lle_node *sub = load(ipath, &me, depth + 1, files, nfiles, err);
		free(ipath);
		free(iabs);
		if (!sub)
			goto fail;
		if (merge_into(merged, sub) < 0) {
			lle_err_oom(err);
			goto fail;
		}
	}
	free(dir);
	if (merge_into(merged, own) < 0) {
		lle_node_free(merged);
		lle_err_oom(err);
		return NULL;
	}
	return merged;
fail:
	free(dir);
	lle_node_free(merged);
	lle_node_free(own);
	return NULL;
}

struct lle_node *lle_reg_load_full(const char *path, char ***files, size_t *nfiles, struct lle_err *err)
{
	char *abs = absolute(path);
	if (!abs) {
		lle_err_oom(err);
		return NULL;
	}
	struct chain top = { NULL, abs, path };
	struct lle_node *n = load(path, &top, 0, files, nfiles, err);
	free(abs);
	return n;
}
