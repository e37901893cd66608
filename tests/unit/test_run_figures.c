/* The results file's figures: the one writer of "METRIC,FILTER" keys
 * (output_set_metric), its rule for numbers that are not finite, and group
 * aggregation (lle_figures_group), the code a run and `llm-eval merge` use.
 *
 * Expected values: lm-evaluation-harness's results layout and its group
 * rules (lm_eval/evaluator_utils.py consolidate_group_results: members
 * lacking a metric are left out; size-weighted mean; pooled stderr), worked
 * out by hand below. */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "run/figures.h"
#include "run/output.h"

TEST(results_keys_and_non_finite_numbers)
{
	json_t *o = json_object();
	CHECK(output_set_metric(o, "exact_match", "strict-match", 0.5, sqrt(1.0 / 3) / 2) == 0);
	CHECK(output_set_metric(o, "exact_match", "flexible-extract", 0.75, 0.25) == 0);
	CHECK_NEAR(json_real_value(json_object_get(o, "exact_match,strict-match")), 0.5, 0);
	CHECK_NEAR(json_real_value(json_object_get(o, "exact_match_stderr,flexible-extract")), 0.25, 0);
	CHECK_INTEQ(json_object_size(o), 4);
	/* no standard error, and a value that is not a number: both "N/A" */
	CHECK(output_set_metric(o, "exact_match", "flexible-extract", NAN, NAN) == 0);
	CHECK_STREQ(json_string_value(json_object_get(o, "exact_match_stderr,flexible-extract")), "N/A");
	CHECK_STREQ(json_string_value(json_object_get(o, "exact_match,flexible-extract")), "N/A");
	CHECK(output_set_metric(o, "perplexity", "none", INFINITY, -INFINITY) == 0);
	CHECK_STREQ(json_string_value(json_object_get(o, "perplexity,none")), "N/A");
	CHECK_STREQ(json_string_value(json_object_get(o, "perplexity_stderr,none")), "N/A");
	/* names longer than any fixed buffer are written whole */
	char longname[600];
	memset(longname, 'm', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(output_set_metric(o, longname, "none", 1.0, 0.0) == 0);
	char key[700];
	snprintf(key, sizeof(key), "%s_stderr,none", longname);
	CHECK(json_object_get(o, key) != NULL);
	json_decref(o);
}

TEST(groups_aggregate_the_members_that_have_the_figure)
{
	/* two subtasks: 0.5 over 4 docs (stderr sqrt(1/3)/2) and 0.25 over 4
	 * (sqrt(0.25/3)/2); by size (0.5*4 + 0.25*4)/8 = 0.375, pooled stderr
	 * sqrt(1.25/48) (see test_tasks group_of_subtasks_weighted_by_size). */
	struct lle_figures f = { 0 };
	CHECK(lle_figures_add(&f, "a", "exact_match", "strict-match", 0.5, sqrt(1.0 / 3) / 2, 4, 1) == 0);
	CHECK(lle_figures_add(&f, "a", "exact_match", "flexible-extract", 0.75, 0.25, 4, 1) == 0);
	CHECK(lle_figures_add(&f, "b", "exact_match", "strict-match", 0.25, sqrt(0.25 / 3) / 2, 4, 1) == 0);
	const char *members[] = { "a", "b" };
	json_t *res = json_object();
	CHECK_INTEQ(lle_figures_group(&f, "g", members, 2, NULL, NULL, "exact_match", "strict-match", 1, res), 1);
	CHECK_NEAR(json_real_value(json_object_get(res, "exact_match,strict-match")), 0.375, 1e-15);
	CHECK_NEAR(json_real_value(json_object_get(res, "exact_match_stderr,strict-match")), sqrt(1.25 / 48), 1e-15);
	const struct lle_figure *g = lle_figures_find(&f, "g", "exact_match", "strict-match");
	CHECK(g != NULL && g->n == 8 && g->hib == 1);
	/* only "a" has flexible-extract: the harness leaves "b" out */
	CHECK_INTEQ(lle_figures_group(&f, "g", members, 2, NULL, NULL, "exact_match", "flexible-extract", 1, res), 1);
	CHECK_NEAR(json_real_value(json_object_get(res, "exact_match,flexible-extract")), 0.75, 0);
	/* no member has it: nothing written */
	CHECK_INTEQ(lle_figures_group(&f, "g", members, 2, NULL, NULL, "acc", "none", 1, res), 0);
	CHECK(json_object_get(res, "acc,none") == NULL);
	/* a member without a standard error: the group has none ("N/A") */
	CHECK(lle_figures_add(&f, "c", "acc", "none", 1.0, NAN, 1, 1) == 0);
	CHECK(lle_figures_add(&f, "d", "acc", "none", 0.0, 0.1, 9, 1) == 0);
	const char *cd[] = { "c", "d" };
	CHECK_INTEQ(lle_figures_group(&f, "h", cd, 2, NULL, NULL, "acc", "none", 1, res), 1);
	CHECK_NEAR(json_real_value(json_object_get(res, "acc,none")), 0.1, 1e-15);
	CHECK_STREQ(json_string_value(json_object_get(res, "acc_stderr,none")), "N/A");
	json_decref(res);
	lle_figures_free(&f);
}

int main(void)
{
	RUN(results_keys_and_non_finite_numbers);
	RUN(groups_aggregate_the_members_that_have_the_figure);
	return check_done();
}
