/* The sandbox's cgroup: see cgroup.h. */
#include "sandbox/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum { CG_NONE, CG_V2, CG_V1 };

static pthread_once_t cg_once = PTHREAD_ONCE_INIT;
static int cg_mode;
static char cg_base[2][PATH_MAX]; /* v2: [0]; v1: memory, pids ("" without pids) */
static char cg_desc[2 * PATH_MAX + 400];
static unsigned cg_counter;
static pthread_mutex_t cg_lock = PTHREAD_MUTEX_INITIALIZER;

/* The first line of a small file, without its newline; -1 when unreadable. */
static int read_line(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	int ok = fgets(buf, (int)size, f) != NULL;
	fclose(f);
	if (!ok)
		buf[0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	size_t n = strlen(text);
	ssize_t w = write(fd, text, n);
	int e = errno;
	close(fd);
	if (w != (ssize_t)n) {
		errno = w < 0 ? e : EIO;
		return -1;
	}
	return 0;
}

/* Is word one of the space- or comma-separated words of list? */
static int has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = list; (p = strstr(p, word)); p += n)
		if ((p == list || p[-1] == ' ' || p[-1] == ',') && (p[n] == '\0' || p[n] == ' ' || p[n] == ','))
			return 1;
	return 0;
}

/* Our cgroup's directory in the hierarchy whose /proc/self/cgroup line
 * matches: for v2 the "0::" line, for v1 the line naming controller. Found
 * through /proc/self/mountinfo (mount point, and the mount's root, which a
 * cgroup namespace or a bind may make other than "/"). */
static int own_dir(const char *controller, char *out, size_t size)
{
	char line[4096], path[PATH_MAX] = "";
	int found = 0;
	FILE *f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -1;
	while (!found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		if (controller ? has_word(c1 + 1, controller) : (strcmp(line, "0:") == 0)) {
			snprintf(path, sizeof(path), "%s", c2 + 1);
			found = 1;
		}
	}
	fclose(f);
	if (!found || !(f = fopen("/proc/self/mountinfo", "re")))
		return -1;
	found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		/* id parent dev root mountpoint opts... - fstype source superopts */
		char root[PATH_MAX], mp[PATH_MAX], fstype[64], super[1024];
		const char *dash = strstr(line, " - ");
		if (!dash || sscanf(line, "%*s %*s %*s %4095s %4095s", root, mp) != 2 ||
		    sscanf(dash + 3, "%63s %*s %1023s", fstype, super) != 2)
			continue;
		if (controller ? (strcmp(fstype, "cgroup") != 0 || !has_word(super, controller))
			       : strcmp(fstype, "cgroup2") != 0)
			continue;
		size_t rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (rl && (strncmp(path, root, rl) != 0 || (path[rl] && path[rl] != '/')))
			continue;
		if ((size_t)snprintf(out, size, "%s%s", mp, path + rl) >= size)
			continue;
		/* "/sys/fs/cgroup" + "/" */
		size_t ol = strlen(out);
		if (ol > 1 && out[ol - 1] == '/')
			out[ol - 1] = '\0';
		found = 1;
	}
	fclose(f);
	return found ? 0 : -1;
}

/* In v2 directory dir, are memory and pids enabled for its children, or can
 * they be? */
static int v2_usable(const char *dir, char *why, size_t whylen)
{
	char path[PATH_MAX + 32], have[512];
	snprintf(path, sizeof(path), "%s/cgroup.controllers", dir);
	if (read_line(path, have, sizeof(have)) < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return 0;
	}
	if (!has_word(have, "memory") || !has_word(have, "pids")) {
		snprintf(why, whylen, "cgroup v2 at %s offers '%s', not memory and pids", dir, have);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/cgroup.subtree_control", dir);
	if (read_line(path, have, sizeof(have)) == 0 && has_word(have, "memory") && has_word(have, "pids"))
		return 1;
	if (write_text(path, "+memory +pids") < 0) {
		snprintf(why, whylen, "cannot enable memory and pids in %s: %s", path, strerror(errno));
		return 0;
	}
	return 1;
}

/* Where the cgroup2 file system is mounted (the top of the hierarchy). */
static int v2_top(char *out, size_t size)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	int found = 0;
	while (f && !found && fgets(line, sizeof(line), f)) {
		char mp[PATH_MAX], fstype[64];
		const char *dash = strstr(line, " - ");
		if (dash && sscanf(line, "%*s %*s %*s %*s %4095s", mp) == 1 &&
		    sscanf(dash + 3, "%63s", fstype) == 1 && strcmp(fstype, "cgroup2") == 0)
			found = (size_t)snprintf(out, size, "%s", mp) < size;
	}
	if (f)
		fclose(f);
	return found ? 0 : -1;
}

/* The cgroups of runs whose llm-eval was killed before it could remove
 * them (kill -9): empty, as their processes died with it. */
static void remove_stale(const char *base)
{
	DIR *d = opendir(base);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		int pid;
		unsigned n;
		char path[PATH_MAX + 300];
		if (sscanf(e->d_name, "llm-eval-sandbox-%d-%u", &pid, &n) != 2 || pid <= 0 ||
		    (kill((pid_t)pid, 0) == 0 || errno != ESRCH))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", base, e->d_name) < (int)sizeof(path))
			rmdir(path);
	}
	if (d)
		closedir(d);
}

static void probe(void)
{
	char dir[PATH_MAX], top[PATH_MAX], why[PATH_MAX + 100] = "", why2[PATH_MAX + 100] = "";
	if (own_dir(NULL, dir, sizeof(dir)) == 0) {
		/* Delegated: our own cgroup, its children ours to make. */
		if (access(dir, W_OK) < 0)
			snprintf(why, sizeof(why), "cgroup v2 at %s: %s", dir, strerror(errno));
		else if (v2_usable(dir, why, sizeof(why))) {
			cg_mode = CG_V2;
			snprintf(cg_base[0], sizeof(cg_base[0]), "%s", dir);
		} else if (geteuid() == 0 && v2_top(top, sizeof(top)) == 0 && strcmp(top, dir) != 0 &&
			   v2_usable(top, why2, sizeof(why2))) {
			/* As root: at the top of the hierarchy. */
			cg_mode = CG_V2;
			snprintf(cg_base[0], sizeof(cg_base[0]), "%s", top);
		}
	} else {
		snprintf(why, sizeof(why), "no cgroup2 file system");
	}
	if (cg_mode == CG_NONE && own_dir("memory", dir, sizeof(dir)) == 0) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof(path), "%s/memory.limit_in_bytes", dir);
		if (access(dir, W_OK) == 0 && access(path, W_OK) == 0) {
			cg_mode = CG_V1;
			snprintf(cg_base[0], sizeof(cg_base[0]), "%s", dir);
			if (own_dir("pids", dir, sizeof(dir)) == 0 && access(dir, W_OK) == 0)
				snprintf(cg_base[1], sizeof(cg_base[1]), "%s", dir);
		} else {
			snprintf(why2, sizeof(why2), "cgroup v1 memory at %s: %s", dir, strerror(EACCES));
		}
	}
	for (int i = 0; i < 2; i++)
		if (cg_base[i][0])
			remove_stale(cg_base[i]);
	if (cg_mode == CG_V2)
		snprintf(cg_desc, sizeof(cg_desc), "v2, under %s (memory, pids)", cg_base[0]);
	else if (cg_mode == CG_V1)
		snprintf(cg_desc, sizeof(cg_desc), "v1, under %s%s%s", cg_base[0], cg_base[1][0] ? " and " : "",
			 cg_base[1][0] ? cg_base[1] : " (no pids controller)");
	else if (!why[0] && !why2[0])
		snprintf(cg_desc, sizeof(cg_desc), "no cgroup with the memory controller");
	else
		snprintf(cg_desc, sizeof(cg_desc), "%.*s%s%.*s", PATH_MAX, why,
			 why[0] && why2[0] ? "; " : "", PATH_MAX, why2);
}

int lle_sb_cgroup_available(const char **desc)
{
	pthread_once(&cg_once, probe);
	if (desc)
		*desc = cg_desc;
	return cg_mode != CG_NONE;
}

static int set_file(const char *dir, const char *name, const char *value, int optional)
{
	char path[PATH_MAX + 64];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (write_text(path, value) == 0 || (optional && errno == ENOENT))
		return 0;
	return -1;
}

int lle_sb_cgroup_create(struct lle_sb_cgroup *cg, unsigned long long mem_bytes, unsigned pids,
			 struct lle_err *err)
{
	memset(cg, 0, sizeof(*cg));
	if (!lle_sb_cgroup_available(NULL))
		return 0;
	pthread_mutex_lock(&cg_lock);
	unsigned n = cg_counter++;
	pthread_mutex_unlock(&cg_lock);
	cg->v2 = cg_mode == CG_V2;
	char mem[32], np[32];
	snprintf(mem, sizeof(mem), "%llu", mem_bytes);
	snprintf(np, sizeof(np), "%u", pids);
	for (int i = 0; i < 2; i++) {
		if (!cg_base[i][0])
			continue;
		if ((size_t)snprintf(cg->dir[i], sizeof(cg->dir[i]), "%s/llm-eval-sandbox-%d-%u", cg_base[i],
				     (int)getpid(), n) >= sizeof(cg->dir[i]) ||
		    (size_t)snprintf(cg->procs[i], sizeof(cg->procs[i]), "%s/cgroup.procs", cg->dir[i]) >=
			    sizeof(cg->procs[i])) {
			errno = ENAMETOOLONG;
			goto fail;
		}
		if (mkdir(cg->dir[i], 0755) < 0) {
			cg->dir[i][0] = '\0';
			goto fail;
		}
	}
	int rc;
	if (cg->v2)
		rc = set_file(cg->dir[0], "memory.max", mem, 0) | set_file(cg->dir[0], "memory.swap.max", "0", 1) |
		     set_file(cg->dir[0], "pids.max", np, 0);
	else
		/* memsw (memory and swap together) only after the limit it may not be below. */
		rc = set_file(cg->dir[0], "memory.limit_in_bytes", mem, 0) |
		     set_file(cg->dir[0], "memory.memsw.limit_in_bytes", mem, 1) |
		     (cg->dir[1][0] ? set_file(cg->dir[1], "pids.max", np, 0) : 0);
	if (rc == 0)
		return 0;
fail:;
	int e = errno;
	char where[PATH_MAX];
	snprintf(where, sizeof(where), "%s", cg->dir[0][0] ? cg->dir[0] : cg_base[0]);
	lle_sb_cgroup_destroy(cg);
	return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot set up the cgroup '%s': %s", where,
			   strerror(e));
}

unsigned long lle_sb_cgroup_oom_kills(const struct lle_sb_cgroup *cg)
{
	if (!cg->dir[0][0])
		return 0;
	char path[PATH_MAX + 32], line[128];
	snprintf(path, sizeof(path), "%s/%s", cg->dir[0], cg->v2 ? "memory.events" : "memory.oom_control");
	FILE *f = fopen(path, "re");
	unsigned long n = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "oom_kill %lu", &n) == 1)
			break;
	if (f)
		fclose(f);
	return n;
}

/* SIGKILL every process listed in a cgroup.procs; how many there were. */
static int kill_listed(const char *procs)
{
	FILE *f = fopen(procs, "re");
	if (!f)
		return 0;
	int n = 0;
	long pid;
	while (fscanf(f, "%ld", &pid) == 1) {
		if (pid > 0)
			kill((pid_t)pid, SIGKILL);
		n++;
	}
	fclose(f);
	return n;
}

void lle_sb_cgroup_destroy(struct lle_sb_cgroup *cg)
{
	for (int i = 0; i < 2; i++) {
		if (!cg->dir[i][0])
			continue;
		/* Normally empty: the init, pid 1 of its namespace, has been reaped.
		 * Without a PID namespace, whatever the program left goes here. */
		for (int k = 0; k < 200; k++) {
			if (rmdir(cg->dir[i]) == 0 || errno != EBUSY)
				break;
			if (cg->v2)
				set_file(cg->dir[i], "cgroup.kill", "1", 1);
			kill_listed(cg->procs[i]);
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
		cg->dir[i][0] = '\0';
	}
}
