/* The Hugging Face Hub as a source of dataset files: a split of a Hub
 * dataset (repository, configuration, split, revision) resolved to files
 * in the Hub cache, fetching what is missing, the way `datasets` and
 * huggingface_hub do, so that a Python user's cache serves llm-eval and
 * llm-eval's downloads serve Python:
 *
 *   cache      $HF_HUB_CACHE, else $HF_HOME/hub, else
 *              $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
 *   layout     datasets--ORG--NAME/blobs/ETAG (the LFS sha256 or the git blob id),
 *              snapshots/COMMIT/PATH -> ../../blobs/ETAG (relative symlink),
 *              refs/REVISION (the commit), .locks/datasets--ORG--NAME/ETAG.lock
 *   endpoint   $HF_ENDPOINT (mirrors), else https://huggingface.co
 *   token      $HF_TOKEN, else the file $HF_TOKEN_PATH or $HF_HOME/token
 *   offline    HF_HUB_OFFLINE=1 (or lle_hub_configure): the cache only
 *
 * Which files a split reads, as `datasets` decides: the README's `configs:`
 * front matter (config_name, data_files by split, data_dir, default), else
 * its usual file patterns (data/SPLIT-NNNNN-of-NNNNN.*, then split keywords
 * in directory names, then in file names), else the Hub's automatic
 * Parquet conversion (revision refs/convert/parquet, CONFIG/SPLIT/NNNN.parquet),
 * which also serves repositories that have only a loading script. Only the
 * formats the dataset readers take count (Parquet, JSON lines, JSON, CSV).
 *
 * Downloads resume (HTTP Range) from blobs/ETAG.incomplete, are checked
 * against the size and LFS sha256 the Hub gives, become the blob by rename,
 * and are locked (flock on the lock file, as huggingface_hub's filelock) so
 * that two processes fetching one file fetch it once. A blob named by a
 * sha256 is checked on every use; a damaged one is fetched again (offline:
 * an error). The HTTP is hub_http.c (libcurl, dlopened). This file does not
 * know tasks: tasks/task.c asks it for a split's files. */
#ifndef LLE_DATA_HUB_H
#define LLE_DATA_HUB_H

#include <stddef.h>

#include "data/hub_http.h"
#include "util/err.h"

struct lle_hub_cfg {
	int offline;                 /* as HF_HUB_OFFLINE=1 */
	lle_hub_progress_fn progress; /* NULL: a verbose note per file fetched */
	void *progress_ctx;
};
/* Process-wide settings (commands call it before anything is resolved). */
void lle_hub_configure(const struct lle_hub_cfg *cfg);

/* ---- the cache without the network (hub_cache.c, in the executable) ---- */

/* The cache directory as described above; malloc()ed, NULL when neither a
 * variable nor HOME says where. */
char *lle_hub_cache_dir(void);
/* $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface;
 * malloc()ed, NULL when none says where. */
char *lle_hub_home(void);
/* CACHE/datasets--ORG--NAME; malloc()ed, NULL when out of memory. */
char *lle_hub_repo_dir(const char *cache, const char *repo);
/* A small text file, whitespace trimmed at the end; NULL if absent or over max. */
char *lle_hub_read_small(const char *path, size_t max);
/* The commit revision rev stands for in the cache: refs/REV, or rev itself
 * when it is a commit with a snapshot. 0, or -1 when the cache lacks it. */
int lle_hub_read_ref(const char *repo_dir, const char *rev, char commit[41]);
/* Which of files[] (sorted paths of refs/convert/parquet) a split reads:
 * CONFIG/SPLIT/NNNN.parquet and the older layouts. As lle_hub_pick. */
long lle_hub_pick_converted(const char *repo, char *const *files, size_t nfiles, const char *config,
			    const char *split, size_t *idx, struct lle_err *err);
/* The files of a split the cache has at revision rev (NULL: main), by the
 * rules above over the snapshot's files (and the Parquet conversion's):
 * 1 and *out filled, 0 not cached, -1 (err set: a configuration or split
 * the snapshot's README does not have, or out of memory). Opens no data
 * file, checks no blob (hub.c does, before reading). */
struct lle_hub_cached {
	char commit[41];
	char **files;       /* repository paths under snapshots/COMMIT/, in reading order */
	size_t nfiles;
	int converted;      /* from refs/convert/parquet */
};
int lle_hub_cached(const char *repo_dir, const char *repo, const char *rev, const char *config, const char *split,
		   struct lle_hub_cached *out, struct lle_err *err);
void lle_hub_cached_free(struct lle_hub_cached *c);

/* ---- the client (hub.c, in the engine) ---- */
/* Whether HF_HUB_OFFLINE (or lle_hub_configure) says offline. */
int lle_hub_offline(void);

struct lle_hub_split {
	char *files;        /* local paths in reading order, '\n'-separated */
	size_t nfiles;
	char commit[41];    /* the commit the files are from */
	char *repo_dir;     /* the cache's datasets--ORG--NAME */
	int converted;      /* from refs/convert/parquet */
};
/* Resolve a split (config and revision may be NULL: the default
 * configuration, "main"), fetching unless offline. Errors (LLE_EXIT_DATA)
 * say what to do: a gated or private dataset (401/403), a configuration or
 * split that does not exist (listing the real ones), no network (naming
 * the cache path looked in). */
int lle_hub_split(const char *repo, const char *config, const char *split, const char *revision,
		  struct lle_hub_split *out, struct lle_err *err);
void lle_hub_split_free(struct lle_hub_split *s);
/* The commit of a path lle_hub_split returned (".../datasets--ORG--NAME/
 * snapshots/COMMIT/..."): 1 and commit set, else 0. */
int lle_hub_path_commit(const char *path, char commit[41]);

/* `datasets`' patterns: '*' and '?' stop at '/', '**' crosses it, "**\/"
 * also matches no directory, [...] classes. For tests. */
int lle_hub_match(const char *pattern, const char *path);
/* Which of files[] (repository paths, sorted) a split reads, by the README
 * text (may be NULL) and the rules above, in `datasets`' order; *convert set
 * when only the Parquet conversion can say. Returns the number chosen (their
 * indexes in idx, caller-sized nfiles), -1 on error (no such configuration
 * or split, listing the real ones). For tests and hub.c. */
long lle_hub_pick(const char *repo, char *const *files, size_t nfiles, const char *readme,
		  const char *config, const char *split, size_t *idx, int *convert, struct lle_err *err);

#endif
