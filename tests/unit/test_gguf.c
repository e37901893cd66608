/* Tests of the generated models ($(BUILD)/models/tiny*.gguf, made by
 * tools/mkgguf.c through mk/gguf.mk): their metadata and weights read back
 * through the gguf API, then real inference through libllama on the CPU:
 * loading, tokenisation with and without BOS, decoding a batch, logits that
 * are finite, varied and identical across two contexts.
 *
 * Built by its own rule in mk/gguf.mk (it links libllama, the generic
 * unit-test rule does not); GGUF_TEST_MODELS, GGUF_TEST_LIBDIR and
 * GGUF_TEST_VOCAB_DIR are the absolute model, library and vocabulary directories. Nothing here is mocked. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "ggml-backend.h"
#include "ggml.h"
#include "gguf.h"
#include "llama.h"

#define TINY GGUF_TEST_MODELS "/tiny.gguf"
#define TINY_F16 GGUF_TEST_MODELS "/tiny-f16.gguf"
#define TINY_GPT2 GGUF_TEST_MODELS "/tiny-gpt2.gguf"
#define VOCAB_SPM GGUF_TEST_VOCAB_DIR "/ggml-vocab-llama-spm.gguf"

/* llama.cpp logs every load at INFO; keep warnings and errors only. A CONT
 * line continues the previous message and shares its fate. */
static int log_dropping;
static void quiet_log(enum ggml_log_level level, const char *text, void *user)
{
	(void)user;
	if (level != GGML_LOG_LEVEL_CONT)
		log_dropping = level < GGML_LOG_LEVEL_WARN;
	if (!log_dropping)
		fputs(text, stderr);
}

static struct gguf_context *open_meta(const char *path, struct ggml_context **data)
{
	struct gguf_init_params p = {.no_alloc = data == NULL, .ctx = data};

	return gguf_init_from_file(path, p);
}

static uint32_t get_u32(const struct gguf_context *g, const char *key)
{
	int64_t k = gguf_find_key(g, key);

	if (k < 0 || gguf_get_kv_type(g, k) != GGUF_TYPE_UINT32)
		return UINT32_MAX;
	return gguf_get_val_u32(g, k);
}

static const char *get_str(const struct gguf_context *g, const char *key)
{
	int64_t k = gguf_find_key(g, key);

	if (k < 0 || gguf_get_kv_type(g, k) != GGUF_TYPE_STRING)
		return NULL;
	return gguf_get_val_str(g, k);
}

/* Shape and type of a tensor by name; ne1 = 1 for vectors. */
static int tensor_is(const struct gguf_context *g, const char *name, int64_t ne0, int64_t ne1,
		     enum ggml_type type)
{
	int64_t t = gguf_find_tensor(g, name);
	const int64_t *ne;

	if (t < 0)
		return 0;
	ne = gguf_get_tensor_ne(g, t);
	return ne[0] == ne0 && ne[1] == ne1 && ne[2] == 1 && ne[3] == 1 &&
	       gguf_get_tensor_type(g, t) == type;
}

TEST(metadata_and_shapes)
{
	struct gguf_context *g = open_meta(TINY, NULL);

	CHECK(g != NULL);
	if (!g)
		return;
	CHECK_STREQ(get_str(g, "general.architecture"), "llama");
	CHECK_INTEQ(get_u32(g, "llama.block_count"), 2);
	CHECK_INTEQ(get_u32(g, "llama.embedding_length"), 64);
	CHECK_INTEQ(get_u32(g, "llama.feed_forward_length"), 192);
	CHECK_INTEQ(get_u32(g, "llama.attention.head_count"), 4);
	CHECK_INTEQ(get_u32(g, "llama.attention.head_count_kv"), 2);
	CHECK_INTEQ(get_u32(g, "llama.rope.dimension_count"), 16);
	CHECK_INTEQ(get_u32(g, "llama.context_length"), 512);
	CHECK_INTEQ(get_u32(g, "llama.vocab_size"), 32000);
	CHECK_INTEQ(gguf_get_n_tensors(g), 2 * 9 + 3);
	CHECK(tensor_is(g, "token_embd.weight", 64, 32000, GGML_TYPE_F32));
	CHECK(tensor_is(g, "output.weight", 64, 32000, GGML_TYPE_F32));
	CHECK(tensor_is(g, "output_norm.weight", 64, 1, GGML_TYPE_F32));
	for (int i = 0; i < 2; i++) {
		char n[64];
#define T_(suffix, a, b)                                                    \
	snprintf(n, sizeof n, "blk.%d.%s", i, suffix);                      \
	if (!tensor_is(g, n, a, b, GGML_TYPE_F32))                          \
		CHECK_FAIL_("tensor '%s' missing or not %dx%d f32", n, a, b)
		T_("attn_norm.weight", 64, 1);
		T_("attn_q.weight", 64, 64);
		T_("attn_k.weight", 64, 32); /* 2 kv heads of 16 */
		T_("attn_v.weight", 64, 32);
		T_("attn_output.weight", 64, 64);
		T_("ffn_norm.weight", 64, 1);
		T_("ffn_gate.weight", 64, 192);
		T_("ffn_up.weight", 64, 192);
		T_("ffn_down.weight", 192, 64);
#undef T_
	}
	gguf_free(g);
}

/* Every tokenizer.* key of the vocabulary file is in the model, unchanged. */
TEST(tokenizer_copied)
{
	struct gguf_context *g = open_meta(TINY, NULL), *v = open_meta(VOCAB_SPM, NULL);
	int n_tok_keys = 0;

	CHECK(g != NULL && v != NULL);
	if (!g || !v)
		goto out;
	for (int64_t i = 0; i < gguf_get_n_kv(v); i++) {
		const char *key = gguf_get_key(v, i);
		int64_t j = gguf_find_key(g, key);

		if (strncmp(key, "tokenizer.", 10) != 0)
			continue;
		n_tok_keys++;
		if (j < 0) {
			CHECK_FAIL_("key '%s' not copied", key);
			continue;
		}
		CHECK_INTEQ(gguf_get_kv_type(g, j), gguf_get_kv_type(v, i));
		if (gguf_get_kv_type(v, i) == GGUF_TYPE_ARRAY) {
			size_t n = gguf_get_arr_n(v, i);

			CHECK_INTEQ(gguf_get_arr_n(g, j), n);
			CHECK_INTEQ(gguf_get_arr_type(g, j), gguf_get_arr_type(v, i));
			if (gguf_get_arr_n(g, j) != n)
				continue;
			if (gguf_get_arr_type(v, i) == GGUF_TYPE_STRING) {
				for (size_t k = 0; k < n; k++)
					if (strcmp(gguf_get_arr_str(g, j, k), gguf_get_arr_str(v, i, k)) != 0) {
						CHECK_FAIL_("%s[%zu] differs", key, k);
						break;
					}
			} else {
				size_t sz = gguf_get_arr_type(v, i) == GGUF_TYPE_FLOAT32 ||
						    gguf_get_arr_type(v, i) == GGUF_TYPE_INT32 ? 4 : 0;
				if (sz)
					CHECK(memcmp(gguf_get_arr_data(g, j), gguf_get_arr_data(v, i), n * sz) == 0);
			}
		} else if (gguf_get_kv_type(v, i) == GGUF_TYPE_STRING) {
			CHECK_STREQ(gguf_get_val_str(g, j), gguf_get_val_str(v, i));
		}
	}
	CHECK(n_tok_keys >= 8);
	CHECK_INTEQ(get_u32(g, "tokenizer.ggml.bos_token_id"), 1);
out:
	if (g)
		gguf_free(g);
	if (v)
		gguf_free(v);
}

/* The weights: uniform in [-a, a) with a = sqrt(3 / fan_in), so their variance
 * is 1 / fan_in; norms are 1; the f16 model holds the f32 weights rounded to
 * nearest even (ggml's own conversion is the reference). */
TEST(weights)
{
	struct ggml_context *c32 = NULL, *c16 = NULL;
	struct gguf_context *g32 = open_meta(TINY, &c32), *g16 = open_meta(TINY_F16, &c16);

	CHECK(g32 && g16);
	if (!g32 || !g16)
		goto out;
	for (int64_t t = 0; t < gguf_get_n_tensors(g32); t++) {
		const char *name = gguf_get_tensor_name(g32, t);
		struct ggml_tensor *a = ggml_get_tensor(c32, name), *b = ggml_get_tensor(c16, name);
		int64_t n = ggml_nelements(a);
		const float *x = a->data;
		double sum = 0, sq = 0, amp;
		int64_t bad = 0;

		if (!b || ggml_nelements(b) != n) {
			CHECK_FAIL_("tensor '%s' differs in the f16 model", name);
			continue;
		}
		if (a->ne[1] == 1) { /* norm weights: f32 ones in both */
			CHECK_INTEQ(b->type, GGML_TYPE_F32);
			for (int64_t i = 0; i < n; i++)
				bad += x[i] != 1.0f || ((const float *)b->data)[i] != 1.0f;
			if (bad)
				CHECK_FAIL_("tensor '%s': %lld values are not 1", name, (long long)bad);
			continue;
		}
		CHECK_INTEQ(b->type, GGML_TYPE_F16);
		amp = strcmp(name, "token_embd.weight") == 0 ? sqrt(3.0) : sqrt(3.0 / (double)a->ne[0]);
		for (int64_t i = 0; i < n; i++) {
			ggml_fp16_t want = ggml_fp32_to_fp16(x[i]);

			bad += memcmp(&want, (const char *)b->data + 2 * i, 2) != 0;
			bad += !(x[i] >= -amp && x[i] < amp * 1.000001);
			sum += x[i];
			sq += (double)x[i] * x[i];
		}
		if (bad)
			CHECK_FAIL_("tensor '%s': %lld values out of range or badly rounded", name,
				    (long long)bad);
		/* Mean near 0 and variance a^2/3 within a few standard errors. */
		CHECK(fabs(sum / n) < 6 * amp / sqrt(3.0 * n));
		CHECK_NEAR(sq / n / (amp * amp / 3), 1.0, 12.0 / sqrt((double)n));
	}
out:
	if (g32)
		gguf_free(g32);
	if (g16)
		gguf_free(g16);
	if (c32)
		ggml_free(c32);
	if (c16)
		ggml_free(c16);
}

static struct llama_model *load(const char *path)
{
	struct llama_model_params mp = llama_model_default_params();

	mp.n_gpu_layers = 0;
	return llama_model_load_from_file(path, mp);
}

static struct llama_context *new_ctx(struct llama_model *m)
{
	struct llama_context_params cp = llama_context_default_params();

	cp.n_ctx = 128;
	cp.n_batch = 128;
	cp.n_ubatch = 128;
	cp.n_seq_max = 1;
	cp.n_threads = 2;
	cp.n_threads_batch = 2;
	cp.no_perf = true;
	return llama_init_from_model(m, cp);
}

/* Decode tokens in one batch with logits for every position; returns a
 * malloc'd n * n_vocab array, or NULL. */
static float *decode_all(struct llama_context *ctx, const llama_token *tok, int n, int n_vocab)
{
	struct llama_batch b = llama_batch_init(n, 0, 1);
	float *out = malloc((size_t)n * (size_t)n_vocab * sizeof *out);

	if (!out)
		goto fail;
	for (int i = 0; i < n; i++) {
		b.token[i] = tok[i];
		b.pos[i] = i;
		b.n_seq_id[i] = 1;
		b.seq_id[i][0] = 0;
		b.logits[i] = 1;
	}
	b.n_tokens = n;
	if (llama_decode(ctx, b) != 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		const float *l = llama_get_logits_ith(ctx, i);

		if (!l)
			goto fail;
		memcpy(out + (size_t)i * n_vocab, l, (size_t)n_vocab * sizeof *l);
	}
	llama_batch_free(b);
	return out;
fail:
	free(out);
	llama_batch_free(b);
	return NULL;
}

static int tokenize(const struct llama_vocab *v, const char *text, llama_token *tok, int max)
{
	return llama_tokenize(v, text, (int32_t)strlen(text), tok, max, true, false);
}

static struct llama_model *tiny;

TEST(load_tiny)
{
	tiny = load(TINY);
	CHECK(tiny != NULL);
	if (!tiny)
		return;
	CHECK_INTEQ(llama_vocab_n_tokens(llama_model_get_vocab(tiny)), 32000);
	CHECK_INTEQ(llama_model_n_embd(tiny), 64);
	CHECK_INTEQ(llama_model_n_layer(tiny), 2);
	CHECK_INTEQ(llama_model_n_head(tiny), 4);
	CHECK_INTEQ(llama_model_n_head_kv(tiny), 2);
	CHECK_INTEQ(llama_model_n_ctx_train(tiny), 512);
}

/* The SPM vocabulary adds BOS; "Hello world" is two pieces after it. */
TEST(tokenize_spm_bos)
{
	const struct llama_vocab *v;
	llama_token tok[16];
	int n;

	if (!tiny) {
		CHECK_FAIL_("no model");
		return;
	}
	v = llama_model_get_vocab(tiny);
	CHECK(llama_vocab_get_add_bos(v));
	CHECK_INTEQ(llama_vocab_bos(v), 1);
	n = tokenize(v, "Hello world", tok, 16);
	CHECK_INTEQ(n, 3);
	CHECK_INTEQ(tok[0], 1);
	CHECK_INTEQ(tok[1], 15043); /* "▁Hello" in the llama SPM vocabulary */
	CHECK_INTEQ(tok[2], 3186);  /* "▁world" */
	/* Multi-byte UTF-8 tokenises too. */
	n = tokenize(v, "caf\xc3\xa9 \xe2\x82\xac 5", tok, 16);
	CHECK(n > 2 && tok[0] == 1);
}

TEST(decode_deterministic)
{
	const char *text = "The quick brown fox jumps over the lazy dog, again and again.";
	struct llama_context *c1 = NULL, *c2 = NULL;
	float *l1 = NULL, *l2 = NULL;
	llama_token tok[64];
	int n, nv, nonfinite = 0, distinct_rows = 0;
	float lo = INFINITY, hi = -INFINITY;

	if (!tiny) {
		CHECK_FAIL_("no model");
		return;
	}
	nv = llama_vocab_n_tokens(llama_model_get_vocab(tiny));
	n = tokenize(llama_model_get_vocab(tiny), text, tok, 64);
	CHECK(n > 8);
	c1 = new_ctx(tiny);
	c2 = new_ctx(tiny);
	CHECK(c1 && c2);
	if (n <= 8 || !c1 || !c2)
		goto out;
	l1 = decode_all(c1, tok, n, nv);
	l2 = decode_all(c2, tok, n, nv);
	CHECK(l1 && l2);
	if (!l1 || !l2)
		goto out;
	for (size_t i = 0; i < (size_t)n * nv; i++) {
		nonfinite += !isfinite(l1[i]);
		lo = l1[i] < lo ? l1[i] : lo;
		hi = l1[i] > hi ? l1[i] : hi;
	}
	CHECK_INTEQ(nonfinite, 0);
	CHECK(hi - lo > 1.0f); /* not all equal: logits have spread */
	for (int i = 1; i < n; i++)
		distinct_rows += memcmp(l1, l1 + (size_t)i * nv, (size_t)nv * sizeof *l1) != 0;
	CHECK_INTEQ(distinct_rows, n - 1); /* each position sees a different context */
	CHECK(memcmp(l1, l2, (size_t)n * nv * sizeof *l1) == 0);
out:
	free(l1);
	free(l2);
	if (c1)
		llama_free(c1);
	if (c2)
		llama_free(c2);
}

/* The f16 model holds the same weights rounded: its logits track the f32
 * model's closely but not exactly. */
TEST(f16_model_tracks_f32)
{
	struct llama_model *m16 = load(TINY_F16);
	struct llama_context *c32 = NULL, *c16 = NULL;
	float *l32 = NULL, *l16 = NULL;
	llama_token tok[32];
	int n, nv = 32000;
	double maxdiff = 0;

	CHECK(m16 != NULL);
	if (!m16 || !tiny)
		goto out;
	n = tokenize(llama_model_get_vocab(m16), "Once upon a time", tok, 32);
	c32 = new_ctx(tiny);
	c16 = new_ctx(m16);
	CHECK(c32 && c16 && n > 2);
	if (!c32 || !c16 || n <= 2)
		goto out;
	l32 = decode_all(c32, tok, n, nv);
	l16 = decode_all(c16, tok, n, nv);
	CHECK(l32 && l16);
	if (!l32 || !l16)
		goto out;
	for (size_t i = 0; i < (size_t)n * nv; i++) {
		double d = fabs((double)l32[i] - l16[i]);

		maxdiff = d > maxdiff || !isfinite(d) ? (isfinite(d) ? d : INFINITY) : maxdiff;
	}
	CHECK(maxdiff < 0.1);
	CHECK(maxdiff > 0.0);
out:
	free(l32);
	free(l16);
	if (c32)
		llama_free(c32);
	if (c16)
		llama_free(c16);
	if (m16)
		llama_model_free(m16);
}

/* A vocabulary without BOS (GPT-2 BPE): nothing is prepended. */
TEST(gpt2_vocab_no_bos)
{
	struct llama_model *m = load(TINY_GPT2);
	struct llama_context *c = NULL;
	const struct llama_vocab *v;
	float *l = NULL;
	llama_token tok[16];
	int n;

	CHECK(m != NULL);
	if (!m)
		return;
	v = llama_model_get_vocab(m);
	CHECK_INTEQ(llama_vocab_n_tokens(v), 50257);
	CHECK(!llama_vocab_get_add_bos(v));
	n = tokenize(v, "Hello world", tok, 16);
	CHECK_INTEQ(n, 2);
	CHECK_INTEQ(tok[0], 15496); /* "Hello" in GPT-2 */
	CHECK_INTEQ(tok[1], 995);   /* "Ġworld" */
	c = new_ctx(m);
	CHECK(c != NULL);
	if (c && n > 0) {
		l = decode_all(c, tok, n, 50257);
		CHECK(l != NULL);
		if (l)
			for (int i = 0; i < n * 50257; i++)
				if (!isfinite(l[i])) {
					CHECK_FAIL_("logit %d is not finite", i);
					break;
				}
	}
	free(l);
	if (c)
		llama_free(c);
	llama_model_free(m);
}

int main(void)
{
	llama_log_set(quiet_log, NULL);
	ggml_log_set(quiet_log, NULL);
	ggml_backend_load_all_from_path(GGUF_TEST_LIBDIR);
	llama_backend_init();

	RUN(metadata_and_shapes);
	RUN(tokenizer_copied);
	RUN(weights);
	RUN(load_tiny);
	RUN(tokenize_spm_bos);
	RUN(decode_deterministic);
	RUN(f16_model_tracks_f32);
	RUN(gpt2_vocab_no_bos);

	if (tiny)
		llama_model_free(tiny);
	llama_backend_free();
	return check_done();
}
