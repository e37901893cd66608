/* /proc readers for the resource monitor: see proc.h. Files are read with
 * one read() into a stack buffer (they are small and the sampler reads them
 * every interval); nothing here allocates except the process list. */
#include "monitor/proc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"

/* Read a whole small file into buf (NUL-terminated). Returns bytes read or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size, struct lle_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lle_err_set(err, LLE_EXIT_IO, "cannot open '%s': %s", path, strerror(errno));
	size_t n = 0;
	while (n + 1 < size) {
		ssize_t r = read(fd, buf + n, size - 1 - n);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return lle_err_set(err, LLE_EXIT_IO, "cannot read '%s': %s", path, strerror(e));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

static void proc_path(char *dst, size_t size, pid_t pid, const char *file)
{
	if (pid == 0)
		snprintf(dst, size, "/proc/self/%s", file);
	else
		snprintf(dst, size, "/proc/%ld/%s", (long)pid, file);
}

static long clk_tck(void)
{
	long t = sysconf(_SC_CLK_TCK);
	return t > 0 ? t : 100;
}

int lle_proc_read(pid_t pid, struct lle_proc_stat *out, struct lle_err *err)
{
	char path[64], buf[1024];
	memset(out, 0, sizeof(*out));
	proc_path(path, sizeof(path), pid, "stat");
	if (read_small(path, buf, sizeof(buf), err) < 0)
		return -1;
	/* "PID (COMM) S ..." where COMM may hold spaces and parentheses: the
	 * fields start after the last ')'. */
	char *open_paren = strchr(buf, '(');
	char *close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return lle_err_set(err, LLE_EXIT_IO, "'%s': unexpected contents", path);
	size_t clen = (size_t)(close_paren - open_paren - 1);
	if (clen >= sizeof(out->comm))
		clen = sizeof(out->comm) - 1;
	memcpy(out->comm, open_paren + 1, clen);
	out->comm[clen] = '\0';
	/* Fields 3.. follow; utime is 14, stime 15, starttime 22. */
	unsigned long long utime = 0, stime = 0, start = 0;
	char *p = close_paren + 1;
	int field = 2;
	while (*p && field < 22) {
		while (*p == ' ')
			p++;
		if (!*p)
			break;
		field++;
		char *end;
		if (field == 14 || field == 15 || field == 22) {
			unsigned long long v = strtoull(p, &end, 10);
			if (end == p)
				return lle_err_set(err, LLE_EXIT_IO, "'%s': field %d is not a number", path, field);
			if (field == 14)
				utime = v;
			else if (field == 15)
				stime = v;
			else
				start = v;
			p = end;
		} else {
			while (*p && *p != ' ')
				p++;
		}
	}
	if (field < 22)
		return lle_err_set(err, LLE_EXIT_IO, "'%s': only %d fields", path, field);
	double tck = (double)clk_tck();
	out->cpu_s = (double)(utime + stime) / tck;
	out->start_s = (double)start / tck;

	proc_path(path, sizeof(path), pid, "statm");
	if (read_small(path, buf, sizeof(buf), err) < 0)
		return -1;
	unsigned long long size_pages, resident;
	if (sscanf(buf, "%llu %llu", &size_pages, &resident) != 2)
		return lle_err_set(err, LLE_EXIT_IO, "'%s': unexpected contents", path);
	long page = sysconf(_SC_PAGESIZE);
	out->rss_bytes = (uint64_t)resident * (uint64_t)(page > 0 ? page : 4096);
	return 0;
}

/* The value in kB of "Key:   N kB" in a /proc status-like text, as bytes. */
static int find_kb(const char *text, const char *key, uint64_t *bytes)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			unsigned long long kb;
			if (sscanf(line + klen + 1, " %llu", &kb) != 1)
				return -1;
			*bytes = (uint64_t)kb * 1024;
			return 0;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return -1;
}

int lle_proc_peak_rss(pid_t pid, uint64_t *bytes, struct lle_err *err)
{
	char path[64], buf[4096];
	proc_path(path, sizeof(path), pid, "status");
	if (read_small(path, buf, sizeof(buf), err) < 0)
		return -1;
	if (find_kb(buf, "VmHWM", bytes) < 0)
		return lle_err_set(err, LLE_EXIT_IO, "'%s': no 'VmHWM' line", path);
	return 0;
}

int lle_sys_cpu_read(struct lle_sys_cpu *out, struct lle_err *err)
{
	char buf[512];
	/* Only the first line matters; a short buffer reads just that much. */
	if (read_small("/proc/stat", buf, sizeof(buf), err) < 0)
		return -1;
	unsigned long long v[8] = { 0 };
	int n = sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2],
		       &v[3], &v[4], &v[5], &v[6], &v[7]);
	if (n < 4)
		return lle_err_set(err, LLE_EXIT_IO, "'/proc/stat': unexpected first line");
	/* user nice system idle iowait irq softirq steal; guest time is already
	 * counted in user and nice. */
	uint64_t total = 0;
	for (int i = 0; i < n; i++)
		total += v[i];
	out->total = total;
	out->busy = total - v[3] - (n > 4 ? v[4] : 0);
	return 0;
}

double lle_sys_cpu_percent(const struct lle_sys_cpu *a, const struct lle_sys_cpu *b)
{
	if (b->total <= a->total || b->busy < a->busy)
		return -1;
	double p = 100.0 * (double)(b->busy - a->busy) / (double)(b->total - a->total);
	return p > 100.0 ? 100.0 : p;
}

int lle_sys_mem_read(struct lle_sys_mem *out, struct lle_err *err)
{
	char buf[8192];
	if (read_small("/proc/meminfo", buf, sizeof(buf), err) < 0)
		return -1;
	if (find_kb(buf, "MemTotal", &out->total) < 0 ||
	    find_kb(buf, "MemAvailable", &out->available) < 0)
		return lle_err_set(err, LLE_EXIT_IO,
				   "'/proc/meminfo': no 'MemTotal' or 'MemAvailable' line");
	return 0;
}

unsigned lle_sys_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

int lle_sys_loadavg(double avg[3], struct lle_err *err)
{
	char buf[256];
	if (read_small("/proc/loadavg", buf, sizeof(buf), err) < 0)
		return -1;
	if (sscanf(buf, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3)
		return lle_err_set(err, LLE_EXIT_IO, "'/proc/loadavg': unexpected contents");
	return 0;
}

int lle_sys_uptime(double *seconds, struct lle_err *err)
{
	char buf[128];
	if (read_small("/proc/uptime", buf, sizeof(buf), err) < 0)
		return -1;
	if (sscanf(buf, "%lf", seconds) != 1)
		return lle_err_set(err, LLE_EXIT_IO, "'/proc/uptime': unexpected contents");
	return 0;
}

/* The argument vector of a process, as one allocation: the pointer array
 * followed by the strings. NULL when the process is gone or has none. */
static char **read_argv(pid_t pid, int *argc)
{
	char path[64];
	proc_path(path, sizeof(path), pid, "cmdline");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	struct lle_buf b = LLE_BUF_INIT;
	char chunk[4096];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (lle_buf_add(&b, chunk, (size_t)r) < 0)
			break;
	}
	close(fd);
	if (b.oom || b.n == 0) {
		lle_buf_free(&b);
		return NULL;
	}
	if (b.p[b.n - 1] != '\0' && lle_buf_addc(&b, '\0') < 0) {
		lle_buf_free(&b);
		return NULL;
	}
	int n = 0;
	for (size_t i = 0; i < b.n; i++)
		n += b.p[i] == '\0';
	size_t ptrs = sizeof(char *) * ((size_t)n + 1);
	char **argv = malloc(ptrs + b.n);
	if (!argv) {
		lle_buf_free(&b);
		return NULL;
	}
	char *s = (char *)argv + ptrs;
	memcpy(s, b.p, b.n);
	for (int i = 0; i < n; i++) {
		argv[i] = s;
		s += strlen(s) + 1;
	}
	argv[n] = NULL;
	*argc = n;
	lle_buf_free(&b);
	return argv;
}

int lle_proc_list_by_comm(const char *comm, struct lle_proc_entry **out, size_t *nout,
			  struct lle_err *err)
{
	*out = NULL;
	*nout = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return lle_err_set(err, LLE_EXIT_IO, "cannot open '/proc': %s", strerror(errno));
	struct lle_proc_entry *list = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		char path[64], name[64];
		proc_path(path, sizeof(path), pid, "comm");
		if (read_small(path, name, sizeof(name), NULL) <= 0)
			continue; /* gone meanwhile */
		name[strcspn(name, "\n")] = '\0';
		if (strcmp(name, comm) != 0)
			continue;
		int argc = 0;
		char **argv = read_argv(pid, &argc);
		if (!argv)
			continue; /* gone, or a kernel thread */
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 8;
			struct lle_proc_entry *nl = realloc(list, ncap * sizeof(*nl));
			if (!nl) {
				free(argv);
				closedir(d);
				lle_proc_list_free(list, n);
				return lle_err_oom(err);
			}
			list = nl;
			cap = ncap;
		}
		list[n].pid = pid;
		list[n].argc = argc;
		list[n].argv = argv;
		n++;
	}
	closedir(d);
	*out = list;
	*nout = n;
	return 0;
}

void lle_proc_list_free(struct lle_proc_entry *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i].argv);
	free(list);
}
