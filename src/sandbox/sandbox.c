/* The sandbox: see sandbox.h for the interface and docs/sandbox.md for the
 * protections.
 *
 * Three processes take part in one run:
 *
 *   parent   the caller (possibly one of many threads). It clones the
 *            "init" child into the new namespaces, writes its uid/gid maps,
 *            lets it go, reads its output and status, and kills it at the
 *            wall-clock deadline.
 *   init     pid 1 of the new PID namespace. It takes the sandbox's user
 *            ids, builds the mount view (read-only root, tmpfs /tmp, own
 *            /proc, /home and /root hidden), writes the input files, starts
 *            the program and waits for it. When it exits, the kernel kills
 *            every process left in the namespace.
 *   program  drops every capability and privilege, sets the resource
 *            limits, loads the seccomp filter and execs the program.
 *
 * The caller may have other threads, so the two children are made with the
 * raw clone system call and use system calls only until execve: no malloc,
 * no stdio, no locks (another thread may have held them at the clone), and
 * raw setresuid/setgroups (the C library's wrappers would signal and wait
 * for the parent's other threads, which the child does not have). All
 * strings they need are built by the parent before the clone. Likewise the
 * seccomp filter is compiled once by libseccomp in the parent and only loaded,
 * with prctl, in the program child.
 *
 * What this file does not do: interpret the program's output (code_exec.c). */
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

#include "util/buf.h"
#include "util/diag.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* The uid and gid the program runs as when llm-eval runs as root ("nobody"). */
#define NOBODY_ID 65534

/* ---- messages from the children to the parent (one pipe, fixed size) ---- */

enum msg_kind { MSG_START = 1, MSG_EXIT, MSG_SETUP, MSG_EXEC, MSG_WEAK };

struct msg {
	int kind;
	int a;  /* MSG_START: program pid; MSG_EXIT: wait status; MSG_SETUP/WEAK: step */
	int b;  /* errno */
};

enum step {
	ST_FDS, ST_IDS, ST_PRIVATE, ST_ROOT_RO, ST_TMP, ST_DEV, ST_HIDE, ST_PROC,
	ST_CHDIR, ST_FILES, ST_STDIN, ST_CLONE, ST_LIMITS, ST_CAPS, ST_NNP, ST_SECCOMP,
	ST_NSTEP
};

static const char *const step_names[ST_NSTEP] = {
	[ST_FDS] = "set up descriptors",
	[ST_IDS] = "take the sandbox's user and group ids",
	[ST_PRIVATE] = "make the mounts private",
	[ST_ROOT_RO] = "make the root file system read-only",
	[ST_TMP] = "mount a tmpfs on '/tmp'",
	[ST_DEV] = "build a minimal '/dev'",
	[ST_HIDE] = "hide '/home', '/root' and '/sys'",
	[ST_PROC] = "mount '/proc'",
	[ST_CHDIR] = "enter the working directory",
	[ST_FILES] = "write the input files",
	[ST_STDIN] = "create the standard input",
	[ST_CLONE] = "start the program",
	[ST_LIMITS] = "set the resource limits",
	[ST_CAPS] = "drop privileges",
	[ST_NNP] = "set no_new_privs",
	[ST_SECCOMP] = "load the seccomp filter",
};

/* ---- the seccomp filter, compiled once ---- */

static pthread_once_t filter_once = PTHREAD_ONCE_INIT;
static struct sock_fprog filter_prog;
static char filter_error[256];

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

static void build_filter(void)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	int memfd = -1, rc;
	if (!ctx) {
		snprintf(filter_error, sizeof(filter_error), "seccomp_init failed");
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
	if ((rc = rule1(ctx, deny, SCMP_SYS(socket), 0, SCMP_CMP_NE, AF_UNIX, 0)) < 0 ||
	    (rc = rule1(ctx, deny, SCMP_SYS(socketpair), 0, SCMP_CMP_NE, AF_UNIX, 0)) < 0)
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
	/* Pushing characters into a terminal's input. */
	if ((rc = rule1(ctx, deny, SCMP_SYS(ioctl), 1, SCMP_CMP_EQ, TIOCSTI, 0)) < 0)
		goto fail;

	memfd = (int)syscall(SYS_memfd_create, "lle-seccomp", MFD_CLOEXEC);
	if (memfd < 0) {
		snprintf(filter_error, sizeof(filter_error), "memfd_create: %s", strerror(errno));
		goto out;
	}
	if ((rc = seccomp_export_bpf(ctx, memfd)) < 0)
		goto fail;
	off_t size = lseek(memfd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    size / (off_t)sizeof(struct sock_filter) > USHRT_MAX) {
		snprintf(filter_error, sizeof(filter_error), "seccomp filter of %lld bytes",
			 (long long)size);
		goto out;
	}
	struct sock_filter *prog = malloc((size_t)size);
	if (!prog) {
		snprintf(filter_error, sizeof(filter_error), "out of memory");
		goto out;
	}
	if (pread(memfd, prog, (size_t)size, 0) != (ssize_t)size) {
		free(prog);
		snprintf(filter_error, sizeof(filter_error), "cannot read the seccomp filter back");
		goto out;
	}
	filter_prog.len = (unsigned short)(size / (off_t)sizeof(struct sock_filter));
	filter_prog.filter = prog; /* kept for the life of the process */
	goto out;
fail:
	snprintf(filter_error, sizeof(filter_error), "libseccomp: %s", strerror(-rc));
out:
	if (memfd >= 0)
		close(memfd);
	seccomp_release(ctx);
}

static const struct sock_fprog *get_filter(void)
{
	pthread_once(&filter_once, build_filter);
	return filter_prog.filter ? &filter_prog : NULL;
}

/* ---- small helpers usable in the children (system calls only) ---- */

static pid_t raw_fork(void)
{
	/* clone(SIGCHLD) is fork without the C library's fork handlers, which
	 * may take locks that another thread of the parent held. */
	return (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, 0UL, 0UL, 0UL, 0UL);
}

static pid_t raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0UL, 0UL, 0UL, 0UL);
}

static void send_msg(int fd, int kind, int a, int b)
{
	struct msg m = { kind, a, b };
	ssize_t w;
	do
		w = write(fd, &m, sizeof(m));
	while (w < 0 && errno == EINTR);
}

static __attribute__((noreturn)) void child_fail(int fd, int step, int e)
{
	send_msg(fd, MSG_SETUP, step, e);
	_exit(127);
}

static int write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
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
	pid_t pid = raw_clone(flags);
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
	pid_t pid = raw_fork();
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
		write_all(pfd[1], &e, sizeof(e));
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
	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		int e = try_clone(ns[i].flag | (p->userns ? CLONE_NEWUSER : 0));
		if (e == 0)
			p->have |= ns[i].bit;
		else
			add_missing(&miss, ns[i].bit, strerror(e));
	}
	const struct sock_fprog *prog = get_filter();
	if (!prog) {
		add_missing(&miss, LLE_PROT_SECCOMP, filter_error);
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

const struct lle_sandbox_probe *lle_sandbox_probe(void)
{
	pthread_once(&probe_once, run_probe);
	return &probe_result;
}

/* ---- what the children need, all built before the clone ---- */

struct child {
	unsigned long nsflags;      /* the namespaces cloned */
	int set_ids;                /* init takes uid/gid `id` inside its user namespace */
	int drop_to_nobody;         /* root without a user namespace: the program setuid()s */
	int root;
	uid_t uid;
	gid_t gid;
	int allow_weak;
	const char *workdir;        /* "/tmp", or a host directory without a mount namespace */
	const char *tmpfs_opts;
	char *const *argv;
	char *const *envp;
	const char *path;           /* PATH, for the lookup of argv[0] */
	const struct lle_sandbox_job *job;
	struct rlimit lim_cpu, lim_as, lim_fsize, lim_nproc, lim_nofile, lim_core;
	const struct sock_fprog *prog;
	/* descriptors in the parent's numbering */
	int status_w, sync_r, out_w, err_w;
};

/* Fixed descriptor numbers in the children. */
enum { FD_STATUS = 3, FD_SYNC = 4, FD_OUT = 5, FD_ERR = 6, FD_FIRST_FREE = 7 };

static __attribute__((noreturn)) void program_main(const struct child *c, int in_fd)
{
	/* A session of its own: the init kills the group when the program ends,
	 * which matters when there is no PID namespace to do it. */
	setsid();
	if (dup2(in_fd, 0) < 0 || dup2(FD_OUT, 1) < 0 || dup2(FD_ERR, 2) < 0 ||
	    fcntl(FD_STATUS, F_SETFD, FD_CLOEXEC) < 0)
		child_fail(FD_STATUS, ST_FDS, errno);
	/* Only 0, 1, 2 and the status pipe (closed by execve) stay open. */
	if (syscall(SYS_close_range, (unsigned)FD_STATUS + 1, ~0U, 0U) < 0) {
		for (int fd = FD_STATUS + 1; fd < 1024; fd++)
			close(fd);
	}
	if (setrlimit(RLIMIT_CPU, &c->lim_cpu) < 0 || setrlimit(RLIMIT_AS, &c->lim_as) < 0 ||
	    setrlimit(RLIMIT_FSIZE, &c->lim_fsize) < 0 || setrlimit(RLIMIT_NPROC, &c->lim_nproc) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &c->lim_nofile) < 0 || setrlimit(RLIMIT_CORE, &c->lim_core) < 0)
		child_fail(FD_STATUS, ST_LIMITS, errno);
	/* Capabilities: empty the bounding and ambient sets (needs CAP_SETPCAP,
	 * so before any uid change), then the rest. */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			if (!c->allow_weak || c->root)
				child_fail(FD_STATUS, ST_CAPS, errno);
			break;
		}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (c->drop_to_nobody) {
		gid_t g = NOBODY_ID;
		if (syscall(SYS_setgroups, 1, &g) < 0 ||
		    syscall(SYS_setresgid, NOBODY_ID, NOBODY_ID, NOBODY_ID) < 0 ||
		    syscall(SYS_setresuid, NOBODY_ID, NOBODY_ID, NOBODY_ID) < 0)
			child_fail(FD_STATUS, ST_CAPS, errno);
	}
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(FD_STATUS, ST_CAPS, errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(FD_STATUS, ST_NNP, errno);
	/* Should the init die (the parent's timeout), so does the program, even
	 * without a PID namespace. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	if (c->prog && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, c->prog, 0, 0) < 0)
		child_fail(FD_STATUS, ST_SECCOMP, errno);

	/* execvpe without malloc: try each PATH entry in a stack buffer. */
	const char *name = c->argv[0];
	int err = ENOENT;
	if (strchr(name, '/')) {
		execve(name, c->argv, c->envp);
		err = errno;
	} else {
		size_t nlen = strlen(name);
		const char *p = c->path;
		while (*p) {
			const char *colon = strchr(p, ':');
			size_t dlen = colon ? (size_t)(colon - p) : strlen(p);
			char buf[PATH_MAX];
			if (dlen > 0 && dlen + 1 + nlen < sizeof(buf)) {
				memcpy(buf, p, dlen);
				buf[dlen] = '/';
				memcpy(buf + dlen + 1, name, nlen + 1);
				execve(buf, c->argv, c->envp);
				if (errno != ENOENT && errno != ENOTDIR)
					err = errno;
			}
			p += dlen;
			if (*p == ':')
				p++;
		}
	}
	send_msg(FD_STATUS, MSG_EXEC, 0, err);
	_exit(127);
}

/* A step that adds a protection: fatal unless allow_weak, then reported. */
static void weak_step(const struct child *c, int step, int e)
{
	if (!c->allow_weak)
		child_fail(FD_STATUS, step, e);
	send_msg(FD_STATUS, MSG_WEAK, step, e);
}

static int mount_hide(const char *dir)
{
	if (mount("tmpfs", dir, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=4k,nr_inodes=8,mode=0755") < 0 && errno != ENOENT)
		return -1;
	return 0;
}

/* A /dev of our own: a read-only tmpfs with the harmless devices bound in
 * from the host's, the usual links, and an empty /dev/shm. The host's /dev
 * would show every device (GPUs, disks, /dev/fuse) to the program's
 * permission checks. Built in /tmp/.dev, then moved over /dev. */
static int make_dev(void)
{
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom" };
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	};
	const char *stage = "/tmp/.dev";
	char path[64];
	if (mkdir(stage, 0755) < 0 ||
	    mount("tmpfs", stage, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755") < 0)
		return -1;
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		memcpy(path, "/tmp/.dev/", 10);
		memcpy(path + 10, devs[i], strlen(devs[i]) + 1);
		char src[32] = "/dev/";
		memcpy(src + 5, devs[i], strlen(devs[i]) + 1);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0)
			return -1;
		close(fd);
		if (mount(src, path, NULL, MS_BIND, NULL) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++) {
		memcpy(path, "/tmp/.dev/", 10);
		memcpy(path + 10, links[i][1], strlen(links[i][1]) + 1);
		if (symlink(links[i][0], path) < 0)
			return -1;
	}
	if (mkdir("/tmp/.dev/shm", 01777) < 0 || chmod("/tmp/.dev/shm", 01777) < 0 ||
	    mount("tmpfs", "/tmp/.dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=1m,nr_inodes=64,mode=1777") < 0)
		return -1;
	if (mount(stage, "/dev", NULL, MS_MOVE, NULL) < 0)
		return -1;
	rmdir(stage);
	return mount(NULL, "/dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL);
}

static __attribute__((noreturn)) void init_main(const struct child *c)
{
	/* Keep only our four descriptors, renumbered 3..6: descriptors of other
	 * runs (other threads of the parent) must not stay open here, or their
	 * parents would wait for an end of file until we exit. */
	int keep[4] = { c->status_w, c->sync_r, c->out_w, c->err_w };
	int base = FD_FIRST_FREE;
	for (int i = 0; i < 4; i++)
		if (keep[i] >= base)
			base = keep[i] + 1;
	for (int i = 0; i < 4; i++)
		if (dup2(keep[i], base + i) < 0)
			_exit(127);
	for (int i = 0; i < 4; i++)
		if (dup2(base + i, FD_STATUS + i) < 0)
			_exit(127);
	if (syscall(SYS_close_range, (unsigned)FD_FIRST_FREE, ~0U, 0U) < 0)
		for (int fd = FD_FIRST_FREE; fd < base + 4 || fd < 1024; fd++)
			close(fd);
	/* 0, 1, 2 (the parent's own) onto /dev/null. */
	int nfd = open("/dev/null", O_RDWR);
	if (nfd < 0 || dup2(nfd, 0) < 0 || dup2(nfd, 1) < 0 || dup2(nfd, 2) < 0)
		child_fail(FD_STATUS, ST_FDS, errno);
	close(nfd);
	/* Should the parent die (and with it the timeout), so do we, and with
	 * us the whole namespace. */
	prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
	/* The parent writes our uid/gid maps, then sends 'g'. End of file
	 * means it gave up (or died). */
	char b;
	ssize_t r;
	do
		r = read(FD_SYNC, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1 || b != 'g')
		_exit(127);
	close(FD_SYNC);
	/* Our memory is a copy of the parent's (its environment, its keys): no
	 * process of the sandbox may read it through /proc or ptrace. Only now,
	 * as it also makes our /proc files root's, which the maps needed. */
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);

	if (c->set_ids) {
		gid_t g = c->gid;
		/* Supplementary groups can only be dropped when setgroups is
		 * allowed (root's maps); otherwise the user keeps their own. */
		if (c->root && syscall(SYS_setgroups, 1, &g) < 0)
			child_fail(FD_STATUS, ST_IDS, errno);
		if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0 ||
		    syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0)
			child_fail(FD_STATUS, ST_IDS, errno);
	}
	if (c->nsflags & CLONE_NEWNS) {
		/* Nothing we mount may propagate back to the host: not optional. */
		if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			child_fail(FD_STATUS, ST_PRIVATE, errno);
		struct mount_attr attr;
		memset(&attr, 0, sizeof(attr));
		attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID;
		if (syscall(SYS_mount_setattr, AT_FDCWD, "/", AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			weak_step(c, ST_ROOT_RO, errno);
		if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, c->tmpfs_opts) < 0)
			child_fail(FD_STATUS, ST_TMP, errno);
		if (make_dev() < 0)
			weak_step(c, ST_DEV, errno);
		if (mount_hide("/home") < 0 || mount_hide("/root") < 0 || mount_hide("/sys") < 0 ||
		    mount_hide("/run") < 0 || mount_hide("/var/tmp") < 0)
			weak_step(c, ST_HIDE, errno);
		/* A /proc of our own PID namespace; without one, none at all. */
		if (!(c->nsflags & CLONE_NEWPID) ||
		    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
			if (mount_hide("/proc") < 0)
				weak_step(c, ST_PROC, errno);
		}
	}
	if (c->nsflags & CLONE_NEWUTS)
		sethostname("sandbox", 7);
	if (chdir(c->workdir) < 0)
		child_fail(FD_STATUS, ST_CHDIR, errno);

	const struct lle_sandbox_job *job = c->job;
	for (size_t i = 0; i < job->nfiles; i++) {
		const struct lle_sandbox_file *f = &job->files[i];
		int fd = open(f->name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (fd < 0 || write_all(fd, f->data, f->len) < 0)
			child_fail(FD_STATUS, ST_FILES, errno);
		close(fd);
	}
	int in_fd;
	if (job->input) {
		in_fd = (int)syscall(SYS_memfd_create, "stdin", MFD_CLOEXEC);
		if (in_fd < 0 || write_all(in_fd, job->input, job->input_len) < 0 ||
		    lseek(in_fd, 0, SEEK_SET) < 0)
			child_fail(FD_STATUS, ST_STDIN, errno);
	} else {
		in_fd = 0; /* /dev/null, opened above */
	}

	/* vfork: the program shares our memory until its execve, so the parent's
	 * address space (ours is a copy of it) is not copied a second time; with
	 * a large parent this halves the cost of a run. program_main() only
	 * makes system calls and writes its own stack frames. We are single
	 * threaded, and the C library's vfork takes no locks. */
	pid_t pid = vfork();
	if (pid < 0)
		child_fail(FD_STATUS, ST_CLONE, errno);
	if (pid == 0)
		program_main(c, in_fd);
	send_msg(FD_STATUS, MSG_START, pid, 0);
	close(FD_OUT);
	close(FD_ERR);
	for (;;) {
		int st;
		pid_t w = waitpid(-1, &st, __WALL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			_exit(0);
		}
		if (w == pid) {
			send_msg(FD_STATUS, MSG_EXIT, st, 0);
			/* Whatever the program left behind: the kernel kills the
			 * rest of a PID namespace when its pid 1 exits; without
			 * one, the program's session goes. */
			kill(-pid, SIGKILL);
			_exit(0);
		}
	}
}

/* ---- the parent ---- */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int write_file(pid_t pid, const char *what, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = write_all(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return rc;
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
			  step_names[step], strerror(e));
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
	const struct lle_sandbox_probe *p = lle_sandbox_probe();
	if (p->missing[0]) {
		if (!o->allow_weak)
			return lle_err_set(err, LLE_EXIT_CONFIG,
					   "sandbox: this system does not allow a %s; model-written "
					   "code would run without that protection (pass "
					   "--allow-weak-sandbox to run it anyway)", p->missing);
		pthread_mutex_lock(&warn_lock);
		if (!warned_probe) {
			warned_probe = 1;
			lle_warnf("sandbox: running without a %s (--allow-weak-sandbox)", p->missing);
		}
		pthread_mutex_unlock(&warn_lock);
	}
	r->weak = p->missing;

	double timeout = o->timeout_s > 0 ? o->timeout_s : 10.0;
	unsigned mem = o->memory_mb ? o->memory_mb : 1024;
	unsigned fsize = o->fsize_mb ? o->fsize_mb : 64;
	size_t out_cap = o->out_cap ? o->out_cap : (size_t)1 << 20;
	size_t err_cap = o->err_cap ? o->err_cap : (size_t)64 << 10;
	const char *path = o->path ? o->path : "/usr/local/bin:/usr/bin:/bin";

	struct child c;
	memset(&c, 0, sizeof(c));
	c.root = p->root;
	c.allow_weak = o->allow_weak;
	c.job = job;
	c.path = path;
	c.argv = (char *const *)job->argv;
	if (p->have & LLE_PROT_PID)
		c.nsflags |= CLONE_NEWPID;
	if (p->have & LLE_PROT_NET)
		c.nsflags |= CLONE_NEWNET;
	if (p->have & LLE_PROT_MOUNT)
		c.nsflags |= CLONE_NEWNS;
	if (p->have & LLE_PROT_IPC)
		c.nsflags |= CLONE_NEWIPC;
	if (p->have & LLE_PROT_UTS)
		c.nsflags |= CLONE_NEWUTS;
	if (p->userns) {
		c.nsflags |= CLONE_NEWUSER;
		c.set_ids = 1;
		c.uid = p->root ? NOBODY_ID : geteuid();
		c.gid = p->root ? NOBODY_ID : getegid();
	} else if (p->root) {
		c.drop_to_nobody = 1;
	}
	c.prog = (p->have & LLE_PROT_SECCOMP) ? get_filter() : NULL;
	unsigned cpu = o->cpu_s ? o->cpu_s : (unsigned)timeout + 2;
	/* The soft CPU limit sends SIGXCPU, the hard one a second later SIGKILL. */
	c.lim_cpu = limit(RLIMIT_CPU, (rlim_t)cpu + 1);
	if (c.lim_cpu.rlim_cur > cpu)
		c.lim_cpu.rlim_cur = cpu;
	c.lim_as = limit(RLIMIT_AS, (rlim_t)mem << 20);
	c.lim_fsize = limit(RLIMIT_FSIZE, (rlim_t)fsize << 20);
	c.lim_nproc = limit(RLIMIT_NPROC, o->nproc ? o->nproc : 64);
	c.lim_nofile = limit(RLIMIT_NOFILE, o->nofile ? o->nofile : 256);
	c.lim_core = (struct rlimit){ 0, 0 };
	char tmpfs_opts[96];
	snprintf(tmpfs_opts, sizeof(tmpfs_opts), "size=%um,nr_inodes=4096,mode=1777", fsize);
	c.tmpfs_opts = tmpfs_opts;

	/* Without a mount namespace the working directory is a fresh host
	 * directory, removed afterwards. */
	char workdir[PATH_MAX] = "/tmp";
	int own_workdir = 0;
	if (!(c.nsflags & CLONE_NEWNS)) {
		const char *t = getenv("TMPDIR");
		snprintf(workdir, sizeof(workdir), "%s/lle-sandbox.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(workdir))
			return lle_err_set(err, LLE_EXIT_IO, "sandbox: cannot create a directory in '%s': %s",
					   t && *t ? t : "/tmp", strerror(errno));
		own_workdir = 1;
		if (c.drop_to_nobody && chown(workdir, NOBODY_ID, NOBODY_ID) < 0) {
			int e = errno;
			rmdir(workdir);
			return lle_err_set(err, LLE_EXIT_IO, "sandbox: cannot give '%s' to uid %d: %s",
					   workdir, NOBODY_ID, strerror(e));
		}
	}
	c.workdir = workdir;

	char **env = build_env(o, workdir, path);
	int status[2] = { -1, -1 }, sync[2] = { -1, -1 }, out[2] = { -1, -1 }, errp[2] = { -1, -1 };
	int rc = -1, failed = 0;
	pid_t pid = -1;
	struct capture cout = { -1, LLE_BUF_INIT, LLE_BUF_INIT, out_cap, 0, 0 };
	struct capture cerr = { -1, LLE_BUF_INIT, LLE_BUF_INIT, err_cap, 0, 0 };
	if (!env) {
		lle_err_oom(err);
		goto done;
	}
	c.envp = env;
	/* sync is a socket so that telling a dead child to go is EPIPE, not SIGPIPE. */
	if (pipe2(status, O_CLOEXEC) < 0 ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0 ||
	    pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: pipe: %s", strerror(errno));
		goto done;
	}
	/* The program reopens its pipes through /dev/stdout (/proc/self/fd/1):
	 * they must be its own, not root's. */
	if (p->root && (fchown(out[1], NOBODY_ID, NOBODY_ID) < 0 ||
			fchown(errp[1], NOBODY_ID, NOBODY_ID) < 0)) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot give the output pipes to uid %d: %s",
			    NOBODY_ID, strerror(errno));
		goto done;
	}
	c.status_w = status[1];
	c.sync_r = sync[0];
	c.out_w = out[1];
	c.err_w = errp[1];

	double t0 = now_s();
	pid = raw_clone(c.nsflags);
	if (pid == 0)
		init_main(&c);
	if (pid < 0) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: clone: %s", strerror(errno));
		goto done;
	}
	close_fd(&status[1]);
	close_fd(&sync[0]);
	close_fd(&out[1]);
	close_fd(&errp[1]);
	if (c.nsflags & CLONE_NEWUSER) {
		char map[64];
		uid_t ou = p->root ? NOBODY_ID : geteuid();
		gid_t og = p->root ? NOBODY_ID : getegid();
		int ok = 1;
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c.uid, (unsigned)ou);
		ok = ok && write_file(pid, "uid_map", map) == 0;
		/* Without privilege, gid_map needs setgroups denied first. */
		ok = ok && (p->root || write_file(pid, "setgroups", "deny") == 0);
		snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c.gid, (unsigned)og);
		ok = ok && write_file(pid, "gid_map", map) == 0;
		if (!ok) {
			failed = 1;
			lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot write the user namespace's "
				    "id maps: %s", strerror(errno));
			kill(pid, SIGKILL);
			goto reap;
		}
	}
	if (send(sync[1], "g", 1, MSG_NOSIGNAL) != 1) {
		failed = 1;
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: the sandbox's init process is gone: %s",
			    strerror(errno));
		kill(pid, SIGKILL);
		goto reap;
	}
	close_fd(&sync[1]);

	cout.fd = out[0];
	cerr.fd = errp[0];
	out[0] = errp[0] = -1;
	int st_fd = status[0];
	status[0] = -1;
	char mbuf[sizeof(struct msg) * 8];
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
			if (killed)
				break; /* the grace period after the kill is over */
			killed = 1;
			if (!got_exit) {
				r->end = LLE_SANDBOX_TIMEOUT;
				end_time = now_s();
			}
			kill(pid, SIGKILL);
			if (!(c.nsflags & CLONE_NEWPID) && prog_pid > 0)
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
				for (; k + sizeof(struct msg) <= mlen; k += sizeof(struct msg)) {
					struct msg m;
					memcpy(&m, mbuf + k, sizeof(m));
					if (m.kind == MSG_START) {
						prog_pid = m.a;
					} else if (m.kind == MSG_EXIT && r->end != LLE_SANDBOX_TIMEOUT) {
						got_exit = 1;
						wstatus = m.a;
						end_time = now_s();
					} else if (m.kind == MSG_SETUP && m.a >= 0 && m.a < ST_NSTEP) {
						setup_step = m.a;
						setup_errno = m.b;
					} else if (m.kind == MSG_EXEC) {
						exec_errno = m.b;
					} else if (m.kind == MSG_WEAK && m.a >= 0 && m.a < ST_NSTEP) {
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
		kill(pid, SIGKILL); /* normally gone already; never leave it running */
	if (!(c.nsflags & CLONE_NEWPID) && prog_pid > 0)
		kill(-prog_pid, SIGKILL);

reap:;
	int st;
	while (waitpid(pid, &st, __WALL) < 0 && errno == EINTR)
		;
	if (failed)
		goto done;
	if (setup_step >= 0) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot %s: %s", step_names[setup_step],
			    strerror(setup_errno));
		goto done;
	}
	if (exec_errno) {
		lle_err_set(err, LLE_EXIT_CONFIG, "sandbox: cannot run '%s': %s (PATH=%s)", job->argv[0],
			    strerror(exec_errno), path);
		goto done;
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
	close_fd(&status[0]);
	close_fd(&status[1]);
	close_fd(&sync[0]);
	close_fd(&sync[1]);
	close_fd(&out[0]);
	close_fd(&out[1]);
	close_fd(&errp[0]);
	close_fd(&errp[1]);
	lle_buf_free(&cout.buf);
	lle_buf_free(&cerr.buf);
	lle_buf_free(&cout.tail);
	lle_buf_free(&cerr.tail);
	free_env(env);
	if (own_workdir)
		nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc;
}

void lle_sandbox_result_free(struct lle_sandbox_result *r)
{
	free(r->out);
	free(r->err);
	r->out = r->err = NULL;
	r->out_len = r->err_len = 0;
}

/* ---- the pool ---- */

unsigned lle_sandbox_pool_size(const struct lle_sandbox_opts *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned n = ncpu > 0 ? (unsigned)ncpu : 1;
	unsigned mem = o && o->memory_mb ? o->memory_mb : 1024;
	FILE *f = fopen("/proc/meminfo", "re");
	if (f) {
		char line[256];
		unsigned long long kb;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
				unsigned long long fit = kb / 1024 / mem;
				if (fit < n)
					n = (unsigned)fit;
				break;
			}
		fclose(f);
	}
	return n ? n : 1;
}

struct pool {
	const struct lle_sandbox_opts *o;
	const struct lle_sandbox_job *jobs;
	size_t n, next;
	lle_sandbox_done_fn done;
	void *ud;
	pthread_mutex_t lock;
	struct lle_err first;
};

static void *worker(void *arg)
{
	struct pool *pl = arg;
	for (;;) {
		pthread_mutex_lock(&pl->lock);
		size_t i = pl->next < pl->n ? pl->next++ : pl->n;
		pthread_mutex_unlock(&pl->lock);
		if (i >= pl->n)
			break;
		struct lle_sandbox_result r;
		struct lle_err e = { 0 };
		int rc = lle_sandbox_run(pl->o, &pl->jobs[i], &r, &e);
		pthread_mutex_lock(&pl->lock);
		if (rc < 0 && !pl->first.code)
			pl->first = e;
		if (pl->done)
			pl->done(pl->ud, i, rc < 0 ? NULL : &r, rc < 0 ? &e : NULL);
		pthread_mutex_unlock(&pl->lock);
		if (rc == 0)
			lle_sandbox_result_free(&r);
	}
	return NULL;
}

int lle_sandbox_run_all(const struct lle_sandbox_opts *o, const struct lle_sandbox_job *jobs,
			size_t n, unsigned workers, lle_sandbox_done_fn done, void *ud,
			struct lle_err *err)
{
	struct pool pl = { .o = o, .jobs = jobs, .n = n, .done = done, .ud = ud };
	pthread_mutex_init(&pl.lock, NULL);
	if (!workers)
		workers = lle_sandbox_pool_size(o);
	if (workers > n)
		workers = n ? (unsigned)n : 1;
	pthread_t *th = calloc(workers, sizeof(*th));
	unsigned started = 0;
	/* The calling thread is one of the workers; if threads cannot be made,
	 * fewer run, but all jobs still do. */
	if (th)
		for (; started + 1 < workers; started++)
			if (pthread_create(&th[started], NULL, worker, &pl) != 0)
				break;
	worker(&pl);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_mutex_destroy(&pl.lock);
	if (pl.first.code) {
		if (err)
			*err = pl.first;
		return -1;
	}
	return 0;
}
