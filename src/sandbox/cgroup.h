/* The sandbox's cgroup: one per run, bounding the memory of all its
 * processes together (memfd and tmpfs pages included, which RLIMIT_AS does
 * not see, and N processes, which RLIMIT_AS multiplies by N) and their
 * number. Parent side only (sandbox.c); the init's pid is written into it by
 * whoever clones the init (lle_sb_cgroup_enter in child.c, also used by the
 * helper).
 *
 * Where: cgroup v2 with the memory and pids controllers, in llm-eval's own
 * cgroup when it is delegated (the controllers are or can be enabled for its
 * children), else, as root, at the top of the v2 hierarchy; else cgroup v1's
 * memory (and pids, when mounted) hierarchies, in llm-eval's own cgroups
 * there. Probed once; when none can be used, runs go without one and
 * `llm-eval sandbox --check` says why.
 *
 * Not here: the limits of each process (RLIMIT_*, child.c). */
#ifndef LLE_SANDBOX_CGROUP_H
#define LLE_SANDBOX_CGROUP_H

#include <limits.h>
#include <sys/types.h>

#include "util/err.h"

struct lle_sb_cgroup {
	char dir[2][PATH_MAX];   /* the run's cgroup directories (v1: memory, pids); "" when none */
	char procs[2][PATH_MAX]; /* their cgroup.procs */
	int v2;
};

/* Whether runs get a cgroup; desc says where ("v2, under /sys/fs/cgroup/...")
 * or why not. Probed on the first call. */
int lle_sb_cgroup_available(const char **desc);

/* Make this run's cgroup: total memory (and no swap) at most mem_bytes, at
 * most pids processes. 0 with cg filled (cg->dir[0][0] == '\0' when cgroups
 * are unavailable: nothing to do), or -1 with err set. */
int lle_sb_cgroup_create(struct lle_sb_cgroup *cg, unsigned long long mem_bytes, unsigned pids,
			 struct lle_err *err);

/* How many processes the kernel's OOM killer killed in it (0 when unknown). */
unsigned long lle_sb_cgroup_oom_kills(const struct lle_sb_cgroup *cg);

/* Kill whatever is left in it, and remove it. */
void lle_sb_cgroup_destroy(struct lle_sb_cgroup *cg);

#endif
