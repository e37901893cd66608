/* The response cache and the run journal: one SQLite file in WAL mode.
 *
 * The cache maps a key (SHA-256 over a canonical, versioned encoding of
 * everything that determines a backend's answer: the model identity, the
 * request kind and every argument that matters for it) to the response and its
 * timings. `put` commits before it returns, so a response that was put survives
 * a kill -9 (and, with the default LLE_CACHE_SYNC_FULL, a power loss).
 *
 * The journal lives in the same file so that "this request is done" and "its
 * response is stored" are one transaction: per run, the list of requests
 * (index, key) and which are done, with a partial index on the ones not done,
 * so a resumed run lists what is missing without scanning what is done.
 * A run name is chosen by the caller (the run command derives it from the run's
 * configuration, and includes the shard i/N when sharding).
 *
 * Not here: deciding what to request, talking to backends, scoring. Several
 * processes may share one cache file; each write is a short IMMEDIATE
 * transaction, and readers never block writers (WAL). */
#ifndef LLE_STORE_CACHE_H
#define LLE_STORE_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"
#include "util/sha256.h"

enum lle_req_kind {
	LLE_REQ_LOGLIKELIHOOD = 1,         /* context, continuation -> logprob, is_greedy */
	LLE_REQ_LOGLIKELIHOOD_ROLLING = 2, /* context -> logprob */
	LLE_REQ_GENERATE_UNTIL = 3,        /* context, stops, sampling -> text */
};

/* One request, as far as the cache key is concerned. Strings are UTF-8, NUL-terminated. */
struct lle_cache_req {
	int kind;                        /* enum lle_req_kind */
	const char *context;             /* the prompt (required) */
	const char *continuation;        /* LLE_REQ_LOGLIKELIHOOD */
	const char *const *stop;         /* LLE_REQ_GENERATE_UNTIL: stop strings (order does not matter) */
	size_t n_stop;
	long max_tokens;                 /* LLE_REQ_GENERATE_UNTIL */
	int do_sample;                   /* sampled when do_sample and temperature > 0 */
	double temperature, top_p;       /* in the key only for sampled generations */
	uint64_t seed;                   /* in the key only for sampled generations */
	const char *chat_template;       /* applied by the backend, or NULL */
	const char *system_instruction;  /* or NULL */
	const char *extra;               /* any other argument that changes the answer, in a canonical text form, or NULL */
};

struct lle_cache_resp {
	int kind;              /* enum lle_req_kind */
	double logprob;        /* loglikelihood kinds: sum of log-probabilities */
	int is_greedy;         /* LLE_REQ_LOGLIKELIHOOD */
	char *text;            /* LLE_REQ_GENERATE_UNTIL; a lookup malloc()s it (free with lle_cache_resp_free) */
	size_t text_len;
	long tokens_in, tokens_out;
	double seconds;        /* time the backend took for this request */
};

/* LLE_CACHE_SYNC_FULL (default): each commit is fsync()ed, durable across power loss.
 * LLE_CACHE_SYNC_NORMAL: durable across a process crash (kill -9), not a power loss. */
enum lle_cache_sync { LLE_CACHE_SYNC_FULL = 0, LLE_CACHE_SYNC_NORMAL = 1 };

struct lle_cache_opts {
	int sync;              /* enum lle_cache_sync */
	int busy_timeout_ms;   /* how long to wait for another writer; 0 means 30000 */
	int readonly;          /* open for stats/lookup only; never creates the file */
};

struct lle_cache;

/* $XDG_CACHE_HOME/llm-eval/cache.sqlite, malloc()ed; NULL (err set) when neither XDG_CACHE_HOME nor HOME is set. */
char *lle_cache_default_path(struct lle_err *err);
/* Open (creating the file and its directory unless readonly). opts may be NULL. */
struct lle_cache *lle_cache_open(const char *path, const struct lle_cache_opts *opts, struct lle_err *err);
/* The "no cache" mode: every lookup misses, puts and journal calls do nothing. */
struct lle_cache *lle_cache_open_none(struct lle_err *err);
void lle_cache_close(struct lle_cache *c);
/* The file, or NULL in no-cache mode. */
const char *lle_cache_path(const struct lle_cache *c);
/* How many stored records lookups found damaged (failing their checksum, or
 * not a possible response): each was a miss, the first one warned about. */
long long lle_cache_bad_records(const struct lle_cache *c);

/* Model identities (32 bytes) to key requests with.
 * GGUF: the backend name, the file's size, modification time (ns) and the
 * SHA-256 of its first MiB (header and tensor index), and args (backend options
 * that change answers, canonical text, or NULL). */
int lle_cache_model_id_gguf(const char *backend, const char *path, const char *args,
			    unsigned char id[LLE_SHA256_LEN], struct lle_err *err);
/* A server: the backend name, the set of base URLs (order and a trailing '/'
 * do not matter), the served model name and args. */
int lle_cache_model_id_server(const char *backend, const char *const *urls, size_t n_urls,
			      const char *served_model, const char *args,
			      unsigned char id[LLE_SHA256_LEN], struct lle_err *err);
/* The key of one request for one model. */
int lle_cache_key(const unsigned char model_id[LLE_SHA256_LEN], const struct lle_cache_req *req,
		  unsigned char key[LLE_SHA256_LEN], struct lle_err *err);

/* 1 and *out filled on a hit, 0 on a miss, -1 on error. A stored record
 * that fails its checksum is a miss (see lle_cache_bad_records), and the next
 * put of its key replaces it. */
int lle_cache_lookup(struct lle_cache *c, const unsigned char key[LLE_SHA256_LEN],
		     struct lle_cache_resp *out, struct lle_err *err);
void lle_cache_resp_free(struct lle_cache_resp *r);

/* One response to store; journal_idx >= 0 also marks that request of the
 * journal run given to put_batch done, in the same transaction. */
struct lle_cache_entry {
	const unsigned char *key;          /* 32 bytes */
	const struct lle_cache_resp *resp;
	int64_t journal_idx;               /* or -1 */
};
/* Store one response; committed when it returns 0. A key already present keeps
 * its first value (the same request gives the same answer), unless that value
 * is a damaged record. */
int lle_cache_put(struct lle_cache *c, const unsigned char key[LLE_SHA256_LEN],
		  const struct lle_cache_resp *resp, struct lle_err *err);
/* Store n responses in one transaction (all or none), marking journal entries
 * of journal_run (0 for none) done. */
int lle_cache_put_batch(struct lle_cache *c, int64_t journal_run, const struct lle_cache_entry *e,
			size_t n, struct lle_err *err);

/* A batch of responses waiting to be committed together: the run command adds
 * each response as it completes and the batch commits itself every max_n
 * responses (one fsync for all of them); flush commits the rest. A response
 * counts as done only once a call has reported it committed. Keys and texts
 * are copied, so the caller's buffers may go at once. */
struct lle_cache_batch;
struct lle_cache_batch *lle_cache_batch_new(struct lle_cache *c, int64_t journal_run, size_t max_n,
					    struct lle_err *err);
/* Add one response (journal_idx as in struct lle_cache_entry). Returns the
 * number of responses this call committed (0, or all that were pending), -1 on
 * error (the pending responses stay pending; flush may be tried again). */
int lle_cache_batch_add(struct lle_cache_batch *b, const unsigned char key[LLE_SHA256_LEN],
			const struct lle_cache_resp *resp, int64_t journal_idx, struct lle_err *err);
/* Commit what is pending; returns how many, or -1. */
int lle_cache_batch_flush(struct lle_cache_batch *b, struct lle_err *err);
size_t lle_cache_batch_pending(const struct lle_cache_batch *b);
/* Free the batch; what is still pending is dropped (flush first). */
void lle_cache_batch_free(struct lle_cache_batch *b);

struct lle_cache_stats {
	long long entries, n_loglikelihood, n_rolling, n_generate;
	long long text_bytes;
	long long file_bytes;      /* the database file plus its WAL */
	long long oldest, newest;  /* Unix times of the first and last put, 0 when empty */
	long long journal_runs;
};
int lle_cache_stats(struct lle_cache *c, struct lle_cache_stats *st, struct lle_err *err);
/* Remove every response and journal; *removed is the number of responses. */
int lle_cache_clear(struct lle_cache *c, long long *removed, struct lle_err *err);

/* --- run journal --- */

/* Register a run's requests (keys[i] is request i) under name, creating or
 * updating the run; requests whose response is already cached are marked done.
 * *run_id identifies the run for the calls below. */
int lle_journal_begin(struct lle_cache *c, const char *name, const unsigned char (*keys)[LLE_SHA256_LEN],
		      size_t n, int64_t *run_id, struct lle_err *err);
/* The indices of the requests not done, ascending (malloc()ed, free() them). */
int lle_journal_missing(struct lle_cache *c, int64_t run_id, int64_t **idx, size_t *n, struct lle_err *err);
/* Mark requests done (e.g. found in the cache after another process put them). */
int lle_journal_mark_done(struct lle_cache *c, int64_t run_id, const int64_t *idx, size_t n, struct lle_err *err);
/* Progress of the run called name: 1 found (total, done set), 0 no such run, -1 error. */
int lle_journal_progress(struct lle_cache *c, const char *name, long long *total, long long *done,
			 struct lle_err *err);
/* Call fn for each journal run (for `cache stats`); a non-zero return stops. */
int lle_journal_each(struct lle_cache *c,
		     int (*fn)(void *arg, const char *name, long long total, long long done, long long created),
		     void *arg, struct lle_err *err);

#endif
