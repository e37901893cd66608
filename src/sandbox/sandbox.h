/* The sandbox: run an untrusted program (model-written code) locked away from
 * the network and the host, and a pool that runs many at once.
 *
 * One run forks a child into new user, PID, network, mount, IPC and UTS
 * namespaces where the kernel allows them. That child is pid 1 of its PID
 * namespace: it builds a file system of its own (a read-only root holding
 * only the interpreter's files, a fresh tmpfs on /tmp, the program's working
 * directory, its own /dev and /proc), then starts the program as its only
 * child and waits. The program runs
 * with resource limits, a seccomp filter, no capabilities, no_new_privs, an
 * empty environment and no inherited descriptors. When the program ends, or
 * the wall-clock timeout kills pid 1, the kernel kills everything left in the
 * namespace. See docs/sandbox.md for what this protects against and what not.
 *
 * Where the system allows it, each run also gets a cgroup bounding the
 * memory and the number of its processes together (cgroup.h).
 *
 * What it does not do: interpret the program's output (src/tasks/code_exec.c
 * does that for Python). */
#ifndef LLE_SANDBOX_SANDBOX_H
#define LLE_SANDBOX_SANDBOX_H

#include <stddef.h>

#include "util/err.h"

struct lle_sandbox_opts {
	double timeout_s;        /* wall clock; 0: 10 s */
	unsigned cpu_s;          /* RLIMIT_CPU; 0: the timeout rounded up, plus 1 */
	unsigned memory_mb;      /* RLIMIT_AS of each process; 0: 1024 */
	unsigned fsize_mb;       /* RLIMIT_FSIZE and the size of /tmp; 0: 64 */
	unsigned nproc;          /* RLIMIT_NPROC (processes of the sandbox's user); 0: 64 */
	unsigned nofile;         /* RLIMIT_NOFILE; 0: 256 */
	size_t out_cap;          /* bytes of stdout kept (past it, the first and the last
	                            half, with a marker between); 0: 1 MiB */
	size_t err_cap;          /* likewise for stderr; 0: 64 KiB */
	const char *path;        /* PATH inside; NULL: /usr/local/bin:/usr/bin:/bin */
	const char *const *env;  /* extra "NAME=value" strings, NULL-terminated, or NULL */
	int allow_weak;          /* run even when a protection is missing (says so once) */
	/* For a long-lived worker (lle_sandbox_spawn): */
	const char *const *ro_paths; /* host paths shown read-only at the same paths (the
	                            worker's files), NULL-terminated, or NULL */
	int allow_network;       /* the host's network: no network namespace, sockets of
	                            every family */
	const char *who;         /* with allow_weak: the one warning about a missing
	                            protection reads "WHO runs without a ..." */
};

/* A file written into the sandbox's working directory before the program starts. */
struct lle_sandbox_file {
	const char *name;        /* a plain name: no '/' */
	const char *data;
	size_t len;
};

struct lle_sandbox_job {
	const char *const *argv; /* argv[0] is looked up in the sandbox's PATH unless it has a '/' */
	const char *input;       /* stdin; NULL: /dev/null */
	size_t input_len;
	const struct lle_sandbox_file *files;
	size_t nfiles;
	const char *fd3;         /* bytes the program can read once on its descriptor 3 (a
	                            memfd; code_exec's per-program secret); NULL: 3 is closed */
	size_t fd3_len;
};

enum lle_sandbox_end {
	LLE_SANDBOX_EXITED = 0,  /* exited with exit_code */
	LLE_SANDBOX_SIGNALED,    /* killed by signal (SIGXCPU/SIGKILL: the CPU limit) */
	LLE_SANDBOX_TIMEOUT,     /* the wall-clock timeout killed it */
};

struct lle_sandbox_result {
	enum lle_sandbox_end end;
	int exit_code;           /* LLE_SANDBOX_EXITED */
	int signal;              /* LLE_SANDBOX_SIGNALED */
	char *out;               /* captured stdout, NUL-terminated, malloc()ed (never NULL) */
	size_t out_len;
	int out_truncated;       /* more than out_cap bytes were written (the middle dropped) */
	char *err;               /* captured stderr, likewise */
	size_t err_len;
	int err_truncated;
	double wall_s;           /* from start to the end of the program */
	const char *weak;        /* protections missing in this run ("" when none); static */
	int helper;              /* the init was started by llm-eval-sandbox-init, not forked
	                            from this process (see LLM_EVAL_SANDBOX_INIT) */
};

/* Run one program. The sandbox's init is forked from this process, or, when
 * this process holds much memory (whose page tables a fork copies), started
 * by the helper executable llm-eval-sandbox-init found beside the engine.
 * LLM_EVAL_SANDBOX_INIT=PATH always uses that helper, =none never one.
 * Returns 0 with *r filled (free with lle_sandbox_result_free)
 * whatever the program did, or -1 with err set when the program could not be
 * started: a protection is missing and allow_weak is not set
 * (LLE_EXIT_CONFIG), the program is not found (LLE_EXIT_CONFIG), or the
 * sandbox failed to set up (LLE_EXIT_INTERNAL). Safe to call from several
 * threads at once. */
int lle_sandbox_run(const struct lle_sandbox_opts *o, const struct lle_sandbox_job *job,
		    struct lle_sandbox_result *r, struct lle_err *err);
void lle_sandbox_result_free(struct lle_sandbox_result *r);

/* Called once per job as it completes, from a worker thread, never two at
 * once. r is NULL and err set when the job could not be run. r is freed when
 * the callback returns. */
typedef void (*lle_sandbox_done_fn)(void *ud, size_t i, const struct lle_sandbox_result *r,
				    const struct lle_err *err);

/* Run n jobs on a pool of `workers` threads (0: lle_sandbox_pool_size(o)),
 * calling done for each. Returns 0 when every job ran (finished its program
 * one way or another), or -1 with err set to the first job's failure to run
 * (the other jobs still run and still reach done). */
int lle_sandbox_run_all(const struct lle_sandbox_opts *o, const struct lle_sandbox_job *jobs,
			size_t n, unsigned workers, lle_sandbox_done_fn done, void *ud,
			struct lle_err *err);

/* How many programs may run at once: the online CPUs, but never more than the
 * available memory divided by the memory limit. At least 1. */
unsigned lle_sandbox_pool_size(const struct lle_sandbox_opts *o);

/* A long-lived program in the sandbox (the Python hook worker): the same
 * isolation as lle_sandbox_run, without the wall-clock timeout (o->timeout_s
 * only sets the default CPU limit) and without input files. Its stdin and
 * stdout are io_fd (a socket of the caller), its stderr err_fd; both stay
 * the caller's. Returns NULL with err set when it could not start (as
 * lle_sandbox_run). Start it from a thread that outlives it: the sandbox
 * ends when the thread that started it ends (PR_SET_PDEATHSIG). */
struct lle_sandbox_proc;
struct lle_sandbox_proc *lle_sandbox_spawn(const struct lle_sandbox_opts *o, const char *const *argv,
					   int io_fd, int err_fd, struct lle_err *err);

/* How it ended. */
struct lle_sandbox_exit {
	enum lle_sandbox_end end;  /* EXITED or SIGNALED */
	int exit_code;
	int signal;
	int oom;                   /* the kernel's OOM killer ended a process of its cgroup */
};

/* Wait for its end (the caller closes its io_fd first, or kill_it kills
 * it), fill *x, and free p. */
void lle_sandbox_proc_end(struct lle_sandbox_proc *p, int kill_it, struct lle_sandbox_exit *x);

/* What this kernel allows, probed once (in short-lived child processes). */
enum lle_sandbox_prot {
	LLE_PROT_USER = 1 << 0,     /* user namespace (as root: or a drop to uid/gid 65534) */
	LLE_PROT_PID = 1 << 1,      /* PID namespace: killing pid 1 kills every process */
	LLE_PROT_NET = 1 << 2,      /* network namespace: no interface but a loopback that is down */
	LLE_PROT_MOUNT = 1 << 3,    /* mount namespace: read-only root, private /tmp, own /proc */
	LLE_PROT_IPC = 1 << 4,      /* IPC namespace: no System V IPC with the host */
	LLE_PROT_UTS = 1 << 5,      /* UTS namespace: own host name */
	LLE_PROT_SECCOMP = 1 << 6,  /* seccomp filter */
	LLE_PROT_ALL = (1 << 7) - 1,
};

struct lle_sandbox_probe {
	unsigned have;              /* enum lle_sandbox_prot bits */
	int root;                   /* running as root */
	int userns;                 /* a user namespace can be created (even as root) */
	char missing[512];          /* "network namespace (clone: Operation not permitted), ..." or "" */
};

/* The probe's answer (computed on the first call, then cached). */
const struct lle_sandbox_probe *lle_sandbox_probe(void);
/* Whether each run gets a cgroup bounding the memory (memfd and tmpfs pages
 * included) and the number of all its processes together; desc says where
 * or why not. Not counted among the protections above: without one, runs go
 * on with the per-process limits. */
int lle_sandbox_cgroup(const char **desc);
/* Name of one protection bit: "user namespace", ... */
const char *lle_sandbox_prot_name(unsigned bit);

#endif
