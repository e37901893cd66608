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
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef OPEN_TREE_CLOEXEC
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif

const char *const lle_sb_step_names[ST_NSTEP] = {
	[ST_FDS] = "set up descriptors",
	[ST_IDS] = "take the sandbox's user and group ids",
	[ST_PRIVATE] = "make the mounts private",
	[ST_ROOT_RO] = "build the sandbox's read-only root file system",
	[ST_TMP] = "mount a tmpfs on '/tmp'",
	[ST_DEV] = "build a minimal '/dev'",
	[ST_HIDE] = "switch to the sandbox's root (pivot_root)",
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
	[ST_CGROUP] = "move the sandbox into its cgroup",
	[ST_BIND] = "show the worker's files read-only",
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
	/* When the run's cgroup runs out of memory, the kernel's OOM killer
	 * must take the program (or its children, which inherit this), never
	 * the init: a fork of its caller, its resident size may be the
	 * largest, and without it the run has no report. Raising one's own
	 * score needs no privilege. */
	int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (oom >= 0) {
		lle_sb_write_all(oom, "1000", 4);
		close(oom);
	}
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

/* The sandbox's root is built on a tmpfs mounted here (inside the init's own
 * mount namespace, so the host's /tmp is untouched), then made the root with
 * pivot_root. */
#define NEWROOT "/tmp"

/* What the program sees of the host, read-only: the interpreter's files.
 * Symbolic links (/bin -> usr/bin on a merged /usr) are made again as links;
 * paths this host does not have are left out; /etc/python* entries are
 * added by add_etc_python(). Nothing else of the host is there: not the
 * checkout, the datasets, the cache, /var, /opt, /srv, /home, /run (and its
 * sockets) or /sys. */
static const char *const allowed_paths[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/ld.so.cache", "/etc/localtime", "/etc/alternatives",
};

/* buf = NEWROOT + path, or -1 (ENAMETOOLONG). */
static int in_newroot(char *buf, size_t size, const char *path)
{
	size_t a = sizeof(NEWROOT) - 1, b = strlen(path);
	if (a + b + 1 > size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, NEWROOT, a);
	memcpy(buf + a, path, b + 1);
	return 0;
}

/* Read-only, nosuid, nodev: the mount at path, and with recursive every
 * mount below it. */
static int set_readonly(const char *path, int recursive)
{
	struct mount_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
	return (int)syscall(SYS_mount_setattr, AT_FDCWD, path, recursive ? AT_RECURSIVE : 0, &attr,
			    sizeof(attr));
}

/* Bind one host path into the new root, read-only (a link: the same link). */
static int add_path(const char *path)
{
	char dst[PATH_MAX];
	struct stat st;
	if (in_newroot(dst, sizeof(dst), path) < 0)
		return -1;
	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -1;
	if (S_ISLNK(st.st_mode)) {
		char target[PATH_MAX];
		ssize_t n = readlink(path, target, sizeof(target) - 1);
		if (n < 0)
			return -1;
		target[n] = '\0';
		return symlink(target, dst);
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) < 0)
			return -1;
	} else {
		int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		close(fd);
	}
	if (mount(path, dst, NULL, MS_BIND | MS_REC, NULL) < 0)
		return -1;
	return set_readonly(dst, 1);
}

/* /etc/python3, /etc/python3.11, ...: Debian's sitecustomize lives there. */
static int add_etc_python(void)
{
	int dfd = open("/etc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return errno == ENOENT ? 0 : -1;
	char buf[4096];
	for (;;) {
		long n = syscall(SYS_getdents64, dfd, buf, sizeof(buf));
		if (n <= 0) {
			close(dfd);
			return n < 0 ? -1 : 0;
		}
		for (long off = 0; off < n;) {
			struct { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; }
				*d = (void *)(buf + off);
			off += d->reclen;
			if (strncmp(d->name, "python", 6) != 0 || strlen(d->name) > 64)
				continue;
			char path[80] = "/etc/";
			memcpy(path + 5, d->name, strlen(d->name) + 1);
			if (add_path(path) < 0) {
				int e = errno;
				close(dfd);
				errno = e;
				return -1;
			}
		}
	}
}

/* Decimal, without stdio. */
static size_t put_uint(char *p, unsigned v)
{
	char t[12];
	size_t n = 0;
	do
		t[n++] = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	for (size_t i = 0; i < n; i++)
		p[i] = t[n - 1 - i];
	return n;
}

/* /etc/passwd and /etc/group of the sandbox: root, nobody, and the program's
 * own user (getpass.getuser(), ~ expansion). Not the host's. */
static int write_etc_ids(const struct lle_sb_child *c)
{
	uid_t uid = c->drop_to_nobody ? LLE_SB_NOBODY : c->set_ids ? c->uid : getuid();
	gid_t gid = c->drop_to_nobody ? LLE_SB_NOBODY : c->set_ids ? c->gid : getgid();
	for (int k = 0; k < 2; k++) {
		char text[256];
		size_t n = 0;
		const char *head = k == 0 ? "root:x:0:0:root:/root:/usr/sbin/nologin\n"
					    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
					  : "root:x:0:\nnogroup:x:65534:\n";
		memcpy(text, head, strlen(head));
		n = strlen(head);
		if ((k == 0 && uid != 0 && uid != LLE_SB_NOBODY) || (k == 1 && gid != 0 && gid != LLE_SB_NOBODY)) {
			memcpy(text + n, "sandbox:x:", 10);
			n += 10;
			n += put_uint(text + n, k == 0 ? (unsigned)uid : (unsigned)gid);
			text[n++] = ':';
			if (k == 0) {
				n += put_uint(text + n, (unsigned)gid);
				memcpy(text + n, ":sandbox:/tmp:/usr/sbin/nologin\n", 32);
				n += 32;
			} else {
				text[n++] = '\n';
			}
		}
		int fd = open(k == 0 ? NEWROOT "/etc/passwd" : NEWROOT "/etc/group",
			      O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0)
			return -1;
		int rc = lle_sb_write_all(fd, text, n);
		close(fd);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* A /dev of our own: a read-only tmpfs with the harmless devices bound in
 * from the host's, the usual links, and an empty /dev/shm. The host's /dev
 * would show every device (GPUs, disks, /dev/fuse) to the program's
 * permission checks. */
static int make_dev(void)
{
	static const char *const devs[] = { "null", "zero", "full", "random", "urandom" };
	static const char *const links[][2] = {
		{ "/proc/self/fd", "fd" }, { "/proc/self/fd/0", "stdin" },
		{ "/proc/self/fd/1", "stdout" }, { "/proc/self/fd/2", "stderr" },
	};
	const char *dev = NEWROOT "/dev";
	size_t dl = strlen(dev);
	char path[64];
	if (mkdir(dev, 0755) < 0 ||
	    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "size=64k,nr_inodes=64,mode=0755") < 0)
		return -1;
	memcpy(path, dev, dl);
	path[dl] = '/';
	for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
		memcpy(path + dl + 1, devs[i], strlen(devs[i]) + 1);
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
		memcpy(path + dl + 1, links[i][1], strlen(links[i][1]) + 1);
		if (symlink(links[i][0], path) < 0)
			return -1;
	}
	memcpy(path + dl + 1, "shm", 4);
	if (mkdir(path, 01777) < 0 || chmod(path, 01777) < 0 ||
	    mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "size=1m,nr_inodes=64,mode=1777") < 0)
		return -1;
	return mount(NULL, dev, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL);
}

/* Mount the detached tree fd (open_tree) at path inside the new root,
 * read-only: the directories leading to it are made as needed (in our own
 * tmpfs root, or our /tmp), a file gets an empty file to cover. */
static int place_tree(int fd, const char *path)
{
	char dst[PATH_MAX];
	struct stat st;
	if (fstat(fd, &st) < 0 || in_newroot(dst, sizeof(dst), path) < 0)
		return -1;
	for (char *p = dst + sizeof(NEWROOT); *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int rc = mkdir(dst, 0755);
		*p = '/';
		if (rc < 0 && errno != EEXIST)
			return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		if (mkdir(dst, 0755) < 0 && errno != EEXIST)
			return -1;
	} else {
		int f = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (f < 0)
			return -1;
		close(f);
	}
	if (syscall(SYS_move_mount, fd, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return -1;
	close(fd);
	return set_readonly(dst, 1);
}

/* The extra host paths (c->ro_paths), cloned as detached trees by
 * open_trees while the host's /tmp (where they may be) is not yet covered
 * by the new root, and placed by build_root once our own /tmp is there. */
static int trees[LLE_SB_MAX_RO];
static size_t ntrees;

/* Make our mounts private (nothing we mount may propagate back to the host)
 * and clone the extra host paths. Called before the user namespace's
 * setresuid: as root, the program's ids are nobody's, and the paths are
 * looked up with root's (host uid 0, without capabilities there), so a task
 * tree under a folder only root may enter (a clone under /root) can still
 * be shown; each path itself stays as readable as its own modes make it.
 * Returns 0, or the failed step with errno set. */
static int open_trees(const struct lle_sb_child *c)
{
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return ST_PRIVATE;
	for (size_t i = 0; c->ro_paths && c->ro_paths[i] && ntrees < LLE_SB_MAX_RO; i++) {
		int fd = (int)syscall(SYS_open_tree, AT_FDCWD, c->ro_paths[i],
				      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
		if (fd < 0 && errno != ENOENT) {
			int e = errno;
			lle_sb_send_msg(FD_STATUS, LLE_SB_BIND, (int)i, e);
			errno = e;
			return ST_BIND;
		}
		trees[ntrees++] = fd;
	}
	return 0;
}

/* The file system the program sees, built as an allow-list (as bubblewrap
 * and nsjail do): a fresh read-only tmpfs root holding the allowed host
 * paths (read-only binds), our /etc/passwd and /etc/group, our /dev, a
 * writable tmpfs /tmp and a fresh /proc (only with a PID namespace: it must
 * show ours), made the root with pivot_root; the host's root is then
 * detached, so no path leads back to it. Returns 0, or the failed step with
 * errno set. */
static int build_root(const struct lle_sb_child *c)
{
	if (mount("tmpfs", NEWROOT, "tmpfs", MS_NOSUID | MS_NODEV, "size=64k,nr_inodes=256,mode=0755") < 0 ||
	    mkdir(NEWROOT "/etc", 0755) < 0)
		return ST_ROOT_RO;
	for (size_t i = 0; i < sizeof(allowed_paths) / sizeof(allowed_paths[0]); i++)
		if (add_path(allowed_paths[i]) < 0)
			return ST_ROOT_RO;
	if (add_etc_python() < 0 || write_etc_ids(c) < 0)
		return ST_ROOT_RO;
	if (make_dev() < 0)
		return ST_DEV;
	if (mkdir(NEWROOT "/tmp", 01777) < 0 || mkdir(NEWROOT "/proc", 0555) < 0)
		return ST_ROOT_RO;
	if (mount("tmpfs", NEWROOT "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, c->tmpfs_opts) < 0)
		return ST_TMP;
	for (size_t i = 0; i < ntrees; i++)
		if (trees[i] >= 0 && place_tree(trees[i], c->ro_paths[i]) < 0)
			return ST_BIND;
	if (set_readonly(NEWROOT, 0) < 0)
		return ST_ROOT_RO;
	/* Without a PID namespace a /proc would show the host's processes:
	 * then none (the directory stays empty). */
	if ((c->nsflags & CLONE_NEWPID) &&
	    mount("proc", NEWROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return ST_PROC;
	if (chdir(NEWROOT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return ST_HIDE;
	return 0;
}

/* /proc/1/cmdline shows the memory that held our argv, and we are a copy of
 * whoever cloned us: llm-eval's arguments (--model-args headers=... with a
 * key) would be there for the program to read, as would the environment
 * were it not for non-dumpable. Overwrite both in our copy: the positions
 * are fields 48 to 51 of /proc/self/stat. */
static void scrub_cmdline(void)
{
	char buf[2048];
	int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	if (!p)
		return;
	unsigned long v[4] = { 0, 0, 0, 0 };
	int field = 2; /* the ')' ends field 2 */
	while (*p && field < 51) {
		while (*p && *p != ' ')
			p++;
		while (*p == ' ')
			p++;
		field++;
		if (field >= 48) {
			unsigned long x = 0;
			while (*p >= '0' && *p <= '9')
				x = x * 10 + (unsigned long)(*p++ - '0');
			v[field - 48] = x;
		}
	}
	if (field < 51)
		return;
	static const char name[] = "llm-eval-sandbox-init";
	if (v[1] > v[0] && v[0]) {
		size_t len = v[1] - v[0];
		memset((void *)v[0], 0, len);
		memcpy((void *)v[0], name, len > sizeof(name) ? sizeof(name) - 1 : len - 1);
	}
	if (v[3] > v[2] && v[2])
		memset((void *)v[2], 0, v[3] - v[2]);
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

	if (c->nsflags & CLONE_NEWNS) {
		int step = open_trees(c);
		if (step)
			child_fail(FD_STATUS, step, errno);
	}
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
		int step = build_root(c);
		if (step)
			child_fail(FD_STATUS, step, errno);
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
	if (c->in_from_out) {
		in_fd = FD_OUT;
	} else if (job->input) {
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
	/* After everything that may read the job (its files, its input: the
	 * caller's argv may hold them) and before the program can look; the
	 * program's argv, environment and PATH are the parent's copies. */
	scrub_cmdline();
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


int lle_sb_cgroup_enter(const struct lle_sb_child *c, pid_t pid)
{
	/* The init is a fork of its caller: its resident size may be the
	 * largest in the cgroup, and the kernel's OOM killer must take the
	 * program (whose score it raises itself), never the init, without which
	 * the run has no report. Lowering a score needs CAP_SYS_RESOURCE: tried
	 * as root, and the parent copes with an init killed all the same. */
	if (c->root && c->cg_procs[0] && c->cg_procs[0][0])
		write_file(pid, "oom_score_adj", "-1000");
	char num[16];
	snprintf(num, sizeof(num), "%d", (int)pid);
	for (int i = 0; i < 2; i++) {
		if (!c->cg_procs[i] || !c->cg_procs[i][0])
			continue;
		int fd = open(c->cg_procs[i], O_WRONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		int rc = lle_sb_write_all(fd, num, strlen(num));
		int e = errno;
		close(fd);
		if (rc < 0) {
			errno = e;
			return -1;
		}
	}
	return 0;
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

#define CONFIG_MAGIC 0x6c6c6532u /* "lle2" */

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
	uint32_t nro;               /* ro_paths */
	int32_t in_from_out;
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
	while (c->ro_paths && c->ro_paths[h.nro])
		h.nro++;
	h.in_from_out = c->in_from_out;
	struct cbuf b = { 0 };
	cb_add(&b, &h, sizeof(h));
	cb_str(&b, c->workdir);
	cb_str(&b, c->tmpfs_opts);
	cb_str(&b, c->path);
	cb_str(&b, c->cg_procs[0] ? c->cg_procs[0] : "");
	cb_str(&b, c->cg_procs[1] ? c->cg_procs[1] : "");
	for (uint32_t i = 0; i < h.argc; i++)
		cb_str(&b, c->argv[i]);
	for (uint32_t i = 0; i < h.envc; i++)
		cb_str(&b, c->envp[i]);
	for (uint32_t i = 0; i < h.nro; i++)
		cb_str(&b, c->ro_paths[i]);
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
	    h.nfiles > 65536 || h.nro > LLE_SB_MAX_RO)
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
	c->in_from_out = h.in_from_out;
	struct rlimit *lims[6] = { &c->lim_cpu, &c->lim_as, &c->lim_fsize, &c->lim_nproc,
				   &c->lim_nofile, &c->lim_core };
	for (int i = 0; i < 6; i++) {
		lims[i]->rlim_cur = (rlim_t)h.lim[i][0];
		lims[i]->rlim_max = (rlim_t)h.lim[i][1];
	}
	if (!(c->workdir = take_str(buf, len, &off)) || !(c->tmpfs_opts = take_str(buf, len, &off)) ||
	    !(c->path = take_str(buf, len, &off)) || !(c->cg_procs[0] = take_str(buf, len, &off)) ||
	    !(c->cg_procs[1] = take_str(buf, len, &off)))
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
	if (h.nro) {
		char **ro = calloc(h.nro + 1, sizeof(char *));
		if (!ro)
			return -1;
		for (uint32_t i = 0; i < h.nro; i++)
			if (!(ro[i] = (char *)take_str(buf, len, &off)))
				return -1;
		c->ro_paths = ro;
	}
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
