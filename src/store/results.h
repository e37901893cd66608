/* A run's results in memory, and the reader of results JSON files.
 *
 * One struct lle_run_record holds what the run store keeps of a run: its
 * identity, date, configuration, versions, timings, hardware and one row per
 * (model, task, metric, filter) with value, standard error and n. The run
 * command fills one directly; `results import` fills one from a results JSON
 * written by llm-eval or by lm-evaluation-harness (0.4 layout: "results" keys
 * like "exact_match,strict-match" and "exact_match_stderr,strict-match",
 * "groups", "group_subtasks", "configs", "versions", "n-shot", "n-samples",
 * "higher_is_better", "config", "date", "total_evaluation_time_seconds").
 *
 * Not here: writing results JSON (the run command does) or storing (runstore.h). */
#ifndef LLE_STORE_RESULTS_H
#define LLE_STORE_RESULTS_H

#include <stddef.h>

#include "util/err.h"

struct lle_result_row {
	char *model;
	char *task;
	char *metric;          /* "exact_match" */
	char *filter;          /* "strict-match"; "none" when the file names none */
	char *category;        /* or NULL */
	char *parent;          /* the group this task belongs to, or NULL */
	char *alias;           /* or NULL */
	int is_group;
	int has_value, has_stderr;   /* has_stderr 0 for "N/A" or a missing stderr */
	double value, stderr_;
	long long n;           /* documents scored, -1 when unknown */
	int higher_is_better;  /* 1, 0, or -1 when unknown */
	int n_shot;            /* -1 when unknown */
};

struct lle_run_record {
	long long id;          /* in the run store; 0 before it is stored */
	char *uid;             /* unique: 16 hex digits of the SHA-256 of the source file, or the run's own id */
	char *date;            /* ISO 8601 UTC, e.g. 2026-11-28T00:00:00Z, or NULL */
	char *source;          /* "llm-eval" or "lm-evaluation-harness" */
	char *model;           /* the model's display name */
	char *model_args;      /* or NULL */
	char *config_json;     /* {"config":..., "configs":..., "n-shot":..., ...} as JSON text, or NULL */
	char *versions_json;   /* JSON text, or NULL */
	char *hardware;        /* JSON or free text, or NULL */
	char *file;            /* where it was imported from, or NULL */
	char *shard;           /* "i/N" for a shard of a run, or NULL */
	double total_seconds;  /* < 0 when unknown */
	struct lle_result_row *rows;
	size_t n_rows, cap_rows;
};

/* Parse a results JSON text. name is the file name used in messages. */
int lle_results_parse(const char *text, size_t len, const char *name, struct lle_run_record *rec,
		      struct lle_err *err);
/* Read and parse a file. */
int lle_results_load(const char *path, struct lle_run_record *rec, struct lle_err *err);
/* Append a row (strings copied; NULLs allowed except model, task, metric, filter). */
int lle_run_record_add(struct lle_run_record *rec, const struct lle_result_row *row, struct lle_err *err);
void lle_run_record_free(struct lle_run_record *rec);

/* The per-sample files written beside a results file: for
 * DIR/results_DATE.json, every DIR/samples_TASK_DATE.jsonl (lm-evaluation-harness
 * and llm-eval name them so). *files gets n entries (free with lle_sample_files_free);
 * none is not an error. */
struct lle_sample_file {
	char *task;
	char *path;
};
int lle_results_sample_files(const char *results_path, struct lle_sample_file **files, size_t *n,
			     struct lle_err *err);
void lle_sample_files_free(struct lle_sample_file *files, size_t n);

#endif
