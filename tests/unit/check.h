/* A minimal unit-test harness printing TAP lines, so tests/run.sh can count
 * every check of every test binary:
 *
 *   TEST(name) { CHECK(x == 1); CHECK_STREQ(s, "a"); CHECK_NEAR(v, 0.5, 1e-9); }
 *   int main(void) { RUN(name); return check_done(); }
 *
 * A TEST is one TAP line: "ok" when all its checks held, "not ok" with the
 * first failed check's file, line and values otherwise. */
#ifndef LLE_TESTS_CHECK_H
#define LLE_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <string.h>

static int check_failed_now;
static int check_npass, check_nfail;

#define TEST(name) static void test_##name(void)

#define CHECK_FAIL_(...)                                                        \
	do {                                                                    \
		if (!check_failed_now) {                                        \
			printf("#   %s:%d: ", __FILE__, __LINE__);              \
			printf(__VA_ARGS__);                                    \
			printf("\n");                                           \
		}                                                               \
		check_failed_now = 1;                                           \
	} while (0)

#define CHECK(cond)                                                             \
	do {                                                                    \
		if (!(cond))                                                    \
			CHECK_FAIL_("check failed: %s", #cond);                 \
	} while (0)

#define CHECK_STREQ(a, b)                                                       \
	do {                                                                    \
		const char *a_ = (a), *b_ = (b);                                \
		if (!a_ || !b_ || strcmp(a_, b_) != 0)                          \
			CHECK_FAIL_("%s == %s: got \"%s\", want \"%s\"", #a, #b, \
				    a_ ? a_ : "(null)", b_ ? b_ : "(null)");    \
	} while (0)

#define CHECK_INTEQ(a, b)                                                       \
	do {                                                                    \
		long long a_ = (long long)(a), b_ = (long long)(b);             \
		if (a_ != b_)                                                   \
			CHECK_FAIL_("%s == %s: got %lld, want %lld", #a, #b, a_, b_); \
	} while (0)

#define CHECK_NEAR(a, b, tol)                                                   \
	do {                                                                    \
		double a_ = (a), b_ = (b);                                      \
		if (!(fabs(a_ - b_) <= (tol)))                                  \
			CHECK_FAIL_("%s ~= %s: got %.12g, want %.12g", #a, #b, a_, b_); \
	} while (0)

#define RUN(name)                                                               \
	do {                                                                    \
		check_failed_now = 0;                                           \
		test_##name();                                                  \
		if (check_failed_now) {                                         \
			check_nfail++;                                          \
			printf("not ok - %s\n", #name);                         \
		} else {                                                        \
			check_npass++;                                          \
			printf("ok - %s\n", #name);                             \
		}                                                               \
		fflush(stdout);                                                 \
	} while (0)

static inline int check_done(void)
{
	return check_nfail ? 1 : 0;
}

#endif
