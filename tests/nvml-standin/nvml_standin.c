/* A stand-in for libnvidia-ml.so.1, built by the tests (mk/monitor.mk) because
 * this machine has no NVIDIA GPU or driver. It implements only the NVML
 * functions src/monitor/nvml.c calls, with the same C signatures, and answers
 * with values scripted in the file named by $LLE_NVML_STANDIN. It is not an
 * emulation of a GPU: it returns what the script says, nothing else.
 *
 * Script: one `key=value` per line, `#` starts a comment. Values may be a
 * comma-separated sequence: the Nth call of that function on that GPU gets
 * the Nth value, and the last value repeats.
 *
 *   count=2                       GPUs (nvmlDeviceGetCount_v2)
 *   0.name=NVIDIA H100 80GB HBM3  GPU 0's name
 *   0.memory.total=85899345920    bytes
 *   0.memory.used=1073741824,2147483648
 *   0.utilization.gpu=10,50,90    percent
 *   0.utilization.memory=5
 *   0.power=250000                milliwatts
 *   0.temperature=65              degrees Celsius
 *   0.clock.graphics=1755         MHz (also clock.sm, clock.mem)
 *   error.nvmlInit_v2=9           NVML return codes of a function, on every GPU
 *   1.error.nvmlDeviceGetPowerUsage=0,3   ... or on one GPU (0 = success)
 *
 * Without $LLE_NVML_STANDIN, nvmlInit_v2 fails with "Driver Not Loaded", as
 * the real library does on a machine without the kernel driver. The file is
 * read at nvmlInit_v2, which also resets the call counts.
 * lle_standin_calls(NAME) says how often a function was called (tests check
 * that every successful init is shut down). Not thread-safe: the monitor
 * calls NVML from its one sampler thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int nvmlReturn_t;
typedef struct nvmlDevice_st *nvmlDevice_t;
typedef struct {
	unsigned int gpu, memory;
} nvmlUtilization_t;
typedef struct {
	unsigned long long total, free, used;
} nvmlMemory_t;

/* The exported functions, declared here (no NVML header exists on this machine). */
nvmlReturn_t nvmlInit_v2(void);
nvmlReturn_t nvmlShutdown(void);
const char *nvmlErrorString(nvmlReturn_t r);
nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count);
nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device);
nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length);
nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory);
nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization);
nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power);
nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp);
nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t device, int type, unsigned int *clock);
int lle_standin_calls(const char *function);

enum {
	NVML_SUCCESS = 0, NVML_ERROR_UNINITIALIZED = 1, NVML_ERROR_INVALID_ARGUMENT = 2,
	NVML_ERROR_NOT_SUPPORTED = 3, NVML_ERROR_NO_PERMISSION = 4,
	NVML_ERROR_INSUFFICIENT_SIZE = 7, NVML_ERROR_DRIVER_NOT_LOADED = 9,
	NVML_ERROR_GPU_IS_LOST = 15, NVML_ERROR_UNKNOWN = 999
};

#define MAX_KEYS 256
#define MAX_GPUS 64

struct nvmlDevice_st {
	unsigned index;
};

static struct {
	char *key, *value;
} script[MAX_KEYS];
static int nscript;
static struct {
	char name[80];
	int calls;
} counts[MAX_KEYS];
static int ncounts;
static int initialised;
static struct nvmlDevice_st devices[MAX_GPUS];

static void script_free(void)
{
	for (int i = 0; i < nscript; i++) {
		free(script[i].key);
		free(script[i].value);
	}
	nscript = 0;
}

/* The script is read at init and dropped at shutdown (and at unload), so a
 * process under LeakSanitizer sees nothing left behind. */
__attribute__((destructor)) static void standin_unload(void)
{
	script_free();
}

static int script_load(void)
{
	script_free();
	ncounts = 0;
	const char *path = getenv("LLE_NVML_STANDIN");
	if (!path || !*path)
		return -1;
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[512];
	while (fgets(line, sizeof(line), f) && nscript < MAX_KEYS) {
		line[strcspn(line, "#\r\n")] = '\0';
		char *eq = strchr(line, '=');
		if (!eq)
			continue;
		*eq = '\0';
		char *k = line, *v = eq + 1;
		while (*k == ' ' || *k == '\t')
			k++;
		size_t kl = strlen(k);
		while (kl && (k[kl - 1] == ' ' || k[kl - 1] == '\t'))
			k[--kl] = '\0';
		while (*v == ' ' || *v == '\t')
			v++;
		size_t vl = strlen(v);
		while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
			v[--vl] = '\0';
		script[nscript].key = strdup(k);
		script[nscript].value = strdup(v);
		if (!script[nscript].key || !script[nscript].value) {
			free(script[nscript].key);
			free(script[nscript].value);
			break;
		}
		nscript++;
	}
	fclose(f);
	return 0;
}

static const char *lookup(const char *key)
{
	for (int i = nscript - 1; i >= 0; i--)
		if (strcmp(script[i].key, key) == 0)
			return script[i].value;
	return NULL;
}

/* Count a call of `name` and return its 0-based number. */
static int count_call(const char *name)
{
	for (int i = 0; i < ncounts; i++)
		if (strcmp(counts[i].name, name) == 0)
			return counts[i].calls++;
	if (ncounts == MAX_KEYS)
		return 0;
	snprintf(counts[ncounts].name, sizeof(counts[ncounts].name), "%s", name);
	counts[ncounts].calls = 1;
	ncounts++;
	return 0;
}

int lle_standin_calls(const char *function)
{
	int total = 0;
	size_t n = strlen(function);
	/* Per-GPU counters are named "I.function"; the total sums them all. */
	for (int i = 0; i < ncounts; i++) {
		const char *c = counts[i].name, *dot = strchr(c, '.');
		const char *base = dot ? dot + 1 : c;
		if (strncmp(base, function, n) == 0 && (base[n] == '\0' || base[n] == ':'))
			total += counts[i].calls;
	}
	return total;
}

/* Element nth of a comma-separated sequence (the last repeats). */
static int seq_value(const char *list, int nth, unsigned long long *out)
{
	const char *p = list;
	for (int i = 0; i < nth; i++) {
		const char *comma = strchr(p, ',');
		if (!comma)
			break;
		p = comma + 1;
	}
	char *end;
	*out = strtoull(p, &end, 10);
	return end == p ? -1 : 0;
}

/* The scripted return code of the nth call of fn on GPU dev (-1: no GPU). */
static nvmlReturn_t scripted_error(const char *fn, int dev, int nth)
{
	char key[128];
	const char *v = NULL;
	if (dev >= 0) {
		snprintf(key, sizeof(key), "%d.error.%s", dev, fn);
		v = lookup(key);
	}
	if (!v) {
		snprintf(key, sizeof(key), "error.%s", fn);
		v = lookup(key);
	}
	unsigned long long code;
	if (v && seq_value(v, nth, &code) == 0)
		return (nvmlReturn_t)code;
	return NVML_SUCCESS;
}

/* Begin a per-GPU call: count it, check the device, apply a scripted error. */
static nvmlReturn_t begin(const char *fn, const char *counter, nvmlDevice_t d, int *nth)
{
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	if (!d || d < devices || d >= devices + MAX_GPUS)
		return NVML_ERROR_INVALID_ARGUMENT;
	char key[128];
	snprintf(key, sizeof(key), "%u.%s", d->index, counter);
	*nth = count_call(key);
	return scripted_error(fn, (int)d->index, *nth);
}

static nvmlReturn_t value(nvmlDevice_t d, const char *what, int nth, unsigned long long *out)
{
	char key[128];
	snprintf(key, sizeof(key), "%u.%s", d->index, what);
	const char *v = lookup(key);
	if (!v || seq_value(v, nth, out) < 0)
		return NVML_ERROR_NOT_SUPPORTED; /* not scripted: as a GPU without that sensor */
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit_v2(void)
{
	if (script_load() < 0)
		return NVML_ERROR_DRIVER_NOT_LOADED;
	nvmlReturn_t r = scripted_error("nvmlInit_v2", -1, count_call("nvmlInit_v2"));
	if (r == NVML_SUCCESS)
		initialised = 1;
	else
		script_free();
	return r;
}

nvmlReturn_t nvmlShutdown(void)
{
	count_call("nvmlShutdown");
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	initialised = 0;
	nvmlReturn_t r = scripted_error("nvmlShutdown", -1, 0);
	script_free();
	return r;
}

const char *nvmlErrorString(nvmlReturn_t r)
{
	switch (r) {
	case NVML_SUCCESS: return "Success";
	case NVML_ERROR_UNINITIALIZED: return "Uninitialized";
	case NVML_ERROR_INVALID_ARGUMENT: return "Invalid Argument";
	case NVML_ERROR_NOT_SUPPORTED: return "Not Supported";
	case NVML_ERROR_NO_PERMISSION: return "Insufficient Permissions";
	case NVML_ERROR_INSUFFICIENT_SIZE: return "Insufficient Size";
	case NVML_ERROR_DRIVER_NOT_LOADED: return "Driver Not Loaded";
	case NVML_ERROR_GPU_IS_LOST: return "GPU is lost";
	default: return "Unknown Error";
	}
}

static unsigned scripted_count(void)
{
	const char *v = lookup("count");
	unsigned long long n = 0;
	if (v && seq_value(v, 0, &n) < 0)
		n = 0;
	return (unsigned)(n > MAX_GPUS ? MAX_GPUS : n);
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count)
{
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	nvmlReturn_t r = scripted_error("nvmlDeviceGetCount_v2", -1, count_call("nvmlDeviceGetCount_v2"));
	if (r != NVML_SUCCESS)
		return r;
	*count = scripted_count();
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device)
{
	if (!initialised)
		return NVML_ERROR_UNINITIALIZED;
	if (index >= scripted_count())
		return NVML_ERROR_INVALID_ARGUMENT;
	char key[64];
	snprintf(key, sizeof(key), "%u.nvmlDeviceGetHandleByIndex_v2", index);
	nvmlReturn_t r = scripted_error("nvmlDeviceGetHandleByIndex_v2", (int)index, count_call(key));
	if (r != NVML_SUCCESS)
		return r;
	devices[index].index = index;
	*device = &devices[index];
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t d, char *name, unsigned int length)
{
	int nth;
	nvmlReturn_t r = begin("nvmlDeviceGetName", "nvmlDeviceGetName", d, &nth);
	if (r != NVML_SUCCESS)
		return r;
	char key[64];
	snprintf(key, sizeof(key), "%u.name", d->index);
	const char *v = lookup(key);
	if (!v)
		v = "Stand-in GPU";
	if (strlen(v) + 1 > length)
		return NVML_ERROR_INSUFFICIENT_SIZE;
	memcpy(name, v, strlen(v) + 1);
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t d, nvmlMemory_t *memory)
{
	int nth;
	nvmlReturn_t r = begin("nvmlDeviceGetMemoryInfo", "nvmlDeviceGetMemoryInfo", d, &nth);
	if (r != NVML_SUCCESS)
		return r;
	unsigned long long total, used;
	if ((r = value(d, "memory.total", nth, &total)) != NVML_SUCCESS ||
	    (r = value(d, "memory.used", nth, &used)) != NVML_SUCCESS)
		return r;
	memory->total = total;
	memory->used = used;
	memory->free = used <= total ? total - used : 0;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t d, nvmlUtilization_t *u)
{
	int nth;
	nvmlReturn_t r = begin("nvmlDeviceGetUtilizationRates", "nvmlDeviceGetUtilizationRates", d, &nth);
	if (r != NVML_SUCCESS)
		return r;
	unsigned long long g, m;
	if ((r = value(d, "utilization.gpu", nth, &g)) != NVML_SUCCESS ||
	    (r = value(d, "utilization.memory", nth, &m)) != NVML_SUCCESS)
		return r;
	u->gpu = (unsigned int)g;
	u->memory = (unsigned int)m;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t d, unsigned int *power)
{
	int nth;
	nvmlReturn_t r = begin("nvmlDeviceGetPowerUsage", "nvmlDeviceGetPowerUsage", d, &nth);
	unsigned long long v;
	if (r != NVML_SUCCESS || (r = value(d, "power", nth, &v)) != NVML_SUCCESS)
		return r;
	*power = (unsigned int)v;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t d, int sensor, unsigned int *temp)
{
	int nth;
	if (sensor != 0) /* NVML_TEMPERATURE_GPU is the only sensor */
		return NVML_ERROR_INVALID_ARGUMENT;
	nvmlReturn_t r = begin("nvmlDeviceGetTemperature", "nvmlDeviceGetTemperature", d, &nth);
	unsigned long long v;
	if (r != NVML_SUCCESS || (r = value(d, "temperature", nth, &v)) != NVML_SUCCESS)
		return r;
	*temp = (unsigned int)v;
	return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetClockInfo(nvmlDevice_t d, int type, unsigned int *clock)
{
	static const char *const names[] = { "graphics", "sm", "mem" };
	if (type < 0 || type > 2)
		return NVML_ERROR_INVALID_ARGUMENT;
	char counter[64], what[32];
	snprintf(counter, sizeof(counter), "nvmlDeviceGetClockInfo:%s", names[type]);
	snprintf(what, sizeof(what), "clock.%s", names[type]);
	int nth;
	nvmlReturn_t r = begin("nvmlDeviceGetClockInfo", counter, d, &nth);
	unsigned long long v;
	if (r != NVML_SUCCESS || (r = value(d, what, nth, &v)) != NVML_SUCCESS)
		return r;
	*clock = (unsigned int)v;
	return NVML_SUCCESS;
}
