/* Readers of /proc for the resource monitor: a process's CPU time and
 * resident memory, the machine's CPU use and available memory, and the
 * processes of a given name (for `llm-eval monitor`'s list of runs).
 *
 * Each reader opens its file, reads it whole and parses it; none keeps state,
 * so they are safe from any thread. They do not compute rates: the sampler
 * (monitor.c) takes differences between two readings. Linux only. */
#ifndef LLE_MONITOR_PROC_H
#define LLE_MONITOR_PROC_H

#include <stdint.h>
#include <sys/types.h>

#include "util/err.h"

/* One process: pid 0 means the calling process (/proc/self). */
struct lle_proc_stat {
	double cpu_s;          /* user + system CPU time so far, seconds (/proc/PID/stat) */
	uint64_t rss_bytes;    /* resident memory now (/proc/PID/statm, resident pages) */
	double start_s;        /* start time, seconds after boot (/proc/PID/stat field 22) */
	char comm[32];         /* the command name (/proc/PID/stat field 2) */
};
int lle_proc_read(pid_t pid, struct lle_proc_stat *out, struct lle_err *err);
/* The kernel's peak resident memory of the process (VmHWM of /proc/PID/status). */
int lle_proc_peak_rss(pid_t pid, uint64_t *bytes, struct lle_err *err);

/* The machine's CPU counters since boot (first line of /proc/stat), in clock
 * ticks: busy = total - idle - iowait. Use the difference of two readings. */
struct lle_sys_cpu {
	uint64_t busy, total;
};
int lle_sys_cpu_read(struct lle_sys_cpu *out, struct lle_err *err);
/* Percent of all CPUs busy between two readings (0..100), -1 when the
 * counters did not move. */
double lle_sys_cpu_percent(const struct lle_sys_cpu *before, const struct lle_sys_cpu *after);

/* MemTotal and MemAvailable of /proc/meminfo, in bytes. */
struct lle_sys_mem {
	uint64_t total, available;
};
int lle_sys_mem_read(struct lle_sys_mem *out, struct lle_err *err);

/* Number of CPUs online; 1 when unknown. */
unsigned lle_sys_ncpu(void);
/* The 1, 5 and 15 minute load averages (/proc/loadavg). */
int lle_sys_loadavg(double avg[3], struct lle_err *err);
/* Seconds since boot (/proc/uptime), for process ages. */
int lle_sys_uptime(double *seconds, struct lle_err *err);

/* The processes whose command name (/proc/PID/comm) is `comm`, with their
 * argument vectors. The caller frees with lle_proc_list_free. Processes that
 * end while being read are skipped. */
struct lle_proc_entry {
	pid_t pid;
	int argc;
	char **argv;   /* argc strings, then NULL; one allocation with the strings */
};
int lle_proc_list_by_comm(const char *comm, struct lle_proc_entry **out, size_t *n,
			  struct lle_err *err);
void lle_proc_list_free(struct lle_proc_entry *list, size_t n);

#endif
