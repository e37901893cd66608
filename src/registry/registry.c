/* The registry over the whole search path: which directories are registry
 * layouts and which are lm-evaluation-harness trees, one source per
 * (directory, type), and the merge of their sorted entries where a later
 * directory wins over an earlier one (with a warning naming both files).
 *
 * Not here: reading files (index.c, index_scan.c), the cache (cache.c), full configs. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "registry/index_int.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/suggest.h"

#define MAX_SOURCES 160

/* A merged entry: which source, which of its entries. 8 bytes, so merging
 * 14,000 entries touches little memory. */
struct slot {
	uint32_t src, idx;
};

struct lle_registry {
	struct lle_reg_source *src[LLE_REG_NTYPES][MAX_SOURCES];
	size_t nsrc[LLE_REG_NTYPES];
	struct slot *merged[LLE_REG_NTYPES]; /* the winners, sorted by name */
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
	/* The same directory twice on the path (say, in LLM_EVAL_INCLUDE_PATH and
	 * --include-path) is read once, at its first place. */
	for (size_t i = 0; i < r->nsrc[type]; i++)
		if (strcmp(lle_reg_source_root(r->src[type][i]), lle_reg_source_root(s)) == 0) {
			lle_reg_source_free(s);
			return 0;
		}
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

/* Merge the sorted entries of all sources of a type into one array: a
 * k-way merge (k is the number of directories, a handful), where for equal
 * names the latest source wins and the others are reported. */
static int merge(struct lle_registry *r, int t)
{
	if (r->done[t])
		return 0;
	size_t k = r->nsrc[t], total = 0;
	size_t pos[MAX_SOURCES], cnt[MAX_SOURCES];
	struct lle_reg_entry head[MAX_SOURCES];
	for (size_t i = 0; i < k; i++) {
		pos[i] = 0;
		cnt[i] = lle_reg_source_count(r->src[t][i]);
		total += cnt[i];
		if (cnt[i])
			lle_reg_source_entry(r->src[t][i], 0, &head[i]);
	}
	struct slot *out = malloc((total + 1) * sizeof(*out));
	if (!out)
		return -1;
	size_t n = 0;
	for (;;) {
		/* The smallest name among the heads; the last source holding it wins. */
		size_t best = k;
		for (size_t i = 0; i < k; i++) {
			if (pos[i] >= cnt[i])
				continue;
			int c = best == k ? -1 : strcmp(head[i].name, head[best].name);
			if (c <= 0)
				best = i;
		}
		if (best == k)
			break;
		out[n].src = (uint32_t)best;
		out[n].idx = (uint32_t)pos[best];
		struct lle_reg_entry win = head[best];
		for (size_t i = 0; i < k; i++) {
			if (pos[i] >= cnt[i] || (i != best && strcmp(head[i].name, win.name) != 0))
				continue;
			if (i != best) {
				char msg[3 * PATH_MAX + 512], pnew[PATH_MAX + 8], pold[PATH_MAX + 8];
				const struct lle_reg_entry *e = &win, *o = &head[i];
				snprintf(pnew, sizeof(pnew), "%s/%s", e->root, e->relpath);
				snprintf(pold, sizeof(pold), "%s/%s", o->root, o->relpath);
				snprintf(msg, sizeof(msg), LLE_MSG_OVERRIDE, pnew, e->line, e->col, lle_reg_kind_name(e->kind),
					 e->name, pold, o->line, o->col);
				if (add_diag(r, msg) < 0) {
					free(out);
					return -1;
				}
			}
			if (++pos[i] < cnt[i])
				lle_reg_source_entry(r->src[t][i], pos[i], &head[i]);
		}
		n++;
	}
	r->merged[t] = out;
	r->nmerged[t] = n;
	r->done[t] = 1;
	return 0;
}

size_t lle_registry_count(struct lle_registry *r, int type)
{
	if (merge(r, type) < 0)
		return 0;
	return r->nmerged[type];
}

int lle_registry_get(struct lle_registry *r, int type, size_t i, struct lle_reg_entry *e)
{
	if (merge(r, type) < 0 || i >= r->nmerged[type])
		return -1;
	const struct slot *sl = &r->merged[type][i];
	lle_reg_source_entry(r->src[type][sl->src], sl->idx, e);
	e->source = sl->src;
	return 0;
}

int lle_registry_find(struct lle_registry *r, int type, const char *name, struct lle_reg_entry *e)
{
	if (merge(r, type) < 0)
		return 0;
	size_t lo = 0, hi = r->nmerged[type];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct slot *sl = &r->merged[type][mid];
		int c = strcmp(name, lle_reg_source_name(r->src[type][sl->src], sl->idx));
		if (c == 0) {
			if (e)
				lle_registry_get(r, type, mid, e);
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

const char *lle_registry_suggest(struct lle_registry *r, int type, const char *name)
{
	struct lle_suggest sg;
	lle_suggest_init(&sg, name);
	if (merge(r, type) < 0)
		return NULL;
	for (size_t i = 0; i < r->nmerged[type]; i++) {
		const struct slot *sl = &r->merged[type][i];
		lle_suggest_add(&sg, lle_reg_source_name(r->src[type][sl->src], sl->idx));
	}
	return lle_suggest_result(&sg);
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
