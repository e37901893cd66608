/* The schema of a monitor sample in JSON (docs/monitor.md, "JSON fields"),
 * checked with jansson: every documented field present with its type, and no
 * field that is not documented. Used by tests/unit/test_monitor.c and by the
 * monitor-json-check helper of the command-line tests, so the writer, the
 * documentation and the tests cannot drift apart silently. */
#ifndef LLE_TESTS_SAMPLE_SCHEMA_H
#define LLE_TESTS_SAMPLE_SCHEMA_H

#include <jansson.h>
#include <stdio.h>
#include <string.h>

enum schema_type { S_INT, S_NUM, S_STR, S_OBJ, S_ARR, S_LOAD };

struct schema_field {
	const char *name;
	enum schema_type type;
	int nullable;
	int optional;
	const struct schema_field *sub; /* S_OBJ: its fields; S_ARR: the element's fields */
};

static const struct schema_field schema_process[] = {
	{ "pid", S_INT, 0, 0, NULL },
	{ "cpu_seconds", S_NUM, 1, 0, NULL },
	{ "cpu_percent", S_NUM, 1, 0, NULL },
	{ "rss_bytes", S_INT, 1, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};
static const struct schema_field schema_system[] = {
	{ "cpus", S_INT, 0, 0, NULL },
	{ "cpu_percent", S_NUM, 1, 0, NULL },
	{ "load", S_LOAD, 1, 0, NULL },
	{ "mem_total_bytes", S_INT, 1, 0, NULL },
	{ "mem_available_bytes", S_INT, 1, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};
static const struct schema_field schema_gpu[] = {
	{ "index", S_INT, 0, 0, NULL },
	{ "name", S_STR, 0, 0, NULL },
	{ "util_percent", S_NUM, 1, 0, NULL },
	{ "mem_util_percent", S_NUM, 1, 0, NULL },
	{ "mem_used_bytes", S_INT, 1, 0, NULL },
	{ "mem_total_bytes", S_INT, 1, 0, NULL },
	{ "power_w", S_NUM, 1, 0, NULL },
	{ "temp_c", S_NUM, 1, 0, NULL },
	{ "clock_graphics_mhz", S_NUM, 1, 0, NULL },
	{ "clock_sm_mhz", S_NUM, 1, 0, NULL },
	{ "clock_mem_mhz", S_NUM, 1, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};
static const struct schema_field schema_progress[] = {
	{ "prompt_tokens", S_INT, 0, 0, NULL },
	{ "generated_tokens", S_INT, 0, 0, NULL },
	{ "requests_done", S_INT, 0, 0, NULL },
	{ "requests_total", S_INT, 0, 0, NULL },
	{ "prompt_tokens_per_s", S_NUM, 1, 0, NULL },
	{ "generated_tokens_per_s", S_NUM, 1, 0, NULL },
	{ "eta_s", S_NUM, 1, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};
static const struct schema_field schema_run[] = {
	{ "pid", S_INT, 0, 0, NULL },
	{ "command", S_STR, 0, 0, NULL },
	{ "elapsed_s", S_NUM, 1, 0, NULL },
	{ "cpu_seconds", S_NUM, 1, 0, NULL },
	{ "rss_bytes", S_INT, 1, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};
static const struct schema_field schema_journal[] = {
	{ "name", S_STR, 0, 0, NULL },
	{ "total", S_INT, 0, 0, NULL },
	{ "done", S_INT, 0, 0, NULL },
	{ NULL, 0, 0, 0, NULL },
};
static const struct schema_field schema_sample[] = {
	{ "time", S_STR, 0, 0, NULL },
	{ "t", S_NUM, 0, 0, NULL },
	{ "seq", S_INT, 0, 0, NULL },
	{ "process", S_OBJ, 0, 0, schema_process },
	{ "system", S_OBJ, 0, 0, schema_system },
	{ "gpus", S_ARR, 0, 0, schema_gpu },
	{ "progress", S_OBJ, 0, 1, schema_progress },
	{ "runs", S_ARR, 0, 1, schema_run }, /* `llm-eval monitor` only */
	{ "journals", S_ARR, 0, 1, schema_journal }, /* `llm-eval monitor` only */
	{ NULL, 0, 0, 0, NULL },
};

static int schema_check_obj(json_t *o, const struct schema_field *fields, const char *where,
			    char *why, size_t nwhy);

static int schema_check_value(json_t *v, const struct schema_field *f, const char *where,
			      char *why, size_t nwhy)
{
	char sub[256];
	if (json_is_null(v)) {
		if (f->nullable)
			return 0;
		snprintf(why, nwhy, "%s.%s is null", where, f->name);
		return -1;
	}
	int ok;
	switch (f->type) {
	case S_INT: ok = json_is_integer(v) && json_integer_value(v) >= 0; break;
	case S_NUM: ok = json_is_number(v) && json_number_value(v) >= 0; break;
	case S_STR: ok = json_is_string(v); break;
	case S_OBJ: ok = json_is_object(v); break;
	case S_ARR: ok = json_is_array(v); break;
	case S_LOAD:
		ok = json_is_array(v) && json_array_size(v) == 3;
		for (size_t i = 0; ok && i < 3; i++)
			ok = json_is_number(json_array_get(v, i));
		break;
	default: ok = 0;
	}
	if (!ok) {
		snprintf(why, nwhy, "%s.%s has the wrong type", where, f->name);
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s.%s", where, f->name);
	if (f->type == S_OBJ)
		return schema_check_obj(v, f->sub, sub, why, nwhy);
	if (f->type == S_ARR) {
		size_t i;
		json_t *e;
		json_array_foreach(v, i, e) {
			char el[300];
			snprintf(el, sizeof(el), "%s[%zu]", sub, i);
			if (!json_is_object(e)) {
				snprintf(why, nwhy, "%s is not an object", el);
				return -1;
			}
			if (schema_check_obj(e, f->sub, el, why, nwhy) < 0)
				return -1;
		}
	}
	return 0;
}

static int schema_check_obj(json_t *o, const struct schema_field *fields, const char *where,
			    char *why, size_t nwhy)
{
	for (const struct schema_field *f = fields; f->name; f++) {
		json_t *v = json_object_get(o, f->name);
		if (!v) {
			if (f->optional)
				continue;
			snprintf(why, nwhy, "%s lacks '%s'", where, f->name);
			return -1;
		}
		if (schema_check_value(v, f, where, why, nwhy) < 0)
			return -1;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v) {
		const struct schema_field *f = fields;
		while (f->name && strcmp(f->name, key) != 0)
			f++;
		if (!f->name) {
			snprintf(why, nwhy, "%s has an undocumented field '%s'", where, key);
			return -1;
		}
	}
	return 0;
}

/* 0 when o is a valid sample; -1 with the reason in why. */
static inline int schema_check_sample(json_t *o, char *why, size_t nwhy)
{
	if (!json_is_object(o)) {
		snprintf(why, nwhy, "not a JSON object");
		return -1;
	}
	return schema_check_obj(o, schema_sample, "sample", why, nwhy);
}

#endif
