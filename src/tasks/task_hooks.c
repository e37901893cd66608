/* A task's Python hooks, as lm-evaluation-harness's ConfigurableTask calls
 * them: process_docs on each whole split (its output kept in the cache
 * directory, keyed by the module's text, the function's name and the
 * split's documents, so a rerun starts no Python for it), and
 * doc_to_text / doc_to_target / doc_to_choice per document (the task's three
 * in one request, remembered for the document being built).
 *
 * Not here: the worker process (src/hooks/), scoring with process_results
 * (task_results.c). */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hooks/hooks.h"
#include "tasks/task.h"
#include "tasks/task_int.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/path.h"
#include "util/sha256.h"

/* one document's doc_to_* values */
struct memo_ent {
	json_t *doc;      /* a reference held, so its address is not reused */
	json_t *v[3];     /* doc_to_text, doc_to_target, doc_to_choice (NULL: not a hook) */
};

struct lle_task_hooks {
	pthread_mutex_t mu;
	struct memo_ent *ents;  /* the last prefetched documents, or the one asked for */
	size_t n, cap;
	size_t *tab;            /* open addressing by the document's address: index + 1 */
	size_t tabn;
	json_t *raw;      /* values of custom-aggregated metrics (task_results.c), by index */
};

int lle_task_hooks_init(struct lle_task *t, struct lle_err *err)
{
	if (!lle_task_has_hooks(t))
		return 0;
	if (!(t->hk = calloc(1, sizeof(*t->hk))))
		return lle_err_oom(err);
	pthread_mutex_init(&t->hk->mu, NULL);
	return 0;
}

static void memo_clear(struct lle_task_hooks *hk)
{
	for (size_t i = 0; i < hk->n; i++) {
		json_decref(hk->ents[i].doc);
		for (int j = 0; j < 3; j++)
			if (hk->ents[i].v[j])
				json_decref(hk->ents[i].v[j]);
	}
	hk->n = 0;
	if (hk->tab)
		memset(hk->tab, 0, hk->tabn * sizeof(*hk->tab));
}

static size_t slot_of(const struct lle_task_hooks *hk, const json_t *doc)
{
	size_t h = ((size_t)(uintptr_t)doc >> 4) * 0x9E3779B97F4A7C15ull;
	return h & (hk->tabn - 1);
}

static struct memo_ent *memo_find(const struct lle_task_hooks *hk, const json_t *doc)
{
	if (!hk->tabn)
		return NULL;
	for (size_t s = slot_of(hk, doc);; s = (s + 1) & (hk->tabn - 1)) {
		if (!hk->tab[s])
			return NULL;
		if (hk->ents[hk->tab[s] - 1].doc == doc)
			return &hk->ents[hk->tab[s] - 1];
	}
}

/* Room for n entries (the memo emptied). */
static int memo_reset(struct lle_task_hooks *hk, size_t n, struct lle_err *err)
{
	memo_clear(hk);
	if (n > hk->cap) {
		struct memo_ent *e = realloc(hk->ents, n * sizeof(*e));
		if (!e)
			return lle_err_oom(err);
		hk->ents = e;
		hk->cap = n;
	}
	size_t want = 16;
	while (want < 2 * n)
		want *= 2;
	if (want > hk->tabn) {
		size_t *t = calloc(want, sizeof(*t));
		if (!t)
			return lle_err_oom(err);
		free(hk->tab);
		hk->tab = t;
		hk->tabn = want;
	}
	return 0;
}

static void memo_add(struct lle_task_hooks *hk, const json_t *doc, json_t *const *v)
{
	struct memo_ent *e = &hk->ents[hk->n++];
	e->doc = json_incref((json_t *)doc);
	for (int j = 0; j < 3; j++)
		e->v[j] = v[j] ? json_incref(v[j]) : NULL;
	size_t s = slot_of(hk, doc);
	while (hk->tab[s])
		s = (s + 1) & (hk->tabn - 1);
	hk->tab[s] = hk->n;
}

void lle_task_hooks_free(struct lle_task *t)
{
	if (t->hk) {
		memo_clear(t->hk);
		free(t->hk->ents);
		free(t->hk->tab);
		if (t->hk->raw)
			json_decref(t->hk->raw);
		pthread_mutex_destroy(&t->hk->mu);
		free(t->hk);
		t->hk = NULL;
	}
	lle_hookref_free(t->process_docs_hook);
	lle_hookref_free(t->process_results_hook);
	lle_hookref_free(t->fewshot_samples_hook);
	lle_hookref_free(t->class_hook);
	for (size_t i = 0; i < t->nmetrics; i++) {
		if (t->agg_hooks)
			lle_hookref_free(t->agg_hooks[i]);
		if (t->metric_hooks)
			lle_hookref_free(t->metric_hooks[i]);
	}
	free(t->agg_hooks);
	free(t->metric_hooks);
	free(t->metric_pass);
	if (t->metric_kwargs)
		json_decref(t->metric_kwargs);
}

static const struct lle_docfn *task_fns(const struct lle_task *t, int i)
{
	return i == 0 ? &t->doc_to_text : i == 1 ? &t->doc_to_target : &t->doc_to_choice;
}

int lle_task_has_hooks(const struct lle_task *t)
{
	if (t->process_docs_hook || t->process_results_hook || t->fewshot_samples_hook || t->class_hook)
		return 1;
	for (int i = 0; i < 3; i++)
		if (task_fns(t, i)->kind == LLE_DOCFN_HOOK)
			return 1;
	if (t->fs_doc_to_text.kind == LLE_DOCFN_HOOK || t->fs_doc_to_target.kind == LLE_DOCFN_HOOK ||
	    t->fs_doc_to_choice.kind == LLE_DOCFN_HOOK)
		return 1;
	for (size_t i = 0; i < t->nmetrics; i++)
		if ((t->agg_hooks && t->agg_hooks[i]) || (t->metric_hooks && t->metric_hooks[i]))
			return 1;
	return 0;
}

static int check_one(const struct lle_task *t, const char *what, const struct lle_hookref *h,
		     struct lle_err *err)
{
	if (!h || lle_hooks_load(h, err) == 0)
		return 0;
	lle_err_prefix(err, "task '%s': %s", t->name, what);
	return -1;
}

int lle_task_hooks_check(const struct lle_task *t, struct lle_err *err)
{
	static const char *const names[] = { "doc_to_text", "doc_to_target", "doc_to_choice" };
	/* not process_docs: the planner runs it (or finds its output cached,
	 * and then starts no Python for it) before any model loads anyway */
	if (check_one(t, "process_results", t->process_results_hook, err) < 0 ||
	    check_one(t, "fewshot_config.samples", t->fewshot_samples_hook, err) < 0)
		return -1;
	for (int i = 0; i < 3; i++)
		if (check_one(t, names[i], task_fns(t, i)->hook, err) < 0)
			return -1;
	if (check_one(t, "fewshot_config.doc_to_text", t->fs_doc_to_text.hook, err) < 0 ||
	    check_one(t, "fewshot_config.doc_to_target", t->fs_doc_to_target.hook, err) < 0 ||
	    check_one(t, "fewshot_config.doc_to_choice", t->fs_doc_to_choice.hook, err) < 0)
		return -1;
	for (size_t i = 0; i < t->nmetrics; i++)
		if ((t->agg_hooks && check_one(t, "metric_list.aggregation", t->agg_hooks[i], err) < 0) ||
		    (t->metric_hooks && check_one(t, "metric_list.metric", t->metric_hooks[i], err) < 0))
			return -1;
	return 0;
}

struct lle_hookref *lle_task_hookref(const struct lle_task *t, const struct lle_node *n, const char *label,
				     struct lle_err *err)
{
	struct lle_hookref *h = lle_hookref_new(n->file, n->str, err);
	if (!h) {
		lle_err_prefix(err, "%s:%d:%d: task '%s': %s", n->file, n->line, n->col, t->name, label);
		return NULL;
	}
	/* no file: an importable module (a dotted name), checked when the
	 * worker imports it; a plain name must be a file */
	if (access(h->module, R_OK) < 0 && !strchr(h->name, '.')) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: task '%s': %s: '!function %s' needs %s, which cannot "
			    "be read (%s)", n->file, n->line, n->col, t->name, label, n->str, h->module, strerror(errno));
		lle_hookref_free(h);
		return NULL;
	}
	return h;
}

/* ---------- doc_to_* ---------- */

/* The task's own doc_to_* hooks: up to 3, which[] their slots. */
static size_t task_hooks_of(const struct lle_task *t, const struct lle_hookref **hs, int *which)
{
	size_t n = 0;
	for (int i = 0; i < 3; i++)
		if (task_fns(t, i)->kind == LLE_DOCFN_HOOK) {
			which[n] = i;
			hs[n++] = task_fns(t, i)->hook;
		}
	return n;
}

/* The memo for doc alone: every one of the task's doc_to_* hooks, one request. */
static int memo_fill(const struct lle_task *t, const json_t *doc, struct lle_err *err)
{
	struct lle_task_hooks *hk = t->hk;
	const struct lle_hookref *hs[3];
	int which[3];
	size_t n = task_hooks_of(t, hs, which);
	json_t *args = json_pack("[O]", doc);
	if (!args)
		return lle_err_oom(err);
	json_t *vals = lle_hooks_multi(hs, n, args, err);
	json_decref(args);
	if (!vals)
		return -1;
	if (!json_is_array(vals) || json_array_size(vals) != n) {
		json_decref(vals);
		return lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker answered %s", "a wrong count");
	}
	json_t *v[3] = { NULL, NULL, NULL };
	for (size_t i = 0; i < n; i++)
		v[which[i]] = json_array_get(vals, i);
	int rc = memo_reset(hk, 1, err);
	if (rc == 0)
		memo_add(hk, doc, v);
	json_decref(vals);
	return rc;
}

int lle_task_hooks_prefetch(const struct lle_task *t, json_t *const *docs, size_t ndocs, struct lle_err *err)
{
	const struct lle_hookref *hs[3];
	int which[3];
	if (!t->hk || ndocs == 0)
		return 0;
	size_t n = task_hooks_of(t, hs, which);
	if (n == 0)
		return 0;
	json_t *calls = json_array(), *dl = json_array();
	for (size_t i = 0; calls && i < n; i++)
		if (json_array_append_new(calls, json_pack("{s:s,s:s,s:s,s:s}", "module", hs[i]->module, "name",
							   hs[i]->name, "base", hs[i]->base, "fn", hs[i]->fn)) < 0) {
			json_decref(calls);
			calls = NULL;
		}
	for (size_t i = 0; dl && i < ndocs; i++)
		if (json_array_append(dl, docs[i]) < 0) {
			json_decref(dl);
			dl = NULL;
		}
	json_t *req = calls && dl ? json_pack("{s:s,s:o,s:o}", "op", "each", "calls", calls, "docs", dl) : NULL;
	if (!req) {
		if (calls && !dl)
			json_decref(calls);
		if (dl && !calls)
			json_decref(dl);
		return lle_err_oom(err);
	}
	/* A failure leaves the memo empty: each document then asks alone and
	 * its own error names it. */
	struct lle_err e2 = { 0 };
	json_t *vals = lle_hooks_request(hs[0], req, &e2);
	json_decref(req);
	if (!vals)
		return 0;
	int rc = 0;
	pthread_mutex_lock(&t->hk->mu);
	if (json_is_array(vals) && json_array_size(vals) == ndocs && (rc = memo_reset(t->hk, ndocs, err)) == 0) {
		for (size_t d = 0; d < ndocs; d++) {
			json_t *row = json_array_get(vals, d);
			json_t *v[3] = { NULL, NULL, NULL };
			for (size_t i = 0; i < n && json_is_array(row); i++)
				v[which[i]] = json_array_get(row, i);
			if (!memo_find(t->hk, docs[d]))
				memo_add(t->hk, docs[d], v);
		}
	}
	pthread_mutex_unlock(&t->hk->mu);
	json_decref(vals);
	return rc;
}

json_t *lle_task_hook_docfn(const struct lle_task *t, const struct lle_docfn *f, const json_t *doc,
			    size_t doc_id, const char *col, struct lle_err *err)
{
	char who[300];
	json_t *v = NULL;
	int slot = -1;
	for (int i = 0; i < 3; i++)
		if (f == task_fns(t, i))
			slot = i;
	if (slot < 0 || !t->hk) {
		json_t *args = json_pack("[O]", doc);
		v = args ? lle_hooks_call(f->hook, args, err) : NULL;
		if (!args)
			lle_err_oom(err);
		if (args)
			json_decref(args);
	} else {
		pthread_mutex_lock(&t->hk->mu);
		struct memo_ent *e = memo_find(t->hk, doc);
		if (!e && memo_fill(t, doc, err) == 0)
			e = memo_find(t->hk, doc);
		v = e && e->v[slot] ? json_incref(e->v[slot]) : NULL;
		pthread_mutex_unlock(&t->hk->mu);
	}
	if (!v)
		lle_err_prefix(err, "%s", lle_task_who_doc(who, sizeof(who), t, doc_id, col));
	return v;
}

/* ---------- values of custom aggregations ---------- */

int lle_task_hook_keep(const struct lle_task *t, json_t *v, size_t *idx, struct lle_err *err)
{
	int rc = 0;
	pthread_mutex_lock(&t->hk->mu);
	if (!t->hk->raw && !(t->hk->raw = json_array()))
		rc = lle_err_oom(err);
	if (rc == 0) {
		*idx = json_array_size(t->hk->raw);
		if (json_array_append(t->hk->raw, v) < 0)
			rc = lle_err_oom(err);
	}
	pthread_mutex_unlock(&t->hk->mu);
	return rc;
}

json_t *lle_task_hook_values(const struct lle_task *t, const struct lle_item *col, size_t n, struct lle_err *err)
{
	json_t *vals = json_array();
	if (!vals) {
		lle_err_oom(err);
		return NULL;
	}
	pthread_mutex_lock(&t->hk->mu);
	for (size_t i = 0; i < n; i++) {
		json_t *v = t->hk->raw && col[i].w >= 0 ? json_array_get(t->hk->raw, (size_t)col[i].w) : NULL;
		if (json_array_append(vals, v ? v : json_null()) < 0) {
			json_decref(vals);
			vals = NULL;
			lle_err_oom(err);
			break;
		}
	}
	pthread_mutex_unlock(&t->hk->mu);
	return vals;
}

/* ---------- process_docs ---------- */

static int hash_file(struct lle_sha256 *s, const char *path, struct lle_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return lle_err_set(err, LLE_EXIT_CONFIG, "cannot read the hook module %s", path);
	char b[65536];
	size_t n;
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		lle_sha256_update(s, b, n);
	int bad = ferror(f);
	fclose(f);
	return bad ? lle_err_set(err, LLE_EXIT_IO, "reading the hook module %s failed", path) : 0;
}

/* The split's documents as one JSON array, and their serialisation hashed into s. */
static json_t *read_split(const char *path, struct lle_sha256 *s, struct lle_err *err)
{
	struct lle_ds *ds = lle_ds_open(path, err);
	json_t *docs = json_array();
	if (!ds || !docs)
		goto fail;
	for (;;) {
		json_t *doc = NULL;
		int r = lle_ds_next(ds, &doc, err);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		char *line = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_ENCODE_ANY);
		if (!line || json_array_append_new(docs, doc) < 0) {
			free(line);
			lle_err_oom(err);
			goto fail;
		}
		lle_sha256_update(s, line, strlen(line) + 1);
		free(line);
	}
	lle_ds_close(ds);
	return docs;
fail:
	if (!docs || !ds)
		if (!err || !err->code)
			lle_err_oom(err);
	if (ds)
		lle_ds_close(ds);
	if (docs)
		json_decref(docs);
	return NULL;
}

static int write_jsonl(const char *path, const json_t *docs, struct lle_err *err)
{
	struct lle_buf b = LLE_BUF_INIT;
	size_t i;
	json_t *d;
	json_array_foreach(docs, i, d) {
		char *line = json_dumps(d, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!line) {
			lle_buf_free(&b);
			return lle_err_oom(err);
		}
		lle_buf_adds(&b, line);
		lle_buf_addc(&b, '\n');
		free(line);
	}
	if (b.oom) {
		lle_buf_free(&b);
		return lle_err_oom(err);
	}
	int rc = lle_write_file_atomic(path, b.p ? b.p : "", b.n, err);
	lle_buf_free(&b);
	return rc;
}

char *lle_task_hook_split(const struct lle_task *t, const char *split, char *path, struct lle_err *err)
{
	const struct lle_hookref *h = t->process_docs_hook;
	struct lle_sha256 s;
	unsigned char d[LLE_SHA256_LEN];
	char hex[2 * LLE_SHA256_LEN + 1];
	char *dir = NULL, *out = NULL;
	json_t *docs = NULL, *res = NULL;
	lle_sha256_init(&s);
	lle_sha256_update(&s, "llm-eval process_docs 1", 24);
	if (access(h->module, F_OK) < 0) /* an importable module: its name */
		lle_sha256_update(&s, h->spec, strlen(h->spec) + 1);
	else if (hash_file(&s, h->module, err) < 0)
		goto fail;
	lle_sha256_update(&s, h->fn, strlen(h->fn) + 1);
	if (t->class_hook) { /* a class task's <split>_docs: the object's name and the split */
		lle_sha256_update(&s, h->spec, strlen(h->spec) + 1);
		lle_sha256_update(&s, split, strlen(split) + 1);
	}
	if (!(docs = read_split(path, &s, err)))
		goto fail;
	lle_sha256_final(&s, d);
	lle_sha256_hex(d, hex);
	char *cache = lle_xdg_dir("cache");
	if (cache) {
		dir = lle_path_join(cache, "hooks");
		free(cache);
		if (!dir) {
			lle_err_oom(err);
			goto fail;
		}
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "%s/%s.jsonl", dir, hex);
		if (!(out = lle_buf_detach(&b))) {
			lle_err_oom(err);
			goto fail;
		}
		struct stat st;
		if (stat(out, &st) == 0 && S_ISREG(st.st_mode))
			goto done; /* processed before: no Python */
	}
	json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:s}", "op", "docs", "module", h->module, "name", h->name,
				"base", h->base, "fn", h->fn, "docs", docs, "split", split);
	if (!req) {
		lle_err_oom(err);
		goto fail;
	}
	res = lle_hooks_request(h, req, err);
	json_decref(req);
	if (!res)
		goto fail;
	if (!json_is_array(res)) {
		lle_err_set(err, LLE_EXIT_DATA, "'%s' returned no list of documents", h->spec);
		goto fail;
	}
	for (size_t i = 0; i < json_array_size(res); i++)
		if (!json_is_object(json_array_get(res, i))) {
			lle_err_set(err, LLE_EXIT_DATA, "'%s' returned a document %zu that is not a map", h->spec, i);
			goto fail;
		}
	if (!out) {
		lle_err_set(err, LLE_EXIT_CONFIG, "no cache directory for process_docs' output "
			    "(set XDG_CACHE_HOME or HOME)");
		goto fail;
	}
	if (lle_mkdir_p(dir) < 0) {
		lle_err_set(err, LLE_EXIT_IO, "cannot create %s", dir);
		goto fail;
	}
	if (write_jsonl(out, res, err) < 0)
		goto fail;
done:
	free(dir);
	free(path);
	json_decref(docs);
	if (res)
		json_decref(res);
	return out;
fail:
	lle_err_prefix(err, "task '%s': split '%s': process_docs", t->name, split);
	free(dir);
	free(out);
	free(path);
	if (docs)
		json_decref(docs);
	if (res)
		json_decref(res);
	return NULL;
}

/* ---------- Python filters ---------- */

int lle_filter_py_step(const struct lle_node *f, struct lle_hookref **hook, json_t **kwargs, int *custom,
		       const char *where, struct lle_err *err)
{
	const struct lle_node *fnn = lle_node_get(f, "function");
	const struct lle_node *ref = fnn;
	*custom = !(fnn->tag && !strcmp(fnn->tag, "!function"));
	if (*custom) { /* lm_eval/filters/custom.py: CustomFilter(filter_fn=...).apply = filter_fn(resps, docs) */
		ref = lle_node_get(f, "filter_fn");
		if (!ref || !ref->tag || strcmp(ref->tag, "!function") || ref->kind != LLE_NODE_SCALAR)
			return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: filter 'custom' needs "
					   "'filter_fn: !function module.name'", f->file, f->line, f->col, where);
	}
	if (!(*hook = lle_hookref_new(ref->file, ref->str, err))) {
		lle_err_prefix(err, "%s:%d:%d: %s", ref->file, ref->line, ref->col, where);
		return -1;
	}
	if (access((*hook)->module, R_OK) < 0 && !strchr((*hook)->name, '.'))
		return lle_err_set(err, LLE_EXIT_CONFIG, "%s:%d:%d: %s: '!function %s' needs %s, which cannot be "
				   "read (%s)", ref->file, ref->line, ref->col, where, ref->str, (*hook)->module,
				   strerror(errno));
	/* lm_eval/filters/__init__.py build_filter_ensemble: the class is
	 * called with the step's other keys */
	if (!(*kwargs = json_object()))
		return lle_err_oom(err);
	for (size_t i = 0; i < f->n; i++) {
		if (!strcmp(f->keys[i], "function") || (*custom && !strcmp(f->keys[i], "filter_fn")))
			continue;
		json_t *v = lle_node_to_json(f->items[i]);
		if (!v || json_object_set_new(*kwargs, f->keys[i], v) < 0)
			return lle_err_oom(err);
	}
	return 0;
}

json_t *lle_filter_py_apply(const struct lle_hookref *h, const json_t *kwargs, int custom, const json_t *resps,
			    const json_t *doc, const char *where, struct lle_err *err)
{
	json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O,s:b,s:[O],s:[O]}", "op", "filter", "module", h->module,
				"name", h->name, "base", h->base, "fn", h->fn, "kwargs", kwargs, "custom", custom,
				"resps", resps, "docs", doc ? doc : json_null());
	if (!req) {
		lle_err_oom(err);
		return NULL;
	}
	json_t *v = lle_hooks_request(h, req, err);
	json_decref(req);
	if (!v) {
		lle_err_prefix(err, "%s", where);
		return NULL;
	}
	if (!json_is_array(v) || json_array_size(v) != 1) {
		json_decref(v);
		lle_err_set(err, LLE_EXIT_EVAL, "%s: '%s' did not return one entry per document", where, h->spec);
		return NULL;
	}
	json_t *one = json_incref(json_array_get(v, 0));
	json_decref(v);
	return one;
}

/* ---------- few-shot samples ---------- */

json_t *lle_task_hook_samples(const struct lle_task *t, struct lle_err *err)
{
	json_t *args = json_array();
	json_t *v = args ? lle_hooks_call(t->fewshot_samples_hook, args, err) : NULL;
	if (!args)
		lle_err_oom(err);
	else
		json_decref(args);
	if (!v) {
		lle_err_prefix(err, "task '%s': fewshot_config.samples", t->name);
		return NULL;
	}
	int ok = json_is_array(v);
	for (size_t i = 0; ok && i < json_array_size(v); i++)
		ok = json_is_object(json_array_get(v, i));
	if (!ok) {
		json_decref(v);
		lle_err_set(err, LLE_EXIT_DATA, "task '%s': fewshot_config.samples: '%s' returned no list of "
			    "documents", t->name, t->fewshot_samples_hook->spec);
		return NULL;
	}
	return v;
}
