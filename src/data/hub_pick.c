/* Which files of a Hub dataset repository a split reads, as the `datasets`
 * library decides (src/datasets/data_files.py and load.py): see hub.h.
 * Pure: a file list and a README text in, indexes out; no I/O (hub.c).
 *
 * The rules, in `datasets`' order:
 *  1. README front matter `configs:`: the configuration named (else the one
 *     with `default: true`, else the only one); its `data_files` (a pattern,
 *     a list of patterns for "train", or a list of {split, path}), under
 *     `data_dir` when given; a split it lacks is an error listing its splits.
 *  2. No `configs:`, no configuration asked (or "default"), no loading
 *     script: data/SPLIT-NNNNN-of-NNNNN*.* (sharded); else the split's
 *     keywords (train|training, validation|valid|dev|val,
 *     test|testing|eval|evaluation) as a directory, then in a file name,
 *     between non-word characters "-._ 0-9"; else everything is "train".
 *     The first rule that finds any split decides which splits exist.
 *  3. Otherwise (a configuration of a script dataset, nothing found): the
 *     Hub's Parquet conversion decides (*convert = 1).
 * Hidden paths, "__" directories, README.md and the dataset_info files are
 * never data; only .parquet, .jsonl, .ndjson, .json and .csv files (and
 * their .gz) count. Within one pattern files come sorted; across a split's
 * patterns in pattern order, each file once. */
#include "data/hub.h"

#include <stdlib.h>
#include <string.h>

#include "data/yaml.h"
#include "util/buf.h"

/* ---- patterns ----------------------------------------------------------- */

/* [...] at *pp (after '['): whether c is in it; *pp moves past ']'. */
static int in_class(const char **pp, char c)
{
	const char *p = *pp;
	int neg = 0, hit = 0;
	if (*p == '!' || *p == '^') {
		neg = 1;
		p++;
	}
	int first = 1;
	while (*p && (*p != ']' || first)) {
		char lo = *p, hi = lo;
		if (p[1] == '-' && p[2] && p[2] != ']') {
			hi = p[2];
			p += 3;
		} else {
			p++;
		}
		if (c >= lo && c <= hi)
			hit = 1;
		first = 0;
	}
	*pp = *p == ']' ? p + 1 : p;
	return hit != neg;
}

int lle_hub_match(const char *p, const char *s)
{
	while (*p) {
		if (p[0] == '*' && p[1] == '*') {
			const char *rest = p + 2;
			if (*rest == '/' && lle_hub_match(rest + 1, s))
				return 1;
			for (const char *t = s;; t++) {
				if (lle_hub_match(rest, t))
					return 1;
				if (!*t)
					return 0;
			}
		}
		if (*p == '*') {
			for (const char *t = s;; t++) {
				if (lle_hub_match(p + 1, t))
					return 1;
				if (!*t || *t == '/')
					return 0;
			}
		}
		if (!*s)
			return 0;
		if (*p == '?') {
			if (*s == '/')
				return 0;
		} else if (*p == '[') {
			const char *q = p + 1;
			if (*s == '/' || !in_class(&q, *s))
				return 0;
			p = q;
			s++;
			continue;
		} else if (*p != *s) {
			return 0;
		}
		p++;
		s++;
	}
	return *s == 0;
}

/* ---- what counts as a data file ------------------------------------------ */

static int ends(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && strcmp(s + n - m, suf) == 0;
}

static int readable(const char *f)
{
	static const char *const ext[] = {".parquet", ".jsonl", ".ndjson", ".json", ".csv",
					  ".jsonl.gz", ".ndjson.gz", ".json.gz", ".csv.gz"};
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (ends(f, ext[i]))
			return 1;
	return 0;
}

static int ignored(const char *f)
{
	static const char *const names[] = {"README.md", "config.json", "dataset_info.json",
					    "dataset_infos.json", "dummy_data.zip", "dataset_dict.json"};
	const char *base = strrchr(f, '/');
	base = base ? base + 1 : f;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(base, names[i]) == 0)
			return 1;
	for (const char *part = f; part; part = strchr(part, '/') ? strchr(part, '/') + 1 : NULL)
		if (part[0] == '.' || (part[0] == '_' && part[1] == '_'))
			return 1;
	return 0;
}

/* Add the files one pattern matches (they are sorted already), each once. */
static size_t add_matches(const char *pat, char *const *files, size_t n, size_t *idx, size_t k,
			  unsigned char *taken)
{
	for (size_t i = 0; i < n; i++) {
		if (taken[i] || ignored(files[i]) || !readable(files[i]) || !lle_hub_match(pat, files[i]))
			continue;
		taken[i] = 1;
		idx[k++] = i;
	}
	return k;
}

static int any_match(const char *pat, char *const *files, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!ignored(files[i]) && readable(files[i]) && lle_hub_match(pat, files[i]))
			return 1;
	return 0;
}

/* ---- default patterns ------------------------------------------------------ */

static const char *const SPLITS[] = {"train", "validation", "test"};
static const char *const KW[3][5] = {
	{"train", "training", NULL},
	{"validation", "valid", "dev", "val", NULL},
	{"test", "testing", "eval", "evaluation", NULL},
};
#define SEP "[-._ 0-9]"
static const char *const DIR_PATS[] = {"**/%s/**", "**/%s" SEP "*/**", "**/*" SEP "%s/**",
				       "**/*" SEP "%s" SEP "*/**"};
static const char *const FILE_PATS[] = {"**/%s" SEP "*", "**/*" SEP "%s" SEP "*"};

/* The patterns of one default split in one group, into pats (count returned). */
static size_t group_patterns(int group, int sp, char pats[][128])
{
	size_t np = 0;
	const char *const *g = group == 0 ? DIR_PATS : FILE_PATS;
	size_t ng = group == 0 ? 4 : 2;
	for (size_t k = 0; KW[sp][k]; k++)
		for (size_t j = 0; j < ng; j++)
			snprintf(pats[np++], 128, g[j], KW[sp][k]);
	return np;
}

static int split_index(const char *split)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(split, SPLITS[i]) == 0)
			return i;
	return -1;
}

static long pick_default(const char *repo, const char *prefix, char *const *files, size_t n,
			 const char *split, size_t *idx, unsigned char *taken, struct lle_err *err)
{
	char pat[512];
	/* 1. sharded: data/SPLIT-NNNNN-of-NNNNN*.* */
	static const char *const SHARD = "-[0-9][0-9][0-9][0-9][0-9]-of-[0-9][0-9][0-9][0-9][0-9]*.*";
	snprintf(pat, sizeof(pat), "%sdata/*%s", prefix, SHARD);
	if (any_match(pat, files, n)) {
		snprintf(pat, sizeof(pat), "%sdata/%s%s", prefix, split, SHARD);
		size_t k = add_matches(pat, files, n, idx, 0, taken);
		if (k == 0) {
			struct lle_buf have = LLE_BUF_INIT;
			snprintf(pat, sizeof(pat), "%sdata/*%s", prefix, SHARD);
			for (size_t i = 0; i < n; i++) {
				if (!lle_hub_match(pat, files[i]))
					continue;
				const char *b = files[i] + strlen(prefix) + 5;
				const char *e = strstr(b, "-0");
				char one[128];
				snprintf(one, sizeof(one), "%.*s", (int)(e ? e - b : 0), b);
				const char *sofar = lle_buf_str(&have);
				if (!strstr(sofar, one))
					lle_buf_printf(&have, "%s%s", have.n ? ", " : "", one);
			}
			lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' has no split '%s' (it has: %s)", repo,
				    split, lle_buf_str(&have));
			lle_buf_free(&have);
			return -1;
		}
		return (long)k;
	}
	/* 2. split keywords in directory names, then in file names */
	int sp = split_index(split);
	for (int group = 0; group < 2; group++) {
		char pats[24][128];
		int found[3] = {0, 0, 0};
		for (int s = 0; s < 3; s++) {
			size_t np = group_patterns(group, s, pats);
			for (size_t j = 0; j < np && !found[s]; j++) {
				snprintf(pat, sizeof(pat), "%s%s", prefix, pats[j]);
				found[s] = any_match(pat, files, n);
			}
		}
		if (!found[0] && !found[1] && !found[2])
			continue;
		if (sp < 0 || !found[sp]) {
			lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' has no split '%s' (it has:%s%s%s)", repo,
				    split, found[0] ? " train" : "", found[1] ? " validation" : "",
				    found[2] ? " test" : "");
			return -1;
		}
		size_t np = group_patterns(group, sp, pats), k = 0;
		for (size_t j = 0; j < np; j++) {
			snprintf(pat, sizeof(pat), "%s%s", prefix, pats[j]);
			k = add_matches(pat, files, n, idx, k, taken);
		}
		return (long)k;
	}
	/* 3. everything is "train" */
	snprintf(pat, sizeof(pat), "%s**", prefix);
	if (any_match(pat, files, n)) {
		if (strcmp(split, "train") != 0) {
			lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' has no split '%s' (it has: train)", repo,
				    split);
			return -1;
		}
		return (long)add_matches(pat, files, n, idx, 0, taken);
	}
	return 0;
}

/* ---- README configs --------------------------------------------------------- */

/* The YAML front matter of a README (between the first two "---" lines). */
static struct lle_node *front_matter(const char *readme, const char *repo, struct lle_err *err)
{
	if (!readme || strncmp(readme, "---", 3) != 0 || (readme[3] != '\n' && readme[3] != '\r'))
		return NULL;
	const char *body = strchr(readme, '\n') + 1;
	const char *end = body;
	while ((end = strstr(end, "---")) && !(end[-1] == '\n' && (end[3] == '\n' || end[3] == '\r' || !end[3])))
		end += 3;
	if (!end)
		return NULL;
	char name[300];
	snprintf(name, sizeof(name), "%s/README.md", repo);
	return lle_yaml_load_mem(body, (size_t)(end - body), name, err);
}

/* Add the patterns of a data_files value (string or list of strings). */
static size_t add_value(const struct lle_node *v, const char *prefix, char *const *files, size_t n,
			size_t *idx, size_t k, unsigned char *taken)
{
	char pat[1024];
	if (v->kind == LLE_NODE_SCALAR) {
		snprintf(pat, sizeof(pat), "%s%s", prefix, v->str);
		return add_matches(pat, files, n, idx, k, taken);
	}
	if (v->kind == LLE_NODE_SEQ)
		for (size_t i = 0; i < v->n; i++)
			if (v->items[i]->kind == LLE_NODE_SCALAR) {
				snprintf(pat, sizeof(pat), "%s%s", prefix, v->items[i]->str);
				k = add_matches(pat, files, n, idx, k, taken);
			}
	return k;
}

static long pick_config(const char *repo, const struct lle_node *configs, char *const *files,
			size_t n, const char *config, const char *split, size_t *idx,
			unsigned char *taken, struct lle_err *err)
{
	const struct lle_node *c = NULL, *dflt = NULL;
	struct lle_buf names = LLE_BUF_INIT;
	for (size_t i = 0; i < configs->n; i++) {
		const struct lle_node *ci = configs->items[i];
		const char *nm = lle_node_str(ci, "config_name");
		if (!nm)
			nm = "default";
		lle_buf_printf(&names, "%s%s", names.n ? ", " : "", nm);
		if (config && *config && strcmp(nm, config) == 0)
			c = ci;
		const struct lle_node *d = lle_node_get(ci, "default");
		if (d && lle_node_bool(d) == 1)
			dflt = ci;
	}
	if (!config || !*config)
		c = dflt ? dflt : configs->n == 1 ? configs->items[0] : NULL;
	if (!c) {
		if (config && *config)
			lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' has no configuration '%s' (it has: %s)",
				    repo, config, lle_buf_str(&names));
		else
			lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' has several configurations; set "
				    "dataset_name to one of: %s", repo, lle_buf_str(&names));
		lle_buf_free(&names);
		return -1;
	}
	lle_buf_free(&names);
	char prefix[512] = "";
	const char *dd = lle_node_str(c, "data_dir");
	if (dd && *dd)
		snprintf(prefix, sizeof(prefix), "%s/", dd);
	const struct lle_node *df = lle_node_get(c, "data_files");
	if (!df)
		return pick_default(repo, prefix, files, n, split, idx, taken, err);
	size_t k = 0;
	int has_dicts = df->kind == LLE_NODE_SEQ && df->n && df->items[0]->kind == LLE_NODE_MAP;
	if (df->kind == LLE_NODE_MAP) {
		const struct lle_node *v = lle_node_get(df, split);
		if (v)
			return (long)add_value(v, prefix, files, n, idx, 0, taken);
	} else if (has_dicts) {
		for (size_t i = 0; i < df->n; i++) {
			const char *s = lle_node_str(df->items[i], "split");
			const struct lle_node *v = lle_node_get(df->items[i], "path");
			if (s && v && strcmp(s, split) == 0)
				return (long)add_value(v, prefix, files, n, idx, 0, taken);
		}
	} else if (strcmp(split, "train") == 0) {
		return (long)add_value(df, prefix, files, n, idx, k, taken);
	}
	/* the split is not there: say which are */
	struct lle_buf have = LLE_BUF_INIT;
	if (df->kind == LLE_NODE_MAP)
		for (size_t i = 0; i < df->n; i++)
			lle_buf_printf(&have, "%s%s", i ? ", " : "", df->keys[i]);
	else if (has_dicts)
		for (size_t i = 0; i < df->n; i++) {
			const char *s = lle_node_str(df->items[i], "split");
			lle_buf_printf(&have, "%s%s", i ? ", " : "", s ? s : "?");
		}
	else
		lle_buf_adds(&have, "train");
	const char *cn = lle_node_str(c, "config_name");
	lle_err_set(err, LLE_EXIT_DATA, "dataset '%s' configuration '%s' has no split '%s' (it has: %s)",
		    repo, cn ? cn : "default", split, lle_buf_str(&have));
	lle_buf_free(&have);
	return -1;
}

long lle_hub_pick(const char *repo, char *const *files, size_t nfiles, const char *readme,
		  const char *config, const char *split, size_t *idx, int *convert, struct lle_err *err)
{
	*convert = 0;
	unsigned char *taken = calloc(nfiles ? nfiles : 1, 1);
	if (!taken)
		return lle_err_oom(err);
	long k = -1;
	struct lle_err yerr = {0};
	struct lle_node *fm = front_matter(readme, repo, &yerr);
	const struct lle_node *configs = fm ? lle_node_get(fm, "configs") : NULL;
	if (configs && configs->kind == LLE_NODE_SEQ && configs->n) {
		k = pick_config(repo, configs, files, nfiles, config, split, idx, taken, err);
		goto out;
	}
	/* a loading script: only the Parquet conversion reads it here */
	const char *base = strrchr(repo, '/');
	base = base ? base + 1 : repo;
	char script[300];
	snprintf(script, sizeof(script), "%s.py", base);
	int has_script = 0;
	for (size_t i = 0; i < nfiles; i++)
		has_script |= strcmp(files[i], script) == 0;
	if (has_script || (config && *config && strcmp(config, "default") != 0)) {
		*convert = 1;
		k = 0;
		goto out;
	}
	k = pick_default(repo, "", files, nfiles, split, idx, taken, err);
	if (k == 0)
		*convert = 1;
out:
	lle_node_free(fm);
	free(taken);
	return k;
}
