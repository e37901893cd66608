/* Path helpers: see path.h. */
#include "util/path.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/buf.h"

char *lle_path_join(const char *a, const char *b)
{
	if (b[0] == '/' || !a || !a[0])
		return lle_strdup(b);
	size_t na = strlen(a);
	while (na > 1 && a[na - 1] == '/')
		na--;
	struct lle_buf out = LLE_BUF_INIT;
	lle_buf_add(&out, a, na);
	lle_buf_addc(&out, '/');
	lle_buf_adds(&out, b);
	return lle_buf_detach(&out);
}

char *lle_path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return lle_strdup(".");
	if (slash == path)
		return lle_strdup("/");
	return lle_strndup(path, (size_t)(slash - path));
}

const char *lle_exe_dir(void)
{
	static char dir[PATH_MAX];
	static int done;
	if (!done) {
		done = 1;
		ssize_t n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
		if (n <= 0) {
			dir[0] = '\0';
		} else {
			dir[n] = '\0';
			char *slash = strrchr(dir, '/');
			if (slash)
				*slash = '\0';
		}
	}
	return dir[0] ? dir : NULL;
}

static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

const char *lle_builtin_registry_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0])
		return dir;
	const char *env = getenv("LLM_EVAL_DATADIR");
	const char *exe = lle_exe_dir();
	char cand[PATH_MAX];
	if (env && *env) {
		snprintf(dir, sizeof(dir), "%s", env);
	} else if (exe && snprintf(cand, sizeof(cand), "%s/../registry", exe) > 0 && is_dir(cand) &&
		   snprintf(dir, sizeof(dir), "%s/../Makefile", exe) > 0 && access(dir, F_OK) == 0) {
		/* build tree: $TOP/build/llm-eval with $TOP/Makefile and $TOP/registry */
		snprintf(dir, sizeof(dir), "%s", cand);
	} else if (exe && snprintf(cand, sizeof(cand), "%s/../share/llm-eval", exe) > 0 && is_dir(cand)) {
		snprintf(dir, sizeof(dir), "%s", cand);
	} else {
		snprintf(dir, sizeof(dir), "%s", LLE_DATADIR);
	}
	return dir;
}

const char *lle_lib_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0])
		return dir;
	const char *exe = lle_exe_dir();
	char cand[PATH_MAX];
	if (exe && snprintf(cand, sizeof(cand), "%s/lib/libllm-eval-engine.so", exe) > 0 &&
	    access(cand, F_OK) == 0)
		snprintf(dir, sizeof(dir), "%s/lib", exe);
	else if (exe && snprintf(cand, sizeof(cand), "%s/../lib/llm-eval", exe) > 0 && is_dir(cand))
		snprintf(dir, sizeof(dir), "%s", cand);
	else
		snprintf(dir, sizeof(dir), "%s", LLE_LIBDIR);
	return dir;
}

char *lle_xdg_dir(const char *kind)
{
	const char *var = strcmp(kind, "config") == 0 ? "XDG_CONFIG_HOME"
			: strcmp(kind, "cache") == 0 ? "XDG_CACHE_HOME" : "XDG_DATA_HOME";
	const char *def = strcmp(kind, "config") == 0 ? ".config"
			: strcmp(kind, "cache") == 0 ? ".cache" : ".local/share";
	const char *v = getenv(var);
	struct lle_buf b = LLE_BUF_INIT;
	if (v && v[0] == '/') {
		lle_buf_printf(&b, "%s/llm-eval", v);
	} else {
		const char *home = getenv("HOME");
		if (!home || !*home)
			return NULL;
		lle_buf_printf(&b, "%s/%s/llm-eval", home, def);
	}
	return lle_buf_detach(&b);
}

int lle_mkdir_p(const char *path)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);
	if (n == 0 || n >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
		return -1;
	return is_dir(tmp) ? 0 : (errno = ENOTDIR, -1);
}
