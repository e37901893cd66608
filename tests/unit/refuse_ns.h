/* A kernel without some namespaces, as container runtimes make one, for the
 * sandbox tests (test_sandbox.c, test_sandbox_proc.c): a seccomp filter on
 * this process that refuses clone and unshare with any of the given
 * CLONE_NEW* flags (EPERM) and clone3 altogether (ENOSYS, so libc falls back
 * to clone, whose flags the filter can read). 0, or -1 where seccomp failed.
 * Not a sandbox itself: the filter is inherited by what the test starts. */
#ifndef LLE_TEST_REFUSE_NS_H
#define LLE_TEST_REFUSE_NS_H

#include <errno.h>
#include <seccomp.h>

static inline int refuse_namespaces(unsigned long flags)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -1;
	int rc = 0;
	for (unsigned long bit = 1; bit; bit <<= 1) {
		if (!(flags & bit))
			continue;
		struct scmp_arg_cmp cmp = { .arg = 0, .op = SCMP_CMP_MASKED_EQ, .datum_a = bit, .datum_b = bit };
		rc |= seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1, &cmp);
		rc |= seccomp_rule_add_array(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(unshare), 1, &cmp);
	}
	rc |= seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	rc |= seccomp_load(ctx);
	seccomp_release(ctx);
	return rc ? -1 : 0;
}

#endif
