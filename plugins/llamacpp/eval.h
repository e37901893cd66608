/* Internal header of the llama.cpp evaluator (plugins/llamacpp/): what
 * eval.c (set-up, the decode packer, the prefix sequence, submit),
 * tokenise.c, score.c and gen.c share. Not installed; none of these names
 * leaves the plugin (it is built with -fvisibility=hidden). */
#ifndef LLE_PLUGIN_LLAMACPP_EVAL_H
#define LLE_PLUGIN_LLAMACPP_EVAL_H

#include <stddef.h>

#include "llamacpp.h"

/* eval.c */

/* Seconds on the monotonic clock. */
double lc_now(void);

/* A run of tokens to append to one sequence. Tokens at index >= logit_from
 * get logits, handed to the item's owner through on_row. */
struct item {
	int seq;
	int pos0;
	const llama_token *toks;
	int n;
	int logit_from;
	int owner;     /* index of the group / unit / generation slot */
};

typedef int (*row_fn)(struct lle_model *m, void *user, const struct item *it, int j,
		      const float *logits);


/* Decode all items, n_batch tokens per llama_decode, items in order; rows of
 * logits go to fn (see eval.c for why no call has exactly one token or one
 * logit). 0, or -1 with err. */
int lc_decode_items(struct lle_model *m, const struct item *items, int nitems, row_fn fn,
		    void *user, char *err, size_t len);
/* Make sequence 0 hold exactly toks[0, n): keep what it shares, decode the rest. */
int lc_set_prefix(struct lle_model *m, const llama_token *toks, int n, char *err, size_t len);
/* Drop every sequence but the prefix. */
void lc_clear_work_seqs(struct lle_model *m);
/* Out of memory before any bookkeeping exists: fail each request, with no
 * allocation needed to say so. */
void lc_fail_all(const struct lle_request *reqs, const size_t *idx, size_t n,
		 lle_complete_fn cb, void *user);

/* Scoring: a unit is an input T of n tokens whose last s logits predict s
 * targets (see eval.c's head). */
struct unit {
	llama_token *toks;   /* T, n tokens (owned) */
	int n;
	int s;               /* scored targets */
	llama_token *tgt;    /* s targets (owned) */
	int g;               /* group part: T[0, g) */
	size_t req;          /* request index */
	int win;             /* window index within the request */
	double lp;
	int greedy;
	int group;           /* group index after sorting */
	int seq;
};

struct score_req {
	int n_units, n_done;
	double *win_lp;      /* per window (rolling), summed in window order at the end */
	int greedy;
	int n_tokens;
	int64_t n_read;      /* tokens of every unit, the input the model read */
	int failed;
	int reported;        /* the callback has been called */
	char err[160];
};

struct score {
	struct unit *u;
	int nu, capu;
	int *order;          /* units sorted */
	struct score_req *rq;
	/* groups: ranges of order[] */
	int *gstart;         /* first sorted position of each group; gstart[ng] = nu */
	int ng;
	int *gseq;
	char *ctx_text;      /* the last context tokenised, and its tokens */
	size_t ctx_len;
	llama_token *ctx_toks;
	int ctx_n;
	size_t ctx_split;    /* its SPM split (see spm_split), or 0 */
	int ctx_nseg;        /* tokens of the context from the split on */
	int n_short;         /* continuations tokenised by that shortcut */
	int n_ctx_short;     /* contexts tokenised from the last one (spm_context) */
};


/* tokenise.c */

/* Whether continuations may be tokenised from a SentencePiece split (see
 * tokenise.c); sets m->spm_space_prefix. */
int lc_spm_shortcut_ok(struct lle_model *m);
/* Tokenise requests reqs[idx[k]] into sc's units, in request order, on up to
 * m->n_threads threads; failed requests are marked in sc->rq. -1 out of memory. */
int lc_tokenise_requests(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
			 size_t nidx, struct score *sc);

/* score.c */

/* Order of token strings: element by element, then the shorter first. */
int lc_cmp_toks(const llama_token *a, int na, const llama_token *b, int nb);
/* Score requests idx[0..nidx) of reqs (loglikelihood, loglikelihood_rolling),
 * handing each result to cb. Errors go to the callbacks too; always 0. */
int lc_run_scoring(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
		   size_t nidx, lle_complete_fn cb, void *user, char *err, size_t len);

/* argmax.c: the first index of the largest of v[0..n) as a loop with `>`
 * finds it (NaNs passed over; 0 when there is none). */
int lc_argmax(const float *v, int n);

/* gen.c */

/* Generate for requests idx[0..nidx) of reqs (generate_until), handing each
 * result to cb. Errors go to the callbacks too; always 0. */
int lc_run_generation(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
		      size_t nidx, lle_complete_fn cb, void *user, char *err, size_t len);

#endif
