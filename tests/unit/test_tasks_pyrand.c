/* Unit tests for src/tasks/pyrand.c. Every expected value below was printed
 * by CPython 3.11's random module while writing this test, e.g.
 *   python3 -c 'import random; r=random.Random(1234); print(r.sample(range(7473),5))'
 * and is hard-coded here; python is never run at test time. */
#include "check.h"

#include "tasks/pyrand.h"

TEST(getrandbits_after_int_seeds)
{
	struct lle_pyrand r;
	lle_pyrand_seed(&r, 1234);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 4150886329u);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 3342196574u);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 1892932127u);
	lle_pyrand_seed(&r, 0);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 3626764237u);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 1654615998u);
	/* a seed wider than 32 bits is two key words; 50 bits spans two outputs */
	lle_pyrand_seed(&r, (1LL << 40) + 5);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 2166296868u);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 2220160828u);
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 50), 747368412824233LL);
	lle_pyrand_seed(&r, -7); /* CPython seeds with |n| */
	CHECK_INTEQ(lle_pyrand_getrandbits(&r, 32), 1390851128u);
}

TEST(sample_large_population_uses_set_branch)
{
	struct lle_pyrand r;
	size_t out[20];
	lle_pyrand_seed(&r, 1234);
	static const size_t a[5] = { 6374, 3610, 957, 61, 742 };
	static const size_t b[5] = { 7462, 6610, 4769, 286, 5501 };
	CHECK(lle_pyrand_sample(&r, 7473, 5, out) == 0);
	for (int i = 0; i < 5; i++)
		CHECK_INTEQ(out[i], a[i]);
	/* the state carries on from one call to the next, as in the harness */
	CHECK(lle_pyrand_sample(&r, 7473, 5, out) == 0);
	for (int i = 0; i < 5; i++)
		CHECK_INTEQ(out[i], b[i]);
	lle_pyrand_seed(&r, 1234);
	static const size_t c[6] = { 902, 239, 15, 185, 1192, 71 };
	CHECK(lle_pyrand_sample(&r, 1319, 6, out) == 0);
	for (int i = 0; i < 6; i++)
		CHECK_INTEQ(out[i], c[i]);
}

TEST(sample_small_population_uses_pool_branch)
{
	struct lle_pyrand r;
	size_t out[20];
	lle_pyrand_seed(&r, 1234);
	static const size_t a[5] = { 7, 1, 0, 9, 4 };
	static const size_t b[6] = { 1, 21, 22, 2, 3, 24 };
	static const size_t c[20] = { 45, 30, 2, 3, 44, 82, 79, 61, 78, 59,
				      19, 11, 23, 91, 14, 1, 64, 62, 31, 8 };
	CHECK(lle_pyrand_sample(&r, 10, 5, out) == 0);
	for (int i = 0; i < 5; i++)
		CHECK_INTEQ(out[i], a[i]);
	CHECK(lle_pyrand_sample(&r, 30, 6, out) == 0); /* k > 5: setsize 85 */
	for (int i = 0; i < 6; i++)
		CHECK_INTEQ(out[i], b[i]);
	CHECK(lle_pyrand_sample(&r, 100, 20, out) == 0);
	for (int i = 0; i < 20; i++)
		CHECK_INTEQ(out[i], c[i]);
	CHECK(lle_pyrand_sample(&r, 3, 4, out) == -1);
}

TEST(random_and_choices)
{
	struct lle_pyrand r;
	size_t out[5];
	lle_pyrand_seed(&r, 1234);
	CHECK_NEAR(lle_pyrand_random(&r), 0.9664535356921388, 0);
	lle_pyrand_choices(&r, 10, 5, out);
	static const size_t a[5] = { 4, 0, 9, 9, 5 };
	for (int i = 0; i < 5; i++)
		CHECK_INTEQ(out[i], a[i]);
}

/* random.seed(0) then random.shuffle of three 4-lists and a 10-list (the
 * global generator gpqa's process_docs draws from), and Random(1234)
 * shuffling 52 items (rejections in _randbelow for non-powers of two) */
TEST(shuffle)
{
	struct lle_pyrand r;
	size_t x[52];
	static const size_t want4[3][4] = { { 2, 0, 1, 3 }, { 0, 1, 3, 2 }, { 0, 2, 1, 3 } };
	static const size_t want10[10] = { 9, 4, 8, 6, 0, 1, 7, 2, 3, 5 };
	static const size_t want52[52] = { 33, 50, 18, 34, 44, 20, 12, 31, 32, 24, 4, 10, 35, 25, 13, 8, 46, 26,
					   19, 23, 14, 17, 21, 45, 51, 40, 16, 48, 27, 3, 36, 11, 43, 9, 29, 30,
					   41, 38, 39, 1, 15, 22, 6, 47, 42, 2, 37, 5, 0, 7, 28, 49 };
	lle_pyrand_seed(&r, 0);
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < 4; i++)
			x[i] = i;
		lle_pyrand_shuffle(&r, x, 4);
		for (size_t i = 0; i < 4; i++)
			CHECK_INTEQ(x[i], want4[k][i]);
	}
	for (size_t i = 0; i < 10; i++)
		x[i] = i;
	lle_pyrand_shuffle(&r, x, 10);
	for (size_t i = 0; i < 10; i++)
		CHECK_INTEQ(x[i], want10[i]);
	lle_pyrand_seed(&r, 1234);
	for (size_t i = 0; i < 52; i++)
		x[i] = i;
	lle_pyrand_shuffle(&r, x, 52);
	for (size_t i = 0; i < 52; i++)
		CHECK_INTEQ(x[i], want52[i]);
	lle_pyrand_shuffle(&r, x, 0); /* nothing to do, nothing drawn */
	lle_pyrand_shuffle(&r, x, 1);
}

int main(void)
{
	RUN(getrandbits_after_int_seeds);
	RUN(sample_large_population_uses_set_branch);
	RUN(sample_small_population_uses_pool_branch);
	RUN(random_and_choices);
	RUN(shuffle);
	return check_done();
}
