/* Internal header of the OpenAI-compatible backend plugin (plugins/openai/):
 * the model, replica, job and transfer state, and the functions its files
 * share:
 *
 *   openai.c   plugin glue: the ABI entry, `open` and its options, close
 *   http.c     HTTP transport: the byte buffer, easy-handle pool, curl set-up,
 *              blocking calls with retries and backoff, error descriptions
 *   ready.c    wait_ready: probing the replicas, the server's tokenizer and
 *              its support for prompt log-probabilities
 *   body.c     request bodies: completions, chat, scoring and /tokenize
 *   answer.c   reading a server's answers: scores, tokens, generated text
 *   submit.c   the asynchronous engine: jobs, replicas, the multi loop
 *
 * Not installed; the plugin is built with -fvisibility=hidden, so none of
 * these names leaves it (only lle_backend_entry does). The fuzz driver
 * tests/fuzz/fuzz_openai_answer.c uses this header and links the files. */
#ifndef LLE_PLUGIN_OPENAI_H
#define LLE_PLUGIN_OPENAI_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <jansson.h>

#include "llm-eval/backend.h"

#define OA_VERSION "1.0"
#define GEN_DEFAULT_MAX 256
/* The largest answer body kept, decoded (max_response_mb); the default holds
 * the echo answer of a 128k-token window (about 80 bytes a token) with room. */
#define RESPONSE_MAX_DEFAULT (32.0 * 1024 * 1024)
/* The longest wait a Retry-After header may ask for (retry_after_max). */
#define RETRY_AFTER_MAX_DEFAULT 60.0
/* The largest log-probability accepted: 0, plus rounding in the server's
 * float32 log-softmax (a value in (0, LP_MAX] is summed as given, as
 * lm-evaluation-harness does). */
#define LP_MAX 1e-4
/* The largest context (max_model_len, max_length) and token count accepted. */
#define TOKENS_MAX (1 << 24)

/* ---- a growable byte buffer ------------------------------------------------ */

struct sbuf {
	char *p;
	size_t n, cap;
	int oom;
	size_t max;           /* 0: no limit; else more is refused (toolarge) */
	int toolarge;
};

/* ---- the model ------------------------------------------------------------- */

struct replica {
	char *api;            /* base URL of the OpenAI API (".../v1") */
	char *root;           /* the server root (/health, /tokenize) */
	int outstanding;
	int down;             /* taken out: probed again at retry_at */
	int fails;            /* transport failures in a row */
	double retry_at;
	double backoff;
	CURL *probe;          /* the /health probe in flight, or NULL */
	char last_err[256];
};

enum lp_mode { LP_AUTO = 0, LP_ECHO, LP_PROMPT, LP_NONE };

struct lle_model {
	char *model;          /* served model name */
	struct replica *reps;
	int nrep;
	struct curl_slist *headers;
	int num_concurrent;
	int max_retries;
	double timeout;       /* seconds per request */
	double backoff, backoff_max;
	double max_response;  /* bytes */
	double retry_after_max;
	int chat;
	int continue_final;   /* continue_final_message=1: say so with a final assistant turn */
	char *system;
	int max_length;
	int lp_mode;          /* enum lp_mode; after wait_ready: LP_ECHO, LP_PROMPT or LP_NONE */
	char *ll_tasks;       /* host hint: the tasks that need log-likelihoods */
	int32_t prefix_tok;   /* BOS from /tokenize(""), -1: none */
	int ready;            /* wait_ready done: 1 ok, -1 failed */
	char ready_err[1024];
	CURLM *multi;
	CURL **pool;          /* idle easy handles (keep their connections) */
	int npool, cappool;
	unsigned rng;
	/* counters for the benchmark (debug log) */
	long long n_http, n_retries;
};

struct hdr_info {
	double retry_after;
};

struct call {
	long status;
	CURLcode cc;
	struct sbuf resp;
	char curl_err[CURL_ERROR_SIZE];
	double retry_after;
};

enum step { ST_TOK_CTX = 1, ST_TOK_WHOLE, ST_TOK_CONT, ST_TOK_TEXT, ST_SCORE, ST_GEN, ST_DONE };

struct job {
	const struct lle_request *req;
	int step;
	int attempt;
	double wake;
	int inflight;
	char *body;               /* body of the current step */
	int32_t *ctx_t, *whole_t; /* tokens */
	int nctx, nwhole;
	int32_t *x;               /* the scored sequence of the current window */
	int nx, s;
	int32_t *text_t;          /* rolling: the text's tokens */
	int ntext, predicted;
	double lp;
	int greedy, ntok;
	int64_t nprompt;       /* a generation's usage.prompt_tokens, 0 when not given */
};

struct xfer {
	CURL *h;
	struct job *job;          /* NULL: a replica probe */
	struct replica *rep;
	struct sbuf resp;
	struct hdr_info hi;
	char curl_err[CURL_ERROR_SIZE];
};

/* The context tokens of one submission, shared by the requests that carry
 * the same context (the choices of a question): one /tokenize call each. */
struct ctx_ent {
	const char *ctx;          /* the request's pointer: the key */
	struct job *owner;        /* the job whose call is in progress, or NULL */
	int32_t *t;               /* the tokens once known */
	int n, ready;
};

struct run {
	struct lle_model *m;
	struct job *jobs;
	size_t n, ndone;
	int inflight;
	lle_complete_fn cb;
	void *user;
	struct ctx_ent *cache;    /* open addressing, ncache slots (a power of two) */
	size_t ncache;
};

/* ---- openai.c ----------------------------------------------------------------- */

/* The host's callbacks, set by lle_backend_entry. */
extern const struct lle_host *oa_host;

/* A message to the host's log (LLE_LOG_*). */
void oa_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- http.c ------------------------------------------------------------------- */

/* Seconds on the monotonic clock. */
double oa_now(void);

/* Append n bytes (kept NUL-terminated); sets oom or toolarge instead of failing. */
void oa_sb_add(struct sbuf *b, const void *d, size_t n);
/* Free the bytes; the limit max is kept. */
void oa_sb_free(struct sbuf *b);

/* An idle easy handle from the pool (or a new one, NULL on no memory), and
 * back into the pool (cleaned up when the pool cannot grow). */
CURL *oa_handle_get(struct lle_model *m);
void oa_handle_put(struct lle_model *m, CURL *h);

/* Set up an easy handle for one call; body NULL means GET. */
void oa_setup(struct lle_model *m, CURL *h, const char *url, const char *body, size_t blen,
	      struct sbuf *resp, struct hdr_info *hi, char *errbuf, double timeout);

/* The server's own message from an error answer, or its first characters. */
void oa_server_message(const char *body, size_t n, char *out, size_t len);

/* One blocking call (c filled, whatever happened). */
void oa_call_blocking(struct lle_model *m, const char *url, const char *body, double timeout,
		      struct call *c);
/* The answer was larger than max_response_mb. */
int oa_too_large(const struct sbuf *b, CURLcode cc);
/* What went wrong with a call, in one line. */
void oa_describe_fail(const struct call *c, char *out, size_t len);
/* Whether a failed call is worth another try. */
int oa_retryable(const struct call *c);
/* Seconds to wait before retry number attempt (exponential, jittered,
 * at least Retry-After up to retry_after_max). */
double oa_backoff_delay(struct lle_model *m, int attempt, double retry_after);
/* GET or POST with retries; 0 with c filled (any status), -1 when it never
 * got an answer worth returning (c says why). With need_json, an answer of
 * status 200 that does not parse is retried like a 5xx. */
int oa_call_retry(struct lle_model *m, const char *url, const char *body, int need_json, struct call *c);

/* ---- ready.c ------------------------------------------------------------------ */

/* Probe the replicas and the server's prompt log-probabilities, once. */
int oa_wait_ready(struct lle_model *m, char *err, size_t len);
/* Tokenise with the server: a malloc()ed array, its count in *n; -1 with err. */
int oa_tokenize_blocking(struct lle_model *m, struct replica *r, const char *text, int special,
			 int32_t **out, int *n, char *err, size_t len);

/* ---- body.c ------------------------------------------------------------------- */

/* The /completions body that scores the n tokens in mode (LP_ECHO or LP_PROMPT). */
char *oa_score_body(struct lle_model *m, const int32_t *toks, int n, int mode);
/* Build the body of the job's current step; -1 on no memory. */
int oa_build_body(struct run *R, struct job *j);

/* ---- answer.c ----------------------------------------------------------------- */

/* Sum the log-probabilities of the last s of the n prompt tokens: 0, -1 a
 * wrong answer, -2 not JSON (retried); err says why. */
int oa_parse_score(struct lle_model *m, const char *body, size_t blen, const int32_t *toks, int n, int s,
		   double *lp, int *greedy, char *err, size_t len);
/* The token ids of a /tokenize answer's array: malloc()ed, count in *n; NULL
 * with *bad the index of an entry that is not an integer in 0..INT32_MAX (or
 * the array longer than TOKENS_MAX), or with *bad < 0 out of memory. */
int32_t *oa_tokens_from(json_t *t, int *n, int *bad);
/* Set the window to score: x = seq[0, n) with its last s tokens scored, cut
 * from the left to max_length + 1 tokens as the llama.cpp backend does. */
int oa_set_window(struct lle_model *m, struct job *j, const int32_t *a, int na, const int32_t *b, int nb, int s);
/* A successful (HTTP 200) answer to the job's step. 0: handled (advanced or
 * finished); 1: unreadable, retry; the message in why. */
int oa_on_answer(struct run *R, struct job *j, struct replica *r, struct sbuf *resp, char *why, size_t wl);

/* ---- submit.c ----------------------------------------------------------------- */

/* The submission's context-token slot of ctx, or NULL (no table, or full). */
struct ctx_ent *oa_ctx_slot(struct run *R, const char *ctx);
/* Free what the job holds. */
void oa_job_clear(struct job *j);
/* Hand the job's result to the host, once; the job is done. */
void oa_finish(struct run *R, struct job *j, int status, const char *error, const char *text, size_t tlen);
void oa_fail_job(struct run *R, struct job *j, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The replica that is up with the fewest requests outstanding, or NULL. */
struct replica *oa_pick(struct lle_model *m);
/* The backend's submit. */
int oa_submit(struct lle_model *m, const struct lle_request *reqs, size_t n, lle_complete_fn cb,
	      void *user, char *err, size_t len);

#endif
