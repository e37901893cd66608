/* Python-compatible Mersenne Twister and sampling: see pyrand.h.
 * The generator is the reference MT19937 (Matsumoto and Nishimura); the
 * seeding and sampling steps follow what CPython's random module is
 * documented and observed to do, checked against python3 output in
 * tests/unit/test_tasks_pyrand.c. */
#include "tasks/pyrand.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 624
#define M 397

static void init_genrand(struct lle_pyrand *r, uint32_t s)
{
	r->mt[0] = s;
	for (int i = 1; i < N; i++)
		r->mt[i] = 1812433253u * (r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) + (uint32_t)i;
	r->mti = N;
}

static void init_by_array(struct lle_pyrand *r, const uint32_t *key, size_t len)
{
	init_genrand(r, 19650218u);
	size_t i = 1, j = 0;
	size_t k = N > len ? N : len;
	for (; k; k--) {
		r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1664525u)) + key[j] +
			   (uint32_t)j;
		i++;
		j++;
		if (i >= N) {
			r->mt[0] = r->mt[N - 1];
			i = 1;
		}
		if (j >= len)
			j = 0;
	}
	for (k = N - 1; k; k--) {
		r->mt[i] = (r->mt[i] ^ ((r->mt[i - 1] ^ (r->mt[i - 1] >> 30)) * 1566083941u)) -
			   (uint32_t)i;
		i++;
		if (i >= N) {
			r->mt[0] = r->mt[N - 1];
			i = 1;
		}
	}
	r->mt[0] = 0x80000000u;
	r->mti = N;
}

void lle_pyrand_seed(struct lle_pyrand *r, int64_t seed)
{
	uint64_t n = seed < 0 ? (uint64_t)0 - (uint64_t)seed : (uint64_t)seed;
	uint32_t key[2];
	size_t len = 0;
	/* the seed's 32-bit words, least significant first; zero is one word */
	do {
		key[len++] = (uint32_t)(n & 0xffffffffu);
		n >>= 32;
	} while (n);
	init_by_array(r, key, len);
}

uint32_t lle_pyrand_u32(struct lle_pyrand *r)
{
	static const uint32_t mag01[2] = { 0x0u, 0x9908b0dfu };
	uint32_t y;
	if (r->mti >= N) {
		int kk;
		for (kk = 0; kk < N - M; kk++) {
			y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
			r->mt[kk] = r->mt[kk + M] ^ (y >> 1) ^ mag01[y & 1u];
		}
		for (; kk < N - 1; kk++) {
			y = (r->mt[kk] & 0x80000000u) | (r->mt[kk + 1] & 0x7fffffffu);
			r->mt[kk] = r->mt[kk + (M - N)] ^ (y >> 1) ^ mag01[y & 1u];
		}
		y = (r->mt[N - 1] & 0x80000000u) | (r->mt[0] & 0x7fffffffu);
		r->mt[N - 1] = r->mt[M - 1] ^ (y >> 1) ^ mag01[y & 1u];
		r->mti = 0;
	}
	y = r->mt[r->mti++];
	y ^= (y >> 11);
	y ^= (y << 7) & 0x9d2c5680u;
	y ^= (y << 15) & 0xefc60000u;
	y ^= (y >> 18);
	return y;
}

uint64_t lle_pyrand_getrandbits(struct lle_pyrand *r, int k)
{
	if (k <= 0)
		return 0;
	if (k <= 32)
		return lle_pyrand_u32(r) >> (32 - k);
	/* words from least to most significant; the last one loses its low bits */
	uint64_t lo = lle_pyrand_u32(r);
	uint64_t hi = lle_pyrand_u32(r) >> (64 - k);
	return lo | (hi << 32);
}

static int bit_length(uint64_t n)
{
	int k = 0;
	while (n) {
		k++;
		n >>= 1;
	}
	return k;
}

uint64_t lle_pyrand_randbelow(struct lle_pyrand *r, uint64_t n)
{
	int k = bit_length(n);
	uint64_t v = lle_pyrand_getrandbits(r, k);
	while (v >= n)
		v = lle_pyrand_getrandbits(r, k);
	return v;
}

double lle_pyrand_random(struct lle_pyrand *r)
{
	uint32_t a = lle_pyrand_u32(r) >> 5, b = lle_pyrand_u32(r) >> 6;
	return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0);
}

int lle_pyrand_sample(struct lle_pyrand *r, size_t n, size_t k, size_t *out)
{
	if (k > n)
		return -1;
	/* CPython picks a pool (partial shuffle of a copy) when the population is
	 * small next to the set it would need, else rejection with a set. The
	 * choice changes the draws, so it is reproduced exactly. */
	size_t setsize = 21;
	if (k > 5)
		setsize += (size_t)pow(4.0, ceil(log((double)k * 3) / log(4.0)));
	if (n <= setsize) {
		size_t *pool = malloc((n ? n : 1) * sizeof(*pool));
		if (!pool)
			return -1;
		for (size_t i = 0; i < n; i++)
			pool[i] = i;
		for (size_t i = 0; i < k; i++) {
			size_t j = (size_t)lle_pyrand_randbelow(r, n - i);
			out[i] = pool[j];
			pool[j] = pool[n - i - 1];
		}
		free(pool);
		return 0;
	}
	/* n > setsize >= 21 here; a bitmap stands in for Python's set */
	unsigned char *seen = calloc(n / 8 + 1, 1);
	if (!seen)
		return -1;
	for (size_t i = 0; i < k; i++) {
		size_t j = (size_t)lle_pyrand_randbelow(r, n);
		while (seen[j / 8] & (1u << (j % 8)))
			j = (size_t)lle_pyrand_randbelow(r, n);
		seen[j / 8] |= (unsigned char)(1u << (j % 8));
		out[i] = j;
	}
	free(seen);
	return 0;
}

void lle_pyrand_choices(struct lle_pyrand *r, size_t n, size_t k, size_t *out)
{
	double dn = (double)n;
	for (size_t i = 0; i < k; i++)
		out[i] = (size_t)floor(lle_pyrand_random(r) * dn);
}

void lle_pyrand_shuffle(struct lle_pyrand *r, size_t *x, size_t n)
{
	for (size_t i = n; i-- > 1;) {
		size_t j = (size_t)lle_pyrand_randbelow(r, (uint64_t)i + 1);
		size_t v = x[i];
		x[i] = x[j];
		x[j] = v;
	}
}
