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
 * This file: setting the evaluator up once the model is loaded, the decode
 * packer every phase goes through (lc_decode_items), the shared prefix in
 * sequence 0, and lc_submit, which splits a submit into scoring and
 * generation. tokenise.c: tokenisation (lm-evaluation-harness's encodings,
 * the SentencePiece shortcut, windows of rolling requests); score.c: the
 * scoring phases above; gen.c: generation. eval.h: what they share.
 *
 * What it does not do: speculative decoding, recurrent or encoder-decoder
 * models (llama.cpp's KV-cache sharing needs a transformer decoder). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "eval.h"

/* ---- small helpers -------------------------------------------------------- */

double lc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int lc_eval_init(struct lle_model *m, char *err, size_t len)
{
	m->n_vocab = llama_vocab_n_tokens(m->vocab);
	/* a rendered chat template writes its own BOS, as transformers tokenises it */
	m->add_bos = m->special_tokens ? 0 : llama_vocab_get_add_bos(m->vocab);
	llama_token bos = llama_vocab_bos(m->vocab), eos = llama_vocab_eos(m->vocab);
	m->prefix_tok = bos != LLAMA_TOKEN_NULL ? bos : eos;
	if (m->prefix_tok == LLAMA_TOKEN_NULL) {
		snprintf(err, len, "model '%s' has neither a BOS nor an EOS token", m->path);
		return -1;
	}
	m->spm_shortcut = lc_spm_shortcut_ok(m);
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

/* ---- the decode packer ---------------------------------------------------- */

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
int lc_decode_items(struct lle_model *m, const struct item *items, int nitems, row_fn fn,
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
			b->seq_id[k][0] = m->spare_seq;
			b->logits[k] = nout == 1;
			spare = 1;
		} else if (nout == 1) {
			for (int k = 0; k < real; k++)
				if (!b->logits[k]) {
					b->logits[k] = 2; /* an extra output, not routed */
					break;
				}
		}
		lc_threads_adapt(m);
		double t0 = lc_now();
		int rc = llama_decode(m->ctx, *b);
		m->t_decode += lc_now() - t0;
		if (spare)
			llama_memory_seq_rm(llama_get_memory(m->ctx), m->spare_seq, -1, -1);
		b->n_tokens = real;
		if (rc != 0) {
			snprintf(err, len, "llama_decode failed with code %d (%s)", rc,
				 rc == 1 ? "no room in the KV cache: raise kv_size" : "see -v -v");
			lc_free(src_item);
			return -1;
		}
		m->n_decoded += b->n_tokens;
		m->n_calls++;
		for (int k = 0; k < b->n_tokens + spare; k++)
			m->n_rows += b->logits[k] != 0;
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
int lc_set_prefix(struct lle_model *m, const llama_token *toks, int n, char *err, size_t len)
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
	if (lc_decode_items(m, &it, 1, NULL, NULL, err, len) < 0) {
		llama_memory_seq_rm(mem, 0, -1, -1);
		m->n_pre = 0;
		return -1;
	}
	m->n_pre = n;
	return 0;
}

/* Drop every sequence but the prefix. */
void lc_clear_work_seqs(struct lle_model *m)
{
	llama_memory_t mem = llama_get_memory(m->ctx);
	for (int s = 1; s < m->ctx_seqs; s++)
		llama_memory_seq_rm(mem, s, -1, -1);
}

/* Out of memory before any bookkeeping exists: fail each request, with no
 * allocation needed to say so. */
void lc_fail_all(const struct lle_request *reqs, const size_t *idx, size_t n,
		 lle_complete_fn cb, void *user)
{
	for (size_t k = 0; k < n; k++) {
		struct lle_result res = { .size = sizeof(res), .id = reqs[idx[k]].id,
					  .status = LLE_STATUS_ERROR, .error = "out of memory" };
		cb(user, &reqs[idx[k]], &res);
	}
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
	long long dec0 = m->n_decoded, naive0 = m->n_naive, calls0 = m->n_calls, rows0 = m->n_rows;
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
	 * context may have been made for (see lc_make_context); generation in
	 * streams makes a context of its own (gen.c), which scoring replaces */
	int seqs = (ng && !m->gen_streams) || (ns && !m->exact && m->n_parallel >= 2) ? m->n_parallel + 2 : 2;
	if ((!m->ctx || seqs > m->ctx_seqs || (ns && m->ctx_stream_len)) &&
	    lc_make_context(m, seqs, 0, err, err_len) < 0) {
		lc_free(idx);
		return -1;
	}
	int rc = lc_run_scoring(m, reqs, idx, ns, cb, cb_user, err, err_len);
	ng = 0;
	for (size_t i = 0; i < n; i++)
		if (reqs[i].kind == LLE_REQ_GENERATE_UNTIL)
			idx[ng++] = i;
	if (rc == 0 && ng)
		rc = lc_run_generation(m, reqs, idx, ng, cb, cb_user, err, err_len);
	lc_free(idx);
	lc_log(LLE_LOG_DEBUG, "llamacpp: %zu requests, decoded %lld tokens (a request at a time: %lld) "
	       "in %lld calls with %lld rows of logits, %.6f s of llama_decode", n, m->n_decoded - dec0,
	       m->n_naive - naive0, m->n_calls - calls0, m->n_rows - rows0, m->t_decode - td0);
	return rc;
}
