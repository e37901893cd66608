/* Data directory and data-file resolution: see datapath.h. */
#include "data/datapath.h"

#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/buf.h"
#include "util/path.h"

static int has_glob_chars(const char *s)
{
	return strpbrk(s, "*?[") != NULL;
}

void lle_data_dir_pick(const char *flag_value, struct lle_data_dir *out)
{
	out->path = NULL;
	out->origin = NULL;
	if (flag_value && *flag_value) {
		out->path = flag_value;
		out->origin = "--data-dir";
		return;
	}
	const char *e = getenv("LLM_EVAL_DATA_DIR");
	if (e && *e) {
		out->path = e;
		out->origin = "LLM_EVAL_DATA_DIR";
	}
}

char *lle_data_split_spec(const char *dataset_path, const char *dataset_name, const char *split)
{
	struct lle_buf b = LLE_BUF_INIT;
	/* The configuration is part of the path: the harness loads
	 * load_dataset(dataset_path, dataset_name), and sibling configurations
	 * (57 MMLU subjects, ARC-Easy/ARC-Challenge) must not share one file. */
	if (dataset_name && *dataset_name)
		lle_buf_printf(&b, "%s/%s/%s.jsonl", dataset_path, dataset_name, split);
	else
		lle_buf_printf(&b, "%s/%s.jsonl", dataset_path, split);
	if (b.oom) {
		lle_buf_free(&b);
		return NULL;
	}
	return lle_buf_detach(&b);
}

int lle_data_present(const char *path_or_glob)
{
	if (!has_glob_chars(path_or_glob))
		return access(path_or_glob, R_OK) == 0;
	glob_t g;
	memset(&g, 0, sizeof(g));
	int rc = glob(path_or_glob, GLOB_NOSORT, NULL, &g);
	int ok = rc == 0 && g.gl_pathc > 0;
	globfree(&g);
	return ok;
}

char *lle_data_resolve(const char *spec, const char *base_dir, const struct lle_data_dir *dd,
		       int must_exist, const char *what, struct lle_err *err)
{
	char *path;
	const char *how;
	char howbuf[1200];
	if (spec[0] == '/') {
		path = lle_strdup(spec);
		how = "an absolute path";
	} else if (strncmp(spec, "./", 2) == 0 || strncmp(spec, "../", 3) == 0) {
		path = base_dir ? lle_path_join(base_dir, spec) : lle_strdup(spec);
		snprintf(howbuf, sizeof(howbuf), "relative to '%s'", base_dir ? base_dir : ".");
		how = howbuf;
	} else {
		if (!dd || !dd->path) {
			lle_err_set(err, LLE_EXIT_DATA,
				    "%s: data file '%s' is under the data directory, and none is set "
				    "(use --data-dir or LLM_EVAL_DATA_DIR)", what, spec);
			return NULL;
		}
		path = lle_path_join(dd->path, spec);
		snprintf(howbuf, sizeof(howbuf), "under data directory '%s' from %s", dd->path,
			 dd->origin ? dd->origin : "the caller");
		how = howbuf;
	}
	if (!path) {
		lle_err_oom(err);
		return NULL;
	}
	if (must_exist && !lle_data_present(path)) {
		lle_err_set(err, LLE_EXIT_DATA, "%s: expected data file '%s' ('%s' %s) is missing",
			    what, path, spec, how);
		free(path);
		return NULL;
	}
	return path;
}

int lle_data_from_hub(const char *dataset_path, const char *file, const struct lle_data_dir *dd)
{
	static const char *const builders[] = { "json", "csv", "parquet", "text", "arrow", "pandas" };
	if ((dd && dd->path) || !dataset_path || !*dataset_path)
		return 0;
	for (size_t i = 0; i < sizeof(builders) / sizeof(builders[0]); i++)
		if (strcmp(dataset_path, builders[i]) == 0)
			return 0;
	return !file || (file[0] != '/' && strncmp(file, "./", 2) != 0 && strncmp(file, "../", 3) != 0);
}
