/* The sandbox's child side: what runs between the clone and the program's
 * execve, shared by the engine (src/sandbox/sandbox.c) and the small helper
 * executable llm-eval-sandbox-init (src/sandbox/init/main.c), and the
 * configuration the engine hands to that helper.
 *
 * Everything here that runs in a child uses system calls only (no malloc, no
 * stdio, no locks): the engine may clone from a multi-threaded process. The
 * configuration functions are for the parent and the helper, which may
 * allocate. Depends on libc only, so the helper links nothing else. */
#ifndef LLE_SANDBOX_CHILD_H
#define LLE_SANDBOX_CHILD_H

#include <linux/filter.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "sandbox/sandbox.h"

/* The uid and gid the program runs as when llm-eval runs as root ("nobody"). */
#define LLE_SB_NOBODY 65534

/* The most host paths a sandbox shows besides the interpreter's files. */
#define LLE_SB_MAX_RO 64

/* Messages from the children to the parent: one pipe, fixed size. */
enum lle_sb_msg_kind { LLE_SB_START = 1, LLE_SB_EXIT, LLE_SB_SETUP, LLE_SB_EXEC, LLE_SB_WEAK, LLE_SB_BIND };

struct lle_sb_msg {
	int kind;
	int a;  /* START: program pid; EXIT: wait status; SETUP/WEAK: step; BIND: which ro_paths */
	int b;  /* errno */
};

enum lle_sb_step {
	ST_FDS, ST_IDS, ST_PRIVATE, ST_ROOT_RO, ST_TMP, ST_DEV, ST_HIDE, ST_PROC,
	ST_CHDIR, ST_FILES, ST_STDIN, ST_CLONE, ST_LIMITS, ST_CAPS, ST_NNP, ST_SECCOMP,
	ST_MAPS, ST_CONFIG, ST_CGROUP, ST_BIND,
	ST_NSTEP
};
extern const char *const lle_sb_step_names[ST_NSTEP];

/* What the children need, all built before the clone. */
struct lle_sb_child {
	unsigned long nsflags;      /* the namespaces cloned */
	int set_ids;                /* init takes uid/gid inside its user namespace */
	int drop_to_nobody;         /* root without a user namespace: the program setuid()s */
	int root;
	uid_t uid, outer_uid;       /* inside the user namespace, and what it maps to */
	gid_t gid, outer_gid;
	int allow_weak;
	pid_t parent_pid;           /* who spawned the helper (the helper checks it is still there) */
	const char *workdir;        /* "/tmp", or a host directory without a mount namespace */
	const char *tmpfs_opts;
	char *const *argv;
	char *const *envp;
	const char *path;           /* PATH, for the lookup of argv[0] */
	const struct lle_sandbox_job *job;
	char *const *ro_paths;      /* host paths shown read-only at the same path (a long-lived
	                               worker's files), NULL-terminated, or NULL; at most
	                               LLE_SB_MAX_RO, none under another or under a system path */
	int in_from_out;            /* the program's stdin is its stdout (a socket: a long-lived
	                               worker talking to its caller) */
	struct rlimit lim_cpu, lim_as, lim_fsize, lim_nproc, lim_nofile, lim_core;
	const struct sock_fprog *prog;
	const char *cg_procs[2];    /* cgroup.procs files of the run's cgroup (cgroup.h), or "" */
	/* descriptors, in the numbering of whoever clones the init */
	int status_w, sync_r, out_w, err_w;
};

/* clone(flags | SIGCHLD) through the raw system call: fork without the C
 * library's fork handlers (which may take locks another thread held). */
pid_t lle_sb_raw_clone(unsigned long flags);
int lle_sb_write_all(int fd, const void *p, size_t n);
void lle_sb_send_msg(int fd, int kind, int a, int b);
/* Write the init's uid_map, setgroups and gid_map; -1 with errno on failure. */
int lle_sb_write_maps(pid_t pid, const struct lle_sb_child *c);
/* Move the init into the run's cgroup (before it is let go); -1 with errno. */
int lle_sb_cgroup_enter(const struct lle_sb_child *c, pid_t pid);
/* The init: pid 1 of the new namespaces. Never returns. */
__attribute__((noreturn)) void lle_sb_init_main(const struct lle_sb_child *c);

/* The configuration, as bytes: the engine writes it to a memfd the helper
 * reads. lle_sb_config_encode returns a malloc()ed buffer (NULL on failure);
 * lle_sb_config_decode fills c from buf, pointing into buf and into arrays it
 * allocates (kept until exit: the helper is short-lived); -1 when malformed. */
void *lle_sb_config_encode(const struct lle_sb_child *c, size_t *len);
int lle_sb_config_decode(void *buf, size_t len, struct lle_sb_child *c);

#endif
