/* The resource monitor: a sampler thread that reads, every interval, the
 * watched process's CPU time and resident memory and the machine's CPU use
 * and available memory (/proc, see proc.h), the GPUs through NVML when the
 * driver is there (nvml.h), and the progress counters a run feeds it, and
 * keeps the latest sample and running statistics for a summary.
 *
 * It does not print anything: callers format samples with
 * lle_monitor_format_line (a compact progress-line fragment) and
 * lle_monitor_sample_json / lle_monitor_summary_json (documented in
 * docs/monitor.md). It lives in the engine, so `--help` and `list` never map
 * it; NVML is loaded by the sampler thread, never before a sampler starts.
 *
 * How the run engine uses it:
 *
 *   unsigned ms = LLE_MON_DEFAULT_INTERVAL_MS;         // or --monitor-interval:
 *   if (lle_monitor_parse_interval("--monitor-interval", arg, &ms, err) < 0) ...
 *   struct lle_monitor *mon = lle_monitor_start(ms, err);
 *   if (!mon && err->code) ...   // a real failure (out of memory, no thread)
 *   // NULL without an error: LLM_EVAL_MONITOR=0; every call below takes NULL
 *   lle_monitor_phase(mon, "load model");               // wall time per phase
 *   lle_monitor_add_requests_total(mon, nreq);         // as requests are planned
 *   lle_monitor_add_tokens(mon, prompt, generated);     // as responses arrive
 *   lle_monitor_add_requests_done(mon, 1);
 *   struct lle_mon_sample s;                             // for the progress line:
 *   lle_monitor_latest(mon, &s);
 *   lle_monitor_format_line(&line, &s, LLE_MON_FMT_RATES);
 *   struct lle_mon_summary sum;                          // at the end:
 *   lle_monitor_stop(mon, &sum);                         // joins, final sample, frees
 *   lle_monitor_summary_json(&json, &sum);               // into the results
 *
 * Thread safety: the add_* counters are lock-free atomics (call them from any
 * thread, as often as you like); latest/wait/summary copy under a mutex;
 * start and stop are called once each, from the same thread. */
#ifndef LLE_MONITOR_MONITOR_H
#define LLE_MONITOR_MONITOR_H

#include <stdint.h>

#include "monitor/nvml.h"
#include "util/buf.h"
#include "util/err.h"

#define LLE_MON_MAX_GPUS 16
#define LLE_MON_DEFAULT_INTERVAL_MS 1000
#define LLE_MON_MIN_INTERVAL_MS 10
#define LLE_MON_MAX_INTERVAL_MS 3600000
/* Tokens per second are measured over this many recent samples. */
#define LLE_MON_RATE_WINDOW 10

/* One sample. A figure that is not known is -1 (doubles) or 0 with its flag
 * clear; the JSON writer turns those into null. */
struct lle_mon_sample {
	uint64_t seq;              /* 1 for the first sample; 0: no sample yet */
	double t;                  /* seconds since the sampler started (monotonic clock) */
	double unix_time;          /* wall clock, seconds since the epoch */

	/* The watched process (this one, unless lle_mon_opts.pid says another). */
	long pid;
	int proc_ok;               /* its /proc files could be read */
	double cpu_s;              /* user + system CPU seconds so far */
	double cpu_percent;        /* since the previous sample, of one CPU (180 = 1.8 CPUs); -1 first */
	uint64_t rss_bytes;        /* resident memory */

	/* This machine. */
	unsigned ncpu;             /* CPUs online */
	double sys_cpu_percent;    /* busy share of all CPUs since the previous sample, 0..100; -1 first */
	double load[3];            /* load averages, 1, 5, 15 minutes; -1 unknown */
	uint64_t mem_total;        /* bytes (MemTotal); 0 unknown */
	uint64_t mem_available;    /* bytes (MemAvailable) */

	/* GPUs: ngpu is 0 when NVML is absent or failed to start. */
	unsigned ngpu;
	struct lle_gpu_sample gpu[LLE_MON_MAX_GPUS];

	/* Progress, when a run feeds the counters (has_progress). */
	int has_progress;
	uint64_t prompt_tokens, generated_tokens;
	uint64_t requests_done, requests_total;
	double prompt_tok_s;       /* over the last LLE_MON_RATE_WINDOW samples; -1 unknown */
	double generated_tok_s;
	double eta_s;              /* requests left / requests done per second so far; -1 unknown */
};

struct lle_gpu_summary {
	unsigned index;
	char name[LLE_GPU_NAME_MAX];
	uint64_t mem_total;        /* bytes, as last seen */
	uint64_t mem_peak;         /* highest used, bytes */
	double mem_mean;           /* mean used over the samples that had it, bytes; -1 none */
	double util_peak;          /* percent; -1 none */
	double util_mean;
	uint64_t nsamples;         /* samples with memory figures */
};

#define LLE_MON_MAX_PHASES 256
#define LLE_MON_PHASE_NAME 64

/* A named stretch of the work (lle_monitor_phase): "load model", "task gsm8k". */
struct lle_phase_summary {
	char name[LLE_MON_PHASE_NAME];
	double start_s;            /* seconds after the sampler started */
	double seconds;            /* its wall time; the open phase runs to now (or the stop) */
};

struct lle_mon_summary {
	double wall_s;             /* sampler start to stop */
	uint64_t nsamples;
	uint64_t rss_peak;         /* max of the samples and the kernel's VmHWM, bytes */
	double cpu_s;              /* CPU seconds the process used while watched */
	double cpu_mean_percent;   /* cpu_s / wall between first and last sample, of one CPU; -1 unknown */
	unsigned ngpu;
	struct lle_gpu_summary gpu[LLE_MON_MAX_GPUS];
	int has_progress;
	uint64_t prompt_tokens, generated_tokens;
	uint64_t requests_done, requests_total;
	double progress_s;         /* from the first counter fed to the summary */
	double prompt_tok_s;       /* tokens / progress_s; -1 unknown */
	double generated_tok_s;
	unsigned nphases;
	struct lle_phase_summary phase[LLE_MON_MAX_PHASES];
};

struct lle_mon_opts {
	unsigned interval_ms;      /* 0: LLE_MON_DEFAULT_INTERVAL_MS */
	long pid;                  /* process to watch; 0: this one */
	int no_gpu;                /* do not load NVML */
	const char *nvml_path;     /* NULL: $LLM_EVAL_NVML_PATH or libnvidia-ml.so.1 */
	int ignore_env;            /* start even when LLM_EVAL_MONITOR=0 (the monitor command) */
};

struct lle_monitor;

/* Whether LLM_EVAL_MONITOR allows sampling (anything but "0"). */
int lle_monitor_enabled(void);
/* Start the sampler thread; its first sample is taken at once (on the
 * thread), the next ones every interval. Returns NULL with err->code 0 when
 * LLM_EVAL_MONITOR=0 (nothing started, no NVML, no thread), NULL with err set
 * on failure. Signals are blocked on the sampler thread. */
struct lle_monitor *lle_monitor_start(unsigned interval_ms, struct lle_err *err);
struct lle_monitor *lle_monitor_start_opts(const struct lle_mon_opts *opts, struct lle_err *err);

/* Copy of the latest sample (seq 0 when none yet, or when m is NULL). */
void lle_monitor_latest(struct lle_monitor *m, struct lle_mon_sample *out);
/* Wait until a sample newer than after_seq exists or timeout_ms passes;
 * copies the latest sample and returns 1 when a newer one came, 0 otherwise. */
int lle_monitor_wait(struct lle_monitor *m, uint64_t after_seq, unsigned timeout_ms,
		     struct lle_mon_sample *out);
/* Statistics so far. */
void lle_monitor_summary(struct lle_monitor *m, struct lle_mon_summary *out);

/* Counters fed by the run engine; any thread, lock-free, NULL is fine. */
void lle_monitor_add_tokens(struct lle_monitor *m, uint64_t prompt, uint64_t generated);
void lle_monitor_add_requests_total(struct lle_monitor *m, uint64_t n);
void lle_monitor_add_requests_done(struct lle_monitor *m, uint64_t n);
/* Begin a named phase ("load model", "task gsm8k"), ending the one before;
 * NULL ends the current one without starting another. The summary gives each
 * phase's wall time, in order. The name is copied (at most 63 bytes). Phases
 * after the first LLE_MON_MAX_PHASES are not recorded (said at debug level).
 * Any thread; takes the lock briefly. NULL m is fine. */
void lle_monitor_phase(struct lle_monitor *m, const char *name);

/* Stop the thread, take a final sample, fill *summary (may be NULL), shut
 * NVML down and free. NULL is fine (summary zeroed, -1 where unknown). */
void lle_monitor_stop(struct lle_monitor *m, struct lle_mon_summary *summary);

/* "GPU0 87% 61.2/80.0G | CPU 180% | RSS 1.2G" (G = GiB; "--" where unknown;
 * no GPU part without GPUs). LLE_MON_FMT_RATES appends
 * " | 45.2 tok/s | ETA 3m12s" when the sample has progress. Appends to b;
 * -1 on allocation failure. A sample with seq 0 appends nothing. */
enum { LLE_MON_FMT_RATES = 1 };
int lle_monitor_format_line(struct lle_buf *b, const struct lle_mon_sample *s, unsigned flags);
/* One JSON object, no newline (fields in docs/monitor.md). -1 on allocation failure. */
int lle_monitor_sample_json(struct lle_buf *b, const struct lle_mon_sample *s);
int lle_monitor_summary_json(struct lle_buf *b, const struct lle_mon_summary *s);

/* Parse a sampling interval in milliseconds (digits only, between
 * LLE_MON_MIN_INTERVAL_MS and LLE_MON_MAX_INTERVAL_MS). On a bad value err
 * names the option (e.g. "--monitor-interval") with code LLE_EXIT_USAGE. */
int lle_monitor_parse_interval(const char *option, const char *text, unsigned *ms,
			       struct lle_err *err);

#endif
