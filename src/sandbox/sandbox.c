/* The sandbox: see sandbox.h for the interface and docs/sandbox.md for the
 * protections. This file is the parent's side, the probe and the pool; the
 * children's code is child.c.
 *
 * Three processes take part in one run (four through the helper):
 *
 *   parent   the caller (possibly one of many threads). It clones the
 *            "init" child into the new namespaces, writes its uid/gid maps,
 *            lets it go, reads its output and status, and kills it at the
 *            wall-clock deadline. A large caller instead spawns the helper
 *            llm-eval-sandbox-init (src/sandbox/init/main.c), which does the
 *            cloning, the maps and the waiting, so that the init is a fork
 *            of a small process (a fork copies page tables).
 *   init     pid 1 of the new PID namespace. It takes the sandbox's user
 *            ids, builds the mount view (an allow-list root: the
 *            interpreter's files read-only, tmpfs /tmp, own /dev and
 *            /proc; child.c), writes the input
 *            files, starts the program and waits for it. When it exits, the
 *            kernel kills every process left in the namespace.
 *   program  drops every capability and privilege, sets the resource
 *            limits, loads the seccomp filter and execs the program.
 *
 * The caller may have other threads, so the init is made with the raw clone
 * system call and the program with vfork, and both use system calls only
 * until execve: no malloc, no stdio, no locks (another thread may have held
 * them at the clone), and raw setresuid/setgroups (the C library's wrappers
 * would signal and wait for the parent's other threads, which the child does
 * not have). All strings they need are built by the parent before the clone.
 * Likewise the seccomp filter is compiled once by libseccomp in the parent
 * and only loaded, with prctl, in the program child.
 *
 * What this file does not do: interpret the program's output (code_exec.c),
 * the run's cgroup (cgroup.c), the pool (pool.c), finding and spawning the
 * helper (helper.c), a long-lived program (proc.c). */
#include "sandbox/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/cgroup.h"
#include "sandbox/child.h"
#include "sandbox/sandbox_int.h"
#include "util/buf.h"
#include "util/path.h"
#include "util/diag.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* ---- the seccomp filter, compiled once ---- */

/* [0] the default; [1] for a program allowed the network (sockets of
 * every family) */
static pthread_once_t filter_once[2] = { PTHREAD_ONCE_INIT, PTHREAD_ONCE_INIT };
static struct sock_fprog filter_prog[2];
static char filter_error[2][256];

/* System calls a test program never needs. Names the running libseccomp does
 * not know on this architecture are skipped. */
static const char *const denied_syscalls[] = {
	"ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
	"mount", "umount", "umount2", "pivot_root", "chroot", "move_mount", "open_tree",
	"fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr",
	"unshare", "setns", "setsid", "setpgid",
	"kexec_load", "kexec_file_load", "reboot", "swapon", "swapoff",
	"init_module", "finit_module", "delete_module",
	"bpf", "perf_event_open", "userfaultfd", "fanotify_init",
	"keyctl", "add_key", "request_key",
	"acct", "quotactl", "syslog", "vhangup", "lookup_dcookie",
	"settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "sethostname", "setdomainname",
	"iopl", "ioperm", "open_by_handle_at", "name_to_handle_at",
	"io_uring_setup", "io_uring_enter", "io_uring_register",
	"mbind", "migrate_pages", "move_pages", "set_mempolicy",
	"nfsservctl", "personality", "uselib", "ustat", "sysfs", "_sysctl",
};

/* One rule on one argument (the SCMP_A0 macros leave a field unset, which
 * clang warns about). */
static int rule1(scmp_filter_ctx ctx, uint32_t action, int nr, unsigned arg, enum scmp_compare op,
		 uint64_t a, uint64_t b)
{
	struct scmp_arg_cmp cmp = { .arg = arg, .op = op, .datum_a = a, .datum_b = b };
	return seccomp_rule_add_array(ctx, action, nr, 1, &cmp);
}

static void build_filter(int net)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int memfd = -1, rc;
	if (!ctx) {
		snprintf(filter_error[net], sizeof(filter_error[net]), "seccomp_init failed");
		return;
	}
	/* We set no_new_privs ourselves, just before loading. */
	seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
	const uint32_t deny = SCMP_ACT_ERRNO(EPERM);
	for (size_t i = 0; i < sizeof(denied_syscalls) / sizeof(denied_syscalls[0]); i++) {
		int nr = seccomp_syscall_resolve_name(denied_syscalls[i]);
		if (nr == __NR_SCMP_ERROR)
			continue;
		if ((rc = seccomp_rule_add(ctx, deny, nr, 0)) < 0 && rc != -EDOM)
			goto fail;
	}
	/* Sockets: only AF_UNIX (Python's own machinery uses it; it reaches
	 * nothing outside the namespace's file view). */
	if (!net && ((rc = rule1(ctx, deny, SCMP_SYS(socket), 0, SCMP_CMP_NE, AF_UNIX, 0)) < 0 ||
	    (rc = rule1(ctx, deny, SCMP_SYS(socketpair), 0, SCMP_CMP_NE, AF_UNIX, 0)) < 0))
		goto fail;
	/* clone with any namespace flag; clone3 hides its flags in memory, so it
	 * says "not implemented" and the C library falls back to clone. */
	static const unsigned long nsflags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWPID,
		CLONE_NEWNET, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP };
	for (size_t i = 0; i < sizeof(nsflags) / sizeof(nsflags[0]); i++)
		if ((rc = rule1(ctx, deny, SCMP_SYS(clone), 0, SCMP_CMP_MASKED_EQ, nsflags[i],
				nsflags[i])) < 0)
			goto fail;
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0)) < 0 &&
	    rc != -EDOM)
		goto fail;
	/* Pushing characters into a terminal's input. The kernel reads an
	 * ioctl's request as a 32-bit unsigned int (fs/ioctl.c), so a request
	 * with any of the upper 32 bits set is still TIOCSTI there: compare
	 * only the low 32 bits, as the kernel does. */
	if ((rc = rule1(ctx, deny, SCMP_SYS(ioctl), 1, SCMP_CMP_MASKED_EQ, 0xffffffffULL,
			TIOCSTI)) < 0)
		goto fail;

	memfd = (int)syscall(SYS_memfd_create, "lle-seccomp", MFD_CLOEXEC);
	if (memfd < 0) {
		snprintf(filter_error[net], sizeof(filter_error[net]), "memfd_create: %s", strerror(errno));
		goto out;
	}
	if ((rc = seccomp_export_bpf(ctx, memfd)) < 0)
		goto fail;
	off_t size = lseek(memfd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > USHRT_MAX) {
		snprintf(filter_error[net], sizeof(filter_error[net]), "seccomp filter of %lld bytes",
			 (long long)size);
		goto out;
	}
	struct sock_filter *prog = malloc((size_t)size);
	if (!prog) {
		snprintf(filter_error[net], sizeof(filter_error[net]), "out of memory");
		goto out;
	}
	if (pread(memfd, prog, (size_t)size, 0) != (ssize_t)size) {
		free(prog);
		snprintf(filter_error[net], sizeof(filter_error[net]), "cannot read the seccomp filter back");
		goto out;
	}
	filter_prog[net].len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	filter_prog[net].filter = prog; /* kept for the life of the process */
	goto out;
fail:
	snprintf(filter_error[net], sizeof(filter_error[net]), "libseccomp: %s", strerror(-rc));
out:
	if (memfd >= 0)
		close(memfd);
	seccomp_release(ctx);
}

static void build_filter0(void)
{
	build_filter(0);
}

static void build_filter1(void)
{
	build_filter(1);
}

static const struct sock_fprog *get_filter(int net)
{
	pthread_once(&filter_once[net != 0], net ? build_filter1 : build_filter0);
	return filter_prog[net != 0].filter ? &filter_prog[net != 0] : NULL;
}

/* ---- the probe ---- */

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static struct lle_sandbox_probe probe_result;

static const char *const prot_names[] = {
	"user namespace", "PID namespace", "network namespace", "mount namespace",
	"IPC namespace", "UTS namespace", "seccomp filter",
};

const char *lle_sandbox_prot_name(unsigned bit)
{
	for (unsigned i = 0; i < sizeof(prot_names) / sizeof(prot_names[0]); i++)
		if (bit == 1u << i)
			return prot_names[i];
	return "?";
}

/* 0 when a child can be cloned with these flags, else the errno. */
static int try_clone(unsigned long flags)
{
	pid_t pid = lle_sb_raw_clone(flags);
	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno;
	int st;
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	return 0;
}

/* 0 when a child can load the filter, else the errno. */
static int try_seccomp(const struct sock_fprog *prog)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return errno;
	pid_t pid = lle_sb_raw_clone(0);
	if (pid == 0) {
		int e = 0;
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, prog, 0, 0) < 0)
			e = errno;
		/* The filter must refuse an AF_INET socket. */
		if (!e) {
			int s = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
			if (s >= 0)
				e = ENOTSUP;
		}
		lle_sb_write_all(pfd[1], &e, sizeof(e));
		_exit(0);
	}
	int e = pid < 0 ? errno : 0;
	close(pfd[1]);
	if (pid > 0) {
		if (read(pfd[0], &e, sizeof(e)) != (ssize_t)sizeof(e))
			e = ECHILD;
		int st;
		while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
			;
	}
	close(pfd[0]);
	return e;
}

static void add_missing(struct lle_buf *b, unsigned bit, const char *why)
{
	lle_buf_printf(b, "%s%s (%s)", b->n ? ", " : "", lle_sandbox_prot_name(bit), why);
}

static void run_probe(void)
{
	struct lle_sandbox_probe *p = &probe_result;
	struct lle_buf miss = LLE_BUF_INIT;
	p->root = geteuid() == 0;
	int ue = try_clone(CLONE_NEWUSER);
	p->userns = ue == 0;
	if (p->userns || p->root)
		p->have |= LLE_PROT_USER;
	else
		add_missing(&miss, LLE_PROT_USER, strerror(ue));
	static const struct { unsigned bit; unsigned long flag; } ns[] = {
		{ LLE_PROT_PID, CLONE_NEWPID }, { LLE_PROT_NET, CLONE_NEWNET },
		{ LLE_PROT_MOUNT, CLONE_NEWNS }, { LLE_PROT_IPC, CLONE_NEWIPC },
		{ LLE_PROT_UTS, CLONE_NEWUTS },
	};
	/* One clone with every namespace answers for all of them on the
	 * usual system (a few milliseconds each: the hook worker's start pays
	 * them); only when it fails is each tried alone, to say which. */
	unsigned long all = p->userns ? CLONE_NEWUSER : 0;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++)
		all |= ns[i].flag;
	int all_ok = try_clone(all) == 0;
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		int e = all_ok ? 0 : try_clone(ns[i].flag | (p->userns ? CLONE_NEWUSER : 0));
		if (e == 0)
			p->have |= ns[i].bit;
		else
			add_missing(&miss, ns[i].bit, strerror(e));
	}
	const struct sock_fprog *prog = get_filter(0);
	if (!prog) {
		add_missing(&miss, LLE_PROT_SECCOMP, filter_error[0]);
	} else {
		int e = try_seccomp(prog);
		if (e == 0)
			p->have |= LLE_PROT_SECCOMP;
		else
			add_missing(&miss, LLE_PROT_SECCOMP, strerror(e));
	}
	snprintf(p->missing, sizeof(p->missing), "%s", miss.oom ? "(out of memory)" : lle_buf_str(&miss));
	lle_buf_free(&miss);
}

int lle_sandbox_cgroup(const char **desc)
{
	return lle_sb_cgroup_available(desc);
}

const struct lle_sandbox_probe *lle_sandbox_probe(void)
{
	pthread_once(&probe_once, run_probe);
	return &probe_result;
}

/* ---- the parent ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Output of one stream. Past the cap, the first half and the last half are
 * kept: the end of stderr is where a traceback names the exception. */
struct capture {
	int fd;
	struct lle_buf buf;         /* everything, until the cap; then the head */
	struct lle_buf tail;        /* past the cap: the latest bytes, trimmed as it grows */
	size_t cap;
	size_t dropped;
	int truncated;
};

static void capture_add(struct capture *cp, const char *p, size_t n)
{
	if (!cp->truncated && cp->buf.n + n <= cp->cap) {
		lle_buf_add(&cp->buf, p, n);
		return;
	}
	size_t head = cp->cap / 2, tailcap = cp->cap - head;
	if (!cp->truncated) {
		/* Fill the head, and start the tail with the rest. */
		cp->truncated = 1;
		lle_buf_add(&cp->buf, p, n);
		if (cp->buf.oom)
			return;
		lle_buf_add(&cp->tail, cp->buf.p + head, cp->buf.n - head);
		cp->buf.n = head;
		cp->buf.p[head] = '\0';
	} else {
		lle_buf_add(&cp->tail, p, n);
	}
	if (cp->tail.n > 2 * tailcap) {
		size_t cut = cp->tail.n - tailcap;
		memmove(cp->tail.p, cp->tail.p + cut, tailcap);
		cp->tail.n = tailcap;
		cp->tail.p[tailcap] = '\0';
		cp->dropped += cut;
	}
}

/* The kept output: head, a marker, tail. */
static void capture_finish(struct capture *cp)
{
	if (!cp->truncated)
		return;
	size_t tailcap = cp->cap - cp->cap / 2;
	size_t cut = cp->tail.n > tailcap ? cp->tail.n - tailcap : 0;
	lle_buf_printf(&cp->buf, "\n[... %zu bytes dropped ...]\n", cp->dropped + cut);
	lle_buf_add(&cp->buf, cp->tail.p + cut, cp->tail.n - cut);
	lle_buf_free(&cp->tail);
}

/* Read what is there; returns 0, or 1 at end of file. */
static int drain(struct capture *cp)
{
	char chunk[16384];
	ssize_t n = read(cp->fd, chunk, sizeof(chunk));
	if (n < 0)
		return (errno == EINTR || errno == EAGAIN) ? 0 : 1;
	if (n == 0)
		return 1;
	capture_add(cp, chunk, (size_t)n);
	return 0;
}

static pthread_mutex_t warn_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned warned_steps;
static int warned_probe;

static void warn_weak_step(int step, int e)
{
	pthread_mutex_lock(&warn_lock);
	if (!(warned_steps & (1u << step))) {
		warned_steps |= 1u << step;
		lle_warnf("sandbox: cannot %s: %s; running without it (--allow-weak-sandbox)",
			  lle_sb_step_names[step], strerror(e));
	}
	pthread_mutex_unlock(&warn_lock);
}

static char **build_env(const struct lle_sandbox_opts *o, const char *home, const char *path)
{
	size_t nextra = 0;
	if (o->env)
		while (o->env[nextra])
			nextra++;
	char **env = calloc(nextra + 6, sizeof(char *));
	if (!env)
		return NULL;
	struct lle_buf b = LLE_BUF_INIT;
	size_t n = 0;
	lle_buf_printf(&b, "PATH=%s", path);
	env[n++] = lle_buf_detach(&b);
	lle_buf_printf(&b, "HOME=%s", home);
	env[n++] = lle_buf_detach(&b);
	lle_buf_printf(&b, "TMPDIR=%s", home);
	env[n++] = lle_buf_detach(&b);
	env[n++] = lle_strdup("LANG=C.UTF-8");
	env[n++] = lle_strdup("PYTHONDONTWRITEBYTECODE=1");
	for (size_t i = 0; i < nextra; i++)
		env[n++] = lle_strdup(o->env[i]);
	for (size_t i = 0; i < n; i++)
		if (!env[i]) {
			for (size_t j = 0; j < n; j++)
				free(env[j]);
			free(env);
			return NULL;
		}
	return env;
}

/* Never ask for more than the caller's own hard limit: without privilege
 * that would fail, and a limit the caller chose should hold in here too. */
static struct rlimit limit(int resource, rlim_t want)
{
	struct rlimit cur, r = { want, want };
	if (getrlimit(resource, &cur) == 0 && cur.rlim_max != RLIM_INFINITY && cur.rlim_max < want)
		r.rlim_cur = r.rlim_max = cur.rlim_max;
	return r;
}

/* A copy of a NULL-terminated string array (the program's argv: the
 * caller's may point into the memory of its own argv, which the init
 * overwrites). NULL when out of memory. */
static char **copy_strv(const char *const *v)
{
	size_t n = 0;
	while (v[n])
		n++;
	char **c = calloc(n + 1, sizeof(char *));
	if (!c)
		return NULL;
	for (size_t i = 0; i < n; i++)
		if (!(c[i] = lle_strdup(v[i]))) {
			for (size_t j = 0; j < i; j++)
				free(c[j]);
			free(c);
			return NULL;
		}
	return c;
}

static void free_env(char **env)
{
	if (!env)
		return;
	for (size_t i = 0; env[i]; i++)
		free(env[i]);
	free(env);
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Host paths to show read-only (sandbox_int.h): absolute, without
 * trailing '/', none that is the root or /tmp, none under a system path the
 * sandbox shows anyway or under another kept one. NULL with errno set on
 * failure (E2BIG: too many). */
static char **ro_normalize(const char *const *in)
{
	static const char *const sys[] = { "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32" };
	size_t n = 0;
	while (in && in[n])
		n++;
	char **out = calloc(n + 1, sizeof(char *));
	if (!out)
		return NULL;
	/* shortest first, so that an ancestor is kept before what it holds */
	size_t k = 0;
	for (size_t len = 1; len < PATH_MAX; len++) {
		for (size_t i = 0; i < n; i++) {
			size_t l = strlen(in[i]);
			while (l > 1 && in[i][l - 1] == '/')
				l--;
			if (l != len || in[i][0] != '/' || (l == 1) || (l == 4 && !strncmp(in[i], "/tmp", 4)))
				continue;
			int skip = 0;
			for (size_t j = 0; j < sizeof(sys) / sizeof(sys[0]) && !skip; j++) {
				size_t m = strlen(sys[j]);
				skip = l >= m && !strncmp(in[i], sys[j], m) && (l == m || in[i][m] == '/');
			}
			for (size_t j = 0; j < k && !skip; j++) {
				size_t m = strlen(out[j]);
				skip = l >= m && !strncmp(in[i], out[j], m) && (l == m || in[i][m] == '/');
			}
			if (skip)
				continue;
			if (k == LLE_SB_MAX_RO || !(out[k] = lle_strndup(in[i], l))) {
				int e = k == LLE_SB_MAX_RO ? E2BIG : ENOMEM;
				free_env(out);
				errno = e;
				return NULL;
			}
			k++;
		}
		if (k == n)
			break;
	}
	return out;
}

static pthread_mutex_t warn_who_lock = PTHREAD_MUTEX_INITIALIZER;
static int warned_who;

int lle_sb_prepare(const struct lle_sandbox_opts *o, const struct lle_sandbox_job *job, int io_fd, int err_fd,
		   struct lle_sb_start *s, struct lle_err *err)
{
	memset(s, 0, sizeof(*s));
	s->status[0] = s->status[1] = s->sync[0] = s->sync[1] = -1;
	s->out[0] = s->out[1] = s->errp[0] = s->errp[1] = -1;
	s->pid = -1;
	const struct lle_sandbox_probe *p = lle_sandbox_probe();
	if (p->missing[0]) {
		if (!o->allow_weak)
			return lle_err_set(err, LLE_EXIT_CONFIG,
					   "sandbox: this system does not allow a %s; model-written "
					   "code would run without that protection (pass "
					   "--allow-weak-sandbox to run it anyway)", p->missing);
		pthread_mutex_t *lk = o->who ? &warn_who_lock : &warn_lock;
		int *flag = o->who ? &warned_who : &warned_probe;
		pthread_mutex_lock(lk);
		if (!*flag) {
			*flag = 1;
			if (o->who)
				lle_warnf("%s runs without a %s", o->who, p->missing);
			else
				lle_warnf("sandbox: running without a %s (--allow-weak-sandbox)", p->missing);
		}
		pthread_mutex_unlock(lk);
	}

	s->timeout = o->timeout_s > 0 ? o->timeout_s : 10.0;
	unsigned mem = o->memory_mb ? o->memory_mb : 1024;
	unsigned fsize = o->fsize_mb ? o->fsize_mb : 64;
	s->out_cap = o->out_cap ? o->out_cap : (size_t)1 << 20;
	s->err_cap = o->err_cap ? o->err_cap : (size_t)64 << 10;
	s->path = o->path ? o->path : "/usr/local/bin:/usr/bin:/bin";

	struct lle_sb_child *c = &s->c;
	c->root = p->root;
	c->allow_weak = o->allow_weak;
	c->parent_pid = getpid();
	c->job = job;
	if (p->have & LLE_PROT_PID)
		c->nsflags |= CLONE_NEWPID;
	if ((p->have & LLE_PROT_NET) && !o->allow_network)
		c->nsflags |= CLONE_NEWNET;
	if (p->have & LLE_PROT_MOUNT)
		c->nsflags |= CLONE_NEWNS;
	if (p->have & LLE_PROT_IPC)
		c->nsflags |= CLONE_NEWIPC;
	if (p->have & LLE_PROT_UTS)
		c->nsflags |= CLONE_NEWUTS;
	if (p->userns) {
		c->nsflags |= CLONE_NEWUSER;
		c->set_ids = 1;
		c->uid = c->outer_uid = p->root ? LLE_SB_NOBODY : geteuid();
		c->gid = c->outer_gid = p->root ? LLE_SB_NOBODY : getegid();
	} else if (p->root) {
		c->drop_to_nobody = 1;
	}
	c->prog = (p->have & LLE_PROT_SECCOMP) ? get_filter(o->allow_network) : NULL;
	unsigned cpu = o->cpu_s ? o->cpu_s : (unsigned)s->timeout + 2;
	/* The soft CPU limit sends SIGXCPU, the hard one a second later SIGKILL. */
	c->lim_cpu = limit(RLIMIT_CPU, (rlim_t)cpu + 1);
	if (c->lim_cpu.rlim_cur > cpu)
		c->lim_cpu.rlim_cur = cpu;
	c->lim_as = limit(RLIMIT_AS, (rlim_t)mem << 20);
	c->lim_fsize = limit(RLIMIT_FSIZE, (rlim_t)fsize << 20);
	c->lim_nproc = limit(RLIMIT_NPROC, o->nproc ? o->nproc : 64);
	c->lim_nofile = limit(RLIMIT_NOFILE, o->nofile ? o->nofile : 256);
	c->lim_core = (struct rlimit){ 0, 0 };
	snprintf(s->tmpfs_opts, sizeof(s->tmpfs_opts), "size=%um,nr_inodes=%u,mode=1777", fsize,
		 o->ro_paths ? 65536u : 4096u);
	c->tmpfs_opts = s->tmpfs_opts;

	/* Without a mount namespace the working directory is a fresh host
	 * directory, removed afterwards. */
	snprintf(s->workdir, sizeof(s->workdir), "/tmp");
	if (!(c->nsflags & CLONE_NEWNS)) {
		const char *t = getenv("TMPDIR");
		snprintf(s->workdir, sizeof(s->workdir), "%s/lle-sandbox.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(s->workdir))
			return lle_err_set(err, LLE_EXIT_IO, "sandbox: cannot create a directory in '%s': %s",
					   t && *t ? t : "/tmp", strerror(errno));
		s->own_workdir = 1;
		if (c->drop_to_nobody && chown(s->workdir, LLE_SB_NOBODY, LLE_SB_NOBODY) < 0) {
			int e = errno;
			rmdir(s->workdir);
			s->own_workdir = 0;
			return lle_err_set(err, LLE_EXIT_IO, "sandbox: cannot give '%s' to uid %d: %s",
					   s->workdir, LLE_SB_NOBODY, strerror(e));
		}
	}
	c->workdir = s->workdir;

	s->env = build_env(o, s->workdir, s->path);
	s->argv_copy = copy_strv(job->argv);
	s->path_copy = lle_strdup(s->path);
	if (!s->env || !s->argv_copy || !s->path_copy)
		return lle_err_oom(err);
	if (o->ro_paths && !(s->ro_copy = ro_normalize(o->ro_paths))) {
		if (errno == E2BIG)
			return lle_err_set(err, LLE_EXIT_CONFIG, "sandbox: more than %d directories to show",
					   LLE_SB_MAX_RO);
		return lle_err_oom(err);
	}
	c->ro_paths = s->ro_copy;
	c->envp = s->env;
	c->argv = s->argv_copy;
	c->path = s->path_copy;
	/* The memory of all the sandbox's processes together, and their
	 * number: a cgroup where the system allows one (cgroup.h). */
	if (lle_sb_cgroup_create(&s->cg, (unsigned long long)mem << 20, o->nproc ? o->nproc : 64, err) < 0)
		return -1;
	c->cg_procs[0] = s->cg.procs[0];
	c->cg_procs[1] = s->cg.procs[1];
	if (pipe2(s->status, O_CLOEXEC) < 0)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: pipe: %s", strerror(errno));
	if (io_fd >= 0) {
		/* a long-lived program: its stdin and stdout are the caller's socket */
		c->in_from_out = 1;
		c->out_w = io_fd;
		c->err_w = err_fd;
	} else {
		if (pipe2(s->out, O_CLOEXEC) < 0 || pipe2(s->errp, O_CLOEXEC) < 0)
			return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: pipe: %s", strerror(errno));
		/* The program reopens its pipes through /dev/stdout (/proc/self/fd/1):
		 * they must be its own, not root's. */
		if (p->root && (fchown(s->out[1], LLE_SB_NOBODY, LLE_SB_NOBODY) < 0 ||
				fchown(s->errp[1], LLE_SB_NOBODY, LLE_SB_NOBODY) < 0))
			return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot give the output pipes to "
					   "uid %d: %s", LLE_SB_NOBODY, strerror(errno));
		c->out_w = s->out[1];
		c->err_w = s->errp[1];
	}
	c->status_w = s->status[1];
	return 0;
}

int lle_sb_launch(struct lle_sb_start *s, struct lle_err *err)
{
	struct lle_sb_child *c = &s->c;
	s->t0 = now_s();
	s->helper = lle_sb_helper_path();
	if (s->helper) {
		s->pid = lle_sb_spawn_helper(s->helper, c, err);
		return s->pid < 0 ? -1 : 0;
	}
	/* No helper: clone the init from this process. sync is a socket so
	 * that telling a dead child to go is EPIPE, not SIGPIPE. */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s->sync) < 0)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: socketpair: %s", strerror(errno));
	c->sync_r = s->sync[0];
	pid_t pid = lle_sb_raw_clone(c->nsflags);
	if (pid == 0)
		lle_sb_init_main(c);
	if (pid < 0)
		return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: clone: %s", strerror(errno));
	close_fd(&s->sync[0]);
	int step = -1;
	if ((c->nsflags & CLONE_NEWUSER) && lle_sb_write_maps(pid, c) < 0)
		step = ST_MAPS;
	else if (lle_sb_cgroup_enter(c, pid) < 0)
		step = ST_CGROUP;
	if (step >= 0)
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot %s: %s", lle_sb_step_names[step],
			    strerror(errno));
	else if (send(s->sync[1], "g", 1, MSG_NOSIGNAL) != 1)
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: the sandbox's init process is gone: %s",
			    strerror(errno));
	else {
		/* sync[1] stays open until the init is reaped: the init takes
		 * its end of file for our death (see lle_sb_init_main). */
		s->pid = pid;
		return 0;
	}
	kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	return -1;
}

void lle_sb_release(struct lle_sb_start *s)
{
	close_fd(&s->status[0]);
	close_fd(&s->status[1]);
	close_fd(&s->sync[0]);
	close_fd(&s->sync[1]);
	close_fd(&s->out[0]);
	close_fd(&s->out[1]);
	close_fd(&s->errp[0]);
	close_fd(&s->errp[1]);
	lle_sb_cgroup_destroy(&s->cg);
	free_env(s->env);
	free_env(s->argv_copy);
	free_env(s->ro_copy);
	free(s->path_copy);
	s->env = s->argv_copy = s->ro_copy = NULL;
	s->path_copy = NULL;
	if (s->own_workdir)
		nftw(s->workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	s->own_workdir = 0;
}

int lle_sandbox_run(const struct lle_sandbox_opts *o, const struct lle_sandbox_job *job,
		    struct lle_sandbox_result *r, struct lle_err *err)
{
	memset(r, 0, sizeof(*r));
	if (!job->argv || !job->argv[0] || !job->argv[0][0])
		return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: no program to run");
	for (size_t i = 0; i < job->nfiles; i++) {
		const char *nm = job->files[i].name;
		if (!nm[0] || strchr(nm, '/') || strcmp(nm, ".") == 0 || strcmp(nm, "..") == 0)
			return lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: bad input file name '%s'", nm);
	}
	struct lle_sb_start s;
	int rc = -1;
	struct capture cout = { -1, LLE_BUF_INIT, LLE_BUF_INIT, 0, 0, 0 };
	struct capture cerr = { -1, LLE_BUF_INIT, LLE_BUF_INIT, 0, 0, 0 };
	if (lle_sb_prepare(o, job, -1, -1, &s, err) < 0)
		goto done;
	r->weak = lle_sandbox_probe()->missing;
	cout.cap = s.out_cap;
	cerr.cap = s.err_cap;
	if (lle_sb_launch(&s, err) < 0)
		goto done;
	const char *helper = s.helper;
	const struct lle_sb_child *cp = &s.c;
	pid_t pid = s.pid;
	double t0 = s.t0, timeout = s.timeout;
	close_fd(&s.status[1]);
	close_fd(&s.out[1]);
	close_fd(&s.errp[1]);

	cout.fd = s.out[0];
	cerr.fd = s.errp[0];
	s.out[0] = s.errp[0] = -1;
	int st_fd = s.status[0];
	s.status[0] = -1;
	char mbuf[sizeof(struct lle_sb_msg) * 8];
	size_t mlen = 0;
	int got_exit = 0, wstatus = 0, setup_step = -1, setup_errno = 0, exec_errno = 0;
	pid_t prog_pid = -1;
	double deadline = t0 + timeout, end_time = 0;
	int killed = 0;
	for (;;) {
		struct pollfd fds[3];
		int nfds = 0;
		if (cout.fd >= 0)
			fds[nfds++] = (struct pollfd){ cout.fd, POLLIN, 0 };
		if (cerr.fd >= 0)
			fds[nfds++] = (struct pollfd){ cerr.fd, POLLIN, 0 };
		if (st_fd >= 0)
			fds[nfds++] = (struct pollfd){ st_fd, POLLIN, 0 };
		if (nfds == 0)
			break;
		double left = deadline - now_s();
		if (left <= 0) {
			if (killed) {
				/* The grace period is over. A helper that did not end
				 * takes its init with it (PR_SET_PDEATHSIG). */
				if (helper)
					kill(pid, SIGKILL);
				break;
			}
			killed = 1;
			if (!got_exit) {
				r->end = LLE_SANDBOX_TIMEOUT;
				end_time = now_s();
			}
			/* The helper kills the init on SIGTERM and waits until every
			 * process of the sandbox is gone; the init is ours to kill. */
			kill(pid, helper ? SIGTERM : SIGKILL);
			if (!(cp->nsflags & CLONE_NEWPID) && prog_pid > 0)
				kill(-prog_pid, SIGKILL);
			deadline = now_s() + 2.0;
			continue;
		}
		int pr = poll(fds, (nfds_t)nfds, (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR)
			break;
		if (pr <= 0)
			continue;
		for (int i = 0; i < nfds; i++) {
			if (!fds[i].revents)
				continue;
			if (fds[i].fd == cout.fd) {
				if (drain(&cout)) {
					close_fd(&cout.fd);
				}
			} else if (fds[i].fd == cerr.fd) {
				if (drain(&cerr)) {
					close_fd(&cerr.fd);
				}
			} else {
				ssize_t n = read(st_fd, mbuf + mlen, sizeof(mbuf) - mlen);
				if (n < 0 && errno == EINTR)
					continue;
				if (n <= 0) {
					close_fd(&st_fd);
					continue;
				}
				mlen += (size_t)n;
				size_t k = 0;
				for (; k + sizeof(struct lle_sb_msg) <= mlen; k += sizeof(struct lle_sb_msg)) {
					struct lle_sb_msg m;
					memcpy(&m, mbuf + k, sizeof(m));
					if (m.kind == LLE_SB_START) {
						prog_pid = m.a;
					} else if (m.kind == LLE_SB_EXIT && r->end != LLE_SANDBOX_TIMEOUT) {
						got_exit = 1;
						wstatus = m.a;
						end_time = now_s();
					} else if (m.kind == LLE_SB_SETUP && m.a >= 0 && m.a < ST_NSTEP) {
						setup_step = m.a;
						setup_errno = m.b;
					} else if (m.kind == LLE_SB_EXEC) {
						exec_errno = m.b;
					} else if (m.kind == LLE_SB_WEAK && m.a >= 0 && m.a < ST_NSTEP) {
						warn_weak_step(m.a, m.b);
					}
				}
				memmove(mbuf, mbuf + k, mlen - k);
				mlen -= k;
			}
		}
	}
	close_fd(&st_fd);
	close_fd(&cout.fd);
	close_fd(&cerr.fd);
	if (!killed)
		kill(pid, helper ? SIGTERM : SIGKILL); /* normally gone already; never leave it running */
	if (!(cp->nsflags & CLONE_NEWPID) && prog_pid > 0)
		kill(-prog_pid, SIGKILL);

	int st;
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	if (setup_step >= 0) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot %s: %s", lle_sb_step_names[setup_step],
			    strerror(setup_errno));
		goto done;
	}
	if (exec_errno) {
		lle_err_set(err, LLE_EXIT_CONFIG, "sandbox: cannot run '%s': %s (PATH=%s)", job->argv[0],
			    strerror(exec_errno), s.path);
		goto done;
	}
	/* The init itself may be the OOM killer's choice when the cgroup runs
	 * out of memory (a fork of a large caller, without the privilege to
	 * lower its score): the sandbox was killed for its memory, as the
	 * program would have been. */
	if (r->end != LLE_SANDBOX_TIMEOUT && !got_exit && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL &&
	    !helper && lle_sb_cgroup_oom_kills(&s.cg) > 0) {
		got_exit = 1;
		wstatus = st;
	}
	if (r->end != LLE_SANDBOX_TIMEOUT) {
		if (!got_exit) {
			lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: the sandbox's init process ended "
				    "without a report (%s %d)", WIFSIGNALED(st) ? "signal" : "status",
				    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			goto done;
		}
		if (WIFSIGNALED(wstatus)) {
			r->end = LLE_SANDBOX_SIGNALED;
			r->signal = WTERMSIG(wstatus);
		} else {
			r->end = LLE_SANDBOX_EXITED;
			r->exit_code = WEXITSTATUS(wstatus);
		}
	}
	capture_finish(&cout);
	capture_finish(&cerr);
	if (cout.buf.oom || cerr.buf.oom || cout.tail.oom || cerr.tail.oom) {
		lle_err_oom(err);
		goto done;
	}
	r->wall_s = (end_time > 0 ? end_time : now_s()) - t0;
	r->helper = helper != NULL;
	r->out_len = cout.buf.n;
	r->out = lle_buf_detach(&cout.buf);
	r->out_truncated = cout.truncated;
	r->err_len = cerr.buf.n;
	r->err = lle_buf_detach(&cerr.buf);
	r->err_truncated = cerr.truncated;
	if (!r->out || !r->err) {
		lle_sandbox_result_free(r);
		lle_err_oom(err);
		goto done;
	}
	rc = 0;
done:
	lle_buf_free(&cout.buf);
	lle_buf_free(&cerr.buf);
	lle_buf_free(&cout.tail);
	lle_buf_free(&cerr.tail);
	lle_sb_release(&s);
	return rc;
}

void lle_sandbox_result_free(struct lle_sandbox_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}
