/* A long-lived program in the sandbox (lle_sandbox_spawn, sandbox.h): the
 * Python hook worker. Started by the same steps as one run (sandbox.c), with
 * the caller's socket as the program's stdin and stdout; ended by the caller
 * closing that socket (or killing it), then reaped here with what ended it.
 *
 * Not here: the steps of starting a sandbox (sandbox.c), the children's side
 * (child.c), one-shot runs with captured output and a timeout (sandbox.c). */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/sandbox_int.h"

struct lle_sandbox_proc {
	struct lle_sb_start s;
	struct lle_sandbox_job job;
	int st_fd;                /* the status pipe: the program's exit comes there */
	int got_exit, wstatus;
};

/* Read one message from the status pipe: 1; 0 at its end; -1 when none
 * came in ms milliseconds (-1: wait as long as it takes). */
static int next_msg(int fd, struct lle_sb_msg *m, int ms)
{
	size_t got = 0;
	while (got < sizeof(*m)) {
		struct pollfd pf = { fd, POLLIN, 0 };
		int pr = poll(&pf, 1, got ? -1 : ms);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0)
			return -1;
		ssize_t n = read(fd, (char *)m + got, sizeof(*m) - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return 0;
		got += (size_t)n;
	}
	return 1;
}

static void kill_init(struct lle_sandbox_proc *p)
{
	/* the helper kills its init on SIGTERM and waits until every process
	 * of the sandbox is gone; the init is ours to kill */
	kill(p->s.pid, p->s.helper ? SIGTERM : SIGKILL);
}

static void reap(struct lle_sandbox_proc *p, int *st)
{
	while (waitpid(p->s.pid, st, __WALL) < 0 && errno == EINTR)
		;
}

struct lle_sandbox_proc *lle_sandbox_spawn(const struct lle_sandbox_opts *o, const char *const *argv,
					   int io_fd, int err_fd, struct lle_err *err)
{
	if (!argv || !argv[0] || !argv[0][0] || io_fd < 0 || err_fd < 0) {
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: no program to run");
		return NULL;
	}
	struct lle_sandbox_proc *p = calloc(1, sizeof(*p));
	if (!p) {
		lle_err_oom(err);
		return NULL;
	}
	p->st_fd = -1;
	p->job.argv = argv;
	if (lle_sb_prepare(o, &p->job, io_fd, err_fd, &p->s, err) < 0 || lle_sb_launch(&p->s, err) < 0) {
		lle_sb_release(&p->s);
		free(p);
		return NULL;
	}
	close(p->s.status[1]);
	p->s.status[1] = -1;
	p->st_fd = p->s.status[0];
	/* Until the program runs: a failed step, or a failed execve, comes
	 * before the init's word that it started the program. */
	int setup_step = -1, setup_errno = 0, exec_errno = 0, started = 0, bind = -1;
	struct lle_sb_msg m;
	while (!started && next_msg(p->st_fd, &m, -1) == 1) {
		if (m.kind == LLE_SB_START)
			started = 1;
		else if (m.kind == LLE_SB_SETUP && m.a >= 0 && m.a < ST_NSTEP)
			setup_step = m.a, setup_errno = m.b;
		else if (m.kind == LLE_SB_EXEC)
			exec_errno = m.b;
		else if (m.kind == LLE_SB_BIND && m.a >= 0 && m.a < LLE_SB_MAX_RO)
			bind = m.a;
	}
	if (started && setup_step < 0 && !exec_errno)
		return p;
	if (setup_step == ST_BIND && bind >= 0 && p->s.ro_copy)
		lle_err_set(err, LLE_EXIT_CONFIG, "sandbox: cannot show '%s' to the program: %s%s",
			    p->s.ro_copy[bind], strerror(setup_errno),
			    p->s.c.root ? " (as root, it runs as nobody, uid 65534, who must be able to "
					  "reach it)" : "");
	else if (setup_step >= 0)
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: cannot %s: %s", lle_sb_step_names[setup_step],
			    strerror(setup_errno));
	else if (exec_errno)
		lle_err_set(err, LLE_EXIT_CONFIG, "sandbox: cannot run '%s': %s (PATH=%s)", argv[0],
			    strerror(exec_errno), p->s.path);
	else
		lle_err_set(err, LLE_EXIT_INTERNAL, "sandbox: the sandbox's init process ended without a report");
	kill_init(p);
	int st;
	reap(p, &st);
	lle_sb_release(&p->s);
	free(p);
	return NULL;
}

void lle_sandbox_proc_end(struct lle_sandbox_proc *p, int kill_it, struct lle_sandbox_exit *x)
{
	memset(x, 0, sizeof(*x));
	if (!p)
		return;
	if (kill_it)
		kill_init(p);
	/* The program ends on the end of its input; one that does not (a hook
	 * in a loop) is killed after a grace period. */
	int killed = kill_it;
	struct lle_sb_msg m;
	for (;;) {
		int r = next_msg(p->st_fd, &m, killed ? -1 : 5000);
		if (r == 0)
			break;
		if (r < 0) {
			kill_init(p);
			killed = 1;
			continue;
		}
		if (m.kind == LLE_SB_EXIT) {
			p->got_exit = 1;
			p->wstatus = m.a;
		}
	}
	int st = 0;
	reap(p, &st);
	int ws = p->got_exit ? p->wstatus : st;
	if (WIFSIGNALED(ws)) {
		x->end = LLE_SANDBOX_SIGNALED;
		x->signal = WTERMSIG(ws);
	} else {
		x->end = LLE_SANDBOX_EXITED;
		x->exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : -1;
	}
	x->oom = lle_sb_cgroup_oom_kills(&p->s.cg) > 0;
	lle_sb_release(&p->s);
	free(p);
}
