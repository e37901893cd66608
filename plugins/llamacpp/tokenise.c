/* Tokenisation for the llama.cpp evaluator: llama.cpp's tokeniser as
 * lm-evaluation-harness calls it, and the turning of scoring requests into
 * units (eval.c's head says what a unit is): context and context +
 * continuation encoded as the harness does (with the SentencePiece shortcut
 * for continuations and contexts where it is exact), rolling requests cut into
 * the harness's windows, many requests tokenised on several threads.
 *
 * Not here: decoding and scoring the units (score.c), generation (gen.c). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

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
	int parse_special = m->chat || m->special_tokens; /* chat templates carry special-token text */
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
int lc_spm_shortcut_ok(struct lle_model *m)
{
	if (!m->spm_shortcut || m->chat || m->special_tokens || llama_vocab_type(m->vocab) != LLAMA_VOCAB_TYPE_SPM)
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


/* Whitespace as Python's str.rstrip() sees it, ASCII part. */
static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' ||
	       (c >= 0x1c && c <= 0x1f);
}

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
			q->n_read += sc->u[i].n;
			j->naive += sc->u[i].n;
		}
	}
}

static void *tok_thread(void *arg)
{
	tok_range(arg);
	return NULL;
}

/* Phase 1 of run_scoring: tokenise requests into sc's units (index k of idx
 * is "request k"), on up to n_threads threads: lm-evaluation-harness's
 * encoding of context and context + continuation for every request costs as
 * much as decoding on a small model, and llama.cpp's tokeniser may run on
 * many threads. The units end up in request order, as one thread would have
 * made them. -1 out of memory. */
int lc_tokenise_requests(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
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

