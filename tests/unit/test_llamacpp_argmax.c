/* Tests of the llama.cpp plugin's greedy pick (plugins/llamacpp/argmax.c,
 * compiled into this test): its plain and AVX2 paths, and lc_argmax which
 * chooses between them, against a plain loop with `>` (the first index of
 * the largest value, NaNs passed over), on random rows of every length
 * around the vector widths, with ties, signed zeros, infinities and NaNs.
 * Not here: generation itself (test_llamacpp.c). */
#include <math.h>
#include <stdlib.h>

#include "check.h"
#include "../../plugins/llamacpp/argmax.c"

/* what gen.c's greedy pick must equal: llama.cpp's own greedy sampler takes
 * the first largest logit the same way (llama_sampler_greedy_apply) */
static int ref_argmax(const float *v, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return best;
}

static unsigned long long rnd_state = 88172645463325252ULL;
static unsigned rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (unsigned)(rnd_state >> 11);
}

/* a row of n values drawn from few distinct ones (so ties are common) or
 * from many, sometimes with signed zeros, infinities and NaNs put in */
static void fill(float *v, int n, int kind, int many)
{
	for (int i = 0; i < n; i++) {
		v[i] = many ? (float)(rnd() % 100000) * 1e-4f - 5.0f : (float)((int)(rnd() % 7) - 5) * 0.25f;
		if (kind == 1 && rnd() % 4 == 0)
			v[i] = rnd() % 2 ? 0.0f : -0.0f;
		if (kind == 2 && rnd() % 9 == 0)
			v[i] = NAN;
		if (kind == 3 && rnd() % 50 == 0)
			v[i] = rnd() % 2 ? INFINITY : -INFINITY;
	}
	if (kind == 1 && n > 0) /* only zeros and negatives: the maximum is a zero */
		for (int i = 0; i < n; i++)
			if (v[i] > 0)
				v[i] = -v[i];
}

TEST(argmax_equals_the_plain_loop)
{
	static float v[200];
	int bad = 0, cases = 0;
	for (int n = 1; n <= 130; n++)
		for (int rep = 0; rep < 40; rep++) {
			int kind = rep % 4;
			fill(v, n, kind, rep % 8 >= 4);
			if (rep == 39 && n > 1)
				v[0] = NAN; /* every later comparison with it is false: index 0 */
			int want = ref_argmax(v, n);
			int p = first_plain(v, n, max_plain(v, n));
			int got = lc_argmax(v, n);
			int a = want;
#ifdef LC_HAVE_AVX2_ARGMAX
			if (__builtin_cpu_supports("avx2"))
				a = first_avx2(v, n, max_avx2(v, n));
#endif
			if (p < 0)
				p = 0;
			if (a < 0)
				a = 0;
			cases++;
			if (got != want || p != want || a != want) {
				if (bad++ < 5)
					printf("#   n %d kind %d: want %d, lc_argmax %d, plain %d, avx2 %d\n", n,
					       kind, want, got, p, a);
			}
		}
	printf("#   %d rows, %d differ\n", cases, bad);
	CHECK(bad == 0);
}

/* A row as large as a vocabulary whose largest value comes twice, last in
 * a vector's final lane and first in the scalar tail: the first wins. */
TEST(argmax_of_a_vocabulary_row)
{
	enum { N = 32003 };
	static float v[N];
	for (int i = 0; i < N; i++)
		v[i] = (float)(rnd() % 1000) * 1e-3f;
	for (int pos = 0; pos < N; pos += 997) {
		v[pos] = 2.0f;
		v[N - 1] = 2.0f;
		CHECK_INTEQ(lc_argmax(v, N), pos);
		v[pos] = 0.5f;
		CHECK_INTEQ(lc_argmax(v, N), N - 1);
		v[N - 1] = 0.5f;
	}
}

int main(void)
{
#ifdef LC_HAVE_AVX2_ARGMAX
	printf("# avx2 path: %s\n", __builtin_cpu_supports("avx2") ? "tested" : "not on this CPU");
#endif
	RUN(argmax_equals_the_plain_loop);
	RUN(argmax_of_a_vocabulary_row);
	return check_done();
}
