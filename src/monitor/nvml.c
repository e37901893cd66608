/* NVML binding by dlopen: see nvml.h.
 *
 * The declarations below are our own, written from NVML's documented C API
 * (nvml.h of the CUDA toolkit): return codes are an int enum with 0 for
 * success, devices are opaque pointers, and the structs we read are plain
 * C structs whose layout NVML keeps fixed for these versioned entry points.
 * Only the functions listed in `struct fns` are used. */
#include "monitor/nvml.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/diag.h"

typedef int nvml_return;          /* nvmlReturn_t; NVML_SUCCESS is 0 */
typedef struct nvml_device_st *nvml_device; /* nvmlDevice_t */
struct nvml_utilization {         /* nvmlUtilization_t */
	unsigned int gpu;         /* percent */
	unsigned int memory;      /* percent */
};
struct nvml_memory {              /* nvmlMemory_t (v1) */
	unsigned long long total; /* bytes */
	unsigned long long free;
	unsigned long long used;
};
enum { NVML_TEMPERATURE_GPU = 0 };                                 /* nvmlTemperatureSensors_t */
enum { NVML_CLOCK_GRAPHICS = 0, NVML_CLOCK_SM = 1, NVML_CLOCK_MEM = 2 }; /* nvmlClockType_t */
#define NVML_DEVICE_NAME_BUFFER 96

struct fns {
	nvml_return (*init)(void);
	nvml_return (*shutdown)(void);
	const char *(*error_string)(nvml_return);
	nvml_return (*count)(unsigned int *);
	nvml_return (*handle)(unsigned int, nvml_device *);
	nvml_return (*name)(nvml_device, char *, unsigned int);
	nvml_return (*memory)(nvml_device, struct nvml_memory *);
	nvml_return (*utilization)(nvml_device, struct nvml_utilization *);
	nvml_return (*power)(nvml_device, unsigned int *);
	nvml_return (*temperature)(nvml_device, int, unsigned int *);
	nvml_return (*clock)(nvml_device, int, unsigned int *);
};

/* Each symbol and the slot of struct fns it fills. */
static const struct {
	const char *name;
	size_t offset;
} fn_table[] = {
	{ "nvmlInit_v2", offsetof(struct fns, init) },
	{ "nvmlShutdown", offsetof(struct fns, shutdown) },
	{ "nvmlErrorString", offsetof(struct fns, error_string) },
	{ "nvmlDeviceGetCount_v2", offsetof(struct fns, count) },
	{ "nvmlDeviceGetHandleByIndex_v2", offsetof(struct fns, handle) },
	{ "nvmlDeviceGetName", offsetof(struct fns, name) },
	{ "nvmlDeviceGetMemoryInfo", offsetof(struct fns, memory) },
	{ "nvmlDeviceGetUtilizationRates", offsetof(struct fns, utilization) },
	{ "nvmlDeviceGetPowerUsage", offsetof(struct fns, power) },
	{ "nvmlDeviceGetTemperature", offsetof(struct fns, temperature) },
	{ "nvmlDeviceGetClockInfo", offsetof(struct fns, clock) },
};
#define NFNS (sizeof(fn_table) / sizeof(fn_table[0]))

/* Per-GPU functions whose first failure is said once (bit per function). */
enum { F_MEMORY, F_UTIL, F_POWER, F_TEMP, F_CLOCK_GR, F_CLOCK_SM, F_CLOCK_MEM };
static const char *const sample_fn_names[] = {
	"nvmlDeviceGetMemoryInfo",       "nvmlDeviceGetUtilizationRates",
	"nvmlDeviceGetPowerUsage",       "nvmlDeviceGetTemperature",
	"nvmlDeviceGetClockInfo(graphics)", "nvmlDeviceGetClockInfo(sm)",
	"nvmlDeviceGetClockInfo(mem)",
};

struct gpu {
	nvml_device dev;
	char name[LLE_GPU_NAME_MAX];
	unsigned said;           /* functions whose failure was already said */
};

struct lle_nvml {
	void *lib;
	struct fns f;
	unsigned n;
	struct gpu *gpus;
};

static const char *errstr(const struct lle_nvml *nv, nvml_return r)
{
	const char *s = nv->f.error_string ? nv->f.error_string(r) : NULL;
	return s ? s : "unknown error";
}

struct lle_nvml *lle_nvml_open(const char *path, struct lle_err *err)
{
	if (!path) {
		path = getenv("LLM_EVAL_NVML_PATH");
		if (!path || !*path)
			path = "libnvidia-ml.so.1";
	}
	struct lle_nvml *nv = calloc(1, sizeof(*nv));
	if (!nv) {
		lle_err_oom(err);
		return NULL;
	}
	nv->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!nv->lib) {
		const char *e = dlerror();
		lle_err_set(err, LLE_EXIT_BACKEND, "cannot load NVML '%s': %s", path, e ? e : "?");
		free(nv);
		return NULL;
	}
	for (size_t i = 0; i < NFNS; i++) {
		void *sym = dlsym(nv->lib, fn_table[i].name);
		if (!sym) {
			lle_err_set(err, LLE_EXIT_BACKEND, "NVML '%s' has no '%s'", path,
				    fn_table[i].name);
			dlclose(nv->lib);
			free(nv);
			return NULL;
		}
		/* POSIX: a pointer from dlsym converts to a function pointer of
		 * the same size; copy its bytes into the slot. */
		memcpy((char *)&nv->f + fn_table[i].offset, &sym, sizeof(sym));
	}
	nvml_return r = nv->f.init();
	if (r != 0) {
		lle_err_set(err, LLE_EXIT_BACKEND, "nvmlInit_v2: %s (%d)", errstr(nv, r), r);
		dlclose(nv->lib);
		free(nv);
		return NULL;
	}
	unsigned int count = 0;
	const char *step = "nvmlDeviceGetCount_v2";
	r = nv->f.count(&count);
	if (r == 0 && count == 0) {
		lle_err_set(err, LLE_EXIT_BACKEND, "NVML sees no GPU");
		goto fail;
	}
	if (r == 0) {
		nv->gpus = calloc(count, sizeof(*nv->gpus));
		if (!nv->gpus) {
			lle_err_oom(err);
			goto fail;
		}
		nv->n = count;
	}
	for (unsigned i = 0; r == 0 && i < count; i++) {
		step = "nvmlDeviceGetHandleByIndex_v2";
		r = nv->f.handle(i, &nv->gpus[i].dev);
		if (r != 0)
			break;
		char name[NVML_DEVICE_NAME_BUFFER] = { 0 };
		step = "nvmlDeviceGetName";
		r = nv->f.name(nv->gpus[i].dev, name, sizeof(name));
		if (r != 0)
			break;
		name[sizeof(name) - 1] = '\0';
		snprintf(nv->gpus[i].name, sizeof(nv->gpus[i].name), "%s", name);
	}
	if (r != 0) {
		lle_err_set(err, LLE_EXIT_BACKEND, "%s: %s (%d)", step, errstr(nv, r), r);
		goto fail;
	}
	return nv;
fail:
	nv->f.shutdown();
	dlclose(nv->lib);
	free(nv->gpus);
	free(nv);
	return NULL;
}

unsigned lle_nvml_count(const struct lle_nvml *nv)
{
	return nv ? nv->n : 0;
}

/* Note a failed call: said once per function and GPU, at debug level. */
static int failed(struct lle_nvml *nv, unsigned i, int fn, nvml_return r)
{
	if (r == 0)
		return 0;
	if (!(nv->gpus[i].said & (1u << fn))) {
		nv->gpus[i].said |= 1u << fn;
		lle_debugf("monitor: GPU %u: %s: %s (%d); the figure is left out", i,
			   sample_fn_names[fn], errstr(nv, r), r);
	}
	return 1;
}

void lle_nvml_sample(struct lle_nvml *nv, unsigned i, struct lle_gpu_sample *out)
{
	memset(out, 0, sizeof(*out));
	out->index = i;
	out->util_percent = out->mem_util_percent = out->power_w = out->temp_c = -1;
	out->clock_graphics_mhz = out->clock_sm_mhz = out->clock_mem_mhz = -1;
	if (!nv || i >= nv->n)
		return;
	struct gpu *g = &nv->gpus[i];
	memcpy(out->name, g->name, sizeof(out->name));

	struct nvml_memory mem;
	if (!failed(nv, i, F_MEMORY, nv->f.memory(g->dev, &mem))) {
		out->mem_ok = 1;
		out->mem_used = mem.used;
		out->mem_total = mem.total;
	}
	struct nvml_utilization u;
	if (!failed(nv, i, F_UTIL, nv->f.utilization(g->dev, &u))) {
		out->util_percent = u.gpu;
		out->mem_util_percent = u.memory;
	}
	unsigned int v;
	if (!failed(nv, i, F_POWER, nv->f.power(g->dev, &v)))
		out->power_w = v / 1000.0; /* milliwatts */
	if (!failed(nv, i, F_TEMP, nv->f.temperature(g->dev, NVML_TEMPERATURE_GPU, &v)))
		out->temp_c = v;
	if (!failed(nv, i, F_CLOCK_GR, nv->f.clock(g->dev, NVML_CLOCK_GRAPHICS, &v)))
		out->clock_graphics_mhz = v;
	if (!failed(nv, i, F_CLOCK_SM, nv->f.clock(g->dev, NVML_CLOCK_SM, &v)))
		out->clock_sm_mhz = v;
	if (!failed(nv, i, F_CLOCK_MEM, nv->f.clock(g->dev, NVML_CLOCK_MEM, &v)))
		out->clock_mem_mhz = v;
}

void lle_nvml_close(struct lle_nvml *nv)
{
	if (!nv)
		return;
	nv->f.shutdown();
	dlclose(nv->lib);
	free(nv->gpus);
	free(nv);
}
