/* The hook worker: one python3 process running the embedded driver
 * (driver.py), started on the first request and fed JSON lines over a
 * socket pair (send with MSG_NOSIGNAL, so a dead worker is an error, not a
 * SIGPIPE). It runs in the project's sandbox (lle_sandbox_spawn): no
 * network unless allowed, a read-only file system showing the interpreter
 * and the task trees, its own /tmp, resource limits (docs/hooks.md). Also
 * `!function` references. See hooks.h.
 *
 * Not here: the driver's side of the protocol (driver.py), what hooks mean
 * to a task (src/tasks/task_hooks.c). */
#include "hooks/hooks.h"
#include "hooks/hooks_int.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/sandbox.h"
#include "util/buf.h"
#include "util/path.h"

/* ---------- references ---------- */

static pthread_mutex_t g_mu;
static void allow_dir_locked(const char *dir);

void lle_hookref_free(struct lle_hookref *h)
{
	if (!h)
		return;
	free(h->spec);
	free(h->module);
	free(h->fn);
	free(h->name);
	free(h->base);
	free(h);
}

struct lle_hookref *lle_hookref_new(const char *yaml_file, const char *spec, struct lle_err *err)
{
	const char *dot = strrchr(spec, '.');
	if (!dot || dot == spec || !dot[1]) {
		lle_err_set(err, LLE_EXIT_CONFIG, "'!function %s' must name module.function", spec);
		return NULL;
	}
	struct lle_hookref *h = calloc(1, sizeof(*h));
	char *dir = lle_path_dirname(yaml_file ? yaml_file : ".");
	struct lle_buf b = LLE_BUF_INIT;
	/* lm_eval/tasks/_yaml_loader.py, _import_func_in_yml: first
	 * <yaml dir>/<module with dots as slashes>.py, else the importable module */
	lle_buf_printf(&b, "%s/", dir ? dir : ".");
	for (const char *p = spec; p < dot; p++)
		lle_buf_addc(&b, *p == '.' ? '/' : *p);
	lle_buf_adds(&b, ".py");
	if (h)
		h->base = dir;
	else
		free(dir);
	if (!h || b.oom || !(h->spec = lle_strdup(spec)) || !(h->fn = lle_strdup(dot + 1)) ||
	    !(h->name = lle_strndup(spec, (size_t)(dot - spec))) || !h->base) {
		lle_buf_free(&b);
		lle_hookref_free(h);
		lle_err_oom(err);
		return NULL;
	}
	char *abs = realpath(lle_buf_str(&b), NULL);
	if (abs) {
		lle_buf_free(&b);
		h->module = abs;
	} else {
		h->module = lle_buf_detach(&b);
	}
	if (!h->module) {
		lle_hookref_free(h);
		lle_err_oom(err);
		return NULL;
	}
	/* the worker shows the hook's tree (its sandbox shows nothing else) */
	pthread_mutex_lock(&g_mu);
	allow_dir_locked(h->base);
	if (abs) {
		char *md = lle_path_dirname(abs);
		if (md)
			allow_dir_locked(md);
		free(md);
	}
	pthread_mutex_unlock(&g_mu);
	return h;
}

const char *lle_hooks_install_hint(const char *mod, char *hint, size_t len)
{
	/* modules task hooks import that Debian packages as python3-X */
	static const char *const deb[][2] = {
		{ "sympy", "python3-sympy" }, { "nltk", "python3-nltk" }, { "numpy", "python3-numpy" },
		{ "scipy", "python3-scipy" }, { "sklearn", "python3-sklearn" }, { "regex", "python3-regex" },
		{ "yaml", "python3-yaml" }, { "jinja2", "python3-jinja2" }, { "pandas", "python3-pandas" },
		{ "langdetect", "python3-langdetect" }, { "Levenshtein", "python3-levenshtein" },
		{ "requests", "python3-requests" }, { "tqdm", "python3-tqdm" },
		{ "typing_extensions", "python3-typing-extensions" }, { "immutabledict", "python3-immutabledict" },
		{ "absl", "python3-absl" },
	};
	for (size_t i = 0; i < sizeof(deb) / sizeof(deb[0]); i++)
		if (!strcmp(mod, deb[i][0])) {
			snprintf(hint, len, "apt-get install %s", deb[i][1]);
			return hint;
		}
	snprintf(hint, len, "pip install %s", mod);
	return hint;
}

/* ---------- the worker ---------- */

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static struct lle_sandbox_proc *g_proc;
static int g_fd = -1;
static int g_started;
/* bytes read and not yet handed out as a reply line */
static char *g_in;
static size_t g_in_n, g_in_cap;
static char *g_python;
static int g_allow_net;
/* directories the worker shows read-only: the task trees (hookref roots,
 * lle_hooks_allow_dir); the first g_ndirs_live were there when the running
 * worker started */
static char **g_dirs;
static size_t g_ndirs, g_ndirs_live;
/* the running worker's limits, for the messages that name them */
static unsigned g_mem_mb, g_cpu_s;
static unsigned long g_failures;

unsigned long lle_hooks_failures(void)
{
	pthread_mutex_lock(&g_mu);
	unsigned long n = g_failures;
	pthread_mutex_unlock(&g_mu);
	return n;
}

void lle_hooks_configure(const char *python)
{
	pthread_mutex_lock(&g_mu);
	free(g_python);
	g_python = python ? lle_strdup(python) : NULL;
	pthread_mutex_unlock(&g_mu);
}

void lle_hooks_allow_network(int allow)
{
	pthread_mutex_lock(&g_mu);
	g_allow_net = allow;
	pthread_mutex_unlock(&g_mu);
}

int lle_hooks_started(void)
{
	return g_started;
}

/* path is dir or below it */
static int under(const char *path, const char *dir)
{
	size_t n = strlen(dir);
	return !strncmp(path, dir, n) && (path[n] == '\0' || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

static int covered(const char *path, size_t ndirs)
{
	for (size_t i = 0; i < ndirs; i++)
		if (under(path, g_dirs[i]))
			return 1;
	return 0;
}

/* The directory to show for a hook's directory: the folder above the tree's
 * lm_eval package when dir is inside one (a hook's `from lm_eval.utils
 * import ...` needs the package), else dir itself. malloc()ed, or NULL. */
static char *tree_root(const char *dir)
{
	struct lle_buf b = LLE_BUF_INIT;
	char *d = lle_strdup(dir);
	while (d && strcmp(d, "/") && strcmp(d, ".")) {
		const char *base = strrchr(d, '/');
		if (base && !strcmp(base + 1, "lm_eval")) {
			lle_buf_printf(&b, "%s/__init__.py", d);
			int pkg = !b.oom && access(lle_buf_str(&b), F_OK) == 0;
			lle_buf_free(&b);
			if (pkg) {
				char *up = lle_path_dirname(d);
				free(d);
				return up;
			}
		}
		char *up = lle_path_dirname(d);
		free(d);
		d = up;
	}
	free(d);
	return lle_strdup(dir);
}

/* Show dir (and its real path, when that differs) to the worker. */
static void allow_dir_locked(const char *dir)
{
	char *abs = dir[0] == '/' ? lle_strdup(dir) : realpath(dir, NULL);
	char *real = realpath(dir, NULL);
	char *cand[2] = { abs ? tree_root(abs) : NULL, real ? tree_root(real) : NULL };
	free(abs);
	free(real);
	for (int k = 0; k < 2; k++) {
		if (!cand[k] || covered(cand[k], g_ndirs)) {
			free(cand[k]);
			continue;
		}
		char **p = realloc(g_dirs, (g_ndirs + 1) * sizeof(*p));
		if (!p) {
			free(cand[k]);
			continue; /* the hook then finds no file: its error says so */
		}
		g_dirs = p;
		g_dirs[g_ndirs++] = cand[k];
	}
}

void lle_hooks_allow_dir(const char *dir)
{
	pthread_mutex_lock(&g_mu);
	allow_dir_locked(dir);
	pthread_mutex_unlock(&g_mu);
}

/* An environment variable's whole number, or def. */
static unsigned env_uint(const char *name, unsigned def)
{
	const char *v = getenv(name);
	char *end;
	if (!v || !*v)
		return def;
	unsigned long n = strtoul(v, &end, 10);
	return *end || n == 0 || n > 1u << 30 ? def : (unsigned)n;
}

static void stop_locked(void)
{
	if (g_fd >= 0)
		close(g_fd);
	g_fd = -1;
	if (g_proc) {
		struct lle_sandbox_exit x;
		lle_sandbox_proc_end(g_proc, 0, &x);
	}
	g_proc = NULL;
	free(g_in);
	g_in = NULL;
	g_in_n = g_in_cap = 0;
}

void lle_hooks_stop(void)
{
	pthread_mutex_lock(&g_mu);
	stop_locked();
	pthread_mutex_unlock(&g_mu);
}

/* The installation an interpreter at path belongs to: PREFIX for
 * PREFIX/bin/python3 (a virtual environment, /opt/conda), else its folder. */
static char *python_home(const char *path)
{
	char *dir = lle_path_dirname(path);
	const char *b = dir ? strrchr(dir, '/') : NULL;
	if (b && !strcmp(b + 1, "bin")) {
		char *up = lle_path_dirname(dir);
		free(dir);
		return up;
	}
	return dir;
}

static int push(char ***v, size_t *n, char *s)
{
	char **p = s ? realloc(*v, (*n + 2) * sizeof(**v)) : NULL;
	if (!p) {
		free(s);
		return -1;
	}
	*v = p;
	p[(*n)++] = s;
	p[*n] = NULL;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The worker: python3 running the driver, in the project's sandbox
 * (src/sandbox/: no network unless allowed, a read-only file system showing
 * only the interpreter's files and the task trees, its own /tmp, resource
 * limits; docs/hooks.md). Its stdin and stdout are our socket, its stderr
 * ours (a hook's prints). */
static int start_locked(struct lle_err *err)
{
	int sv[2];
	const char *py = g_python ? g_python : getenv("LLM_EVAL_PYTHON");
	const char *net = getenv("LLM_EVAL_HOOK_NETWORK");
	int allow_net = g_allow_net || (net && !strcmp(net, "1"));
	if (!py || !*py)
		py = "python3";
	/* python3 of the sandbox's PATH (the system's: /usr/local/bin,
	 * /usr/bin, /bin), as for model-written code; a configured one is
	 * shown with its installation */
	char *abs = NULL, *real = NULL;
	char **ro = NULL, **env = NULL;
	size_t nro = 0, nenv = 0;
	int rc = -1;
	if (strchr(py, '/')) {
		if (!(abs = py[0] == '/' ? lle_strdup(py) : realpath(py, NULL)))
			return lle_err_set(err, LLE_EXIT_CONFIG, "cannot start '%s' for the tasks' python hooks: %s "
					   "(install python3, or set LLM_EVAL_PYTHON)", py, strerror(errno));
		real = realpath(abs, NULL);
		if (push(&ro, &nro, python_home(abs)) < 0 || (real && push(&ro, &nro, python_home(real)) < 0))
			goto oom;
	} else if (!(abs = lle_strdup(py))) {
		return lle_err_oom(err);
	}
	for (size_t i = 0; i < g_ndirs; i++)
		if (push(&ro, &nro, lle_strdup(g_dirs[i])) < 0)
			goto oom;
	/* what a hook may need from the environment (the rest stays out:
	 * keys, tokens); PYTHONPATH's and NLTK_DATA's folders are shown */
	static const char *const pass[] = { "LLM_EVAL_DATASETS_STANDIN", "PYTHONPATH", "NLTK_DATA",
		"PYTHONHASHSEED" };
	static const char *const pass_net[] = { "http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY",
		"HTTPS_PROXY", "NO_PROXY", "HF_ENDPOINT", "SSL_CERT_FILE" };
	for (size_t k = 0; k < 2; k++) {
		const char *const *names = k ? pass_net : pass;
		size_t n = k ? sizeof(pass_net) / sizeof(pass_net[0]) : sizeof(pass) / sizeof(pass[0]);
		for (size_t i = 0; i < n && (k == 0 || allow_net); i++) {
			const char *v = getenv(names[i]);
			if (!v)
				continue;
			struct lle_buf b = LLE_BUF_INIT;
			lle_buf_printf(&b, "%s=%s", names[i], v);
			if (push(&env, &nenv, lle_buf_detach(&b)) < 0)
				goto oom;
			if (k == 0 && i > 0 && i < 3) {
				char *list = lle_strdup(v);
				if (!list)
					goto oom;
				for (char *sp = NULL, *t = strtok_r(list, ":", &sp); t; t = strtok_r(NULL, ":", &sp))
					if (t[0] == '/' && push(&ro, &nro, lle_strdup(t)) < 0) {
						free(list);
						goto oom;
					}
				free(list);
			}
		}
	}
	/* packages installed with pip --user (not root's: as root the worker
	 * runs as nobody, who cannot reach them) */
	const char *home = getenv("HOME");
	if (home && home[0] == '/' && geteuid() != 0) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "%s/.local/lib", home);
		if (!b.oom && access(lle_buf_str(&b), R_OK) == 0) {
			if (push(&ro, &nro, lle_buf_detach(&b)) < 0)
				goto oom;
			lle_buf_printf(&b, "PYTHONUSERBASE=%s/.local", home);
			if (push(&env, &nenv, lle_buf_detach(&b)) < 0)
				goto oom;
		}
		lle_buf_free(&b);
	}
	if (allow_net) {
		/* the resolver's and TLS's files */
		static const char *const etc[] = { "/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf",
			"/etc/host.conf", "/etc/gai.conf", "/etc/ssl", "/etc/ca-certificates" };
		for (size_t i = 0; i < sizeof(etc) / sizeof(etc[0]); i++)
			if (push(&ro, &nro, lle_strdup(etc[i])) < 0)
				goto oom;
	}
	g_mem_mb = env_uint("LLM_EVAL_HOOK_MEMORY_MB", 8192);
	g_cpu_s = env_uint("LLM_EVAL_HOOK_CPU_S", 3600);
	struct lle_sandbox_opts o = {
		.memory_mb = g_mem_mb,
		.cpu_s = g_cpu_s,
		.fsize_mb = env_uint("LLM_EVAL_HOOK_TMP_MB", 1024),
		.nproc = env_uint("LLM_EVAL_HOOK_NPROC", 256),
		.nofile = env_uint("LLM_EVAL_HOOK_NOFILE", 1024),
		.env = (const char *const *)env,
		.allow_weak = 1,
		.ro_paths = (const char *const *)ro,
		.allow_network = allow_net,
		.who = "the python hook worker",
	};
	const char *argv[] = { abs, "-B", "-c", lle_hooks_driver_src, NULL };
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "hook worker: socketpair: %s", strerror(errno));
		goto out;
	}
	struct lle_sandbox_proc *p = lle_sandbox_spawn(&o, argv, sv[1], 2, err);
	close(sv[1]);
	if (!p) {
		close(sv[0]);
		if (err && err->code == LLE_EXIT_CONFIG && strstr(err->msg, "cannot run"))
			lle_err_prefix(err, "cannot start '%s' for the tasks' python hooks (install python3, "
				       "or set LLM_EVAL_PYTHON)", py);
		else
			lle_err_prefix(err, "the python hook worker");
		goto out;
	}
	g_proc = p;
	g_fd = sv[0];
	g_started = 1;
	g_ndirs_live = g_ndirs;
	rc = 0;
	goto out;
oom:
	lle_err_oom(err);
out:
	if (ro)
		strv_free(ro, nro);
	if (env)
		strv_free(env, nenv);
	free(real);
	free(abs);
	return rc;
}

/* Why the worker is gone, as the end of a message. */
static int worker_gone(struct lle_err *err)
{
	struct lle_sandbox_exit x;
	memset(&x, 0, sizeof(x));
	if (g_proc)
		lle_sandbox_proc_end(g_proc, 0, &x);
	g_proc = NULL;
	stop_locked();
	g_failures++;
	if (x.oom)
		return lle_err_set(err, LLE_EXIT_DATA, "the python hook worker ran out of memory (its limit is "
				   "%u MB: LLM_EVAL_HOOK_MEMORY_MB)", g_mem_mb);
	if (x.end == LLE_SANDBOX_SIGNALED && x.signal == SIGXCPU)
		return lle_err_set(err, LLE_EXIT_DATA, "the python hook worker used up its CPU time (its limit "
				   "is %u s: LLM_EVAL_HOOK_CPU_S)", g_cpu_s);
	if (x.end == LLE_SANDBOX_SIGNALED)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker was killed by signal %d",
				   x.signal);
	return lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker ended (exit status %d; "
			   "its messages are above)", x.exit_code);
}

static int send_all(const char *p, size_t n, struct lle_err *err)
{
	while (n > 0) {
		ssize_t w = send(g_fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker ended (%s)", strerror(errno));
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One reply line into *line (malloc()ed, without the newline). */
static int read_line(char **line, size_t *len, struct lle_err *err)
{
	size_t scanned = 0;
	for (;;) {
		const char *nl = g_in_n > scanned ? memchr(g_in + scanned, '\n', g_in_n - scanned) : NULL;
		if (nl) {
			size_t n = (size_t)(nl - g_in);
			if (!(*line = lle_strndup(g_in, n)))
				return lle_err_oom(err);
			*len = n;
			memmove(g_in, nl + 1, g_in_n - n - 1);
			g_in_n -= n + 1;
			return 0;
		}
		scanned = g_in_n;
		if (g_in_cap - g_in_n < 65536) {
			size_t cap = g_in_cap ? g_in_cap * 2 : 131072;
			char *p = realloc(g_in, cap);
			if (!p)
				return lle_err_oom(err);
			g_in = p;
			g_in_cap = cap;
		}
		ssize_t r = read(g_fd, g_in + g_in_n, g_in_cap - g_in_n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return worker_gone(err);
		g_in_n += (size_t)r;
	}
}

static json_t *reply_value(const struct lle_hookref *h, json_t *rep, struct lle_err *err)
{
	json_t *ok = json_object_get(rep, "ok");
	if (ok)
		return json_incref(ok);
	const char *spec = h ? h->spec : "hook";
	const char *missing = json_string_value(json_object_get(rep, "missing"));
	const char *msg = json_string_value(json_object_get(rep, "error"));
	const char *where = json_string_value(json_object_get(rep, "where"));
	if (missing) {
		char hint[200];
		lle_err_set(err, LLE_EXIT_CONFIG, "'%s': python module '%s' is not installed (%s)", spec, missing,
			    lle_hooks_install_hint(missing, hint, sizeof(hint)));
		return NULL;
	}
	g_failures++;
	/* a module file the engine reads but the sandbox's user cannot */
	if (h && msg && !strncmp(msg, "FileNotFoundError: no module file", 33) && access(h->module, R_OK) == 0) {
		lle_err_set(err, LLE_EXIT_CONFIG, "'%s': the python hook worker cannot read %s (%s)", spec, h->module,
			    geteuid() == 0 ? "as root it runs as nobody, uid 65534, who must be able to read the "
					     "task tree and reach it" : "it is outside the task trees shown to it");
		return NULL;
	}
	/* past the address-space limit: say which limit, and how to raise it */
	char lim[120] = "";
	int n = msg ? (int)strlen(msg) : 0;
	if (msg && !strncmp(msg, "MemoryError", 11)) {
		while (n > 11 && (msg[n - 1] == ' ' || msg[n - 1] == ':'))
			n--;
		snprintf(lim, sizeof(lim), "%sthe python hook worker's memory limit is %u MB: LLM_EVAL_HOOK_MEMORY_MB",
			 where ? "; " : " (", g_mem_mb);
	}
	lle_err_set(err, LLE_EXIT_DATA, "'%s': %.*s%s%.300s%s%s", spec, msg ? (n > 600 ? 600 : n) : 13,
		    msg ? msg : "unknown error", where ? " (at " : "", where ? where : "", lim,
		    where || lim[0] ? ")" : "");
	return NULL;
}

static json_t *request(const struct lle_hookref *const *hs, size_t nh, json_t *req, struct lle_err *err)
{
	char *text = json_dumps(req, JSON_COMPACT | JSON_ENSURE_ASCII);
	if (!text) {
		lle_err_oom(err);
		return NULL;
	}
	size_t tl = strlen(text);
	json_t *out = NULL;
	char *line = NULL;
	size_t len = 0;
	pthread_mutex_lock(&g_mu);
	/* a hook in a tree the running worker does not show: a new worker
	 * that shows it */
	for (size_t i = 0; g_fd >= 0 && i < nh; i++) {
		const char *where = hs[i] && hs[i]->module[0] == '/' ? hs[i]->module : NULL;
		if (where && !covered(where, g_ndirs_live) && covered(where, g_ndirs))
			stop_locked();
	}
	if (g_fd < 0 && start_locked(err) < 0)
		goto done;
	text[tl] = '\n'; /* json_dumps' NUL becomes the line's end */
	if (send_all(text, tl + 1, err) < 0 || read_line(&line, &len, err) < 0)
		goto done;
	json_error_t je;
	json_t *rep = json_loadb(line, len, JSON_ALLOW_NUL, &je);
	if (!rep) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker answered what is not JSON: %s", je.text);
		goto done;
	}
	json_t *ix = json_object_get(rep, "index");
	size_t i = json_is_integer(ix) && json_integer_value(ix) >= 0 ? (size_t)json_integer_value(ix) : 0;
	out = reply_value(i < nh ? hs[i] : NULL, rep, err);
	json_decref(rep);
done:
	pthread_mutex_unlock(&g_mu);
	free(line);
	free(text);
	return out;
}

json_t *lle_hooks_request(const struct lle_hookref *h, json_t *req, struct lle_err *err)
{
	return request(&h, h ? 1 : 0, req, err);
}

json_t *lle_hooks_multi(const struct lle_hookref *const *hs, size_t n, json_t *args, struct lle_err *err)
{
	json_t *calls = json_array();
	for (size_t i = 0; calls && i < n; i++)
		if (json_array_append_new(calls, json_pack("{s:s,s:s,s:s,s:s}", "module", hs[i]->module, "name",
							   hs[i]->name, "base", hs[i]->base, "fn", hs[i]->fn)) < 0) {
			json_decref(calls);
			calls = NULL;
		}
	json_t *req = calls ? json_pack("{s:s,s:O,s:o}", "op", "multi", "args", args, "calls", calls) : NULL;
	if (!req) {
		lle_err_oom(err);
		return NULL;
	}
	json_t *v = request(hs, n, req, err);
	json_decref(req);
	return v;
}

json_t *lle_hooks_call(const struct lle_hookref *h, json_t *args, struct lle_err *err)
{
	json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:O}", "op", "call", "module", h->module, "name", h->name,
				"base", h->base, "fn", h->fn, "args", args);
	if (!req) {
		lle_err_oom(err);
		return NULL;
	}
	json_t *v = lle_hooks_request(h, req, err);
	json_decref(req);
	return v;
}

int lle_hooks_load(const struct lle_hookref *h, struct lle_err *err)
{
	/* imports the module and looks the function up, calling nothing */
	json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s}", "op", "load", "module", h->module, "name", h->name,
				"base", h->base, "fn", h->fn);
	if (!req)
		return lle_err_oom(err);
	json_t *v = lle_hooks_request(h, req, err);
	json_decref(req);
	if (!v)
		return -1;
	json_decref(v);
	return 0;
}
