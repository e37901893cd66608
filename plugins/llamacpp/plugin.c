/* The llama.cpp backend plugin: its ABI table, options, and loading in the
 * background. Opening returns at once; a worker thread loads the model
 * (progress through the host's progress service) while the host goes on
 * building requests; wait_ready and submit wait for it. The evaluation itself
 * is in eval.c, tokenise.c, score.c and gen.c; the thread count on a busy
 * machine in threads.c.
 *
 * The CPU backends of the prebuilt llama.cpp are separate shared objects
 * (libggml-cpu-<variant>.so) beside libggml: they are registered, once per
 * process, from the directory libggml itself was loaded from; in place of
 * the prebuilt CPU variant, the native one of `make native-kernels`
 * (native/libggml-cpu.so there) when present or LLM_EVAL_LLAMA_CPU asks. */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ggml-backend.h"
#include "llamacpp.h"

#define LC_VERSION "1.0"

const struct lle_host *lc_host;

void *lc_alloc(size_t n) { return lc_host->alloc(lc_host->user, n); }
void *lc_realloc(void *p, size_t n) { return lc_host->realloc(lc_host->user, p, n); }
void lc_free(void *p) { lc_host->free(lc_host->user, p); }

void lc_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	lc_host->log(lc_host->user, level, msg);
}

static char *lc_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = lc_alloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

/* ---- llama.cpp's own log: into the host's, at debug level ---------------- */

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char last_error[512]; /* llama.cpp's last error line: why a load failed */
static char log_line[1024];
static size_t log_len;

static void llama_log_cb(enum ggml_log_level level, const char *text, void *user)
{
	(void)user;
	pthread_mutex_lock(&log_mu);
	/* llama.cpp logs in pieces; collect a line, then pass it on. */
	size_t n = strlen(text);
	if (log_len + n >= sizeof(log_line))
		n = sizeof(log_line) - 1 - log_len;
	memcpy(log_line + log_len, text, n);
	log_len += n;
	log_line[log_len] = '\0';
	if (log_len > 0 && (log_line[log_len - 1] == '\n' || log_len == sizeof(log_line) - 1)) {
		if (log_line[log_len - 1] == '\n')
			log_line[--log_len] = '\0';
		if (level == GGML_LOG_LEVEL_ERROR)
			snprintf(last_error, sizeof(last_error), "%.*s", (int)sizeof(last_error) - 1, log_line);
		lc_host->log(lc_host->user, LLE_LOG_DEBUG, log_line);
		log_len = 0;
	}
	pthread_mutex_unlock(&log_mu);
}

static struct lle_backend backend; /* the table, below */

static pthread_once_t backends_once = PTHREAD_ONCE_INIT;
static char backends_dir[4096];
static char backends_err[1024]; /* why the CPU kernels asked for cannot be used */
static char cpu_kernels[600];   /* which CPU backend computes: -v, results */
static char version_text[700];
static ggml_backend_reg_t native_reg; /* the native CPU backend, once loaded */

/* Where `make native-kernels` puts ggml's CPU backend built for this machine
 * (mk/native.mk), below the directory of libggml. */
#define NATIVE_CPU_REL "native/libggml-cpu.so"

/* ggml's own backends, and in place of the prebuilt CPU variant the native
 * one when asked for or present. LLM_EVAL_LLAMA_CPU (docs/backends.md, "CPU
 * kernels"): unset or "auto", the native backend when the file is there,
 * falling back with a warning when it cannot be loaded; "native" or a path
 * to a libggml-cpu*.so, that one or an error; "prebuilt", never the native
 * one. ggml_backend_load_all would pick the best-scoring prebuilt variant
 * and ignore (or rank below them) a build without the variants' score
 * function, so the native file is loaded by path and every other CPU
 * backend unloaded (nothing holds them yet). */
static int load_cpu_native(const char *mode)
{
	char path[4200];
	int must = 1;
	if (strchr(mode, '/')) {
		snprintf(path, sizeof(path), "%s", mode);
	} else if (strcmp(mode, "native") == 0 || strcmp(mode, "auto") == 0 || !*mode) {
		snprintf(path, sizeof(path), "%s/%s", backends_dir, NATIVE_CPU_REL);
		must = strcmp(mode, "native") == 0;
		if (!must && access(path, F_OK) != 0)
			return 0;
	} else {
		if (strcmp(mode, "prebuilt") != 0)
			snprintf(backends_err, sizeof(backends_err),
				 "LLM_EVAL_LLAMA_CPU='%.200s': not auto, native, prebuilt or a path", mode);
		return 0;
	}
	/* dlopen first, for the loader's own reason when it fails (ggml's
	 * message is only in its log); the same handle ggml then takes */
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	char why[700] = "";
	ggml_backend_reg_t native = NULL;
	if (!h) {
		const char *e = dlerror();
		snprintf(why, sizeof(why), "%s", e ? e : "dlopen failed");
	} else {
		pthread_mutex_lock(&log_mu);
		last_error[0] = '\0';
		pthread_mutex_unlock(&log_mu);
		native = ggml_backend_load(path);
		if (!native) {
			pthread_mutex_lock(&log_mu);
			snprintf(why, sizeof(why), "%s", last_error[0] ? last_error
				 : "not a ggml backend for this llama.cpp, or built for another CPU");
			pthread_mutex_unlock(&log_mu);
		}
		dlclose(h);
	}
	if (!native) {
		if (must)
			snprintf(backends_err, sizeof(backends_err),
				 "native CPU kernels '%.500s' cannot be loaded: %.400s", path, why);
		else
			lc_log(LLE_LOG_WARN, "llamacpp: native CPU kernels '%.500s' cannot be loaded, using the "
			       "prebuilt ones (rebuild with make native-kernels, or set LLM_EVAL_LLAMA_CPU=prebuilt): %.300s",
			       path, why);
		return 0;
	}
	ggml_backend_load_all_from_path(backends_dir);
	ggml_backend_reg_t drop[16];
	size_t nd = 0;
	for (size_t i = 0; i < ggml_backend_reg_count(); i++) {
		ggml_backend_reg_t r = ggml_backend_reg_get(i);
		if (r != native && nd < 16 && strcmp(ggml_backend_reg_name(r), ggml_backend_reg_name(native)) == 0)
			drop[nd++] = r;
	}
	for (size_t i = 0; i < nd; i++)
		ggml_backend_unload(drop[i]);
	native_reg = native;
	return 1;
}

static void load_backends(void)
{
	llama_log_set(llama_log_cb, NULL);
	/* The directory of libggml, wherever it is (lib/llama/ beside this plugin
	 * or a LLAMA_PREFIX install): dladdr on one of its functions. */
	Dl_info info;
	const char *mode = getenv("LLM_EVAL_LLAMA_CPU");
	if (dladdr((void *)ggml_backend_load_all_from_path, &info) && info.dli_fname) {
		snprintf(backends_dir, sizeof(backends_dir), "%s", info.dli_fname);
		char *slash = strrchr(backends_dir, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(backends_dir, sizeof(backends_dir), ".");
		if (!load_cpu_native(mode ? mode : "auto"))
			ggml_backend_load_all_from_path(backends_dir);
	} else {
		ggml_backend_load_all();
	}
	/* Which file computes on the CPU: dladdr on its registration (static
	 * data of the backend's library). */
	ggml_backend_dev_t cpu = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
	ggml_backend_reg_t reg = cpu ? ggml_backend_dev_backend_reg(cpu) : NULL;
	if (!backends_err[0] && reg && dladdr((void *)reg, &info) && info.dli_fname) {
		const char *base = strrchr(info.dli_fname, '/');
		base = base ? base + 1 : info.dli_fname;
		/* native: make native-kernels; LLAMA_PREFIX: the user's own
		 * llama.cpp, however built; prebuilt: the npm package's variant */
		const char *kind = native_reg && reg == native_reg ? "native"
#ifdef LC_LLAMA_PREFIX
				   : "LLAMA_PREFIX";
#else
				   : "prebuilt";
#endif
		snprintf(cpu_kernels, sizeof(cpu_kernels), "%s %.500s", kind, base);
		lc_log(LLE_LOG_INFO, "llamacpp: CPU kernels: %s (%.500s)", kind, info.dli_fname);
		/* results' backend_versions say which kernels computed them */
		snprintf(version_text, sizeof(version_text), LC_VERSION " (cpu kernels: %s)", cpu_kernels);
		backend.version = version_text;
	}
	llama_backend_init();
}

/* ---- the table ------------------------------------------------------------ */

static int lc_probe(char *msg, size_t len)
{
	pthread_once(&backends_once, load_backends);
	if (backends_err[0]) {
		snprintf(msg, len, "%s", backends_err);
		return -1;
	}
	size_t n = ggml_backend_dev_count();
	if (n == 0) {
		snprintf(msg, len, "no llama.cpp compute device: no libggml-cpu-*.so usable in '%.400s'",
			 backends_dir);
		return -1;
	}
	size_t off = (size_t)snprintf(msg, len, "llama.cpp %s; devices:", llama_version());
	for (size_t i = 0; i < n && off < len; i++) {
		ggml_backend_dev_t d = ggml_backend_dev_get(i);
		off += (size_t)snprintf(msg + off, len - off, "%s %s", i ? "," : "",
					ggml_backend_dev_description(d));
	}
	return 0;
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno || end == v || *end || x < lo || x > hi)
		return -1;
	*out = (int)x;
	return 0;
}

static void model_free(struct lle_model *m)
{
	if (!m)
		return;
	lc_eval_free(m);
	if (m->ctx)
		llama_free(m->ctx);
	lc_pool_free(m); /* after the context that used them */
	if (m->model)
		llama_model_free(m->model);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	lc_free(m->path);
	lc_free(m->chat_name);
	lc_free(m->system);
	lc_free(m);
}

static bool load_progress(float p, void *user)
{
	struct lle_model *m = user;
	char what[600];
	const char *base = strrchr(m->path, '/');
	snprintf(what, sizeof(what), "loading model '%s'", base ? base + 1 : m->path);
	lc_host->progress(lc_host->user, what, p, 1.0);
	return !lc_host->interrupted(lc_host->user);
}

/* (Re)create the llama.cpp context for n_seq sequences. The exact evaluator
 * needs two; generation and the batched evaluator n_parallel + 2, and
 * llama.cpp runs a context made for more than two sequences measurably slower
 * (about 15% with two threads in bench/llamacpp.sh), so a model starts with
 * what its evaluator needs and grows when a request asks for more. The cache
 * starts empty. */
int lc_make_context(struct lle_model *m, int n_seq, int stream_len, char *err, size_t len)
{
	if (m->ctx)
		llama_free(m->ctx);
	m->ctx = NULL;
	m->ctx_seqs = 0;
	m->n_pre = 0;
	struct llama_context_params cp = llama_context_default_params();
	cp.n_ctx = (uint32_t)(stream_len > 0 ? n_seq * stream_len : m->kv_size);
	cp.n_batch = (uint32_t)m->n_batch;
	cp.n_ubatch = (uint32_t)m->n_batch;
	cp.n_seq_max = (uint32_t)n_seq;
	cp.n_threads = m->n_threads_cur;
	cp.n_threads_batch = m->n_threads_cur;
	cp.kv_unified = stream_len > 0 ? false : m->unified;
	cp.flash_attn_type = m->flash_attn < 0 ? LLAMA_FLASH_ATTN_TYPE_AUTO
			   : m->flash_attn ? LLAMA_FLASH_ATTN_TYPE_ENABLED : LLAMA_FLASH_ATTN_TYPE_DISABLED;
	cp.no_perf = true;
	pthread_mutex_lock(&log_mu);
	last_error[0] = '\0';
	pthread_mutex_unlock(&log_mu);
	m->ctx = llama_init_from_model(m->model, cp);
	if (!m->ctx) {
		pthread_mutex_lock(&log_mu);
		snprintf(err, len, "model '%s': cannot create a llama.cpp context of %d cells: %s",
			 m->path, (int)cp.n_ctx, last_error[0] ? last_error : "no reason given");
		pthread_mutex_unlock(&log_mu);
		return -1;
	}
	m->ctx_seqs = n_seq;
	m->ctx_stream_len = stream_len;
	m->spare_seq = stream_len > 0 ? n_seq - 1 : m->n_parallel + 1;
	m->canonical = 1;
	lc_pool_attach(m); /* threads.c */
	return 0;
}

/* The default thread count: the physical cores this process may run on (as
 * llama.cpp's tools count them: a second hardware thread of a core adds
 * little to matrix products and makes every barrier wait on a busier core),
 * and no more than a cgroup CPU quota allows (containers). */
static int default_threads(void)
{
	cpu_set_t set;
	int n = 0;
	if (sched_getaffinity(0, sizeof(set), &set) == 0) {
		/* distinct (package, core) pairs among the allowed CPUs */
		long seen[CPU_SETSIZE];
		int ns = 0, known = 1;
		for (int c = 0; c < CPU_SETSIZE && known; c++) {
			if (!CPU_ISSET(c, &set))
				continue;
			char path[128];
			long core = -1, pkg = -1;
			snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/core_id", c);
			FILE *f = fopen(path, "r");
			if (f) {
				if (fscanf(f, "%ld", &core) != 1)
					core = -1;
				fclose(f);
			}
			snprintf(path, sizeof(path), "/sys/devices/system/cpu/cpu%d/topology/physical_package_id", c);
			f = fopen(path, "r");
			if (f) {
				if (fscanf(f, "%ld", &pkg) != 1)
					pkg = -1;
				fclose(f);
			}
			if (core < 0 || pkg < 0 || core >= 1L << 20) {
				known = 0; /* no topology: count CPUs */
				break;
			}
			long id = pkg << 20 | core;
			int dup = 0;
			for (int i = 0; i < ns && !dup; i++)
				dup = seen[i] == id;
			if (!dup)
				seen[ns++] = id;
		}
		n = known ? ns : CPU_COUNT(&set);
	}
	if (n <= 0) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		n = c > 0 ? (int)c : 1;
	}
	/* cgroup v2: "max 100000" or "<quota> <period>" */
	FILE *f = fopen("/sys/fs/cgroup/cpu.max", "r");
	if (f) {
		char q[32];
		long period;
		if (fscanf(f, "%31s %ld", q, &period) == 2 && strcmp(q, "max") != 0 && period > 0) {
			long quota = atol(q), cpus = (quota + period - 1) / period;
			if (cpus >= 1 && cpus < n)
				n = (int)cpus;
		}
		fclose(f);
	}
	return n;
}

static int load(struct lle_model *m, char *err, size_t len)
{
	pthread_once(&backends_once, load_backends);
	struct stat st;
	if (stat(m->path, &st) != 0) {
		snprintf(err, len, "model file '%s' cannot be read: %s", m->path, strerror(errno));
		return -1;
	}
	if (backends_err[0]) {
		snprintf(err, len, "%.500s", backends_err);
		return -1;
	}
	if (ggml_backend_dev_count() == 0) {
		snprintf(err, len, "no llama.cpp compute device: no libggml-cpu-*.so usable in '%.400s'",
			 backends_dir);
		return -1;
	}
	struct llama_model_params mp = llama_model_default_params();
	mp.n_gpu_layers = m->n_gpu_layers;
	mp.progress_callback = load_progress;
	mp.progress_callback_user_data = m;
	pthread_mutex_lock(&log_mu);
	last_error[0] = '\0';
	pthread_mutex_unlock(&log_mu);
	m->model = llama_model_load_from_file(m->path, mp);
	if (!m->model) {
		pthread_mutex_lock(&log_mu);
		snprintf(err, len, "cannot load model '%s': %s", m->path,
			 last_error[0] ? last_error : "llama.cpp gave no reason (run with -v -v)");
		pthread_mutex_unlock(&log_mu);
		return -1;
	}
	int n_train = llama_model_n_ctx_train(m->model);
	if (m->max_length <= 0)
		m->max_length = n_train > 0 && n_train < 2048 ? n_train : 2048;
	if (m->kv_size <= 0)
		m->kv_size = m->unified ? 2 * m->max_length + m->n_batch
			   : (m->n_parallel + 2) * m->max_length;
	if (m->kv_size < m->max_length + 1) {
		snprintf(err, len, "model '%s': kv_size %d is smaller than max_length %d", m->path,
			 m->kv_size, m->max_length);
		return -1;
	}
	if (lc_make_context(m, m->exact ? 2 : m->n_parallel + 2, 0, err, len) < 0)
		return -1;
	m->vocab = llama_model_get_vocab(m->model);
	if (m->chat) {
		m->tmpl = m->chat_name ? m->chat_name : llama_model_chat_template(m->model, NULL);
		if (!m->tmpl) {
			snprintf(err, len, "model '%s' has no chat template; name one of llama.cpp's "
				 "built-in templates with chat_template", m->path);
			return -1;
		}
		struct llama_chat_message msg = { "user", "x" };
		if (llama_chat_apply_template(m->tmpl, &msg, 1, true, NULL, 0) < 0) {
			snprintf(err, len, "model '%s': chat template '%.80s' is not one of llama.cpp's "
				 "built-in templates", m->path, m->tmpl);
			return -1;
		}
	}
	return lc_eval_init(m, err, len);
}

static void *load_thread(void *arg)
{
	struct lle_model *m = arg;
	char err[512] = "";
	int rc = load(m, err, sizeof(err));
	pthread_mutex_lock(&m->mu);
	m->state = rc == 0 ? LC_READY : LC_FAILED;
	snprintf(m->load_err, sizeof(m->load_err), "%s", err);
	pthread_cond_broadcast(&m->cv);
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

static int lc_open(const struct lle_open_params *p, struct lle_model **out, char *err, size_t len)
{
	if (!p->model || !*p->model) {
		snprintf(err, len, "llamacpp: no model file given");
		return -1;
	}
	struct lle_model *m = lc_alloc(sizeof(*m));
	if (!m) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	memset(m, 0, sizeof(*m));
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	m->n_threads = p->n_threads > 0 ? p->n_threads : default_threads();
	m->auto_threads = p->n_threads <= 0;
	m->n_parallel = p->n_parallel > 0 ? p->n_parallel : 16;
	m->max_length = p->max_length;
	m->n_batch = 512;
	/* Off by default: llama.cpp's CPU flash attention accumulates in half
	 * precision, which moves log-likelihoods by up to 1e-3. */
	m->flash_attn = 0;
	m->unified = 1;
	/* Scoring one sequence at a time makes log-likelihoods bit-identical for
	 * any batching and is the faster way on a CPU; with a GPU, many sequences
	 * per decode keep it busy (exact=1 still asks for the former). */
	m->exact = !llama_supports_gpu_offload();
	/* generation in a KV stream per sequence, 8 at once as llama-server's
	 * -np 8 (gen.c); with a GPU, the shared cache and n_parallel sequences */
	m->gen_streams = llama_supports_gpu_offload() ? 0 : 8;
	m->spm_shortcut = 1; /* where the vocabulary allows it (tokenise.c) */
	/* idle pool threads poll for the next decode before they sleep, as in
	 * llama.cpp's tools: a pool that sleeps between decodes pays a wake-up at
	 * each one, which a busy machine makes a whole time slice (threads.c) */
	m->poll = LC_POLL_DEFAULT;
	m->n_gpu_layers = 999; /* all of them, where there is a GPU */
	m->chat = p->apply_chat_template;
	if (!(m->path = lc_strdup(p->model)) ||
	    (p->chat_template && !(m->chat_name = lc_strdup(p->chat_template))) ||
	    (p->system_message && !(m->system = lc_strdup(p->system_message)))) {
		snprintf(err, len, "out of memory");
		goto fail;
	}
	for (size_t i = 0; i < p->n_options; i++) {
		const char *o = p->options[i], *eq = strchr(o, '=');
		size_t kl = eq ? (size_t)(eq - o) : strlen(o);
		const char *v = eq ? eq + 1 : "";
		int bad = 0;
#define KEY(k) (kl == strlen(k) && strncmp(o, k, kl) == 0)
		if (KEY("n_ctx") || KEY("max_length"))
			bad = parse_int(v, 8, 1 << 20, &m->max_length);
		else if (KEY("kv_size"))
			bad = parse_int(v, 16, 1 << 22, &m->kv_size);
		else if (KEY("kv_unified"))
			bad = parse_int(v, 0, 1, &m->unified);
		else if (KEY("gen_streams"))
			bad = parse_int(v, 0, 250, &m->gen_streams);
		else if (KEY("exact"))
			bad = parse_int(v, 0, 1, &m->exact);
		else if (KEY("poll"))
			bad = parse_int(v, 0, 100, &m->poll);
		else if (KEY("n_gpu_layers"))
			bad = parse_int(v, 0, 100000, &m->n_gpu_layers);
		else if (KEY("special_tokens"))
			bad = parse_int(v, 0, 1, &m->special_tokens);
		else if (KEY("spm_shortcut"))
			bad = parse_int(v, 0, 1, &m->spm_shortcut);
		else if (KEY("n_batch"))
			bad = parse_int(v, 4, 1 << 16, &m->n_batch); /* calls of 2+ tokens (eval.c) */
		else if (KEY("n_parallel"))
			bad = parse_int(v, 1, 250, &m->n_parallel);
		else if (KEY("n_threads")) {
			bad = parse_int(v, 1, 1024, &m->n_threads);
			m->auto_threads = 0;
		}
		else if (KEY("flash_attn"))
			bad = strcmp(v, "on") == 0 ? (m->flash_attn = 1, 0)
			    : strcmp(v, "off") == 0 ? (m->flash_attn = 0, 0)
			    : strcmp(v, "auto") == 0 ? (m->flash_attn = -1, 0) : -1;
		else {
			snprintf(err, len, "llamacpp: unknown option '%.*s' (known: n_ctx, max_length, kv_size, kv_unified, "
				 "n_batch, n_parallel, n_threads, n_gpu_layers, flash_attn, exact, gen_streams, poll, spm_shortcut, special_tokens)", (int)kl, o);
			goto fail;
		}
#undef KEY
		if (bad) {
			snprintf(err, len, "llamacpp: option '%s' has a bad value", o);
			goto fail;
		}
	}
	m->n_threads_cur = m->n_threads;
	/* the first measurement of the machine's load spans the model's loading */
	if (m->auto_threads)
		lc_load_sample(&m->load_prev);
	if (pthread_create(&m->thread, NULL, load_thread, m) != 0) {
		snprintf(err, len, "cannot start the model loading thread: %s", strerror(errno));
		goto fail;
	}
	m->thread_started = 1;
	*out = m;
	return 0;
fail:
	model_free(m);
	return -1;
}

static int lc_wait_ready(struct lle_model *m, char *err, size_t len)
{
	pthread_mutex_lock(&m->mu);
	while (m->state == LC_LOADING)
		pthread_cond_wait(&m->cv, &m->mu);
	int ok = m->state == LC_READY;
	if (!ok)
		snprintf(err, len, "%s", m->load_err);
	pthread_mutex_unlock(&m->mu);
	return ok ? 0 : -1;
}

static int lc_submit_api(struct lle_model *m, const struct lle_request *reqs, size_t n,
			 lle_complete_fn cb, void *user, char *err, size_t len)
{
	if (lc_wait_ready(m, err, len) < 0)
		return -1;
	return lc_submit(m, reqs, n, cb, user, err, len);
}

static int64_t lc_count_tokens(struct lle_model *m, const char *text, char *err, size_t len)
{
	if (lc_wait_ready(m, err, len) < 0)
		return -1;
	llama_token *t = NULL;
	int n = lc_tokenize(m, text, strlen(text), 0, &t);
	lc_free(t);
	if (n < 0)
		snprintf(err, len, "cannot tokenise the text");
	return n;
}

static void lc_close(struct lle_model *m)
{
	if (!m)
		return;
	if (m->thread_started)
		pthread_join(m->thread, NULL);
	model_free(m);
}

/* What `open` accepts (docs/backends.md, "The llamacpp backend"). */
static const struct lle_option lc_options[] = {
	{ "n_ctx", LLE_OPT_INT, 0, "tokens one request may use (default: the model's training context, at most 2048)" },
	{ "max_length", LLE_OPT_INT, 0, "the same as n_ctx" },
	{ "kv_size", LLE_OPT_INT, 0, "kv cache cells in all" },
	{ "kv_unified", LLE_OPT_INT, 0, "1: one kv cache shared by all sequences (default); 0: a stream per sequence" },
	{ "n_batch", LLE_OPT_INT, 0, "tokens per llama_decode call, at least 4 (default 512)" },
	{ "n_parallel", LLE_OPT_INT, 0, "sequences evaluated at once (default 16)" },
	{ "n_threads", LLE_OPT_INT, LLE_OPT_NO_IDENTITY, "threads of llama.cpp (default: the physical cores, fewer while other processes hold some)" },
	{ "n_gpu_layers", LLE_OPT_INT, 0, "layers offloaded to a gpu (default 999, all)" },
	{ "flash_attn", LLE_OPT_STRING, 0, "on, off (default) or auto" },
	{ "exact", LLE_OPT_INT, 0, "1: one question at a time, bit-reproducible (default without a gpu); 0: batched" },
	{ "gen_streams", LLE_OPT_INT, 0, "sequences generating at once, each in a kv stream of its own (default 8 without a gpu); 0: n_parallel in the shared cache" },
	{ "poll", LLE_OPT_INT, 0, "how hard idle threads poll for the next decode, 0 (sleep) to 100 (default 50)" },
	{ "spm_shortcut", LLE_OPT_INT, 0, "1: tokenise a continuation from the last space of its context (default)" },
	{ "special_tokens", LLE_OPT_INT, 0, "1: prompts are rendered chats: parse special tokens, add no BOS (set by --apply-chat-template)" },
	{ NULL, 0, 0, NULL },
};

static struct lle_backend backend = {
	.abi_major = LLE_BACKEND_ABI_MAJOR,
	.abi_minor = LLE_BACKEND_ABI_MINOR,
	.size = sizeof(struct lle_backend),
	.name = "llamacpp",
	.version = LC_VERSION,
	.description = "llama.cpp in process: GGUF models, exact log-likelihoods and generation",
	.probe = lc_probe,
	.open = lc_open,
	.wait_ready = lc_wait_ready,
	.submit = lc_submit_api,
	.count_tokens = lc_count_tokens,
	.close = lc_close,
	.caps = LLE_CAP_MODEL_FILE | LLE_CAP_PROMPT_LOGPROBS | LLE_CAP_CHAT_TEMPLATE | LLE_CAP_EXACT,
	.options = lc_options,
};

/* The one exported name (the objects are built with -fvisibility=hidden). */
__attribute__((visibility("default")))
const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len);
const struct lle_backend *lle_backend_entry(const struct lle_host *h, char *err, size_t len)
{
	if (!lle_host_compatible(h)) {
		snprintf(err, len, "llamacpp plugin needs backend ABI %d.%d, the host has %u.%u",
			 LLE_BACKEND_ABI_MAJOR, LLE_BACKEND_ABI_MINOR, h->abi_major, h->abi_minor);
		return NULL;
	}
	lc_host = h;
	return &backend;
}
