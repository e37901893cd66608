/* Scoring for the llama.cpp evaluator (loglikelihood, loglikelihood_rolling):
 * the units tokenise.c made are sorted and grouped, then decoded in clusters
 * that share a prefix, wave by wave, or one sequence at a time in exact mode;
 * eval.c's head describes the scheme. Log-softmax in double from the float
 * logits; each request's log-probability summed in target order.
 *
 * Not here: tokenisation (tokenise.c), the decode packer and the prefix
 * sequence (eval.c), generation (gen.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"

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

int lc_cmp_toks(const llama_token *a, int na, const llama_token *b, int nb)
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
	int c = lc_cmp_toks(a->toks, a->g, b->toks, b->g);
	if (!c)
		c = lc_cmp_toks(a->toks, a->n, b->toks, b->n);
	if (!c)
		c = a->req < b->req ? -1 : a->req > b->req;
	if (!c)
		c = a->win - b->win;
	return c;
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
		res.n_prompt_tokens = q->n_read;
	}
	cb(user, &reqs[i], &res);
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
		if (lc_decode_items(m, &g, 1, group_row, &cbu, err, len) < 0)
			return -1;
		for (int p = p0; p < p1; p++) {
			struct unit *u = &sc->u[sc->order[p]];
			if (u->s <= 1)
				continue;
			/* from T[g - 1] (target 0's row, already scored) */
			llama_memory_seq_rm(mem, 1, u->g - 1, -1);
			struct item it = { 1, u->g - 1, u->toks + u->g - 1, u->s, 1, sc->order[p] };
			if (lc_decode_items(m, &it, 1, unit_row, &cbu, err, len) < 0)
				return -1;
		}
		llama_memory_seq_rm(mem, 1, -1, -1);
		for (int p = p0; p < p1; p++)
			unit_done(sc, &sc->u[sc->order[p]], reqs, idx, cb, user);
	}
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
		if (p == 0 || lc_cmp_toks(u->toks, u->g, sc->u[sc->order[p - 1]].toks,
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
	if (lc_decode_items(m, w->ga, w->nga, group_row, &cbu, err, len) < 0)
		return -1;
	for (int i = 0; i < w->nub; i++) {
		struct unit *u = &sc->u[w->ub[i].owner];
		llama_memory_seq_cp(mem, sc->gseq[u->group], w->ub[i].seq, -1, -1);
	}
	if (lc_decode_items(m, w->ub, w->nub, unit_row, &cbu, err, len) < 0)
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
		if (lc_set_prefix(m, group_unit(sc, c0)->toks, P, err, len) < 0)
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
int lc_run_scoring(struct lle_model *m, const struct lle_request *reqs, const size_t *idx,
		   size_t nidx, lle_complete_fn cb, void *user, char *err, size_t len)
{
	struct score sc = { 0 };
	int rc = -1, oom = 0, cancelled = 0;
	size_t nreq = nidx;
	sc.rq = lc_alloc(sizeof(*sc.rq) * (nreq ? nreq : 1));
	if (!sc.rq) {
		lc_fail_all(reqs, idx, nidx, cb, user);
		return 0;
	}
	memset(sc.rq, 0, sizeof(*sc.rq) * (nreq ? nreq : 1));
	int nwork = -1;
	if (lc_tokenise_requests(m, reqs, idx, nidx, &sc) < 0 ||
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
	lc_clear_work_seqs(m);
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

