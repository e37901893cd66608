/* NVIDIA GPUs through NVML, loaded with dlopen only when asked for.
 *
 * There is no NVML development package here and none is needed: nvml.c
 * declares the few functions and types it calls (their C ABI is stable across
 * driver releases) and resolves them with dlsym from libnvidia-ml.so.1, the
 * library every NVIDIA driver installs. LLM_EVAL_NVML_PATH names another file
 * to load instead (the tests point it at a stand-in library).
 *
 * This file does not decide what an error means for the user: lle_nvml_open
 * returns NULL and an error message, and the sampler says it once at debug
 * level and carries on without GPUs. */
#ifndef LLE_MONITOR_NVML_H
#define LLE_MONITOR_NVML_H

#include <stdint.h>

#include "util/err.h"

#define LLE_GPU_NAME_MAX 96

/* One GPU at one moment. A figure NVML could not give is -1 (and for the
 * memory figures, mem_ok is 0). */
struct lle_gpu_sample {
	unsigned index;
	char name[LLE_GPU_NAME_MAX];
	int mem_ok;                 /* memory figures valid */
	uint64_t mem_used;          /* bytes */
	uint64_t mem_total;         /* bytes */
	double util_percent;        /* kernel busy time over NVML's last period, 0..100 */
	double mem_util_percent;    /* memory controller busy time, 0..100 */
	double power_w;             /* board power draw, watts */
	double temp_c;              /* GPU core temperature, degrees Celsius */
	double clock_graphics_mhz;
	double clock_sm_mhz;
	double clock_mem_mhz;
};

struct lle_nvml;

/* Load NVML (path NULL: $LLM_EVAL_NVML_PATH, else "libnvidia-ml.so.1"),
 * initialise it, count the GPUs and get their handles and names. Any failure
 * (no library, a missing symbol, an NVML error, no GPU) returns NULL with err
 * saying which step failed and NVML's message; the library is closed again. */
struct lle_nvml *lle_nvml_open(const char *path, struct lle_err *err);
unsigned lle_nvml_count(const struct lle_nvml *nv);
/* Read GPU i now. Never fails as a whole: a function that fails leaves its
 * figures at -1; the first failure of each function on each GPU is said at
 * debug level (lle_debugf), later ones are silent. */
void lle_nvml_sample(struct lle_nvml *nv, unsigned i, struct lle_gpu_sample *out);
/* nvmlShutdown, dlclose, free. NULL is fine. */
void lle_nvml_close(struct lle_nvml *nv);

#endif
