/* The main() that replaces libFuzzer for `make test`: runs one driver's
 * LLVMFuzzerTestOneInput over every file of its regression directory
 * (FUZZ_REGRESSIONS, compiled in; or the files and directories given as
 * arguments), one TAP line per file. A crash, a sanitizer report (SAN=1) or
 * a leak at exit fails the test through the exit status, which tests/run.sh
 * counts; the TAP line printed before each input names the file that did it.
 *
 * Not here: mutation or coverage (that is libFuzzer, `make fuzz`). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int n_run;

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		printf("not ok %d - %s: cannot open\n", ++n_run, path);
		return -1;
	}
	size_t cap = 4096, n = 0;
	unsigned char *buf = malloc(cap);
	size_t k;
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0) {
		n += k;
		if (n == cap) {
			unsigned char *p = realloc(buf, cap * 2);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
			cap *= 2;
		}
	}
	int bad = ferror(f) || !buf;
	fclose(f);
	if (bad) {
		free(buf);
		printf("not ok %d - %s: cannot read\n", ++n_run, path);
		return -1;
	}
	/* Say which input runs before running it: a crash ends the output here. */
	printf("running %s\n", path);
	fflush(stdout);
	/* An exact-size copy, so ASan sees a read past the input's end. */
	unsigned char *in = malloc(n ? n : 1);
	if (!in)
		abort();
	memcpy(in, buf, n);
	free(buf);
	LLVMFuzzerTestOneInput(in, n);
	free(in);
	printf("ok %d - %s\n", ++n_run, path);
	return 0;
}

static int run_path(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		printf("not ok %d - %s: no such file or directory\n", ++n_run, path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	DIR *d = opendir(path);
	if (!d) {
		printf("not ok %d - %s: cannot open directory\n", ++n_run, path);
		return -1;
	}
	char **names = NULL;
	size_t nn = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.')
			continue;
		if (nn == cap) {
			cap = cap ? 2 * cap : 16;
			char **p = realloc(names, cap * sizeof(*p));
			if (!p)
				abort();
			names = p;
		}
		size_t l = strlen(path) + strlen(e->d_name) + 2;
		if (!(names[nn] = malloc(l)))
			abort();
		snprintf(names[nn++], l, "%s/%s", path, e->d_name);
	}
	closedir(d);
	qsort(names, nn, sizeof(*names), cmp_str);
	int rc = 0;
	for (size_t i = 0; i < nn; i++) {
		if (run_file(names[i]) < 0)
			rc = -1;
		free(names[i]);
	}
	free(names);
	if (nn == 0) {
		printf("not ok %d - %s: no inputs\n", ++n_run, path);
		rc = -1;
	}
	return rc;
}

int main(int argc, char **argv)
{
	int rc = 0;
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			if (run_path(argv[i]) < 0)
				rc = 1;
	} else {
#ifdef FUZZ_REGRESSIONS
		rc = run_path(FUZZ_REGRESSIONS) < 0;
#else
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		rc = 2;
#endif
	}
	printf("1..%d\n", n_run);
	return rc;
}
