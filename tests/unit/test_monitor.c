/* Unit tests for src/monitor: the /proc readers against processes with known
 * use (children that allocate and touch N MB, or spin, or sleep), the NVML
 * binding against the stand-in library (two scripted GPUs, and an error from
 * each NVML function), the sampler's statistics and counters, and the
 * formatters (the JSON checked with jansson against tests/monitor's schema).
 * No check depends on how fast this machine is: CPU figures are checked as
 * relations (bracketed by /proc readings, busy above idle), never as times. */
#include "check.h"

#include <dlfcn.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../monitor/sample_schema.h"
#include "cli/engine/cmd_monitor.h"
#include "monitor/monitor.h"
#include "monitor/nvml.h"
#include "monitor/proc.h"
#include "util/buf.h"
#include "util/diag.h"
#include "util/path.h"

#define MB (1024ULL * 1024ULL)

static char standin_path[4096];
static char script_path[256];

/* VmRSS of /proc/PID/status, bytes; 0 when unreadable. */
static uint64_t status_vmrss(pid_t pid)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	unsigned long long kb = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return kb * 1024;
}

/* utime + stime of /proc/PID/stat, seconds, read independently of proc.c. */
static double stat_cpu(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	unsigned long long ut, st;
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

enum child_kind { CHILD_SLEEP, CHILD_SPIN };

/* Fork a child that allocates and touches mb MiB, says so on a pipe, then
 * sleeps or spins until killed. */
static pid_t spawn_child(size_t mb, enum child_kind kind, const char *name)
{
	int fds[2];
	if (pipe(fds) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		if (name)
			prctl(PR_SET_NAME, name, 0, 0, 0);
		volatile char *mem = NULL;
		if (mb) {
			mem = malloc(mb * MB);
			if (!mem)
				_exit(1);
			for (size_t i = 0; i < mb * MB; i += 4096)
				mem[i] = (char)i;
			mem[mb * MB - 1] = 1;
		}
		if (write(fds[1], "r", 1) != 1)
			_exit(1);
		close(fds[1]);
		volatile unsigned long spin = 0;
		for (;;) {
			if (kind == CHILD_SPIN)
				spin++;
			else
				pause();
		}
	}
	close(fds[1]);
	char c;
	if (pid < 0 || read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		return -1;
	}
	close(fds[0]);
	return pid;
}

static void reap(pid_t pid)
{
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

static void write_script(const char *text)
{
	FILE *f = fopen(script_path, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
	setenv("LLE_NVML_STANDIN", script_path, 1);
}

static const char two_gpus[] =
	"count=2\n"
	"0.name=NVIDIA H100 80GB HBM3\n"
	"0.memory.total=85899345920\n"
	"0.memory.used=1073741824,2147483648,65712999628\n"
	"0.utilization.gpu=10,50,87\n"
	"0.utilization.memory=5,20,40\n"
	"0.power=250000\n"
	"0.temperature=65\n"
	"0.clock.graphics=1755\n"
	"0.clock.sm=1980\n"
	"0.clock.mem=2619\n"
	"1.name=Second \"GPU\"\n"
	"1.memory.total=42949672960\n"
	"1.memory.used=0,1048576\n"
	"1.utilization.gpu=0\n"
	"1.utilization.memory=0\n"
	"1.power=60500\n"
	"1.temperature=30\n"
	"1.clock.graphics=210\n"
	"1.clock.sm=210\n"
	"1.clock.mem=1593\n";

static int (*standin_calls)(const char *);

TEST(interval_parse_checks_range)
{
	unsigned ms = 0;
	struct lle_err err = { 0 };
	CHECK(lle_monitor_parse_interval("--monitor-interval", "250", &ms, &err) == 0 && ms == 250);
	CHECK(lle_monitor_parse_interval("--monitor-interval", "10", &ms, &err) == 0 && ms == 10);
	CHECK(lle_monitor_parse_interval("--monitor-interval", "3600000", &ms, &err) == 0 &&
	      ms == 3600000);
	const char *bad[] = { "", "9", "0", "3600001", "abc", "-5", "10x", " 10",
			      "99999999999999999999999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		lle_err_clear(&err);
		ms = 7;
		CHECK(lle_monitor_parse_interval("--monitor-interval", bad[i], &ms, &err) == -1);
		CHECK(err.code == LLE_EXIT_USAGE && ms == 7);
		CHECK(strstr(err.msg, "'--monitor-interval'") != NULL);
	}
	CHECK_STREQ(err.msg, "option '--monitor-interval' takes milliseconds from 10 to 3600000, "
			     "not '99999999999999999999999'");
}

TEST(proc_readers_on_this_process)
{
	struct lle_proc_stat ps;
	struct lle_err err = { 0 };
	CHECK(lle_proc_read(0, &ps, &err) == 0);
	CHECK(ps.rss_bytes > 0 && ps.cpu_s >= 0);
	CHECK_STREQ(ps.comm, "test_monitor");
	uint64_t hwm = 0;
	CHECK(lle_proc_peak_rss(0, &hwm, &err) == 0 && hwm >= ps.rss_bytes / 2);
	struct lle_sys_cpu a, b;
	CHECK(lle_sys_cpu_read(&a, &err) == 0 && a.total >= a.busy && a.total > 0);
	CHECK(lle_sys_cpu_read(&b, &err) == 0 && b.total >= a.total);
	struct lle_sys_mem m;
	CHECK(lle_sys_mem_read(&m, &err) == 0 && m.total > 0 && m.available <= m.total);
	CHECK(lle_sys_ncpu() >= 1);
	double load[3], up;
	CHECK(lle_sys_loadavg(load, &err) == 0 && load[0] >= 0);
	CHECK(lle_sys_uptime(&up, &err) == 0 && up > 0 && ps.start_s <= up);
	struct lle_sys_cpu x = { 50, 100 }, y = { 80, 200 };
	CHECK_NEAR(lle_sys_cpu_percent(&x, &y), 30.0, 1e-9);
	CHECK(lle_sys_cpu_percent(&y, &y) == -1);
	/* A process that does not exist: an error naming the file. */
	CHECK(lle_proc_read(0x7ffffff0, &ps, &err) == -1 && strstr(err.msg, "/proc/") != NULL);
}

/* The sampler's RSS for a child that touched 64 MiB matches the kernel's
 * VmRSS, and is at least the 64 MiB. */
TEST(rss_of_a_child_with_known_memory)
{
	struct lle_proc_stat self;
	lle_proc_read(0, &self, NULL);
	pid_t pid = spawn_child(64, CHILD_SLEEP, NULL);
	CHECK(pid > 0);
	if (pid <= 0)
		return;
	struct lle_mon_opts o = { .interval_ms = 20, .pid = pid, .no_gpu = 1 };
	struct lle_err err = { 0 };
	struct lle_monitor *m = lle_monitor_start_opts(&o, &err);
	CHECK(m != NULL);
	struct lle_mon_sample s;
	/* A bounded wait for two samples; a timeout fails, no time is asserted. */
	int got = 0;
	for (int i = 0; i < 600 && !got; i++)
		got = lle_monitor_wait(m, 1, 100, &s);
	CHECK(got && s.seq >= 2);
	CHECK(s.proc_ok && s.pid == pid);
	uint64_t vmrss = status_vmrss(pid);
	CHECK(vmrss >= 64 * MB);
	/* Same kernel counter through statm and status; the child is idle. */
	CHECK_NEAR((double)s.rss_bytes, (double)vmrss, 1.0 * MB);
	CHECK(s.rss_bytes >= 64 * MB);
	CHECK(s.rss_bytes <= self.rss_bytes + 64 * MB + 32 * MB);
	CHECK(s.ngpu == 0);
	struct lle_mon_summary sum;
	lle_monitor_stop(m, &sum);
	CHECK(sum.rss_peak >= 64 * MB);
	CHECK(sum.nsamples >= 3 && sum.ngpu == 0);
	reap(pid);
}

/* CPU figures of a spinning child and a sleeping one: the sampled CPU time
 * lies between two direct readings of /proc taken around the sample, and the
 * mean CPU of the spinner is above the sleeper's and at most one CPU. */
TEST(cpu_of_busy_and_idle_children)
{
	pid_t busy = spawn_child(0, CHILD_SPIN, NULL);
	pid_t idle = spawn_child(0, CHILD_SLEEP, NULL);
	CHECK(busy > 0 && idle > 0);
	if (busy <= 0 || idle <= 0)
		return;
	struct lle_err err = { 0 };
	struct lle_mon_opts ob = { .interval_ms = 20, .pid = busy, .no_gpu = 1 };
	struct lle_mon_opts oi = { .interval_ms = 20, .pid = idle, .no_gpu = 1 };
	struct lle_monitor *mb = lle_monitor_start_opts(&ob, &err);
	struct lle_monitor *mi = lle_monitor_start_opts(&oi, &err);
	CHECK(mb && mi);
	struct lle_mon_sample s = { 0 };
	/* Until the spinner has used 0.3 CPU seconds (bounded: 120 s). */
	for (int i = 0; i < 1200; i++) {
		lle_monitor_wait(mb, s.seq, 100, &s);
		if (s.cpu_s >= 0.3)
			break;
	}
	CHECK(s.cpu_s >= 0.3);
	/* A sample reads /proc before it gets its number: sample L+1 may have
	 * read before `before`, but L+2 begins only after L+1 is published. */
	double before = stat_cpu(busy);
	lle_monitor_latest(mb, &s);
	uint64_t want = s.seq + 1;
	struct lle_mon_sample s2;
	int got = 0;
	for (int i = 0; i < 600 && !got; i++)
		got = lle_monitor_wait(mb, want, 100, &s2);
	double after = stat_cpu(busy);
	CHECK(got);
	CHECK(before <= s2.cpu_s + 1e-9 && s2.cpu_s <= after + 1e-9);
	CHECK(s2.cpu_percent >= 0);
	struct lle_mon_summary sb, si;
	lle_monitor_stop(mb, &sb);
	lle_monitor_stop(mi, &si);
	CHECK(sb.cpu_s > 0.2);
	CHECK(sb.cpu_mean_percent > 0 && sb.cpu_mean_percent <= 110);
	CHECK(si.cpu_s < sb.cpu_s);
	CHECK(si.cpu_mean_percent >= 0 && si.cpu_mean_percent < sb.cpu_mean_percent);
	reap(busy);
	reap(idle);
}

TEST(nvml_standin_two_gpus)
{
	write_script(two_gpus);
	struct lle_err err = { 0 };
	struct lle_nvml *nv = lle_nvml_open(standin_path, &err);
	CHECK(nv != NULL);
	if (!nv) {
		printf("# %s\n", err.msg);
		return;
	}
	CHECK(lle_nvml_count(nv) == 2);
	struct lle_gpu_sample g;
	uint64_t used0[] = { 1073741824ULL, 2147483648ULL, 65712999628ULL, 65712999628ULL };
	double util0[] = { 10, 50, 87, 87 };
	for (int k = 0; k < 4; k++) {
		lle_nvml_sample(nv, 0, &g);
		CHECK_STREQ(g.name, "NVIDIA H100 80GB HBM3");
		CHECK(g.index == 0 && g.mem_ok);
		CHECK(g.mem_used == used0[k] && g.mem_total == 85899345920ULL);
		CHECK_NEAR(g.util_percent, util0[k], 0);
		CHECK_NEAR(g.power_w, 250.0, 1e-9);
		CHECK_NEAR(g.temp_c, 65, 0);
		CHECK_NEAR(g.clock_graphics_mhz, 1755, 0);
		CHECK_NEAR(g.clock_sm_mhz, 1980, 0);
		CHECK_NEAR(g.clock_mem_mhz, 2619, 0);
	}
	CHECK_NEAR(g.mem_util_percent, 40, 0);
	lle_nvml_sample(nv, 1, &g);
	CHECK_STREQ(g.name, "Second \"GPU\"");
	CHECK(g.index == 1 && g.mem_used == 0 && g.mem_total == 42949672960ULL);
	CHECK_NEAR(g.power_w, 60.5, 1e-9);
	lle_nvml_sample(nv, 1, &g);
	CHECK(g.mem_used == 1048576);
	/* Out of range: nothing known, no crash. */
	lle_nvml_sample(nv, 2, &g);
	CHECK(!g.mem_ok && g.util_percent == -1);
	lle_nvml_close(nv);
	CHECK(standin_calls && standin_calls("nvmlInit_v2") == 1 && standin_calls("nvmlShutdown") == 1);
}

/* An error from each function that lle_nvml_open calls leaves no GPU part,
 * names the function and NVML's message, and shuts NVML down again. */
TEST(nvml_errors_at_open)
{
	static const struct {
		const char *line, *fn;
		int shutdowns;
	} cases[] = {
		{ "error.nvmlInit_v2=9\n", "nvmlInit_v2: Driver Not Loaded (9)", 0 },
		{ "error.nvmlDeviceGetCount_v2=999\n", "nvmlDeviceGetCount_v2: Unknown Error (999)", 1 },
		{ "1.error.nvmlDeviceGetHandleByIndex_v2=15\n",
		  "nvmlDeviceGetHandleByIndex_v2: GPU is lost (15)", 1 },
		{ "0.error.nvmlDeviceGetName=4\n", "nvmlDeviceGetName: Insufficient Permissions (4)", 1 },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char text[4096];
		snprintf(text, sizeof(text), "%s%s", two_gpus, cases[i].line);
		write_script(text);
		struct lle_err err = { 0 };
		struct lle_nvml *nv = lle_nvml_open(standin_path, &err);
		CHECK(nv == NULL);
		lle_nvml_close(nv);
		CHECK_STREQ(err.msg, cases[i].fn);
		CHECK(standin_calls && standin_calls("nvmlShutdown") == cases[i].shutdowns);
	}
	write_script("count=0\n");
	struct lle_err err = { 0 };
	CHECK(lle_nvml_open(standin_path, &err) == NULL);
	CHECK_STREQ(err.msg, "NVML sees no GPU");
	/* No script at all: as a machine with the library but no driver. */
	unsetenv("LLE_NVML_STANDIN");
	CHECK(lle_nvml_open(standin_path, &err) == NULL);
	CHECK_STREQ(err.msg, "nvmlInit_v2: Driver Not Loaded (9)");
	/* No library, and a library that is not NVML. */
	CHECK(lle_nvml_open("/nonexistent/libnvidia-ml.so.1", &err) == NULL);
	CHECK(strncmp(err.msg, "cannot load NVML '/nonexistent/libnvidia-ml.so.1': ", 50) == 0);
	CHECK(lle_nvml_open("libm.so.6", &err) == NULL);
	CHECK_STREQ(err.msg, "NVML 'libm.so.6' has no 'nvmlInit_v2'");
}

/* An error from each function called per sample leaves out only its figures. */
TEST(nvml_errors_per_sample)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s%s", two_gpus,
		 "0.error.nvmlDeviceGetMemoryInfo=0,15\n"
		 "0.error.nvmlDeviceGetUtilizationRates=3\n"
		 "1.error.nvmlDeviceGetPowerUsage=3\n"
		 "1.error.nvmlDeviceGetTemperature=4\n"
		 "1.error.nvmlDeviceGetClockInfo=3\n");
	write_script(text);
	struct lle_err err = { 0 };
	struct lle_nvml *nv = lle_nvml_open(standin_path, &err);
	CHECK(nv != NULL);
	if (!nv)
		return;
	struct lle_gpu_sample g;
	lle_nvml_sample(nv, 0, &g);
	CHECK(g.mem_ok && g.mem_used == 1073741824ULL);
	CHECK(g.util_percent == -1 && g.mem_util_percent == -1);
	CHECK_NEAR(g.power_w, 250, 1e-9);
	lle_nvml_sample(nv, 0, &g); /* second call: memory info fails */
	CHECK(!g.mem_ok && g.mem_used == 0 && g.mem_total == 0);
	CHECK_NEAR(g.temp_c, 65, 0);
	lle_nvml_sample(nv, 1, &g);
	CHECK(g.mem_ok && g.util_percent == 0);
	CHECK(g.power_w == -1 && g.temp_c == -1);
	CHECK(g.clock_graphics_mhz == -1 && g.clock_sm_mhz == -1 && g.clock_mem_mhz == -1);
	lle_nvml_close(nv);
}

/* Each failing function is said once at debug level, however many samples. */
TEST(nvml_errors_said_once_at_debug_level)
{
	char text[4096];
	snprintf(text, sizeof(text), "%s1.error.nvmlDeviceGetPowerUsage=3\n", two_gpus);
	write_script(text);
	char log[] = "/tmp/lle-mon-log.XXXXXX";
	int fd = mkstemp(log);
	CHECK(fd >= 0);
	if (fd < 0)
		return;
	fflush(stderr);
	int saved = dup(2);
	dup2(fd, 2);
	int verbosity = lle_diag_verbosity();
	lle_diag_set_verbosity(LLE_DEBUG);
	struct lle_nvml *nv = lle_nvml_open(standin_path, NULL);
	struct lle_gpu_sample g;
	for (int i = 0; i < 5; i++)
		lle_nvml_sample(nv, 1, &g);
	lle_nvml_close(nv);
	/* And a failed start of the whole GPU part, through the sampler. */
	write_script("error.nvmlInit_v2=9\n");
	struct lle_mon_opts o = { .interval_ms = 10, .nvml_path = standin_path };
	struct lle_monitor *m = lle_monitor_start_opts(&o, NULL);
	struct lle_mon_sample s = { 0 };
	for (int i = 0; i < 600 && s.seq < 4; i++)
		lle_monitor_wait(m, 3, 100, &s);
	lle_monitor_stop(m, NULL);
	/* At normal verbosity nothing is said. */
	lle_diag_set_verbosity(LLE_NORMAL);
	write_script("error.nvmlInit_v2=9\n");
	m = lle_monitor_start_opts(&o, NULL);
	lle_monitor_wait(m, 1, 5000, &s);
	lle_monitor_stop(m, NULL);
	lle_diag_set_verbosity(verbosity);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	char buf[8192];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	unlink(log);
	buf[n > 0 ? n : 0] = '\0';
	int power = 0, init = 0, lines = 0;
	for (char *p = buf; (p = strchr(p, '\n')); p++)
		lines++;
	for (char *p = buf; (p = strstr(p, "nvmlDeviceGetPowerUsage: Not Supported (3)")); p++)
		power++;
	for (char *p = buf; (p = strstr(p, "no GPU figures: nvmlInit_v2: Driver Not Loaded (9)")); p++)
		init++;
	CHECK_INTEQ(power, 1);
	CHECK_INTEQ(init, 1);
	CHECK_INTEQ(lines, 2);
	CHECK(strncmp(buf, "debug: monitor: GPU 1: ", 23) == 0);
}

/* The sampler over the stand-in: per-GPU peak and mean in the summary. */
TEST(sampler_summary_with_two_gpus)
{
	write_script(two_gpus);
	struct lle_mon_opts o = { .interval_ms = 10, .nvml_path = standin_path };
	struct lle_err err = { 0 };
	struct lle_monitor *m = lle_monitor_start_opts(&o, &err);
	CHECK(m != NULL);
	struct lle_mon_sample s = { 0 };
	for (int i = 0; i < 600 && s.seq < 4; i++)
		lle_monitor_wait(m, s.seq, 100, &s);
	CHECK(s.seq >= 4 && s.ngpu == 2);
	CHECK(s.gpu[0].util_percent == 87 && s.gpu[0].mem_used == 65712999628ULL);
	struct lle_mon_summary sum;
	lle_monitor_stop(m, &sum);
	CHECK(sum.ngpu == 2);
	const struct lle_gpu_summary *g = &sum.gpu[0];
	uint64_t n = g->nsamples;
	CHECK(n >= 4 && n == sum.nsamples);
	CHECK(g->mem_peak == 65712999628ULL && g->mem_total == 85899345920ULL);
	CHECK_NEAR(g->util_peak, 87, 0);
	CHECK_NEAR(g->util_mean, (10.0 + 50.0 + 87.0 * (double)(n - 2)) / (double)n, 1e-9);
	CHECK_NEAR(g->mem_mean,
		   (1073741824.0 + 2147483648.0 + 65712999628.0 * (double)(n - 2)) / (double)n, 1.0);
	CHECK_STREQ(sum.gpu[1].name, "Second \"GPU\"");
	CHECK(sum.gpu[1].mem_peak == 1048576 && sum.gpu[1].util_peak == 0);
	CHECK(sum.rss_peak > 0 && sum.wall_s > 0 && sum.cpu_s >= 0);
	CHECK(standin_calls && standin_calls("nvmlShutdown") == 1);
}

static void *feed(void *arg)
{
	struct lle_monitor *m = arg;
	for (int i = 0; i < 10000; i++) {
		lle_monitor_add_tokens(m, 1, 2);
		lle_monitor_add_requests_done(m, 1);
	}
	return NULL;
}

/* Counters from several threads add up exactly; ETA and rates follow. */
TEST(progress_counters)
{
	struct lle_mon_opts o = { .interval_ms = 10, .no_gpu = 1 };
	struct lle_monitor *m = lle_monitor_start_opts(&o, NULL);
	CHECK(m != NULL);
	struct lle_mon_sample s = { 0 };
	lle_monitor_wait(m, 0, 60000, &s);
	CHECK(s.seq >= 1 && !s.has_progress);
	lle_monitor_add_requests_total(m, 50000);
	pthread_t th[4];
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, feed, m);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	uint64_t after = s.seq;
	lle_monitor_latest(m, &s);
	after = s.seq;
	int got = 0;
	for (int i = 0; i < 600 && !got; i++)
		got = lle_monitor_wait(m, after, 100, &s);
	CHECK(got && s.has_progress);
	CHECK(s.prompt_tokens == 40000 && s.generated_tokens == 80000);
	CHECK(s.requests_done == 40000 && s.requests_total == 50000);
	CHECK(s.eta_s >= 0);
	CHECK(s.generated_tok_s >= 0 && s.prompt_tok_s >= 0);
	lle_monitor_add_requests_done(m, 10000);
	after = s.seq;
	got = 0;
	for (int i = 0; i < 600 && !got; i++)
		got = lle_monitor_wait(m, after, 100, &s);
	CHECK(s.eta_s == 0);
	struct lle_mon_summary sum;
	lle_monitor_stop(m, &sum);
	CHECK(sum.has_progress && sum.prompt_tokens == 40000 && sum.generated_tokens == 80000);
	CHECK(sum.requests_done == 50000 && sum.requests_total == 50000);
	CHECK(sum.progress_s > 0 && sum.progress_s <= sum.wall_s);
	CHECK_NEAR(sum.generated_tok_s, 80000.0 / sum.progress_s, 1e-6);
}

/* Named phases: in order, back to back, the open one running to the stop. */
TEST(phases)
{
	struct lle_mon_opts o = { .interval_ms = 1000, .no_gpu = 1 };
	struct lle_monitor *m = lle_monitor_start_opts(&o, NULL);
	CHECK(m != NULL);
	lle_monitor_phase(m, "load model");
	lle_monitor_phase(m, "task \"a\"");
	lle_monitor_phase(m, NULL);
	lle_monitor_phase(m, NULL); /* nothing open: no effect */
	lle_monitor_phase(m, "task b, with a name longer than sixty-three bytes is cut to fit it");
	struct lle_mon_summary sum;
	lle_monitor_summary(m, &sum);
	CHECK(sum.nphases == 3);
	lle_monitor_stop(m, &sum);
	CHECK(sum.nphases == 3);
	const struct lle_phase_summary *p = sum.phase;
	CHECK_STREQ(p[0].name, "load model");
	CHECK_STREQ(p[1].name, "task \"a\"");
	CHECK_STREQ(p[2].name, "task b, with a name longer than sixty-three bytes is cut to fit");
	CHECK(strlen(p[2].name) == LLE_MON_PHASE_NAME - 1);
	CHECK(p[0].start_s >= 0 && p[0].seconds >= 0 && p[1].seconds >= 0);
	CHECK_NEAR(p[0].start_s + p[0].seconds, p[1].start_s, 1e-9);
	CHECK(p[1].start_s + p[1].seconds <= p[2].start_s);
	CHECK_NEAR(p[2].start_s + p[2].seconds, sum.wall_s, 1e-9);
	struct lle_buf b = LLE_BUF_INIT;
	CHECK(lle_monitor_summary_json(&b, &sum) == 0);
	json_t *j = json_loads(lle_buf_str(&b), 0, NULL);
	json_t *ph = json_object_get(j, "phases");
	CHECK(json_array_size(ph) == 3);
	CHECK_STREQ(json_string_value(json_object_get(json_array_get(ph, 1), "name")), "task \"a\"");
	CHECK(json_is_number(json_object_get(json_array_get(ph, 2), "seconds")));
	json_decref(j);
	lle_buf_free(&b);
	/* More than the limit: the first LLE_MON_MAX_PHASES are kept. */
	m = lle_monitor_start_opts(&o, NULL);
	for (int i = 0; i < LLE_MON_MAX_PHASES + 10; i++) {
		char name[32];
		snprintf(name, sizeof(name), "p%d", i);
		lle_monitor_phase(m, name);
	}
	lle_monitor_stop(m, &sum);
	CHECK(sum.nphases == LLE_MON_MAX_PHASES);
	CHECK_STREQ(sum.phase[LLE_MON_MAX_PHASES - 1].name, "p255");
	lle_monitor_phase(NULL, "x");
}

TEST(disabled_by_environment)
{
	setenv("LLM_EVAL_MONITOR", "0", 1);
	CHECK(!lle_monitor_enabled());
	struct lle_err err = { 0 };
	struct lle_monitor *m = lle_monitor_start(100, &err);
	CHECK(m == NULL && err.code == 0);
	/* Every call takes the NULL handle. */
	lle_monitor_add_tokens(m, 1, 1);
	lle_monitor_add_requests_total(m, 1);
	lle_monitor_add_requests_done(m, 1);
	struct lle_mon_sample s;
	lle_monitor_latest(m, &s);
	CHECK(s.seq == 0);
	CHECK(lle_monitor_wait(m, 0, 10, &s) == 0);
	struct lle_buf b = LLE_BUF_INIT;
	CHECK(lle_monitor_format_line(&b, &s, LLE_MON_FMT_RATES) == 0 && b.n == 0);
	struct lle_mon_summary sum;
	lle_monitor_stop(m, &sum);
	CHECK(sum.nsamples == 0 && sum.cpu_mean_percent == -1);
	/* The monitor command passes ignore_env. */
	struct lle_mon_opts o = { .interval_ms = 10, .no_gpu = 1, .ignore_env = 1 };
	m = lle_monitor_start_opts(&o, &err);
	CHECK(m != NULL);
	lle_monitor_stop(m, NULL);
	setenv("LLM_EVAL_MONITOR", "1", 1);
	CHECK(lle_monitor_enabled());
	unsetenv("LLM_EVAL_MONITOR");
	CHECK(lle_monitor_enabled());
	lle_buf_free(&b);
}

static void fake_sample(struct lle_mon_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->seq = 7;
	s->t = 12.5;
	s->unix_time = 1795824000.25; /* 2026-11-28T00:00:00.250Z */
	s->pid = 4242;
	s->proc_ok = 1;
	s->cpu_s = 33.5;
	s->cpu_percent = 180.4;
	s->rss_bytes = (uint64_t)(1.2 * 1024 * MB);
	s->ncpu = 16;
	s->sys_cpu_percent = 45.25;
	s->load[0] = 1.5, s->load[1] = 1.25, s->load[2] = 1;
	s->mem_total = 128ULL * 1024 * MB;
	s->mem_available = 100ULL * 1024 * MB;
	s->ngpu = 1;
	struct lle_gpu_sample *g = &s->gpu[0];
	g->index = 0;
	strcpy(g->name, "NVIDIA \"H100\"");
	g->mem_ok = 1;
	g->mem_used = (uint64_t)(61.2 * 1024 * MB);
	g->mem_total = 80ULL * 1024 * MB;
	g->util_percent = 87;
	g->mem_util_percent = 40;
	g->power_w = 250.5;
	g->temp_c = -1; /* unknown */
	g->clock_graphics_mhz = 1755;
	g->clock_sm_mhz = 1980;
	g->clock_mem_mhz = 2619;
	s->prompt_tok_s = s->generated_tok_s = s->eta_s = -1;
}

TEST(progress_line_fragment)
{
	struct lle_mon_sample s;
	fake_sample(&s);
	struct lle_buf b = LLE_BUF_INIT;
	CHECK(lle_monitor_format_line(&b, &s, 0) == 0);
	CHECK_STREQ(lle_buf_str(&b), "GPU0 87% 61.2/80.0G | CPU 180% | RSS 1.2G");
	lle_buf_reset(&b);
	/* Rates only when asked for and when a run fed the counters. */
	CHECK(lle_monitor_format_line(&b, &s, LLE_MON_FMT_RATES) == 0);
	CHECK_STREQ(lle_buf_str(&b), "GPU0 87% 61.2/80.0G | CPU 180% | RSS 1.2G");
	lle_buf_reset(&b);
	s.has_progress = 1;
	s.generated_tok_s = 45.23;
	s.eta_s = 192;
	lle_monitor_format_line(&b, &s, LLE_MON_FMT_RATES);
	CHECK_STREQ(lle_buf_str(&b), "GPU0 87% 61.2/80.0G | CPU 180% | RSS 1.2G | 45.2 tok/s | ETA 3m12s");
	lle_buf_reset(&b);
	s.eta_s = 3725;
	s.generated_tok_s = -1;
	s.ngpu = 0;
	s.cpu_percent = -1;
	s.rss_bytes = 512 * MB;
	lle_monitor_format_line(&b, &s, LLE_MON_FMT_RATES);
	CHECK_STREQ(lle_buf_str(&b), "CPU --% | RSS 512M | -- tok/s | ETA 1h02m");
	lle_buf_free(&b);
}

static json_t *parse(const struct lle_buf *b)
{
	json_error_t e;
	json_t *o = json_loads(lle_buf_str(b), 0, &e);
	if (!o)
		printf("# json: %s at %d: %s\n", e.text, e.column, lle_buf_str(b));
	return o;
}

TEST(sample_json_fields_and_types)
{
	struct lle_mon_sample s;
	fake_sample(&s);
	struct lle_buf b = LLE_BUF_INIT;
	CHECK(lle_monitor_sample_json(&b, &s) == 0);
	json_t *o = parse(&b);
	char why[512] = "";
	CHECK(o && schema_check_sample(o, why, sizeof(why)) == 0);
	if (*why)
		printf("# %s\n", why);
	CHECK_STREQ(json_string_value(json_object_get(o, "time")), "2026-11-28T00:00:00.250Z");
	json_t *g = json_array_get(json_object_get(o, "gpus"), 0);
	CHECK_STREQ(json_string_value(json_object_get(g, "name")), "NVIDIA \"H100\"");
	CHECK(json_is_null(json_object_get(g, "temp_c")));
	CHECK(json_integer_value(json_object_get(g, "mem_total_bytes")) == (json_int_t)(80ULL * 1024 * MB));
	CHECK_NEAR(json_number_value(json_object_get(g, "power_w")), 250.5, 1e-9);
	CHECK(json_object_get(o, "progress") == NULL);
	json_t *sys = json_object_get(o, "system");
	CHECK(json_integer_value(json_object_get(sys, "cpus")) == 16);
	CHECK_NEAR(json_number_value(json_array_get(json_object_get(sys, "load"), 1)), 1.25, 1e-9);
	json_decref(o);

	/* With progress, and with nothing known about the process. */
	s.has_progress = 1;
	s.requests_total = 10;
	s.requests_done = 4;
	s.eta_s = 30;
	s.proc_ok = 0;
	s.load[0] = -1;
	lle_buf_reset(&b);
	lle_monitor_sample_json(&b, &s);
	o = parse(&b);
	CHECK(o && schema_check_sample(o, why, sizeof(why)) == 0);
	json_t *p = json_object_get(o, "progress");
	CHECK(json_integer_value(json_object_get(p, "requests_done")) == 4);
	CHECK(json_is_null(json_object_get(p, "generated_tokens_per_s")));
	CHECK(json_is_null(json_object_get(json_object_get(o, "process"), "rss_bytes")));
	CHECK(json_is_null(json_object_get(json_object_get(o, "system"), "load")));
	json_decref(o);

	/* The schema rejects what the docs do not list. */
	o = json_loads("{\"time\":\"x\",\"t\":1,\"seq\":1,\"process\":{\"pid\":1,\"cpu_seconds\":1,"
		       "\"cpu_percent\":1,\"rss_bytes\":1},\"system\":{\"cpus\":1,\"cpu_percent\":null,"
		       "\"load\":null,\"mem_total_bytes\":1,\"mem_available_bytes\":1},\"gpus\":[],"
		       "\"extra\":1}", 0, NULL);
	CHECK(o && schema_check_sample(o, why, sizeof(why)) == -1);
	CHECK_STREQ(why, "sample has an undocumented field 'extra'");
	json_decref(o);
	lle_buf_free(&b);
}

/* Real samples, with and without GPUs, validate too. */
TEST(real_samples_validate)
{
	write_script(two_gpus);
	const char *paths[] = { standin_path, "/nonexistent/libnvidia-ml.so.1" };
	for (int k = 0; k < 2; k++) {
		struct lle_mon_opts o = { .interval_ms = 10, .nvml_path = paths[k] };
		struct lle_monitor *m = lle_monitor_start_opts(&o, NULL);
		lle_monitor_add_tokens(m, 5, 6);
		struct lle_mon_sample s = { 0 };
		for (int i = 0; i < 600 && s.seq < 2; i++)
			lle_monitor_wait(m, s.seq, 100, &s);
		CHECK(s.seq >= 2 && s.ngpu == (k == 0 ? 2u : 0u));
		struct lle_buf b = LLE_BUF_INIT;
		CHECK(lle_monitor_sample_json(&b, &s) == 0);
		json_t *o2 = parse(&b);
		char why[512] = "";
		CHECK(o2 && schema_check_sample(o2, why, sizeof(why)) == 0);
		if (*why)
			printf("# %s\n", why);
		json_decref(o2);
		struct lle_mon_summary sum;
		lle_monitor_stop(m, &sum);
		lle_buf_reset(&b);
		CHECK(lle_monitor_summary_json(&b, &sum) == 0);
		o2 = parse(&b);
		CHECK(o2 != NULL);
		CHECK(json_integer_value(json_object_get(o2, "peak_rss_bytes")) == (json_int_t)sum.rss_peak);
		CHECK(json_array_size(json_object_get(o2, "gpus")) == sum.ngpu);
		json_t *p = json_object_get(o2, "progress");
		CHECK(json_integer_value(json_object_get(p, "generated_tokens")) == 6);
		if (k == 0) {
			json_t *g = json_array_get(json_object_get(o2, "gpus"), 0);
			CHECK(json_integer_value(json_object_get(g, "peak_mem_used_bytes")) ==
			      (json_int_t)65712999628LL);
			CHECK(json_number_value(json_object_get(g, "peak_util_percent")) == 87);
		}
		json_decref(o2);
		lle_buf_free(&b);
	}
}

/* What `llm-eval monitor` uses to find runs: processes by name, and the
 * command word of their command lines. */
TEST(processes_by_name_and_command_word)
{
	pid_t pid = spawn_child(0, CHILD_SLEEP, "lle-mon-probe");
	CHECK(pid > 0);
	struct lle_proc_entry *list;
	size_t n;
	struct lle_err err = { 0 };
	CHECK(lle_proc_list_by_comm("lle-mon-probe", &list, &n, &err) == 0);
	CHECK(n == 1 && list && list[0].pid == pid && list[0].argc >= 1);
	if (n == 1)
		CHECK(strstr(list[0].argv[0], "test_monitor") != NULL && list[0].argv[list[0].argc] == NULL);
	lle_proc_list_free(list, n);
	reap(pid);
	CHECK(lle_proc_list_by_comm("lle-mon-probe", &list, &n, &err) == 0 && n == 0);
	lle_proc_list_free(list, n);

	char *a1[] = { "llm-eval", "-v", "--include-path", "x", "--color", "never", "run", "--tasks", NULL };
	CHECK_STREQ(lle_monitor_command_word(8, a1), "run");
	char *a2[] = { "llm-eval", "--include-path=x", "-q", "r", NULL };
	CHECK_STREQ(lle_monitor_command_word(4, a2), "r");
	char *a3[] = { "llm-eval", "--", "run", NULL };
	CHECK(lle_monitor_command_word(3, a3) == NULL);
	char *a4[] = { "llm-eval", NULL };
	CHECK(lle_monitor_command_word(1, a4) == NULL);
}

int main(void)
{
	const char *dir = lle_exe_dir();
	snprintf(standin_path, sizeof(standin_path), "%s/nvml-standin/libnvidia-ml.so.1",
		 dir ? dir : ".");
	snprintf(script_path, sizeof(script_path), "/tmp/lle-nvml-script.%ld", (long)getpid());
	/* Hold the stand-in open ourselves to read its call counts; the binding's
	 * dlopen of the same path gets this same copy. */
	void *h = dlopen(standin_path, RTLD_NOW | RTLD_LOCAL);
	if (h)
		*(void **)&standin_calls = dlsym(h, "lle_standin_calls");
	else
		printf("# cannot load the NVML stand-in (make it with `make test`): %s\n", dlerror());
	unsetenv("LLM_EVAL_MONITOR");
	unsetenv("LLM_EVAL_NVML_PATH");

	RUN(interval_parse_checks_range);
	RUN(proc_readers_on_this_process);
	RUN(rss_of_a_child_with_known_memory);
	RUN(cpu_of_busy_and_idle_children);
	RUN(nvml_standin_two_gpus);
	RUN(nvml_errors_at_open);
	RUN(nvml_errors_per_sample);
	RUN(nvml_errors_said_once_at_debug_level);
	RUN(sampler_summary_with_two_gpus);
	RUN(progress_counters);
	RUN(phases);
	RUN(disabled_by_environment);
	RUN(progress_line_fragment);
	RUN(sample_json_fields_and_types);
	RUN(real_samples_validate);
	RUN(processes_by_name_and_command_word);
	unlink(script_path);
	if (h)
		dlclose(h);
	return check_done();
}
