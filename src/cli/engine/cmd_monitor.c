/* `llm-eval monitor`: this machine's GPUs, CPU and memory, and the llm-eval
 * runs in progress, refreshed in place on a terminal (like top), or printed
 * once (--once), or as one JSON object per sample (--json).
 *
 * The figures come from the same sampler a run uses (src/monitor/); this file
 * only formats them and handles the terminal: alternate screen, keys without
 * Enter, and a clean exit on `q`, Ctrl-C or SIGTERM that restores both
 * (SIGPIPE is ignored for the same reason: a reader that leaves ends the loop).
 *
 * Runs in progress are found as processes named llm-eval whose command is
 * `run` (from /proc, so only what this user may see). Their progress comes
 * from the run journals in the response cache: every journal not yet
 * complete is listed with requests done and planned. */
#include "cli/engine/cmd_monitor.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "monitor/monitor.h"
#include "monitor/proc.h"
#include "store/cache.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/err.h"

static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	got_signal = sig;
}

const char *lle_monitor_command_word(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			return NULL;
		if (strcmp(a, "--include-path") == 0 || strcmp(a, "--color") == 0) {
			i++; /* takes a value */
			continue;
		}
		if (a[0] == '-')
			continue; /* -v, -q, --no-color, --color=WHEN, --include-path=DIR, ... */
		return a;
	}
	return NULL;
}

struct run_proc {
	long pid;
	double elapsed_s, cpu_s;
	uint64_t rss;
	int stat_ok;
	char *command; /* the command line, space-separated */
};

static void runs_free(struct run_proc *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(runs[i].command);
	free(runs);
}

/* The llm-eval processes running `run` (prefix or alias as the dispatcher
 * takes them), other than this one. */
static int find_runs(struct run_proc **out, size_t *nout, struct lle_err *err)
{
	struct lle_proc_entry *procs;
	size_t nprocs;
	*out = NULL;
	*nout = 0;
	if (lle_proc_list_by_comm("llm-eval", &procs, &nprocs, err) < 0)
		return -1;
	struct run_proc *runs = calloc(nprocs ? nprocs : 1, sizeof(*runs));
	if (!runs) {
		lle_proc_list_free(procs, nprocs);
		return lle_err_oom(err);
	}
	double uptime = -1;
	lle_sys_uptime(&uptime, NULL);
	size_t n = 0;
	for (size_t i = 0; i < nprocs; i++) {
		if (procs[i].pid == getpid())
			continue;
		const char *word = lle_monitor_command_word(procs[i].argc, procs[i].argv);
		int ambiguous;
		const struct lle_cmd *c = word ? lle_cmd_find(word, &ambiguous) : NULL;
		if (!c || strcmp(c->name, "run") != 0)
			continue;
		struct run_proc *r = &runs[n];
		struct lle_buf b = LLE_BUF_INIT;
		for (int k = 0; k < procs[i].argc; k++)
			lle_buf_printf(&b, "%s%s", k ? " " : "", procs[i].argv[k]);
		r->command = lle_buf_detach(&b);
		if (!r->command) {
			runs_free(runs, n);
			lle_proc_list_free(procs, nprocs);
			return lle_err_oom(err);
		}
		r->pid = procs[i].pid;
		r->elapsed_s = -1;
		struct lle_proc_stat ps;
		if (lle_proc_read(procs[i].pid, &ps, NULL) == 0) {
			r->stat_ok = 1;
			r->cpu_s = ps.cpu_s;
			r->rss = ps.rss_bytes;
			if (uptime >= ps.start_s)
				r->elapsed_s = uptime - ps.start_s;
		}
		n++;
	}
	lle_proc_list_free(procs, nprocs);
	*out = runs;
	*nout = n;
	return 0;
}

static void add_bytes(struct lle_buf *b, uint64_t v)
{
	double g = (double)v / (1024.0 * 1024.0 * 1024.0);
	if (g >= 1)
		lle_buf_printf(b, "%.1fG", g);
	else
		lle_buf_printf(b, "%.0fM", (double)v / (1024.0 * 1024.0));
}

static void add_secs(struct lle_buf *b, double s)
{
	if (s < 0) {
		lle_buf_adds(b, "--");
		return;
	}
	unsigned long long t = (unsigned long long)s;
	if (t >= 3600)
		lle_buf_printf(b, "%lluh%02llum", t / 3600, t / 60 % 60);
	else
		lle_buf_printf(b, "%llum%02llus", t / 60, t % 60);
}

static void add_opt(struct lle_buf *b, const char *fmt, double v, const char *unknown)
{
	if (v >= 0)
		lle_buf_printf(b, fmt, v);
	else
		lle_buf_adds(b, unknown);
}

/* The text view of one sample: one line per item, each ending in "\n". */
/* Run journals that are not complete, from the response cache (read-only;
 * nothing when there is no cache file). A run in progress has one per task;
 * so does a run that was killed and not resumed yet. */
struct journal_row {
	char name[256];
	long long total, done;
};

struct journal_list {
	struct journal_row rows[32];
	size_t n;
};

static int collect_journal(void *arg, const char *name, long long total, long long done, long long created)
{
	struct journal_list *jl = arg;
	(void)created;
	if (done >= total || jl->n == sizeof(jl->rows) / sizeof(jl->rows[0]))
		return 0;
	snprintf(jl->rows[jl->n].name, sizeof(jl->rows[jl->n].name), "%s", name);
	jl->rows[jl->n].total = total;
	jl->rows[jl->n].done = done;
	jl->n++;
	return 0;
}

static void read_journals(struct journal_list *jl)
{
	jl->n = 0;
	struct lle_err err = { 0 };
	char *path = lle_cache_default_path(&err);
	if (!path || access(path, R_OK) != 0) {
		free(path);
		return;
	}
	struct lle_cache_opts o = { 0 };
	o.readonly = 1;
	o.busy_timeout_ms = 200;
	struct lle_cache *c = lle_cache_open(path, &o, &err);
	free(path);
	if (!c) {
		lle_debugf("monitor: cannot read the run journals: %s", err.msg);
		return;
	}
	if (lle_journal_each(c, collect_journal, jl, &err) < 0)
		lle_debugf("monitor: cannot read the run journals: %s", err.msg);
	lle_cache_close(c);
}

static void render(struct lle_buf *b, const struct lle_mon_sample *s, const struct run_proc *runs,
		   size_t nruns, unsigned interval_ms, int fullscreen)
{
	char host[256] = "?", when[64] = "?";
	if (gethostname(host, sizeof(host) - 1) != 0)
		strcpy(host, "?");
	host[sizeof(host) - 1] = '\0';
	time_t sec = (time_t)s->unix_time;
	struct tm tm;
	if (localtime_r(&sec, &tm))
		strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
	lle_buf_printf(b, "llm-eval monitor  %s%s  %s  every %u ms\n\n",
		       fullscreen ? "(q or Ctrl-C quits)  " : "", host, when, interval_ms);

	lle_buf_adds(b, "GPUs\n");
	if (s->ngpu == 0)
		lle_buf_adds(b, "  none: no NVIDIA driver, or NVML failed "
				"('llm-eval -v -v monitor --once' says why)\n");
	for (unsigned i = 0; i < s->ngpu; i++) {
		const struct lle_gpu_sample *g = &s->gpu[i];
		/* Two lines, so that the view fits 80 columns. */
		lle_buf_printf(b, "  GPU%u  %s  ", g->index, g->name);
		add_opt(b, "%.0f C", g->temp_c, "-- C");
		lle_buf_adds(b, "  ");
		add_opt(b, "%.0f W", g->power_w, "-- W");
		lle_buf_adds(b, "  SM ");
		add_opt(b, "%.0f MHz", g->clock_sm_mhz, "-- MHz");
		lle_buf_adds(b, "  mem ");
		add_opt(b, "%.0f MHz", g->clock_mem_mhz, "-- MHz");
		lle_buf_adds(b, "\n        util ");
		add_opt(b, "%3.0f%%", g->util_percent, " --%");
		lle_buf_adds(b, "  mem ");
		if (g->mem_ok) {
			lle_buf_printf(b, "%.1f/%.1fG", (double)g->mem_used / (1 << 30),
				       (double)g->mem_total / (1 << 30));
			if (g->mem_total)
				lle_buf_printf(b, " (%.0f%%)",
					       100.0 * (double)g->mem_used / (double)g->mem_total);
		} else {
			lle_buf_adds(b, "--");
		}
		lle_buf_adds(b, "  mem-util ");
		add_opt(b, "%.0f%%", g->mem_util_percent, "--");
		lle_buf_addc(b, '\n');
	}

	lle_buf_adds(b, "\nThis machine\n  CPU     ");
	add_opt(b, "%.1f%%", s->sys_cpu_percent, "--%");
	lle_buf_printf(b, " of %u CPU%s", s->ncpu, s->ncpu == 1 ? "" : "s");
	if (s->load[0] >= 0)
		lle_buf_printf(b, "   load %.2f %.2f %.2f", s->load[0], s->load[1], s->load[2]);
	lle_buf_adds(b, "\n  memory  ");
	if (s->mem_total) {
		add_bytes(b, s->mem_available);
		lle_buf_adds(b, " available of ");
		add_bytes(b, s->mem_total);
		lle_buf_printf(b, " (%.0f%% in use)\n",
			       100.0 * (double)(s->mem_total - s->mem_available) / (double)s->mem_total);
	} else {
		lle_buf_adds(b, "--\n");
	}

	lle_buf_adds(b, "\nllm-eval runs in progress\n");
	if (nruns == 0) {
		lle_buf_adds(b, "  no runs in progress\n");
	} else {
		lle_buf_printf(b, "  %-8s %-8s %-8s %-7s %s\n", "PID", "ELAPSED", "CPU", "RSS", "COMMAND");
		for (size_t i = 0; i < nruns; i++) {
			const struct run_proc *r = &runs[i];
			struct lle_buf e = LLE_BUF_INIT, c = LLE_BUF_INIT, m = LLE_BUF_INIT;
			add_secs(&e, r->elapsed_s);
			if (r->stat_ok) {
				add_secs(&c, r->cpu_s);
				add_bytes(&m, r->rss);
			}
			lle_buf_printf(b, "  %-8ld %-8s %-8s %-7s %s\n", r->pid, lle_buf_str(&e),
				       r->stat_ok ? lle_buf_str(&c) : "--",
				       r->stat_ok ? lle_buf_str(&m) : "--", r->command);
			lle_buf_free(&e);
			lle_buf_free(&c);
			lle_buf_free(&m);
		}
	}
	struct journal_list jl;
	read_journals(&jl);
	if (jl.n) {
		lle_buf_adds(b, "\nUnfinished run journals (model/task, in the response cache)\n");
		for (size_t i = 0; i < jl.n; i++)
			lle_buf_printf(b, "  %lld/%lld requests (%.0f%%)  %s\n", jl.rows[i].done, jl.rows[i].total,
				       jl.rows[i].total ? 100.0 * (double)jl.rows[i].done / (double)jl.rows[i].total : 0.0,
				       jl.rows[i].name);
	}
}

static int json_line(struct lle_buf *b, const struct lle_mon_sample *s, const struct run_proc *runs,
		     size_t nruns)
{
	lle_monitor_sample_json(b, s);
	if (b->oom || b->n == 0)
		return -1;
	b->p[--b->n] = '\0'; /* reopen the object to add the runs */
	lle_buf_adds(b, ",\"runs\":[");
	for (size_t i = 0; i < nruns; i++) {
		const struct run_proc *r = &runs[i];
		lle_buf_printf(b, "%s{\"pid\":%ld,\"command\":", i ? "," : "", r->pid);
		lle_buf_add_json_str(b, r->command);
		if (r->elapsed_s >= 0)
			lle_buf_printf(b, ",\"elapsed_s\":%.1f", r->elapsed_s);
		else
			lle_buf_adds(b, ",\"elapsed_s\":null");
		if (r->stat_ok)
			lle_buf_printf(b, ",\"cpu_seconds\":%.2f,\"rss_bytes\":%llu}", r->cpu_s,
				       (unsigned long long)r->rss);
		else
			lle_buf_adds(b, ",\"cpu_seconds\":null,\"rss_bytes\":null}");
	}
	lle_buf_adds(b, "],\"journals\":[");
	struct journal_list jl;
	read_journals(&jl);
	for (size_t i = 0; i < jl.n; i++) {
		lle_buf_adds(b, i ? ",{\"name\":" : "{\"name\":");
		lle_buf_add_json_str(b, jl.rows[i].name);
		lle_buf_printf(b, ",\"total\":%lld,\"done\":%lld}", jl.rows[i].total, jl.rows[i].done);
	}
	lle_buf_adds(b, "]}\n");
	return b->oom ? -1 : 0;
}

/* Cut each line of text to `width` columns (bytes: the view is ASCII but
 * for GPU names and the command lines of runs). */
static void clip_lines(struct lle_buf *out, const char *text, unsigned width)
{
	while (*text) {
		size_t len = strcspn(text, "\n");
		lle_buf_add(out, text, len < width ? len : width);
		lle_buf_adds(out, "\033[K\n");
		text += len;
		if (*text == '\n')
			text++;
	}
}

static int parse_count(const char *text, unsigned long *out)
{
	char *end;
	errno = 0;
	if (!text || !*text || *text == '-' || *text == '+')
		return -1;
	unsigned long v = strtoul(text, &end, 10);
	if (errno || *end || v == 0 || v > 1000000000UL)
		return -1;
	*out = v;
	return 0;
}

int lle_cmd_monitor(struct lle_ctx *ctx, int argc, char **argv)
{
	int once = 0, json = 0;
	unsigned interval = LLE_MON_DEFAULT_INTERVAL_MS;
	unsigned long count = 0;
	struct lle_err err = { 0 };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--once") == 0) {
			once = 1;
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "--interval") == 0 || strncmp(a, "--interval=", 11) == 0) {
			const char *v = a[10] == '=' ? a + 11 : (i + 1 < argc ? argv[++i] : NULL);
			if (!v)
				return lle_cmd_usage_error(ctx->cmd, "option '--interval' needs milliseconds");
			if (lle_monitor_parse_interval("--interval", v, &interval, &err) < 0)
				return lle_cmd_usage_error(ctx->cmd, "%s", err.msg);
		} else if (strcmp(a, "--count") == 0 || strncmp(a, "--count=", 8) == 0) {
			const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : NULL);
			if (parse_count(v, &count) < 0)
				return lle_cmd_usage_error(ctx->cmd,
							   "option '--count' takes a number of samples "
							   "from 1 to 1000000000, not '%s'", v ? v : "");
		} else {
			return lle_cmd_usage_error(ctx->cmd, "unknown argument '%s'", a);
		}
	}
	if (once)
		count = 1;
	int fullscreen = !once && !json && isatty(STDOUT_FILENO);

	struct lle_mon_opts opts = { .interval_ms = interval, .ignore_env = 1 };
	struct lle_monitor *mon = lle_monitor_start_opts(&opts, &err);
	if (!mon) {
		lle_errorf("%s", err.msg);
		return err.code ? err.code : LLE_EXIT_INTERNAL;
	}

	struct sigaction sa, ign, old_int, old_term, old_pipe;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	/* A reader that goes away (`| head -1`) must not kill us with the
	 * terminal still in raw mode: take EPIPE from write instead. */
	memset(&ign, 0, sizeof(ign));
	ign.sa_handler = SIG_IGN;
	sigemptyset(&ign.sa_mask);
	sigaction(SIGPIPE, &ign, &old_pipe);

	/* Keys: on a terminal, without Enter and without echo; from a pipe,
	 * a 'q' in the input quits too; at end of input stop reading it. */
	int watch_stdin = !once;
	struct termios saved_tio;
	int raw = 0;
	if (watch_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved_tio) == 0) {
		struct termios t = saved_tio;
		t.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		t.c_cc[VMIN] = 0;
		t.c_cc[VTIME] = 0;
		raw = tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0;
	}
	if (fullscreen)
		fputs("\033[?1049h\033[?25l", stdout);

	int rc = LLE_EXIT_OK;
	uint64_t seen = 0;
	unsigned long printed = 0;
	struct lle_buf text = LLE_BUF_INIT, out = LLE_BUF_INIT;
	int poll_ms = interval < 100 ? (int)interval : 100;
	while (!got_signal) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		int pr = poll(&pfd, watch_stdin ? 1 : 0, poll_ms);
		if (got_signal)
			break;
		if (pr > 0 && (pfd.revents & (POLLIN | POLLHUP))) {
			char keys[64];
			ssize_t nk = read(STDIN_FILENO, keys, sizeof(keys));
			if (nk <= 0 && !(nk < 0 && (errno == EINTR || errno == EAGAIN)))
				watch_stdin = 0; /* end of input */
			if (nk > 0 && (memchr(keys, 'q', (size_t)nk) || memchr(keys, 'Q', (size_t)nk)))
				break;
		} else if (pr > 0 && (pfd.revents & (POLLERR | POLLNVAL))) {
			watch_stdin = 0;
		}
		struct lle_mon_sample s;
		lle_monitor_latest(mon, &s);
		/* The first sample has no CPU percentages yet (they need two
		 * readings): show samples from the second on. */
		if (s.seq <= seen || s.seq < 2)
			continue;
		seen = s.seq;
		struct run_proc *runs = NULL;
		size_t nruns = 0;
		if (find_runs(&runs, &nruns, &err) < 0) {
			lle_debugf("monitor: runs in progress: %s", err.msg);
			lle_err_clear(&err);
		}
		lle_buf_reset(&text);
		lle_buf_reset(&out);
		if (json) {
			json_line(&out, &s, runs, nruns);
		} else if (fullscreen) {
			struct winsize ws;
			unsigned width = 200;
			if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
				width = ws.ws_col;
			render(&text, &s, runs, nruns, interval, 1);
			lle_buf_adds(&out, "\033[H");
			clip_lines(&out, lle_buf_str(&text), width);
			lle_buf_adds(&out, "\033[J");
		} else {
			if (printed)
				lle_buf_addc(&out, '\n');
			render(&out, &s, runs, nruns, interval, 0);
		}
		runs_free(runs, nruns);
		if (out.oom || text.oom) {
			lle_errorf("out of memory");
			rc = LLE_EXIT_INTERNAL;
			break;
		}
		if (fwrite(out.p, 1, out.n, stdout) != out.n || fflush(stdout) != 0) {
			/* The reader left: the normal end of `monitor --json | head`. */
			if (errno != EPIPE) {
				lle_errorf("cannot write to standard output: %s", strerror(errno));
				rc = LLE_EXIT_IO;
			}
			break;
		}
		printed++;
		if (count && printed >= count)
			break;
	}
	lle_buf_free(&text);
	lle_buf_free(&out);
	if (fullscreen) {
		fputs("\033[?25h\033[?1049l", stdout);
		fflush(stdout);
	}
	if (raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	lle_monitor_stop(mon, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	if (got_signal)
		lle_debugf("monitor: stopped by signal %d", (int)got_signal);
	return rc;
}
