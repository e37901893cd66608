/* Python's `random` module, bit for bit, for the parts lm-evaluation-harness
 * uses: Random(int) seeding (MT19937 init_by_array over the seed's 32-bit
 * words), getrandbits, _randbelow, random(), sample() and choices() without
 * weights, and shuffle(). Same seed, same draws as CPython 3.x, so few-shot
 * examples, bootstrap resamples and gpqa's shuffled choices match the
 * Python harness exactly.
 *
 * Not here: seeding from strings/bytes/None, gauss and the rest. */
#ifndef LLE_TASKS_PYRAND_H
#define LLE_TASKS_PYRAND_H

#include <stddef.h>
#include <stdint.h>

struct lle_pyrand {
	uint32_t mt[624];
	int mti;
};

/* random.Random(seed) for an integer seed (negative seeds use |seed|, as
 * CPython does). */
void lle_pyrand_seed(struct lle_pyrand *r, int64_t seed);
uint32_t lle_pyrand_u32(struct lle_pyrand *r);
/* getrandbits(k), 1 <= k <= 64. */
uint64_t lle_pyrand_getrandbits(struct lle_pyrand *r, int k);
/* _randbelow(n) for n >= 1: uniform in [0, n) by rejection on bit_length(n) bits. */
uint64_t lle_pyrand_randbelow(struct lle_pyrand *r, uint64_t n);
/* random(): 53-bit float in [0, 1). */
double lle_pyrand_random(struct lle_pyrand *r);
/* random.sample(range(n), k) into out[0..k): the indices Python would pick,
 * in its order. 0 on success, -1 when k > n or out of memory. */
int lle_pyrand_sample(struct lle_pyrand *r, size_t n, size_t k, size_t *out);
/* random.shuffle(x) applied to x[0..n): CPython 3.11's loop, for i from n-1
 * down to 1 swapping x[i] with x[_randbelow(i + 1)]. */
void lle_pyrand_shuffle(struct lle_pyrand *r, size_t *x, size_t n);
/* random.choices(range(n), k=k) into out[0..k). n >= 1. */
void lle_pyrand_choices(struct lle_pyrand *r, size_t n, size_t k, size_t *out);

#endif
