/* Benchmark driver of the llama.cpp backend plugin (run by bench/llamacpp.sh).
 *
 * It builds MMLU-style 4-choice requests with a 5-shot prefix straight from
 * ../shared/datasets/mmlu/ (dev split for the shots, test split for the
 * questions; the CSV is read here), loads the plugin the way llm-eval does,
 * and measures one of:
 *
 *   eval      documents per second over `reps` runs (median), the tokens the
 *             plugin decoded divided by the tokens a request-at-a-time
 *             evaluation decodes, and the plugin's throughput (tokenising
 *             included) against a plain llama_decode loop over the same tokens
 *             written here (each subject's prefix decoded once, each question
 *             in its own sequence copied from it, n_batch tokens per call;
 *             already tokenised, warmed up), run twice: n_parallel questions
 *             per call and one question per call; the ratio is to the faster
 *             of the two; peak RSS and the model's size
 *   first     the wall-clock time (CLOCK_REALTIME, ns) when the first scored
 *             request came back; the script subtracts the time it started the
 *             process
 *
 * usage: llamacpp_bench MODE MODEL.gguf MMLU_DIR N_DOCS REPS [option=value...]
 * Not a test: nothing here decides pass or fail. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "backend/loader.h"
#include "llama.h"
#include "util/buf.h"

static const char *subjects[] = { "astronomy", "college_biology", "high_school_geography",
				  "marketing", "philosophy", "world_religions" };
#define NSUBJ (sizeof(subjects) / sizeof(subjects[0]))

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---- CSV (RFC 4180: quotes, doubled quotes, newlines inside quotes) ------- */

struct row {
	char *f[6];
};

static int read_csv(const char *path, struct row **rows, int *nrows)
{
	FILE *fp = fopen(path, "r");
	if (!fp)
		return -1;
	struct lle_buf field = LLE_BUF_INIT;
	struct row cur = { { 0 } };
	int nf = 0, c, quoted = 0, line = 0, cap = 0;
	*rows = NULL;
	*nrows = 0;
	for (;;) {
		c = fgetc(fp);
		if (quoted) {
			if (c == EOF)
				break;
			if (c == '"') {
				int d = fgetc(fp);
				if (d == '"') {
					lle_buf_addc(&field, '"');
					continue;
				}
				quoted = 0;
				if (d == EOF)
					c = EOF;
				else
					ungetc(d, fp);
				if (c != EOF)
					continue;
			} else {
				lle_buf_addc(&field, (char)c);
				continue;
			}
		}
		if (c == '"' && field.n == 0) {
			quoted = 1;
		} else if (c == ',' || c == '\n' || c == EOF) {
			if (nf < 6)
				cur.f[nf++] = lle_buf_detach(&field);
			else
				lle_buf_reset(&field);
			if (c != ',') {
				if (line++ > 0 && nf == 6) {
					if (*nrows == cap) {
						cap = cap ? 2 * cap : 64;
						*rows = realloc(*rows, sizeof(struct row) * (size_t)cap);
					}
					(*rows)[(*nrows)++] = cur;
				} else {
					for (int i = 0; i < nf; i++)
						free(cur.f[i]);
				}
				memset(&cur, 0, sizeof(cur));
				nf = 0;
				if (c == EOF)
					break;
			}
		} else if (c != '\r') {
			lle_buf_addc(&field, (char)c);
		}
	}
	lle_buf_free(&field);
	fclose(fp);
	return 0;
}

static void free_rows(struct row *r, int n)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < 6; k++)
			free(r[i].f[k]);
	free(r);
}

static void add_question(struct lle_buf *b, const struct row *r)
{
	lle_buf_printf(b, "%s\nA. %s\nB. %s\nC. %s\nD. %s\nAnswer:", r->f[0], r->f[1], r->f[2],
		       r->f[3], r->f[4]);
}

/* The documents: prompts[d] and the shared prefix length in bytes. */
struct docs {
	char **prompt;
	int *subj;
	int n;
};

static int build_docs(const char *dir, int ndocs, struct docs *d)
{
	d->prompt = calloc((size_t)ndocs, sizeof(char *));
	d->subj = calloc((size_t)ndocs, sizeof(int));
	d->n = 0;
	int per = (ndocs + (int)NSUBJ - 1) / (int)NSUBJ;
	for (size_t s = 0; s < NSUBJ && d->n < ndocs; s++) {
		char path[4096];
		struct row *dev, *test;
		int ndev, ntest;
		snprintf(path, sizeof(path), "%s/dev/%s_dev.csv", dir, subjects[s]);
		if (read_csv(path, &dev, &ndev) < 0) {
			fprintf(stderr, "cannot read '%s'\n", path);
			return -1;
		}
		snprintf(path, sizeof(path), "%s/test/%s_test.csv", dir, subjects[s]);
		if (read_csv(path, &test, &ntest) < 0) {
			fprintf(stderr, "cannot read '%s'\n", path);
			return -1;
		}
		struct lle_buf pre = LLE_BUF_INIT;
		lle_buf_adds(&pre, "The following are multiple choice questions (with answers) about ");
		for (const char *p = subjects[s]; *p; p++)
			lle_buf_addc(&pre, *p == '_' ? ' ' : *p);
		lle_buf_adds(&pre, ".\n\n");
		for (int i = 0; i < 5 && i < ndev; i++) {
			add_question(&pre, &dev[i]);
			lle_buf_printf(&pre, " %c\n\n", 'A' + atoi(dev[i].f[5]));
		}
		for (int i = 0; i < per && i < ntest && d->n < ndocs; i++) {
			struct lle_buf b = LLE_BUF_INIT;
			lle_buf_adds(&b, lle_buf_str(&pre));
			add_question(&b, &test[i]);
			d->subj[d->n] = (int)s;
			d->prompt[d->n++] = lle_buf_detach(&b);
		}
		lle_buf_free(&pre);
		free_rows(dev, ndev);
		free_rows(test, ntest);
	}
	return 0;
}

/* ---- plugin side ---------------------------------------------------------- */

static long long decoded, naive;
static double decode_s; /* the plugin's seconds in llama_decode */
static void bench_log(void *user, int level, const char *msg)
{
	(void)user;
	long long a, b;
	double t;
	if (sscanf(msg, "llamacpp: %*d requests, decoded %lld tokens (a request at a time: %lld) in %lf",
		   &a, &b, &t) == 3) {
		decoded += a;
		naive += b;
		decode_s += t;
	} else if (level <= LLE_LOG_WARN || (getenv("BENCH_DEBUG") && (strstr(msg, "cluster") || strstr(msg, "tokenised")))) {
		fprintf(stderr, "%s\n", msg);
	}
}

static int first_done;
static double first_at;
static void on_result(void *user, const struct lle_request *req, const struct lle_result *res)
{
	(void)user, (void)req;
	if (res->status != LLE_STATUS_OK) {
		fprintf(stderr, "request failed: %s\n", res->error);
		exit(1);
	}
	if (!first_done) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		first_at = ts.tv_sec * 1e9 + ts.tv_nsec;
		first_done = 1;
	}
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(double), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *letters[] = { " A", " B", " C", " D" };
#define DOCS_PER_SUBMIT 16

/* ---- the plain loop ------------------------------------------------------- */

/* The same tokens the plugin decodes for these documents, with none of its
 * machinery: each subject's prefix decoded once into sequence 0, then each
 * question (what follows the prefix) in its own sequence copied from it,
 * n_par sequences at a time, n_batch tokens per llama_decode, one logit per
 * question. Returns tokens per second; *ntok the tokens decoded. */
static double plain_loop(const char *model_path, struct docs *d, int n_par, int n_batch,
			 int n_threads, int n_ctx, long long *ntok)
{
	struct llama_model_params mp = llama_model_default_params();
	struct llama_model *model = llama_model_load_from_file(model_path, mp);
	struct llama_context_params cp = llama_context_default_params();
	cp.n_ctx = (uint32_t)n_ctx;
	cp.n_batch = cp.n_ubatch = (uint32_t)n_batch;
	cp.n_seq_max = (uint32_t)n_par + 1;
	cp.n_threads = cp.n_threads_batch = n_threads;
	cp.kv_unified = true;
	cp.flash_attn_type = LLAMA_FLASH_ATTN_TYPE_DISABLED;
	cp.no_perf = true;
	struct llama_context *ctx = llama_init_from_model(model, cp);
	const struct llama_vocab *vocab = llama_model_get_vocab(model);
	llama_memory_t mem = llama_get_memory(ctx);
	struct llama_batch b = llama_batch_init(n_batch, 0, 1);
	/* warm up as the plugin does while it loads (not timed): one small decode
	 * pages the weights in and touches the compute buffers */
	llama_token warm[2] = { llama_vocab_bos(llama_model_get_vocab(model)),
				llama_vocab_bos(llama_model_get_vocab(model)) };
	llama_decode(ctx, llama_batch_get_one(warm, 2));
	llama_memory_clear(mem, false);
	/* tokenise first: not timed */
	llama_token **toks = calloc((size_t)d->n, sizeof(*toks));
	int *nt = calloc((size_t)d->n, sizeof(int)), *npre = calloc((size_t)d->n, sizeof(int));
	for (int i = 0; i < d->n; i++) {
		int cap = (int)strlen(d->prompt[i]) + 8;
		toks[i] = malloc(sizeof(llama_token) * (size_t)cap);
		nt[i] = llama_tokenize(vocab, d->prompt[i], (int)strlen(d->prompt[i]), toks[i], cap,
				       llama_vocab_get_add_bos(vocab), false);
	}
	/* each subject's prefix: what all its questions share */
	for (int i = 0, j; i < d->n; i = j) {
		int l = nt[i] - 1;
		for (j = i + 1; j < d->n && d->subj[j] == d->subj[i]; j++) {
			int k = 0;
			while (k < l && k < nt[j] - 1 && toks[i][k] == toks[j][k])
				k++;
			l = k;
		}
		for (int q = i; q < j; q++)
			npre[q] = l;
	}
	double t0 = now();
	long long n = 0;
	int cur_pre = -1;
	for (int i = 0; i < d->n;) {
		/* a new subject: decode its prefix once into sequence 0 */
		if (cur_pre < 0 || d->subj[i] != d->subj[cur_pre]) {
			llama_memory_clear(mem, true);
			for (int p = 0; p < npre[i]; p += n_batch) {
				b.n_tokens = 0;
				for (int k = p; k < npre[i] && k < p + n_batch; k++) {
					int x = b.n_tokens++;
					b.token[x] = toks[i][k];
					b.pos[x] = k;
					b.n_seq_id[x] = 1;
					b.seq_id[x][0] = 0;
					b.logits[x] = 0;
				}
				llama_decode(ctx, b);
				n += b.n_tokens;
			}
			cur_pre = i;
		}
		/* up to n_par questions of this subject */
		int first = i, last = i;
		while (last < d->n && last - first < n_par && d->subj[last] == d->subj[first])
			last++;
		for (int q = first; q < last; q++)
			llama_memory_seq_cp(mem, 0, 1 + q - first, -1, -1);
		int q = first, k = npre[first];
		while (q < last) {
			b.n_tokens = 0;
			while (q < last && b.n_tokens < n_batch) {
				int x = b.n_tokens++;
				b.token[x] = toks[q][k];
				b.pos[x] = k;
				b.n_seq_id[x] = 1;
				b.seq_id[x][0] = 1 + q - first;
				b.logits[x] = k == nt[q] - 1;
				if (++k == nt[q]) {
					q++;
					if (q < last)
						k = npre[q];
				}
			}
			llama_decode(ctx, b);
			n += b.n_tokens;
		}
		for (int s = 1; s <= n_par; s++)
			llama_memory_seq_rm(mem, s, -1, -1);
		i = last;
	}
	double dt = now() - t0;
	*ntok = n;
	for (int i = 0; i < d->n; i++)
		free(toks[i]);
	free(toks);
	free(nt);
	free(npre);
	llama_batch_free(b);
	llama_free(ctx);
	llama_model_free(model);
	return n / dt;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s eval|first MODEL MMLU_DIR N_DOCS REPS [option=value...]\n", argv[0]);
		return 2;
	}
	const char *mode = argv[1], *model = argv[2], *dir = argv[3];
	int ndocs = atoi(argv[4]), reps = atoi(argv[5]);
	const char **opts = (const char **)argv + 6;
	int nopts = argc - 6, n_threads = 2, n_par = 16, n_batch = 512;
	for (int i = 0; i < nopts; i++) {
		sscanf(opts[i], "n_threads=%d", &n_threads);
		sscanf(opts[i], "n_parallel=%d", &n_par);
		sscanf(opts[i], "n_batch=%d", &n_batch);
	}

	struct lle_host host = *lle_backend_default_host();
	host.log = bench_log;
	struct lle_err err = { 0 };
	struct lle_plugin *p = lle_backend_load("llamacpp", &host, &err);
	if (!p) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	const struct lle_backend *be = p->be;
	struct lle_open_params op = { .size = sizeof(op), .model = model, .options = opts,
				      .n_options = (size_t)nopts, .n_threads = n_threads,
				      .n_parallel = n_par };
	char msg[512];
	struct lle_model *m = NULL;

	if (strcmp(mode, "first") == 0) {
		/* open (loads in the background), build the requests meanwhile */
		if (be->open(&op, &m, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "%s\n", msg);
			return 1;
		}
		struct docs d;
		if (build_docs(dir, 1, &d) < 0)
			return 1;
		struct lle_request rq[4];
		for (int c = 0; c < 4; c++)
			rq[c] = (struct lle_request){ .size = sizeof(rq[c]), .kind = LLE_REQ_LOGLIKELIHOOD,
						      .id = (uint64_t)c, .context = d.prompt[0],
						      .continuation = letters[c] };
		if (be->submit(m, rq, 4, on_result, NULL, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "%s\n", msg);
			return 1;
		}
		printf("first_result_ns %.0f\n", first_at);
		be->close(m);
		lle_plugin_close(p);
		return 0;
	}

	struct docs d;
	if (build_docs(dir, ndocs, &d) < 0)
		return 1;
	int nreq = 4 * d.n;
	struct lle_request *rq = calloc((size_t)nreq, sizeof(*rq));
	for (int i = 0; i < d.n; i++)
		for (int c = 0; c < 4; c++)
			rq[4 * i + c] = (struct lle_request){ .size = sizeof(rq[0]),
							      .kind = LLE_REQ_LOGLIKELIHOOD,
							      .id = (uint64_t)(4 * i + c), .context = d.prompt[i],
							      .continuation = letters[c] };
	double *dps = calloc((size_t)reps, sizeof(double)), *tps = calloc((size_t)reps, sizeof(double));
	double *dtps = calloc((size_t)reps, sizeof(double));
	double *base = calloc((size_t)reps, sizeof(double)), *base1 = calloc((size_t)reps, sizeof(double));
	long long dec_rep = 0, naive_rep = 0, plain_tok = 0, plain_tok1 = 0;
	uint64_t model_size = 0;
	struct rusage ru;
	int kv_size = 0;
	for (int r = 0; r < reps; r++) {
		if (be->open(&op, &m, msg, sizeof(msg)) != 0 || be->wait_ready(m, msg, sizeof(msg)) != 0) {
			fprintf(stderr, "%s\n", msg);
			return 1;
		}
		decoded = naive = 0;
		decode_s = 0;
		double t0 = now();
		for (int i = 0; i < nreq; i += 4 * DOCS_PER_SUBMIT) {
			int k = nreq - i < 4 * DOCS_PER_SUBMIT ? nreq - i : 4 * DOCS_PER_SUBMIT;
			if (be->submit(m, rq + i, (size_t)k, on_result, NULL, msg, sizeof(msg)) != 0) {
				fprintf(stderr, "%s\n", msg);
				return 1;
			}
		}
		double dt = now() - t0;
		dps[r] = d.n / dt;
		tps[r] = decoded / dt;
		dtps[r] = decode_s > 0 ? decoded / decode_s : 0;
		dec_rep = decoded;
		naive_rep = naive;
		if (r == 0)
			getrusage(RUSAGE_SELF, &ru); /* before the plain loop loads anything */
		be->close(m);
		/* the plain loop, on the same machine state, same parameters */
		if (!model_size) {
			struct llama_model_params mp = llama_model_default_params();
			mp.vocab_only = false;
			struct llama_model *lm = llama_model_load_from_file(model, mp);
			model_size = llama_model_size(lm);
			int n_train = llama_model_n_ctx_train(lm);
			int max_len = n_train > 0 && n_train < 2048 ? n_train : 2048;
			kv_size = 2 * max_len + n_batch;
			llama_model_free(lm);
		}
		base[r] = plain_loop(model, &d, n_par, n_batch, n_threads, kv_size, &plain_tok);
		base1[r] = plain_loop(model, &d, 1, n_batch, n_threads, kv_size, &plain_tok1);
	}
	printf("docs %d requests %d reps %d threads %d parallel %d\n", d.n, nreq, reps, n_threads, n_par);
	printf("docs_per_s %.3f\n", median(dps, reps));
	printf("decoded_tokens %lld naive_tokens %lld ratio %.4f\n", dec_rep, naive_rep,
	       naive_rep ? (double)dec_rep / naive_rep : 0);
	double mt = median(tps, reps), mb = median(base, reps), mb1 = median(base1, reps);
	double best = mb > mb1 ? mb : mb1;
	printf("plugin_tokens_per_s %.1f\n", mt);
	printf("plain_loop_%d_seqs_tokens_per_s %.1f (decoded %lld) plain_loop_1_seq_tokens_per_s %.1f (decoded %lld)\n",
	       n_par, mb, plain_tok, mb1, plain_tok1);
	printf("ratio_to_the_faster_plain_loop %.3f\n", mt / best);
	/* the same with only the plugin's time inside llama_decode: what its
	 * scheduling costs the decoding, without tokenising and scoring */
	double md = median(dtps, reps);
	printf("plugin_decode_only_tokens_per_s %.1f ratio %.3f\n", md, md / best);
	printf("peak_rss_kb %ld model_kb %llu beyond_model_kb %lld\n", ru.ru_maxrss,
	       (unsigned long long)(model_size / 1024), (long long)ru.ru_maxrss - (long long)(model_size / 1024));
	for (int i = 0; i < d.n; i++)
		free(d.prompt[i]);
	free(d.prompt);
	free(d.subj);
	free(rq);
	free(dps);
	free(tps);
	free(base);
	free(base1);
	free(dtps);
	lle_plugin_close(p);
	return 0;
}
