/* Checks the content of the built-in registry (registry/ of the source tree,
 * or the directory given as argv[1]): every file parses with src/data/yaml.c;
 * models, tasks, groups and categories have the keys and types HACKING.md
 * describes and nothing else; names are unique; every category named by a
 * model or task has a file; every model can be run somehow; tasks name their
 * data files, splits and metrics consistently; and the counts and the
 * examples the issues promise are there.
 *
 * It checks the files, not the registry code: the index, `show` and
 * `validate` are tested with their commands. `include:` is followed here the
 * way lm-evaluation-harness does it (relative to the including file, keys of
 * the including file win), only so that a subject file of MMLU is checked
 * together with the defaults it includes. Each TEST prints one "#" line per
 * problem found, so a broken registry shows every problem at once. */
#include "check.h"

#include <ctype.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "data/yaml.h"
#include "util/buf.h"
#include "util/path.h"

#define MAX_FILES 1024
#define MAX_INCLUDE_DEPTH 8

enum kind { K_MODEL, K_TASK, K_GROUP, K_CATEGORY, K_BROKEN };

struct entry {
	char *path;                                   /* as found, under the registry dir */
	enum kind kind;
	struct lle_node *chain[MAX_INCLUDE_DEPTH + 1]; /* [0] the file, then what it includes */
	int nchain;
	const char *name; /* name / task / group / category */
};

static const char *regdir = "registry";
static struct entry entries[MAX_FILES];
static int nentries;
static struct lle_node *extra[MAX_FILES]; /* included files, owned here */
static int nextra;
static int nproblems;

static void problem(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void problem(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("#   ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	nproblems++;
}

/* Look a key up in a file and, when absent, in what it includes. */
static const struct lle_node *get(const struct entry *e, const char *key)
{
	for (int i = 0; i < e->nchain; i++) {
		const struct lle_node *v = lle_node_get(e->chain[i], key);
		if (v)
			return v;
	}
	return NULL;
}

static const char *str(const struct entry *e, const char *key)
{
	const struct lle_node *v = get(e, key);
	return v && v->kind == LLE_NODE_SCALAR && !v->tag ? v->str : NULL;
}

static int is_str(const struct lle_node *v)
{
	return v && v->kind == LLE_NODE_SCALAR && !v->tag && (!v->plain || (!lle_node_is_null(v) && v->str[0]));
}

static int is_one_line(const struct lle_node *v)
{
	return is_str(v) && v->str[0] && !strchr(v->str, '\n') && strlen(v->str) <= 160;
}

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static int has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

/* ---- loading ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.yaml under dir (recursively for tasks/), sorted. */
static void collect(const char *dir, int recurse, char **out, int *n)
{
	DIR *d = opendir(dir);
	if (!d) {
		problem("cannot open '%s'", dir);
		return;
	}
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = lle_path_join(dir, de->d_name);
		struct stat st;
		if (!p || stat(p, &st) != 0) {
			free(p);
			continue;
		}
		if (S_ISDIR(st.st_mode) && recurse) {
			collect(p, recurse, out, n);
			free(p);
		} else if (S_ISREG(st.st_mode) && has_suffix(p, ".yaml") && *n < MAX_FILES) {
			out[(*n)++] = p;
		} else {
			free(p);
		}
	}
	closedir(d);
}

static struct lle_node *load(const char *path)
{
	struct lle_err err = { 0 };
	struct lle_node *r = lle_yaml_load_file(path, 1 << 20, &err);
	if (!r)
		problem("%s", err.msg);
	else if (r->kind != LLE_NODE_MAP)
		problem("%s: the file is %s, not a map", path, lle_node_kind_name(r));
	return r;
}

static void load_entry(const char *path, enum kind kind)
{
	if (nentries >= MAX_FILES)
		return;
	struct entry *e = &entries[nentries++];
	e->path = lle_strdup(path);
	e->kind = kind;
	struct lle_node *r = load(path);
	if (!r || r->kind != LLE_NODE_MAP) {
		lle_node_free(r);
		e->kind = K_BROKEN;
		return;
	}
	e->chain[e->nchain++] = r;
	/* follow include: a path relative to the including file */
	const char *cur = path;
	struct lle_node *node = r;
	while (lle_node_get(node, "include")) {
		const char *inc = lle_node_str(node, "include");
		if (!inc) {
			problem("%s: 'include' must be a string", cur);
			break;
		}
		if (e->nchain > MAX_INCLUDE_DEPTH) {
			problem("%s: includes nested deeper than %d (a cycle?)", path, MAX_INCLUDE_DEPTH);
			break;
		}
		char *dir = lle_path_dirname(cur);
		char *ipath = dir ? lle_path_join(dir, inc) : NULL;
		free(dir);
		struct lle_node *ir = ipath ? load(ipath) : NULL;
		if (!ir || ir->kind != LLE_NODE_MAP || nextra >= MAX_FILES) {
			problem("%s: include '%s' cannot be used", cur, inc);
			lle_node_free(ir);
			free(ipath);
			break;
		}
		extra[nextra++] = ir;
		e->chain[e->nchain++] = ir;
		/* the included file's path must outlive this loop: node->file is interned */
		cur = ir->file;
		free(ipath);
		node = ir;
	}
	if (kind == K_TASK && lle_node_get(r, "group"))
		e->kind = K_GROUP;
	switch (e->kind) {
	case K_MODEL: e->name = str(e, "name"); break;
	case K_TASK: e->name = str(e, "task"); break;
	case K_GROUP: e->name = str(e, "group"); break;
	case K_CATEGORY: e->name = str(e, "category"); break;
	case K_BROKEN: break;
	}
}

static void load_all(void)
{
	static const struct {
		const char *sub;
		enum kind kind;
		int recurse;
	} parts[] = { { "models", K_MODEL, 0 }, { "categories", K_CATEGORY, 0 }, { "tasks", K_TASK, 1 } };
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *files[MAX_FILES];
		int n = 0;
		char *dir = lle_path_join(regdir, parts[i].sub);
		if (!dir)
			continue;
		collect(dir, parts[i].recurse, files, &n);
		free(dir);
		qsort(files, (size_t)n, sizeof(files[0]), cmp_str);
		for (int j = 0; j < n; j++) {
			load_entry(files[j], parts[i].kind);
			free(files[j]);
		}
	}
}

static void free_all(void)
{
	for (int i = 0; i < nentries; i++) {
		if (entries[i].nchain)
			lle_node_free(entries[i].chain[0]);
		free(entries[i].path);
	}
	for (int i = 0; i < nextra; i++)
		lle_node_free(extra[i]);
}

static int count(enum kind k)
{
	int n = 0;
	for (int i = 0; i < nentries; i++)
		n += entries[i].kind == k;
	return n;
}

static const struct entry *find(enum kind k, const char *name)
{
	for (int i = 0; i < nentries; i++)
		if (entries[i].kind == k && entries[i].name && strcmp(entries[i].name, name) == 0)
			return &entries[i];
	return NULL;
}

/* The keys a file may have; anything else is a typo or an unsupported key. */
static void only_keys(const struct entry *e, const char *const *known)
{
	for (int c = 0; c < e->nchain; c++) {
		const struct lle_node *m = e->chain[c];
		for (size_t i = 0; i < m->n; i++)
			if (!in_list(m->keys[i], known))
				problem("%s:%d:%d: unknown key '%s'", m->file, m->items[i]->line,
					m->items[i]->col, m->keys[i]);
	}
}

static void need_category(const struct entry *e, const char *cat)
{
	if (!find(K_CATEGORY, cat))
		problem("%s: category '%s' has no file categories/%s.yaml", e->path, cat, cat);
}

/* The file is NAME.yaml for models and categories. */
static void name_matches_file(const struct entry *e)
{
	const char *base = strrchr(e->path, '/');
	base = base ? base + 1 : e->path;
	size_t n = strlen(base) - strlen(".yaml");
	if (!e->name || strlen(e->name) != n || strncmp(base, e->name, n) != 0)
		problem("%s: name '%s' does not match the file name", e->path, e->name ? e->name : "");
}

static int valid_name(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '_' || *s == '.' ||
		      *s == '-'))
			return 0;
	return 1;
}

/* ---- the tests ---- */

TEST(every_file_parses)
{
	nproblems = 0;
	load_all();
	CHECK(nentries > 0);
	CHECK_INTEQ(count(K_BROKEN), 0);
	CHECK_INTEQ(nproblems, 0);
}

TEST(names_are_unique)
{
	nproblems = 0;
	for (int i = 0; i < nentries; i++) {
		const struct entry *a = &entries[i];
		if (a->kind == K_BROKEN)
			continue;
		if (!a->name) {
			problem("%s: no name", a->path);
			continue;
		}
		for (int j = 0; j < i; j++) {
			const struct entry *b = &entries[j];
			int same_ns = a->kind == b->kind ||
				      ((a->kind == K_TASK || a->kind == K_GROUP) &&
				       (b->kind == K_TASK || b->kind == K_GROUP));
			if (same_ns && b->name && strcmp(a->name, b->name) == 0)
				problem("%s: '%s' is also defined in %s", a->path, a->name, b->path);
		}
	}
	CHECK_INTEQ(nproblems, 0);
}

TEST(categories_have_the_documented_keys)
{
	static const char *const keys[] = { "category", "description", NULL };
	nproblems = 0;
	for (int i = 0; i < nentries; i++) {
		const struct entry *e = &entries[i];
		if (e->kind != K_CATEGORY)
			continue;
		only_keys(e, keys);
		if (!valid_name(e->name))
			problem("%s: 'category' must be a name of [a-z0-9_.-]", e->path);
		name_matches_file(e);
		if (!is_one_line(get(e, "description")))
			problem("%s: 'description' must be one line of text", e->path);
		/* a category nobody names is dead weight */
		int used = 0;
		for (int j = 0; j < nentries && !used; j++) {
			const struct entry *m = &entries[j];
			const struct lle_node *cats = m->kind == K_MODEL ? get(m, "categories") : NULL;
			const char *tc = m->kind == K_TASK || m->kind == K_GROUP ? str(m, "category") : NULL;
			for (size_t k = 0; cats && cats->kind == LLE_NODE_SEQ && k < cats->n; k++)
				used |= e->name && is_str(cats->items[k]) && strcmp(cats->items[k]->str, e->name) == 0;
			used |= tc && e->name && strcmp(tc, e->name) == 0;
		}
		if (!used)
			problem("%s: no model or task names category '%s'", e->path, e->name);
	}
	CHECK(count(K_CATEGORY) >= 11);
	CHECK_INTEQ(nproblems, 0);
}

static const char *const model_keys[] = { "name", "description", "hf_repo", "family", "params_b",
					  "size_gb", "dtype", "context_length", "license",
					  "chat_template", "categories", "backend", "backends", NULL };
/* llama.cpp's built-in chat template names (llama_chat_builtin_templates), and "none" */
static const char *const chat_templates[] = {
	"none", "chatml", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip", "mistral-v1",
	"mistral-v3", "mistral-v3-tekken", "mistral-v7", "mistral-v7-tekken", "phi3", "phi4",
	"falcon3", "zephyr", "monarch", "gemma", "orion", "openchat", "vicuna", "vicuna-orca",
	"deepseek", "deepseek2", "deepseek3", "command-r", "llama3", "chatglm3", "chatglm4", "glmedge",
	"minicpm", "exaone3", "rwkv-world", "granite", "gigachat", "megrez", NULL
};

static void check_number(const struct entry *e, const char *key, double lo, double hi, int integer)
{
	const struct lle_node *v = get(e, key);
	double d;
	long l;
	if (!v)
		return;
	if (integer ? lle_node_long(v, &l) != 0 : lle_node_double(v, &d) != 0) {
		problem("%s:%d:%d: '%s' must be %s, not %s", v->file, v->line, v->col, key,
			integer ? "an integer" : "a number", lle_node_kind_name(v));
		return;
	}
	if (integer)
		d = (double)l;
	if (d < lo || d > hi)
		problem("%s:%d:%d: '%s' is %g, outside [%g, %g]", v->file, v->line, v->col, key, d, lo, hi);
}

static void check_model(const struct entry *e)
{
	only_keys(e, model_keys);
	if (!valid_name(e->name))
		problem("%s: 'name' must be a name of [a-z0-9_.-]", e->path);
	name_matches_file(e);
	if (!is_one_line(get(e, "description")))
		problem("%s: 'description' must be one line of text", e->path);
	const char *repo = str(e, "hf_repo");
	if (!repo || !strchr(repo, '/') || strchr(repo, '/') != strrchr(repo, '/'))
		problem("%s: 'hf_repo' must be owner/name", e->path);
	static const char *const text_keys[] = { "family", "dtype", "license", NULL };
	for (const char *const *k = text_keys; *k; k++)
		if (get(e, *k) && !is_str(get(e, *k)))
			problem("%s: '%s' must be a string", e->path, *k);
	check_number(e, "params_b", 0.01, 2000, 0);
	check_number(e, "size_gb", 0.01, 5000, 0);
	check_number(e, "context_length", 512, 10 * 1024 * 1024, 1);
	/* size_gb is the weights at dtype: 2 bytes a parameter for bf16/fp16 */
	double p, s;
	const char *dtype = str(e, "dtype");
	if (dtype && !in_list(dtype, (const char *const[]){ "bf16", "fp16", "fp32", NULL }))
		problem("%s: dtype '%s' is not bf16, fp16 or fp32", e->path, dtype);
	if (dtype && lle_node_double(get(e, "params_b"), &p) == 0 &&
	    lle_node_double(get(e, "size_gb"), &s) == 0) {
		double want = p * (strcmp(dtype, "fp32") == 0 ? 4 : 2);
		if (fabs(s - want) > 0.05 * want + 0.05)
			problem("%s: size_gb %g does not fit %g B parameters in %s (%.1f)", e->path, s, p,
				dtype, want);
	}
	const char *tmpl = str(e, "chat_template");
	if (get(e, "chat_template") && (!tmpl || !in_list(tmpl, chat_templates)))
		problem("%s: chat_template '%s' is not a llama.cpp built-in template or none", e->path,
			tmpl ? tmpl : "");
	const struct lle_node *cats = get(e, "categories");
	if (!cats || cats->kind != LLE_NODE_SEQ || cats->n == 0) {
		problem("%s: 'categories' must be a non-empty list", e->path);
	} else {
		for (size_t i = 0; i < cats->n; i++) {
			if (!is_str(cats->items[i]))
				problem("%s: categories[%zu] must be a string", e->path, i);
			else
				need_category(e, cats->items[i]->str);
		}
	}
	/* how to run it: a GGUF file for llama.cpp and/or a served model name */
	const struct lle_node *bk = get(e, "backends");
	const struct lle_node *lc = lle_node_get(bk, "llamacpp");
	const struct lle_node *oa = lle_node_get(bk, "openai");
	if (!bk || bk->kind != LLE_NODE_MAP) {
		problem("%s: 'backends' must be a map", e->path);
		return;
	}
	for (size_t i = 0; i < bk->n; i++)
		if (strcmp(bk->keys[i], "llamacpp") != 0 && strcmp(bk->keys[i], "openai") != 0)
			problem("%s: unknown backend '%s'", e->path, bk->keys[i]);
	const char *gguf = lle_node_str(lc, "gguf");
	const char *served = lle_node_str(oa, "model");
	if (lc && (!gguf || !has_suffix(gguf, ".gguf") || strchr(gguf, '/')))
		problem("%s: backends.llamacpp.gguf must be a file name ending in .gguf", e->path);
	if (lc) {
		for (size_t i = 0; i < lc->n; i++)
			if (strcmp(lc->keys[i], "gguf") != 0 && strcmp(lc->keys[i], "gguf_repo") != 0)
				problem("%s: unknown key 'backends.llamacpp.%s'", e->path, lc->keys[i]);
		const char *grepo = lle_node_str(lc, "gguf_repo");
		if (lle_node_get(lc, "gguf_repo") && (!grepo || !strchr(grepo, '/')))
			problem("%s: backends.llamacpp.gguf_repo must be owner/name", e->path);
	}
	if (oa) {
		for (size_t i = 0; i < oa->n; i++)
			if (strcmp(oa->keys[i], "model") != 0 && strcmp(oa->keys[i], "base_url") != 0)
				problem("%s: unknown key 'backends.openai.%s'", e->path, oa->keys[i]);
		if (!served || !*served)
			problem("%s: backends.openai.model must be a string", e->path);
		const struct lle_node *u = lle_node_get(oa, "base_url");
		size_t nu = u && u->kind == LLE_NODE_SEQ ? u->n : 1;
		for (size_t i = 0; u && i < nu; i++) {
			const struct lle_node *x = u->kind == LLE_NODE_SEQ ? u->items[i] : u;
			if (!is_str(x) || (strncmp(x->str, "http://", 7) != 0 && strncmp(x->str, "https://", 8) != 0))
				problem("%s: backends.openai.base_url must be http(s) URLs", e->path);
		}
	}
	if (!gguf && !served)
		problem("%s: no way to run it (backends.llamacpp.gguf or backends.openai.model)", e->path);
	const char *def = str(e, "backend");
	if (get(e, "backend") && (!def || !lle_node_get(bk, def)))
		problem("%s: default backend '%s' has no entry under 'backends'", e->path, def ? def : "");
}

TEST(models_have_the_documented_keys_and_types)
{
	nproblems = 0;
	for (int i = 0; i < nentries; i++)
		if (entries[i].kind == K_MODEL)
			check_model(&entries[i]);
	CHECK_INTEQ(nproblems, 0);
}

/* lm-evaluation-harness's TaskConfig keys, and llm-eval's own (category, data_files). */
static const char *const task_keys[] = {
	"task", "task_alias", "tag", "group_alias", "include", "class", "dataset_path", "dataset_name",
	"dataset_kwargs", "training_split", "validation_split", "test_split", "fewshot_split",
	"process_docs", "doc_to_text", "doc_to_target", "doc_to_choice", "process_results",
	"use_prompt", "description", "target_delimiter", "fewshot_delimiter", "fewshot_config",
	"num_fewshot", "metric_list", "output_type", "generation_kwargs", "repeats", "filter_list",
	"should_decontaminate", "doc_to_decontamination_query", "gen_prefix", "unsafe_code", "metadata",
	"category", "data_files", NULL
};
static const char *const group_keys[] = { "group", "group_alias", "task", "aggregate_metric_list",
					  "category", "metadata", NULL };
static const char *const output_types[] = { "generate_until", "multiple_choice", "loglikelihood",
					    "loglikelihood_rolling", NULL };

/* A template: balanced {{ }} and {% %} (a `!function` is a string the engine maps). */
static void check_template(const struct entry *e, const char *key, const struct lle_node *v)
{
	if (!v)
		return;
	if (v->kind == LLE_NODE_SEQ) {
		for (size_t i = 0; i < v->n; i++)
			check_template(e, key, v->items[i]);
		return;
	}
	if (v->kind != LLE_NODE_SCALAR) {
		problem("%s: '%s' must be a string or a list", e->path, key);
		return;
	}
	const char *s = v->str;
	int depth_expr = 0, depth_stmt = 0;
	for (; *s; s++) {
		if (s[0] == '{' && s[1] == '{')
			depth_expr++, s++;
		else if (s[0] == '}' && s[1] == '}' && depth_expr)
			depth_expr--, s++;
		else if (s[0] == '{' && s[1] == '%')
			depth_stmt++, s++;
		else if (s[0] == '%' && s[1] == '}')
			depth_stmt--, s++;
	}
	if (depth_expr || depth_stmt)
		problem("%s:%d:%d: '%s' has unbalanced {{ }} or {%% %%}", v->file, v->line, v->col, key);
}

static void check_metadata(const struct entry *e)
{
	const struct lle_node *md = get(e, "metadata");
	double v;
	if (!md || md->kind != LLE_NODE_MAP || lle_node_double(lle_node_get(md, "version"), &v) != 0)
		problem("%s: 'metadata.version' must be a number", e->path);
	/* the one-line description `list` shows: lm-evaluation-harness's
	 * `description` is a prompt prefix, so ours lives in metadata */
	if (!is_one_line(lle_node_get(md, "description")))
		problem("%s: 'metadata.description' must be one line of text", e->path);
}

/* `list` reads each file alone, without following include: what it prints
 * (the category and the one-line description) must be in the file itself. */
static void check_listed_keys_are_local(const struct entry *e)
{
	const struct lle_node *own = e->chain[0];
	if (!lle_node_get(own, "category"))
		problem("%s: 'category' must be in the file itself, not only in what it includes", e->path);
	if (!lle_node_get(lle_node_get(own, "metadata"), "description"))
		problem("%s: 'metadata.description' must be in the file itself", e->path);
}

static void check_task(const struct entry *e)
{
	only_keys(e, task_keys);
	check_listed_keys_are_local(e);
	if (!e->name || !*e->name)
		problem("%s: 'task' must be a string", e->path);
	const char *cat = str(e, "category");
	if (!cat)
		problem("%s: no 'category'", e->path);
	else
		need_category(e, cat);
	check_metadata(e);
	const char *ot = str(e, "output_type");
	if (!ot || !in_list(ot, output_types))
		problem("%s: 'output_type' must be one of generate_until, multiple_choice, loglikelihood, loglikelihood_rolling",
			e->path);
	if (!is_str(get(e, "dataset_path")))
		problem("%s: 'dataset_path' must be a string", e->path);
	if (get(e, "description") && !is_str(get(e, "description")))
		problem("%s: 'description' must be a string", e->path);
	/* data: the split evaluated, and the few-shot source, are files */
	const struct lle_node *df = get(e, "data_files");
	if (!df || df->kind != LLE_NODE_MAP || df->n == 0) {
		problem("%s: 'data_files' must be a map of split to file", e->path);
		df = NULL;
	}
	for (size_t i = 0; df && i < df->n; i++)
		if (!is_str(df->items[i]) || df->items[i]->str[0] == '/')
			problem("%s: data_files.%s must be a path relative to the data directory", e->path,
				df->keys[i]);
	const char *split = str(e, "test_split") ? str(e, "test_split") : str(e, "validation_split");
	if (!split)
		problem("%s: neither 'test_split' nor 'validation_split'", e->path);
	else if (df && !lle_node_get(df, split))
		problem("%s: split '%s' has no entry in data_files", e->path, split);
	long shots = 0;
	if (get(e, "num_fewshot") && (lle_node_long(get(e, "num_fewshot"), &shots) != 0 || shots < 0))
		problem("%s: 'num_fewshot' must be an integer >= 0", e->path);
	const struct lle_node *fc = get(e, "fewshot_config");
	const struct lle_node *samples = lle_node_get(fc, "samples");
	if (shots > 0) {
		const char *fs = str(e, "fewshot_split");
		if (samples) {
			if (samples->kind != LLE_NODE_SEQ || (long)samples->n < shots)
				problem("%s: fewshot_config.samples must list at least %ld examples", e->path, shots);
		} else if (!fs) {
			problem("%s: %ld-shot without 'fewshot_split' or fewshot_config.samples", e->path, shots);
		} else if (df && !lle_node_get(df, fs)) {
			problem("%s: fewshot split '%s' has no entry in data_files", e->path, fs);
		}
	}
	if (!get(e, "doc_to_text") || !get(e, "doc_to_target"))
		problem("%s: needs 'doc_to_text' and 'doc_to_target'", e->path);
	check_template(e, "doc_to_text", get(e, "doc_to_text"));
	check_template(e, "doc_to_target", get(e, "doc_to_target"));
	check_template(e, "doc_to_choice", get(e, "doc_to_choice"));
	if (ot && strcmp(ot, "multiple_choice") == 0 && !get(e, "doc_to_choice"))
		problem("%s: multiple_choice without 'doc_to_choice'", e->path);
	if (ot && strcmp(ot, "generate_until") == 0) {
		const struct lle_node *u = lle_node_get(get(e, "generation_kwargs"), "until");
		if (!u || u->kind != LLE_NODE_SEQ)
			problem("%s: generate_until needs generation_kwargs.until (a list)", e->path);
	}
	const struct lle_node *ml = get(e, "metric_list");
	if (!ml || ml->kind != LLE_NODE_SEQ || ml->n == 0) {
		problem("%s: 'metric_list' must be a non-empty list", e->path);
	} else {
		for (size_t i = 0; i < ml->n; i++) {
			const struct lle_node *m = ml->items[i];
			if (!is_str(lle_node_get(m, "metric")))
				problem("%s: metric_list[%zu] has no 'metric' name", e->path, i);
			const struct lle_node *h = lle_node_get(m, "higher_is_better");
			if (h && lle_node_bool(h) < 0)
				problem("%s: metric_list[%zu].higher_is_better must be a boolean", e->path, i);
			check_template(e, "program", lle_node_get(m, "program"));
		}
	}
	const struct lle_node *fl = get(e, "filter_list");
	for (size_t i = 0; fl && i < (fl->kind == LLE_NODE_SEQ ? fl->n : 1); i++) {
		const struct lle_node *f = fl->kind == LLE_NODE_SEQ ? fl->items[i] : NULL;
		const struct lle_node *chain = lle_node_get(f, "filter");
		if (!f || !is_str(lle_node_get(f, "name")) || !chain || chain->kind != LLE_NODE_SEQ) {
			problem("%s: filter_list[%zu] needs 'name' and a 'filter' list", e->path, i);
			continue;
		}
		for (size_t j = 0; j < chain->n; j++) {
			const char *fn = lle_node_str(chain->items[j], "function");
			if (!fn)
				problem("%s: filter_list[%zu].filter[%zu] has no 'function'", e->path, i, j);
			else if (strcmp(fn, "regex") == 0 && !lle_node_str(chain->items[j], "regex_pattern"))
				problem("%s: filter_list[%zu].filter[%zu]: regex without 'regex_pattern'", e->path, i, j);
		}
	}
}

static void check_group(const struct entry *e)
{
	only_keys(e, group_keys);
	check_listed_keys_are_local(e);
	const char *cat = str(e, "category");
	if (!cat)
		problem("%s: no 'category'", e->path);
	else
		need_category(e, cat);
	check_metadata(e);
	const struct lle_node *t = get(e, "task");
	if (!t || t->kind != LLE_NODE_SEQ || t->n == 0) {
		problem("%s: group 'task' must be a non-empty list", e->path);
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		/* a member is a name, or a map naming a task with overrides (fewshot_split, num_fewshot) */
		const struct lle_node *it = t->items[i];
		const char *m = is_str(it) ? it->str : lle_node_str(it, "task");
		const struct entry *te = m ? find(K_TASK, m) : NULL;
		if (!m || (!te && !find(K_GROUP, m))) {
			problem("%s: member '%s' is not a task or group of the registry", e->path, m ? m : "?");
			continue;
		}
		if (it->kind != LLE_NODE_MAP)
			continue;
		for (size_t k = 0; k < it->n; k++)
			if (!in_list(it->keys[k], task_keys))
				problem("%s: member '%s': unknown key '%s'", e->path, m, it->keys[k]);
		const char *fs = lle_node_str(it, "fewshot_split");
		if (fs && te && !lle_node_get(get(te, "data_files"), fs))
			problem("%s: member '%s': fewshot split '%s' has no entry in its data_files", e->path, m, fs);
		long shots;
		if (lle_node_get(it, "num_fewshot") && (lle_node_long(lle_node_get(it, "num_fewshot"), &shots) != 0 || shots < 0))
			problem("%s: member '%s': 'num_fewshot' must be an integer >= 0", e->path, m);
	}
	/* without aggregate_metric_list a group reports its members only */
	const struct lle_node *agg = get(e, "aggregate_metric_list");
	if (!agg)
		return;
	if (agg->kind != LLE_NODE_SEQ || agg->n == 0) {
		problem("%s: 'aggregate_metric_list' must be a non-empty list", e->path);
		return;
	}
	for (size_t i = 0; i < agg->n; i++) {
		if (!lle_node_str(agg->items[i], "metric"))
			problem("%s: aggregate_metric_list[%zu] has no 'metric'", e->path, i);
		const struct lle_node *w = lle_node_get(agg->items[i], "weight_by_size");
		if (w && lle_node_bool(w) < 0)
			problem("%s: aggregate_metric_list[%zu].weight_by_size must be a boolean", e->path, i);
	}
}

TEST(tasks_and_groups_have_the_documented_keys_and_types)
{
	nproblems = 0;
	for (int i = 0; i < nentries; i++) {
		if (entries[i].kind == K_TASK)
			check_task(&entries[i]);
		else if (entries[i].kind == K_GROUP)
			check_group(&entries[i]);
	}
	CHECK_INTEQ(nproblems, 0);
}

TEST(counts_and_promised_entries)
{
	CHECK(count(K_MODEL) >= 37);
	int plain = 0; /* tasks that are not one of MMLU's 57 subjects */
	for (int i = 0; i < nentries; i++)
		plain += entries[i].kind == K_TASK && entries[i].name && strncmp(entries[i].name, "mmlu_", 5) != 0;
	CHECK(plain >= 25);
	const struct entry *m = find(K_MODEL, "qwen25_math_7b");
	CHECK(m != NULL);
	const struct lle_node *cats = m ? get(m, "categories") : NULL;
	int in_math = 0;
	for (size_t i = 0; cats && cats->kind == LLE_NODE_SEQ && i < cats->n; i++)
		in_math |= is_str(cats->items[i]) && strcmp(cats->items[i]->str, "mathematics") == 0;
	CHECK(in_math);
	CHECK_STREQ(m ? str(m, "hf_repo") : NULL, "Qwen/Qwen2.5-Math-7B-Instruct");
	static const char *const required[] = { "gsm8k", "gsm8k_cot", "humaneval", "mbpp", "arc_easy",
						"arc_challenge", "hellaswag", "winogrande", "piqa",
						"boolq", "truthfulqa_mc1", "wikitext", "ifeval", NULL };
	for (const char *const *t = required; *t; t++)
		if (!find(K_TASK, *t))
			CHECK_FAIL_("task '%s' is missing", *t);
}

/* lm-evaluation-harness's gsm8k.yaml facts that the engine's tests rely on. */
TEST(gsm8k_is_five_shot_with_both_filters)
{
	const struct entry *e = find(K_TASK, "gsm8k");
	CHECK(e != NULL);
	if (!e)
		return;
	long shots = -1;
	CHECK(lle_node_long(get(e, "num_fewshot"), &shots) == 0 && shots == 5);
	CHECK_STREQ(str(e, "doc_to_text"), "Question: {{question}}\nAnswer:");
	const struct lle_node *fl = get(e, "filter_list");
	CHECK(fl && fl->kind == LLE_NODE_SEQ && fl->n == 2);
	if (!fl || fl->kind != LLE_NODE_SEQ || fl->n != 2)
		return;
	CHECK_STREQ(lle_node_str(fl->items[0], "name"), "strict-match");
	CHECK_STREQ(lle_node_str(fl->items[1], "name"), "flexible-extract");
	const struct lle_node *f0 = lle_node_get(fl->items[0], "filter");
	CHECK(f0 && f0->kind == LLE_NODE_SEQ && f0->n == 2);
	if (f0 && f0->kind == LLE_NODE_SEQ && f0->n == 2)
		CHECK_STREQ(lle_node_str(f0->items[0], "regex_pattern"), "#### (\\-?[0-9\\.\\,]+)");
	const struct lle_node *u = lle_node_get(get(e, "generation_kwargs"), "until");
	CHECK(u && u->kind == LLE_NODE_SEQ && u->n == 3);
	if (u && u->kind == LLE_NODE_SEQ && u->n == 3)
		CHECK_STREQ(u->items[2]->str, "<|im_end|>");
}

/* MMLU: 57 subjects, each in exactly one of the four sub-groups of `mmlu`. */
TEST(mmlu_subjects_and_groups)
{
	nproblems = 0;
	const struct entry *g = find(K_GROUP, "mmlu");
	CHECK(g != NULL);
	const struct lle_node *subs = g ? get(g, "task") : NULL;
	CHECK(subs && subs->kind == LLE_NODE_SEQ && subs->n == 4);
	const struct lle_node *agg = g ? get(g, "aggregate_metric_list") : NULL;
	CHECK(agg && agg->kind == LLE_NODE_SEQ && agg->n == 1);
	if (agg && agg->kind == LLE_NODE_SEQ && agg->n == 1) {
		CHECK_STREQ(lle_node_str(agg->items[0], "metric"), "acc");
		CHECK(lle_node_bool(lle_node_get(agg->items[0], "weight_by_size")) == 1);
	}
	int seen[MAX_FILES] = { 0 };
	int nsubjects = 0;
	for (size_t i = 0; subs && subs->kind == LLE_NODE_SEQ && i < subs->n; i++) {
		const struct entry *sg = is_str(subs->items[i]) ? find(K_GROUP, subs->items[i]->str) : NULL;
		const struct lle_node *mem = sg ? get(sg, "task") : NULL;
		if (!mem || mem->kind != LLE_NODE_SEQ) {
			problem("an mmlu sub-group is missing or not a list of tasks");
			continue;
		}
		for (size_t j = 0; j < mem->n; j++) {
			const struct entry *t = is_str(mem->items[j]) ? find(K_TASK, mem->items[j]->str) : NULL;
			if (!t)
				continue; /* reported by the group check */
			seen[t - entries]++;
			nsubjects++;
		}
	}
	CHECK_INTEQ(nsubjects, 57);
	for (int i = 0; i < nentries; i++) {
		const struct entry *e = &entries[i];
		if (e->kind != K_TASK || !e->name || strncmp(e->name, "mmlu_", 5) != 0)
			continue;
		if (seen[i] != 1)
			problem("%s: in %d MMLU sub-groups, not 1", e->path, seen[i]);
		/* the paper's prompt: subject with spaces in the description */
		struct lle_buf want = { 0 };
		lle_buf_printf(&want, "The following are multiple choice questions (with answers) about ");
		for (const char *s = e->name + 5; *s; s++)
			lle_buf_addc(&want, *s == '_' ? ' ' : *s);
		lle_buf_adds(&want, ".\n\n");
		const char *d = str(e, "description");
		if (!d || strcmp(d, lle_buf_str(&want)) != 0)
			problem("%s: description is not the MMLU subject line", e->path);
		lle_buf_free(&want);
		if (strcmp(str(e, "fewshot_split") ? str(e, "fewshot_split") : "", "dev") != 0)
			problem("%s: few-shot examples must come from dev", e->path);
	}
	CHECK_INTEQ(nproblems, 0);
}

int main(int argc, char **argv)
{
	if (argc > 1)
		regdir = argv[1];
	RUN(every_file_parses);
	RUN(names_are_unique);
	RUN(categories_have_the_documented_keys);
	RUN(models_have_the_documented_keys_and_types);
	RUN(tasks_and_groups_have_the_documented_keys_and_types);
	RUN(counts_and_promised_entries);
	RUN(gsm8k_is_five_shot_with_both_filters);
	RUN(mmlu_subjects_and_groups);
	free_all();
	return check_done();
}
