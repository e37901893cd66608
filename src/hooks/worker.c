/* The hook worker: one python3 process running the embedded driver
 * (driver.py), started on the first request and fed JSON lines over a
 * socket pair (send with MSG_NOSIGNAL, so a dead worker is an error, not a
 * SIGPIPE). It runs in a network namespace of its own (no network) unless
 * LLM_EVAL_HOOK_NETWORK=1. Also `!function` references. See hooks.h.
 *
 * Not here: the driver's side of the protocol (driver.py), what hooks mean
 * to a task (src/tasks/task_hooks.c). */
#include "hooks/hooks.h"
#include "hooks/hooks_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/path.h"

/* ---------- references ---------- */

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
static pid_t g_pid = -1;
static int g_fd = -1;
static int g_started;
/* bytes read and not yet handed out as a reply line */
static char *g_in;
static size_t g_in_n, g_in_cap;
static char *g_python;

void lle_hooks_configure(const char *python)
{
	pthread_mutex_lock(&g_mu);
	free(g_python);
	g_python = python ? lle_strdup(python) : NULL;
	pthread_mutex_unlock(&g_mu);
}

int lle_hooks_started(void)
{
	return g_started;
}

static void stop_locked(void)
{
	if (g_fd >= 0)
		close(g_fd);
	g_fd = -1;
	if (g_pid > 0) {
		int st;
		while (waitpid(g_pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	g_pid = -1;
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

/* In the child, before exec: no network (a new network namespace has only
 * a loopback that is down), unless allowed. -1 with errno when the kernel
 * refuses both ways. */
static int cut_network(void)
{
	if (unshare(CLONE_NEWNET) == 0)
		return 0;
	/* not root: a user namespace of its own first (files are then read as
	 * the overflow user, which world-readable task trees allow) */
	return unshare(CLONE_NEWUSER | CLONE_NEWNET);
}

static int start_locked(struct lle_err *err)
{
	int sv[2], st[2];
	const char *py = g_python ? g_python : getenv("LLM_EVAL_PYTHON");
	const char *net = getenv("LLM_EVAL_HOOK_NETWORK");
	int allow_net = net && !strcmp(net, "1");
	if (!py || !*py)
		py = "python3";
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "hook worker: socketpair: %s", strerror(errno));
	if (pipe2(st, O_CLOEXEC) < 0) {
		close(sv[0]);
		close(sv[1]);
		return lle_err_set(err, LLE_EXIT_INTERNAL, "hook worker: pipe: %s", strerror(errno));
	}
	char *argv[] = { (char *)py, (char *)"-B", (char *)"-c", (char *)lle_hooks_driver_src, NULL };
	pid_t pid = fork();
	if (pid == 0) {
		/* the child: only async-signal-safe calls until exec */
		int e[2] = { 0, 0 };
		if (!allow_net && cut_network() < 0)
			e[0] = 1, e[1] = errno;
		if (!e[0] && (dup2(sv[1], 0) < 0 || dup2(sv[1], 1) < 0))
			e[0] = 2, e[1] = errno;
		if (!e[0]) {
			execvp(py, argv);
			e[0] = 3, e[1] = errno;
		}
		ssize_t w = write(st[1], e, sizeof(e));
		(void)w;
		_exit(127);
	}
	close(sv[1]);
	close(st[1]);
	if (pid < 0) {
		close(sv[0]);
		close(st[0]);
		return lle_err_set(err, LLE_EXIT_INTERNAL, "hook worker: fork: %s", strerror(errno));
	}
	int e[2] = { 0, 0 };
	ssize_t r;
	while ((r = read(st[0], e, sizeof(e))) < 0 && errno == EINTR)
		;
	close(st[0]);
	if (r > 0) { /* the child says why it did not start */
		int ws;
		close(sv[0]);
		while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
			;
		if (e[0] == 1)
			return lle_err_set(err, LLE_EXIT_CONFIG, "cannot cut the python hook worker off the network "
					   "(%s); LLM_EVAL_HOOK_NETWORK=1 runs the tasks' hooks with network", strerror(e[1]));
		return lle_err_set(err, LLE_EXIT_CONFIG, "cannot start '%s' for the tasks' python hooks: %s "
				   "(install python3, or set LLM_EVAL_PYTHON)", py, strerror(e[1]));
	}
	g_pid = pid;
	g_fd = sv[0];
	g_started = 1;
	return 0;
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
		if (r <= 0) {
			int st = 0;
			pid_t p = g_pid;
			g_pid = -1;
			if (p > 0)
				while (waitpid(p, &st, 0) < 0 && errno == EINTR)
					;
			stop_locked();
			if (WIFSIGNALED(st))
				return lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker was killed by signal %d",
						   WTERMSIG(st));
			return lle_err_set(err, LLE_EXIT_INTERNAL, "the python hook worker ended (exit status %d; "
					   "its messages are above)", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		}
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
	lle_err_set(err, LLE_EXIT_DATA, "'%s': %.600s%s%.300s%s", spec, msg ? msg : "unknown error",
		    where ? " (at " : "", where ? where : "", where ? ")" : "");
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
