/* llm-eval-sandbox-init: the small helper that starts a sandbox for the
 * engine (src/sandbox/sandbox.c, which spawns it with posix_spawn).
 *
 * Why a separate executable: the sandbox's init is a fork of whoever clones
 * it, and the kernel copies the page tables of that process. The engine may
 * hold gigabytes (a model's buffers); this helper holds almost nothing, and
 * posix_spawn copies nothing. So the helper does the cloning: it reads the
 * configuration the engine encoded (child.h) from descriptor 3, clones the
 * init into the new namespaces, writes its uid/gid maps, lets it go and waits
 * for it. The init and the program report straight to the engine through the
 * status pipe (descriptor 4); their output goes to descriptors 5 and 6.
 *
 * On SIGTERM (the engine's timeout) it kills the init and waits until it is
 * gone, which is when every process of the sandbox is gone. If the engine
 * dies, so does the helper, and with it the init (both use
 * PR_SET_PDEATHSIG). Not for people to run: it takes no arguments and prints
 * nothing. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/child.h"

enum { FD_CONFIG = 3, FD_STATUS = 4, FD_OUT = 5, FD_ERR = 6 };

static volatile pid_t init_pid;

static void on_term(int sig)
{
	(void)sig;
	/* Never kill(0): before the clone there is nothing to kill. */
	if (init_pid > 0)
		kill(init_pid, SIGKILL);
}

int main(void)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return 127;
	if (syscall(SYS_close_range, (unsigned)FD_ERR + 1, ~0U, 0U) < 0)
		for (int fd = FD_ERR + 1; fd < 1024; fd++)
			close(fd);
	struct stat st;
	char *buf = NULL;
	struct lle_sb_child c;
	if (fstat(FD_CONFIG, &st) < 0 || st.st_size <= 0 || !(buf = malloc((size_t)st.st_size)) ||
	    pread(FD_CONFIG, buf, (size_t)st.st_size, 0) != st.st_size ||
	    lle_sb_config_decode(buf, (size_t)st.st_size, &c) < 0) {
		lle_sb_send_msg(FD_STATUS, LLE_SB_SETUP, ST_CONFIG, errno ? errno : EPROTO);
		return 127;
	}
	close(FD_CONFIG);
	/* The engine may have died before the prctl above. */
	if (getppid() != c.parent_pid)
		return 127;
	int sync[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync) < 0) {
		lle_sb_send_msg(FD_STATUS, LLE_SB_SETUP, ST_CLONE, errno);
		return 127;
	}
	c.status_w = FD_STATUS;
	c.sync_r = sync[0];
	c.out_w = FD_OUT;
	c.err_w = FD_ERR;

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL);

	pid_t pid = lle_sb_raw_clone(c.nsflags);
	if (pid == 0)
		lle_sb_init_main(&c);
	if (pid < 0) {
		lle_sb_send_msg(FD_STATUS, LLE_SB_SETUP, ST_CLONE, errno);
		return 127;
	}
	init_pid = pid;
	close(sync[0]);
	close(FD_OUT);
	close(FD_ERR);
	if ((c.nsflags & CLONE_NEWUSER) && lle_sb_write_maps(pid, &c) < 0) {
		lle_sb_send_msg(FD_STATUS, LLE_SB_SETUP, ST_MAPS, errno);
		kill(pid, SIGKILL);
	} else if (lle_sb_cgroup_enter(&c, pid) < 0) {
		lle_sb_send_msg(FD_STATUS, LLE_SB_SETUP, ST_CGROUP, errno);
		kill(pid, SIGKILL);
	} else if (send(sync[1], "g", 1, MSG_NOSIGNAL) != 1) {
		lle_sb_send_msg(FD_STATUS, LLE_SB_SETUP, ST_CLONE, errno);
		kill(pid, SIGKILL);
	}
	close(FD_STATUS);
	int ws;
	while (waitpid(pid, &ws, __WALL) < 0 && errno == EINTR)
		;
	/* Only now: the init takes an end of file on sync for our death. */
	close(sync[1]);
	return 0;
}
