/* `validate`: every file of every source parsed in full (includes merged) and
 * checked against the formats of HACKING.md: required keys, value types,
 * allowed values, unknown keys (a warning with the closest known key), names,
 * categories that exist, duplicate names. Each problem is one line naming
 * path:line:col; a problem seen through several including files is reported
 * once.
 *
 * Task keys are lm-evaluation-harness's TaskConfig and group config keys, so
 * a harness tree validates without warnings; `!function` values are accepted
 * wherever harness accepts a function and are never run. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "llm-eval/backend.h"
#include "registry/index_fmt.h"
#include "registry/msg.h"
#include "registry/registry.h"
#include "util/buf.h"
#include "util/suggest.h"

/* ---------- problems ---------- */

struct seen_set {
	uint64_t *slot;
	size_t cap, n;
};

/* Whether h was seen; remembers it. On allocation failure, says "not seen". */
static int seen_before(struct seen_set *s, uint64_t h)
{
	if (h == 0)
		h = 1;
	if ((s->n + 1) * 2 > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		uint64_t *ns = calloc(cap, sizeof(*ns));
		if (!ns)
			return 0;
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->slot[i])
				continue;
			size_t j = s->slot[i] & (cap - 1);
			while (ns[j])
				j = (j + 1) & (cap - 1);
			ns[j] = s->slot[i];
		}
		free(s->slot);
		s->slot = ns;
		s->cap = cap;
	}
	size_t j = h & (s->cap - 1);
	while (s->slot[j]) {
		if (s->slot[j] == h)
			return 1;
		j = (j + 1) & (s->cap - 1);
	}
	s->slot[j] = h;
	s->n++;
	return 0;
}

void lle_reg_problem(struct lle_reg_problems *p, int is_error, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!p->seen)
		p->seen = calloc(1, sizeof(struct seen_set));
	if (p->seen && seen_before(p->seen, lle_idx_hash(msg, strlen(msg))))
		return;
	lle_buf_printf(&p->text, "%s: %s\n", is_error ? "error" : "warning", msg);
	if (is_error)
		p->nerrors++;
	else
		p->nwarnings++;
}

void lle_reg_problems_free(struct lle_reg_problems *p)
{
	struct seen_set *s = p->seen;
	if (s)
		free(s->slot);
	free(s);
	lle_buf_free(&p->text);
	memset(p, 0, sizeof(*p));
}

/* ---------- schemas ---------- */

enum vtype {
	V_ANY,
	V_STR,      /* a scalar that is not null (numbers are fine: dtype 16) */
	V_TEXT,     /* a string, one line */
	V_NUM,      /* a number > 0 */
	V_NUM0,     /* a number >= 0 */
	V_INT,      /* an integer >= 0 */
	V_BOOL,
	V_MAP,
	V_LIST,
	V_STRS,     /* a string or a list of strings */
	V_LISTSTR,  /* a list of strings, not empty */
	V_OPTSTR,   /* a string or null */
	V_FUNC,     /* a string or a !function */
	V_METRICS,  /* a list of maps with 'metric' */
	V_BACKENDS, /* models: map of backend name -> map */
};

struct keyspec {
	const char *key;
	int type;
	int required; /* 1: always, 2: only in registry layouts (strict) */
};

static const struct keyspec model_keys[] = {
	{ "name", V_STR, 1 },           { "description", V_TEXT, 1 }, { "hf_repo", V_STR, 1 },
	{ "family", V_STR, 0 },         { "params_b", V_NUM, 0 },     { "size_gb", V_NUM, 0 },
	{ "dtype", V_STR, 0 },          { "context_length", V_INT, 0 }, { "license", V_STR, 0 },
	{ "chat_template", V_STR, 0 },  { "categories", V_LISTSTR, 1 }, { "backend", V_STR, 0 },
	{ "think_end_token", V_STR, 0 }, { "bos_token", V_STR, 0 }, { "eos_token", V_STR, 0 },
	{ "tokenizer_config", V_STR, 0 },
	{ "backends", V_BACKENDS, 0 },  { "include", V_STRS, 0 },     { NULL, 0, 0 },
};

static const struct keyspec category_keys[] = {
	{ "category", V_STR, 1 }, { "description", V_TEXT, 1 }, { "include", V_STRS, 0 }, { NULL, 0, 0 },
};

/* lm-evaluation-harness TaskConfig, group config, and llm-eval's additions
 * (category, data_files). */
static const struct keyspec task_keys[] = {
	{ "task", V_ANY, 1 },
	{ "task_alias", V_STR, 0 },
	{ "tag", V_STRS, 0 },
	{ "group", V_ANY, 0 },
	{ "group_alias", V_STR, 0 },
	{ "category", V_STR, 2 },
	{ "description", V_OPTSTR, 0 }, /* harness: text before the few-shot examples */
	{ "dataset_path", V_STR, 2 },
	{ "dataset_name", V_OPTSTR, 0 },
	{ "dataset_kwargs", V_MAP, 0 },
	{ "custom_dataset", V_ANY, 0 },
	{ "data_files", V_ANY, 0 },
	{ "training_split", V_OPTSTR, 0 },
	{ "validation_split", V_OPTSTR, 0 },
	{ "test_split", V_OPTSTR, 0 },
	{ "fewshot_split", V_OPTSTR, 0 },
	{ "process_docs", V_FUNC, 0 },
	{ "doc_to_text", V_ANY, 2 },
	{ "doc_to_target", V_ANY, 0 },
	{ "doc_to_choice", V_ANY, 0 },
	{ "doc_to_image", V_ANY, 0 },
	{ "doc_to_audio", V_ANY, 0 },
	{ "process_results", V_FUNC, 0 },
	{ "use_prompt", V_STR, 0 },
	{ "target_delimiter", V_OPTSTR, 0 },
	{ "fewshot_delimiter", V_OPTSTR, 0 },
	{ "fewshot_config", V_MAP, 0 },
	{ "num_fewshot", V_INT, 0 },
	{ "metric_list", V_METRICS, 2 },
	{ "output_type", V_STR, 2 },
	{ "generation_kwargs", V_MAP, 0 },
	{ "repeats", V_INT, 0 },
	{ "filter_list", V_ANY, 0 },
	{ "should_decontaminate", V_BOOL, 0 },
	{ "doc_to_decontamination_query", V_STR, 0 },
	{ "gen_prefix", V_STR, 0 },
	{ "unsafe_code", V_BOOL, 0 },
	{ "multiple_input", V_ANY, 0 },
	{ "metadata", V_MAP, 0 },
	{ "class", V_ANY, 0 },
	{ "aggregate_metric_list", V_ANY, 0 },
	{ "include", V_STRS, 0 },
	{ NULL, 0, 0 },
};

static const char *const output_types[] = { "generate_until", "loglikelihood", "loglikelihood_rolling",
					    "multiple_choice", NULL };
/* The keys of a model's backends.<name> section the planner itself reads
 * (src/run/plan_models.c), by whether the backend's model is a file. */
static const struct keyspec file_model_keys[] = { { "gguf", V_STR, 0 }, { "gguf_repo", V_STR, 0 }, { NULL, 0, 0 } };
static const struct keyspec named_model_keys[] = { { "model", V_STR, 0 }, { NULL, 0, 0 } };

static unsigned L(const struct lle_node *n) { return (unsigned)n->line; }
static unsigned C(const struct lle_node *n) { return (unsigned)n->col; }

static int is_str_node(const struct lle_node *n)
{
	return n->kind == LLE_NODE_SCALAR && !lle_node_is_null(n);
}

static void type_error(struct lle_reg_problems *p, const struct lle_node *v, const char *key, const char *want)
{
	lle_reg_problem(p, 1, LLE_MSG_TYPE, v->file, L(v), C(v), key, want, lle_node_kind_name(v));
}

static void check_value(struct lle_reg_problems *p, const char *key, const struct lle_node *v, int type)
{
	double d;
	long l;
	switch (type) {
	case V_STR:
		if (!is_str_node(v))
			type_error(p, v, key, "a string");
		else if (!v->str[0])
			lle_reg_problem(p, 1, LLE_MSG_EMPTY_VALUE, v->file, L(v), C(v), key);
		break;
	case V_TEXT:
		if (!is_str_node(v))
			type_error(p, v, key, "a string");
		else if (!v->str[0])
			lle_reg_problem(p, 1, LLE_MSG_EMPTY_VALUE, v->file, L(v), C(v), key);
		else if (strchr(v->str, '\n'))
			lle_reg_problem(p, 1, LLE_MSG_ONE_LINE, v->file, L(v), C(v), key);
		break;
	case V_OPTSTR:
		if (v->kind != LLE_NODE_SCALAR)
			type_error(p, v, key, "a string");
		break;
	case V_FUNC:
		if (v->kind != LLE_NODE_SCALAR)
			type_error(p, v, key, "a string or a !function");
		break;
	case V_NUM:
		if (lle_node_double(v, &d) < 0 || !(d > 0))
			type_error(p, v, key, "a positive number");
		break;
	case V_NUM0:
		if (lle_node_double(v, &d) < 0 || !(d >= 0))
			type_error(p, v, key, "a number, 0 or more");
		break;
	case V_INT:
		if (lle_node_long(v, &l) < 0 || l < 0)
			type_error(p, v, key, "a whole number, 0 or more");
		break;
	case V_BOOL:
		if (lle_node_bool(v) < 0)
			type_error(p, v, key, "a boolean");
		break;
	case V_MAP:
		if (v->kind != LLE_NODE_MAP)
			type_error(p, v, key, "a map");
		break;
	case V_LIST:
		if (v->kind != LLE_NODE_SEQ)
			type_error(p, v, key, "a list");
		break;
	case V_STRS:
		if (v->kind == LLE_NODE_SEQ) {
			for (size_t i = 0; i < v->n; i++)
				if (!is_str_node(v->items[i]))
					type_error(p, v->items[i], key, "a string or a list of strings");
		} else if (!is_str_node(v)) {
			type_error(p, v, key, "a string or a list of strings");
		}
		break;
	case V_LISTSTR:
		if (v->kind != LLE_NODE_SEQ) {
			type_error(p, v, key, "a list of strings");
		} else if (v->n == 0) {
			lle_reg_problem(p, 1, LLE_MSG_EMPTY_VALUE, v->file, L(v), C(v), key);
		} else {
			for (size_t i = 0; i < v->n; i++)
				if (!is_str_node(v->items[i]))
					type_error(p, v->items[i], key, "a list of strings");
		}
		break;
	case V_METRICS:
		if (v->kind != LLE_NODE_SEQ) {
			type_error(p, v, key, "a list of maps with 'metric'");
			break;
		}
		for (size_t i = 0; i < v->n; i++) {
			const struct lle_node *it = v->items[i];
			if (it->kind != LLE_NODE_MAP)
				type_error(p, it, "metric_list item", "a map with 'metric'");
			else if (!lle_node_get(it, "metric"))
				lle_reg_problem(p, 1, LLE_MSG_NO_NAME, it->file, L(it), C(it), "metric");
			else if (lle_node_get(it, "metric")->kind != LLE_NODE_SCALAR)
				type_error(p, lle_node_get(it, "metric"), "metric", "a string or a !function");
		}
		break;
	default:
		break;
	}
}

static const char *const *key_names(const struct keyspec *spec, const char **buf, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; spec[i].key && k + 1 < n; i++)
		buf[k++] = spec[i].key;
	buf[k] = NULL;
	return buf;
}

/* Where key is written: trees keep the positions of values only, so look for
 * the last line at or before the value's that has `key:` (rare: only for
 * unknown keys). Falls back to the value's position. */
void lle_reg_key_pos(const struct lle_node *v, const char *key, unsigned *line, unsigned *col)
{
	*line = L(v);
	*col = C(v);
	FILE *f = fopen(v->file, "r");
	if (!f)
		return;
	char buf[4096];
	size_t klen = strlen(key);
	for (unsigned ln = 1; ln <= (unsigned)v->line && fgets(buf, sizeof(buf), f); ln++) {
		char *s = buf;
		while (*s == ' ' || *s == '-')
			s++;
		if (*s == '"' || *s == '\'')
			s++;
		if (strncmp(s, key, klen) == 0) {
			char *e = s + klen;
			if (*e == '"' || *e == '\'')
				e++;
			while (*e == ' ')
				e++;
			if (*e == ':') {
				*line = ln;
				*col = (unsigned)(s - buf) + 1 - (s > buf && (s[-1] == '"' || s[-1] == '\''));
			}
		}
	}
	fclose(f);
}

static void unknown_key(struct lle_reg_problems *p, const struct lle_node *map, size_t i,
			const struct keyspec *spec)
{
	const char *names[96];
	const struct lle_node *v = map->items[i];
	const char *near = lle_suggest(map->keys[i], key_names(spec, names, 96));
	unsigned line, col;
	lle_reg_key_pos(v, map->keys[i], &line, &col);
	if (near)
		lle_reg_problem(p, 0, LLE_MSG_UNKNOWN_KEY_HINT, v->file, line, col, map->keys[i], near);
	else
		lle_reg_problem(p, 0, LLE_MSG_UNKNOWN_KEY, v->file, line, col, map->keys[i]);
}

/* Check the keys of map against spec. */
static void check_keys(struct lle_reg_problems *p, const struct lle_node *map, const struct keyspec *spec,
		       int strict, const char *what_missing_for)
{
	(void)what_missing_for;
	for (size_t i = 0; i < map->n; i++) {
		const struct keyspec *k = NULL;
		for (size_t j = 0; spec[j].key; j++)
			if (strcmp(spec[j].key, map->keys[i]) == 0)
				k = &spec[j];
		if (!k)
			unknown_key(p, map, i, spec);
		else
			check_value(p, k->key, map->items[i], k->type);
	}
	for (size_t j = 0; spec[j].key; j++)
		if ((spec[j].required == 1 || (spec[j].required == 2 && strict)) && !lle_node_get(map, spec[j].key))
			lle_reg_problem(p, 1, LLE_MSG_NO_NAME, map->file, L(map), C(map), spec[j].key);
}

static int valid_name(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '.' || *s == '-'))
			return 0;
	return 1;
}

static void check_category_ref(struct lle_reg_problems *p, struct lle_registry *r, const struct lle_node *v)
{
	if (!r || !v || !is_str_node(v) || lle_registry_find(r, LLE_REG_CATEGORIES, v->str, NULL))
		return;
	const char *known[256];
	size_t nk = 0, n = lle_registry_count(r, LLE_REG_CATEGORIES);
	struct lle_reg_entry e;
	for (size_t i = 0; i < n && nk < 255; i++)
		if (lle_registry_get(r, LLE_REG_CATEGORIES, i, &e) == 0)
			known[nk++] = e.name;
	known[nk] = NULL;
	const char *near = lle_suggest(v->str, known);
	if (near)
		lle_reg_problem(p, 1, LLE_MSG_NO_CATEGORY_HINT, v->file, L(v), C(v), v->str, near);
	else
		lle_reg_problem(p, 1, LLE_MSG_NO_CATEGORY, v->file, L(v), C(v), v->str);
}

static void check_enum(struct lle_reg_problems *p, const struct lle_node *v, const char *key,
		       const char *const *allowed)
{
	if (!v || !is_str_node(v))
		return;
	for (size_t i = 0; allowed[i]; i++)
		if (strcmp(v->str, allowed[i]) == 0)
			return;
	struct lle_buf b = LLE_BUF_INIT;
	for (size_t i = 0; allowed[i]; i++)
		lle_buf_printf(&b, "%s%s", i ? ", " : "", allowed[i]);
	lle_reg_problem(p, 1, LLE_MSG_BAD_VALUE, v->file, L(v), C(v), key, v->str, lle_buf_str(&b));
	lle_buf_free(&b);
}

/* The installed backends' names, split from the ", "-joined list into
 * `names` (NULL ended, pointing into buf). */
static const struct keyspec *backend_name_spec(const struct lle_reg_backends *b, char *buf, size_t len,
					       struct keyspec *names, size_t cap)
{
	const char *all = b->names(b->user);
	snprintf(buf, len, "%s", all ? all : "");
	size_t n = 0;
	for (char *sp = NULL, *t = strtok_r(buf, ", ", &sp); t && n + 1 < cap; t = strtok_r(NULL, ", ", &sp))
		names[n++] = (struct keyspec){ t, 0, 0 };
	names[n] = (struct keyspec){ NULL, 0, 0 };
	return names;
}

static int opt_vtype(uint32_t t)
{
	switch (t) {
	case LLE_OPT_INT: return V_INT;
	case LLE_OPT_NUMBER: return V_NUM0;
	case LLE_OPT_URL:
	case LLE_OPT_LIST: return V_STRS;
	case LLE_OPT_STRING: return V_STR;
	default: return V_ANY;
	}
}

/* One backends.<name> section, against what the plugin declares: the
 * planner's keys (by LLE_CAP_MODEL_FILE) and the options of its table but
 * those the host sets. A plugin that declares no table is not checked. */
static void check_backend_section(struct lle_reg_problems *p, const struct lle_node *bk, size_t i)
{
	const struct lle_node *v = bk->items[i];
	const struct lle_reg_backends *b = p->backends;
	uint64_t caps = 0;
	const struct lle_option *opts = NULL;
	char why[512] = "";
	if (b->describe(b->user, bk->keys[i], &caps, &opts, why, sizeof(why)) < 0) {
		unsigned line, col;
		lle_reg_key_pos(v, bk->keys[i], &line, &col);
		lle_reg_problem(p, 0, LLE_MSG_BACKEND_UNCHECKED, v->file, line, col, bk->keys[i], why);
		return;
	}
	if (!opts)
		return;
	enum { CAP = 128 };
	struct keyspec spec[CAP];
	size_t n = 0;
	for (const struct keyspec *k = (caps & LLE_CAP_MODEL_FILE) ? file_model_keys : named_model_keys; k->key; k++)
		spec[n++] = *k;
	for (const struct lle_option *o = opts; o->key && n + 1 < CAP; o++)
		if (!(o->flags & LLE_OPT_HOST))
			spec[n++] = (struct keyspec){ o->key, opt_vtype(o->type), 0 };
	spec[n] = (struct keyspec){ NULL, 0, 0 };
	check_keys(p, v, spec, 0, bk->keys[i]);
}

/* `backend:` and `backends:` name installed plugins (found by file name: no
 * plugin is loaded for that); a section's keys are checked against its
 * plugin's option table, the only step that loads a plugin, once per
 * backend and only when a model has its section. */
static void check_backends(struct lle_reg_problems *p, const struct lle_node *cfg)
{
	const struct lle_reg_backends *b = p->backends;
	const struct lle_node *def = lle_node_get(cfg, "backend");
	const struct lle_node *bk = lle_node_get(cfg, "backends");
	if (!b) {
		if (bk && bk->kind != LLE_NODE_MAP)
			type_error(p, bk, "backends", "a map");
		return;
	}
	if (def && is_str_node(def) && !b->has(b->user, def->str)) {
		const char *all = b->names(b->user);
		lle_reg_problem(p, 1, LLE_MSG_BAD_VALUE, def->file, L(def), C(def), "backend", def->str,
				all && *all ? all : "(no backend is installed)");
	}
	if (bk && bk->kind != LLE_NODE_MAP) {
		type_error(p, bk, "backends", "a map");
	} else if (bk) {
		char buf[2048];
		struct keyspec names[64];
		for (size_t i = 0; i < bk->n; i++) {
			const struct lle_node *v = bk->items[i];
			if (!b->has(b->user, bk->keys[i]))
				unknown_key(p, bk, i, backend_name_spec(b, buf, sizeof(buf), names, 64));
			else if (v->kind != LLE_NODE_MAP)
				type_error(p, v, bk->keys[i], "a map");
			else
				check_backend_section(p, bk, i);
		}
		if (def && is_str_node(def) && !lle_node_get(bk, def->str) && b->has(b->user, def->str))
			lle_reg_problem(p, 1, LLE_MSG_NO_BACKEND_ENTRY, def->file, L(def), C(def), def->str);
	}
}

static void check_model(struct lle_reg_problems *p, const struct lle_node *cfg, struct lle_registry *r)
{
	check_keys(p, cfg, model_keys, 1, "model");
	const struct lle_node *name = lle_node_get(cfg, "name");
	if (name && is_str_node(name) && name->str[0] && !valid_name(name->str))
		lle_reg_problem(p, 1, LLE_MSG_BAD_NAME, name->file, L(name), C(name), name->str);
	const struct lle_node *cats = lle_node_get(cfg, "categories");
	for (size_t i = 0; cats && cats->kind == LLE_NODE_SEQ && i < cats->n; i++)
		check_category_ref(p, r, cats->items[i]);
	check_backends(p, cfg);
}

static void check_task(struct lle_reg_problems *p, const struct lle_node *cfg, int kind, int strict,
		       struct lle_registry *r)
{
	const struct lle_node *task = lle_node_get(cfg, "task");
	const struct lle_node *group = lle_node_get(cfg, "group");
	if (kind == LLE_KIND_GROUP || (group && !task)) {
		/* A group: its name, its members, how its scores combine. */
		static const struct keyspec group_keys[] = {
			{ "group", V_STR, 1 }, { "group_alias", V_STR, 0 }, { "task", V_LIST, 1 },
			{ "aggregate_metric_list", V_ANY, 0 }, { "metadata", V_MAP, 0 }, { "tag", V_STRS, 0 },
			{ "category", V_STR, 0 }, { "description", V_ANY, 0 }, { "include", V_STRS, 0 },
			{ NULL, 0, 0 },
		};
		check_keys(p, cfg, group_keys, 0, "group");
		for (size_t i = 0; task && task->kind == LLE_NODE_SEQ && i < task->n; i++) {
			const struct lle_node *it = task->items[i];
			if (it->kind == LLE_NODE_SEQ || (it->kind == LLE_NODE_SCALAR && lle_node_is_null(it)))
				type_error(p, it, "task item", "a task name or a task map");
		}
		const struct lle_node *agg = lle_node_get(cfg, "aggregate_metric_list");
		if (agg && agg->kind != LLE_NODE_SEQ && agg->kind != LLE_NODE_MAP)
			type_error(p, agg, "aggregate_metric_list", "a list of maps with 'metric'");
		check_category_ref(p, r, lle_node_get(cfg, "category"));
		return;
	}
	/* Python tasks are configured by their class; registry layouts' extra
	 * requirements apply to YAML tasks only. */
	check_keys(p, cfg, task_keys, strict && kind == LLE_KIND_TASK, "task");
	if (task && !is_str_node(task))
		type_error(p, task, "task", "a string");
	if (group && !is_str_node(group) && group->kind != LLE_NODE_SEQ)
		type_error(p, group, "group", "a string");
	check_enum(p, lle_node_get(cfg, "output_type"), "output_type", output_types);
	check_category_ref(p, r, lle_node_get(cfg, "category"));
	/* The one-line summary `list` prints: metadata.description, required in
	 * registry layouts. */
	const struct lle_node *md = lle_node_get(cfg, "metadata");
	const struct lle_node *mdd = md ? lle_node_get(md, "description") : NULL;
	if (mdd)
		check_value(p, "metadata.description", mdd, V_TEXT);
	else if (strict && kind == LLE_KIND_TASK)
		lle_reg_problem(p, 1, LLE_MSG_NO_NAME, md && md->kind == LLE_NODE_MAP ? md->file : cfg->file,
				md && md->kind == LLE_NODE_MAP ? L(md) : L(cfg), md && md->kind == LLE_NODE_MAP ? C(md) : C(cfg),
				"metadata.description");
}

void lle_reg_check_config(const struct lle_node *cfg, int type, int kind, int strict, struct lle_registry *r,
			  struct lle_reg_problems *p)
{
	if (cfg->kind == LLE_NODE_MAP && cfg->n == 0) {
		lle_reg_problem(p, 1, LLE_MSG_EMPTY, cfg->file);
		return;
	}
	switch (type) {
	case LLE_REG_MODELS:
		check_model(p, cfg, r);
		break;
	case LLE_REG_CATEGORIES: {
		check_keys(p, cfg, category_keys, 1, "category");
		const struct lle_node *name = lle_node_get(cfg, "category");
		if (name && is_str_node(name) && name->str[0] && !valid_name(name->str))
			lle_reg_problem(p, 1, LLE_MSG_BAD_NAME, name->file, L(name), C(name), name->str);
		break;
	}
	default:
		if (!lle_node_get(cfg, "task") && !lle_node_get(cfg, "group") && !lle_node_get(cfg, "class")) {
			lle_reg_problem(p, 0, LLE_MSG_NOT_REGISTRABLE, cfg->file, L(cfg), C(cfg));
			return;
		}
		check_task(p, cfg, kind, strict, r);
		break;
	}
}

/* ---------- the whole registry ---------- */

int lle_registry_validate(struct lle_registry *r, struct lle_reg_problems *p, struct lle_err *err)
{
	static const int order[] = { LLE_REG_CATEGORIES, LLE_REG_MODELS, LLE_REG_TASKS };
	for (int oi = 0; oi < 3; oi++) {
		int t = order[oi];
		/* Merging first collects the override warnings of this type. */
		lle_registry_count(r, t);
		for (size_t si = 0; si < lle_registry_nsources(r, t); si++) {
			struct lle_reg_source *s = lle_registry_source(r, t, si);
			const char *root = lle_reg_source_root(s);
			/* A harness tree is lm-evaluation-harness's format, with no
			 * llm-eval requirements beyond it. */
			int strict = lle_reg_source_layout(s) == LLE_LAYOUT_REGISTRY;
			for (size_t i = 0; i < lle_reg_source_nfiles(s); i++) {
				int kind;
				const char *rel = lle_reg_source_file(s, i, &kind, NULL, NULL);
				struct lle_buf path = LLE_BUF_INIT;
				lle_buf_printf(&path, "%s/%s", root, rel);
				if (path.oom)
					return lle_err_oom(err);
				p->nfiles++;
				struct lle_err e = { 0 };
				struct lle_node *cfg = lle_reg_load_full(lle_buf_str(&path), NULL, NULL, &e);
				if (!cfg) {
					if (e.code == LLE_EXIT_INTERNAL) {
						lle_buf_free(&path);
						*err = e;
						return -1;
					}
					lle_reg_problem(p, 1, "%s", e.msg);
				} else {
					lle_reg_check_config(cfg, t, kind, strict, r, p);
					lle_node_free(cfg);
				}
				lle_buf_free(&path);
			}
			/* Names registered twice in one directory. */
			for (size_t i = 0; i < lle_reg_source_ndiags(s); i++)
				lle_reg_problem(p, 1, "%s", lle_reg_source_diag(s, i, NULL));
		}
	}
	/* Overrides between directories are intended: warnings. Duplicates
	 * within a directory were reported above as errors (the same text is
	 * not repeated). */
	for (size_t i = 0; i < lle_registry_ndiags(r); i++)
		lle_reg_problem(p, 0, "%s", lle_registry_diag(r, i));
	if (p->text.oom)
		return lle_err_oom(err);
	return 0;
}
