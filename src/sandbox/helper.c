/* Starting the sandbox through the helper executable llm-eval-sandbox-init
 * (src/sandbox/init/main.c): whether to (a large caller, whose page tables
 * a fork would copy), where it is, and spawning it with the configuration.
 * See sandbox_int.h. Not here: the helper's own code, the rest of a start
 * (sandbox.c). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"
#include "util/path.h"

#define HELPER_NAME "llm-eval-sandbox-init"

static pthread_once_t helper_once = PTHREAD_ONCE_INIT;
static char helper_found[PATH_MAX];

static int try_dir(const char *dir, const char *rel)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s%s/" HELPER_NAME, dir, rel) >= (int)sizeof(path) ||
	    access(path, X_OK) != 0)
		return 0;
	snprintf(helper_found, sizeof(helper_found), "%s", path);
	return 1;
}

static void find_helper(void)
{
	/* Beside the engine library (installed, or build/lib), then beside
	 * the executable (unit tests and benchmarks link the objects). */
	Dl_info info;
	if (dladdr((void *)find_helper, &info) && info.dli_fname) {
		char *dir = lle_path_dirname(info.dli_fname);
		int ok = dir && try_dir(dir, "");
		free(dir);
		if (ok)
			return;
	}
	const char *exe = lle_exe_dir();
	if (exe && (try_dir(exe, "/lib") || try_dir(exe, "/../lib") || try_dir(exe, "/../lib/llm-eval")))
		return;
	try_dir(LLE_LIBDIR, "");
}

/* Anonymous memory of this process in bytes (resident minus shared), the
 * part a fork copies page tables for; 0 when unknown. */
static unsigned long long anon_bytes(void)
{
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	char buf[128];
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	unsigned long long size, res, shared;
	if (sscanf(buf, "%llu %llu %llu", &size, &res, &shared) != 3 || res < shared)
		return 0;
	return (res - shared) * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* Above this much anonymous memory, spawning the helper (a fixed few
 * milliseconds: one more execve) is cheaper than forking this process
 * (about 35 ms per GB on the project's VM). */
#define HELPER_ABOVE (128ULL << 20)

/* The helper's path, or NULL to clone the init from this process.
 * LLM_EVAL_SANDBOX_INIT: a path, always that helper; "none", never a helper;
 * unset, the installed helper when this process is large. */
const char *lle_sb_helper_path(void)
{
	const char *e = getenv("LLM_EVAL_SANDBOX_INIT");
	if (e && *e)
		return strcmp(e, "none") == 0 ? NULL : e;
	if (anon_bytes() < HELPER_ABOVE)
		return NULL;
	pthread_once(&helper_once, find_helper);
	return helper_found[0] ? helper_found : NULL;
}

/* Start the helper with the configuration on descriptor 3 and the status,
 * stdout and stderr pipes on 4, 5, 6. posix_spawn copies none of this
 * process's memory. Returns its pid, or -1 with err set. */
pid_t lle_sb_spawn_helper(const char *path, const struct lle_sb_child *c, struct lle_err *err)
{
	size_t len = 0;
	void *cfg = lle_sb_config_encode(c, &len);
	if (!cfg) {
		lle_err_oom(err);
		return -1;
	}
	int fds[4] = { (int)syscall(SYS_memfd_create, "lle-sandbox-config", MFD_CLOEXEC), -1, -1, -1 };
	pid_t pid = -1;
	if (fds[0] < 0 || lle_sb_write_all(fds[0], cfg, len) < 0) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot write the configuration: %s",
			    strerror(errno));
		goto out;
	}
	/* Above 3..6, so that no dup2 below overwrites a source. */
	int src[4] = { fds[0], c->status_w, c->out_w, c->err_w };
	for (int i = 0; i < 4; i++) {
		int fd = fcntl(src[i], F_DUPFD_CLOEXEC, 10);
		if (fd < 0) {
			lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: dup: %s", strerror(errno));
			goto out;
		}
		if (i == 0)
			close(fds[0]);
		fds[i] = fd;
	}
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawnattr_init(&at);
	posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	posix_spawnattr_setsigmask(&at, &none);
	posix_spawnattr_setsigdefault(&at, &all);
	int rc = 0;
	for (int i = 0; i < 3 && rc == 0; i++)
		rc = posix_spawn_file_actions_addopen(&fa, i, "/dev/null", O_RDWR, 0);
	for (int i = 0; i < 4 && rc == 0; i++)
		rc = posix_spawn_file_actions_adddup2(&fa, fds[i], 3 + i);
	char *argv[] = { HELPER_NAME, NULL };
	char *envp[] = { NULL };
	if (rc == 0)
		rc = posix_spawn(&pid, path, &fa, &at, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&at);
	if (rc != 0) {
		pid = -1;
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot start '%s': %s", path, strerror(rc));
	}
out:
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(cfg);
	return pid;
}
