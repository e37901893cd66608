/* The sandbox's child side and the helper's configuration: see child.h. */
#include "sandbox/child.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

const char *const lle_sb_step_names[ST_NSTEP] = {
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
	[ST_MAPS] = "write the user namespace's id maps",
	[ST_CONFIG] = "read the sandbox's configuration",
};


/* ---- helpers usable in the children (system calls only) ---- */

pid_t lle_sb_raw_clone(unsigned long flags)
{
	return (pid_t)syscall(SYS_clone, flags | SIGCHLD, 0UL, 0UL, 0UL, 0UL);
}

void lle_sb_send_msg(int fd, int kind, int a, int b)
{
	struct lle_sb_msg m = { kind, a, b };
	ssize_t w;
	do
		w = write(fd, &m, sizeof(m));
	while (w < 0 && errno == EINTR);
}

static __attribute__((noreturn)) void child_fail(int fd, int step, int e)
{
	lle_sb_send_msg(fd, LLE_SB_SETUP, step, e);
	_exit(127);
}

int lle_sb_write_all(int fd, const void *p, size_t n)
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


/* Fixed descriptor numbers in the children. */
enum { FD_STATUS = 3, FD_SYNC = 4, FD_OUT = 5, FD_ERR = 6, FD_FIRST_FREE = 7 };

/* Close every descriptor from lo to hi (inclusive). */
static void close_fds(unsigned lo, unsigned hi)
{
	if (lo > hi)
		return;
	if (syscall(SYS_close_range, lo, hi, 0U) < 0)
		for (unsigned fd = lo; fd <= hi && fd < 1024; fd++)
			close((int)fd);
}

static __attribute__((noreturn)) void program_main(const struct lle_sb_child *c, int in_fd, int fd3,
						    pid_t init_pid)
{
	/* A session of its own: the init kills the group when the program ends,
	 * which matters when there is no PID namespace to do it. */
	setsid();
	if (dup2(in_fd, 0) < 0 || dup2(FD_OUT, 1) < 0 || dup2(FD_ERR, 2) < 0 ||
	    fcntl(FD_STATUS, F_SETFD, FD_CLOEXEC) < 0)
		child_fail(FD_STATUS, ST_FDS, errno);
	/* Only 0, 1, 2, the status pipe (closed by execve) and, when there is
	 * one, the job's descriptor 3 stay open. The status pipe moves out of
	 * 3's way first. */
	int st = FD_STATUS;
	if (fd3 >= 0) {
		st = fcntl(FD_STATUS, F_DUPFD_CLOEXEC, FD_FIRST_FREE);
		if (st < 0 || dup2(fd3, 3) < 0)
			child_fail(FD_STATUS, ST_FDS, errno);
		close_fds(4, (unsigned)st - 1);
		close_fds((unsigned)st + 1, ~0U);
	} else {
		close_fds(FD_STATUS + 1, ~0U);
	}
	if (setrlimit(RLIMIT_CPU, &c->lim_cpu) < 0 || setrlimit(RLIMIT_AS, &c->lim_as) < 0 ||
	    setrlimit(RLIMIT_FSIZE, &c->lim_fsize) < 0 || setrlimit(RLIMIT_NPROC, &c->lim_nproc) < 0 ||
	    setrlimit(RLIMIT_NOFILE, &c->lim_nofile) < 0 || setrlimit(RLIMIT_CORE, &c->lim_core) < 0)
		child_fail(st, ST_LIMITS, errno);
	/* Capabilities: empty the bounding and ambient sets (needs CAP_SETPCAP,
	 * so before any uid change), then the rest. */
	for (int cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
			if (!c->allow_weak || c->root)
				child_fail(st, ST_CAPS, errno);
			break;
		}
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	if (c->drop_to_nobody) {
		gid_t g = LLE_SB_NOBODY;
		if (syscall(SYS_setgroups, 1, &g) < 0 ||
		    syscall(SYS_setresgid, LLE_SB_NOBODY, LLE_SB_NOBODY, LLE_SB_NOBODY) < 0 ||
		    syscall(SYS_setresuid, LLE_SB_NOBODY, LLE_SB_NOBODY, LLE_SB_NOBODY) < 0)
			child_fail(st, ST_CAPS, errno);
	}
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2];
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		child_fail(st, ST_CAPS, errno);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(st, ST_NNP, errno);
	/* Should the init die (the parent's timeout), so does the program, even
	 * without a PID namespace. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(st, ST_CAPS, errno);
	/* The init may have been killed before the prctl. */
	if (getppid() != init_pid)
		_exit(127);
	if (c->prog && prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, c->prog, 0, 0) < 0)
		child_fail(st, ST_SECCOMP, errno);

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
	lle_sb_send_msg(st, LLE_SB_EXEC, 0, err);
	_exit(127);
}

/* A step that adds a protection: fatal unless allow_weak, then reported. */
static void weak_step(const struct lle_sb_child *c, int step, int e)
{
	if (!c->allow_weak)
		child_fail(FD_STATUS, step, e);
	lle_sb_send_msg(FD_STATUS, LLE_SB_WEAK, step, e);
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

__attribute__((noreturn)) void lle_sb_init_main(const struct lle_sb_child *c)
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
	/* The parent writes our uid/gid maps, then sends 'g'. End of file
	 * means it gave up (or died). */
	char b;
	ssize_t r;
	do
		r = read(FD_SYNC, &b, 1);
	while (r < 0 && errno == EINTR);
	if (r != 1 || b != 'g')
		_exit(127);
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
	/* Should the parent die (and with it the timeout), so do we, and with
	 * us the whole namespace. Only now: a change of credentials (the
	 * setresuid above) clears the parent-death signal. The parent may have
	 * died before the prctl: it holds the other end of the sync socket
	 * until it has reaped us, so an end of file there means it is gone
	 * (getppid() says nothing here: it is 0 for pid 1 of a namespace). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		child_fail(FD_STATUS, ST_IDS, errno);
	do
		r = recv(FD_SYNC, &b, 1, MSG_DONTWAIT | MSG_PEEK);
	while (r < 0 && errno == EINTR);
	if (r == 0)
		_exit(127);
	close(FD_SYNC);
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
		if (fd < 0 || lle_sb_write_all(fd, f->data, f->len) < 0)
			child_fail(FD_STATUS, ST_FILES, errno);
		close(fd);
	}
	int in_fd;
	if (job->input) {
		in_fd = (int)syscall(SYS_memfd_create, "stdin", MFD_CLOEXEC);
		if (in_fd < 0 || lle_sb_write_all(in_fd, job->input, job->input_len) < 0 ||
		    lseek(in_fd, 0, SEEK_SET) < 0)
			child_fail(FD_STATUS, ST_STDIN, errno);
	} else {
		in_fd = 0; /* /dev/null, opened above */
	}
	int fd3 = -1;
	if (job->fd3) {
		fd3 = (int)syscall(SYS_memfd_create, "fd3", MFD_CLOEXEC);
		if (fd3 < 0 || lle_sb_write_all(fd3, job->fd3, job->fd3_len) < 0 ||
		    lseek(fd3, 0, SEEK_SET) < 0)
			child_fail(FD_STATUS, ST_STDIN, errno);
	}

	/* vfork: the program shares our memory until its execve, so the parent's
	 * address space (ours is a copy of it) is not copied a second time; with
	 * a large parent this halves the cost of a run. program_main() only
	 * makes system calls and writes its own stack frames. We are single
	 * threaded, and the C library's vfork takes no locks. */
	pid_t self = getpid();
	pid_t pid = vfork();
	if (pid < 0)
		child_fail(FD_STATUS, ST_CLONE, errno);
	if (pid == 0)
		program_main(c, in_fd, fd3, self);
	/* The program has its copies (or failed): ours go, so that no process
	 * of the sandbox can reach them through /proc/1/fd. */
	if (fd3 >= 0)
		close(fd3);
	if (in_fd > 2)
		close(in_fd);
	lle_sb_send_msg(FD_STATUS, LLE_SB_START, pid, 0);
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
			lle_sb_send_msg(FD_STATUS, LLE_SB_EXIT, st, 0);
			/* Whatever the program left behind: the kernel kills the
			 * rest of a PID namespace when its pid 1 exits; without
			 * one, the program's session goes. */
			kill(-pid, SIGKILL);
			_exit(0);
		}
	}
}


static int write_file(pid_t pid, const char *what, const char *text)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int rc = lle_sb_write_all(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return rc;
}


int lle_sb_write_maps(pid_t pid, const struct lle_sb_child *c)
{
	char map[64];
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c->uid, (unsigned)c->outer_uid);
	if (write_file(pid, "uid_map", map) < 0)
		return -1;
	/* Without privilege, gid_map needs setgroups denied first. */
	if (!c->root && write_file(pid, "setgroups", "deny") < 0)
		return -1;
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)c->gid, (unsigned)c->outer_gid);
	return write_file(pid, "gid_map", map);
}

/* ---- the configuration for the helper ----
 * Layout: a header of fixed-size fields, then NUL-terminated strings and
 * length-prefixed blobs, in the order of the code below. Both ends are built
 * from this file, installed together, so there is no versioning beyond the
 * magic number. */

#define CONFIG_MAGIC 0x6c6c6531u /* "lle1" */

struct config_hdr {
	uint32_t magic;
	uint32_t argc, envc, nfiles;
	uint64_t nsflags;
	int32_t set_ids, drop_to_nobody, root, allow_weak, parent_pid;
	uint32_t uid, outer_uid, gid, outer_gid;
	uint64_t lim[6][2];
	uint64_t input_len;         /* UINT64_MAX: no input (stdin is /dev/null) */
	uint64_t fd3_len;           /* UINT64_MAX: nothing on descriptor 3 */
	uint32_t prog_len;          /* BPF instructions; 0: no filter */
};

struct cbuf {
	char *p;
	size_t n, cap;
	int oom;
};

static void cb_add(struct cbuf *b, const void *p, size_t n)
{
	if (b->oom)
		return;
	if (b->n + n > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 4096;
		while (cap < b->n + n)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q) {
			b->oom = 1;
			return;
		}
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->n, p, n);
	b->n += n;
}

static void cb_str(struct cbuf *b, const char *s)
{
	cb_add(b, s, strlen(s) + 1);
}

static void cb_blob(struct cbuf *b, const void *p, uint64_t n)
{
	cb_add(b, &n, sizeof(n));
	cb_add(b, p, (size_t)n);
}

void *lle_sb_config_encode(const struct lle_sb_child *c, size_t *len)
{
	struct config_hdr h;
	memset(&h, 0, sizeof(h));
	h.magic = CONFIG_MAGIC;
	while (c->argv[h.argc])
		h.argc++;
	while (c->envp[h.envc])
		h.envc++;
	h.nfiles = (uint32_t)c->job->nfiles;
	h.nsflags = c->nsflags;
	h.set_ids = c->set_ids;
	h.drop_to_nobody = c->drop_to_nobody;
	h.root = c->root;
	h.allow_weak = c->allow_weak;
	h.parent_pid = (int32_t)c->parent_pid;
	h.uid = c->uid;
	h.outer_uid = c->outer_uid;
	h.gid = c->gid;
	h.outer_gid = c->outer_gid;
	const struct rlimit *lims[6] = { &c->lim_cpu, &c->lim_as, &c->lim_fsize, &c->lim_nproc,
					 &c->lim_nofile, &c->lim_core };
	for (int i = 0; i < 6; i++) {
		h.lim[i][0] = lims[i]->rlim_cur;
		h.lim[i][1] = lims[i]->rlim_max;
	}
	h.input_len = c->job->input ? c->job->input_len : UINT64_MAX;
	h.fd3_len = c->job->fd3 ? c->job->fd3_len : UINT64_MAX;
	h.prog_len = c->prog ? c->prog->len : 0;
	struct cbuf b = { 0 };
	cb_add(&b, &h, sizeof(h));
	cb_str(&b, c->workdir);
	cb_str(&b, c->tmpfs_opts);
	cb_str(&b, c->path);
	for (uint32_t i = 0; i < h.argc; i++)
		cb_str(&b, c->argv[i]);
	for (uint32_t i = 0; i < h.envc; i++)
		cb_str(&b, c->envp[i]);
	for (uint32_t i = 0; i < h.nfiles; i++) {
		cb_str(&b, c->job->files[i].name);
		cb_blob(&b, c->job->files[i].data, c->job->files[i].len);
	}
	if (c->job->input)
		cb_add(&b, c->job->input, c->job->input_len);
	if (c->job->fd3)
		cb_add(&b, c->job->fd3, c->job->fd3_len);
	if (c->prog)
		cb_add(&b, c->prog->filter, (size_t)c->prog->len * sizeof(struct sock_filter));
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.n;
	return b.p;
}

/* The next NUL-terminated string at *off, or NULL. */
static const char *take_str(char *buf, size_t len, size_t *off)
{
	char *s = buf + *off;
	char *nul = *off < len ? memchr(s, '\0', len - *off) : NULL;
	if (!nul)
		return NULL;
	*off += (size_t)(nul - s) + 1;
	return s;
}

static const void *take(char *buf, size_t len, size_t *off, uint64_t n)
{
	if (n > len - *off)
		return NULL;
	void *p = buf + *off;
	*off += (size_t)n;
	return p;
}

int lle_sb_config_decode(void *vbuf, size_t len, struct lle_sb_child *c)
{
	char *buf = vbuf;
	struct config_hdr h;
	if (len < sizeof(h))
		return -1;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != CONFIG_MAGIC || h.argc == 0 || h.argc > 65536 || h.envc > 65536 ||
	    h.nfiles > 65536)
		return -1;
	memset(c, 0, sizeof(*c));
	size_t off = sizeof(h);
	c->nsflags = (unsigned long)h.nsflags;
	c->set_ids = h.set_ids;
	c->drop_to_nobody = h.drop_to_nobody;
	c->root = h.root;
	c->allow_weak = h.allow_weak;
	c->parent_pid = (pid_t)h.parent_pid;
	c->uid = h.uid;
	c->outer_uid = h.outer_uid;
	c->gid = h.gid;
	c->outer_gid = h.outer_gid;
	struct rlimit *lims[6] = { &c->lim_cpu, &c->lim_as, &c->lim_fsize, &c->lim_nproc,
				   &c->lim_nofile, &c->lim_core };
	for (int i = 0; i < 6; i++) {
		lims[i]->rlim_cur = (rlim_t)h.lim[i][0];
		lims[i]->rlim_max = (rlim_t)h.lim[i][1];
	}
	if (!(c->workdir = take_str(buf, len, &off)) || !(c->tmpfs_opts = take_str(buf, len, &off)) ||
	    !(c->path = take_str(buf, len, &off)))
		return -1;
	char **argv = calloc(h.argc + 1, sizeof(char *));
	char **envp = calloc(h.envc + 1, sizeof(char *));
	struct lle_sandbox_file *files = calloc(h.nfiles + 1, sizeof(*files));
	struct lle_sandbox_job *job = calloc(1, sizeof(*job));
	if (!argv || !envp || !files || !job)
		return -1;
	for (uint32_t i = 0; i < h.argc; i++)
		if (!(argv[i] = (char *)take_str(buf, len, &off)))
			return -1;
	for (uint32_t i = 0; i < h.envc; i++)
		if (!(envp[i] = (char *)take_str(buf, len, &off)))
			return -1;
	for (uint32_t i = 0; i < h.nfiles; i++) {
		uint64_t n;
		const void *np;
		if (!(files[i].name = take_str(buf, len, &off)) ||
		    !(np = take(buf, len, &off, sizeof(n))))
			return -1;
		memcpy(&n, np, sizeof(n));
		if (!(files[i].data = take(buf, len, &off, n)))
			return -1;
		files[i].len = (size_t)n;
	}
	if (h.input_len != UINT64_MAX) {
		if (!(job->input = take(buf, len, &off, h.input_len)))
			return -1;
		job->input_len = (size_t)h.input_len;
	}
	if (h.fd3_len != UINT64_MAX) {
		if (!(job->fd3 = take(buf, len, &off, h.fd3_len)))
			return -1;
		job->fd3_len = (size_t)h.fd3_len;
	}
	if (h.prog_len) {
		struct sock_fprog *prog = calloc(1, sizeof(*prog));
		struct sock_filter *f = malloc((size_t)h.prog_len * sizeof(*f));
		const void *p = take(buf, len, &off, (uint64_t)h.prog_len * sizeof(*f));
		if (!prog || !f || !p || h.prog_len > USHRT_MAX)
			return -1;
		memcpy(f, p, (size_t)h.prog_len * sizeof(*f)); /* aligned for the kernel */
		prog->len = (unsigned short)h.prog_len;
		prog->filter = f;
		c->prog = prog;
	}
	if (off != len)
		return -1;
	job->argv = (const char *const *)argv;
	job->files = files;
	job->nfiles = h.nfiles;
	c->argv = argv;
	c->envp = envp;
	c->job = job;
	return 0;
}
