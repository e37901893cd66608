/* The sandbox's long-lived mode (lle_sandbox_spawn, src/sandbox/proc.c), as
 * the Python hook worker uses it: a python3 program answering requests
 * line by line over the caller's socket, checked from the host's side:
 *   - a host folder given in ro_paths is readable at its own path, and a
 *     write into it fails with EROFS (no file appears on the host);
 *   - /tmp is writable and the sandbox's own (nothing appears on the host);
 *   - a connection to a listener on 127.0.0.1 is refused, and the listener
 *     gets nothing; with allow_network it gets through;
 *   - closing the socket ends the program, reaped with its exit status;
 *   - on a kernel that refuses user and network namespaces (this binary
 *     run again under a seccomp filter, as container runtimes do), it still
 *     starts with allow_weak, and seccomp alone keeps it off the network.
 * Needs python3 in the sandbox's PATH. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <seccomp.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "refuse_ns.h"
#include "sandbox/sandbox.h"
#include "util/path.h"

static char share[4096];   /* a host folder shown to the program */

static const char program[] =
	"import errno, os, socket, sys\n"
	"for line in sys.stdin:\n"
	"    cmd, _, arg = line.strip().partition(' ')\n"
	"    try:\n"
	"        if cmd == 'read':\n"
	"            r = open(arg).read().strip()\n"
	"        elif cmd == 'write':\n"
	"            with open(arg, 'w') as f:\n"
	"                f.write('x')\n"
	"            r = 'wrote ' + open(arg).read()\n"
	"        elif cmd == 'connect':\n"
	"            s = socket.socket()\n"
	"            s.settimeout(20)\n"
	"            s.connect(('127.0.0.1', int(arg)))\n"
	"            s.sendall(b'hi')\n"
	"            s.close()\n"
	"            r = 'connected'\n"
	"        else:\n"
	"            r = 'uid %d' % os.getuid()\n"
	"    except OSError as e:\n"
	"        r = errno.errorcode.get(e.errno, str(e.errno))\n"
	"    print(r, flush=True)\n";

/* Send one request line, read one answer line into out. */
static int ask(int fd, const char *req, char *out, size_t len)
{
	char line[4200];
	int n = snprintf(line, sizeof(line), "%s\n", req);
	if (send(fd, line, (size_t)n, MSG_NOSIGNAL) != n)
		return -1;
	size_t got = 0;
	while (got + 1 < len) {
		ssize_t r = read(fd, out + got, 1);
		if (r <= 0)
			return -1;
		if (out[got] == '\n')
			break;
		got++;
	}
	out[got] = '\0';
	return 0;
}

/* A listener on 127.0.0.1 (non-blocking accept); its port in *port. */
static int listener(int *port)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof(a);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(s, 4) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &al) < 0)
		return -1;
	*port = ntohs(a.sin_port);
	return s;
}

/* Whether the listener has a connection waiting. */
static int got_connection(int l)
{
	int c = accept(l, NULL, NULL);
	if (c < 0)
		return 0;
	close(c);
	return 1;
}

static struct lle_sandbox_proc *start(int allow_network, int *fd, struct lle_err *err)
{
	const char *ro[] = { share, NULL };
	struct lle_sandbox_opts o = { .memory_mb = 1024, .cpu_s = 60, .ro_paths = ro,
				      .allow_network = allow_network, .allow_weak = 1,
				      .who = "the test's worker" };
	const char *argv[] = { "python3", "-c", program, NULL };
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return NULL;
	struct lle_sandbox_proc *p = lle_sandbox_spawn(&o, argv, sv[1], 2, err);
	close(sv[1]);
	if (!p)
		close(sv[0]);
	*fd = sv[0];
	return p;
}

TEST(worker_sees_its_folder_read_only_and_its_own_tmp)
{
	int fd;
	struct lle_err err = { 0 };
	struct lle_sandbox_proc *p = start(0, &fd, &err);
	CHECK(p != NULL);
	if (!p) {
		printf("#   %s\n", err.msg);
		return;
	}
	char ans[512], req[4200], tmpname[200];
	snprintf(req, sizeof(req), "read %s/hello", share);
	CHECK(ask(fd, req, ans, sizeof(ans)) == 0);
	CHECK_STREQ(ans, "hello from the host");
	snprintf(req, sizeof(req), "write %s/written", share);
	CHECK(ask(fd, req, ans, sizeof(ans)) == 0);
	CHECK_STREQ(ans, "EROFS");
	snprintf(req, sizeof(req), "%s/written", share);
	CHECK(access(req, F_OK) < 0);
	snprintf(tmpname, sizeof(tmpname), "/tmp/lle-proc-test-%d", (int)getpid());
	snprintf(req, sizeof(req), "write %s", tmpname);
	CHECK(ask(fd, req, ans, sizeof(ans)) == 0);
	CHECK_STREQ(ans, "wrote x");
	CHECK(access(tmpname, F_OK) < 0);
	/* the second request on the same program: it stays */
	CHECK(ask(fd, "uid", ans, sizeof(ans)) == 0);
	if (geteuid() == 0)
		CHECK_STREQ(ans, "uid 65534");
	close(fd);
	struct lle_sandbox_exit x;
	lle_sandbox_proc_end(p, 0, &x);
	CHECK_INTEQ(x.end, LLE_SANDBOX_EXITED);
	CHECK_INTEQ(x.exit_code, 0);
	unlink(tmpname);
}

static void connect_check(int allow_network, const char *want)
{
	int port = 0, fd;
	int l = listener(&port);
	CHECK(l >= 0);
	struct lle_err err = { 0 };
	struct lle_sandbox_proc *p = start(allow_network, &fd, &err);
	CHECK(p != NULL);
	if (!p) {
		printf("#   %s\n", err.msg);
		close(l);
		return;
	}
	char ans[512], req[64];
	snprintf(req, sizeof(req), "connect %d", port);
	CHECK(ask(fd, req, ans, sizeof(ans)) == 0);
	CHECK_STREQ(ans, want);
	CHECK_INTEQ(got_connection(l), allow_network);
	close(fd);
	struct lle_sandbox_exit x;
	lle_sandbox_proc_end(p, 0, &x);
	CHECK_INTEQ(x.exit_code, 0);
	close(l);
}

TEST(worker_has_no_network)
{
	connect_check(0, "EPERM");
}

TEST(worker_with_network_reaches_the_host)
{
	connect_check(1, "connected");
}

TEST(killing_a_worker_reaps_it)
{
	int fd;
	struct lle_err err = { 0 };
	struct lle_sandbox_proc *p = start(0, &fd, &err);
	CHECK(p != NULL);
	if (!p)
		return;
	struct lle_sandbox_exit x;
	lle_sandbox_proc_end(p, 1, &x); /* its socket still open: killed, not ended */
	CHECK_INTEQ(x.end, LLE_SANDBOX_SIGNALED);
	close(fd);
}

TEST(missing_program_is_an_error)
{
	const char *argv[] = { "lle-no-such-program", NULL };
	struct lle_sandbox_opts o = { .allow_weak = 1 };
	struct lle_err err = { 0 };
	int sv[2];
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK(lle_sandbox_spawn(&o, argv, sv[1], 2, &err) == NULL);
	CHECK_INTEQ(err.code, LLE_EXIT_CONFIG);
	CHECK(strstr(err.msg, "cannot run 'lle-no-such-program'") != NULL);
	close(sv[0]);
	close(sv[1]);
}

/* A kernel without user and network namespaces (refuse_ns.h) */
TEST(weak_worker_starts_and_stays_off_the_network)
{
	CHECK(strstr(lle_sandbox_probe()->missing, "network namespace") != NULL);
	connect_check(0, "EPERM");
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--restricted") == 0) {
		snprintf(share, sizeof(share), "%s", argv[2]);
		if (refuse_namespaces(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
			printf("not ok - restricted: cannot install the seccomp filter\n");
			return 1;
		}
		RUN(weak_worker_starts_and_stays_off_the_network);
		return check_done();
	}
	unsetenv("LLM_EVAL_SANDBOX_INIT");
	/* Beside the binary, not under /tmp (the sandbox's own); reachable by
	 * uid 65534, as which the program runs when this test runs as root. */
	char tmpl[4096];
	snprintf(tmpl, sizeof(tmpl), "%s/sandbox-proc.XXXXXX", lle_exe_dir() ? lle_exe_dir() : ".");
	if (!mkdtemp(tmpl) || chmod(tmpl, 0755) < 0) {
		printf("not ok - cannot make a scratch directory\n");
		return 1;
	}
	snprintf(share, sizeof(share), "%s", tmpl);
	char hello[4200];
	snprintf(hello, sizeof(hello), "%s/hello", share);
	FILE *f = fopen(hello, "w");
	if (!f || fputs("hello from the host\n", f) < 0 || fclose(f) != 0) {
		printf("not ok - cannot write %s\n", hello);
		return 1;
	}
	chmod(hello, 0644);
	RUN(worker_sees_its_folder_read_only_and_its_own_tmp);
	RUN(worker_has_no_network);
	RUN(worker_with_network_reaches_the_host);
	RUN(killing_a_worker_reaps_it);
	RUN(missing_program_is_an_error);
	/* through the helper too, as a large caller starts it */
	char helper[4200];
	snprintf(helper, sizeof(helper), "%s/../lib/llm-eval-sandbox-init", lle_exe_dir() ? lle_exe_dir() : ".");
	setenv("LLM_EVAL_SANDBOX_INIT", helper, 1);
	printf("# through the helper\n");
	RUN(worker_sees_its_folder_read_only_and_its_own_tmp);
	RUN(worker_has_no_network);
	unsetenv("LLM_EVAL_SANDBOX_INIT");
	printf("# restricted\n");
	fflush(stdout);
	char *rargv[] = { "test_sandbox_proc", "--restricted", share, NULL };
	extern char **environ;
	pid_t pid;
	int st = 0;
	if (posix_spawn(&pid, "/proc/self/exe", NULL, NULL, rargv, environ) != 0 || waitpid(pid, &st, 0) < 0 ||
	    !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		printf("not ok - restricted run (status %d)\n", st);
		check_nfail++;
	}
	unlink(hello);
	rmdir(share);
	return check_done();
}
