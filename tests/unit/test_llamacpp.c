/* Tests of the llama.cpp backend plugin on the generated tiny model, against
 * a reference written here: a plain one-sequence-at-a-time decode with its own
 * llama.cpp context, its own lm-evaluation-harness tokenisation and rolling
 * windows, and its own greedy generation. The plugin is loaded the way llm-eval
 * loads it (src/backend/loader.c). Needs $(BUILD)/models/tiny.gguf. */
#include "check.h"

#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "backend/loader.h"
#include "ggml-backend.h"
#include "llama.h"
#include "util/buf.h"

#define MAXLEN 96   /* max_length given to the plugin: some inputs are longer */
#define NPAIRS 320

static char model_path[4096];
static struct lle_plugin *plug;
static const struct lle_backend *be;
static struct llama_model *ref_model;
static struct llama_context *ref_ctx;
static const struct llama_vocab *vocab;
/* what the plugin's debug log said about its SentencePiece shortcuts (on_log) */
static int spm_yes, spm_no, spm_short, spm_ctx;
static char lib_dir[4096];       /* $(BUILD)/lib */
static char kernels_note[1024];  /* the plugin's "CPU kernels: ..." line (on_log) */

/* ---- reference: tokenisation and decoding, one sequence at a time -------- */

static int tok(const char *s, size_t n, int add_bos, llama_token *out, int cap)
{
	return llama_tokenize(vocab, s, (int32_t)n, out, cap, add_bos, false);
}

/* log-probs of toks[k+1] given toks[0..k] for every k >= from-1 of one input */
static double ref_score(const llama_token *in, int n, const llama_token *tgt, int s, int *greedy)
{
	llama_memory_clear(llama_get_memory(ref_ctx), true);
	struct llama_batch b = llama_batch_init(n, 0, 1);
	for (int i = 0; i < n; i++) {
		b.token[i] = in[i];
		b.pos[i] = i;
		b.n_seq_id[i] = 1;
		b.seq_id[i][0] = 0;
		/* a second logit when one is asked for, as the plugin does: a single
		 * output row takes llama.cpp's matrix-vector path, which rounds
		 * differently */
		b.logits[i] = i >= n - s || (s == 1 && i == n - 2);
	}
	b.n_tokens = n;
	double lp = 0;
	*greedy = 1;
	if (llama_decode(ref_ctx, b) != 0) {
		llama_batch_free(b);
		return NAN;
	}
	int nv = llama_vocab_n_tokens(vocab);
	for (int j = 0; j < s; j++) {
		const float *row = llama_get_logits_ith(ref_ctx, n - s + j);
		double mx = row[0];
		int arg = 0;
		for (int v = 1; v < nv; v++)
			if (row[v] > mx) {
				mx = row[v];
				arg = v;
			}
		double sum = 0;
		for (int v = 0; v < nv; v++)
			sum += exp(row[v] - mx);
		lp += row[tgt[j]] - mx - log(sum);
		*greedy &= arg == tgt[j];
	}
	llama_batch_free(b);
	return lp;
}

/* lm-evaluation-harness's _encode_pair and _loglikelihood_tokens, by the book */
static double ref_loglikelihood(const char *context, const char *cont, int *greedy)
{
	static llama_token ctx[8192], whole[8192], all[16384];
	int nc, nx, add_bos = llama_vocab_get_add_bos(vocab);
	const llama_token *x;
	if (!*context) {
		ctx[0] = llama_vocab_bos(vocab);
		nc = 1;
		nx = tok(cont, strlen(cont), 0, whole, 8192);
		x = whole;
	} else {
		size_t lc = strlen(context), k = lc;
		while (k > 0 && strchr(" \t\n\r\v\f", context[k - 1]))
			k--;
		char *w = malloc(lc + strlen(cont) + 1);
		strcpy(w, context);
		strcat(w, cont);
		nc = tok(w, k, add_bos, ctx, 8192);
		int nw = tok(w, strlen(w), add_bos, whole, 8192);
		free(w);
		nx = nw - nc;
		x = whole + nc;
	}
	int nf = 0;
	for (int i = 0; i < nc; i++)
		all[nf++] = ctx[i];
	for (int i = 0; i < nx; i++)
		all[nf++] = x[i];
	int start = nf > MAXLEN + 1 ? nf - (MAXLEN + 1) : 0;
	int n = nf - start - 1;
	int s = nx < n ? nx : n;
	return ref_score(all + start, n, all + nf - s, s, greedy);
}

/* get_rolling_token_windows(context_len=1) + make_disjoint_window, summed */
static double ref_rolling(const char *text)
{
	static llama_token t[16384], w[16384];
	int n = tok(text, strlen(text), 0, t, 16384), predicted = 0, g;
	double total = 0;
	if (n <= 0)
		return 0;
	int first = n < MAXLEN ? n : MAXLEN;
	w[0] = llama_vocab_bos(vocab);
	memcpy(w + 1, t, sizeof(llama_token) * (size_t)first);
	total += ref_score(w, first, t, first, &g);
	predicted = first;
	while (predicted < n) {
		int wl = n - predicted < MAXLEN ? n - predicted : MAXLEN;
		int end = predicted + wl;
		int a0 = end - MAXLEN - 1 < 0 ? 0 : end - MAXLEN - 1;
		/* input: t[a0, end - 1), the last wl of which are predicted */
		int nin = end - 1 - a0;
		total += ref_score(t + a0, nin, t + predicted, wl, &g);
		predicted = end;
	}
	return total;
}

/* greedy generation, one sequence, stopping at the earliest stop string:
 * the whole prompt in one call, then one token per call, in context c of a
 * model with max_length maxlen */
static void ref_generate_in(struct llama_context *c, int maxlen, const char *prompt,
			    const char *const *until, int nu, int max_tokens, struct lle_buf *out)
{
	static llama_token p[8192];
	int n = tok(prompt, strlen(prompt), llama_vocab_get_add_bos(vocab), p, 8192);
	int keep = maxlen - max_tokens;
	int start = n > keep ? n - keep : 0;
	llama_memory_clear(llama_get_memory(c), true);
	struct llama_batch b = llama_batch_init(maxlen + 1, 0, 1);
	int m = 0;
	for (int i = start; i < n; i++, m++) {
		b.token[m] = p[i];
		b.pos[m] = m;
		b.n_seq_id[m] = 1;
		b.seq_id[m][0] = 0;
		b.logits[m] = i == n - 1;
	}
	b.n_tokens = m;
	int pos = m, nv = llama_vocab_n_tokens(vocab);
	lle_buf_reset(out);
	for (int g = 0; g < max_tokens; g++) {
		if (llama_decode(c, b) != 0)
			break;
		const float *row = llama_get_logits_ith(c, b.n_tokens - 1);
		int arg = 0;
		for (int v = 1; v < nv; v++)
			if (row[v] > row[arg])
				arg = v;
		if (llama_vocab_is_eog(vocab, arg))
			break;
		char piece[256];
		int np = llama_token_to_piece(vocab, arg, piece, sizeof(piece), 0, false);
		lle_buf_add(out, piece, np > 0 ? (size_t)np : 0);
		const char *cut = NULL;
		for (int k = 0; k < nu; k++) {
			const char *h = strstr(lle_buf_str(out), until[k]);
			if (h && (!cut || h < cut))
				cut = h;
		}
		if (cut) {
			out->n = (size_t)(cut - out->p);
			out->p[out->n] = '\0';
			break;
		}
		if (pos + 1 >= maxlen)
			break;
		b.token[0] = arg;
		b.pos[0] = pos++;
		b.n_seq_id[0] = 1;
		b.seq_id[0][0] = 0;
		b.logits[0] = 1;
		b.n_tokens = 1;
	}
	llama_batch_free(b);
}

static void ref_generate(const char *prompt, const char *const *until, int nu, int max_tokens,
			 struct lle_buf *out)
{
	ref_generate_in(ref_ctx, MAXLEN, prompt, until, nu, max_tokens, out);
}

/* ---- the pairs ------------------------------------------------------------ */

static const char *fewshot =
	"The following are multiple choice questions (with answers) about caf\xc3\xa9s.\n\n"
	"Which drink is served cold?\nA. espresso\nB. iced tea\nC. cocoa\nD. soup\nAnswer: B\n\n";
static const char *stems[] = {
	"Where is T\xc5\x8dky\xc5\x8d?", "  leading spaces", "trailing spaces   ",
	"Gr\xc3\xbc\xc3\x9f" "e aus M\xc3\xbc" "nchen \xe2\x80\x94 na\xc3\xafve", "emoji \xf0\x9f\x98\x80 ok",
	"2 + 2 =", "tabs\tand\nnewlines\n", "\xe6\x9d\xb1\xe4\xba\xac\xe3\x81\xaf",
};
static const char *conts[] = { " A", " B", " C", " D", "A", " yes", " \xc3\xa9t\xc3\xa9", "\n",
			       " many words in a longer continuation", "   spaced", "" };

struct pair {
	char *ctx, *cont;
};
static struct pair pairs[NPAIRS];

static uint64_t rng = 12345;
static unsigned rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng >> 33) % n;
}

static char *strjoin(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *s = malloc(n);
	snprintf(s, n, "%s%s%s", a, b, c);
	return s;
}

static void make_pairs(void)
{
	int i = 0;
	/* multiple-choice questions sharing the few-shot prefix: 4 choices each */
	while (i < 160) {
		const char *stem = stems[rnd(8)];
		char q[256];
		snprintf(q, sizeof(q), "%s\nA. one\nB. two\nC. three\nD. f\xc3\xb6ur\nAnswer:", stem);
		for (int c = 0; c < 4; c++, i++) {
			pairs[i].ctx = strjoin(fewshot, q, "");
			pairs[i].cont = strjoin(conts[c], "", "");
		}
	}
	/* empty contexts, contexts of spaces, odd continuations */
	for (int k = 0; k < 20; k++, i++) {
		pairs[i].ctx = strjoin(k % 3 == 0 ? "" : k % 3 == 1 ? " " : "   ", "", "");
		pairs[i].cont = strjoin(conts[rnd(11)], stems[rnd(8)], "");
	}
	/* inputs longer than max_length, cut from the left */
	for (int k = 0; k < 20; k++, i++) {
		struct lle_buf b = LLE_BUF_INIT;
		for (int r = 0; r < 6 + k; r++)
			lle_buf_adds(&b, stems[(k + r) % 8]);
		pairs[i].ctx = lle_buf_detach(&b);
		pairs[i].cont = strjoin(k % 4 ? conts[8] : " x", k % 5 == 0 ? " and a few more words to go past the limit of the context for sure, more and more and more and more" : "", "");
	}
	/* random mixtures */
	while (i < NPAIRS) {
		pairs[i].ctx = strjoin(rnd(2) ? fewshot : "", stems[rnd(8)], rnd(3) == 0 ? " " : "");
		pairs[i].cont = strjoin(conts[rnd(11)], "", "");
		i++;
	}
}

/* ---- plugin calls --------------------------------------------------------- */

struct res {
	int n_tokens;
	double lp;
	int greedy;
	int status;
	char *text;
};

static void collect(void *user, const struct lle_request *req, const struct lle_result *r)
{
	struct res *out = user;
	struct res *x = &out[req->id];
	x->lp = r->logprob;
	x->n_tokens = r->n_tokens;
	x->greedy = r->is_greedy;
	x->status = (int)r->status;
	free(x->text);
	x->text = r->text ? strndup(r->text, r->text_len) : NULL;
}

/* The test model with up to two more options (a later option overrides an
 * earlier one). */
static struct lle_model *open_model2(const char *opt1, const char *opt2, int chat, const char *sys)
{
	const char *opts[5] = { "n_ctx=96", getenv("LLE_TEST_KV") ? getenv("LLE_TEST_KV") : "kv_unified=1",
				"n_threads=1" };
	size_t n = 3;
	if (opt1)
		opts[n++] = opt1;
	if (opt2)
		opts[n++] = opt2;
	struct lle_open_params op = { .size = sizeof(op), .model = model_path, .options = opts,
				      .n_options = n, .apply_chat_template = chat,
				      .chat_template = chat ? "chatml" : NULL, .system_message = sys };
	struct lle_model *m = NULL;
	char err[512];
	if (be->open(&op, &m, err, sizeof(err)) != 0 || be->wait_ready(m, err, sizeof(err)) != 0) {
		printf("# open: %s\n", err);
		return NULL;
	}
	return m;
}

static struct lle_model *open_model(const char *extra_opt, int chat, const char *sys)
{
	return open_model2(extra_opt, NULL, chat, sys);
}

/* Submit reqs in chunks of `batch`, in the given order. */
static int submit_chunks(struct lle_model *m, struct lle_request *reqs, int n, int batch,
			 struct res *out)
{
	char err[512];
	for (int i = 0; i < n; i += batch) {
		int k = n - i < batch ? n - i : batch;
		if (be->submit(m, reqs + i, (size_t)k, collect, out, err, sizeof(err)) != 0) {
			printf("# submit: %s\n", err);
			return -1;
		}
	}
	return 0;
}

static void ll_requests(struct lle_request *reqs)
{
	for (int i = 0; i < NPAIRS; i++)
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .kind = LLE_REQ_LOGLIKELIHOOD,
						.id = (uint64_t)i, .context = pairs[i].ctx,
						.continuation = pairs[i].cont };
}

static struct res base[NPAIRS];

TEST(loglikelihood_matches_one_sequence_reference)
{
	struct lle_model *m = open_model("exact=1", 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	static struct lle_request reqs[NPAIRS];
	ll_requests(reqs);
	spm_ctx = 0;
	CHECK(submit_chunks(m, reqs, NPAIRS, NPAIRS, base) == 0);
	/* the questions after the first share the few-shot examples: their
	 * contexts are tokenised from the one before (spm_context) */
	printf("#   %d contexts tokenised from the one before\n", spm_ctx);
	CHECK(spm_ctx >= 30);
	int bad = 0, nflag = 0, nsame = 0;
	double worst = 0;
	for (int i = 0; i < NPAIRS; i++) {
		int g;
		double want = ref_loglikelihood(pairs[i].ctx, pairs[i].cont, &g);
		double d = fabs(want - base[i].lp);
		if (d > worst)
			worst = d;
		if (!(d <= 1e-4) || g != base[i].greedy || base[i].status != 0) {
			if (bad++ < 3)
				printf("#   pair %d: got %.8f greedy %d, want %.8f greedy %d\n", i,
				       base[i].lp, base[i].greedy, want, g);
		}
		nflag += g;
		nsame += want == base[i].lp;
	}
	printf("#   %d pairs, largest difference from the reference %.3g, %d greedy, %d bit-identical\n", NPAIRS,
	       worst, nflag, nsame);
	CHECK(bad == 0);
	/* the exact evaluator decodes each token as a lone decode of the request
	 * does (at least two rows per call, each token in the cell of its
	 * position), so the values are the same to the last bit */
	CHECK(nsame == NPAIRS);
	be->close(m);
}

/* Batch sizes 1, 7 and 64, another order (in chunks of 37) and two threads,
 * each against the one-thread results of one batch. With `exact` (the default
 * without a GPU) the values must be the same to the last bit; the batched
 * evaluator (exact=0) must agree within 1e-4. */
static void check_batchings(const char *mode, int exact)
{
	static struct lle_request reqs[NPAIRS], shuffled[NPAIRS];
	static struct res ref1[NPAIRS], got[NPAIRS];
	ll_requests(reqs);
	struct lle_model *m = open_model(mode, 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(submit_chunks(m, reqs, NPAIRS, NPAIRS, ref1) == 0);
	memcpy(shuffled, reqs, sizeof(reqs));
	for (int i = NPAIRS - 1; i > 0; i--) {
		int j = (int)rnd((unsigned)i + 1);
		struct lle_request t = shuffled[i];
		shuffled[i] = shuffled[j];
		shuffled[j] = t;
	}
	const char *what[] = { "batch size 1", "batch size 7", "batch size 64", "another order",
			       "two threads" };
	for (int s = 0; s < 5; s++) {
		if (s == 4) {
			be->close(m);
			m = open_model2(mode, "n_threads=2", 0, NULL);
			CHECK(m != NULL);
			if (!m)
				return;
		}
		int rc = s == 3 ? submit_chunks(m, shuffled, NPAIRS, 37, got)
			: submit_chunks(m, reqs, NPAIRS, s == 0 ? 1 : s == 1 ? 7 : 64, got);
		CHECK(rc == 0);
		int diff = 0, flags = 0;
		double worst = 0;
		for (int i = 0; i < NPAIRS; i++) {
			diff += got[i].lp != ref1[i].lp;
			flags += got[i].greedy != ref1[i].greedy;
			if (fabs(got[i].lp - ref1[i].lp) > worst)
				worst = fabs(got[i].lp - ref1[i].lp);
		}
		printf("#   %s, %s: %d of %d values differ, by %.3g at most\n", exact ? "exact" : "batched",
		       what[s], diff, NPAIRS, worst);
		CHECK(flags == 0);
		if (exact)
			CHECK(diff == 0);
		else
			CHECK(worst <= 1e-4);
	}
	be->close(m);
}

TEST(loglikelihood_bit_identical_for_batch_sizes_order_and_threads)
{
	check_batchings("exact=1", 1);
}

TEST(batched_mode_agrees_within_float_rounding)
{
	check_batchings("exact=0", 0);
}

/* The SentencePiece shortcut (plugins/llamacpp/tokenise.c, spm_split) must give
 * the tokens of lm-evaluation-harness's whole encoding: texts with runs of
 * spaces, spaces next to newlines and tabs, a no-break space, a literal "▁",
 * continuations that start without a space, with several, or that merge with
 * the end of the context. Each is checked against the shortcut turned off and
 * against the by-the-book reference, to the last bit. */
static void on_log(void *user, int level, const char *msg)
{
	(void)user;
	(void)level;
	const char *p = strstr(msg, "s (");
	int k;
	int kc;
	if (strstr(msg, "llamacpp: tokenised") && p &&
	    sscanf(p, "s (%d continuations from a SentencePiece split, %d contexts", &k, &kc) == 2) {
		spm_short += k;
		spm_ctx += kc;
	}
	if (strstr(msg, "SentencePiece shortcut for continuations: yes"))
		spm_yes++;
	if (strstr(msg, "SentencePiece shortcut for continuations: no"))
		spm_no++;
	if (strstr(msg, "llamacpp: CPU kernels: "))
		snprintf(kernels_note, sizeof(kernels_note), "%s", msg);
}

/* With `make native-kernels` built (and LLM_EVAL_LLAMA_CPU unset, auto or
 * native), the one CPU device llama.cpp computes on is that of
 * lib/llama/native/libggml-cpu.so, whatever ggml's own choice among the
 * prebuilt variants would be, and the plugin says so; without it, a prebuilt
 * variant. Every other test here then runs on those kernels (the exactness
 * claims included). */
TEST(cpu_kernels_are_the_native_ones_when_built)
{
	char native[4200], want[PATH_MAX], got[PATH_MAX];
	snprintf(native, sizeof(native), "%s/llama/native/libggml-cpu.so", lib_dir);
	const char *mode = getenv("LLM_EVAL_LLAMA_CPU");
	int use_native = access(native, R_OK) == 0 &&
			 (!mode || !*mode || strcmp(mode, "auto") == 0 || strcmp(mode, "native") == 0);
	int n_cpu = 0;
	for (size_t i = 0; i < ggml_backend_dev_count(); i++)
		n_cpu += ggml_backend_dev_type(ggml_backend_dev_get(i)) == GGML_BACKEND_DEVICE_TYPE_CPU;
	CHECK_INTEQ(n_cpu, 1);
	ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
	Dl_info info;
	CHECK(cpu && dladdr((void *)ggml_backend_dev_backend_reg(cpu), &info) && info.dli_fname);
	if (!cpu || !info.dli_fname)
		return;
	printf("#   CPU kernels: %s\n", info.dli_fname);
	CHECK(realpath(info.dli_fname, got) != NULL);
	if (use_native) {
		CHECK(realpath(native, want) != NULL);
		CHECK_STREQ(got, want);
		CHECK(strstr(kernels_note, "llamacpp: CPU kernels: native (") != NULL);
		CHECK(strstr(be->version, "(cpu kernels: native libggml-cpu.so)") != NULL);
	} else {
		printf("#   no native kernels in use (make native-kernels builds them)\n");
		const char *file = strrchr(got, '/');
		CHECK(file && strncmp(file, "/libggml-cpu", 12) == 0);
		CHECK(strstr(kernels_note, "llamacpp: CPU kernels: prebuilt (") != NULL);
		CHECK(strstr(be->version, "(cpu kernels: prebuilt libggml-cpu") != NULL);
	}
}

#define LONG "The following are questions about a long shared beginning, as few-shot examples make. Q: "
TEST(spm_shortcut_equals_whole_encoding)
{
	static const char *ctxs[] = {
		"a  b  c", "word \n next word", " \tx y", "x\xc2\xa0y z", "literal \xe2\x96\x81 char z",
		"Question: what?\nAnswer:", "q?  two  spaces", "emoji \xf0\x9f\x98\x80 then", "\xe6\x9d\xb1 \xe4\xba\xac x",
		"hel", "the quick brown fox jumps over the", "x y", "tabs\tbetween\twords and spaces", "end ",
		"new\n\nparagraph here", "  two leading", "a b c d e f g h i j k", "caf\xc3\xa9 au lait s",
		/* a long shared beginning, each told apart just before, at or after a space */
		LONG "word  two", LONG "wordy two", LONG "word two", LONG " word", LONG "\n word two",
		LONG "w\xc3\xb6rd \xe2\x96\x81 two", LONG "word\ttwo three", LONG "word  ",
	};
	static const char *cs[] = { " A", "A", "\n", " \xc3\xa9t\xc3\xa9", "  x", "lo world", " quick", "", " ", "\xe2\x96\x81z" };
	enum { NC = sizeof(ctxs) / sizeof(ctxs[0]), NX = sizeof(cs) / sizeof(cs[0]), N = NC * NX };
	static struct lle_request reqs[N];
	static struct res on[N], off[N];
	for (int i = 0; i < N; i++)
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .kind = LLE_REQ_LOGLIKELIHOOD,
						.id = (uint64_t)i, .context = ctxs[i / NX],
						.continuation = cs[i % NX] };
	spm_yes = spm_no = spm_short = spm_ctx = 0;
	struct lle_model *m = open_model("exact=1", 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(spm_yes == 1); /* the tiny model's vocabulary allows it */
	CHECK(submit_chunks(m, reqs, N, N, on) == 0);
	be->close(m);
	/* contexts with a space after a non-space before their last word */
	printf("#   %d of %d continuations tokenised from a split\n", spm_short, N);
	CHECK(spm_short >= 14 * (int)NX);
	printf("#   %d contexts tokenised from the one before\n", spm_ctx);
	CHECK(spm_ctx >= 6);
	spm_short = spm_ctx = 0;
	m = open_model2("exact=1", "spm_shortcut=0", 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	CHECK(spm_no == 1);
	CHECK(submit_chunks(m, reqs, N, 7, off) == 0);
	CHECK(spm_short == 0 && spm_ctx == 0);
	be->close(m);
	int same = 0, ref_same = 0;
	for (int i = 0; i < N; i++) {
		int g;
		double want = ref_loglikelihood(reqs[i].context, reqs[i].continuation, &g);
		same += on[i].lp == off[i].lp && on[i].n_tokens == off[i].n_tokens && on[i].status == 0;
		ref_same += on[i].lp == want && on[i].greedy == g;
		if (on[i].lp != off[i].lp || on[i].lp != want)
			printf("#   '%s' + '%s': shortcut %.8f, whole %.8f, reference %.8f\n",
			       reqs[i].context, reqs[i].continuation, on[i].lp, off[i].lp, want);
	}
	printf("#   %d pairs: %d equal with the shortcut off, %d equal to the reference\n", N, same, ref_same);
	CHECK(same == N);
	CHECK(ref_same == N);
	for (int i = 0; i < N; i++) {
		free(on[i].text);
		free(off[i].text);
	}
}

TEST(rolling_matches_reference_windows)
{
	struct lle_model *m = open_model(NULL, 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	static struct lle_request reqs[12];
	static struct res got[12];
	char *texts[12];
	for (int i = 0; i < 12; i++) {
		struct lle_buf b = LLE_BUF_INIT;
		for (int r = 0; r < i * 4 + 1; r++)
			lle_buf_adds(&b, stems[(i + r) % 8]);
		texts[i] = lle_buf_detach(&b);
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .id = (uint64_t)i,
						.kind = LLE_REQ_LOGLIKELIHOOD_ROLLING, .context = texts[i] };
	}
	CHECK(submit_chunks(m, reqs, 12, 5, got) == 0);
	int nsame = 0;
	for (int i = 0; i < 12; i++) {
		double want = ref_rolling(texts[i]);
		/* float rounding adds up over the tokens: 1e-4 per 100 tokens */
		double tol = 1e-4 * (1.0 + got[i].n_tokens / 100.0);
		if (!(fabs(want - got[i].lp) <= tol))
			printf("#   text %d: got %.8f want %.8f\n", i, got[i].lp, want);
		CHECK_NEAR(got[i].lp, want, tol);
		nsame += got[i].lp == want;
		free(texts[i]);
		free(got[i].text);
	}
	printf("#   rolling: %d of 12 texts bit-identical to the reference windows\n", nsame);
	CHECK(nsame == 12);
	be->close(m);
}

#define NGEN 24
TEST(greedy_generation_matches_reference_and_stops_at_stop_strings)
{
	struct lle_model *m = open_model(NULL, 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	static struct lle_request reqs[NGEN];
	static struct res got[NGEN], base_gen[NGEN];
	static char *prompts[NGEN], stops[NGEN][2][16];
	static const char *until[NGEN][2];
	struct lle_buf ref = LLE_BUF_INIT;
	int nstopped = 0;
	for (int i = 0; i < NGEN; i++) {
		prompts[i] = strjoin(i % 2 ? fewshot : "", stems[i % 8], i % 3 ? " Answer:" : "");
		/* stop strings taken from the unconstrained reference text, so they occur */
		ref_generate(prompts[i], NULL, 0, 24, &ref);
		const char *t = lle_buf_str(&ref);
		size_t tl = strlen(t);
		snprintf(stops[i][0], 16, "%.3s", tl > 12 ? t + 8 + i % 4 : "\x01never");
		snprintf(stops[i][1], 16, "%s", i % 2 ? "\n\n" : "zzzq");
		until[i][0] = stops[i][0];
		until[i][1] = stops[i][1];
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .id = (uint64_t)i,
						.kind = LLE_REQ_GENERATE_UNTIL, .context = prompts[i],
						.until = until[i], .n_until = 2, .max_tokens = 24 };
	}
	CHECK(submit_chunks(m, reqs, NGEN, NGEN, base_gen) == 0);
	for (int i = 0; i < NGEN; i++) {
		ref_generate(prompts[i], until[i], 2, 24, &ref);
		CHECK(base_gen[i].text != NULL);
		if (!base_gen[i].text)
			continue;
		if (strcmp(base_gen[i].text, lle_buf_str(&ref)) != 0)
			printf("#   prompt %d: got '%s' want '%s'\n", i, base_gen[i].text, lle_buf_str(&ref));
		CHECK_STREQ(base_gen[i].text, lle_buf_str(&ref));
		CHECK(strstr(base_gen[i].text, stops[i][0]) == NULL);
		nstopped += ref.n < 20;
	}
	printf("#   %d of %d generations ended at a stop string or end of text\n", nstopped, NGEN);
	CHECK(nstopped >= NGEN / 2);
	int sizes[] = { 1, 7, 64 };
	for (int s = 0; s < 3; s++) {
		CHECK(submit_chunks(m, reqs, NGEN, sizes[s], got) == 0);
		for (int i = 0; i < NGEN; i++)
			CHECK(got[i].text && base_gen[i].text && strcmp(got[i].text, base_gen[i].text) == 0);
	}
	/* sampling: repeatable per seed whatever the batch */
	for (int i = 0; i < NGEN; i++) {
		reqs[i].temperature = 0.9;
		reqs[i].top_p = 0.95;
		reqs[i].seed = 1000 + (uint64_t)i;
	}
	/* sampled text follows the logits' last bits over a flat distribution, so
	 * only runs of the same batches are compared: two fresh models */
	be->close(m);
	m = open_model(NULL, 0, NULL);
	CHECK(m && submit_chunks(m, reqs, NGEN, 5, base_gen) == 0);
	be->close(m);
	m = open_model(NULL, 0, NULL);
	CHECK(m && submit_chunks(m, reqs, NGEN, 5, got) == 0);
	int differ = 0;
	for (int i = 0; i < NGEN; i++)
		differ += i > 0 && got[i].text && got[0].text && strcmp(got[i].text, got[0].text) != 0;
	CHECK(differ > 0);
	for (int i = 0; i < NGEN; i++) {
		if (got[i].text && base_gen[i].text && strcmp(got[i].text, base_gen[i].text))
			printf("#   sampled %d: '%s' vs '%s'\n", i, got[i].text, base_gen[i].text);
		CHECK(got[i].text && base_gen[i].text && strcmp(got[i].text, base_gen[i].text) == 0);
	}
	for (int i = 0; i < NGEN; i++) {
		free(prompts[i]);
		free(got[i].text);
		free(base_gen[i].text);
	}
	lle_buf_free(&ref);
	be->close(m);
}

/* Prompts of hundreds of tokens, which generation in KV streams decodes in
 * calls aligned to llama.cpp's 256-cell padding (gen.c, decode_aligned):
 * lengths that end one token past a window (a call of a single token),
 * cross one or two windows or end on one, each text equal to a reference
 * that decodes the whole prompt in one call. */
#define LONGLEN 1024
TEST(greedy_generation_of_long_prompts_matches_reference)
{
	static const int want[] = { 257, 300, 512, 513, 700, 130 };
	enum { NL = sizeof(want) / sizeof(want[0]) };
	struct lle_model *m = open_model("n_ctx=1024", 0, NULL);
	struct llama_context_params cp = llama_context_default_params();
	cp.n_ctx = cp.n_batch = cp.n_ubatch = LONGLEN;
	cp.n_seq_max = 1;
	cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
	cp.n_threads = cp.n_threads_batch = 1;
	cp.no_perf = true;
	struct llama_context *c = llama_init_from_model(ref_model, cp);
	CHECK(m != NULL && c != NULL);
	if (!m || !c) {
		if (c)
			llama_free(c);
		return;
	}
	static struct lle_request reqs[NL];
	static struct res got[NL];
	struct lle_buf prompts[NL], ref = LLE_BUF_INIT;
	static llama_token t[4096];
	for (int i = 0; i < NL; i++) {
		/* words until the prompt has exactly want[i] tokens (BOS included) */
		prompts[i] = (struct lle_buf)LLE_BUF_INIT;
		lle_buf_add(&prompts[i], stems[i], strlen(stems[i]));
		int n = 0;
		for (int w = 0; (n = tok(lle_buf_str(&prompts[i]), prompts[i].n, 1, t, 4096)) < want[i]; w++)
			lle_buf_add(&prompts[i], w % 3 ? " and" : " so", w % 3 ? 4 : 3);
		CHECK(n == want[i]);
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .id = (uint64_t)i,
						.kind = LLE_REQ_GENERATE_UNTIL,
						.context = lle_buf_str(&prompts[i]), .max_tokens = 12 };
	}
	CHECK(submit_chunks(m, reqs, NL, NL, got) == 0);
	for (int i = 0; i < NL; i++) {
		ref_generate_in(c, LONGLEN, lle_buf_str(&prompts[i]), NULL, 0, 12, &ref);
		CHECK(got[i].text != NULL);
		if (got[i].text && strcmp(got[i].text, lle_buf_str(&ref)) != 0)
			printf("#   %d tokens: got '%s' want '%s'\n", want[i], got[i].text, lle_buf_str(&ref));
		CHECK(got[i].text && strcmp(got[i].text, lle_buf_str(&ref)) == 0);
		CHECK(ref.n > 0);
		free(got[i].text);
		lle_buf_free(&prompts[i]);
	}
	lle_buf_free(&ref);
	llama_free(c);
	be->close(m);
}

/* Generation admits prompts shortest first (gen.c, cmp_gen), so the
 * sequences that generate side by side have much the same length and a
 * step's attention, which runs over the cells of its longest, wastes
 * little. With one stream the results come back in admission order: by
 * prompt length, whatever the order of the prompts' tokens. */
static int order_n, order_len[NGEN];
static void collect_order(void *user, const struct lle_request *req, const struct lle_result *r)
{
	collect(user, req, r);
	if (order_n < NGEN)
		order_len[order_n++] = r->n_prompt_tokens;
}

TEST(generation_admits_shorter_prompts_first)
{
	struct lle_model *m = open_model("gen_streams=1", 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	static struct lle_request reqs[8];
	static struct res got[8];
	static char *prompts[8];
	for (int i = 0; i < 8; i++) {
		prompts[i] = strjoin(i % 2 ? fewshot : "", stems[(5 * i) % 8], i % 3 ? " Answer:" : "");
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .id = (uint64_t)i,
						.kind = LLE_REQ_GENERATE_UNTIL, .context = prompts[i],
						.max_tokens = 3 };
	}
	char err[512];
	order_n = 0;
	CHECK(be->submit(m, reqs, 8, collect_order, got, err, sizeof(err)) == 0);
	CHECK(order_n == 8);
	int sorted = 1;
	for (int i = 1; i < order_n; i++)
		sorted &= order_len[i - 1] <= order_len[i];
	printf("#   prompt tokens in the order results came:");
	for (int i = 0; i < order_n; i++)
		printf(" %d", order_len[i]);
	printf("\n");
	CHECK(sorted);
	for (int i = 0; i < 8; i++) {
		CHECK(got[i].text != NULL);
		free(got[i].text);
		free(prompts[i]);
	}
	be->close(m);
}

TEST(chat_template_wraps_the_context)
{
	struct lle_model *m = open_model(NULL, 1, "Be brief.");
	CHECK(m != NULL);
	if (!m)
		return;
	struct lle_request r = { .size = sizeof(r), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 0,
				 .context = "Capital of France?", .continuation = "Paris" };
	struct res got[1] = { { 0 } };
	CHECK(submit_chunks(m, &r, 1, 1, got) == 0);
	int g;
	double want = ref_loglikelihood("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\n"
					"Capital of France?<|im_end|>\n<|im_start|>assistant\n",
					"Paris", &g);
	CHECK_NEAR(got[0].lp, want, 1e-4);
	be->close(m);
}

TEST(load_failures_are_clear)
{
	struct lle_open_params op = { .size = sizeof(op), .model = "/nonexistent/model.gguf" };
	struct lle_model *m = NULL;
	char err[512];
	CHECK(be->open(&op, &m, err, sizeof(err)) == 0);
	CHECK(be->wait_ready(m, err, sizeof(err)) == -1);
	CHECK_STREQ(err, "model file '/nonexistent/model.gguf' cannot be read: No such file or directory");
	struct lle_request r = { .size = sizeof(r), .kind = LLE_REQ_LOGLIKELIHOOD, .context = "a",
				 .continuation = "b" };
	CHECK(be->submit(m, &r, 1, collect, NULL, err, sizeof(err)) == -1);
	be->close(m);

	char junk[] = "/tmp/lle-junk-XXXXXX";
	int fd = mkstemp(junk);
	CHECK(fd >= 0 && write(fd, "GGUF but not really", 19) == 19);
	close(fd);
	op.model = junk;
	CHECK(be->open(&op, &m, err, sizeof(err)) == 0);
	CHECK(be->wait_ready(m, err, sizeof(err)) == -1);
	CHECK(strncmp(err, "cannot load model '/tmp/lle-junk-", 33) == 0);
	be->close(m);
	unlink(junk);

	const char *bad[] = { "n_ctx=lots" };
	op.model = model_path;
	op.options = bad;
	op.n_options = 1;
	CHECK(be->open(&op, &m, err, sizeof(err)) == -1);
	CHECK_STREQ(err, "llamacpp: option 'n_ctx=lots' has a bad value");
	const char *unknown[] = { "temperature=1" };
	op.options = unknown;
	CHECK(be->open(&op, &m, err, sizeof(err)) == -1);
	CHECK(strncmp(err, "llamacpp: unknown option 'temperature'", 38) == 0);
	op.options = NULL;
	op.n_options = 0;
	op.apply_chat_template = 1;
	op.chat_template = "no-such-template";
	CHECK(be->open(&op, &m, err, sizeof(err)) == 0);
	CHECK(be->wait_ready(m, err, sizeof(err)) == -1);
	CHECK(strstr(err, "chat template 'no-such-template' is not one of llama.cpp's built-in templates") != NULL);
	be->close(m);
}

static int stop_after = -1, n_seen;
static int stop_now(void *user)
{
	(void)user;
	return stop_after >= 0 && n_seen >= stop_after;
}
static void count_and_collect(void *user, const struct lle_request *req, const struct lle_result *r)
{
	n_seen++;
	collect(user, req, r);
}

TEST(interruption_cancels_what_is_left)
{
	struct lle_model *m = open_model("n_parallel=2", 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	static struct lle_request reqs[16];
	static struct res got[16];
	for (int i = 0; i < 16; i++) {
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .id = (uint64_t)i,
						.kind = i < 8 ? LLE_REQ_LOGLIKELIHOOD : LLE_REQ_GENERATE_UNTIL,
						.context = stems[i % 8], .continuation = " ok", .max_tokens = 8 };
		got[i].status = -1;
	}
	n_seen = 0;
	stop_after = 2;
	char err[256];
	CHECK(be->submit(m, reqs, 16, count_and_collect, got, err, sizeof(err)) == 0);
	int ok = 0, cancelled = 0;
	for (int i = 0; i < 16; i++) {
		ok += got[i].status == LLE_STATUS_OK;
		cancelled += got[i].status == LLE_STATUS_CANCELLED;
		free(got[i].text);
		got[i].text = NULL;
	}
	stop_after = -1;
	CHECK(n_seen == 16);              /* every request was called back */
	CHECK(ok >= 2 && ok < 16 && ok + cancelled == 16);
	/* the model still works afterwards */
	n_seen = 0;
	CHECK(be->submit(m, reqs, 4, count_and_collect, got, err, sizeof(err)) == 0);
	CHECK(n_seen == 4 && got[0].status == LLE_STATUS_OK);
	be->close(m);
}

/* The host's allocator fails after `alloc_budget` more calls (-1: never). */
static int alloc_budget = -1;
static void *test_alloc(void *user, size_t n)
{
	(void)user;
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return malloc(n ? n : 1);
}
static void *test_realloc(void *user, void *p, size_t n)
{
	(void)user;
	if (alloc_budget == 0)
		return NULL;
	if (alloc_budget > 0)
		alloc_budget--;
	return realloc(p, n ? n : 1);
}

TEST(out_of_memory_fails_requests_not_the_process)
{
	struct lle_model *m = open_model(NULL, 0, NULL);
	CHECK(m != NULL);
	if (!m)
		return;
	static struct lle_request reqs[12];
	static struct res got[12];
	const char *until[] = { "\n" };
	for (int i = 0; i < 12; i++)
		reqs[i] = (struct lle_request){ .size = sizeof(reqs[i]), .id = (uint64_t)i,
						.kind = i < 6 ? LLE_REQ_LOGLIKELIHOOD : i < 8 ? LLE_REQ_LOGLIKELIHOOD_ROLLING : LLE_REQ_GENERATE_UNTIL,
						.context = pairs[i * 13].ctx, .continuation = pairs[i * 13].cont,
						.until = until, .n_until = 1, .max_tokens = 6 };
	int all_called = 1, some_failed = 0, some_ok = 0;
	for (int budget = 0; budget < 200; budget += 11) {
		n_seen = 0;
		char err[256];
		alloc_budget = budget;
		int rc = be->submit(m, reqs, 12, count_and_collect, got, err, sizeof(err));
		alloc_budget = -1;
		if (rc == 0)
			all_called &= n_seen == 12;
		else
			all_called &= n_seen == 0;
		for (int i = 0; i < 12; i++) {
			some_failed += got[i].status == LLE_STATUS_ERROR;
			some_ok += got[i].status == LLE_STATUS_OK;
			free(got[i].text);
			got[i].text = NULL;
			got[i].status = -1;
		}
	}
	CHECK(all_called);
	CHECK(some_failed > 0 && some_ok > 0);
	/* and afterwards all is well, with the same numbers as before */
	n_seen = 0;
	struct lle_request r = { .size = sizeof(r), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 0,
				 .context = pairs[0].ctx, .continuation = pairs[0].cont };
	char err[256];
	CHECK(be->submit(m, &r, 1, count_and_collect, got, err, sizeof(err)) == 0);
	CHECK(got[0].status == LLE_STATUS_OK);
	CHECK_NEAR(got[0].lp, base[0].lp, 1e-4);
	be->close(m);
}

static double last_done = -1, last_total = -1;
static int n_progress;
static void on_progress(void *user, const char *what, double done, double total)
{
	(void)user;
	if (strstr(what, "loading model 'tiny.gguf'")) {
		n_progress++;
		last_done = done;
		last_total = total;
	}
}

TEST(background_load_reports_progress_and_first_request_waits)
{
	struct lle_open_params op = { .size = sizeof(op), .model = model_path };
	struct lle_model *m = NULL;
	char err[512];
	CHECK(be->open(&op, &m, err, sizeof(err)) == 0);
	/* submit at once: it waits for the load */
	struct lle_request r = { .size = sizeof(r), .kind = LLE_REQ_LOGLIKELIHOOD, .id = 0,
				 .context = "Hello", .continuation = " world" };
	struct res got[1] = { { 0 } };
	CHECK(be->submit(m, &r, 1, collect, got, err, sizeof(err)) == 0);
	CHECK(got[0].status == LLE_STATUS_OK && got[0].lp < 0);
	CHECK(n_progress > 0 && last_done == last_total);
	CHECK(be->count_tokens(m, "Hello world", err, sizeof(err)) > 0);
	be->close(m);
}

int main(void)
{
	const char *build = getenv("BUILD");
	char cwd[2048], libdir[4096];
	if (!build || !*build)
		build = "build";
	if (!getcwd(cwd, sizeof(cwd)))
		return 1;
	if (build[0] == '/')
		snprintf(libdir, sizeof(libdir), "%s", build);
	else
		snprintf(libdir, sizeof(libdir), "%s/%s", cwd, build);
	snprintf(model_path, sizeof(model_path), "%.4000s/models/tiny.gguf", libdir);
	strcat(libdir, "/lib");
	setenv("LLM_EVAL_PLUGIN_PATH", libdir, 1);
	snprintf(lib_dir, sizeof(lib_dir), "%s", libdir);

	static struct lle_host host;
	host = *lle_backend_default_host();
	host.progress = on_progress;
	host.log = on_log;
	host.interrupted = stop_now;
	host.alloc = test_alloc;
	host.realloc = test_realloc;
	struct lle_err e = { 0 };
	plug = lle_backend_load("llamacpp", &host, &e);
	if (!plug) {
		printf("not ok - load the llamacpp plugin\n#   %s\n", e.msg);
		return 1;
	}
	be = plug->be;
	make_pairs();
	/* The reference uses its own context on the same model file, loaded after
	 * the plugin registered the CPU backends. */
	RUN(background_load_reports_progress_and_first_request_waits);
	RUN(cpu_kernels_are_the_native_ones_when_built);
	struct llama_model_params mp = llama_model_default_params();
	ref_model = llama_model_load_from_file(model_path, mp);
	struct llama_context_params cp = llama_context_default_params();
	cp.n_ctx = 2 * MAXLEN;
	cp.n_batch = 2 * MAXLEN;
	cp.n_ubatch = 2 * MAXLEN;
	cp.n_seq_max = 1;
	cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
	cp.n_threads = cp.n_threads_batch = 1;
	cp.no_perf = true;
	ref_ctx = ref_model ? llama_init_from_model(ref_model, cp) : NULL;
	if (!ref_ctx) {
		printf("not ok - reference context\n");
		return 1;
	}
	vocab = llama_model_get_vocab(ref_model);
	RUN(loglikelihood_matches_one_sequence_reference);
	RUN(loglikelihood_bit_identical_for_batch_sizes_order_and_threads);
	RUN(batched_mode_agrees_within_float_rounding);
	RUN(spm_shortcut_equals_whole_encoding);
	RUN(rolling_matches_reference_windows);
	RUN(greedy_generation_matches_reference_and_stops_at_stop_strings);
	RUN(greedy_generation_of_long_prompts_matches_reference);
	RUN(generation_admits_shorter_prompts_first);
	RUN(chat_template_wraps_the_context);
	RUN(load_failures_are_clear);
	RUN(interruption_cancels_what_is_left);
	RUN(out_of_memory_fails_requests_not_the_process);
	llama_free(ref_ctx);
	llama_model_free(ref_model);
	for (int i = 0; i < NPAIRS; i++) {
		free(pairs[i].ctx);
		free(pairs[i].cont);
		free(base[i].text);
	}
	lle_plugin_close(plug);
	return check_done();
}
