/* `llm-eval view`: a read-only local web viewer of the run store, the samples
 * files and the response cache's run journals (docs/view.md).
 *
 * This file is the HTTP side: options, the listening socket (127.0.0.1 by
 * default; any other address needs --host and is warned about), libmicrohttpd
 * (loaded with dlopen when the command starts, so no other command maps it or
 * the TLS libraries it links), the page's files compiled in from web/
 * (view_assets.h), and the headers every answer carries: a strict
 * Content-Security-Policy, nosniff, no referrer, no framing (and an API answer
 * its Server-Timing: the milliseconds of wall and CPU time the server spent
 * on it). Only GET and HEAD
 * are answered; a request whose Host is not this server's loopback address is
 * refused (a DNS rebinding page cannot read the API). What /api/ answers is
 * src/store/view_api.c; paging samples is src/store/view_samples.c. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "cli/engine/store_cli.h"
#include "cli/engine/view_assets.h"
#include "store/cache.h"
#include "store/view_api.h"
#include "util/buf.h"
#include "util/diag.h"

int lle_cmd_view(struct lle_ctx *ctx, int argc, char **argv);

extern char **environ;

#define DEFAULT_PORT 8470
#define MHD_LIB "libmicrohttpd.so.12"

static const char CSP[] = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
			  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/* libmicrohttpd, resolved at run time. */
static struct {
	__typeof__(&MHD_start_daemon) start_daemon;
	__typeof__(&MHD_stop_daemon) stop_daemon;
	__typeof__(&MHD_create_response_from_buffer) response;
	__typeof__(&MHD_add_response_header) add_header;
	__typeof__(&MHD_queue_response) queue;
	__typeof__(&MHD_destroy_response) destroy;
	__typeof__(&MHD_lookup_connection_value) lookup;
} mhd;

static int load_mhd(void)
{
	void *h = dlopen(MHD_LIB, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		lle_errorf("cannot load %s (Debian: apt install libmicrohttpd12): %s", MHD_LIB, dlerror());
		return -1;
	}
	static const char *const names[] = { "MHD_start_daemon", "MHD_stop_daemon", "MHD_create_response_from_buffer",
					     "MHD_add_response_header", "MHD_queue_response", "MHD_destroy_response",
					     "MHD_lookup_connection_value" };
	void **slots[] = { (void **)&mhd.start_daemon, (void **)&mhd.stop_daemon, (void **)&mhd.response,
			   (void **)&mhd.add_header, (void **)&mhd.queue, (void **)&mhd.destroy,
			   (void **)&mhd.lookup };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!(*slots[i] = dlsym(h, names[i]))) {
			lle_errorf("cannot load %s: no %s in it", MHD_LIB, names[i]);
			return -1;
		}
	return 0;
}

struct server {
	struct lle_view *view;
	int loopback;
	char hosts[3][128]; /* the Host values accepted when loopback */
	struct lle_buf body;
};

/* timing, cpu: the server's wall and CPU time for an API answer, in ms (the
 * Server-Timing header), or timing < 0 */
static enum MHD_Result answer_timed(struct MHD_Connection *conn, unsigned status, const char *type,
				    const void *data, size_t len, int copy, int api, double timing, double cpu)
{
	struct MHD_Response *r =
		mhd.response(len, (void *)(uintptr_t)data, copy ? MHD_RESPMEM_MUST_COPY : MHD_RESPMEM_PERSISTENT);
	if (!r)
		return MHD_NO;
	mhd.add_header(r, "Content-Type", type);
	mhd.add_header(r, "Content-Security-Policy", CSP);
	mhd.add_header(r, "X-Content-Type-Options", "nosniff");
	mhd.add_header(r, "Referrer-Policy", "no-referrer");
	mhd.add_header(r, "X-Frame-Options", "DENY");
	mhd.add_header(r, "Cross-Origin-Resource-Policy", "same-origin");
	mhd.add_header(r, "Cache-Control", api ? "no-store" : "no-cache");
	if (timing >= 0) {
		char st[96];
		snprintf(st, sizeof(st), "app;dur=%.3f, cpu;dur=%.3f", timing, cpu);
		mhd.add_header(r, "Server-Timing", st);
	}
	enum MHD_Result ok = mhd.queue(conn, status, r);
	mhd.destroy(r);
	return ok;
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *type, const void *data,
			      size_t len, int copy, int api)
{
	return answer_timed(conn, status, type, data, len, copy, api, -1, -1);
}

static double now_ms(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static enum MHD_Result error_answer(struct MHD_Connection *conn, unsigned status, const char *msg)
{
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_adds(&b, "{\"error\":");
	lle_buf_add_json_str(&b, msg);
	lle_buf_adds(&b, "}");
	enum MHD_Result ok = b.oom ? MHD_NO
				   : answer(conn, status, "application/json", lle_buf_str(&b), b.n, 1, 1);
	lle_buf_free(&b);
	return ok;
}

static const char *get_arg(void *ctx, const char *name)
{
	return mhd.lookup(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **req)
{
	(void)version;
	(void)upload;
	(void)req;
	struct server *s = cls;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		*upload_size = 0;
		return error_answer(conn, 405, "read-only: only GET and HEAD are answered");
	}
	if (s->loopback) {
		const char *host = mhd.lookup(conn, MHD_HEADER_KIND, "Host");
		int ok = 0;
		for (int i = 0; host && i < 3; i++)
			ok |= strcmp(host, s->hosts[i]) == 0;
		if (!ok)
			return error_answer(conn, 403, "unexpected Host header");
	}
	if (strncmp(url, "/api/", 5) == 0) {
		int status;
		double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_THREAD_CPUTIME_ID);
		if (lle_view_api(s->view, url, get_arg, conn, &s->body, &status) < 0)
			return error_answer(conn, 500, "out of memory");
		return answer_timed(conn, (unsigned)status, "application/json", lle_buf_str(&s->body), s->body.n, 1, 1,
				    now_ms(CLOCK_MONOTONIC) - t0, now_ms(CLOCK_THREAD_CPUTIME_ID) - c0);
	}
	const char *path = strcmp(url, "/") == 0 ? "/index.html" : url;
	for (unsigned long i = 0; i < lle_web_n_assets; i++)
		if (strcmp(path, lle_web_assets[i].path) == 0)
			return answer(conn, 200, lle_web_assets[i].type, lle_web_assets[i].data, lle_web_assets[i].len, 0,
				      0);
	return error_answer(conn, 404, "no such page");
}

/* Listen on host:port; *fd, the port bound and whether the address is loopback. */
static int listen_on(const char *host, unsigned port, int *fd, unsigned *bound, int *loopback, int *v6)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	char ps[16];
	snprintf(ps, sizeof(ps), "%u", port);
	int r = getaddrinfo(host, ps, &hints, &ai);
	if (r != 0) {
		lle_errorf("cannot listen on '%s': %s", host, gai_strerror(r));
		return -1;
	}
	*fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1;
	if (*fd < 0 || setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(*fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(*fd, 64) != 0) {
		lle_errorf("cannot listen on %s port %u: %s%s", host, port, strerror(errno),
			   errno == EADDRINUSE ? " (another port: --port N, or --port 0 for any free one)" : "");
		if (*fd >= 0)
			close(*fd);
		freeaddrinfo(ai);
		return -1;
	}
	*v6 = ai->ai_family == AF_INET6;
	if (*v6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		*loopback = IN6_IS_ADDR_LOOPBACK(a);
	} else {
		uint32_t a = ntohl(((const struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr);
		*loopback = (a >> 24) == 127;
	}
	freeaddrinfo(ai);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(*fd, (struct sockaddr *)&ss, &sl) != 0) {
		lle_errorf("cannot listen on %s: %s", host, strerror(errno));
		close(*fd);
		return -1;
	}
	*bound = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
						: ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

static void open_browser(const char *url)
{
	pid_t pid;
	char *args[] = { "xdg-open", (char *)url, NULL };
	if (posix_spawnp(&pid, "xdg-open", NULL, NULL, args, environ) != 0)
		lle_warnf("cannot start xdg-open to open %s: open it yourself", url);
}

int lle_cmd_view(struct lle_ctx *ctx, int argc, char **argv)
{
	const struct lle_cmd *cmd = ctx->cmd;
	const char *store = NULL, *cache = NULL, *host = NULL, *port_s = NULL;
	int open_it = 0;
	for (int i = 1; i < argc; i++) {
		int r;
		if ((r = lle_store_cli_opt(cmd, argc, argv, &i, "--store", &store)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--cache", &cache)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--host", &host)) ||
		    (r = lle_store_cli_opt(cmd, argc, argv, &i, "--port", &port_s))) {
			if (r < 0)
				return LLE_EXIT_USAGE;
		} else if (strcmp(argv[i], "--open") == 0) {
			open_it = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return lle_cmd_unknown_option(cmd, argv[i]);
		} else {
			return lle_cmd_usage_error(cmd, "view takes no arguments, not '%s'", argv[i]);
		}
	}
	unsigned port = DEFAULT_PORT;
	if (port_s) {
		char *end;
		errno = 0;
		unsigned long p = strtoul(port_s, &end, 10);
		if (!*port_s || *end || errno || p > 65535 || port_s[0] == '-')
			return lle_cmd_usage_error(cmd, "--port takes a number from 0 to 65535, not '%s'", port_s);
		port = (unsigned)p;
	}
	struct lle_err err = { 0 };
	char *store_path = store ? lle_strdup(store) : lle_runstore_default_path(&err);
	char *cache_path = cache ? lle_strdup(cache) : lle_cache_default_path(&err);
	if (!store_path) {
		lle_errorf("%s", err.msg[0] ? err.msg : "out of memory");
		free(cache_path);
		return err.code ? err.code : LLE_EXIT_INTERNAL;
	}
	int rc = LLE_EXIT_IO, fd = -1, loopback = 0, v6 = 0;
	unsigned bound = 0;
	struct server s = { 0 };
	struct MHD_Daemon *d = NULL;
	sigset_t set, old;
	if (load_mhd() < 0)
		goto out;
	if (!(s.view = lle_view_new(store_path, cache_path, &err))) {
		lle_errorf("%s", err.msg);
		rc = err.code;
		goto out;
	}
	if (listen_on(host ? host : "127.0.0.1", port, &fd, &bound, &loopback, &v6) < 0)
		goto out;
	s.loopback = loopback;
	const char *shown = v6 ? (loopback ? "[::1]" : NULL) : NULL;
	char addr[64];
	if (!shown) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		char h[INET6_ADDRSTRLEN] = "?";
		if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
			inet_ntop(ss.ss_family,
				  ss.ss_family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
							   : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
				  h, sizeof(h));
		snprintf(addr, sizeof(addr), v6 ? "[%s]" : "%s", h);
		shown = addr;
	}
	snprintf(s.hosts[0], sizeof(s.hosts[0]), "%s:%u", shown, bound);
	snprintf(s.hosts[1], sizeof(s.hosts[1]), "localhost:%u", bound);
	snprintf(s.hosts[2], sizeof(s.hosts[2]), "%s:%u", v6 ? "[::1]" : "127.0.0.1", bound);
	if (!loopback)
		lle_warnf("serving on %s, which is not a loopback address: anyone who can reach it can read every "
			  "stored run, prompt and answer (there is no authentication)",
			  shown);
	/* SIGINT and SIGTERM are waited for below; the server's thread inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, &old);
	d = mhd.start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, handle, &s,
			     MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
			     MHD_OPTION_END);
	if (!d) {
		lle_errorf("cannot start the HTTP server on %s", s.hosts[0]);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		goto out;
	}
	fd = -1; /* the daemon's now */
	char url[160];
	snprintf(url, sizeof(url), "http://%s/", s.hosts[0]);
	printf("llm-eval view: %s (read-only; Ctrl-C stops)\n", url);
	fflush(stdout);
	if (open_it)
		open_browser(url);
	int sig = 0;
	while (sigwait(&set, &sig) != 0)
		;
	mhd.stop_daemon(d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	rc = LLE_EXIT_OK;
out:
	if (fd >= 0)
		close(fd);
	lle_view_free(s.view);
	lle_buf_free(&s.body);
	free(store_path);
	free(cache_path);
	return rc;
}
