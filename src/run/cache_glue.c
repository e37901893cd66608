/* The run's side of the response cache, the run journal and the run store:
 * see cache_glue.h. Keys come from the store's API (lle_cache_key), which
 * covers the model's identity, the request kind and every argument; this file
 * only decides which arguments a request of the engine has. Not here: what to
 * request (engine.c), the SQL (src/store/). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "llm-eval/backend.h"
/* store/cache.h names the request kinds too (with the same values): rename
 * its constants while it is included so the two headers can meet here. */
#define LLE_REQ_LOGLIKELIHOOD CACHE_REQ_LOGLIKELIHOOD
#define LLE_REQ_LOGLIKELIHOOD_ROLLING CACHE_REQ_LOGLIKELIHOOD_ROLLING
#define LLE_REQ_GENERATE_UNTIL CACHE_REQ_GENERATE_UNTIL
#include "store/cache.h"
#undef LLE_REQ_LOGLIKELIHOOD
#undef LLE_REQ_LOGLIKELIHOOD_ROLLING
#undef LLE_REQ_GENERATE_UNTIL

#include "run/cache_glue.h"
#include "store/results.h"
#include "store/runstore.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/sha256.h"

_Static_assert((int)CACHE_REQ_LOGLIKELIHOOD == (int)LLE_REQ_LOGLIKELIHOOD, "request kinds differ");
_Static_assert((int)CACHE_REQ_LOGLIKELIHOOD_ROLLING == (int)LLE_REQ_LOGLIKELIHOOD_ROLLING, "request kinds differ");
_Static_assert((int)CACHE_REQ_GENERATE_UNTIL == (int)LLE_REQ_GENERATE_UNTIL, "request kinds differ");
_Static_assert(RUN_KEY_LEN == LLE_SHA256_LEN, "key length");

/* Responses committed together: a chunk's worth at most, so a kill loses at
 * most the responses of the chunk in flight (and one fsync covers them all). */
#define BATCH_MAX 64

struct run_cache {
	const struct lle_run_opts *o;
	struct lle_cache *c;
	int enabled;
	unsigned char model_id[LLE_SHA256_LEN];
	char *model_name;
	const struct plan_model *pm;
	char *extra;                /* arguments that change answers, beside the request's own */
	/* the task */
	int64_t jrun;               /* 0: none */
	unsigned char *todo;        /* per journal index: 1 while not done */
	size_t ntodo;
	int64_t *marks;             /* hits the journal did not know of, marked at the next flush */
	size_t nmarks, capmarks;
	struct lle_cache_batch *batch;
	long long sent, cached;
};

struct run_cache *run_cache_open(const struct lle_run_opts *o, struct lle_err *err)
{
	struct run_cache *rc = calloc(1, sizeof(*rc));
	if (!rc) {
		lle_err_oom(err);
		return NULL;
	}
	rc->o = o;
	if (o->no_cache) {
		rc->c = lle_cache_open_none(err);
	} else {
		char *dflt = o->cache_path ? NULL : lle_cache_default_path(err);
		if (o->cache_path || dflt)
			rc->c = lle_cache_open(o->cache_path ? o->cache_path : dflt, NULL, err);
		free(dflt);
		rc->enabled = 1;
	}
	if (!rc->c) {
		free(rc);
		return NULL;
	}
	return rc;
}

int run_cache_enabled(const struct run_cache *rc) { return rc && rc->enabled; }

void run_cache_task_end(struct run_cache *rc)
{
	if (!rc)
		return;
	lle_cache_batch_free(rc->batch);
	rc->batch = NULL;
	free(rc->todo);
	rc->todo = NULL;
	rc->ntodo = 0;
	free(rc->marks);
	rc->marks = NULL;
	rc->nmarks = rc->capmarks = 0;
	rc->jrun = 0;
}

void run_cache_close(struct run_cache *rc)
{
	if (!rc)
		return;
	run_cache_task_end(rc);
	lle_cache_close(rc->c);
	free(rc->model_name);
	free(rc->extra);
	free(rc);
}

/* "a,b,c" -> the pieces, for base_url lists. */
static int split_urls(const char *s, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *copy = lle_strdup(s);
	if (!copy)
		return -1;
	for (char *save = NULL, *u = strtok_r(copy, ",", &save); u; u = strtok_r(NULL, ",", &save)) {
		char **nv = realloc(*out, (*n + 1) * sizeof(*nv));
		if (!nv || !(nv[*n] = lle_strdup(u))) {
			if (nv)
				*out = nv;
			free(copy);
			return -1;
		}
		*out = nv;
		(*n)++;
	}
	free(copy);
	return 0;
}

int run_cache_model(struct run_cache *rc, const struct plan_model *pm, const struct lle_backend *be,
		    struct lle_model *model, struct lle_err *err)
{
	rc->pm = pm;
	rc->sent = rc->cached = 0;
	free(rc->model_name);
	free(rc->extra);
	rc->model_name = lle_strdup(pm->name);
	/* Options that change answers: every backend option but those its
	 * table marks LLE_OPT_NO_IDENTITY (thread counts, the name of the key's
	 * variable). The URLs of a server (LLE_OPT_URL) are part of its identity
	 * already. */
	struct lle_buf args = LLE_BUF_INIT, urls = LLE_BUF_INIT;
	for (size_t i = 0; i < pm->noptions; i++) {
		const char *opt = pm->options[i], *eq = strchr(opt, '=');
		const struct lle_option *od = lle_backend_option(be, opt, eq ? (size_t)(eq - opt) : strlen(opt));
		if (od && (od->flags & LLE_OPT_NO_IDENTITY))
			continue;
		if (od && od->type == LLE_OPT_URL && eq) {
			lle_buf_printf(&urls, "%s%s", urls.n ? "," : "", eq + 1);
			continue;
		}
		lle_buf_printf(&args, "%s\n", opt);
	}
	/* What the plugin itself says identifies the model (its hook). */
	lle_model_identity_fn idf = rc->enabled ? lle_backend_identity_fn(be) : NULL;
	if (idf) {
		char id[1024] = "", ebuf[1024] = "";
		if (idf(model, id, sizeof(id), ebuf, sizeof(ebuf)) < 0) {
			lle_buf_free(&args);
			lle_buf_free(&urls);
			lle_secrets_scrub_buf(&pm->secrets, ebuf, sizeof(ebuf));
			return lle_err_set(err, LLE_EXIT_BACKEND, "model '%s': its identity for the cache: %s",
					   pm->name, ebuf);
		}
		id[sizeof(id) - 1] = '\0';
		lle_buf_printf(&args, "\nmodel_identity=%s\n", id);
	}
	struct lle_buf ex = LLE_BUF_INIT;
	lle_buf_printf(&ex, "chat=%d\nmax_length=%ld\n", rc->o->apply_chat_template, rc->o->max_length);
	rc->extra = lle_buf_detach(&ex);
	int r = 0;
	if (!rc->model_name || !rc->extra || args.oom || urls.oom) {
		r = lle_err_oom(err);
	} else if (!rc->enabled) {
		memset(rc->model_id, 0, sizeof(rc->model_id));
	} else if ((lle_backend_caps(be) & LLE_CAP_MODEL_FILE) || (!urls.n && access(pm->model, R_OK) == 0)) {
		/* a model file: its size, time and header say which model it is */
		r = lle_cache_model_id_gguf(pm->backend, pm->model, args.n ? lle_buf_str(&args) : NULL, rc->model_id, err);
	} else {
		/* a served model (or a backend's own model name): the URL set, if
		 * any, and the name */
		char **u = NULL;
		size_t nu = 0;
		if (split_urls(lle_buf_str(&urls), &u, &nu) < 0)
			r = lle_err_oom(err);
		else
			r = lle_cache_model_id_server(pm->backend, (const char *const *)u, nu, pm->model,
						      args.n ? lle_buf_str(&args) : NULL, rc->model_id, err);
		for (size_t i = 0; i < nu; i++)
			free(u[i]);
		free(u);
	}
	if (r < 0)
		lle_err_prefix(err, "model '%s'", pm->name);
	lle_buf_free(&args);
	lle_buf_free(&urls);
	return r;
}

int run_cache_key(const struct run_cache *rc, const struct lle_request *q, unsigned char key[RUN_KEY_LEN],
		  struct lle_err *err)
{
	struct lle_cache_req r = { 0 };
	r.kind = (int)q->kind;
	r.context = q->context;
	r.continuation = q->continuation;
	r.stop = q->until;
	r.n_stop = q->n_until;
	r.max_tokens = q->max_tokens;
	r.do_sample = q->temperature > 0;
	r.temperature = q->temperature;
	r.top_p = q->top_p;
	r.seed = q->seed;
	/* With a chat template the backend wraps the context: its name (NULL:
	 * the model's own) and the system message are part of the question. */
	if (rc->o->apply_chat_template) {
		r.chat_template = rc->pm ? rc->pm->chat_template : NULL;
		r.system_instruction = rc->o->system_instruction;
	}
	r.extra = rc->extra;
	return lle_cache_key(rc->model_id, &r, key, err);
}

int run_cache_task_begin(struct run_cache *rc, const char *task, const unsigned char (*keys)[RUN_KEY_LEN],
			 size_t n, struct lle_err *err)
{
	run_cache_task_end(rc);
	if (!rc->enabled)
		return 0;
	/* One journal per model and task (and shard): the name says which, and
	 * the model's identity tells two files of the same name apart. */
	char hex[2 * LLE_SHA256_LEN + 1];
	lle_sha256_hex(rc->model_id, hex);
	hex[12] = '\0';
	struct lle_buf name = LLE_BUF_INIT;
	lle_buf_printf(&name, "%s/%s", rc->model_name, task);
	if (rc->o->shard_n > 0)
		lle_buf_printf(&name, " shard %ld/%ld", rc->o->shard_i, rc->o->shard_n);
	lle_buf_printf(&name, " @%s", hex);
	if (name.oom)
		return lle_err_oom(err);
	int64_t *miss = NULL;
	size_t nmiss = 0;
	int r = lle_journal_begin(rc->c, lle_buf_str(&name), keys, n, &rc->jrun, err);
	lle_buf_free(&name);
	if (r < 0 || lle_journal_missing(rc->c, rc->jrun, &miss, &nmiss, err) < 0)
		return -1;
	rc->todo = calloc(n ? n : 1, 1);
	if (!rc->todo) {
		free(miss);
		return lle_err_oom(err);
	}
	rc->ntodo = n;
	for (size_t i = 0; i < nmiss; i++)
		if (miss[i] >= 0 && (size_t)miss[i] < n)
			rc->todo[miss[i]] = 1;
	free(miss);
	if (!(rc->batch = lle_cache_batch_new(rc->c, rc->jrun, BATCH_MAX, err)))
		return -1;
	lle_notef("cache: %s: %zu requests, %zu to send", task, n, nmiss);
	return 0;
}

int run_cache_lookup(struct run_cache *rc, const unsigned char key[RUN_KEY_LEN], int64_t jidx,
		     struct run_cached *out, struct lle_err *err)
{
	memset(out, 0, sizeof(*out));
	if (!rc->enabled)
		return 0;
	struct lle_cache_resp resp = { 0 };
	int r = lle_cache_lookup(rc->c, key, &resp, err);
	if (r <= 0)
		return r;
	out->logprob = resp.logprob;
	out->is_greedy = resp.is_greedy;
	out->n_tokens = (int)(resp.kind == CACHE_REQ_GENERATE_UNTIL ? resp.tokens_out : resp.tokens_in);
	out->text = resp.text;
	out->text_len = resp.text_len;
	resp.text = NULL;
	lle_cache_resp_free(&resp);
	if (jidx >= 0 && (size_t)jidx < rc->ntodo && rc->todo[jidx]) {
		/* another process answered it since the journal was read */
		if (rc->nmarks == rc->capmarks) {
			size_t cap = rc->capmarks ? 2 * rc->capmarks : 64;
			int64_t *nm = realloc(rc->marks, cap * sizeof(*nm));
			if (!nm) {
				free(out->text);
				out->text = NULL;
				return lle_err_oom(err);
			}
			rc->marks = nm;
			rc->capmarks = cap;
		}
		rc->marks[rc->nmarks++] = jidx;
		rc->todo[jidx] = 0;
	}
	return 1;
}

int run_cache_add(struct run_cache *rc, const unsigned char key[RUN_KEY_LEN], const struct lle_request *q,
		  const struct lle_result *res, const char *text, size_t text_len, double seconds, int64_t jidx,
		  struct lle_err *err)
{
	if (!rc->enabled || res->status != LLE_STATUS_OK)
		return 0;
	if (!rc->batch && !(rc->batch = lle_cache_batch_new(rc->c, 0, BATCH_MAX, err)))
		return -1;
	struct lle_cache_resp resp = { 0 };
	resp.kind = (int)q->kind;
	resp.logprob = res->logprob;
	resp.is_greedy = res->is_greedy;
	resp.text = (char *)(text ? text : "");
	resp.text_len = text ? text_len : 0; /* bytes: the text may hold NUL */
	if (q->kind == LLE_REQ_GENERATE_UNTIL)
		resp.tokens_out = res->n_tokens;
	else
		resp.tokens_in = res->n_tokens;
	resp.seconds = seconds;
	if (q->kind != LLE_REQ_GENERATE_UNTIL) {
		resp.text = NULL;
		resp.text_len = 0;
	}
	if (jidx >= 0 && (size_t)jidx < rc->ntodo)
		rc->todo[jidx] = 0;
	else
		jidx = -1;
	return lle_cache_batch_add(rc->batch, key, &resp, rc->jrun ? jidx : -1, err);
}

int run_cache_flush(struct run_cache *rc, struct lle_err *err)
{
	if (!rc->enabled)
		return 0;
	if (rc->batch && lle_cache_batch_flush(rc->batch, err) < 0)
		return -1;
	if (rc->nmarks && rc->jrun) {
		if (lle_journal_mark_done(rc->c, rc->jrun, rc->marks, rc->nmarks, err) < 0)
			return -1;
	}
	rc->nmarks = 0;
	return 0;
}

void run_cache_count(struct run_cache *rc, long long sent, long long cached)
{
	rc->sent += sent;
	rc->cached += cached;
}

void run_cache_counts(const struct run_cache *rc, long long *sent, long long *cached)
{
	*sent = rc ? rc->sent : 0;
	*cached = rc ? rc->cached : 0;
}

/* ---------- the run store ---------- */

struct lle_runstore *run_store_open(const struct lle_run_opts *o, struct lle_err *err)
{
	if (o->no_store)
		return NULL;
	char *dflt = o->store_path ? NULL : lle_runstore_default_path(err);
	if (!o->store_path && !dflt)
		return NULL;
	struct lle_runstore *rs = lle_runstore_open(o->store_path ? o->store_path : dflt, 0, err);
	free(dflt);
	return rs;
}

int run_store_add(struct lle_runstore *rs, const char *text, const char *path, long long *id,
		  struct lle_err *err)
{
	struct lle_run_record rec = { 0 };
	struct lle_sample_file *files = NULL;
	size_t nfiles = 0;
	int existed = 0, rc = -1;
	long long nscores = 0;
	*id = 0;
	if (lle_results_parse(text, strlen(text), path ? path : "results", &rec, err) < 0)
		goto out;
	if (path) {
		free(rec.file);
		if (!(rec.file = lle_strdup(path))) {
			lle_err_oom(err);
			goto out;
		}
		if (lle_results_sample_files(path, &files, &nfiles, err) < 0)
			goto out;
	} else {
		free(rec.file);
		rec.file = NULL;
	}
	rc = lle_runstore_add_with_samples(rs, &rec, files, nfiles, id, &existed, &nscores, err);
out:
	lle_sample_files_free(files, nfiles);
	lle_run_record_free(&rec);
	return rc;
}

void run_store_close(struct lle_runstore *rs)
{
	if (rs)
		lle_runstore_close(rs);
}
