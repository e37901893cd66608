/* Where a task's data files are, without opening them: the data directory
 * (`--data-dir`, then LLM_EVAL_DATA_DIR, else none) and the resolution of a
 * `data_files` entry against it, with messages that say exactly which file
 * was expected. Depends on util and libc only, so a command that lists
 * datasets can use it without the engine's readers (data/dataset.h). */
#ifndef LLE_DATA_DATAPATH_H
#define LLE_DATA_DATAPATH_H

#include "util/err.h"

/* Where data lives: the flag's value, else $LLM_EVAL_DATA_DIR, else none. */
struct lle_data_dir {
	const char *path;   /* NULL when none is set */
	const char *origin; /* "--data-dir", "LLM_EVAL_DATA_DIR" or NULL */
};
void lle_data_dir_pick(const char *flag_value, struct lle_data_dir *out);

/* Resolve one `data_files` entry to a path (malloc()ed) without opening it:
 *   absolute               as written
 *   ./x, ../x              relative to base_dir (the task file's directory),
 *                          or the current directory when base_dir is NULL
 *   anything else          a dataset path under the data directory
 * `what` names the subject in messages ("task 'gsm8k': split 'test'").
 * When must_exist, a missing file (or a glob matching nothing) is an error
 * that says exactly which path was expected and where the directory came
 * from (code LLE_EXIT_DATA). */
char *lle_data_resolve(const char *spec, const char *base_dir, const struct lle_data_dir *dd,
		       int must_exist, const char *what, struct lle_err *err);
/* The data file a split reads when `data_files` does not name one:
 * "<dataset_path>/<dataset_name>/<split>.jsonl", or
 * "<dataset_path>/<split>.jsonl" when dataset_name is NULL or empty (the
 * harness's dataset id and configuration as directories under the data
 * directory). The one place this default is written: runs
 * (tasks/task.c) and `list datasets` both call it. malloc()ed; NULL when out
 * of memory. */
char *lle_data_split_spec(const char *dataset_path, const char *dataset_name, const char *split);
/* Whether a split comes from the Hugging Face Hub cache (data/hub.h) rather
 * than from files: no data directory is set, dataset_path names a Hub
 * repository (not one of the `datasets` file builders json, csv, parquet,
 * text, arrow, pandas), and the split's data file (NULL: none named) is not
 * an absolute or ./ ../ path. The one rule runs (tasks/task.c) and `list
 * datasets` share. */
int lle_data_from_hub(const char *dataset_path, const char *file, const struct lle_data_dir *dd);
/* Whether a resolved path (or glob) names at least one readable file. */
int lle_data_present(const char *path_or_glob);

#endif
