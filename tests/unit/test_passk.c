/* pass@k against values worked out by hand, the edge cases (n = k, c = 0,
 * c = n, n < k), the stability of the product form at large n, and the mean
 * with its standard error. */
#include <math.h>

#include "check.h"
#include "tasks/passk.h"

TEST(hand_worked_values)
{
	/* 1 - C(n-c,k)/C(n,k) by hand. */
	CHECK_NEAR(lle_pass_at_k(5, 2, 1), 0.4, 1e-15);          /* 2/5 */
	CHECK_NEAR(lle_pass_at_k(5, 2, 2), 0.7, 1e-15);          /* 1 - 3/10 */
	CHECK_NEAR(lle_pass_at_k(10, 3, 5), 11.0 / 12.0, 1e-15); /* 1 - 21/252 */
	CHECK_NEAR(lle_pass_at_k(4, 1, 2), 0.5, 1e-15);          /* 1 - 3/6 */
	CHECK_NEAR(lle_pass_at_k(200, 1, 100), 0.5, 1e-12);      /* 1 - 100/200 */
	CHECK_NEAR(lle_pass_at_k(20, 10, 3), 1.0 - 120.0 / 1140.0, 1e-15);
}

TEST(edge_cases)
{
	/* c = 0: nothing passes, whatever k. */
	CHECK(lle_pass_at_k(10, 0, 1) == 0.0);
	CHECK(lle_pass_at_k(10, 0, 10) == 0.0);
	/* c = n: everything passes. */
	CHECK(lle_pass_at_k(10, 10, 1) == 1.0);
	CHECK(lle_pass_at_k(10, 10, 10) == 1.0);
	/* n = k: 1 as soon as one sample passes, 0 when none does. */
	CHECK(lle_pass_at_k(5, 1, 5) == 1.0);
	CHECK(lle_pass_at_k(5, 0, 5) == 0.0);
	CHECK(lle_pass_at_k(1, 1, 1) == 1.0);
	CHECK(lle_pass_at_k(1, 0, 1) == 0.0);
	/* n - c < k: some passing sample is always drawn. */
	CHECK(lle_pass_at_k(10, 8, 3) == 1.0);
	/* Undefined. */
	CHECK(isnan(lle_pass_at_k(3, 1, 5)));   /* n < k */
	CHECK(isnan(lle_pass_at_k(3, 4, 1)));   /* c > n */
	CHECK(isnan(lle_pass_at_k(3, 1, 0)));   /* k = 0 */
}

TEST(pass_at_1_is_the_pass_rate)
{
	for (unsigned n = 1; n <= 50; n++)
		for (unsigned c = 0; c <= n; c++)
			CHECK_NEAR(lle_pass_at_k(n, c, 1), (double)c / n, 1e-14);
}

TEST(stable_at_large_n)
{
	/* Binomials of n = 100000 overflow a double; the product form does not.
	 * Compare with an independent computation in log space. */
	unsigned n = 100000, c = 37, k = 1000;
	double logratio = lgamma(n - c + 1.0) - lgamma(n - c - k + 1.0) - lgamma(n + 1.0) + lgamma(n - k + 1.0);
	CHECK_NEAR(lle_pass_at_k(n, c, k), 1.0 - exp(logratio), 1e-9);
	/* A tiny probability stays accurate to 1e-9 relative: n = 10^6, c = 1,
	 * k = 1 is 1e-6. (The reference implementation's arithmetic, which we
	 * follow to agree with its scores bit for bit, loses the last digits.) */
	CHECK_NEAR(lle_pass_at_k(1000000, 1, 1), 1e-6, 1e-15);
	/* ... and agrees with it exactly where it is exact: 1 - (1 - 1/4). */
	CHECK(lle_pass_at_k(4, 1, 1) == 0.25);
	CHECK(lle_pass_at_k(10, 3, 1) == 1.0 - (1.0 - 1.0 / 8) * (1.0 - 1.0 / 9) * (1.0 - 1.0 / 10));
	double v = lle_pass_at_k(100000, 50000, 100);
	CHECK(v > 0.999999 && v <= 1.0);
}

TEST(mean_and_standard_error)
{
	unsigned n[] = { 5, 5, 5, 5 }, c[] = { 0, 2, 5, 1 };
	double se;
	/* pass@1 per problem: 0, 0.4, 1, 0.2; mean 0.4; sample variance
	 * (0.16 + 0 + 0.36 + 0.04) / 3 = 0.56/3; se = sqrt(0.56/3/4). */
	CHECK_NEAR(lle_pass_at_k_mean(n, c, 4, 1, &se), 0.4, 1e-15);
	CHECK_NEAR(se, sqrt(0.56 / 12.0), 1e-15);
	/* pass@2: 0, 0.7, 1, 0.4. */
	CHECK_NEAR(lle_pass_at_k_mean(n, c, 4, 2, NULL), 2.1 / 4, 1e-15);
	CHECK_NEAR(lle_pass_at_k_mean(n, c, 1, 1, &se), 0.0, 0);
	CHECK(se == 0.0);
	CHECK(isnan(lle_pass_at_k_mean(n, c, 0, 1, &se)));
	CHECK(isnan(lle_pass_at_k_mean(n, c, 4, 6, &se))); /* n < k */
}

int main(void)
{
	RUN(hand_worked_values);
	RUN(edge_cases);
	RUN(pass_at_1_is_the_pass_rate);
	RUN(stable_at_large_n);
	RUN(mean_and_standard_error);
	return check_done();
}
