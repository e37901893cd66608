/* Fuzz driver: `llm-eval results import` (src/store/results.c reading a
 * results JSON of llm-eval or lm-evaluation-harness, src/store/runstore.c
 * storing it with the per-document scores of its samples files).
 *
 * Input: the results JSON, then optionally a NUL byte and the text of a
 * samples file (JSON lines). They are written under the scratch directory
 * as results_2024-01-01T00-00-00.json and
 * samples_fuzztask_2024-01-01T00-00-00.jsonl, found as the command finds
 * them, and imported into a run store in the scratch directory (one per
 * process). Errors are normal outcomes; crashes, sanitizer reports and leaks
 * are findings. */
#include "fuzz.h"
#include "store/results.h"
#include "store/runstore.h"

static struct lle_runstore *rs;

static void close_store(void)
{
	lle_runstore_close(rs);
	rs = NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char rpath[4200], spath[4200];
	fuzz_path(rpath, sizeof(rpath), "results_2024-01-01T00-00-00.json");
	fuzz_path(spath, sizeof(spath), "samples_fuzztask_2024-01-01T00-00-00.jsonl");
	const uint8_t *z = size ? memchr(data, 0, size) : NULL;
	size_t nr = z ? (size_t)(z - data) : size;
	fuzz_write(rpath, data, nr);
	if (z)
		fuzz_write(spath, z + 1, size - nr - 1);
	else
		unlink(spath);

	struct lle_err err = { 0 };
	if (!rs) {
		char dbpath[4200];
		rs = lle_runstore_open(fuzz_path(dbpath, sizeof(dbpath), "runs.sqlite"), 0, &err);
		if (!rs) {
			fprintf(stderr, "fuzz: %s\n", err.msg);
			abort();
		}
		atexit(close_store);
	}
	struct lle_run_record rec;
	memset(&rec, 0, sizeof(rec));
	if (lle_results_load(rpath, &rec, &err) == 0) {
		struct lle_sample_file *sf = NULL;
		size_t nsf = 0;
		if (lle_results_sample_files(rpath, &sf, &nsf, &err) == 0) {
			long long id = 0, n_scores = 0;
			int existed = 0;
			lle_runstore_add_with_samples(rs, &rec, sf, nsf, &id, &existed, &n_scores, &err);
		}
		lle_sample_files_free(sf, nsf);
	}
	lle_run_record_free(&rec);
	return 0;
}
