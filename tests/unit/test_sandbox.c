/* The sandbox: what a program sees inside it, and the attack programs of
 * tests/sandbox/, each of which must be stopped, reported, and leave the host
 * as it was (checked from outside: the listener got no connection, no file
 * appeared, no process remains). Needs python3 in the sandbox's PATH. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "refuse_ns.h"
#include "sandbox/sandbox.h"
#include "tasks/code_exec.h"
#include "util/buf.h"
#include "util/path.h"

static const char *run_dir; /* a scratch directory on the host */
static char helper[4096];   /* build/lib/llm-eval-sandbox-init */

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	struct lle_buf b = LLE_BUF_INIT;
	char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		lle_buf_add(&b, chunk, n);
	fclose(f);
	if (len)
		*len = b.n;
	return lle_buf_detach(&b);
}

/* tests/sandbox/NAME, from the source tree (tests run from the top; a binary
 * run from elsewhere finds it beside build/). */
static char *attack_source(const char *name, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "tests/sandbox/%s", name);
	char *s = slurp(path, len);
	if (!s && lle_exe_dir()) {
		snprintf(path, sizeof(path), "%s/../../tests/sandbox/%s", lle_exe_dir(), name);
		s = slurp(path, len);
	}
	return s;
}

/* Run a shell-free argv with one optional input file. */
static int run(const struct lle_sandbox_opts *o, const char *const *argv, const char *fname,
	       const char *fdata, const char *input, struct lle_sandbox_result *r, struct lle_err *err)
{
	struct lle_sandbox_file f = { fname, fdata, fdata ? strlen(fdata) : 0 };
	struct lle_sandbox_job job = { .argv = argv, .input = input, .input_len = input ? strlen(input) : 0,
				       .files = fname ? &f : NULL, .nfiles = fname ? 1 : 0 };
	return lle_sandbox_run(o, &job, r, err);
}

/* Is any process on the host running with this string in its command line? */
static int process_with(const char *marker)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;
	if (!d)
		return -1;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		size_t n;
		char *s = slurp(path, &n);
		if (!s)
			continue;
		for (size_t i = 0; i < n; i += strlen(s + i) + 1)
			if (strstr(s + i, marker))
				found = 1;
		free(s);
	}
	closedir(d);
	return found;
}

/* How many host processes have this string in their command line; with
 * kill_them, SIGKILL them (to clean up after a failed check). */
static int processes_with(const char *marker, int kill_them)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	int found = 0;
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		size_t n;
		char *s = slurp(path, &n);
		if (!s)
			continue;
		int hit = 0;
		for (size_t i = 0; i < n; i += strlen(s + i) + 1)
			if (strstr(s + i, marker))
				hit = 1;
		free(s);
		if (hit) {
			found++;
			if (kill_them)
				kill((pid_t)atoi(e->d_name), SIGKILL);
		}
	}
	closedir(d);
	return found;
}

TEST(probe_reports_every_protection)
{
	const struct lle_sandbox_probe *p = lle_sandbox_probe();
	/* This machine and CI allow all of them; a kernel that does not makes
	 * this line say which, rather than the attacks below fail mysteriously. */
	if (p->missing[0])
		printf("#   missing: %s\n", p->missing);
	CHECK_INTEQ(p->have, LLE_PROT_ALL);
	CHECK_STREQ(lle_sandbox_prot_name(LLE_PROT_NET), "network namespace");
}

TEST(runs_and_captures)
{
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	const char *argv[] = { "python3", "-c",
		"import sys; print(sys.stdin.read().upper()); print(open('data.txt').read()); "
		"sys.stderr.write('to stderr'); sys.exit(7)", NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, "data.txt", "file contents", "from stdin", &r, &err) == 0);
	if (err.code) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_INTEQ(r.end, LLE_SANDBOX_EXITED);
	CHECK_INTEQ(r.exit_code, 7);
	CHECK_STREQ(r.out, "FROM STDIN\nfile contents\n");
	CHECK_STREQ(r.err, "to stderr");
	CHECK(!r.out_truncated && !r.err_truncated);
	lle_sandbox_result_free(&r);
}

TEST(what_the_program_sees)
{
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	/* Identity, capabilities, environment, descriptors, network, processes. */
	const char *argv[] = { "python3", "-c",
		"import os\n"
		"st = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
		"print('uid', os.getuid())\n"
		"print('caps', st['CapEff'].strip(), st['CapPrm'].strip(), st['CapBnd'].strip())\n"
		"print('nnp', st['NoNewPrivs'].strip(), 'seccomp', st['Seccomp'].strip())\n"
		"print('env', sorted(os.environ))\n"
		"print('fds', sorted(int(f) for f in os.listdir('/proc/self/fd')))\n"
		"print('ifaces', [l.split(':')[0].strip() for l in open('/proc/net/dev').read().splitlines()[2:]])\n"
		"print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
		"print('cwd', os.getcwd(), 'home', os.path.exists('/home'), os.path.exists('/root'))\n"
		"import ctypes\n"
		"libc = ctypes.CDLL(None, use_errno=True)\n"
		"def denied(rc):\n"
		"    return 'denied' if rc == -1 and ctypes.get_errno() == 1 else 'allowed %d' % rc\n"
		"print('unshare', denied(libc.unshare(0x10000000)))\n"
		"print('ptrace', denied(libc.ptrace(0, 0, 0, 0)))\n"
		"print('mount', denied(libc.mount(b'none', b'/tmp', b'tmpfs', 0, None)))\n"
		"print('inet', denied(libc.socket(2, 1, 0)), 'inet6', denied(libc.socket(10, 2, 0)))\n"
		"print('unix', libc.socket(1, 1, 0) >= 0)\n"
		"print('setsid', denied(libc.setsid()))\n"
		"print('dev', sorted(os.listdir('/dev')))\n"
		"print('host', os.uname().nodename)\n"
		"open('/dev/stderr', 'w').write('via /dev/stderr')\n",
		NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	int fd = open("/dev/null", O_RDONLY); /* not O_CLOEXEC: must still not be inherited */
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) == 0);
	close(fd);
	if (err.code) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_INTEQ(r.exit_code, 0);
	if (r.exit_code)
		printf("#   %s\n", r.err);
	CHECK(strstr(r.out, "uid 0\n") == NULL);
	CHECK(strstr(r.out, "caps 0000000000000000 0000000000000000 0000000000000000\n") != NULL);
	CHECK(strstr(r.out, "nnp 1 seccomp 2\n") != NULL);
	CHECK(strstr(r.out, "env ['HOME', 'LANG', 'PATH', 'PYTHONDONTWRITEBYTECODE', 'TMPDIR']\n") != NULL);
	/* 0, 1, 2 and the one listdir itself opens. */
	CHECK(strstr(r.out, "fds [0, 1, 2, 3]\n") != NULL);
	CHECK(strstr(r.out, "ifaces ['lo']\n") != NULL);
	/* Only the sandbox's init (1) and the program (2). */
	CHECK(strstr(r.out, "pids [1, 2]\n") != NULL);
	CHECK(strstr(r.out, "cwd /tmp home False False\n") != NULL);
	/* The seccomp filter: namespaces, ptrace, mount, sockets but AF_UNIX. */
	CHECK(strstr(r.out, "unshare denied\nptrace denied\nmount denied\ninet denied inet6 denied\n"
			    "unix True\nsetsid denied\n") != NULL);
	/* A /dev of its own, and its pipes reopen through it. */
	CHECK(strstr(r.out, "dev ['fd', 'full', 'null', 'random', 'shm', 'stderr', 'stdin', 'stdout', "
			    "'urandom', 'zero']\n") != NULL);
	CHECK_STREQ(r.err, "via /dev/stderr");
	CHECK(strstr(r.out, "host sandbox\n") != NULL);
	if (check_failed_now)
		printf("#   out: %s\n", r.out);
	lle_sandbox_result_free(&r);
}

TEST(descriptor_3_is_the_jobs_alone)
{
	/* A job's fd3 bytes (code_exec's secret) are on descriptor 3, the only
	 * one besides 0, 1 and 2; whoever clones the init included. */
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	const char *argv[] = { "python3", "-c",
		"import os\n"
		"fds = sorted(int(f) for f in os.listdir('/proc/self/fd'))\n"
		"print('fds', fds, os.read(3, 100), os.read(3, 100))\n", NULL };
	struct lle_sandbox_job job = { .argv = argv, .fd3 = "the-secret", .fd3_len = 10 };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	for (int k = 0; k < 2; k++) {
		setenv("LLM_EVAL_SANDBOX_INIT", k ? helper : "none", 1);
		int fd = open("/dev/null", O_RDONLY); /* not O_CLOEXEC: must still not be inherited */
		CHECK(lle_sandbox_run(&o, &job, &r, &err) == 0);
		close(fd);
		if (err.code) {
			printf("#   %s\n", err.msg);
			break;
		}
		/* 0, 1, 2, 3 and the one listdir opens. */
		CHECK_STREQ(r.out, "fds [0, 1, 2, 3, 4] b'the-secret' b''\n");
		lle_sandbox_result_free(&r);
	}
	unsetenv("LLM_EVAL_SANDBOX_INIT");
}

TEST(tiocsti_denied_whatever_the_upper_bits)
{
	/* The kernel takes an ioctl's request as 32 bits: TIOCSTI with bit 32
	 * set is TIOCSTI. The filter must refuse it (EPERM) as it refuses the
	 * plain one; another request with the same bit set is not refused by
	 * the filter (ENOTTY: /dev/null is no terminal). */
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	const char *argv[] = { "python3", "-c",
		"import ctypes, os, termios\n"
		"libc = ctypes.CDLL(None, use_errno=True)\n"
		"nr = {'x86_64': 16, 'aarch64': 29}[os.uname().machine]\n"
		"c = ctypes.c_char(b'x')\n"
		"for req in (termios.TIOCSTI, termios.TIOCSTI | 1 << 32, termios.FIONREAD | 1 << 32):\n"
		"    rc = libc.syscall(ctypes.c_long(nr), ctypes.c_long(0), ctypes.c_ulong(req), ctypes.byref(c))\n"
		"    print(hex(req), rc, os.strerror(ctypes.get_errno()) if rc < 0 else '')\n",
		NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) == 0);
	if (err.code) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_INTEQ(r.exit_code, 0);
	CHECK(strstr(r.out, "0x5412 -1 Operation not permitted\n") != NULL);
	CHECK(strstr(r.out, "0x100005412 -1 Operation not permitted\n") != NULL);
	CHECK(strstr(r.out, "0x10000541b -1 Inappropriate ioctl for device\n") != NULL);
	if (check_failed_now)
		printf("#   out: %s#   err: %s\n", r.out, r.err);
	lle_sandbox_result_free(&r);
}

/* Did the program print "absent PATH" on a line? */
static int said_absent(const char *out, const char *path)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_printf(&b, "absent %s\n", path);
	int ok = !b.oom && strstr(out, b.p) != NULL;
	lle_buf_free(&b);
	return ok;
}

/* The file system is an allow-list: none of the host's files but the
 * interpreter's. Host paths with a file in them (the checkout, /var, /opt,
 * /srv, the shared datasets), a pathname unix socket listening on the host,
 * and what /proc shows of pid 1 (a copy of this process: its arguments) and
 * of the mounts. */
static void host_files_invisible(const char *how)
{
	static char top[4096], base[4096], sock_path[4200], files[4][4200], shared[4200];
	if (!getcwd(top, sizeof(top)) || !realpath(run_dir, base))
		return;
	/* In the checkout (the scratch directory is in the build tree). */
	snprintf(files[0], sizeof(files[0]), "%s/visible", base);
	snprintf(files[1], sizeof(files[1]), "/var/lle-visible-%d", (int)getpid());
	snprintf(files[2], sizeof(files[2]), "/opt/lle-visible-%d", (int)getpid());
	snprintf(files[3], sizeof(files[3]), "/srv/lle-visible-%d", (int)getpid());
	for (int i = 0; i < 4; i++) {
		FILE *f = fopen(files[i], "w");
		if (f)
			fclose(f);
	}
	const char *sh = getenv("SHARED");
	if (realpath(sh && *sh ? sh : "../shared", base))
		snprintf(shared, sizeof(shared), "%s/datasets", base);
	else
		snprintf(shared, sizeof(shared), "%s/../shared/datasets", top);
	if (!realpath(run_dir, base))
		return;
	snprintf(sock_path, sizeof(sock_path), "%s/sock", base);
	int ls = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		printf("#   '%s' is too long for a unix socket\n", sock_path);
	else
		memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	unlink(sock_path);
	CHECK(ls >= 0 && bind(ls, (struct sockaddr *)&sa, sizeof(sa)) == 0 && listen(ls, 4) == 0 &&
	      chmod(sock_path, 0777) == 0);
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	const char *argv[] = { "python3", "-c",
		"import os, socket, sys\n"
		"for p in sys.argv[1:-1]:\n"
		"    print('exists' if os.path.exists(p) else 'absent', p)\n"
		"s = socket.socket(socket.AF_UNIX)\n"
		"try:\n"
		"    s.connect(sys.argv[-1])\n"
		"    s.send(b'hello')\n"
		"    print('CONNECTED')\n"
		"except OSError as e:\n"
		"    print('connect', e.strerror)\n"
		"print('cmdline', open('/proc/1/cmdline', 'rb').read().replace(b'\\0', b' ').strip().decode())\n"
		"mi = open('/proc/self/mountinfo').read()\n"
		"print('mountinfo', mi.replace('\\n', ' | '))\n",
		files[0], files[1], files[2], files[3], shared, top, sock_path, NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) == 0);
	if (err.code) {
		printf("#   %s\n", err.msg);
		goto out;
	}
	CHECK_INTEQ(r.exit_code, 0);
	for (int i = 0; i < 4; i++)
		CHECK(said_absent(r.out, files[i]));
	CHECK(said_absent(r.out, shared));
	CHECK(said_absent(r.out, top));
	CHECK(strstr(r.out, "connect No such file or directory\n") != NULL);
	int cs = accept(ls, NULL, NULL);
	CHECK(cs < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	if (cs >= 0)
		close(cs);
	/* pid 1 is the sandbox's init, a copy of this process: not our argv. */
	CHECK(strstr(r.out, "cmdline llm-eval-sandbox-init\n") != NULL);
	CHECK(strstr(r.out, "test_sandbox") == NULL);
	/* No host path in the mount table: only the allowed ones. */
	const char *mi = strstr(r.out, "mountinfo ");
	CHECK(mi && !strstr(mi, top) && !strstr(mi, "/sys/fs") && !strstr(mi, "/home") &&
	      !strstr(mi, "/var"));
	if (check_failed_now)
		printf("#   %s: out: %s#   err: %s\n", how, r.out, r.err);
	lle_sandbox_result_free(&r);
out:
	if (ls >= 0)
		close(ls);
	unlink(sock_path);
	for (int i = 0; i < 4; i++)
		unlink(files[i]);
}

TEST(host_files_are_invisible)
{
	setenv("LLM_EVAL_SANDBOX_INIT", "none", 1);
	host_files_invisible("forked");
	setenv("LLM_EVAL_SANDBOX_INIT", helper, 1);
	host_files_invisible("helper");
	unsetenv("LLM_EVAL_SANDBOX_INIT");
}

TEST(missing_program_is_an_error)
{
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	const char *argv[] = { "no-such-interpreter-xyz", NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) < 0);
	CHECK_INTEQ(err.code, LLE_EXIT_CONFIG);
	CHECK(strstr(err.msg, "cannot run 'no-such-interpreter-xyz'") != NULL);
	const char *bad[] = { "python3", NULL };
	struct lle_sandbox_file f = { "../escape.py", "", 0 };
	struct lle_sandbox_job job = { .argv = bad, .files = &f, .nfiles = 1 };
	CHECK(lle_sandbox_run(&o, &job, &r, &err) < 0);
	CHECK(strstr(err.msg, "bad input file name '../escape.py'") != NULL);
}

TEST(small_caller_forks_the_init_itself)
{
	/* This test process is small: no helper unless asked for. */
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	const char *argv[] = { "true", NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) == 0);
	CHECK(!r.helper);
	lle_sandbox_result_free(&r);
	setenv("LLM_EVAL_SANDBOX_INIT", "/nonexistent/llm-eval-sandbox-init", 1);
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) < 0);
	CHECK(strstr(err.msg, "cannot start '/nonexistent/llm-eval-sandbox-init'") != NULL);
	setenv("LLM_EVAL_SANDBOX_INIT", helper, 1);
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) == 0);
	CHECK(r.helper && r.end == LLE_SANDBOX_EXITED && r.exit_code == 0);
	lle_sandbox_result_free(&r);
	unsetenv("LLM_EVAL_SANDBOX_INIT");
}

TEST(output_is_capped_head_and_tail)
{
	struct lle_sandbox_opts o = { .timeout_s = 20, .out_cap = 1000 };
	const char *argv[] = { "python3", "-c", "print('A' * 5000 + 'Z')", NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) == 0);
	if (err.code)
		return;
	CHECK(r.out_truncated);
	CHECK(strncmp(r.out, "AAAA", 4) == 0);
	CHECK(strstr(r.out, "[... 4002 bytes dropped ...]") != NULL);
	CHECK(r.out_len > 2 && strcmp(r.out + r.out_len - 2, "Z\n") == 0);
	CHECK(r.out_len < 1100);
	lle_sandbox_result_free(&r);
}

struct pool_seen {
	int calls[8];
	int order_ok;
};

static void pool_done(void *ud, size_t i, const struct lle_sandbox_result *r, const struct lle_err *err)
{
	struct pool_seen *s = ud;
	(void)err;
	char want[16];
	snprintf(want, sizeof(want), "job %zu\n", i);
	if (i < 8)
		s->calls[i]++;
	if (!r || strcmp(r->out, want) != 0)
		s->order_ok = 0;
}

TEST(pool_runs_every_job_once)
{
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	char codes[8][64];
	const char *argvs[8][4];
	struct lle_sandbox_job jobs[8];
	for (int i = 0; i < 8; i++) {
		snprintf(codes[i], sizeof(codes[i]), "print('job %d')", i);
		argvs[i][0] = "python3";
		argvs[i][1] = "-c";
		argvs[i][2] = codes[i];
		argvs[i][3] = NULL;
		jobs[i] = (struct lle_sandbox_job){ .argv = argvs[i] };
	}
	struct pool_seen s = { .order_ok = 1 };
	struct lle_err err = { 0 };
	CHECK(lle_sandbox_run_all(&o, jobs, 8, 3, pool_done, &s, &err) == 0);
	for (int i = 0; i < 8; i++)
		CHECK_INTEQ(s.calls[i], 1);
	CHECK(s.order_ok);
	CHECK(lle_sandbox_pool_size(&o) >= 1);
	/* A memory limit larger than the machine leaves one at a time. */
	struct lle_sandbox_opts huge = { .memory_mb = 1u << 30 };
	CHECK_INTEQ(lle_sandbox_pool_size(&huge), 1);
}

/* ---- the attacks, run together on the pool ---- */

/* In the order they run: [0, A_FORK) together, [A_ALLOC, A_N) together, then
 * the fork bomb and the loop. */
enum { A_TCP, A_RESOLVE, A_FORK, A_LOOP, A_ALLOC, A_WRITE, A_ENV, A_KILL, A_LINGER, A_N };
static const char *const attack_files[A_N] = {
	"tcp_connect.py", "resolve.py", "fork_bomb.py", "loop.py", "alloc.py", "write_outside.py",
	"read_env.py", "kill_parent.py", "linger.py",
};

struct attack_run {
	struct lle_code_outcome out[A_N];
	char *stdout_[A_N];
	char *stderr_[A_N];
	int ran[A_N];
	char errmsg[A_N][sizeof(((struct lle_err *)0)->msg)];
};

static void attack_done(void *ud, size_t i, const struct lle_sandbox_result *r, const struct lle_err *err)
{
	struct attack_run *a = ud;
	if (!r) {
		snprintf(a->errmsg[i], sizeof(a->errmsg[i]), "%s", err->msg);
		return;
	}
	if (!r->helper)
		snprintf(a->errmsg[i], sizeof(a->errmsg[i]), "not run through the helper");
	a->ran[i] = r->helper;
	lle_code_classify(r, 5, 128, NULL, &a->out[i]);
	a->stdout_[i] = lle_strdup(r->out);
	a->stderr_[i] = lle_strdup(r->err);
}

/* The pool numbers a batch's jobs from 0: shift them back. */
static void attack_done_alloc_on(void *ud, size_t i, const struct lle_sandbox_result *r, const struct lle_err *err)
{
	attack_done(ud, i + A_ALLOC, r, err);
}

static void attack_done_fork(void *ud, size_t i, const struct lle_sandbox_result *r, const struct lle_err *err)
{
	attack_done(ud, i + A_FORK, r, err);
}

static int outcome_is(const struct attack_run *a, int i, enum lle_code_status st, const char *exc)
{
	int ok = a->ran[i] && a->out[i].status == st && (!exc || strcmp(a->out[i].exception, exc) == 0);
	if (!ok)
		printf("#   %s: %s %s (%s) %s\n", attack_files[i], a->ran[i] ? "got" : "did not run:",
		       a->ran[i] ? lle_code_status_name(a->out[i].status) : a->errmsg[i],
		       a->out[i].exception, a->out[i].detail);
	return ok;
}

static int has(const char *s, const char *needle)
{
	return s && strstr(s, needle);
}

static struct attack_run attacks;
static int listener = -1;
static char marker_bomb[64], marker_linger[64], host_tmp_file[256], host_dir_file[512];
static char host_vartmp_file[256], host_etc_file[256];

static void run_attacks(void)
{
	/* A listener on this machine's loopback, the test's secret, and host
	 * paths the program will try to write (the directory is world-writable:
	 * only the sandbox's read-only view may stop it). */
	setenv("OPENAI_API_KEY", "sk-test-secret", 1);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	socklen_t sl = sizeof(sa);
	if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(listener, 8) < 0 || getsockname(listener, (struct sockaddr *)&sa, &sl) < 0) {
		printf("#   cannot open a listener: %s\n", strerror(errno));
		return;
	}
	char port[16], mypid[16];
	snprintf(port, sizeof(port), "%d", ntohs(sa.sin_port));
	snprintf(mypid, sizeof(mypid), "%d", (int)getpid());
	snprintf(marker_bomb, sizeof(marker_bomb), "lle-bomb-%d", (int)getpid());
	snprintf(marker_linger, sizeof(marker_linger), "lle-linger-%d", (int)getpid());
	snprintf(host_tmp_file, sizeof(host_tmp_file), "/tmp/lle-attack-%d", (int)getpid());
	snprintf(host_vartmp_file, sizeof(host_vartmp_file), "/var/tmp/lle-attack-%d", (int)getpid());
	snprintf(host_dir_file, sizeof(host_dir_file), "%s/escaped", run_dir);
	snprintf(host_etc_file, sizeof(host_etc_file), "/etc/lle-attack-%d", (int)getpid());

	const char *argv[A_N][7] = {
		[A_TCP] = { "python3", "tcp_connect.py", port },
		[A_RESOLVE] = { "python3", "resolve.py" },
		[A_FORK] = { "python3", "fork_bomb.py", marker_bomb },
		[A_ALLOC] = { "python3", "alloc.py" },
		[A_LOOP] = { "python3", "loop.py" },
		/* The first lands in the sandbox's own /tmp: allowed, invisible. */
		[A_WRITE] = { "python3", "write_outside.py", host_tmp_file, host_dir_file, host_vartmp_file,
			      host_etc_file },
		[A_ENV] = { "python3", "read_env.py" },
		[A_KILL] = { "python3", "kill_parent.py", mypid },
		[A_LINGER] = { "python3", "linger.py", marker_linger },
	};
	struct lle_sandbox_file files[A_N];
	struct lle_sandbox_job jobs[A_N];
	char *src[A_N] = { 0 };
	for (int i = 0; i < A_N; i++) {
		size_t len = 0;
		src[i] = attack_source(attack_files[i], &len);
		if (!src[i]) {
			printf("#   cannot read tests/sandbox/%s\n", attack_files[i]);
			goto out;
		}
		files[i] = (struct lle_sandbox_file){ attack_files[i], src[i], len };
		jobs[i] = (struct lle_sandbox_job){ .argv = argv[i], .files = &files[i], .nfiles = 1 };
	}
	struct lle_sandbox_opts o = { .timeout_s = 5, .memory_mb = 128, .nproc = 32 };
	struct lle_err err = { 0 };
	/* The attacks go through the helper executable, the way a large caller
	 * (the engine with a model loaded) runs them; the tests above fork the
	 * init from this process. */
	setenv("LLM_EVAL_SANDBOX_INIT", helper, 1);
	/* The two that spin on the CPU until the timeout go last, so that on a
	 * busy machine they do not starve the others of their time. */
	if (lle_sandbox_run_all(&o, jobs, A_FORK, A_FORK, attack_done, &attacks, &err) < 0 ||
	    lle_sandbox_run_all(&o, jobs + A_ALLOC, A_N - A_ALLOC, A_N - A_ALLOC, attack_done_alloc_on,
				&attacks, &err) < 0 ||
	    lle_sandbox_run_all(&o, jobs + A_FORK, 2, 2, attack_done_fork, &attacks, &err) < 0)
		printf("#   %s\n", err.msg);
out:
	unsetenv("LLM_EVAL_SANDBOX_INIT");
	for (int i = 0; i < A_N; i++)
		free(src[i]);
}

TEST(attack_tcp_connect)
{
	CHECK(outcome_is(&attacks, A_TCP, LLE_CODE_EXCEPTION, "PermissionError"));
	CHECK(!has(attacks.stdout_[A_TCP], "CONNECTED"));
	/* The listener never saw a connection. */
	int c = accept(listener, NULL, NULL);
	CHECK(c < 0 && (errno == EAGAIN || errno == EWOULDBLOCK));
	if (c >= 0)
		close(c);
}

TEST(attack_resolve_host_name)
{
	CHECK(outcome_is(&attacks, A_RESOLVE, LLE_CODE_EXCEPTION, "socket.gaierror"));
	CHECK(!has(attacks.stdout_[A_RESOLVE], "RESOLVED"));
}

TEST(attack_fork_bomb)
{
	CHECK(outcome_is(&attacks, A_FORK, LLE_CODE_TIMEOUT, NULL));
	CHECK_INTEQ(process_with(marker_bomb), 0);
}

TEST(attack_allocate_without_limit)
{
	CHECK(outcome_is(&attacks, A_ALLOC, LLE_CODE_KILLED, "MemoryError"));
	CHECK(has(attacks.out[A_ALLOC].detail, "out of memory (address-space limit 128 MB)"));
}

TEST(attack_infinite_loop)
{
	CHECK(outcome_is(&attacks, A_LOOP, LLE_CODE_TIMEOUT, NULL));
	CHECK_STREQ(attacks.out[A_LOOP].detail, "timed out after 5 s");
}

TEST(attack_write_outside_its_directory)
{
	/* /etc is read-only; /var and the scratch directory are not there. */
	CHECK(outcome_is(&attacks, A_WRITE, LLE_CODE_EXCEPTION, "OSError"));
	char want[600];
	snprintf(want, sizeof(want), "blocked %s: Read-only file system\n", host_etc_file);
	CHECK(has(attacks.stdout_[A_WRITE], want));
	snprintf(want, sizeof(want), "blocked %s: No such file or directory\n", host_vartmp_file);
	CHECK(has(attacks.stdout_[A_WRITE], want));
	snprintf(want, sizeof(want), "blocked %s: ", host_dir_file);
	CHECK(has(attacks.stdout_[A_WRITE], want));
	/* Inside, /tmp is the sandbox's own: that write worked and vanished. */
	CHECK(has(attacks.stdout_[A_WRITE], "WROTE /tmp/lle-attack-"));
	CHECK(access(host_tmp_file, F_OK) < 0);
	CHECK(access(host_dir_file, F_OK) < 0);
	CHECK(access(host_vartmp_file, F_OK) < 0);
	CHECK(access(host_etc_file, F_OK) < 0);
	if (check_failed_now)
		printf("#   out: %s\n", attacks.stdout_[A_WRITE]);
}

TEST(attack_read_parent_environment)
{
	CHECK(outcome_is(&attacks, A_ENV, LLE_CODE_EXCEPTION, "KeyError"));
	CHECK(attacks.ran[A_ENV] && !has(attacks.stdout_[A_ENV], "sk-test-secret") &&
	      !has(attacks.stderr_[A_ENV], "sk-test-secret"));
	/* It did look: the init's environment is a copy of ours, refused. */
	CHECK(has(attacks.stdout_[A_ENV], "blocked /proc/1/environ"));
}

TEST(attack_kill_parent)
{
	CHECK(outcome_is(&attacks, A_KILL, LLE_CODE_EXCEPTION, "ProcessLookupError"));
	CHECK(!has(attacks.stdout_[A_KILL], "KILLED"));
	/* We are still here to say so, and the pool ran every other attack. */
	for (int i = 0; i < A_N; i++)
		CHECK(attacks.ran[i]);
}

TEST(attack_leave_a_process_behind)
{
	CHECK(outcome_is(&attacks, A_LINGER, LLE_CODE_TIMEOUT, NULL));
	CHECK(has(attacks.stdout_[A_LINGER], "setsid: Operation not permitted"));
	CHECK_INTEQ(process_with(marker_linger), 0);
}

/* ---- the memory of the whole sandbox ----
 * RLIMIT_AS bounds each process's address space: pages of a memfd (or of a
 * tmpfs) written with write() are not in it, and N processes hold N times
 * it. The run's cgroup bounds them all together (issue 13: 1,440 MB held
 * under --memory 128). */

TEST(memory_bounds_the_whole_sandbox)
{
	struct lle_sandbox_opts o = { .timeout_s = 30, .memory_mb = 128 };
	/* 256 MB into memfds, 1 MB at a time, a new one every 32 MB (each
	 * stays under RLIMIT_FSIZE). */
	const char *memfd[] = { "python3", "-c",
		"import os\n"
		"chunk = b'x' * (1 << 20)\n"
		"fds = []\n"
		"for i in range(1, 257):\n"
		"    if i % 32 == 1:\n"
		"        fds.append(os.memfd_create('x'))\n"
		"    os.write(fds[-1], chunk)\n"
		"    if i % 8 == 0:\n"
		"        print('held', i, flush=True)\n"
		"print('DONE', flush=True)\n", NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, memfd, NULL, NULL, NULL, &r, &err) == 0);
	if (err.code) {
		printf("#   %s\n", err.msg);
		return;
	}
	int most = 0;
	for (const char *p = r.out; (p = strstr(p, "held ")); p += 5)
		most = atoi(p + 5);
	CHECK(strstr(r.out, "DONE") == NULL);
	CHECK(most < 128);
	CHECK(r.end == LLE_SANDBOX_SIGNALED || (r.end == LLE_SANDBOX_EXITED && r.exit_code != 0));
	if (check_failed_now)
		printf("#   memfd: most %d MB; out: %s#   err: %s\n", most, r.out, r.err);
	lle_sandbox_result_free(&r);

	/* Four processes of 64 MB each, well under RLIMIT_AS each, held at
	 * once for three seconds: at most one can do so within 128 MB. */
	const char *procs[] = { "python3", "-c",
		"import os, time\n"
		"kids = []\n"
		"for i in range(4):\n"
		"    pid = os.fork()\n"
		"    if pid == 0:\n"
		"        b = bytearray(64 << 20)\n"
		"        for j in range(0, len(b), 4096):\n"
		"            b[j] = 1\n"
		"        time.sleep(3)\n"
		"        os._exit(0)\n"
		"    kids.append(pid)\n"
		"ok = 0\n"
		"for pid in kids:\n"
		"    st = os.waitpid(pid, 0)[1]\n"
		"    ok += os.WIFEXITED(st) and os.WEXITSTATUS(st) == 0\n"
		"print('held at once', ok, flush=True)\n", NULL };
	CHECK(run(&o, procs, NULL, NULL, NULL, &r, &err) == 0);
	if (err.code) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK(strstr(r.out, "held at once 0\n") != NULL || strstr(r.out, "held at once 1\n") != NULL);
	if (check_failed_now)
		printf("#   processes: out: %s#   err: %s\n", r.out, r.err);
	lle_sandbox_result_free(&r);
}

/* ---- llm-eval killed while its sandboxes run ----
 * A child process (this binary, --orphan) runs NORPHAN sleeping programs on
 * the pool; the test kills it with SIGKILL once they all run. Every process
 * of those sandboxes must then go, well before the programs' own end: the
 * init dies with its parent (PR_SET_PDEATHSIG, which a change of uid clears,
 * so it must be set after it), and the PID namespace with its init. */

#define NORPHAN 4

static int orphan_main(const char *marker)
{
	struct lle_sandbox_opts o = { .timeout_s = 120 };
	const char *argv[] = { "python3", "-c", "import time; time.sleep(120)", marker, NULL };
	struct lle_sandbox_job jobs[NORPHAN];
	for (int i = 0; i < NORPHAN; i++)
		jobs[i] = (struct lle_sandbox_job){ .argv = argv };
	struct lle_err err = { 0 };
	lle_sandbox_run_all(&o, jobs, NORPHAN, NORPHAN, NULL, NULL, &err);
	return 1; /* never reached: killed first */
}

static void orphans_die_with(const char *how)
{
	char marker[64];
	snprintf(marker, sizeof(marker), "lle-orphan-%d-%s", (int)getpid(), how);
	char *rargv[] = { "test_sandbox", "--orphan", marker, NULL };
	extern char **environ;
	pid_t pid;
	CHECK(posix_spawn(&pid, "/proc/self/exe", NULL, NULL, rargv, environ) == 0);
	/* Until all of them run (bounded: the machine may be busy). */
	int n = 0;
	for (int i = 0; i < 600 && (n = processes_with(marker, 0)) < NORPHAN + 1; i++)
		usleep(100000);
	/* NORPHAN programs, and the child itself. */
	CHECK(n >= NORPHAN + 1);
	kill(pid, SIGKILL);
	int st;
	waitpid(pid, &st, 0);
	/* The programs would sleep two minutes; the kernel takes them at once. */
	for (int i = 0; i < 200 && (n = processes_with(marker, 0)) > 0; i++)
		usleep(50000);
	CHECK_INTEQ(n, 0);
	if (n > 0)
		printf("#   %d sandboxed processes outlived the killed caller (%s)\n", n, how);
	processes_with(marker, 1);
}

TEST(sandboxes_die_with_a_killed_caller)
{
	setenv("LLM_EVAL_SANDBOX_INIT", "none", 1);
	orphans_die_with("forked");
	setenv("LLM_EVAL_SANDBOX_INIT", helper, 1);
	orphans_die_with("helper");
	unsetenv("LLM_EVAL_SANDBOX_INIT");
}

/* ---- a kernel that refuses some namespaces ----
 * The test binary runs itself again with a seccomp filter that refuses user
 * and network namespaces, as container runtimes do: as root, the sandbox
 * must fall back to running the program as uid 65534, refuse to run without
 * a network namespace, and run (saying so) with allow_weak. */

TEST(restricted_probe)
{
	const struct lle_sandbox_probe *p = lle_sandbox_probe();
	CHECK(!p->userns);
	CHECK(!(p->have & LLE_PROT_NET));
	CHECK(strstr(p->missing, "network namespace (Operation not permitted)") != NULL);
	if (p->root) {
		/* Root drops to uid 65534 instead of a user namespace. */
		CHECK(p->have & LLE_PROT_USER);
		CHECK(p->have & LLE_PROT_PID);
		CHECK(p->have & LLE_PROT_MOUNT);
	} else {
		CHECK(strstr(p->missing, "user namespace (") != NULL);
	}
}

TEST(restricted_refuses_without_allow_weak)
{
	struct lle_sandbox_opts o = { .timeout_s = 20 };
	const char *argv[] = { "python3", "-c", "print('ran')", NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) < 0);
	CHECK_INTEQ(err.code, LLE_EXIT_CONFIG);
	CHECK(strstr(err.msg, "network namespace") != NULL);
	CHECK(strstr(err.msg, "--allow-weak-sandbox") != NULL);
}

TEST(restricted_runs_with_allow_weak)
{
	struct lle_sandbox_opts o = { .timeout_s = 20, .allow_weak = 1 };
	/* /etc: visible (unlike the scratch directory when the tree is under
	 * /tmp) and, as root, writable on the host. */
	char target[600];
	snprintf(target, sizeof(target), "/etc/lle-weak-%d", (int)getpid());
	const char *argv[] = { "python3", "-c",
		"import os, sys\n"
		"st = dict(l.split(':\\t', 1) for l in open('/proc/self/status').read().splitlines() if ':\\t' in l)\n"
		"print('uid', os.getuid(), 'caps', st['CapEff'].strip(), 'nnp', st['NoNewPrivs'].strip())\n"
		"print('pids', sorted(int(p) for p in os.listdir('/proc') if p.isdigit()))\n"
		"print('key', os.environ.get('OPENAI_API_KEY'))\n"
		"try:\n"
		"    open(sys.argv[1], 'w')\n"
		"    print('WROTE')\n"
		"except OSError as e:\n"
		"    print('write', e.strerror)\n",
		target, NULL };
	struct lle_sandbox_result r;
	struct lle_err err = { 0 };
	CHECK(run(&o, argv, NULL, NULL, NULL, &r, &err) == 0);
	if (err.code) {
		printf("#   %s\n", err.msg);
		return;
	}
	CHECK_INTEQ(r.exit_code, 0);
	CHECK(strstr(r.weak, "network namespace") != NULL);
	CHECK_INTEQ(r.helper, strcmp(getenv("LLM_EVAL_SANDBOX_INIT"), "none") != 0);
	CHECK(strstr(r.out, "key None\n") != NULL);
	if (lle_sandbox_probe()->root) {
		CHECK(strstr(r.out, "uid 65534 caps 0000000000000000 nnp 1\n") != NULL);
		CHECK(strstr(r.out, "pids [1, 2]\n") != NULL);
		CHECK(strstr(r.out, "write Read-only file system\n") != NULL);
		CHECK(access(target, F_OK) < 0);
	}
	if (check_failed_now)
		printf("#   out: %s#   err: %s\n", r.out, r.err);
	lle_sandbox_result_free(&r);
	unlink(target);
}

static int restricted_main(void)
{
	if (refuse_namespaces(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
		printf("not ok - restricted: cannot install the seccomp filter\n");
		return 1;
	}
	RUN(restricted_probe);
	RUN(restricted_refuses_without_allow_weak);
	RUN(restricted_runs_with_allow_weak);
	return check_done();
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--restricted") == 0) {
		run_dir = argv[2];
		setenv("OPENAI_API_KEY", "sk-test-secret", 1);
		return restricted_main();
	}
	if (argc == 3 && strcmp(argv[1], "--orphan") == 0)
		return orphan_main(argv[2]);
	unsetenv("LLM_EVAL_SANDBOX_INIT"); /* each test says how it wants it */
	/* Not under /tmp, which the sandbox replaces with its own. */
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/sandbox-scratch.XXXXXX", lle_exe_dir() ? lle_exe_dir() : ".");
	run_dir = mkdtemp(tmpl);
	snprintf(helper, sizeof(helper), "%s/../lib/llm-eval-sandbox-init", lle_exe_dir() ? lle_exe_dir() : ".");
	if (!run_dir || chmod(run_dir, 0777) < 0) {
		printf("not ok - cannot make a scratch directory\n");
		return 1;
	}
	RUN(probe_reports_every_protection);
	RUN(runs_and_captures);
	RUN(what_the_program_sees);
	RUN(descriptor_3_is_the_jobs_alone);
	RUN(tiocsti_denied_whatever_the_upper_bits);
	RUN(host_files_are_invisible);
	const char *cg_desc;
	if (lle_sandbox_cgroup(&cg_desc))
		RUN(memory_bounds_the_whole_sandbox);
	else
		printf("ok - memory_bounds_the_whole_sandbox # skip no cgroup: %s\n", cg_desc);
	RUN(missing_program_is_an_error);
	RUN(small_caller_forks_the_init_itself);
	RUN(output_is_capped_head_and_tail);
	RUN(pool_runs_every_job_once);
	RUN(sandboxes_die_with_a_killed_caller);
	run_attacks();
	RUN(attack_tcp_connect);
	RUN(attack_resolve_host_name);
	RUN(attack_fork_bomb);
	RUN(attack_allocate_without_limit);
	RUN(attack_infinite_loop);
	RUN(attack_write_outside_its_directory);
	RUN(attack_read_parent_environment);
	RUN(attack_kill_parent);
	RUN(attack_leave_a_process_behind);

	/* The restricted runs, in fresh processes (the probe is cached per
	 * process): forking the init, then through the helper. */
	for (int k = 0; k < 2; k++) {
		setenv("LLM_EVAL_SANDBOX_INIT", k == 0 ? "none" : helper, 1);
		printf("# restricted, %s\n", k == 0 ? "the init forked from the test" : "through the helper");
		fflush(stdout);
		char *rargv[] = { "test_sandbox", "--restricted", (char *)run_dir, NULL };
		pid_t pid;
		extern char **environ;
		int st = 0;
		if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, rargv, environ) != 0 ||
		    waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
			printf("not ok - restricted run (status %d)\n", st);
			check_nfail++;
		}
	}
	unsetenv("LLM_EVAL_SANDBOX_INIT");
	for (int i = 0; i < A_N; i++) {
		free(attacks.stdout_[i]);
		free(attacks.stderr_[i]);
	}
	if (listener >= 0)
		close(listener);
	/* Only there if an attack succeeded; never leave them behind. */
	unlink(host_dir_file);
	unlink(host_etc_file);
	rmdir(run_dir);
	return check_done();
}
