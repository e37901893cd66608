/* Shared between the files of src/sandbox/ only: the steps of starting a
 * sandbox (sandbox.c), used by one run (lle_sandbox_run) and by a
 * long-lived worker (proc.c). */
#ifndef LLE_SANDBOX_SANDBOX_INT_H
#define LLE_SANDBOX_SANDBOX_INT_H

#include <limits.h>
#include <sys/types.h>

#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/sandbox.h"

struct lle_sb_start {
	struct lle_sb_child c;
	struct lle_sb_cgroup cg;
	char workdir[PATH_MAX];
	int own_workdir;
	char tmpfs_opts[96];
	char **env, **argv_copy, **ro_copy;
	char *path_copy;
	const char *path;
	int status[2], sync[2], out[2], errp[2];
	const char *helper;      /* the helper started the init (pid is the helper's) */
	pid_t pid;
	double t0, timeout;
	size_t out_cap, err_cap;
};

/* Check the protections (refused, or one warning, per o->allow_weak),
 * build the children's configuration, the cgroup and the pipes. io_fd >= 0:
 * the program's stdin and stdout are io_fd and its stderr err_fd (no output
 * pipes). -1 with err set; call lle_sb_release either way. */
int lle_sb_prepare(const struct lle_sandbox_opts *o, const struct lle_sandbox_job *job, int io_fd, int err_fd,
		   struct lle_sb_start *s, struct lle_err *err);
/* Start the init (or the helper), let it go: 0 with s->pid, or -1 with err
 * set and nothing left running. */
int lle_sb_launch(struct lle_sb_start *s, struct lle_err *err);
/* Close, remove and free what prepare made (not the process: reap it first). */
void lle_sb_release(struct lle_sb_start *s);

/* helper.c: the helper's path, or NULL to clone the init from this process
 * (LLM_EVAL_SANDBOX_INIT: a path, always that helper; "none", never one;
 * unset, the installed helper when this process is large). */
const char *lle_sb_helper_path(void);
/* Start the helper with c's configuration (descriptors 3..6); its pid, or
 * -1 with err set. */
pid_t lle_sb_spawn_helper(const char *path, const struct lle_sb_child *c, struct lle_err *err);

#endif
