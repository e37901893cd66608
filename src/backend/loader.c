/* Backend plugin loader: see loader.h. It maps nothing but the plugin file
 * (and what that file needs); it never opens a model. */
#include "backend/loader.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/buf.h"
#include "util/diag.h"
#include "util/path.h"
#include "util/suggest.h"

/* ---- default host services ------------------------------------------------ */

static void host_log(void *user, int level, const char *msg)
{
	(void)user;
	switch (level) {
	case LLE_LOG_ERROR: lle_errorf("%s", msg); break;
	case LLE_LOG_WARN: lle_warnf("%s", msg); break;
	case LLE_LOG_INFO: lle_notef("%s", msg); break;
	default: lle_debugf("%s", msg); break;
	}
}

static void host_progress(void *user, const char *what, double done, double total)
{
	(void)user;
	if (total > 0)
		lle_debugf("%s: %.0f%%", what, 100.0 * done / total);
}

static void *host_alloc(void *user, size_t n) { (void)user; return malloc(n ? n : 1); }
static void *host_realloc(void *user, void *p, size_t n) { (void)user; return realloc(p, n ? n : 1); }
static void host_free(void *user, void *p) { (void)user; free(p); }
static int host_interrupted(void *user) { (void)user; return 0; }
static void host_generated(void *user, uint64_t id, uint32_t n) { (void)user, (void)id, (void)n; }

static const struct lle_host default_host = {
	.size = sizeof(struct lle_host),
	.abi_major = LLE_BACKEND_ABI_MAJOR,
	.abi_minor = LLE_BACKEND_ABI_MINOR,
	.user = NULL,
	.log = host_log,
	.progress = host_progress,
	.alloc = host_alloc,
	.realloc = host_realloc,
	.free = host_free,
	.interrupted = host_interrupted,
	.generated = host_generated,
};

const struct lle_host *lle_backend_default_host(void)
{
	return &default_host;
}

/* ---- where plugins are ---------------------------------------------------- */

void lle_backend_dirs_free(char **dirs)
{
	if (!dirs)
		return;
	for (size_t i = 0; dirs[i]; i++)
		free(dirs[i]);
	free(dirs);
}

char **lle_backend_dirs(void)
{
	const char *env = getenv("LLM_EVAL_PLUGIN_PATH");
	size_t cap = 2;
	for (const char *s = env; s && *s; s++)
		cap += *s == ':';
	char **dirs = calloc(cap + 1, sizeof(char *));
	if (!dirs)
		return NULL;
	size_t n = 0;
	for (const char *s = env; s && *s;) {
		const char *e = strchr(s, ':');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len > 0 && !(dirs[n++] = lle_strndup(s, len)))
			goto oom;
		s += len + (e != NULL);
	}
	if (!(dirs[n++] = lle_strdup(lle_lib_dir())))
		goto oom;
	return dirs;
oom:
	lle_backend_dirs_free(dirs);
	return NULL;
}

static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The installed plugin names, for "did you mean": copies, since a scan's
 * names live only during its callback. */
struct near_plugin {
	struct lle_suggest sg;
	char names[32][64];
	size_t n;
};

static int near_plugin_add(void *user, const struct lle_plugin_file *f)
{
	struct near_plugin *np = user;
	if (strlen(f->name) < sizeof(np->names[0])) {
		strcpy(np->names[np->n], f->name);
		lle_suggest_add(&np->sg, np->names[np->n++]);
	}
	return np->n == sizeof(np->names) / sizeof(np->names[0]);
}

char *lle_backend_find(const char *name, struct lle_err *err)
{
	if (strchr(name, '/')) {
		if (!file_exists(name)) {
			lle_err_set(err, LLE_EXIT_BACKEND, "backend plugin '%s' does not exist", name);
			return NULL;
		}
		char *copy = lle_strdup(name);
		if (!copy)
			lle_err_oom(err);
		return copy;
	}
	char **dirs = lle_backend_dirs();
	if (!dirs) {
		lle_err_oom(err);
		return NULL;
	}
	struct lle_buf file = LLE_BUF_INIT, where = LLE_BUF_INIT;
	char *found = NULL;
	lle_buf_printf(&file, "%s.so", name);
	for (size_t i = 0; dirs[i] && !found; i++) {
		char *p = lle_path_join(dirs[i], lle_buf_str(&file));
		if (p && file_exists(p))
			found = p;
		else
			free(p);
		lle_buf_printf(&where, "%s%s", i ? ", " : "", dirs[i]);
	}
	if (!found && !file.oom && !where.oom) {
		struct near_plugin np;
		lle_suggest_init(&np.sg, name);
		np.n = 0;
		struct lle_err serr = { 0 };
		lle_backend_scan(near_plugin_add, &np, &serr);
		const char *near = lle_suggest_result(&np.sg);
		lle_err_set(err, LLE_EXIT_BACKEND,
			    "backend '%s' is not installed: no '%s' in %s (LLM_EVAL_PLUGIN_PATH adds directories)%s%s%s",
			    name, lle_buf_str(&file), lle_buf_str(&where), near ? "; did you mean '" : "",
			    near ? near : "", near ? "'?" : "");
	} else if (!found)
		lle_err_oom(err);
	lle_buf_free(&file);
	lle_buf_free(&where);
	lle_backend_dirs_free(dirs);
	return found;
}

/* ---- loading -------------------------------------------------------------- */

/* dlopen failed on an existing file: say whether a library it needs is missing
 * (the common case after a partial install), or what else went wrong. */
static void explain_dlopen_failure(const char *path, const char *why, struct lle_err *err)
{
	static const char missing[] = ": cannot open shared object file";
	const char *m = strstr(why, missing);
	if (m) {
		/* "libfoo.so: cannot open shared object file: ..." names the library. */
		const char *start = m;
		while (start > why && start[-1] != ' ' && start[-1] != ':')
			start--;
		int n = (int)(m - start);
		lle_err_set(err, LLE_EXIT_BACKEND,
			    "backend plugin '%s' cannot be loaded: a library it needs, '%.*s', is missing (%s)",
			    path, n, start, why);
	} else if (strstr(why, "undefined symbol")) {
		lle_err_set(err, LLE_EXIT_BACKEND,
			    "backend plugin '%s' cannot be loaded: a library it needs is too old or "
			    "of another build (%s)", path, why);
	} else {
		lle_err_set(err, LLE_EXIT_BACKEND, "backend plugin '%s' cannot be loaded: %s", path, why);
	}
}

struct lle_plugin *lle_plugin_open(const char *path, const struct lle_host *host,
				   struct lle_err *err)
{
	if (!host)
		host = &default_host;
	if (!file_exists(path)) {
		lle_err_set(err, LLE_EXIT_BACKEND, "backend plugin '%s' does not exist", path);
		return NULL;
	}
	dlerror();
	/* RTLD_NODELETE: a plugin is never unmapped, even after dlclose. Its
	 * libraries (libllama and ggml, libcurl and OpenSSL) keep thread-local
	 * storage, threads and atexit handlers that outlive a close; unmapping
	 * them leaves the thread's TLS vector pointing at freed modules
	 * (LeakSanitizer crashed on exactly that in t0935). Loading the same
	 * plugin again reuses the mapping. */
	void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!h) {
		const char *why = dlerror();
		explain_dlopen_failure(path, why ? why : "unknown error", err);
		return NULL;
	}
	dlerror();
	void *sym = dlsym(h, LLE_BACKEND_ENTRY_SYMBOL);
	if (!sym) {
		const char *why = dlerror();
		lle_err_set(err, LLE_EXIT_BACKEND,
			    "backend plugin '%s' has no entry symbol '%s', so it is not an llm-eval "
			    "backend plugin (%s)", path, LLE_BACKEND_ENTRY_SYMBOL, why ? why : "no error text");
		dlclose(h);
		return NULL;
	}
	lle_backend_entry_fn entry;
	*(void **)&entry = sym; /* POSIX: a dlsym() data pointer converts to a function pointer */
	char msg[512] = "";
	const struct lle_backend *be = entry(host, msg, sizeof(msg));
	if (!be) {
		lle_err_set(err, LLE_EXIT_BACKEND, "backend plugin '%s' refused to start: %s", path,
			    msg[0] ? msg : "it gave no reason");
		dlclose(h);
		return NULL;
	}
	/* abi_major, abi_minor and size are frozen for every ABI: safe to read. */
	if (be->abi_major != LLE_BACKEND_ABI_MAJOR) {
		lle_err_set(err, LLE_EXIT_BACKEND,
			    "backend plugin '%s' was built for backend ABI %u.%u, but this llm-eval "
			    "supports ABI %d.%d; rebuild the plugin against this llm-eval's "
			    "include/llm-eval/backend.h",
			    path, be->abi_major, be->abi_minor, LLE_BACKEND_ABI_MAJOR, LLE_BACKEND_ABI_MINOR);
		dlclose(h);
		return NULL;
	}
	if (be->size < offsetof(struct lle_backend, close) + sizeof(be->close) || !be->name ||
	    !be->open || !be->submit || !be->close || !be->wait_ready) {
		lle_err_set(err, LLE_EXIT_BACKEND,
			    "backend plugin '%s' returned an incomplete function table (size %u, "
			    "name, open, wait_ready, submit and close are required)", path, be->size);
		dlclose(h);
		return NULL;
	}
	struct lle_plugin *p = calloc(1, sizeof(*p));
	if (!p || !(p->path = lle_strdup(path))) {
		free(p);
		dlclose(h);
		lle_err_oom(err);
		return NULL;
	}
	p->handle = h;
	p->be = be;
	return p;
}

struct lle_plugin *lle_backend_load(const char *name, const struct lle_host *host,
				    struct lle_err *err)
{
	char *path = lle_backend_find(name, err);
	if (!path)
		return NULL;
	struct lle_plugin *p = lle_plugin_open(path, host, err);
	free(path);
	return p;
}

void lle_plugin_close(struct lle_plugin *p)
{
	if (!p)
		return;
	dlclose(p->handle);
	free(p->path);
	free(p);
}

/* ---- listing -------------------------------------------------------------- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int is_plugin_name(const char *n)
{
	size_t len = strlen(n);
	return len > 3 && strcmp(n + len - 3, ".so") == 0 && strncmp(n, "lib", 3) != 0 && n[0] != '.';
}

int lle_backend_scan(int (*fn)(void *user, const struct lle_plugin_file *f), void *user,
		     struct lle_err *err)
{
	char **dirs = lle_backend_dirs();
	if (!dirs)
		return lle_err_oom(err);
	char **seen = NULL, **names = NULL;
	size_t nseen = 0, capseen = 0;
	int rc = 0;
	for (size_t i = 0; dirs[i] && rc == 0; i++) {
		DIR *d = opendir(dirs[i]);
		if (!d)
			continue; /* a directory of the path that does not exist is not an error */
		size_t nnames = 0, capnames = 0;
		names = NULL;
		struct dirent *e;
		while ((e = readdir(d)) && rc == 0) {
			if (!is_plugin_name(e->d_name))
				continue;
			if (nnames == capnames) {
				capnames = capnames ? 2 * capnames : 16;
				char **nn = realloc(names, capnames * sizeof(char *));
				if (!nn) { rc = lle_err_oom(err); break; }
				names = nn;
			}
			if (!(names[nnames] = lle_strdup(e->d_name)))
				rc = lle_err_oom(err);
			else
				nnames++;
		}
		closedir(d);
		if (names)
			qsort(names, nnames, sizeof(char *), cmp_str);
		for (size_t j = 0; j < nnames && rc == 0; j++) {
			char *name = lle_strndup(names[j], strlen(names[j]) - 3);
			char *path = lle_path_join(dirs[i], names[j]);
			if (!name || !path) {
				free(name);
				free(path);
				rc = lle_err_oom(err);
				break;
			}
			int shadowed = 0;
			for (size_t k = 0; k < nseen; k++)
				shadowed |= strcmp(seen[k], name) == 0;
			struct lle_plugin_file f = { name, path, shadowed };
			rc = fn(user, &f);
			free(path);
			if (!shadowed) {
				if (nseen == capseen) {
					capseen = capseen ? 2 * capseen : 16;
					char **ns = realloc(seen, capseen * sizeof(char *));
					if (!ns) {
						free(name);
						rc = lle_err_oom(err);
						break;
					}
					seen = ns;
				}
				seen[nseen++] = name;
			} else {
				free(name);
			}
		}
		for (size_t j = 0; j < nnames; j++)
			free(names[j]);
		free(names);
		names = NULL;
	}
	for (size_t k = 0; k < nseen; k++)
		free(seen[k]);
	free(seen);
	lle_backend_dirs_free(dirs);
	return rc;
}
