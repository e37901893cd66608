/* The unbiased pass@k estimator of code benchmarks (Chen et al. 2021): with n
 * samples of a problem of which c pass,
 *
 *     pass@k = 1 - C(n-c, k) / C(n, k)
 *
 * the probability that at least one of k samples drawn without replacement
 * passes. Computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i), which never forms a
 * binomial coefficient (summed as logs, 1 - prod taken with expm1), so it
 * keeps its precision for any n and for tiny values.
 *
 * What it does not do: run code (code_exec.h) or choose k (the task's config). */
#ifndef LLE_TASKS_PASSK_H
#define LLE_TASKS_PASSK_H

#include <stddef.h>

/* pass@k of one problem. 1 when fewer than k samples fail (n - c < k); 0 when
 * c == 0. NAN when it is undefined: k == 0, n < k, or c > n. */
double lle_pass_at_k(unsigned n, unsigned c, unsigned k);

/* Mean pass@k over nprob problems (n[i] samples, c[i] passing) and, in
 * *stderr_out (may be NULL), the standard error of that mean (sample standard
 * deviation / sqrt(nprob); 0 for one problem). NAN when nprob is 0 or any
 * problem's pass@k is undefined. */
double lle_pass_at_k_mean(const unsigned *n, const unsigned *c, size_t nprob, unsigned k,
			  double *stderr_out);

#endif
