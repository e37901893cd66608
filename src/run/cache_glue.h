/* What ties a run to the store (cache_glue.c): the response cache looked up
 * before each chunk's submission and written as responses complete (in
 * batches, one commit per chunk), the run journal per model and task, the
 * counters of requests sent and found, and the run store that gets each
 * model's results. Internal to src/run/.
 *
 * The engine calls, per model: run_cache_model; per task: run_cache_task_begin
 * (with the keys of all its requests, from a pass that only builds prompts) and
 * run_cache_task_end; per chunk: run_cache_key / run_cache_lookup for every
 * request, run_cache_add for each response that completes, run_cache_flush
 * before the chunk is scored. With --no-cache every call does nothing and
 * every lookup misses. */
#ifndef LLE_RUN_CACHE_GLUE_H
#define LLE_RUN_CACHE_GLUE_H

#include <stddef.h>
#include <stdint.h>

#include "llm-eval/backend.h"
#include "run/plan.h"
#include "util/err.h"

#define RUN_KEY_LEN 32

struct run_cache;

/* Open the cache of the run (o->cache_path, the default, or none with o->no_cache). */
struct run_cache *run_cache_open(const struct lle_run_opts *o, struct lle_err *err);
void run_cache_close(struct run_cache *rc);
/* Whether responses are cached at all (not --no-cache). */
int run_cache_enabled(const struct run_cache *rc);
/* The model's identity: computed once per model, before its first request. */
int run_cache_model(struct run_cache *rc, const struct plan_model *pm, const struct lle_backend *be,
		    struct lle_model *model, struct lle_err *err);

/* The key of one request of the current model. */
int run_cache_key(const struct run_cache *rc, const struct lle_request *q, unsigned char key[RUN_KEY_LEN],
		  struct lle_err *err);

/* The journal of one task of the current model: keys[i] is request i of the
 * task, in the order the engine sends them. */
int run_cache_task_begin(struct run_cache *rc, const char *task, const unsigned char (*keys)[RUN_KEY_LEN],
			 size_t n, struct lle_err *err);
void run_cache_task_end(struct run_cache *rc);

/* A cached response: 1 and *out filled on a hit (free out->text), 0 on a miss.
 * jidx: the request's index in the task's journal (-1 for none); a hit the
 * journal did not know of (another process put it) is marked done at the next flush. */
struct run_cached {
	double logprob;
	int is_greedy, n_tokens;
	char *text;
	size_t text_len;
};
int run_cache_lookup(struct run_cache *rc, const unsigned char key[RUN_KEY_LEN], int64_t jidx,
		     struct run_cached *out, struct lle_err *err);
/* A completed response to store (only status OK ones are stored): text is
 * text_len bytes and may hold NUL. Returns how many responses this call
 * committed, or -1. */
int run_cache_add(struct run_cache *rc, const unsigned char key[RUN_KEY_LEN], const struct lle_request *q,
		  const struct lle_result *res, const char *text, size_t text_len, double seconds, int64_t jidx,
		  struct lle_err *err);
/* Commit what is pending (and journal marks); the chunk's responses count only after this. */
int run_cache_flush(struct run_cache *rc, struct lle_err *err);

/* Requests of the current model: sent to the backend, and found in the cache. */
void run_cache_count(struct run_cache *rc, long long sent, long long cached);
void run_cache_counts(const struct run_cache *rc, long long *sent, long long *cached);

/* --- the run store --- */
struct lle_runstore;
/* Open the store of the run (o->store_path, the default); NULL without error with --no-store. */
struct lle_runstore *run_store_open(const struct lle_run_opts *o, struct lle_err *err);
/* Add one model's results: text is the results JSON exactly as written to
 * path (NULL when no file was written), so a later `results import` of the
 * file finds the run already there. *id gets the run's id. */
int run_store_add(struct lle_runstore *rs, const char *text, const char *path, long long *id,
		  struct lle_err *err);
void run_store_close(struct lle_runstore *rs);

#endif
