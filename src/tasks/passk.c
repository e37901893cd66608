/* pass@k: see passk.h. */
#include "tasks/passk.h"

#include <math.h>

double lle_pass_at_k(unsigned n, unsigned c, unsigned k)
{
	if (k == 0 || n < k || c > n)
		return NAN;
	if (c == 0)
		return 0.0;
	if (n - c < k)
		return 1.0;
	/* C(n-c, k) / C(n, k) = prod_{i=n-c+1}^{n} (1 - k/i): every factor is in
	 * (0, 1) here (i > n - c >= k), so nothing overflows as a ratio of huge
	 * binomials would. The product is taken in the order and the arithmetic
	 * of the estimator's reference implementation (HumanEval's and
	 * lm-evaluation-harness's numpy code), so scores agree to the last bit:
	 * n = 4, c = 1, k = 1 gives exactly 0.25. (A log-space sum with expm1
	 * keeps more digits for tiny values but differs in the last bits.) */
	double prod = 1.0;
	for (unsigned i = n - c + 1; i <= n; i++)
		prod *= 1.0 - (double)k / (double)i;
	return 1.0 - prod;
}

double lle_pass_at_k_mean(const unsigned *n, const unsigned *c, size_t nprob, unsigned k,
			  double *stderr_out)
{
	if (stderr_out)
		*stderr_out = NAN;
	if (nprob == 0)
		return NAN;
	/* Welford's running mean and variance. */
	double mean = 0, m2 = 0;
	for (size_t i = 0; i < nprob; i++) {
		double v = lle_pass_at_k(n[i], c[i], k);
		if (isnan(v))
			return NAN;
		double d = v - mean;
		mean += d / (double)(i + 1);
		m2 += d * (v - mean);
	}
	if (stderr_out)
		*stderr_out = nprob > 1 ? sqrt(m2 / (double)(nprob - 1) / (double)nprob) : 0.0;
	return mean;
}
