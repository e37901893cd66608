/* Internal header of the llama.cpp backend plugin (plugins/llamacpp/): the
 * model state shared by plugin.c (ABI glue, background loading) and the
 * evaluator: eval.c (set-up, the batched, prefix-sharing decode, submit),
 * tokenise.c, score.c and gen.c. Not installed; the plugin is built with
 * -fvisibility=hidden, so none of these names leaves it. */
#ifndef LLE_PLUGIN_LLAMACPP_H
#define LLE_PLUGIN_LLAMACPP_H

#include <pthread.h>
#include <stddef.h>

#include "llama.h"
#include "llm-eval/backend.h"

extern const struct lle_host *lc_host;

enum lc_state { LC_LOADING = 0, LC_READY = 1, LC_FAILED = -1 };

/* threads.c: a sample of the machine's and this process's CPU time */
struct lc_load_sample {
	double busy;           /* seconds all CPUs were busy since boot */
	double own;            /* this process's CPU seconds */
	double wall;           /* monotonic clock; 0: no sample */
	int ncpu;
};

struct lle_model {
	/* set by open, read-only afterwards */
	char *path;
	int max_length;        /* tokens a request may use (lm-evaluation-harness max_length) */
	int n_threads;         /* given, or the default (the most auto_threads uses) */
	int auto_threads;      /* n_threads was not given: follow the machine's load (threads.c) */
	int n_threads_cur;     /* what llama.cpp uses now */
	struct lc_load_sample load_prev; /* the last measurement (threads.c) */
	int adapted;           /* a count was decided from a measurement */
	int n_parallel;        /* sequences besides the prefix sequence 0 */
	int n_batch;           /* tokens per llama_decode */
	int kv_size;           /* KV cells, shared by all sequences (unified cache) */
	int flash_attn;        /* -1 auto, 0 off, 1 on */
	int unified;           /* one KV cache for all sequences, or a stream each */
	int exact;             /* score one sequence at a time, bit-reproducibly (score.c) */
	int poll;              /* polling level of the thread pool, 0 (sleep) .. 100 (threads.c) */
	int n_gpu_layers;      /* layers offloaded where llama.cpp has a GPU */
	int chat;              /* apply the chat template */
	int special_tokens;    /* option: contexts are rendered chats: special-token text parsed, no BOS added */
	char *chat_name;       /* template name asked for, or NULL */
	char *system;          /* system message, or NULL */

	/* the background load */
	pthread_t thread;
	int thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int state;             /* enum lc_state, under mu */
	char load_err[512];

	/* after LC_READY, used by one submit at a time (the host serialises) */
	struct llama_model *model;
	struct llama_context *ctx;
	int ctx_seqs;          /* the sequences ctx was made for (lc_make_context) */
	int ctx_stream_len;    /* 0: ctx as the options say; else a KV stream of this
				* many cells per sequence (generation, gen.c) */
	int spare_seq;         /* the sequence lc_decode_items pads lone tokens with */
	int gen_streams;       /* option: sequences generating at once, each in a
				* stream of its own; 0: in the shared cache */
	struct ggml_threadpool *tp; /* ours, attached to ctx; NULL: llama.cpp's own (threads.c) */
	int tp_threads, tp_poll; /* its threads and polling level */
	struct ggml_threadpool *tp_spare; /* the pool before, kept or freed at the next change */
	int tp_spare_threads, tp_spare_poll;
	struct ggml_threadpool *tp_used; /* the pool of the last decode (llama.cpp's backend holds it) */
	struct ggml_threadpool *(*tp_new)(struct ggml_threadpool_params *);
	void (*tp_free)(struct ggml_threadpool *);
	const struct llama_vocab *vocab;
	const char *tmpl;      /* chat template text or name, when chat */
	int n_vocab;
	int add_bos;           /* the vocabulary asks for a BOS */
	int spm_shortcut;      /* option, then: continuations may be tokenised from a split (tokenise.c) */
	int spm_space_prefix;  /* llama.cpp puts a space before text it tokenises */
	llama_token prefix_tok; /* BOS, or EOS when there is no BOS: empty contexts, rolling windows */
	struct llama_batch batch;
	llama_token *pre;      /* tokens held by sequence 0, the shared prefix */
	int n_pre, cap_pre;
	int canonical;         /* the cache holds sequence 0 alone, each token in the
				* cell of its position (score.c, the exact evaluator) */
	double *scratch;       /* n_vocab doubles */
	struct llama_token_data *cand; /* n_vocab candidates for sampling */

	/* counters for benchmarks (see lc_stats) */
	long long n_decoded;   /* tokens given to llama_decode */
	long long n_naive;     /* tokens a one-request-at-a-time evaluation would decode */
	long long n_calls;     /* llama_decode calls */
	long long n_rows;      /* rows of logits computed (read or not) */
	double t_decode;       /* seconds spent in llama_decode */
};

/* plugin.c */
void *lc_alloc(size_t n);
void *lc_realloc(void *p, size_t n);
void lc_free(void *p);
void lc_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* (Re)create m->ctx for n_seq sequences, with an empty cache: as the
 * options say (stream_len 0), or a KV stream of stream_len cells for each
 * sequence. 0 or -1. */
int lc_make_context(struct lle_model *m, int n_seq, int stream_len, char *err, size_t err_len);

/* threads.c: take a sample (0, or -1 without /proc); the CPUs others held
 * between two samples (-1: no measure); threads for a machine of ncpu CPUs
 * of which others hold that many, at most max; and, when auto_threads,
 * measure now and then and set llama.cpp's thread count (called before each
 * decode, which the pools rely on). */
int lc_load_sample(struct lc_load_sample *s);
double lc_others_cpus(const struct lc_load_sample *a, const struct lc_load_sample *b);
int lc_threads_for(int ncpu, int max, double others);
/* whether a measurement is due `since` seconds after the last sample: the
 * first decision as soon as the sample is long enough, later ones less often */
int lc_adapt_due(double since, int first);
/* the polling level of a pool: the option's, but none while the default
 * count waits for its first decision */
int lc_pool_poll(int poll, int auto_threads, int adapted);
void lc_threads_adapt(struct lle_model *m);
/* threads.c: give a new m->ctx a pool of m->n_threads_cur threads (llama.cpp's
 * own pools when the CPU backend makes none) and tell llama.cpp the count;
 * change the count (and the pool) of m->ctx, between two decode calls, each
 * of which follows an lc_threads_adapt; free the pools, after the context. */
#define LC_POLL_DEFAULT 50
void lc_pool_attach(struct lle_model *m);
void lc_set_threads(struct lle_model *m, int n);
void lc_pool_free(struct lle_model *m);

/* The evaluator (eval.h has what its files share among themselves).
 * eval.c: */
int lc_submit(struct lle_model *m, const struct lle_request *reqs, size_t n, lle_complete_fn cb,
	      void *cb_user, char *err, size_t err_len);
/* tokenise.c: tokenise text; *out is lc_alloc()ed. Returns the count or -1. */
int lc_tokenize(struct lle_model *m, const char *text, size_t len, int add_special,
		llama_token **out);
/* eval.c: set up what the evaluator needs once the model is loaded; 0 or -1 with err. */
int lc_eval_init(struct lle_model *m, char *err, size_t err_len);
void lc_eval_free(struct lle_model *m);

#endif
