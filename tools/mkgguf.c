/* mkgguf: write a small llama-architecture GGUF model with deterministic
 * random weights, for tests and demos that need real inference without a
 * download.
 *
 *   mkgguf [--vocab FILE] [--layers N] [--embd N] [--heads N] [--kv-heads N]
 *          [--ff N] [--ctx N] [--seed S] [--type f32|f16] [--chat-template T] -o OUT
 *
 * The tokenizer is real: every `tokenizer.*` key of a vocabulary-only GGUF
 * (llama.cpp's models/ggml-vocab-*.gguf) is copied, so tokenisation, BOS/EOS
 * and the vocabulary size are those of the model family the file came from.
 * The weights are not trained; the model's outputs are noise, but they are
 * exactly reproducible: the same options and vocabulary give a byte-identical
 * file on every machine with IEEE-754 single precision (no libm calls, no
 * excess precision, a PRNG of its own; see fill_tensor()).
 *
 * What it does not do: quantised types, other architectures, training. A chat
 * template is only stored (tokenizer.chat_template) when one is given.
 * The metadata is written through the gguf API of libggml-base (gguf.h); the
 * tensor data is streamed after it in chunks, so memory stays small even for
 * a model of hundreds of MB.
 *
 * Exit status: 0 written, 2 bad command line, 6 a file could not be read or
 * written, 70 internal error or out of memory (the codes of src/util/err.h). */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ggml.h"
#include "gguf.h"
#include "util/err.h"

#ifndef MKGGUF_VOCAB
#define MKGGUF_VOCAB "deps/llama/vocab/ggml-vocab-llama-spm.gguf"
#endif

/* Elements generated and written per chunk. */
#define CHUNK 65536

struct opts {
	const char *vocab;
	const char *out;
	const char *chat_template;     /* NULL: keep the vocabulary's, if any */
	long layers, embd, heads, kv_heads, ff, ctx;
	uint64_t seed;
	enum ggml_type type;
	int quiet;
};

static const char *prog = "mkgguf";

static void errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void errorf(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: error: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: mkgguf [options] -o OUT\n"
		"Write a llama-architecture GGUF with deterministic random weights and a real tokenizer.\n"
		"\n"
		"  --vocab FILE    vocabulary-only GGUF whose tokenizer.* keys are copied\n"
		"                  (default %s)\n"
		"  --layers N      transformer blocks (default 2)\n"
		"  --embd N        embedding width (default 64)\n"
		"  --heads N       attention heads; must divide --embd, head size even (default 4)\n"
		"  --kv-heads N    key/value heads; must divide --heads (default: --heads)\n"
		"  --ff N          feed-forward width (default 3 * --embd)\n"
		"  --ctx N         training context length (default 512)\n"
		"  --seed S        weights seed, 0..2^64-1 (default 42)\n"
		"  --type T        f32 or f16 for the matrices; norms stay f32 (default f32)\n"
		"  --chat-template T  store T as tokenizer.chat_template (a llama.cpp built-in\n"
		"                  template name such as chatml, a Jinja template, or a file\n"
		"                  holding one)\n"
		"  -o, --output OUT  file to write (written to OUT.tmp, then renamed)\n"
		"  -q, --quiet     print nothing on success\n"
		"  -h, --help      this help\n",
		MKGGUF_VOCAB);
}

/* A decimal integer in [lo, hi], the whole string. */
static int parse_long(const char *opt, const char *s, long lo, long hi, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno || v < lo || v > hi) {
		errorf("option '%s': '%s' is not an integer in %ld..%ld", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_seed(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *s == '-' || *s == '+' || *end != '\0' || errno) {
		errorf("option '--seed': '%s' is not an integer in 0..18446744073709551615", s);
		return -1;
	}
	*out = (uint64_t)v;
	return 0;
}

/* Returns 0 to go on, -1 after --help, or the exit status. */
static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"vocab", required_argument, NULL, 'V'},
		{"layers", required_argument, NULL, 'L'},
		{"embd", required_argument, NULL, 'E'},
		{"heads", required_argument, NULL, 'H'},
		{"kv-heads", required_argument, NULL, 'K'},
		{"ff", required_argument, NULL, 'F'},
		{"ctx", required_argument, NULL, 'C'},
		{"seed", required_argument, NULL, 'S'},
		{"type", required_argument, NULL, 'T'},
		{"chat-template", required_argument, NULL, 'P'},
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	o->vocab = MKGGUF_VOCAB;
	o->out = NULL;
	o->chat_template = NULL;
	o->layers = 2;
	o->embd = 64;
	o->heads = 4;
	o->kv_heads = 0;
	o->ff = 0;
	o->ctx = 512;
	o->seed = 42;
	o->type = GGML_TYPE_F32;
	o->quiet = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":o:qh", longopts, NULL)) != -1) {
		const char *name = argv[optind - 1];
		int rc = 0;

		switch (c) {
		case 'V': o->vocab = optarg; break;
		case 'L': rc = parse_long("--layers", optarg, 1, 4096, &o->layers); break;
		case 'E': rc = parse_long("--embd", optarg, 2, 65536, &o->embd); break;
		case 'H': rc = parse_long("--heads", optarg, 1, 4096, &o->heads); break;
		case 'K': rc = parse_long("--kv-heads", optarg, 1, 4096, &o->kv_heads); break;
		case 'F': rc = parse_long("--ff", optarg, 1, 1L << 20, &o->ff); break;
		case 'C': rc = parse_long("--ctx", optarg, 1, 1L << 24, &o->ctx); break;
		case 'S': rc = parse_seed(optarg, &o->seed); break;
		case 'T':
			if (strcmp(optarg, "f32") == 0) {
				o->type = GGML_TYPE_F32;
			} else if (strcmp(optarg, "f16") == 0) {
				o->type = GGML_TYPE_F16;
			} else {
				errorf("option '--type': '%s' is not f32 or f16", optarg);
				rc = -1;
			}
			break;
		case 'P': o->chat_template = optarg; break;
		case 'o': o->out = optarg; break;
		case 'q': o->quiet = 1; break;
		case 'h': usage(stdout); return -1;
		case ':':
			errorf("option '%s' needs a value", name);
			return LLE_EXIT_USAGE;
		default:
			if (optopt)
				errorf("unknown option '-%c'", optopt);
			else
				errorf("unknown option '%s'", name);
			fprintf(stderr, "see 'mkgguf --help'\n");
			return LLE_EXIT_USAGE;
		}
		if (rc)
			return LLE_EXIT_USAGE;
	}
	if (optind < argc) {
		errorf("unexpected argument '%s'", argv[optind]);
		return LLE_EXIT_USAGE;
	}
	if (!o->out) {
		errorf("missing output file (-o OUT)");
		return LLE_EXIT_USAGE;
	}
	if (o->kv_heads == 0)
		o->kv_heads = o->heads;
	if (o->ff == 0)
		o->ff = 3 * o->embd;
	if (o->embd % o->heads != 0) {
		errorf("--embd %ld is not a multiple of --heads %ld", o->embd, o->heads);
		return LLE_EXIT_USAGE;
	}
	if ((o->embd / o->heads) % 2 != 0) {
		errorf("head size %ld (--embd / --heads) must be even for rope", o->embd / o->heads);
		return LLE_EXIT_USAGE;
	}
	if (o->heads % o->kv_heads != 0) {
		errorf("--heads %ld is not a multiple of --kv-heads %ld", o->heads, o->kv_heads);
		return LLE_EXIT_USAGE;
	}
	return 0;
}

/* ---- deterministic numbers ---------------------------------------------- */

/* splitmix64 (Steele, Lea, Flood 2014): one 64-bit state, full period. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

/* FNV-1a of the tensor name, so each tensor has its own stream: changing
 * --layers does not change token_embd, and the file order does not matter. */
static uint64_t name_hash(const char *s)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * UINT64_C(0x100000001b3);
	return h;
}

/* IEEE-754 binary32 -> binary16, round to nearest even, in integers only so
 * it does not depend on F16C or the compiler. */
static uint16_t f32_to_f16(float f)
{
	uint32_t x, ax, sign, e, m, h, rem, half;

	memcpy(&x, &f, sizeof x);
	sign = (x >> 16) & 0x8000u;
	ax = x & 0x7fffffffu;
	if (ax > 0x7f800000u)
		return (uint16_t)(sign | 0x7e00u);       /* NaN */
	if (ax >= 0x47800000u)
		return (uint16_t)(sign | 0x7c00u);       /* >= 65536 (and inf): inf */
	if (ax < 0x33000000u)
		return (uint16_t)sign;                   /* < 2^-25 (a tie at 2^-25 goes to 0) */
	if (ax < 0x38800000u) {                          /* a subnormal half */
		unsigned shift;

		e = ax >> 23;
		m = (ax & 0x7fffffu) | 0x800000u;
		shift = 126u - e;                        /* 14..24 */
		h = m >> shift;
		rem = m & ((1u << shift) - 1u);
		half = 1u << (shift - 1u);
		if (rem > half || (rem == half && (h & 1u)))
			h++;                             /* may carry into the smallest normal: right */
		return (uint16_t)(sign | h);
	}
	e = (ax >> 23) - 112u;                           /* rebias 127 -> 15 */
	m = ax & 0x7fffffu;
	h = (e << 10) | (m >> 13);
	rem = m & 0x1fffu;
	if (rem > 0x1000u || (rem == 0x1000u && (h & 1u)))
		h++;                                     /* a carry rounds up to the next binade or inf */
	return (uint16_t)(sign | h);
}

/* One tensor to write: name, shape (ne0 is the input dimension of a matrix,
 * the one ggml_mul_mat contracts over) and how its values are drawn. */
struct tdesc {
	char name[64];
	int64_t ne0, ne1;      /* ne1 = 1 for vectors */
	enum ggml_type type;
	int ones;              /* norm weights: all 1.0 */
	float amp;             /* uniform in [-amp, amp) */
};

/* Values uniform in [-amp, amp): 24 random bits k give u = (k - 2^23) / 2^23,
 * exact in binary32, then one rounded multiplication by amp. */
static float draw(uint64_t *state, float amp)
{
	int32_t k = (int32_t)(splitmix64(state) >> 40) - (INT32_C(1) << 23);
	float u = (float)k * 0x1p-23f;
	float v = u * amp;

	return v;
}

static int write_all(FILE *f, const void *p, size_t n, const char *path)
{
	if (n && fwrite(p, 1, n, f) != n) {
		errorf("cannot write '%s': %s", path, strerror(errno ? errno : EIO));
		return -1;
	}
	return 0;
}

/* Generate one tensor's data in chunks and write it. */
static int fill_tensor(FILE *f, const struct tdesc *t, uint64_t seed, void *buf, const char *path)
{
	uint64_t state = seed ^ name_hash(t->name);
	int64_t n = t->ne0 * t->ne1, done = 0;

	/* Decorrelate seeds that differ in few bits before the first draw. */
	(void)splitmix64(&state);
	while (done < n) {
		int64_t k = n - done < CHUNK ? n - done : CHUNK;
		size_t bytes;

		if (t->type == GGML_TYPE_F32) {
			float *p = buf;

			for (int64_t i = 0; i < k; i++)
				p[i] = t->ones ? 1.0f : draw(&state, t->amp);
			bytes = (size_t)k * sizeof(float);
		} else {
			uint16_t *p = buf;

			for (int64_t i = 0; i < k; i++)
				p[i] = f32_to_f16(t->ones ? 1.0f : draw(&state, t->amp));
			bytes = (size_t)k * sizeof(uint16_t);
		}
		if (write_all(f, buf, bytes, path))
			return -1;
		done += k;
	}
	return 0;
}

/* ---- the model ------------------------------------------------------------ */

/* sqrt(3 / fan_in): a uniform variable in [-a, a) has variance a^2 / 3, so the
 * entries have variance 1 / fan_in and a matrix keeps the scale of a unit-RMS
 * input (as after each RMS norm). sqrt is correctly rounded by IEEE 754. */
static float amp_for(int64_t fan_in)
{
	return (float)sqrt(3.0 / (double)fan_in);
}

static int add_desc(struct tdesc *d, int *n, const char *name, int64_t ne0, int64_t ne1,
		    enum ggml_type type, int ones, float amp)
{
	struct tdesc *t = &d[(*n)++];
	int len = snprintf(t->name, sizeof t->name, "%s", name);

	if (len < 0 || (size_t)len >= sizeof t->name)
		return -1;
	t->ne0 = ne0;
	t->ne1 = ne1;
	t->type = type;
	t->ones = ones;
	t->amp = amp;
	return 0;
}

/* The tensors llama.cpp's loader expects for arch "llama" (src/llama-model.cpp),
 * in the order convert_hf_to_gguf.py writes them. Returns the count or -1. */
static int describe(const struct opts *o, int64_t n_vocab, struct tdesc *d)
{
	int64_t head = o->embd / o->heads;
	int64_t n_q = head * o->heads, n_kv = head * o->kv_heads;
	enum ggml_type mt = o->type;
	char name[64];
	int n = 0, bad = 0;

	/* Embedding rows have unit RMS, like the hidden state after a norm. */
	bad |= add_desc(d, &n, "token_embd.weight", o->embd, n_vocab, mt, 0, amp_for(1));
	for (long i = 0; i < o->layers; i++) {
#define LAYER(suffix, ne0, ne1, ones, amp)                                              \
	do {                                                                            \
		snprintf(name, sizeof name, "blk.%ld.%s", i, suffix);                   \
		bad |= add_desc(d, &n, name, ne0, ne1, (ones) ? GGML_TYPE_F32 : mt, ones, amp); \
	} while (0)
		LAYER("attn_norm.weight", o->embd, 1, 1, 0.0f);
		LAYER("attn_q.weight", o->embd, n_q, 0, amp_for(o->embd));
		LAYER("attn_k.weight", o->embd, n_kv, 0, amp_for(o->embd));
		LAYER("attn_v.weight", o->embd, n_kv, 0, amp_for(o->embd));
		LAYER("attn_output.weight", n_q, o->embd, 0, amp_for(n_q));
		LAYER("ffn_norm.weight", o->embd, 1, 1, 0.0f);
		LAYER("ffn_gate.weight", o->embd, o->ff, 0, amp_for(o->embd));
		LAYER("ffn_up.weight", o->embd, o->ff, 0, amp_for(o->embd));
		LAYER("ffn_down.weight", o->ff, o->embd, 0, amp_for(o->ff));
#undef LAYER
	}
	bad |= add_desc(d, &n, "output_norm.weight", o->embd, 1, GGML_TYPE_F32, 1, 0.0f);
	bad |= add_desc(d, &n, "output.weight", o->embd, n_vocab, mt, 0, amp_for(o->embd));
	return bad ? -1 : n;
}

/* Copy every tokenizer.* key of src into dst. */
static int copy_tokenizer(struct gguf_context *dst, const struct gguf_context *src,
			  const char *vocab)
{
	int64_t n = gguf_get_n_kv(src);
	int copied = 0;

	for (int64_t i = 0; i < n; i++) {
		const char *key = gguf_get_key(src, i);
		enum gguf_type t = gguf_get_kv_type(src, i);

		if (strncmp(key, "tokenizer.", 10) != 0)
			continue;
		copied++;
		switch (t) {
		case GGUF_TYPE_UINT8: gguf_set_val_u8(dst, key, gguf_get_val_u8(src, i)); break;
		case GGUF_TYPE_INT8: gguf_set_val_i8(dst, key, gguf_get_val_i8(src, i)); break;
		case GGUF_TYPE_UINT16: gguf_set_val_u16(dst, key, gguf_get_val_u16(src, i)); break;
		case GGUF_TYPE_INT16: gguf_set_val_i16(dst, key, gguf_get_val_i16(src, i)); break;
		case GGUF_TYPE_UINT32: gguf_set_val_u32(dst, key, gguf_get_val_u32(src, i)); break;
		case GGUF_TYPE_INT32: gguf_set_val_i32(dst, key, gguf_get_val_i32(src, i)); break;
		case GGUF_TYPE_FLOAT32: gguf_set_val_f32(dst, key, gguf_get_val_f32(src, i)); break;
		case GGUF_TYPE_UINT64: gguf_set_val_u64(dst, key, gguf_get_val_u64(src, i)); break;
		case GGUF_TYPE_INT64: gguf_set_val_i64(dst, key, gguf_get_val_i64(src, i)); break;
		case GGUF_TYPE_FLOAT64: gguf_set_val_f64(dst, key, gguf_get_val_f64(src, i)); break;
		case GGUF_TYPE_BOOL: gguf_set_val_bool(dst, key, gguf_get_val_bool(src, i)); break;
		case GGUF_TYPE_STRING: gguf_set_val_str(dst, key, gguf_get_val_str(src, i)); break;
		case GGUF_TYPE_ARRAY: {
			enum gguf_type at = gguf_get_arr_type(src, i);
			size_t an = gguf_get_arr_n(src, i);

			if (at == GGUF_TYPE_STRING) {
				const char **strs = malloc((an ? an : 1) * sizeof *strs);

				if (!strs) {
					errorf("out of memory");
					return -LLE_EXIT_INTERNAL;
				}
				for (size_t j = 0; j < an; j++)
					strs[j] = gguf_get_arr_str(src, i, j);
				gguf_set_arr_str(dst, key, strs, an);
				free(strs);
			} else if (at == GGUF_TYPE_ARRAY) {
				errorf("vocabulary '%s': key '%s': nested arrays are not supported", vocab, key);
				return -LLE_EXIT_IO;
			} else {
				gguf_set_arr_data(dst, key, at, gguf_get_arr_data(src, i), an);
			}
			break;
		}
		default:
			errorf("vocabulary '%s': key '%s': unknown value type %d", vocab, key, (int)t);
			return -LLE_EXIT_IO;
		}
	}
	return copied;
}

static int generate(const struct opts *o)
{
	struct gguf_init_params ip = {.no_alloc = true, .ctx = NULL};
	struct gguf_context *src = NULL, *g = NULL;
	struct ggml_context *meta = NULL;
	struct tdesc *d = NULL;
	void *buf = NULL, *hdr = NULL;
	char *tmp = NULL;
	FILE *f = NULL;
	int64_t tok_key, n_vocab;
	int nt, rc = LLE_EXIT_INTERNAL, created = 0;
	size_t align = GGUF_DEFAULT_ALIGNMENT, hdr_size, off = 0, total = 0;
	char name[96];

	if (access(o->vocab, R_OK) != 0) {
		errorf("cannot read vocabulary '%s': %s", o->vocab, strerror(errno));
		return LLE_EXIT_IO;
	}
	src = gguf_init_from_file(o->vocab, ip);
	if (!src) {
		errorf("vocabulary '%s': not a readable GGUF file", o->vocab);
		return LLE_EXIT_IO;
	}
	tok_key = gguf_find_key(src, "tokenizer.ggml.tokens");
	if (tok_key < 0 || gguf_get_kv_type(src, tok_key) != GGUF_TYPE_ARRAY ||
	    gguf_get_arr_type(src, tok_key) != GGUF_TYPE_STRING || gguf_get_arr_n(src, tok_key) == 0) {
		errorf("vocabulary '%s': no 'tokenizer.ggml.tokens' string array", o->vocab);
		rc = LLE_EXIT_IO;
		goto out;
	}
	n_vocab = (int64_t)gguf_get_arr_n(src, tok_key);

	g = gguf_init_empty();
	if (!g)
		goto oom;
	snprintf(name, sizeof name, "llm-eval random llama %ldL-%ld seed %" PRIu64,
		 o->layers, o->embd, o->seed);
	gguf_set_val_str(g, "general.architecture", "llama");
	gguf_set_val_str(g, "general.name", name);
	gguf_set_val_u32(g, "general.file_type", o->type == GGML_TYPE_F16 ? 1 : 0); /* MOSTLY_F16 / ALL_F32 */
	gguf_set_val_u32(g, "general.alignment", (uint32_t)align);
	gguf_set_val_u32(g, "llama.context_length", (uint32_t)o->ctx);
	gguf_set_val_u32(g, "llama.embedding_length", (uint32_t)o->embd);
	gguf_set_val_u32(g, "llama.block_count", (uint32_t)o->layers);
	gguf_set_val_u32(g, "llama.feed_forward_length", (uint32_t)o->ff);
	gguf_set_val_u32(g, "llama.attention.head_count", (uint32_t)o->heads);
	gguf_set_val_u32(g, "llama.attention.head_count_kv", (uint32_t)o->kv_heads);
	gguf_set_val_u32(g, "llama.rope.dimension_count", (uint32_t)(o->embd / o->heads));
	gguf_set_val_f32(g, "llama.rope.freq_base", 10000.0f);
	gguf_set_val_f32(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gguf_set_val_u32(g, "llama.vocab_size", (uint32_t)n_vocab);
	gguf_set_val_u64(g, "mkgguf.seed", o->seed);
	nt = copy_tokenizer(g, src, o->vocab);
	if (nt < 0) {
		rc = -nt;
		goto out;
	}
	if (o->chat_template) {
		/* T, or the text of the file T names (a Jinja template) */
		char *text = NULL;
		FILE *tf = fopen(o->chat_template, "rb");
		if (tf) {
			long n = fseek(tf, 0, SEEK_END) == 0 ? ftell(tf) : -1;
			text = n >= 0 && fseek(tf, 0, SEEK_SET) == 0 ? malloc((size_t)n + 1) : NULL;
			if (!text || fread(text, 1, (size_t)n, tf) != (size_t)n) {
				fclose(tf);
				free(text);
				errorf("%s: cannot read the chat template", o->chat_template);
				rc = 1;
				goto out;
			}
			text[n] = '\0';
			fclose(tf);
		}
		gguf_set_val_str(g, "tokenizer.chat_template", text ? text : o->chat_template);
		free(text);
	}

	d = calloc((size_t)(9 * o->layers + 3), sizeof *d);
	if (!d)
		goto oom;
	nt = describe(o, n_vocab, d);
	if (nt < 0) {
		errorf("internal: tensor name too long");
		goto out;
	}
	{
		struct ggml_init_params mp = {
			.mem_size = ggml_tensor_overhead() * (size_t)nt + 1024,
			.mem_buffer = NULL,
			.no_alloc = true, /* shapes only: the data is streamed below */
		};
		meta = ggml_init(mp);
	}
	if (!meta)
		goto oom;
	for (int i = 0; i < nt; i++) {
		struct ggml_tensor *t = d[i].ne1 == 1 ? ggml_new_tensor_1d(meta, d[i].type, d[i].ne0)
						      : ggml_new_tensor_2d(meta, d[i].type, d[i].ne0, d[i].ne1);
		if (!t)
			goto oom;
		ggml_set_name(t, d[i].name);
		gguf_add_tensor(g, t);
	}

	hdr_size = gguf_get_meta_size(g);
	hdr = malloc(hdr_size);
	buf = malloc(CHUNK * sizeof(float));
	tmp = malloc(strlen(o->out) + 5);
	if (!hdr || !buf || !tmp)
		goto oom;
	gguf_get_meta_data(g, hdr);
	sprintf(tmp, "%s.tmp", o->out);

	f = fopen(tmp, "wb");
	if (!f) {
		errorf("cannot create '%s': %s", tmp, strerror(errno));
		rc = LLE_EXIT_IO;
		goto out;
	}
	created = 1;
	rc = LLE_EXIT_IO;
	if (write_all(f, hdr, hdr_size, tmp))
		goto out;
	for (int i = 0; i < nt; i++) {
		static const char zeros[64];
		size_t nbytes = (size_t)(d[i].ne0 * d[i].ne1) * (d[i].type == GGML_TYPE_F32 ? 4 : 2);
		size_t pad = (align - nbytes % align) % align;

		/* The offsets the header promised must be the ones written. */
		if (gguf_get_tensor_offset(g, i) != off || gguf_get_tensor_size(g, i) != nbytes) {
			errorf("internal: tensor '%s' at offset %zu, header says %zu", d[i].name, off,
			       gguf_get_tensor_offset(g, i));
			rc = LLE_EXIT_INTERNAL;
			goto out;
		}
		if (fill_tensor(f, &d[i], o->seed, buf, tmp) || write_all(f, zeros, pad, tmp))
			goto out;
		off += nbytes + pad;
	}
	total = hdr_size + off;
	if (fflush(f) != 0 || ferror(f)) {
		errorf("cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		errorf("cannot write '%s': %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, o->out) != 0) {
		errorf("cannot rename '%s' to '%s': %s", tmp, o->out, strerror(errno));
		goto out;
	}
	if (!o->quiet)
		printf("wrote '%s': %zu bytes, %d tensors, %" PRId64 " tokens, data at %zu\n",
		       o->out, total, nt, n_vocab, hdr_size);
	rc = LLE_EXIT_OK;
	goto out;
oom:
	errorf("out of memory");
	rc = LLE_EXIT_INTERNAL;
out:
	if (f)
		fclose(f);
	if (created && rc != LLE_EXIT_OK)
		unlink(tmp);
	free(tmp);
	free(buf);
	free(hdr);
	free(d);
	if (meta)
		ggml_free(meta);
	if (g)
		gguf_free(g);
	gguf_free(src);
	return rc;
}

int main(int argc, char **argv)
{
	struct opts o;
	int rc = parse_args(argc, argv, &o);

	if (rc < 0)
		return LLE_EXIT_OK;
	if (rc)
		return rc;
	return generate(&o);
}
