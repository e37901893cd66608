/* What every fuzz driver in tests/fuzz/ shares: the libFuzzer entry point's
 * prototype and small helpers for drivers whose parser reads a file (a
 * scratch directory under $TMPDIR, made once per process and removed at exit,
 * and a whole-buffer write). Each driver is one fuzz_NAME.c defining
 * LLVMFuzzerTestOneInput; it is linked either with libFuzzer (make fuzz) or
 * with replay.c (build/tests/test_fuzz_NAME, run by make test over
 * tests/fuzz/regressions/NAME/).
 *
 * Not here: the drivers' knowledge of any format. Drivers never touch $HOME:
 * everything they write is under the scratch directory. */
#ifndef LLE_TESTS_FUZZ_H
#define LLE_TESTS_FUZZ_H

#include <errno.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char fuzz_dir_[4096];

static int fuzz_rm_one_(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

static void fuzz_rm_dir_(void)
{
	if (fuzz_dir_[0] && nftw(fuzz_dir_, fuzz_rm_one_, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir_);
}

/* The process's scratch directory; aborts when it cannot be made (a harness
 * problem, not a finding). */
static inline const char *fuzz_dir(void)
{
	if (fuzz_dir_[0])
		return fuzz_dir_;
	const char *t = getenv("TMPDIR");
	snprintf(fuzz_dir_, sizeof(fuzz_dir_), "%s/lle-fuzz.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(fuzz_dir_)) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(fuzz_rm_dir_);
	return fuzz_dir_;
}

/* fuzz_dir()/name, in a static buffer of the caller's. */
static inline const char *fuzz_path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", fuzz_dir(), name);
	return out;
}

/* Write data to path (truncating); aborts on a write error. */
static inline void fuzz_write(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

/* A NUL-terminated copy of data[0, n); aborts when out of memory. */
static inline char *fuzz_strndup(const uint8_t *data, size_t n)
{
	char *s = malloc(n + 1);
	if (!s)
		abort();
	if (n)
		memcpy(s, data, n);
	s[n] = '\0';
	return s;
}

/* Split data at the first NUL byte: *head gets a copy of what is before it,
 * the rest (possibly empty) is returned in *rest / *nrest. */
static inline void fuzz_split(const uint8_t *data, size_t size, char **head, const uint8_t **rest, size_t *nrest)
{
	const uint8_t *z = size ? memchr(data, 0, size) : NULL;
	size_t n = z ? (size_t)(z - data) : size;
	*head = fuzz_strndup(data, n);
	*rest = z ? z + 1 : data + size;
	*nrest = z ? size - n - 1 : 0;
}

#endif
