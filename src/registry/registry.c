/* The registry over the whole search path: which directories are registry
 * layouts and which are lm-evaluation-harness trees, one source per
 * (directory, type), and the merge of their sorted entries where a later
 * directory wins over an earlier one (with a warning naming both files).
 *
 * Not here: reading files (index.c), the cache (cache.c), full configs. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry/index_int.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/path.h"

#define MAX_SOURCES 160

struct lle_registry {
	struct lle_reg_source *src[LLE_REG_NTYPES][MAX_SOURCES];
	size_t nsrc[LLE_REG_NTYPES];
	struct lle_reg_entry *merged[LLE_REG_NTYPES];
	size_t nmerged[LLE_REG_NTYPES];
	int done[LLE_REG_NTYPES];
	struct lle_buf diag_text;  /* messages, NUL-separated */
	struct lle_buf diag_offs;  /* size_t offsets into diag_text */
	struct lle_reg_stats stats;
};

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int add_diag(struct lle_registry *r, const char *msg)
{
	size_t off = r->diag_text.n;
	lle_buf_adds(&r->diag_text, msg);
	lle_buf_addc(&r->diag_text, '\0');
	lle_buf_add(&r->diag_offs, &off, sizeof(off));
	return r->diag_text.oom || r->diag_offs.oom ? -1 : 0;
}

static int add_source(struct lle_registry *r, const char *root, int type, int layout,
		      const struct lle_reg_opts *opts, struct lle_err *err)
{
	if (r->nsrc[type] == MAX_SOURCES)
		return lle_err_set(err, LLE_EXIT_USAGE, "too many registry directories (at most %d)", MAX_SOURCES);
	struct lle_reg_stats st;
	struct lle_reg_source *s = lle_reg_source_load(root, type, layout, opts, &st, err);
	if (!s)
		return -1;
	r->src[type][r->nsrc[type]++] = s;
	r->stats.from_cache += st.from_cache;
	r->stats.cache_written += st.cache_written;
	r->stats.parsed += st.parsed;
	r->stats.reused += st.reused;
	if (st.cache_note[0])
		snprintf(r->stats.cache_note, sizeof(r->stats.cache_note), "%s", st.cache_note);
	for (size_t i = 0; i < lle_reg_source_ndiags(s); i++)
		if (add_diag(r, lle_reg_source_diag(s, i, NULL)) < 0)
			return lle_err_oom(err);
	return 0;
}

struct lle_registry *lle_registry_open(const char *const *dirs, size_t n, size_t n_fixed, unsigned types,
				       const struct lle_reg_opts *opts, struct lle_err *err)
{
	struct lle_registry *r = calloc(1, sizeof(*r));
	if (!r) {
		lle_err_oom(err);
		return NULL;
	}
	static const char *const sub[LLE_REG_NTYPES] = { "models", "tasks", "categories" };
	for (size_t i = 0; i < n; i++) {
		const char *d = dirs[i];
		if (!is_dir(d)) {
			if (i < n_fixed)
				continue;
			lle_err_set(err, LLE_EXIT_CONFIG, LLE_MSG_NO_DIR, d,
				    errno == 0 || errno == ENOENT ? "no such directory" : strerror(errno));
			goto fail;
		}
		char p[PATH_MAX];
		int layout_registry = i < n_fixed;
		for (int t = 0; t < LLE_REG_NTYPES && !layout_registry; t++) {
			snprintf(p, sizeof(p), "%s/%s", d, sub[t]);
			layout_registry = is_dir(p);
		}
		for (int t = 0; t < LLE_REG_NTYPES; t++) {
			if (!(types & (1u << t)))
				continue;
			if (layout_registry) {
				snprintf(p, sizeof(p), "%s/%s", d, sub[t]);
				if (is_dir(p) && add_source(r, p, t, LLE_LAYOUT_REGISTRY, opts, err) < 0)
					goto fail;
			} else if (t == LLE_REG_TASKS && add_source(r, d, t, LLE_LAYOUT_HARNESS, opts, err) < 0) {
				goto fail;
			}
		}
	}
	return r;
fail:
	lle_registry_free(r);
	return NULL;
}

void lle_registry_free(struct lle_registry *r)
{
	if (!r)
		return;
	for (int t = 0; t < LLE_REG_NTYPES; t++) {
		for (size_t i = 0; i < r->nsrc[t]; i++)
			lle_reg_source_free(r->src[t][i]);
		free(r->merged[t]);
	}
	lle_buf_free(&r->diag_text);
	lle_buf_free(&r->diag_offs);
	free(r);
}

/* Merge the sorted entries of all sources of a type; later sources win. */
static int merge(struct lle_registry *r, int t)
{
	if (r->done[t])
		return 0;
	size_t total = 0;
	for (size_t i = 0; i < r->nsrc[t]; i++)
		total += lle_reg_source_count(r->src[t][i]);
	struct lle_reg_entry *a = malloc((total + 1) * sizeof(*a));
	struct lle_reg_entry *b = malloc((total + 1) * sizeof(*b));
	if (!a || !b) {
		free(a);
		free(b);
		return -1;
	}
	size_t na = 0;
	for (size_t si = 0; si < r->nsrc[t]; si++) {
		const struct lle_reg_source *s = r->src[t][si];
		size_t ns = lle_reg_source_count(s), i = 0, j = 0, nb = 0;
		struct lle_reg_entry e;
		int have = 0;
		while (i < na || j < ns) {
			if (j < ns && !have) {
				lle_reg_source_entry(s, j, &e);
				e.source = (unsigned)si;
				have = 1;
			}
			int c = i >= na ? 1 : j >= ns ? -1 : strcmp(a[i].name, e.name);
			if (c < 0) {
				b[nb++] = a[i++];
			} else if (c > 0) {
				b[nb++] = e;
				j++;
				have = 0;
			} else {
				char msg[3 * PATH_MAX + 512], pnew[PATH_MAX + 8], pold[PATH_MAX + 8];
				snprintf(pnew, sizeof(pnew), "%s/%s", e.root, e.relpath);
				snprintf(pold, sizeof(pold), "%s/%s", a[i].root, a[i].relpath);
				snprintf(msg, sizeof(msg), LLE_MSG_OVERRIDE, pnew, e.line, e.col,
					 lle_reg_kind_name(e.kind), e.name, pold, a[i].line, a[i].col);
				if (add_diag(r, msg) < 0) {
					free(a);
					free(b);
					return -1;
				}
				b[nb++] = e;
				i++;
				j++;
				have = 0;
			}
		}
		struct lle_reg_entry *tmp = a;
		a = b;
		b = tmp;
		na = nb;
	}
	free(b);
	r->merged[t] = a;
	r->nmerged[t] = na;
	r->done[t] = 1;
	return 0;
}

size_t lle_registry_count(struct lle_registry *r, int type)
{
	if (merge(r, type) < 0)
		return 0;
	return r->nmerged[type];
}

const struct lle_reg_entry *lle_registry_entries(struct lle_registry *r, int type)
{
	if (merge(r, type) < 0)
		return NULL;
	return r->merged[type];
}

const struct lle_reg_entry *lle_registry_find(struct lle_registry *r, int type, const char *name)
{
	if (merge(r, type) < 0)
		return NULL;
	size_t lo = 0, hi = r->nmerged[type];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, r->merged[type][mid].name);
		if (c == 0)
			return &r->merged[type][mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

size_t lle_registry_ndiags(const struct lle_registry *r) { return r->diag_offs.n / sizeof(size_t); }

const char *lle_registry_diag(const struct lle_registry *r, size_t i)
{
	size_t off;
	memcpy(&off, r->diag_offs.p + i * sizeof(size_t), sizeof(off));
	return r->diag_text.p + off;
}

size_t lle_registry_nsources(const struct lle_registry *r, int type) { return r->nsrc[type]; }

struct lle_reg_source *lle_registry_source(const struct lle_registry *r, int type, size_t i)
{
	return r->src[type][i];
}

void lle_registry_stats(const struct lle_registry *r, struct lle_reg_stats *st) { *st = r->stats; }
