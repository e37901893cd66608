/* Generation for the llama.cpp evaluator (generate_until): each request's
 * prompt is decoded in a sequence of its own after the shared prefix, then one
 * token per sequence and step, many sequences per decode, refilling freed
 * sequences as requests end (end-of-generation token, stop string, token
 * limit, context full), shortest prompts first. Greedy (argmax.c), or
 * llama.cpp's sampler chain (top-p, temperature, seeded) when a request asks
 * for a temperature.
 *
 * Not here: tokenisation (tokenise.c), scoring (score.c), the decode packer
 * and the prefix sequence (eval.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

#define GEN_DEFAULT_MAX 256

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
	/* shorter prompts first: the sequences that generate side by side then
	 * have much the same length, and a step's attention runs over the
	 * cells of its longest (see lc_run_generation) */
	if (a->n != b->n)
		return a->n < b->n ? -1 : 1;
	int c = lc_cmp_toks(a->toks, a->n, b->toks, b->n);
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
		t = lc_argmax(logits, m->n_vocab);
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
	if (LLE_HAS_FIELD(lc_host, struct lle_host, generated))
		lc_host->generated(lc_host->user, r->id, 1); /* progress: tokens as they come */
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
		res.n_prompt_tokens = g->n;
	}
	cb(user, &reqs[g->req], &res);
}

/* llama.cpp attends over the first n_kv cells of a sequence's KV stream, n_kv
 * being the cells it uses rounded up to a multiple of this
 * (llama_kv_cache::get_n_kv, src/llama-kv-cache.cpp: at least 256). */
#define LC_KV_PAD 256

/* Decode a prompt item alone, in calls that end where a multiple of
 * LC_KV_PAD cells does. Every token of a call attends over n_kv cells, n_kv
 * set by the call's last position, so a call of 512 tokens from position 3
 * attends over 768 cells and one from 515 over 1280; in aligned calls of
 * up to 256 tokens each attends over at most the 256 cells past its own
 * window. Alone, because llama.cpp splits a call that holds tokens of
 * several streams into parts of as many tokens from each, and a part may
 * then mix windows (or hold a single token, which its kernels round
 * differently). A token's values do not depend on the calls it was decoded
 * in as long as no call has a single row: cells past a sequence's own are
 * masked to exact zeros, so the greedy texts stay what they were. */
static int decode_aligned(struct lle_model *m, const struct item *it, struct gen_run *run,
			  char *err, size_t len)
{
	int a = it->pos0, end = it->pos0 + it->n;
	while (a < end) {
		int b = (a / LC_KV_PAD + 1) * LC_KV_PAD;
		if (b > end)
			b = end;
		int off = a - it->pos0;
		struct item c = { it->seq, a, it->toks + off, b - a, it->logit_from - off, it->owner };
		if (lc_decode_items(m, &c, 1, gen_row, run, err, len) < 0)
			return -1;
		a = b;
	}
	return 0;
}

/* Generation in streams (the gen_streams option): each generating sequence,
 * the prefix and the spare sequence get a KV stream of their own, as many
 * cells as the longest request needs. In the shared cache every token
 * attends over the cells of all sequences (masked), so attention, which
 * dominates a small model's step, cost three times what it does here: a
 * greedy GSM8K run on the tiny model took 7.8 CPU-s in the shared cache and
 * 5.9 in streams. The context is made anew only when it is too small; the
 * next scoring submit goes back to the shared cache. 0 or -1 with err. */
static int gen_context(struct lle_model *m, const struct gen *gs, size_t n, char *err, size_t len)
{
	int need = 2;
	for (size_t k = 0; k < n; k++) {
		int c = gs[k].n + gs[k].max_tokens;
		if (c > m->max_length)
			c = m->max_length;
		if (c > need)
			need = c;
	}
	need = (need + 1 + 255) / 256 * 256;
	int slots = m->gen_streams < m->n_parallel ? m->gen_streams : m->n_parallel;
	if (m->ctx_stream_len >= need && m->ctx_seqs == slots + 2)
		return 0;
	lc_log(LLE_LOG_DEBUG, "llamacpp: generation in %d streams of %d cells", slots + 2, need);
	if (lc_make_context(m, slots + 2, need, err, len) == 0)
		return 0;
	/* no memory for the streams: the shared cache, as with gen_streams=0 */
	lc_log(LLE_LOG_WARN, "llamacpp: %s; generating in the shared cache", err);
	return lc_make_context(m, m->n_parallel + 2, 0, err, len);
}

int lc_run_generation(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
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
		lc_fail_all(reqs, idx, nidx, cb, user);
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
	if (m->gen_streams > 0 && nwork > 0 && gen_context(m, gs, nidx, err, len) < 0)
		goto out;
	qsort_r(order, (size_t)nwork, sizeof(int), cmp_gen, gs);
	m->canonical = 0; /* many sequences interleave their cells (see run_scoring) */
	int nslots = m->ctx_seqs - 2;

	/* shared prefix of all prompts (each keeps at least its last token) */
	int P = nwork ? gs[order[0]].n - 1 : 0;
	for (int i = 1; i < nwork; i++) {
		const struct gen *a = &gs[order[0]], *b = &gs[order[i]];
		int l = 0;
		while (l < P && l < b->n - 1 && a->toks[l] == b->toks[l])
			l++;
		P = l;
	}
	if (nwork && lc_set_prefix(m, gs[order[0]].toks, P, err, len) < 0)
		goto out;

	llama_memory_t mem = llama_get_memory(m->ctx);
	struct gen_run run = { gs, reqs };
	int next = 0, active = 0, used_cells = 0, cancelled = 0;
	for (int s = 0; s <= nslots; s++)
		slot_of_seq[s] = -1;
	while (next < nwork || active > 0) {
		if (lc_host->interrupted(lc_host->user)) {
			cancelled = 1;
			break;
		}
		int nit = 0;
		/* one token for each running request */
		for (int s = 1; s <= nslots; s++) {
			int k = slot_of_seq[s];
			if (k < 0)
				continue;
			struct gen *g = &gs[k];
			items[nit++] = (struct item){ s, g->pos, &g->next, 1, 0, k };
		}
		int ngen = nit;
		/* admit new prompts into free sequences while the cells last */
		for (int s = 1; s <= nslots && next < nwork; s++) {
			if (slot_of_seq[s] >= 0)
				continue;
			struct gen *g = &gs[order[next]];
			int need = g->n - P + g->max_tokens;
			if (m->unified && !m->ctx_stream_len && active > 0 &&
			    used_cells + need > m->kv_size - m->n_pre - 8)
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
		if (!m->ctx_stream_len) {
			/* the shared cache: all in one go */
			if (lc_decode_items(m, items, nit, gen_row, &run, err, len) < 0)
				goto out;
		} else {
			/* streams: the running sequences' tokens, then each new
			 * prompt alone, in aligned calls (see decode_aligned) */
			if (ngen > 0 && lc_decode_items(m, items, ngen, gen_row, &run, err, len) < 0)
				goto out;
			for (int i = ngen; i < nit; i++)
				if (decode_aligned(m, &items[i], &run, err, len) < 0)
					goto out;
		}
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
	if (m->ctx)
		lc_clear_work_seqs(m);
	if (rc < 0 && gs) {
		if (m->ctx)
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

