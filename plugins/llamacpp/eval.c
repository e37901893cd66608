/* The llama.cpp evaluator: tokenisation as lm-evaluation-harness does it, and
 * a batched evaluator that decodes every shared context once.
 *
 * Scoring (loglikelihood, loglikelihood_rolling). Every request becomes one or
 * more "units": an input T of n tokens and s scored tokens, where the logits at
 * positions n-s .. n-1 of T predict the s targets. The first g = n-s+1 tokens
 * of T are the unit's "group part": they need one logit only (the last), so
 * units with the same group part (all choices of a multiple-choice question)
 * share it. Units are sorted by (group part, T), which makes the work
 * independent of the order requests come in, and puts equal group parts side
 * by side. Then:
 *   - the longest common prefix P of all group parts of the batch (the
 *     few-shot prefix of a task) is decoded once into sequence 0 and kept
 *     across submits; a later batch reuses what it shares with it;
 *   - in waves that fit the sequences and KV cells, each group copies [0, P)
 *     of sequence 0 (llama_memory_seq_cp: in the unified cache it shares the
 *     cells, nothing is copied) and decodes the rest of its group part with the
 *     logit of its last token, which scores the first target of every unit of
 *     the group; a continuation of one token (MMLU's " A") needs nothing more;
 *   - each unit with more targets copies its group's sequence and decodes its
 *     own tokens with logits.
 * Many sequences go into each llama_decode call. Log-softmax is computed in
 * double from the float logits; a unit's log-probability is summed in target
 * order, so it does not depend on how tokens were batched.
 *
 * Generation (generate_until) uses the same prefix sequence; each request's
 * prompt is decoded in its own sequence and then one token per sequence and
 * step, many sequences per decode, refilling freed sequences as requests end.
 *
 * What it does not do: speculative decoding, recurrent or encoder-decoder
 * models (llama.cpp's KV-cache sharing needs a transformer decoder). */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "llamacpp.h"

#define GEN_DEFAULT_MAX 256

/* ---- small helpers -------------------------------------------------------- */

static double lc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int lc_tokenize(struct lle_model *m, const char *text, size_t len, int add_special,
		llama_token **out)
{
	*out = NULL;
	if (len > (size_t)INT32_MAX / 2)
		return -1;
	int cap = (int)len + 8;
	llama_token *t = lc_alloc(sizeof(llama_token) * (size_t)cap);
	if (!t)
		return -1;
	int parse_special = m->chat; /* chat templates carry special-token text */
	int n = llama_tokenize(m->vocab, text, (int32_t)len, t, cap, add_special, parse_special);
	if (n < 0 && n != INT32_MIN) {
		cap = -n;
		llama_token *t2 = lc_realloc(t, sizeof(llama_token) * (size_t)cap);
		if (!t2) {
			lc_free(t);
			return -1;
		}
		t = t2;
		n = llama_tokenize(m->vocab, text, (int32_t)len, t, cap, add_special, parse_special);
	}
	if (n < 0) {
		lc_free(t);
		return -1;
	}
	*out = t;
	return n;
}

/* Whether ll_units may take the SentencePiece shortcut (see spm_split): an
 * SPM vocabulary with no user-defined tokens (llama.cpp splits the text at
 * those first), no token with "▁" right after another character, and no chat
 * template (whose special-token text splits the text too). Also learns
 * whether llama.cpp puts a space before the text. */
static int spm_shortcut_ok(struct lle_model *m)
{
	if (!m->spm_shortcut || m->chat || llama_vocab_type(m->vocab) != LLAMA_VOCAB_TYPE_SPM)
		return 0;
	for (llama_token t = 0; t < m->n_vocab; t++) {
		if (llama_vocab_get_attr(m->vocab, t) & LLAMA_TOKEN_ATTR_USER_DEFINED)
			return 0;
		const char *x = llama_vocab_get_text(m->vocab, t);
		if (!x)
			return 0;
		/* every "▁" is first or after another "▁" */
		for (const char *p = strstr(x, "\xe2\x96\x81"); p; p = strstr(p + 3, "\xe2\x96\x81"))
			if (p > x && !(p - x >= 3 && memcmp(p - 3, "\xe2\x96\x81", 3) == 0))
				return 0;
	}
	/* "zq" comes back as " z..." when llama.cpp adds the space prefix */
	llama_token *t = NULL;
	char piece[64];
	int n = lc_tokenize(m, "zq", 2, 0, &t), np = 0;
	if (n > 0)
		np = llama_token_to_piece(m->vocab, t[0], piece, sizeof(piece), 0, false);
	lc_free(t);
	if (np <= 0)
		return 0;
	m->spm_space_prefix = piece[0] == ' ';
	return 1;
}

int lc_eval_init(struct lle_model *m, char *err, size_t len)
{
	m->n_vocab = llama_vocab_n_tokens(m->vocab);
	m->add_bos = llama_vocab_get_add_bos(m->vocab);
	llama_token bos = llama_vocab_bos(m->vocab), eos = llama_vocab_eos(m->vocab);
	m->prefix_tok = bos != LLAMA_TOKEN_NULL ? bos : eos;
	if (m->prefix_tok == LLAMA_TOKEN_NULL) {
		snprintf(err, len, "model '%s' has neither a BOS nor an EOS token", m->path);
		return -1;
	}
	m->spm_shortcut = spm_shortcut_ok(m);
	lc_log(LLE_LOG_DEBUG, "llamacpp: SentencePiece shortcut for continuations: %s",
	       m->spm_shortcut ? "yes" : "no");
	m->batch = llama_batch_init(m->n_batch, 0, 1);
	m->scratch = lc_alloc(sizeof(double) * (size_t)m->n_vocab);
	m->cand = lc_alloc(sizeof(struct llama_token_data) * (size_t)m->n_vocab);
	if (!m->batch.token || !m->scratch || !m->cand) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	/* Warm up, as llama.cpp's tools do: one small decode touches every
	 * weight (paging in a memory-mapped model) and the compute buffers, here
	 * on the loading thread, while the host builds requests, rather than in
	 * the first request. Its cells are dropped again. */
	llama_token warm[2] = { m->prefix_tok, m->prefix_tok };
	struct llama_batch wb = llama_batch_get_one(warm, 2);
	if (llama_decode(m->ctx, wb) != 0)
		lc_log(LLE_LOG_DEBUG, "llamacpp: the warm-up decode failed (the first request will tell)");
	llama_synchronize(m->ctx);
	llama_memory_clear(llama_get_memory(m->ctx), false);
	m->canonical = 1;
	return 0;
}

void lc_eval_free(struct lle_model *m)
{
	if (m->batch.token)
		llama_batch_free(m->batch);
	m->batch.token = NULL;
	lc_free(m->scratch);
	lc_free(m->cand);
	lc_free(m->pre);
	m->scratch = NULL;
	m->cand = NULL;
	m->pre = NULL;
}

/* Whitespace as Python's str.rstrip() sees it, ASCII part. */
static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
	       (c >= 0x1c && c <= 0x1f);
}

/* Log-softmax of one logits row, in double: fills the row summary once so
 * several targets can be scored from the same row. */
struct row {
	double max, logsum;
	int argmax;
	const float *logits;
};

static void row_init(struct row *r, const float *logits, int nv)
{
	int arg = 0;
	float mx = logits[0];
	for (int i = 1; i < nv; i++)
		if (logits[i] > mx) {
			mx = logits[i];
			arg = i;
		}
	double sum = 0;
	for (int i = 0; i < nv; i++)
		sum += exp((double)logits[i] - (double)mx);
	r->max = mx;
	r->logsum = log(sum);
	r->argmax = arg;
	r->logits = logits;
}

static double row_logprob(const struct row *r, llama_token t)
{
	return (double)r->logits[t] - r->max - r->logsum;
}

/* ---- the decode packer ---------------------------------------------------- */

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

/* Decode all items, n_batch tokens per llama_decode, items in order.
 *
 * Every call has at least two tokens and never exactly one logit: llama.cpp's
 * CPU kernels take a matrix-vector path for a single column, which rounds
 * differently from the matrix-matrix path, and that would make results depend
 * on how requests happen to be batched. A lone token gets a companion in the
 * spare sequence (removed right after); a lone logit gets a second one that
 * nobody reads. This removes one way batching changes the last bits of a
 * result; the other, where the KV cache places a sequence's cells (a gap of
 * other sequences' cells between them changes llama.cpp's attention sums),
 * is llama.cpp's to decide, so results agree across batchings within float
 * rounding, not bit for bit (tests/unit/test_llamacpp.c measures how far). */
static int decode_items(struct lle_model *m, const struct item *items, int nitems, row_fn fn,
			void *user, char *err, size_t len)
{
	struct llama_batch *b = &m->batch;
	int it = 0, j = 0;
	/* where each batch slot came from, to route its logits */
	int *src_item = lc_alloc(sizeof(int) * (size_t)m->n_batch * 2);
	if (!src_item) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	int *src_j = src_item + m->n_batch;
	while (it < nitems) {
		b->n_tokens = 0;
		while (it < nitems && b->n_tokens < m->n_batch) {
			const struct item *x = &items[it];
			if (j >= x->n) {
				it++;
				j = 0;
				continue;
			}
			/* a full call that would leave one token of its last item
			 * for the next call ends a token early instead, so that
			 * one has two */
			if (b->n_tokens == m->n_batch - 1 && b->n_tokens > 1 && x->n - j == 2 &&
			    it == nitems - 1)
				break;
			int k = b->n_tokens++;
			b->token[k] = x->toks[j];
			b->pos[k] = x->pos0 + j;
			b->n_seq_id[k] = 1;
			b->seq_id[k][0] = x->seq;
			b->logits[k] = j >= x->logit_from;
			src_item[k] = it;
			src_j[k] = j;
			j++;
		}
		if (b->n_tokens == 0)
			break;
		int real = b->n_tokens, nout = 0, spare = 0;
		for (int k = 0; k < real; k++)
			nout += b->logits[k] != 0;
		if (real == 1) {
			int k = b->n_tokens++;
			b->token[k] = m->prefix_tok;
			b->pos[k] = 0;
			b->n_seq_id[k] = 1;
			b->seq_id[k][0] = m->n_parallel + 1;
			b->logits[k] = nout == 1;
			spare = 1;
		} else if (nout == 1) {
			for (int k = 0; k < real; k++)
				if (!b->logits[k]) {
					b->logits[k] = 2; /* an extra output, not routed */
					break;
				}
		}
		double t0 = lc_now();
		int rc = llama_decode(m->ctx, *b);
		m->t_decode += lc_now() - t0;
		if (spare)
			llama_memory_seq_rm(llama_get_memory(m->ctx), m->n_parallel + 1, -1, -1);
		b->n_tokens = real;
		if (rc != 0) {
			snprintf(err, len, "llama_decode failed with code %d (%s)", rc,
				 rc == 1 ? "no room in the KV cache: raise kv_size" : "see -v -v");
			lc_free(src_item);
			return -1;
		}
		m->n_decoded += b->n_tokens;
		for (int k = 0; k < b->n_tokens; k++) {
			if (b->logits[k] != 1)
				continue;
			const float *row = llama_get_logits_ith(m->ctx, k);
			if (!row) {
				snprintf(err, len, "llama.cpp returned no logits");
				lc_free(src_item);
				return -1;
			}
			if (fn(m, user, &items[src_item[k]], src_j[k], row) < 0) {
				snprintf(err, len, "out of memory");
				lc_free(src_item);
				return -1;
			}
		}
	}
	lc_free(src_item);
	return 0;
}

/* Make sequence 0 hold exactly toks[0, n): keep what it shares, decode the rest. */
static int set_prefix(struct lle_model *m, const llama_token *toks, int n, char *err, size_t len)
{
	llama_memory_t mem = llama_get_memory(m->ctx);
	int r = 0;
	while (r < n && r < m->n_pre && m->pre[r] == toks[r])
		r++;
	if (r < m->n_pre) {
		llama_memory_seq_rm(mem, 0, r, -1);
		m->n_pre = r;
	}
	if (r == n)
		return 0;
	if (n > m->cap_pre) {
		llama_token *p = lc_realloc(m->pre, sizeof(llama_token) * (size_t)n);
		if (!p) {
			snprintf(err, len, "out of memory");
			return -1;
		}
		m->pre = p;
		m->cap_pre = n;
	}
	memcpy(m->pre + r, toks + r, sizeof(llama_token) * (size_t)(n - r));
	if (n - r == 1 && r > 0) {
		/* one new token would make a one-token call: decode the token
		 * before it again with it (the same values, in the same cell) */
		llama_memory_seq_rm(mem, 0, --r, -1);
	}
	struct item it = { 0, r, toks + r, n - r, n - r, 0 };
	if (decode_items(m, &it, 1, NULL, NULL, err, len) < 0) {
		llama_memory_seq_rm(mem, 0, -1, -1);
		m->n_pre = 0;
		return -1;
	}
	m->n_pre = n;
	return 0;
}

/* Drop every sequence but the prefix. */
static void clear_work_seqs(struct lle_model *m)
{
	llama_memory_t mem = llama_get_memory(m->ctx);
	for (int s = 1; s < m->ctx_seqs; s++)
		llama_memory_seq_rm(mem, s, -1, -1);
}

/* ---- scoring -------------------------------------------------------------- */

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

static int add_unit(struct score *sc, const llama_token *ctx, int nc, const llama_token *cont,
		    int nx, int max_len, size_t req, int win)
{
	if (sc->nu == sc->capu) {
		int cap = sc->capu ? 2 * sc->capu : 64;
		struct unit *u = lc_realloc(sc->u, sizeof(*u) * (size_t)cap);
		if (!u)
			return -1;
		sc->u = u;
		sc->capu = cap;
	}
	/* lm-evaluation-harness: inp = (context + continuation)[-(max_length+1):][:-1] */
	int nf = nc + nx, drop = nf > max_len + 1 ? nf - (max_len + 1) : 0;
	int n = nf - drop - 1;
	int s = nx < n ? nx : n;
	struct unit *u = &sc->u[sc->nu];
	memset(u, 0, sizeof(*u));
	u->toks = lc_alloc(sizeof(llama_token) * (size_t)(n > 0 ? n : 1));
	u->tgt = lc_alloc(sizeof(llama_token) * (size_t)(s > 0 ? s : 1));
	if (!u->toks || !u->tgt) {
		lc_free(u->toks);
		lc_free(u->tgt);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		int f = drop + i;
		u->toks[i] = f < nc ? ctx[f] : cont[f - nc];
	}
	for (int i = 0; i < s; i++) {
		int f = nf - s + i;
		u->tgt[i] = f < nc ? ctx[f] : cont[f - nc];
	}
	u->n = n;
	u->s = s;
	u->g = n - s + 1;
	u->req = req;
	u->win = win;
	u->greedy = 1;
	sc->nu++;
	return 0;
}

static int cmp_toks(const llama_token *a, int na, const llama_token *b, int nb)
{
	int n = na < nb ? na : nb;
	for (int i = 0; i < n; i++)
		if (a[i] != b[i])
			return a[i] < b[i] ? -1 : 1;
	return na < nb ? -1 : na > nb;
}

static int cmp_unit(const void *pa, const void *pb, void *arg)
{
	const struct unit *units = arg;
	const struct unit *a = &units[*(const int *)pa], *b = &units[*(const int *)pb];
	int c = cmp_toks(a->toks, a->g, b->toks, b->g);
	if (!c)
		c = cmp_toks(a->toks, a->n, b->toks, b->n);
	if (!c)
		c = a->req < b->req ? -1 : a->req > b->req;
	if (!c)
		c = a->win - b->win;
	return c;
}

/* A shortcut to lm-evaluation-harness's encoding of context + continuation
 * for SentencePiece vocabularies. llama.cpp's SPM tokeniser merges adjacent
 * symbols only into vocabulary tokens; when no token of the vocabulary has a
 * "▁" (the escaped space) right after another character (lc_eval_init
 * checks), no token can span a point where a space follows a non-space, so
 * the text's tokens there are those of the part before and of the part after,
 * each tokenised alone (the part after starting with its space, as the
 * tokeniser would see it). With such a split s near the end of the context,
 *   tokens(context + continuation) = tokens(text[:s]) + tokens(text[s:])
 *   tokens(context)                = tokens(text[:s]) + tokens(context[s:]),
 * so the continuation's tokens are tokens(text[s:]) past the first
 * len(tokens(context[s:])): a few tokens per choice instead of the whole
 * prompt again. The context's own encoding is still whole, and its tail must
 * equal tokens(context[s:]) or the shortcut is not taken. Returns s, or 0
 * where the context has no such point with a non-empty part after it. */
static size_t spm_split(const char *c, size_t k)
{
	for (size_t s = k >= 2 ? k - 2 : 0; s >= 1; s--)
		if (c[s] == ' ' && c[s - 1] != ' ')
			return s;
	return 0;
}

/* Tokens of text[s:] without BOS, as they appear inside the whole text. */
static int spm_tail(struct lle_model *m, const char *text, size_t len, size_t s, llama_token **out)
{
	/* llama.cpp adds the space prefix itself where the vocabulary wants one */
	size_t off = s + (m->spm_space_prefix ? 1 : 0);
	return lc_tokenize(m, text + off, len - off, 0, out);
}

/* The same shortcut for a context that shares a long beginning with the last
 * one (the few-shot examples of a task): split both at the last space after
 * a non-space inside what they share, take the tokens before it from the
 * last context's (after checking that the last context's tokens end with
 * those of its own part after the split) and tokenise only the part after.
 * Returns the token count with *out set, or -1 where it does not apply. */
static int spm_context(struct lle_model *m, const struct score *sc, const char *c, size_t k,
		       llama_token **out)
{
	*out = NULL;
	const char *p = sc->ctx_text;
	size_t kp = sc->ctx_len, l = 0;
	if (!p || !sc->ctx_toks)
		return -1;
	while (l < k && l < kp && p[l] == c[l])
		l++;
	if (l < 64) /* not worth it */
		return -1;
	size_t s = spm_split(c, l); /* s + 1 < l: both go on past it */
	if (!s)
		return -1;
	llama_token *pt = NULL, *ctail = NULL;
	int np = spm_tail(m, p, kp, s, &pt), n = -1;
	if (np > 0 && np <= sc->ctx_n &&
	    memcmp(sc->ctx_toks + sc->ctx_n - np, pt, sizeof(llama_token) * (size_t)np) == 0) {
		int head = sc->ctx_n - np, nt = spm_tail(m, c, k, s, &ctail);
		llama_token *t = nt >= 0 ? lc_alloc(sizeof(llama_token) * (size_t)(head + nt + 1)) : NULL;
		if (t) {
			memcpy(t, sc->ctx_toks, sizeof(llama_token) * (size_t)head);
			if (nt)
				memcpy(t + head, ctail, sizeof(llama_token) * (size_t)nt);
			*out = t;
			n = head + nt;
		}
	}
	lc_free(pt);
	lc_free(ctail);
	return n;
}

/* Tokenise one loglikelihood request into its unit. */
static int ll_units(struct lle_model *m, struct score *sc, const char *context, const char *cont,
		    size_t req)
{
	/* trailing whitespace of the context belongs to the continuation */
	size_t lc = strlen(context), lx = strlen(cont), k = lc;
	while (k > 0 && is_space((unsigned char)context[k - 1]))
		k--;
	char *whole = lc_alloc(lc + lx + 1);
	if (!whole)
		return -1;
	memcpy(whole, context, lc);
	memcpy(whole + lc, cont, lx + 1);
	llama_token *ct = NULL, *wt = NULL, one = m->prefix_tok;
	int rc = -1, nc, nw;
	if (lc == 0) {
		/* empty context: the prefix token, then the continuation alone */
		nw = lc_tokenize(m, cont, lx, 0, &wt);
		if (nw >= 0)
			rc = add_unit(sc, &one, 1, wt, nw, m->max_length, req, 0);
	} else {
		/* the choices of a question share their context: tokenise it once */
		if (sc->ctx_text && sc->ctx_len == k && memcmp(sc->ctx_text, context, k) == 0) {
			nc = sc->ctx_n;
			ct = sc->ctx_toks;
		} else {
			nc = m->spm_shortcut ? spm_context(m, sc, context, k, &ct) : -1;
			if (nc < 0)
				nc = lc_tokenize(m, whole, k, m->add_bos, &ct);
			else
				sc->n_ctx_short++;
			lc_free(sc->ctx_text);
			lc_free(sc->ctx_toks);
			sc->ctx_text = NULL;
			sc->ctx_toks = NULL;
			sc->ctx_split = 0;
			if (nc >= 0 && (sc->ctx_text = lc_alloc(k + 1))) {
				memcpy(sc->ctx_text, context, k);
				sc->ctx_len = k;
				sc->ctx_toks = ct;
				sc->ctx_n = nc;
				size_t sp = m->spm_shortcut ? spm_split(context, k) : 0;
				llama_token *seg = NULL;
				int ns = sp ? spm_tail(m, context, k, sp, &seg) : -1;
				/* the context's tail must be the tail's own tokens */
				if (ns > 0 && ns <= nc &&
				    memcmp(ct + nc - ns, seg, sizeof(llama_token) * (size_t)ns) == 0) {
					sc->ctx_split = sp;
					sc->ctx_nseg = ns;
				}
				lc_free(seg);
			}
		}
		const llama_token *cx = NULL; /* the continuation's tokens */
		int nx = 0;
		if (nc >= 0 && ct == sc->ctx_toks && sc->ctx_split) {
			int nt = spm_tail(m, whole, lc + lx, sc->ctx_split, &wt);
			nw = nt < 0 ? -1 : nc - sc->ctx_nseg + nt;
			nx = nt > sc->ctx_nseg ? nt - sc->ctx_nseg : 0;
			cx = wt ? wt + sc->ctx_nseg : NULL;
			sc->n_short++;
		} else {
			nw = nc >= 0 ? lc_tokenize(m, whole, lc + lx, m->add_bos, &wt) : -1;
			nx = nw > nc ? nw - nc : 0;
			cx = wt && nc >= 0 ? wt + nc : NULL;
		}
		if (nc >= 0 && nw >= 0) {
			if (nc == 0) /* context of spaces only, and no BOS: start from the prefix token */
				rc = add_unit(sc, &one, 1, wt, nw, m->max_length, req, 0);
			else
				rc = add_unit(sc, ct, nc, cx, nx, m->max_length, req, 0);
		}
	}
	lc_free(whole);
	if (ct != sc->ctx_toks)
		lc_free(ct);
	lc_free(wt);
	return rc;
}

/* lm-evaluation-harness's rolling windows with context_len 1, made disjoint:
 * window 0 predicts tokens [0, L) from the prefix token; each next window
 * predicts the next L tokens (or what is left) from the L tokens before its
 * last prediction. */
static int rolling_units(struct lle_model *m, struct score *sc, const char *text, size_t req,
			 int *nwin)
{
	llama_token *t = NULL;
	int n = lc_tokenize(m, text, strlen(text), 0, &t), L = m->max_length, w = 0, rc = 0;
	*nwin = 0;
	if (n < 0)
		return -1;
	int predicted = 0;
	while (predicted < n && rc == 0) {
		int wlen = n - predicted < L ? n - predicted : L;
		int end = predicted + wlen;
		if (predicted == 0) {
			llama_token one = m->prefix_tok;
			rc = add_unit(sc, &one, 1, t, wlen, L, req, w++);
		} else {
			/* context: the tokens before the window's predictions, up to
			 * L + 1 - wlen of them (the input is cut to L + 1 anyway) */
			int cstart = end - L - 1 < 0 ? 0 : end - L - 1;
			rc = add_unit(sc, t + cstart, predicted - cstart, t + predicted, wlen, L, req, w++);
		}
		predicted = end;
	}
	lc_free(t);
	*nwin = w;
	return rc;
}

struct score_cb {
	struct score *sc;
};

/* The last logit of a group's part scores the first target of all its units. */
static int group_row(struct lle_model *m, void *user, const struct item *it, int j,
		     const float *logits)
{
	struct score *sc = ((struct score_cb *)user)->sc;
	if (it->pos0 + j != sc->u[sc->order[sc->gstart[it->owner]]].g - 1)
		return 0; /* a row decoded only to keep two logits in the call */
	struct row r;
	row_init(&r, logits, m->n_vocab);
	for (int p = sc->gstart[it->owner]; p < sc->gstart[it->owner + 1]; p++) {
		struct unit *u = &sc->u[sc->order[p]];
		if (u->s == 0)
			continue;
		u->lp = row_logprob(&r, u->tgt[0]);
		u->greedy = r.argmax == u->tgt[0];
	}
	return 0;
}

/* A unit's own tokens: the token at T[g - 1 + i] predicts target i; target
 * 0 is the group's. */
static int unit_row(struct lle_model *m, void *user, const struct item *it, int j,
		    const float *logits)
{
	struct score *sc = ((struct score_cb *)user)->sc;
	struct unit *u = &sc->u[it->owner];
	int i = it->pos0 + j - (u->g - 1);
	if (i < 1 || i >= u->s)
		return 0;
	struct row r;
	row_init(&r, logits, m->n_vocab);
	llama_token t = u->tgt[i];
	u->lp += row_logprob(&r, t);
	u->greedy &= r.argmax == t;
	return 0;
}

static void score_free(struct score *sc, size_t nreq)
{
	for (int i = 0; i < sc->nu; i++) {
		lc_free(sc->u[i].toks);
		lc_free(sc->u[i].tgt);
	}
	lc_free(sc->u);
	lc_free(sc->order);
	lc_free(sc->gstart);
	lc_free(sc->gseq);
	lc_free(sc->ctx_text);
	lc_free(sc->ctx_toks);
	if (sc->rq)
		for (size_t i = 0; i < nreq; i++)
			lc_free(sc->rq[i].win_lp);
	lc_free(sc->rq);
}

static void finish_score_req(const struct lle_request *reqs, struct score_req *q, size_t i,
			     int cancelled, lle_complete_fn cb, void *user)
{
	struct lle_result res = { .size = sizeof(res), .id = reqs[i].id };
	if (q->reported)
		return;
	q->reported = 1;
	if (q->failed) {
		res.status = LLE_STATUS_ERROR;
		res.error = q->err;
	} else if (cancelled) {
		res.status = LLE_STATUS_CANCELLED;
		res.error = "interrupted";
	} else {
		double lp = 0;
		for (int w = 0; w < q->n_units; w++)
			lp += q->win_lp[w];
		res.logprob = lp;
		res.is_greedy = q->greedy;
		res.n_tokens = q->n_tokens;
	}
	cb(user, &reqs[i], &res);
}

/* Out of memory before any bookkeeping exists: fail each request, with no
 * allocation needed to say so. */
static void fail_all(const struct lle_request *reqs, const size_t *idx, size_t n,
		     lle_complete_fn cb, void *user)
{
	for (size_t k = 0; k < n; k++) {
		struct lle_result res = { .size = sizeof(res), .id = reqs[idx[k]].id,
					  .status = LLE_STATUS_ERROR, .error = "out of memory" };
		cb(user, &reqs[idx[k]], &res);
	}
}

/* Tokenisation of requests [k0, k1) into units of its own (phase 1 of
 * run_scoring), on a thread of its own. */
#define LC_TOK_THREADS 32
struct tok_job {
	struct lle_model *m;
	const struct lle_request *reqs;
	const size_t *idx;
	struct score_req *rq; /* shared: each job writes only its own requests */
	struct score part;    /* units, and the last context tokenised */
	size_t k0, k1;
	long long naive;
	int oom;
};

static void tok_range(struct tok_job *j)
{
	struct lle_model *m = j->m;
	struct score *sc = &j->part;
	for (size_t k = j->k0; k < j->k1; k++) {
		const struct lle_request *r = &j->reqs[j->idx[k]];
		struct score_req *q = &j->rq[k];
		int before = sc->nu, nwin = 1, trc;
		const char *ctxt = r->context;
		char *chat = NULL;
		if (r->kind == LLE_REQ_LOGLIKELIHOOD && m->chat) {
			struct llama_chat_message msgs[2];
			size_t nm = 0;
			if (m->system)
				msgs[nm++] = (struct llama_chat_message){ "system", m->system };
			msgs[nm++] = (struct llama_chat_message){ "user", r->context };
			int need = llama_chat_apply_template(m->tmpl, msgs, nm, true, NULL, 0);
			if (need < 0 || !(chat = lc_alloc((size_t)need + 1))) {
				j->oom = 1;
				return;
			}
			llama_chat_apply_template(m->tmpl, msgs, nm, true, chat, need + 1);
			chat[need] = '\0';
			ctxt = chat;
		}
		if (r->kind == LLE_REQ_LOGLIKELIHOOD)
			trc = ll_units(m, sc, ctxt, r->continuation ? r->continuation : "", k);
		else
			trc = rolling_units(m, sc, r->context, k, &nwin);
		lc_free(chat);
		if (trc < 0) {
			q->failed = 1;
			snprintf(q->err, sizeof(q->err), "cannot tokenise the request (out of memory?)");
			for (int i = before; i < sc->nu; i++) {
				lc_free(sc->u[i].toks);
				lc_free(sc->u[i].tgt);
			}
			sc->nu = before;
			continue;
		}
		q->n_units = sc->nu - before;
		q->greedy = 1;
		q->win_lp = lc_alloc(sizeof(double) * (size_t)(q->n_units ? q->n_units : 1));
		if (!q->win_lp) {
			j->oom = 1;
			return;
		}
		for (int i = before; i < sc->nu; i++) {
			q->n_tokens += sc->u[i].s;
			j->naive += sc->u[i].n;
		}
	}
}

static void *tok_thread(void *arg)
{
	tok_range(arg);
	return NULL;
}

/* A unit is scored: hand its request back once all its units are. */
static void unit_done(struct score *sc, const struct unit *u, const struct lle_request *reqs,
		      const size_t *idx, lle_complete_fn cb, void *user)
{
	struct score_req *rq = &sc->rq[u->req];
	rq->win_lp[u->win] = u->lp;
	rq->greedy &= u->greedy;
	if (++rq->n_done == rq->n_units)
		finish_score_req(reqs, rq, idx[u->req], 0, cb, user);
}

/* The exact evaluator: the groups of a cluster one after another, each in
 * sequence 1 on top of the prefix in sequence 0, and each unit's own tokens
 * after its group's, removed again before the next unit. The KV cache then
 * holds nothing but the sequence being scored, and llama.cpp puts every token
 * in the cell of its position: the same cells, and so the same sums in the
 * same order, whatever else was in the batch. Every call decodes at least
 * two tokens with at least two logits (see decode_items), so every token goes
 * through the same kernels in every batching: a log-likelihood is the same to
 * the last bit for any batch size, request order or thread count, and equal
 * to a plain decode of the request alone. It needs no spare sequence: a group
 * part keeps at least two tokens of its own (the cluster's prefix P stops
 * two tokens short of the shortest), a unit decodes its group's last token
 * again with its own, and a group part of one token (the BOS of an empty
 * context) gets a second, unread one. So the context needs only sequences 0
 * and 1, which llama.cpp runs faster than a context made for more. On a CPU
 * this is also faster than interleaving sequences: attention runs over one
 * question's cells. */
static int score_cluster_exact(struct lle_model *m, struct score *sc, int c0, int c1, int P,
			       const struct lle_request *reqs, const size_t *idx, lle_complete_fn cb,
			       void *user, int *cancelled, char *err, size_t len)
{
	llama_memory_t mem = llama_get_memory(m->ctx);
	struct score_cb cbu = { sc };
	for (int gi = c0; gi < c1; gi++) {
		if (lc_host->interrupted(lc_host->user)) {
			*cancelled = 1;
			return 0;
		}
		int p0 = sc->gstart[gi], p1 = sc->gstart[gi + 1], need = 2;
		for (int p = p0; p < p1; p++)
			if (sc->u[sc->order[p]].n > need)
				need = sc->u[sc->order[p]].n;
		if (need > m->kv_size) {
			snprintf(err, len, "a request needs %d KV cells, more than the %d there are: "
				 "raise kv_size", need, m->kv_size);
			return -1;
		}
		const struct unit *u0 = &sc->u[sc->order[p0]];
		if (P > 0)
			llama_memory_seq_cp(mem, 0, 1, -1, -1);
		llama_token lone[2];
		struct item g = { 1, P, u0->toks + P, u0->g - P, u0->g - P - 1, gi };
		if (g.n == 1) { /* P is 0: the group part is the BOS alone */
			lone[0] = lone[1] = u0->toks[0];
			g.toks = lone;
			g.n = 2;
			g.logit_from = 0;
		}
		if (decode_items(m, &g, 1, group_row, &cbu, err, len) < 0)
			return -1;
		for (int p = p0; p < p1; p++) {
			struct unit *u = &sc->u[sc->order[p]];
			if (u->s <= 1)
				continue;
			/* from T[g - 1] (target 0's row, already scored) */
			llama_memory_seq_rm(mem, 1, u->g - 1, -1);
			struct item it = { 1, u->g - 1, u->toks + u->g - 1, u->s, 1, sc->order[p] };
			if (decode_items(m, &it, 1, unit_row, &cbu, err, len) < 0)
				return -1;
		}
		llama_memory_seq_rm(mem, 1, -1, -1);
		for (int p = p0; p < p1; p++)
			unit_done(sc, &sc->u[sc->order[p]], reqs, idx, cb, user);
	}
	return 0;
}

/* Phase 1 of run_scoring: tokenise requests into sc's units (index k of idx
 * is "request k"), on up to n_threads threads: lm-evaluation-harness's
 * encoding of context and context + continuation for every request costs as
 * much as decoding on a small model, and llama.cpp's tokeniser may run on
 * many threads. The units end up in request order, as one thread would have
 * made them. -1 out of memory. */
static int tokenise_requests(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
			     size_t nidx, struct score *sc)
{
	double t_tok = lc_now();
	struct tok_job jobs[LC_TOK_THREADS];
	pthread_t tid[LC_TOK_THREADS];
	int nj = m->n_threads < LC_TOK_THREADS ? m->n_threads : LC_TOK_THREADS;
	if ((size_t)nj > nidx / 8)
		nj = (int)(nidx / 8);
	if (nj < 1)
		nj = 1;
	for (int t = 0; t < nj; t++)
		jobs[t] = (struct tok_job){ .m = m, .reqs = reqs, .idx = idx, .rq = sc->rq,
					    .k0 = nidx * (size_t)t / (size_t)nj,
					    .k1 = nidx * (size_t)(t + 1) / (size_t)nj };
	int started[LC_TOK_THREADS] = { 0 };
	for (int t = 1; t < nj; t++)
		started[t] = pthread_create(&tid[t], NULL, tok_thread, &jobs[t]) == 0;
	tok_range(&jobs[0]);
	int tok_oom = jobs[0].oom, total = jobs[0].part.nu, n_short = 0, n_ctx_short = 0;
	for (int t = 1; t < nj; t++) {
		if (started[t])
			pthread_join(tid[t], NULL);
		else
			tok_range(&jobs[t]);
		tok_oom |= jobs[t].oom;
		total += jobs[t].part.nu;
	}
	sc->u = lc_alloc(sizeof(struct unit) * (size_t)(total ? total : 1));
	for (int t = 0; t < nj; t++) {
		struct score *part = &jobs[t].part;
		if (sc->u && part->nu)
			memcpy(sc->u + sc->nu, part->u, sizeof(struct unit) * (size_t)part->nu);
		else /* no room to keep them: drop them, and fail below */
			for (int i = 0; i < part->nu; i++) {
				lc_free(part->u[i].toks);
				lc_free(part->u[i].tgt);
			}
		sc->nu += sc->u ? part->nu : 0;
		n_short += part->n_short;
		n_ctx_short += part->n_ctx_short;
		m->n_naive += jobs[t].naive;
		lc_free(part->u);
		lc_free(part->ctx_text);
		lc_free(part->ctx_toks);
	}
	sc->capu = total;
	if (tok_oom || !sc->u)
		return -1;
	lc_log(LLE_LOG_DEBUG, "llamacpp: tokenised %zu requests in %.3f s (%d continuations from a "
	       "SentencePiece split, %d contexts from the one before)", nidx, lc_now() - t_tok, n_short,
	       n_ctx_short);
	return 0;
}

/* Hand back what needs no decoding: requests that failed or have no units
 * (empty text, empty continuation), and units with nothing to score. The
 * other units go into sc->order, sorted (see the head of this file). The
 * number of units to decode, or -1 out of memory. */
static int finish_trivial(struct score *sc, size_t nreq, const struct lle_request *reqs,
			  const size_t *idx, lle_complete_fn cb, void *user)
{
	for (size_t k = 0; k < nreq; k++)
		if (sc->rq[k].failed || sc->rq[k].n_units == 0)
			finish_score_req(reqs, &sc->rq[k], idx[k], 0, cb, user);
	sc->order = lc_alloc(sizeof(int) * (size_t)(sc->nu ? sc->nu : 1));
	sc->gstart = lc_alloc(sizeof(int) * (size_t)(sc->nu + 1));
	sc->gseq = lc_alloc(sizeof(int) * (size_t)(sc->nu + 1));
	if (!sc->order || !sc->gstart || !sc->gseq)
		return -1;
	int nwork = 0;
	for (int i = 0; i < sc->nu; i++) {
		if (sc->u[i].s > 0) {
			sc->order[nwork++] = i;
		} else {
			struct score_req *q = &sc->rq[sc->u[i].req];
			q->win_lp[sc->u[i].win] = 0;
			if (++q->n_done == q->n_units)
				finish_score_req(reqs, q, idx[sc->u[i].req], 0, cb, user);
		}
	}
	qsort_r(sc->order, (size_t)nwork, sizeof(int), cmp_unit, sc->u);
	return nwork;
}

/* Phase 2: the sorted units' groups (equal group parts side by side). */
static void find_groups(struct score *sc, int nwork)
{
	sc->ng = 0;
	for (int p = 0; p < nwork; p++) {
		struct unit *u = &sc->u[sc->order[p]];
		if (p == 0 || cmp_toks(u->toks, u->g, sc->u[sc->order[p - 1]].toks,
				       sc->u[sc->order[p - 1]].g) != 0)
			sc->gstart[sc->ng++] = p;
		u->group = sc->ng - 1;
	}
	sc->gstart[sc->ng] = nwork;
}

/* The first unit of group i. */
static const struct unit *group_unit(const struct score *sc, int i)
{
	return &sc->u[sc->order[sc->gstart[i]]];
}

/* gl[i]: the tokens group i shares with group i - 1, capped so that each
 * group keeps its last token to itself; *pmin: the fewest any group shares
 * (what all groups of the batch share). NULL out of memory. */
static int *group_overlaps(const struct score *sc, int *pmin)
{
	int *gl = lc_alloc(sizeof(int) * (size_t)sc->ng);
	if (!gl)
		return NULL;
	*pmin = 1 << 30;
	for (int i = 0; i < sc->ng; i++) {
		const struct unit *a = group_unit(sc, i);
		if (a->g - 1 < *pmin)
			*pmin = a->g - 1;
		if (i == 0) {
			gl[i] = 0;
			continue;
		}
		const struct unit *b = group_unit(sc, i - 1);
		int l = 0;
		while (l < a->g - 1 && l < b->g - 1 && a->toks[l] == b->toks[l])
			l++;
		gl[i] = l;
		if (l < *pmin)
			*pmin = l;
	}
	return gl;
}

/* The cluster of groups that starts at c0: the sorted groups are cut where
 * two neighbours share no more than all groups of the batch share (a
 * subject's few-shot prefix makes a cluster). Returns its end c1; *prefix
 * is the tokens all its groups share (the exact evaluator leaves each group
 * two tokens of its own, and wants no prefix of one). */
static int cluster_end(const struct score *sc, const int *gl, int pmin, int c0, int exact, int *prefix)
{
	int c1, P = group_unit(sc, c0)->g - 1;
	for (c1 = c0 + 1; c1 < sc->ng && (sc->ng == 1 || gl[c1] > pmin); c1++) {
		int gm = group_unit(sc, c1)->g - 1;
		if (gl[c1] < P)
			P = gl[c1];
		if (gm < P)
			P = gm;
	}
	if (exact) {
		for (int c = c0; c < c1; c++)
			if (group_unit(sc, c)->g - 2 < P)
				P = group_unit(sc, c)->g - 2;
		if (P < 2)
			P = 0;
	}
	*prefix = P;
	return c1;
}

/* The batched evaluator's state across the waves of a cluster: the group
 * whose part stays decoded (in sequence alive_seq, alive_cells cells) because
 * the last wave ended inside it; alive is -1 when none. */
struct wave_state {
	int alive, alive_seq, alive_cells;
};

/* One wave: the group parts to decode (ga) and the units' own tokens (ub),
 * for sorted units [p0, p). */
struct wave {
	struct item *ga, *ub;
	int nga, nub;
	int p0, p;
};

/* Fill a wave from sorted position p on with what fits the free sequences
 * and KV cells. -1 (err set) when even the first unit does not fit. */
static int plan_wave(struct lle_model *m, struct score *sc, int P, const struct wave_state *ws,
		     struct item *items, int p, int pend, struct wave *w, char *err, size_t len)
{
	int free_seqs = m->n_parallel - (ws->alive >= 0);
	int budget = m->unified ? m->kv_size - m->n_pre - ws->alive_cells - 8 : 1 << 30;
	int next_seq = 1;
	*w = (struct wave){ .ga = items, .ub = items + m->n_parallel + 1, .p0 = p };
	while (p < pend) {
		struct unit *u = &sc->u[sc->order[p]];
		int new_group = u->group != ws->alive && (w->nga == 0 || w->ga[w->nga - 1].owner != u->group);
		int need_seq = new_group + (u->s > 1);
		int need_cells = (new_group ? u->g - P : 0) + (u->s > 1 ? u->s - 1 : 0);
		if (need_seq > free_seqs || need_cells > budget) {
			if (p > w->p0)
				break;
			snprintf(err, len, "a request needs %d KV cells, more than the %d free: "
				 "raise kv_size", need_cells, budget);
			return -1;
		}
		if (new_group) {
			while (next_seq == ws->alive_seq)
				next_seq++;
			sc->gseq[u->group] = next_seq++;
			w->ga[w->nga++] = (struct item){ sc->gseq[u->group], P, u->toks + P, u->g - P,
							 u->g - P - 1, u->group };
		}
		if (u->s > 1) {
			while (next_seq == ws->alive_seq)
				next_seq++;
			u->seq = next_seq++;
			w->ub[w->nub++] = (struct item){ u->seq, u->g, u->toks + u->g, u->s - 1, 0,
							 sc->order[p] };
		}
		free_seqs -= need_seq;
		budget -= need_cells;
		p++;
	}
	w->p = p;
	return 0;
}

/* Decode a wave: phase A, the group parts on copies of the prefix; phase B,
 * each unit's own tokens on a copy of its group. */
static int decode_wave(struct lle_model *m, struct score *sc, int P, const struct wave *w, char *err,
		       size_t len)
{
	llama_memory_t mem = llama_get_memory(m->ctx);
	struct score_cb cbu = { sc };
	for (int i = 0; i < w->nga; i++)
		if (P > 0)
			llama_memory_seq_cp(mem, 0, w->ga[i].seq, -1, -1);
	if (decode_items(m, w->ga, w->nga, group_row, &cbu, err, len) < 0)
		return -1;
	for (int i = 0; i < w->nub; i++) {
		struct unit *u = &sc->u[w->ub[i].owner];
		llama_memory_seq_cp(mem, sc->gseq[u->group], w->ub[i].seq, -1, -1);
	}
	if (decode_items(m, w->ub, w->nub, unit_row, &cbu, err, len) < 0)
		return -1;
	for (int i = 0; i < w->nub; i++)
		llama_memory_seq_rm(mem, w->ub[i].seq, -1, -1);
	return 0;
}

/* After a wave: free its sequences, except the last group's when the next
 * wave goes on inside it. */
static void retire_wave(struct lle_model *m, const struct score *sc, const struct wave *w, int pend,
			int P, struct wave_state *ws)
{
	llama_memory_t mem = llama_get_memory(m->ctx);
	int last_group = sc->u[sc->order[w->p - 1]].group;
	int straddles = w->p < pend && sc->u[sc->order[w->p]].group == last_group;
	for (int i = 0; i < w->nga; i++)
		if (!(straddles && w->ga[i].owner == last_group))
			llama_memory_seq_rm(mem, w->ga[i].seq, -1, -1);
	if (ws->alive >= 0 && !(straddles && ws->alive == last_group)) {
		llama_memory_seq_rm(mem, ws->alive_seq, -1, -1);
		ws->alive = -1;
		ws->alive_seq = 0;
		ws->alive_cells = 0;
	}
	if (straddles && ws->alive != last_group) {
		ws->alive = last_group;
		ws->alive_seq = sc->gseq[last_group];
		ws->alive_cells = sc->u[sc->order[w->p - 1]].g - P;
	}
}

/* The batched evaluator: the cluster's groups [c0, c1) in waves of many
 * sequences on top of the prefix in sequence 0. items has room for
 * 2 * n_parallel + 2. */
static int score_cluster_waves(struct lle_model *m, struct score *sc, int c0, int c1, int P,
			       struct item *items, const struct lle_request *reqs, const size_t *idx,
			       lle_complete_fn cb, void *user, int *cancelled, char *err, size_t len)
{
	struct wave_state ws = { -1, 0, 0 };
	int p = sc->gstart[c0], pend = sc->gstart[c1];
	while (p < pend) {
		if (lc_host->interrupted(lc_host->user)) {
			*cancelled = 1;
			return 0;
		}
		struct wave w;
		if (plan_wave(m, sc, P, &ws, items, p, pend, &w, err, len) < 0 ||
		    decode_wave(m, sc, P, &w, err, len) < 0)
			return -1;
		retire_wave(m, sc, &w, pend, P, &ws);
		/* results, in sorted order */
		for (int q = w.p0; q < w.p; q++)
			unit_done(sc, &sc->u[sc->order[q]], reqs, idx, cb, user);
		p = w.p;
	}
	return 0;
}

/* Phase 3: per cluster, its prefix in sequence 0, then the exact evaluator
 * or waves of many sequences. The exact one needs the cache to hold
 * sequence 0 alone, each token in the cell of its position; anything else
 * that used the cache may have left the prefix elsewhere, so it starts
 * afresh. -1 with err set (oom: *oom set). */
static int score_clusters(struct lle_model *m, struct score *sc, const struct lle_request *reqs,
			  const size_t *idx, lle_complete_fn cb, void *user, int *cancelled, int *oom,
			  char *err, size_t len)
{
	int pmin, rc = -1;
	int *gl = group_overlaps(sc, &pmin);
	struct item *items = gl ? lc_alloc(sizeof(struct item) * (size_t)(2 * m->n_parallel + 2)) : NULL;
	int exact = m->exact || m->n_parallel < 2;
	if (!gl || !items) {
		*oom = 1;
		goto out;
	}
	if (exact && !m->canonical) {
		llama_memory_clear(llama_get_memory(m->ctx), false);
		m->n_pre = 0;
	}
	m->canonical = exact;
	for (int c0 = 0, c1; c0 < sc->ng && !*cancelled; c0 = c1) {
		int P;
		c1 = cluster_end(sc, gl, pmin, c0, exact, &P);
		lc_log(LLE_LOG_DEBUG, "llamacpp: cluster of %d groups, prefix %d tokens (had %d)", c1 - c0,
		       P, m->n_pre);
		if (set_prefix(m, group_unit(sc, c0)->toks, P, err, len) < 0)
			goto out;
		int r = exact ? score_cluster_exact(m, sc, c0, c1, P, reqs, idx, cb, user, cancelled, err, len)
			      : score_cluster_waves(m, sc, c0, c1, P, items, reqs, idx, cb, user, cancelled,
						    err, len);
		if (r < 0)
			goto out;
	}
	rc = 0;
out:
	lc_free(gl);
	lc_free(items);
	return rc;
}

/* Score requests idx[0..nidx) of reqs, handing each result to cb. Errors
 * go to the callbacks too; always 0. */
static int run_scoring(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
		       size_t nidx, lle_complete_fn cb, void *user, char *err, size_t len)
{
	struct score sc = { 0 };
	int rc = -1, oom = 0, cancelled = 0;
	size_t nreq = nidx;
	sc.rq = lc_alloc(sizeof(*sc.rq) * (nreq ? nreq : 1));
	if (!sc.rq) {
		fail_all(reqs, idx, nidx, cb, user);
		return 0;
	}
	memset(sc.rq, 0, sizeof(*sc.rq) * (nreq ? nreq : 1));
	int nwork = -1;
	if (tokenise_requests(m, reqs, idx, nidx, &sc) < 0 ||
	    (nwork = finish_trivial(&sc, nreq, reqs, idx, cb, user)) < 0) {
		oom = 1;
		goto out;
	}
	find_groups(&sc, nwork);
	if (nwork > 0 && score_clusters(m, &sc, reqs, idx, cb, user, &cancelled, &oom, err, len) < 0)
		goto out;
	if (cancelled)
		for (size_t k = 0; k < nreq; k++)
			finish_score_req(reqs, &sc.rq[k], idx[k], 1, cb, user);
	rc = 0;
out:
	if (oom)
		snprintf(err, len, "out of memory");
	clear_work_seqs(m);
	if (rc < 0) {
		/* a failed decode may leave sequence 0 half-written: start afresh */
		llama_memory_seq_rm(llama_get_memory(m->ctx), 0, -1, -1);
		m->n_pre = 0;
		m->canonical = 0;
		for (size_t k = 0; sc.rq && k < nreq; k++)
			if (!sc.rq[k].reported) {
				sc.rq[k].failed = 1;
				snprintf(sc.rq[k].err, sizeof(sc.rq[k].err), "%s", err);
				finish_score_req(reqs, &sc.rq[k], idx[k], 0, cb, user);
			}
	}
	score_free(&sc, nreq);
	return 0; /* errors went to the callbacks */
}

/* ---- generation ----------------------------------------------------------- */

struct gen {
	llama_token *toks;   /* prompt, after cutting from the left */
	int n;
	size_t req;          /* index into reqs */
	int max_tokens;
	int seq;
	int pos;             /* next position */
	int n_gen;
	int done;
	llama_token next;    /* token to feed next step */
	struct llama_sampler *smpl; /* NULL: greedy */
	char *text;
	size_t text_len, text_cap;
	char err[160];
	int failed;
	int reported;
};

struct gen_run {
	struct gen *g;
	const struct lle_request *reqs;
};

static int cmp_gen(const void *pa, const void *pb, void *arg)
{
	const struct gen *gens = arg;
	const struct gen *a = &gens[*(const int *)pa], *b = &gens[*(const int *)pb];
	int c = cmp_toks(a->toks, a->n, b->toks, b->n);
	return c ? c : a->req < b->req ? -1 : a->req > b->req;
}

static int text_add(struct gen *g, const char *p, size_t n)
{
	if (g->text_len + n + 1 > g->text_cap) {
		size_t cap = g->text_cap ? 2 * g->text_cap : 256;
		while (cap < g->text_len + n + 1)
			cap *= 2;
		char *t = lc_realloc(g->text, cap);
		if (!t)
			return -1;
		g->text = t;
		g->text_cap = cap;
	}
	memcpy(g->text + g->text_len, p, n);
	g->text_len += n;
	g->text[g->text_len] = '\0';
	return 0;
}

/* Pick the next token from a logits row, append it, and decide whether the
 * request is done (end of generation token, stop string, token limit, context
 * full). */
static int gen_row(struct lle_model *m, void *user, const struct item *it, int j,
		   const float *logits)
{
	(void)j;
	struct gen_run *run = user;
	struct gen *g = &run->g[it->owner];
	const struct lle_request *r = &run->reqs[g->req];
	llama_token t;
	if (!g->smpl) {
		int arg = 0;
		for (int i = 1; i < m->n_vocab; i++)
			if (logits[i] > logits[arg])
				arg = i;
		t = arg;
	} else {
		for (int i = 0; i < m->n_vocab; i++)
			m->cand[i] = (struct llama_token_data){ i, logits[i], 0.0f };
		struct llama_token_data_array arr = { m->cand, (size_t)m->n_vocab, -1, false };
		llama_sampler_apply(g->smpl, &arr);
		t = arr.data[arr.selected >= 0 ? arr.selected : 0].id;
		llama_sampler_accept(g->smpl, t);
	}
	if (llama_vocab_is_eog(m->vocab, t)) {
		g->done = 1;
		return 0;
	}
	g->n_gen++;
	char piece[256];
	int np = llama_token_to_piece(m->vocab, t, piece, sizeof(piece), 0, false);
	if (np < 0)
		np = 0;
	size_t old = g->text_len;
	if (text_add(g, piece, (size_t)np) < 0)
		return -1;
	/* the earliest stop string, searched only where the new piece could end one */
	size_t cut = (size_t)-1;
	for (size_t k = 0; k < r->n_until; k++) {
		size_t sl = strlen(r->until[k]);
		if (sl == 0)
			continue;
		size_t from = old >= sl - 1 ? old - (sl - 1) : 0;
		char *hit = memmem(g->text + from, g->text_len - from, r->until[k], sl);
		if (hit && (size_t)(hit - g->text) < cut)
			cut = (size_t)(hit - g->text);
	}
	if (cut != (size_t)-1) {
		g->text_len = cut;
		g->text[cut] = '\0';
		g->done = 1;
		return 0;
	}
	if (g->n_gen >= g->max_tokens || g->pos + 1 >= m->max_length) {
		g->done = 1;
		return 0;
	}
	g->next = t;
	return 0;
}

static void gen_finish(struct lle_model *m, const struct lle_request *reqs, struct gen *g,
		       int cancelled, lle_complete_fn cb, void *user)
{
	(void)m;
	struct lle_result res = { .size = sizeof(res), .id = reqs[g->req].id };
	if (g->reported)
		return;
	g->reported = 1;
	if (g->failed) {
		res.status = LLE_STATUS_ERROR;
		res.error = g->err;
	} else if (cancelled) {
		res.status = LLE_STATUS_CANCELLED;
		res.error = "interrupted";
	} else {
		res.text = g->text ? g->text : "";
		res.text_len = g->text_len;
		res.n_tokens = g->n_gen;
	}
	cb(user, &reqs[g->req], &res);
}

static int run_generation(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
			  size_t nidx, lle_complete_fn cb, void *user, char *err, size_t len)
{
	struct gen *gs = lc_alloc(sizeof(*gs) * (nidx ? nidx : 1));
	int *order = lc_alloc(sizeof(int) * (nidx ? nidx : 1));
	int *slot_of_seq = lc_alloc(sizeof(int) * (size_t)(m->n_parallel + 1));
	struct item *items = lc_alloc(sizeof(struct item) * (size_t)(m->n_parallel + 1));
	int rc = -1, nwork = 0;
	if (!gs) {
		lc_free(order);
		lc_free(slot_of_seq);
		lc_free(items);
		fail_all(reqs, idx, nidx, cb, user);
		return 0;
	}
	memset(gs, 0, sizeof(*gs) * (nidx ? nidx : 1));
	for (size_t k = 0; k < nidx; k++)
		gs[k].req = idx[k];
	if (!order || !slot_of_seq || !items)
		goto oom;
	for (size_t k = 0; k < nidx; k++) {
		const struct lle_request *r = &reqs[idx[k]];
		struct gen *g = &gs[k];
		g->req = idx[k];
		g->max_tokens = r->max_tokens > 0 ? r->max_tokens : GEN_DEFAULT_MAX;
		const char *ctxt = r->context;
		char *chat = NULL;
		if (m->chat) {
			struct llama_chat_message msgs[2];
			size_t nm = 0;
			if (m->system)
				msgs[nm++] = (struct llama_chat_message){ "system", m->system };
			msgs[nm++] = (struct llama_chat_message){ "user", r->context };
			int need = llama_chat_apply_template(m->tmpl, msgs, nm, true, NULL, 0);
			if (need < 0 || !(chat = lc_alloc((size_t)need + 1)))
				goto oom;
			llama_chat_apply_template(m->tmpl, msgs, nm, true, chat, need + 1);
			chat[need] = '\0';
			ctxt = chat;
		}
		llama_token *t = NULL;
		int n = lc_tokenize(m, ctxt, strlen(ctxt), m->add_bos, &t);
		lc_free(chat);
		if (n < 0)
			goto oom;
		if (n == 0) {
			t[0] = m->prefix_tok;
			n = 1;
		}
		/* lm-evaluation-harness: keep the last max_length - max_gen_toks tokens */
		int keep = m->max_length - g->max_tokens;
		if (keep < 1)
			keep = 1;
		if (n > keep) {
			memmove(t, t + (n - keep), sizeof(llama_token) * (size_t)keep);
			n = keep;
		}
		g->toks = t;
		g->n = n;
		if (r->temperature > 0) {
			struct llama_sampler_chain_params sp = llama_sampler_chain_default_params();
			sp.no_perf = true;
			g->smpl = llama_sampler_chain_init(sp);
			if (!g->smpl)
				goto oom;
			if (r->top_p > 0 && r->top_p < 1)
				llama_sampler_chain_add(g->smpl, llama_sampler_init_top_p((float)r->top_p, 1));
			llama_sampler_chain_add(g->smpl, llama_sampler_init_temp((float)r->temperature));
			llama_sampler_chain_add(g->smpl, llama_sampler_init_dist((uint32_t)(r->seed ^ (r->seed >> 32))));
		}
		order[nwork++] = (int)k;
		m->n_naive += n + g->max_tokens;
	}
	qsort_r(order, (size_t)nwork, sizeof(int), cmp_gen, gs);
	m->canonical = 0; /* many sequences interleave their cells (see run_scoring) */

	/* shared prefix of all prompts (each keeps at least its last token) */
	int P = nwork ? gs[order[0]].n - 1 : 0;
	for (int i = 1; i < nwork; i++) {
		const struct gen *a = &gs[order[0]], *b = &gs[order[i]];
		int l = 0;
		while (l < P && l < b->n - 1 && a->toks[l] == b->toks[l])
			l++;
		P = l;
	}
	if (nwork && set_prefix(m, gs[order[0]].toks, P, err, len) < 0)
		goto out;

	llama_memory_t mem = llama_get_memory(m->ctx);
	struct gen_run run = { gs, reqs };
	int next = 0, active = 0, used_cells = 0, cancelled = 0;
	for (int s = 0; s <= m->n_parallel; s++)
		slot_of_seq[s] = -1;
	while (next < nwork || active > 0) {
		if (lc_host->interrupted(lc_host->user)) {
			cancelled = 1;
			break;
		}
		int nit = 0;
		/* one token for each running request */
		for (int s = 1; s <= m->n_parallel; s++) {
			int k = slot_of_seq[s];
			if (k < 0)
				continue;
			struct gen *g = &gs[k];
			items[nit++] = (struct item){ s, g->pos, &g->next, 1, 0, k };
		}
		/* admit new prompts into free sequences while the cells last */
		for (int s = 1; s <= m->n_parallel && next < nwork; s++) {
			if (slot_of_seq[s] >= 0)
				continue;
			struct gen *g = &gs[order[next]];
			int need = g->n - P + g->max_tokens;
			if (m->unified && active > 0 && used_cells + need > m->kv_size - m->n_pre - 8)
				break;
			if (P > 0)
				llama_memory_seq_cp(mem, 0, s, -1, -1);
			g->seq = s;
			slot_of_seq[s] = order[next];
			items[nit++] = (struct item){ s, P, g->toks + P, g->n - P, g->n - P - 1, order[next] };
			used_cells += need;
			active++;
			next++;
		}
		if (nit == 0)
			break;
		if (decode_items(m, items, nit, gen_row, &run, err, len) < 0)
			goto out;
		for (int i = 0; i < nit; i++) {
			struct gen *g = &gs[items[i].owner];
			g->pos = items[i].pos0 + items[i].n;
			if (!g->done)
				continue;
			gen_finish(m, reqs, g, 0, cb, user);
			llama_memory_seq_rm(mem, g->seq, -1, -1);
			slot_of_seq[g->seq] = -1;
			used_cells -= g->n - P + g->max_tokens;
			active--;
		}
	}
	if (cancelled)
		for (size_t k = 0; k < nidx; k++)
			gen_finish(m, reqs, &gs[k], 1, cb, user);
	rc = 0;
	goto out;
oom:
	snprintf(err, len, "out of memory");
out:
	clear_work_seqs(m);
	if (rc < 0 && gs) {
		llama_memory_seq_rm(llama_get_memory(m->ctx), 0, -1, -1);
		m->n_pre = 0;
		for (size_t k = 0; k < nidx; k++) {
			if (gs[k].reported)
				continue;
			gs[k].failed = 1;
			snprintf(gs[k].err, sizeof(gs[k].err), "%s", err);
			gen_finish(m, reqs, &gs[k], 0, cb, user);
		}
	}
	for (size_t k = 0; gs && k < nidx; k++) {
		lc_free(gs[k].toks);
		lc_free(gs[k].text);
		if (gs[k].smpl)
			llama_sampler_free(gs[k].smpl);
	}
	lc_free(gs);
	lc_free(order);
	lc_free(slot_of_seq);
	lc_free(items);
	return 0; /* errors went to the callbacks */
}

/* ---- submit --------------------------------------------------------------- */

int lc_submit(struct lle_model *m, const struct lle_request *reqs, size_t n, lle_complete_fn cb,
	      void *cb_user, char *err, size_t err_len)
{
	size_t *idx = lc_alloc(sizeof(size_t) * (n ? n : 1));
	if (!idx) {
		snprintf(err, err_len, "out of memory");
		return -1;
	}
	size_t ns = 0, ng = 0;
	long long dec0 = m->n_decoded, naive0 = m->n_naive;
	double td0 = m->t_decode;
	for (size_t i = 0; i < n; i++) {
		uint32_t k = reqs[i].kind;
		if (k == LLE_REQ_LOGLIKELIHOOD || k == LLE_REQ_LOGLIKELIHOOD_ROLLING) {
			idx[ns++] = i;
		} else if (k != LLE_REQ_GENERATE_UNTIL) {
			struct lle_result res = { .size = sizeof(res), .id = reqs[i].id,
						  .status = LLE_STATUS_ERROR,
						  .error = "llamacpp: unknown request kind" };
			cb(cb_user, &reqs[i], &res);
		}
	}
	for (size_t i = 0; i < n; i++)
		ng += reqs[i].kind == LLE_REQ_GENERATE_UNTIL;
	/* generation and the batched evaluator need more sequences than the
	 * context may have been made for (see lc_make_context) */
	int seqs = ng || (ns && !m->exact && m->n_parallel >= 2) ? m->n_parallel + 2 : 2;
	if (seqs > m->ctx_seqs && lc_make_context(m, seqs, err, err_len) < 0) {
		lc_free(idx);
		return -1;
	}
	int rc = run_scoring(m, reqs, idx, ns, cb, cb_user, err, err_len);
	ng = 0;
	for (size_t i = 0; i < n; i++)
		if (reqs[i].kind == LLE_REQ_GENERATE_UNTIL)
			idx[ng++] = i;
	if (rc == 0 && ng)
		rc = run_generation(m, reqs, idx, ng, cb, cb_user, err, err_len);
	lc_free(idx);
	lc_log(LLE_LOG_DEBUG, "llamacpp: %zu requests, decoded %lld tokens (a request at a time: %lld) "
	       "in %.6f s of llama_decode", n, m->n_decoded - dec0, m->n_naive - naive0,
	       m->t_decode - td0);
	return rc;
}
