/* The greedy pick of generation (gen.c): the first index of the largest of
 * n floats, exactly as a plain loop with `>` finds it, on eight or (AVX2,
 * chosen at run time) 32 lanes. Not here: sampling with a temperature
 * (llama.cpp's sampler chain, gen.c). tests/unit/test_llamacpp_argmax.c
 * compiles this file in and compares both paths with the plain loop. */
#include "eval.h"

/* The first index of the largest logit, as a plain loop with `>` finds it:
 * the largest value (NaN logits are passed over, as `>` passes them; a NaN
 * first logit makes every comparison false), then the first index holding
 * it. Both passes run on eight lanes: the loop-carried compare of a plain
 * loop took an eighth of a greedy GSM8K run on the tiny model (perf), and
 * the SSE version of these two passes still 2.4%. With AVX2 (chosen at run
 * time) each pass is four times as wide: _mm256_max_ps(v, m) is exactly
 * `v > m ? v : m` per lane, and a maximum does not depend on the order it
 * is taken in (+0 and -0 compare equal, so either finds the same first
 * index). */
static float max_plain(const float *v, int n)
{
	float mx[8];
	int i = 0;
	for (int k = 0; k < 8; k++)
		mx[k] = v[0];
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			mx[k] = v[i + k] > mx[k] ? v[i + k] : mx[k];
	float best = mx[0];
	for (int k = 1; k < 8; k++)
		best = mx[k] > best ? mx[k] : best;
	for (; i < n; i++)
		best = v[i] > best ? v[i] : best;
	return best;
}

static int first_plain(const float *v, int n, float x)
{
	for (int i = 0; i < n; i++)
		if (v[i] == x)
			return i;
	return -1;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define LC_HAVE_AVX2_ARGMAX 1

__attribute__((target("avx2"))) static float max_avx2(const float *v, int n)
{
	__m256 a0 = _mm256_set1_ps(v[0]), a1 = a0, a2 = a0, a3 = a0;
	int i = 0;
	for (; i + 32 <= n; i += 32) {
		a0 = _mm256_max_ps(_mm256_loadu_ps(v + i), a0);
		a1 = _mm256_max_ps(_mm256_loadu_ps(v + i + 8), a1);
		a2 = _mm256_max_ps(_mm256_loadu_ps(v + i + 16), a2);
		a3 = _mm256_max_ps(_mm256_loadu_ps(v + i + 24), a3);
	}
	a0 = _mm256_max_ps(_mm256_max_ps(a2, a0), _mm256_max_ps(a3, a1));
	float mx[8];
	_mm256_storeu_ps(mx, a0);
	float best = mx[0];
	for (int k = 1; k < 8; k++)
		best = mx[k] > best ? mx[k] : best;
	for (; i < n; i++)
		best = v[i] > best ? v[i] : best;
	return best;
}

__attribute__((target("avx2"))) static int first_avx2(const float *v, int n, float x)
{
	__m256 b = _mm256_set1_ps(x);
	int i = 0;
	for (; i + 8 <= n; i += 8) {
		int mk = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(v + i), b, _CMP_EQ_OQ));
		if (mk)
			return i + __builtin_ctz((unsigned)mk);
	}
	for (; i < n; i++)
		if (v[i] == x)
			return i;
	return -1;
}
#endif

int lc_argmax(const float *v, int n)
{
	int i;
#ifdef LC_HAVE_AVX2_ARGMAX
	__builtin_cpu_init(); /* cheap once done; needed before constructors only */
	if (__builtin_cpu_supports("avx2"))
		i = first_avx2(v, n, max_avx2(v, n));
	else
#endif
		i = first_plain(v, n, max_plain(v, n));
	return i < 0 ? 0 : i; /* only NaN logits */
}
