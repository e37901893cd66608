/* Unit tests for src/tasks/task.c: configs, prompts exactly as
 * lm-evaluation-harness builds them, scoring and aggregation.
 *
 * The expected GSM8K and MMLU prompts below were written out from the
 * harness's documented format (description, then examples "text" +
 * target_delimiter + "target" joined by fewshot_delimiter, then
 * fewshot_delimiter + the document's text) for the real data in
 * ../shared/datasets: for GSM8K the examples are the train documents that
 * Python's random.Random(1234).sample(train, 5) picks (indices 6374, 3610,
 * 957, 61, 742 for test document 0, then 7462, 6610, 4769, 286, 5501 for
 * document 1, since the sampler's state carries on); for MMLU the first five
 * dev questions (sampler first_n). Tests that need ../shared skip without it. */
#include "check.h"

#include <math.h>
#include <stdlib.h>
#include <unistd.h>

#include "data/dataset.h"
#include "data/yaml.h"
#include "tasks/genargs.h"
#include "tasks/task.h"
#include "tasks/task_int.h"
#include "util/buf.h"

#define FIX "tests/fixtures/tasks/"
#define SHARED_DATA "../shared/datasets"

static const char *k_gsm8k_doc0 =
	"Question: Jen and Tyler are gymnasts practicing flips. Jen is practicing the triple-flip while Tyler is practicing the double-flip. Jen did sixteen triple-flips during practice. Tyler flipped in the air half the number of times Jen did. How many double-flips did Tyler do?\n"
	"Answer: Jen did 16 triple-flips, so she did 16 * 3 = <<16*3=48>>48 flips.\n"
	"Tyler did half the number of flips, so he did 48 / 2 = <<48/2=24>>24 flips.\n"
	"A double flip has two flips, so Tyler did 24 / 2 = <<24/2=12>>12 double-flips.\n"
	"#### 12\n"
	"\n"
	"Question: Four people in a law firm are planning a party. Mary will buy a platter of pasta for $20 and a loaf of bread for $2. Elle and Andrea will split the cost for buying 4 cans of soda which cost $1.50 each, and chicken wings for $10. Joe will buy a cake that costs $5. How much more will Mary spend than the rest of the firm put together?\n"
	"Answer: Mary will spend $20 + $2 = $<<20+2=22>>22.\n"
	"Elle and Andrea will spend $1.5 x 4 = $<<1.5*4=6>>6 for the soda.\n"
	"Elle and Andrea will spend $6 + $10 = $<<6+10=16>>16 for the soda and chicken wings.\n"
	"Elle, Andrea, and Joe together will spend $16 + $5 = $<<16+5=21>>21.\n"
	"So, Mary will spend $22 - $21 = $<<22-21=1>>1 more than all of them combined.\n"
	"#### 1\n"
	"\n"
	"Question: A charcoal grill burns fifteen coals to ash every twenty minutes of grilling. The grill ran for long enough to burn three bags of coals. Each bag of coal contains 60 coals. How long did the grill run?\n"
	"Answer: The grill burned 3 * 60 = <<3*60=180>>180 coals.\n"
	"It takes 20 minutes to burn 15 coals, so the grill ran for 180 / 15 * 20 = <<180/15*20=240>>240 minutes.\n"
	"#### 240\n"
	"\n"
	"Question: A bear is preparing to hibernate for the winter and needs to gain 1000 pounds. At the end of summer, the bear feasts on berries and small woodland animals. During autumn, it devours acorns and salmon. It gained a fifth of the weight it needed from berries during summer, and during autumn, it gained twice that amount from acorns. Salmon made up half of the remaining weight it had needed to gain. How many pounds did it gain eating small animals?\n"
	"Answer: The bear gained 1 / 5 * 1000 = <<1/5*1000=200>>200 pounds from berries.\n"
	"It gained 2 * 200 = <<2*200=400>>400 pounds from acorns.\n"
	"It still needed 1000 - 200 - 400 = <<1000-200-400=400>>400 pounds.\n"
	"Thus, it gained 400 / 2 = <<400/2=200>>200 pounds from salmon.\n"
	"Therefore, the bear gained 400 - 200 = <<400-200=200>>200 pounds from small animals.\n"
	"#### 200\n"
	"\n"
	"Question: Brendan can cut 8 yards of grass per day, he bought a lawnmower and it helped him to cut more yards by Fifty percent per day. How many yards will Brendan be able to cut after a week?\n"
	"Answer: The additional yard Brendan can cut after buying the lawnmower is 8 x 0.50 = <<8*0.50=4>>4 yards.\n"
	"So, the total yards he can cut with the lawnmower is 8 + 4 = <<8+4=12>>12.\n"
	"Therefore, the total number of yards he can cut in a week is 12 x 7 = <<12*7=84>>84 yards.\n"
	"#### 84\n"
	"\n"
	"Question: Janet\xe2""\x80""\x99""s ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins for her friends every day with four. She sells the remainder at the farmers' market daily for $2 per fresh duck egg. How much in dollars does she make every day at the farmers' market?\n"
	"Answer:";

static const char *k_gsm8k_doc1 =
	"Question: Steve finds 100 gold bars while visiting Oregon. He wants to distribute his gold bars evenly to his 4 friends. If 20 gold bars were lost on the way back to San Diego, how many gold bars will each of his 4 friends get when he returns?\n"
	"Answer: He only has 100 - 20 = <<100-20=80>>80 gold bars after losing 20 of them.\n"
	"He then gives each of his friends 80 \xc3""\xb7"" 4 = <<80/4=20>>20 gold bars.\n"
	"#### 20\n"
	"\n"
	"Question: In a week, Mortdecai collects 8 dozen  eggs every Tuesday and Thursday, and he delivers 3 dozen  eggs to the market and 5 dozen eggs to the mall. He then uses 4 dozen eggs to make a pie every Saturday. Mortdecai donates the remaining eggs to the charity by Sunday. How many  eggs does he donate to the charity?\n"
	"Answer: Mortdecai collects a total of 8x2 = <<8*2=16>>16 dozens of eggs.\n"
	"He sells a total of 3 + 5 = <<3+5=8>>8 dozens of eggs.\n"
	"So, 16 - 8 = <<16-8=8>>8 dozens of eggs are left.\n"
	"After using 4 dozens of eggs to make a pie, 8 - 4 = <<8-4=4>>4 dozens of eggs are left.\n"
	"Since there are 12 in 1 dozen, then Mortdecai donates 4 x 12 = <<4*12=48>>48 pieces of eggs to the charity.\n"
	"#### 48\n"
	"\n"
	"Question: Corey downloaded two movie series from his Netflix account with 12 and 14 seasons per series, respectively. However, in the week, his computer got a mechanical failure, and he lost two episodes from each season for both series. If each season in the movie series that Corey downloaded had 16 episodes, how many episodes remained after the computer's mechanical failure?\n"
	"Answer: In the first movie series with 12 seasons, after the mechanical failure, the number of episodes that Corey lost is 2*12 = <<2*12=24>>24\n"
	"Originally, the movie series with 12 seasons had 12*16 = <<12*16=192>>192 episodes.\n"
	"After the mechanical failure, Corey had 192-24 = <<192-24=168>>168 episodes remaining in the first movie series.\n"
	"Similarly, the 14 season movie series also had 14*2 = <<14*2=28>>28 lost after the computer's mechanical failure.\n"
	"Originally, the movie series with 14 seasons has 14*16 = <<14*16=224>>224 episodes.\n"
	"The mechanical failure of the computer reduced the number of episodes in the 14 season movie series to 224-28 = <<224-28=196>>196\n"
	"After the loss, Corey had 196+168 = <<196+168=364>>364 episodes remaining from the two movie series he had downloaded.\n"
	"#### 364\n"
	"\n"
	"Question: There were 18 students assigned in a minibus for a field trip. Eight of these students were boys. On the day of the field trip, the number of girls and boys was the same since some of the girls were not able to join the trip. How many girls were not able to join the field trip?\n"
	"Answer: 8 boys + 8 girls = <<8+8=16>>16 students joined the field trip.\n"
	"Thus, 18 - 16 = <<18-16=2>>2 girls were not able to join the field trip.\n"
	"#### 2\n"
	"\n"
	"Question: There are 200 more red apples than green apples in a grocery store. A truck arrives and delivers another 340 green apples. If there were originally 32 green apples, how many more green apples than red apples are there in the store now?\n"
	"Answer: There are 200 + 32 = <<200+32=232>>232 red apples.\n"
	"After the delivery there are 340 + 32 = <<340+32=372>>372 green apples\n"
	"There are now 372 - 232 = <<372-232=140>>140 more green apples than red apples now.\n"
	"#### 140\n"
	"\n"
	"Question: A robe takes 2 bolts of blue fiber and half that much white fiber.  How many bolts in total does it take?\n"
	"Answer:";

static const char *k_mmlu_doc0 =
	"The following are multiple choice questions (with answers) about abstract algebra.\n"
	"\n"
	"Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\n"
	"A. 0\n"
	"B. 1\n"
	"C. 2\n"
	"D. 3\n"
	"Answer: B\n"
	"\n"
	"Statement 1 | If aH is an element of a factor group, then |aH| divides |a|. Statement 2 | If H and K are subgroups of G then HK is a subgroup of G.\n"
	"A. True, True\n"
	"B. False, False\n"
	"C. True, False\n"
	"D. False, True\n"
	"Answer: B\n"
	"\n"
	"Statement 1 | Every element of a group generates a cyclic subgroup of the group. Statement 2 | The symmetric group S_10 has 10 elements.\n"
	"A. True, True\n"
	"B. False, False\n"
	"C. True, False\n"
	"D. False, True\n"
	"Answer: C\n"
	"\n"
	"Statement 1| Every function from a finite set onto itself must be one to one. Statement 2 | Every subgroup of an abelian group is abelian.\n"
	"A. True, True\n"
	"B. False, False\n"
	"C. True, False\n"
	"D. False, True\n"
	"Answer: A\n"
	"\n"
	"Find the characteristic of the ring 2Z.\n"
	"A. 0\n"
	"B. 3\n"
	"C. 12\n"
	"D. 30\n"
	"Answer: A\n"
	"\n"
	"Find the degree for the given field extension Q(sqrt(2), sqrt(3), sqrt(18)) over Q.\n"
	"A. 0\n"
	"B. 4\n"
	"C. 2\n"
	"D. 6\n"
	"Answer:";

static int have_shared(void)
{
	if (access(SHARED_DATA "/gsm8k/train.jsonl", R_OK) == 0)
		return 1;
	printf("# skipped: %s is not here\n", SHARED_DATA);
	return 0;
}

static struct lle_task *load_task(const char *path, struct lle_node **tree, struct lle_err *e)
{
	*tree = lle_yaml_load_file(path, 0, e);
	if (!*tree)
		return NULL;
	return lle_task_from_node(*tree, e);
}

static struct lle_task *task_from_text(const char *yaml, struct lle_err *e)
{
	struct lle_node *n = lle_yaml_load_mem(yaml, strlen(yaml), "t.yaml", e);
	if (!n)
		return NULL;
	struct lle_task *t = lle_task_from_node(n, e);
	lle_node_free(n);
	return t;
}

static json_t *first_docs(struct lle_task *t, const struct lle_data_dir *dd, size_t n, struct lle_err *e)
{
	char *p = lle_task_split_path(t, t->test_split, dd, 1, e);
	if (!p)
		return NULL;
	struct lle_ds *ds = lle_ds_open(p, e);
	free(p);
	json_t *a = json_array(), *d;
	while (ds && json_array_size(a) < n && lle_ds_next(ds, &d, e) == 1) {
		lle_task_process_doc(t, d, json_array_size(a), e);
		json_array_append_new(a, d);
	}
	lle_ds_close(ds);
	return a;
}

TEST(gsm8k_config_is_the_harness_config)
{
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "gsm8k.yaml", &tree, &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	CHECK_STREQ(t->name, "gsm8k");
	CHECK(t->output_type == LLE_OUT_GENERATE_UNTIL);
	CHECK_INTEQ(t->num_fewshot, 5);
	CHECK(t->sampler == LLE_SAMPLER_RANDOM);
	CHECK_STREQ(t->target_delimiter, " ");
	CHECK_STREQ(t->fewshot_delimiter, "\n\n");
	CHECK_INTEQ(t->nuntil, 3);
	CHECK_STREQ(t->until[0], "Question:");
	CHECK_STREQ(t->until[2], "<|im_end|>");
	CHECK_INTEQ(t->max_gen_toks, 256);
	CHECK(t->do_sample == 0 && t->temperature == 0.0);
	CHECK_INTEQ(t->nfilters, 2);
	CHECK_STREQ(lle_filter_chain_name(t->filters[0]), "strict-match");
	CHECK_STREQ(lle_filter_chain_name(t->filters[1]), "flexible-extract");
	CHECK_INTEQ(t->nmetrics, 1);
	CHECK_STREQ(t->metrics[0].name, "exact_match");
	CHECK(t->metrics[0].ignore_case && !t->metrics[0].ignore_punctuation);
	CHECK_INTEQ(t->metrics[0].nregexes, 4);
	CHECK_NEAR(t->version, 3.0, 0);
	CHECK_INTEQ(t->repeats, 1);
	json_t *gk = t->generation_kwargs;
	CHECK(json_is_real(json_object_get(gk, "temperature")));
	CHECK(json_is_false(json_object_get(gk, "do_sample")));
	CHECK_INTEQ(json_integer_value(json_object_get(t->config, "num_fewshot")), 5);
	json_t *hib = lle_task_higher_is_better(t);
	CHECK(json_is_true(json_object_get(hib, "exact_match")) && json_object_size(hib) == 1);
	json_decref(hib);
	lle_task_free(t);
	lle_node_free(tree);
}

TEST(gsm8k_5shot_prompts_byte_for_byte)
{
	if (!have_shared())
		return;
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "gsm8k.yaml", &tree, &e);
	struct lle_data_dir dd = { SHARED_DATA, "--data-dir" };
	struct lle_fewshot *fs = t ? lle_fewshot_open(t, &dd, t->num_fewshot, LLE_FEWSHOT_SEED, &e) : NULL;
	CHECK(fs != NULL);
	json_t *docs = fs ? first_docs(t, &dd, 2, &e) : NULL;
	CHECK(docs && json_array_size(docs) == 2);
	if (!docs || json_array_size(docs) != 2) {
		printf("# %s\n", e.msg);
		goto out;
	}
	struct lle_requests rq;
	CHECK(lle_task_build(t, fs, json_array_get(docs, 0), 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, k_gsm8k_doc0);
	CHECK_STREQ(json_string_value(rq.gold), json_string_value(json_object_get(json_array_get(docs, 0), "answer")));
	CHECK_INTEQ(rq.ncont, 0);
	lle_requests_free(&rq);
	CHECK(lle_task_build(t, fs, json_array_get(docs, 1), 1, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, k_gsm8k_doc1);
	lle_requests_free(&rq);
out:
	if (docs)
		json_decref(docs);
	lle_fewshot_free(fs);
	lle_task_free(t);
	lle_node_free(tree);
}

TEST(mmlu_5shot_prompt_byte_for_byte)
{
	if (!have_shared())
		return;
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "mmlu_abstract_algebra.yaml", &tree, &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	CHECK(t->sampler == LLE_SAMPLER_FIRST_N);
	struct lle_data_dir dd = { SHARED_DATA, "--data-dir" };
	struct lle_fewshot *fs = lle_fewshot_open(t, &dd, 5, LLE_FEWSHOT_SEED, &e);
	json_t *docs = fs ? first_docs(t, &dd, 1, &e) : NULL;
	CHECK(docs && json_array_size(docs) == 1);
	if (!docs || json_array_size(docs) != 1) {
		printf("# %s\n", e.msg);
		goto out;
	}
	struct lle_requests rq;
	CHECK(lle_task_build(t, fs, json_array_get(docs, 0), 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, k_mmlu_doc0);
	CHECK_INTEQ(rq.ncont, 4);
	CHECK_INTEQ(rq.nchoices, 4);
	CHECK_STREQ(rq.continuations[0], " A");
	CHECK_STREQ(rq.continuations[3], " D");
	CHECK_INTEQ(json_integer_value(rq.target), 1);
	/* B is the answer: the highest log-likelihood on B scores acc 1 */
	double ll[4] = { -3.0, -1.0, -2.0, -4.0 };
	int greedy[4] = { 0, 1, 0, 0 };
	struct lle_item it[1];
	CHECK(lle_task_score_loglik(t, &rq, ll, greedy, it, &e) == 0);
	CHECK_NEAR(it[0].x, 1.0, 0);
	ll[2] = -0.5;
	CHECK(lle_task_score_loglik(t, &rq, ll, greedy, it, &e) == 0);
	CHECK_NEAR(it[0].x, 0.0, 0);
	lle_requests_free(&rq);
	/* the same first five examples for every document */
	CHECK(lle_task_build(t, fs, json_array_get(docs, 0), 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, k_mmlu_doc0);
	lle_requests_free(&rq);
out:
	if (docs)
		json_decref(docs);
	lle_fewshot_free(fs);
	lle_task_free(t);
	lle_node_free(tree);
}

/* GSM8K-style responses through both of gsm8k.yaml's filters, scored with
 * its exact_match (ignore_case, regexes "," "\$" "(?s).*#### " "\.$"). The
 * gold "...#### 1,234" normalises to "1234". Expected, by hand:
 *   response                                  strict-match     flexible-extract
 *   "... so the answer is $1,234."            [invalid] -> 0   "$1,234." -> "1234" -> 1
 *   "#### 1234"                               "1234" -> 1      "1234" -> 1
 *   "1234."                                   [invalid] -> 0   "1234." -> "1234" -> 1
 *   "I cannot tell."                          [invalid] -> 0   [invalid] -> 0
 * strict-match mean 1/4 = 0.25; sample variance (3 * 0.25^2 + 0.75^2) / 3 =
 * 0.25, so stderr sqrt(0.25) / sqrt(4) = 0.25; flexible-extract mean 3/4 =
 * 0.75, the same stderr by symmetry. */
TEST(gsm8k_outputs_through_both_filters)
{
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "gsm8k.yaml", &tree, &e);
	CHECK(t != NULL);
	if (!t)
		return;
	json_t *doc = json_pack("{ssss}", "question", "How much?", "answer", "Add them up.\n#### 1,234");
	struct lle_requests rq;
	CHECK(lle_task_build(t, NULL, doc, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "Question: How much?\nAnswer:");
	static const char *resp[4] = { "Natalia sold 48/2 = 24 clips... so the answer is $1,234.", "#### 1234",
				       "1234.", "I cannot tell." };
	static const char *want_strict[4] = { "[invalid]", "1234", "[invalid]", "[invalid]" };
	static const char *want_flex[4] = { "$1,234.", "1234", "1234.", "[invalid]" };
	static const double em_strict[4] = { 0, 1, 0, 0 }, em_flex[4] = { 1, 1, 1, 0 };
	struct lle_task_agg *agg = lle_task_agg_new(t);
	for (int i = 0; i < 4; i++) {
		json_t *r = json_pack("[s]", resp[i]), *filtered = NULL;
		struct lle_item it[2];
		CHECK(lle_task_score_generated(t, &rq, NULL, r, &filtered, it, &e) == 0);
		CHECK_STREQ(json_string_value(json_array_get(json_array_get(filtered, 0), 0)), want_strict[i]);
		CHECK_STREQ(json_string_value(json_array_get(json_array_get(filtered, 1), 0)), want_flex[i]);
		CHECK_NEAR(it[0].x, em_strict[i], 0);
		CHECK_NEAR(it[1].x, em_flex[i], 0);
		CHECK(lle_task_agg_add(agg, it) == 0);
		json_decref(r);
		if (filtered)
			json_decref(filtered);
	}
	struct lle_metric_result *res;
	size_t nres;
	CHECK(lle_task_agg_results(agg, 1000, &res, &nres, &e) == 0);
	CHECK_INTEQ(nres, 2);
	CHECK_STREQ(res[0].filter, "strict-match");
	CHECK_STREQ(res[0].metric, "exact_match");
	CHECK_NEAR(res[0].value, 0.25, 1e-15);
	CHECK_NEAR(res[0].stderr_, 0.25, 1e-15);
	CHECK_STREQ(res[1].filter, "flexible-extract");
	CHECK_NEAR(res[1].value, 0.75, 1e-15);
	CHECK_NEAR(res[1].stderr_, 0.25, 1e-15);
	CHECK(res[0].higher_is_better == 1 && res[0].n == 4);
	free(res);
	lle_task_agg_free(agg);
	lle_requests_free(&rq);
	json_decref(doc);
	lle_task_free(t);
	lle_node_free(tree);
}

/* The fixture task reads its own data (./data relative to the YAML). Its
 * random sampler draws Random(1234).sample(range(5), 2) per document:
 * [3, 0] for document 0, then [0, 4] for document 1 (from python3). */
TEST(fixture_task_local_data_and_seeded_examples)
{
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "arith.yaml", &tree, &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	struct lle_data_dir none = { NULL, NULL };
	struct lle_fewshot *fs = lle_fewshot_open(t, &none, t->num_fewshot, LLE_FEWSHOT_SEED, &e);
	CHECK(fs != NULL);
	json_t *docs = fs ? first_docs(t, &none, 3, &e) : NULL;
	CHECK(docs && json_array_size(docs) == 3);
	if (!docs || json_array_size(docs) != 3) {
		printf("# %s\n", e.msg);
		goto out;
	}
	struct lle_requests rq;
	CHECK(lle_task_build(t, fs, json_array_get(docs, 0), 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "Add the numbers.\n\nQ: 7 + 2\nA: 9\n\nQ: 1 + 1\nA: 2\n\nQ: 2 + 2\nA:");
	CHECK_STREQ(json_string_value(rq.gold), "4");
	lle_requests_free(&rq);
	struct lle_prompt_opts brief = { .system_instruction = "Be brief." };
	CHECK(lle_task_build(t, fs, json_array_get(docs, 1), 1, &brief, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "Be brief.\n\nAdd the numbers.\n\nQ: 1 + 1\nA: 2\n\nQ: 3 + 3\nA: 6\n\nQ: 5 + 1\nA:");
	lle_requests_free(&rq);
	/* a fresh sampler with the same seed replays the same choices */
	lle_fewshot_free(fs);
	fs = lle_fewshot_open(t, &none, 2, LLE_FEWSHOT_SEED, &e);
	size_t idx[3];
	CHECK(lle_fewshot_draw(fs, idx, &e) == 2 && idx[0] == 3 && idx[1] == 0);
	CHECK(lle_fewshot_draw(fs, idx, &e) == 2 && idx[0] == 0 && idx[1] == 4);
	CHECK(lle_task_build(t, fs, json_array_get(docs, 2), 2, NULL, &rq, &e) == 0);
	json_t *r = json_pack("[ss]", " 8 apples", "9"), *filtered;
	struct lle_item it[1];
	CHECK(lle_task_score_generated(t, &rq, NULL, r, &filtered, it, &e) == 0);
	CHECK_NEAR(it[0].x, 1.0, 0); /* take_first keeps " 8 apples" -> "8" */
	CHECK_INTEQ(json_array_size(json_array_get(filtered, 0)), 1);
	json_decref(filtered);
	json_decref(r);
	lle_requests_free(&rq);
out:
	if (docs)
		json_decref(docs);
	lle_fewshot_free(fs);
	lle_task_free(t);
	lle_node_free(tree);
}

/* Few-shot from the test split itself: the harness draws k+1 and drops the
 * document. Random(1234).sample(range(4), 3) = [3, 0, 2] (python3): for
 * document 0 that is docs 3 and 2 (0 is dropped); docs are compared by value. */
/* --apply-chat-template: the harness's messages. Document 0 of the fixture
 * draws examples 3 and 0 (see above). */
TEST(chat_messages_as_the_harness_builds_them)
{
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "arith.yaml", &tree, &e);
	CHECK(t != NULL);
	if (!t)
		return;
	struct lle_data_dir none = { NULL, NULL };
	json_t *docs = first_docs(t, &none, 1, &e);
	for (int multiturn = 0; multiturn < 2; multiturn++) {
		struct lle_fewshot *fs = lle_fewshot_open(t, &none, 2, LLE_FEWSHOT_SEED, &e);
		struct lle_prompt_opts o = { .apply_chat_template = 1, .fewshot_as_multiturn = multiturn };
		struct lle_requests rq;
		CHECK(lle_task_build(t, fs, json_array_get(docs, 0), 0, &o, &rq, &e) == 0);
		char *got = json_dumps(rq.messages, JSON_COMPACT);
		if (!multiturn)
			CHECK_STREQ(got, "[{\"role\":\"system\",\"content\":\"Add the numbers.\\n\\n\"},"
				    "{\"role\":\"user\",\"content\":\"Q: 7 + 2\\nA: 9\\n\\nQ: 1 + 1\\nA: 2\\n\\nQ: 2 + 2\\nA:\"}]");
		else
			CHECK_STREQ(got, "[{\"role\":\"system\",\"content\":\"Add the numbers.\\n\\n\"},"
				    "{\"role\":\"user\",\"content\":\"Q: 7 + 2\\nA:\"},{\"role\":\"assistant\",\"content\":\"9\"},"
				    "{\"role\":\"user\",\"content\":\"Q: 1 + 1\\nA:\"},{\"role\":\"assistant\",\"content\":\"2\"},"
				    "{\"role\":\"user\",\"content\":\"Q: 2 + 2\\nA:\"}]");
		/* the plain prompt is there too */
		CHECK_STREQ(rq.context, "Add the numbers.\n\nQ: 7 + 2\nA: 9\n\nQ: 1 + 1\nA: 2\n\nQ: 2 + 2\nA:");
		free(got);
		lle_requests_free(&rq);
		lle_fewshot_free(fs);
	}
	json_decref(docs);
	lle_task_free(t);
	lle_node_free(tree);
}

/* An example whose target is "" adds neither delimiter (the harness's
 * `if doc_target != ""`). First-n over two documents. */
TEST(empty_example_target_adds_no_delimiters)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text("task: e\nfewshot_split: train\nfewshot_config: {sampler: first_n}\n"
					    "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n", &e);
	CHECK(t != NULL);
	if (!t)
		return;
	json_t *docs = json_pack("[{ssss},{ssss}]", "q", "x?", "a", "", "q", "y?", "a", "Y");
	struct lle_fewshot *fs = lle_fewshot_from_docs(t, docs, 0, 2, 1234, &e);
	json_t *doc = json_pack("{ssss}", "q", "z?", "a", "Z");
	struct lle_requests rq;
	CHECK(lle_task_build(t, fs, doc, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "x?y? Y\n\nz?");
	lle_requests_free(&rq);
	json_decref(doc);
	lle_fewshot_free(fs);
	lle_task_free(t);
}

TEST(same_split_few_shot_drops_the_document)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text("task: self\ntest_split: test\nfewshot_split: test\n"
					    "doc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n", &e);
	CHECK(t != NULL);
	if (!t)
		return;
	json_t *docs = json_pack("[{ssss},{ssss},{ssss},{ssss}]", "q", "q0", "a", "a0", "q", "q1", "a", "a1", "q",
				 "q2", "a", "a2", "q", "q3", "a", "a3");
	json_t *d0 = json_incref(json_array_get(docs, 0));
	struct lle_fewshot *fs = lle_fewshot_from_docs(t, docs, 1, 2, 1234, &e);
	CHECK(fs != NULL);
	struct lle_requests rq;
	CHECK(lle_task_build(t, fs, d0, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "q3 a3\n\nq2 a2\n\nq0");
	lle_requests_free(&rq);
	lle_fewshot_free(fs);
	/* too few documents for k (k + 1 on the same split) */
	docs = json_pack("[{ssss},{ssss}]", "q", "q0", "a", "a0", "q", "q1", "a", "a1");
	CHECK(lle_fewshot_from_docs(t, docs, 1, 2, 1234, &e) == NULL);
	CHECK_STREQ(e.msg, "task 'self': num_fewshot is 2 but the few-shot split has only 2 documents "
		    "(one more is needed: the evaluated document is left out of its examples)");
	json_decref(d0);
	lle_task_free(t);
}

/* loglikelihood: the continuation is doc_to_target as written, with no
 * target_delimiter (lm_eval/api/task.py ConfigurableTask.construct_requests:
 * arguments = (ctx, self.doc_to_target(doc))); lambada_openai's target brings
 * its own space. */
TEST(loglikelihood_continuation_has_no_delimiter)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text("task: lam\noutput_type: loglikelihood\n"
					    "doc_to_text: \"{{text.split(' ')[:-1]|join(' ')}}\"\n"
					    "doc_to_target: \"{{' '+text.split(' ')[-1]}}\"\n"
					    "metric_list: [{metric: perplexity}, {metric: acc}]\n", &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	json_t *doc = json_pack("{ss}", "text", "she said wow");
	struct lle_requests rq;
	CHECK(lle_task_build(t, NULL, doc, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "she said");
	CHECK_INTEQ(rq.ncont, 1);
	if (rq.ncont == 1)
		CHECK_STREQ(rq.continuations[0], " wow");
	lle_requests_free(&rq);
	json_decref(doc);
	lle_task_free(t);
}

TEST(doc_to_rules_follow_the_harness)
{
	struct lle_err e = { 0 };
	/* a field name is the field's value; a template rendering to digits is an
	 * index when there are choices; a rendered "[...]" target is a list */
	struct lle_task *t = task_from_text("task: mc\noutput_type: multiple_choice\n"
					    "doc_to_text: question\ndoc_to_target: '{{label}}'\n"
					    "doc_to_choice: '{{options}}'\nmetric_list: [{metric: acc}, {metric: acc_norm},"
					    " {metric: acc_mutual_info}]\n", &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	json_t *doc = json_pack("{sss[sss]si}", "question", "Pick", "options", "a", "bbbb", "it's", "label", 2);
	struct lle_requests rq;
	CHECK(lle_task_build(t, NULL, doc, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "Pick");
	CHECK(json_is_integer(rq.target) && json_integer_value(rq.target) == 2);
	CHECK_INTEQ(rq.nchoices, 3);
	CHECK_INTEQ(rq.ncont, 6); /* acc_mutual_info adds the unconditional ones */
	CHECK(rq.unconditional == 1);
	CHECK_STREQ(rq.continuations[2], " it's");
	/* unconditional: the choice after an empty context, with the delimiter
	 * (lm_eval/api/task.py ConfigurableTask.construct_requests: aux_arguments
	 * = [("", f"{target_delimiter}{choice}") ...], since the harness's PR #3035) */
	CHECK_STREQ(rq.continuations[5], " it's");
	/* acc: argmax ll = 1; acc_norm: ll / len -> -2/1, -4/4, -4.2/4 -> 1;
	 * mutual info: ll - uncond = -2-(-1), -4-(-1), -4.2-(-5) = -1, -3, 0.8 -> 2 */
	double ll[6] = { -2.0, -4.0, -4.2, -1.0, -1.0, -5.0 };
	int g[6] = { 0 };
	struct lle_item it[3];
	CHECK(lle_task_score_loglik(t, &rq, ll, g, it, &e) == 0);
	CHECK_NEAR(it[0].x, 0, 0);
	CHECK_NEAR(it[1].x, 0, 0);
	CHECK_NEAR(it[2].x, 1, 0);
	lle_requests_free(&rq);
	json_decref(doc);
	lle_task_free(t);

	/* literal choices are text even when a field has that name */
	t = task_from_text("task: abcd\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_target: 0\n"
			   "doc_to_choice: [A, B]\n", &e);
	CHECK(t != NULL);
	doc = json_pack("{ssssss}", "q", "Which?", "A", "first option", "B", "second option");
	json_t *ch = t ? lle_task_doc_choices(t, doc, 0, &e) : NULL;
	CHECK(ch && !strcmp(json_string_value(json_array_get(ch, 0)), "A"));
	if (ch)
		json_decref(ch);
	json_decref(doc);
	lle_task_free(t);

	t = task_from_text("task: lst\ndoc_to_text: 'Q'\ndoc_to_target: \"{{ [a, b] }}\"\n", &e);
	CHECK(t != NULL);
	doc = json_pack("{ssss}", "a", "x", "b", "y");
	json_t *tg = t ? lle_task_doc_target(t, doc, 0, &e) : NULL;
	CHECK(json_is_array(tg) && json_array_size(tg) == 2);
	if (tg)
		json_decref(tg);
	json_decref(doc);
	lle_task_free(t);
}

/* DROP reads numbers as Python's float() does, any script's decimal digits
 * included (lm_eval/tasks/drop/utils.py _normalize_number: str(float(x)),
 * so "\u0661\u0662" and "12" both become "12.0"; numbers that differ make F1 0
 * through _match_numbers_if_present). */
TEST(drop_reads_digits_of_every_script)
{
	json_t *gold = json_pack("[[s]]", "12");
	double em = -1, f1 = -1;
	CHECK(gold && lle_drop_score("\xd9\xa1\xd9\xa2", gold, &em, &f1) == 0); /* ARABIC-INDIC 1 2 */
	CHECK(em == 1.0 && f1 == 1.0);
	CHECK(lle_drop_score("\xf0\x9d\x9f\x8f\xef\xbc\x92", gold, &em, &f1) == 0); /* bold 1, fullwidth 2 */
	CHECK(em == 1.0 && f1 == 1.0);
	CHECK(lle_drop_score("\xd9\xa1\xd9\xa3", gold, &em, &f1) == 0); /* 13 */
	CHECK(em == 0.0 && f1 == 0.0);
	CHECK(lle_drop_score("\xc2\xb9\xc2\xb2", gold, &em, &f1) == 0); /* superscripts: no number */
	CHECK(em == 0.0 && f1 == 0.0);
	json_decref(gold);
}

TEST(perplexity_tasks_score_rolling_and_loglikelihood)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text("task: wiki\noutput_type: loglikelihood_rolling\n"
					    "doc_to_target: '{{text}}'\n", &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	CHECK_INTEQ(t->nmetrics, 3); /* word_perplexity, byte_perplexity, bits_per_byte */
	json_t *doc = json_pack("{ss}", "text", "two words\n");
	struct lle_requests rq;
	CHECK(lle_task_build(t, NULL, doc, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "two words\n");
	double ll = -20.0;
	struct lle_item it[3];
	CHECK(lle_task_score_loglik(t, &rq, &ll, NULL, it, &e) == 0);
	/* re.split(r"\s+", "two words\n") has 3 pieces; 10 bytes */
	CHECK_NEAR(it[0].w, 3, 0);
	CHECK_NEAR(it[1].w, 10, 0);
	CHECK_NEAR(it[2].w, 10, 0);
	struct lle_task_agg *agg = lle_task_agg_new(t);
	lle_task_agg_add(agg, it);
	ll = -10.0;
	lle_task_score_loglik(t, &rq, &ll, NULL, it, &e);
	lle_task_agg_add(agg, it);
	struct lle_metric_result *res;
	size_t nres;
	CHECK(lle_task_agg_results(agg, 0, &res, &nres, &e) == 0 && nres == 3);
	/* word: exp(30/6) = exp(5); byte: exp(30/20) = exp(1.5); bpb: 30/20/ln 2 */
	CHECK_NEAR(res[0].value, exp(5.0), 1e-9);
	CHECK_NEAR(res[1].value, exp(1.5), 1e-12);
	CHECK_NEAR(res[2].value, 1.5 / log(2.0), 1e-12);
	CHECK(res[0].higher_is_better == 0 && isnan(res[0].stderr_)); /* no bootstrap asked */
	free(res);
	lle_task_agg_free(agg);
	lle_requests_free(&rq);
	json_decref(doc);
	lle_task_free(t);

	t = task_from_text("task: ll\noutput_type: loglikelihood\ndoc_to_text: '{{c}}'\ndoc_to_target: '{{x}}'\n", &e);
	CHECK(t != NULL && t->nmetrics == 2);
	doc = json_pack("{ssss}", "c", "The sky is", "x", "blue");
	CHECK(t && lle_task_build(t, NULL, doc, 0, NULL, &rq, &e) == 0);
	/* the target as written: no delimiter for loglikelihood (task.py construct_requests) */
	CHECK(rq.ncont == 1 && !strcmp(rq.continuations[0], "blue"));
	int gr = 1;
	ll = -0.5;
	CHECK(lle_task_score_loglik(t, &rq, &ll, &gr, it, &e) == 0);
	CHECK_NEAR(it[0].x, -0.5, 0); /* perplexity item: the ll */
	CHECK_NEAR(it[1].x, 1, 0);    /* acc: is_greedy */
	lle_requests_free(&rq);
	json_decref(doc);
	lle_task_free(t);
}

TEST(config_errors_name_task_key_and_position)
{
	static const struct {
		const char *yaml, *msg;
	} bad[] = {
		{ "task: x\ndoc_to_text: '{{ q | title }}'\ndoc_to_target: a\n",
		  "t.yaml:2:14: task 'x': doc_to_text: at character 8: unsupported filter 'title'" },
		{ "task: x\ndoc_to_text: '{% if q %}'\ndoc_to_target: a\n",
		  "t.yaml:2:14: task 'x': doc_to_text: at character 4: 'if' without 'endif'" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nmetric_list: [{metric: meteor}]\n",
		  "t.yaml:4:24: task 'x': unknown metric 'meteor' (known: exact_match, acc, acc_norm, "
		  "acc_mutual_info, acc_bytes, f1, mcc, perplexity, word_perplexity, byte_perplexity, bits_per_byte, "
		  "bleu, chrf, ter, wer, code_exec)" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nfilter_list: [{name: f, filter: [{function: majority}]}]\n",
		  "t.yaml:4:45: task 'x': filter 'f': unknown filter 'majority' (known: regex, take_first, "
		  "take_first_k, majority_vote, lowercase, uppercase, remove_whitespace, strip, map, format_span, "
		  "regex_pos, multi_choice_regex, custom)" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nfilter_list: [{name: f, filter: [{function: regex, "
		  "regex_pattern: '(a'}]}]\n",
		  "t.yaml:4:67: task 'x': filter 'f': regex '(a' does not compile: missing closing parenthesis "
		  "at offset 2" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nnum_fewshot: -1\n",
		  "t.yaml:4:14: task 'x': num_fewshot: must be at least 0" },
		{ "task: x\ndoc_to_txt: q\ndoc_to_target: a\n", "t.yaml:2:13: task 'x': doc_to_txt: unknown key" },
		{ "task: x\ndoc_to_text: !function utils.doc_to_text\ndoc_to_target: a\n",
		  /* a hook runs (issue 15) when its module is beside the YAML file */
		  "t.yaml:2:14: task 'x': doc_to_text: '!function utils.doc_to_text' needs ./utils.py, which "
		  "cannot be read (No such file or directory)" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nprocess_docs: !function utils.process_docs\n",
		  "t.yaml:4:15: task 'x': process_docs: '!function utils.process_docs' needs ./utils.py, which "
		  "cannot be read (No such file or directory)" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nprocess_docs: parse_intz\n",
		  "t.yaml:4:15: task 'x': process_docs: 'parse_intz' is not a built-in transform (built-in: "
		  "choices_from_columns, parse_ints, gpqa_shuffle, drop_answers)" },
		/* built-in process_results (results_builtin.c) */
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nprocess_results: mc3\n",
		  "t.yaml:4:18: task 'x': process_results: must be a '!function module.name' or a built-in scorer "
		  "(truthfulqa_mc2, wikitext, drop), not 'mc3'" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nprocess_results: truthfulqa_mc2\n",
		  "t.yaml:4:18: task 'x': process_results: 'truthfulqa_mc2' scores multiple_choice tasks only" },
		{ "task: x\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_target: 0\ndoc_to_choice: [a, b]\n"
		  "process_results: truthfulqa_mc2\nmetric_list: [{metric: acc_norm}]\n",
		  "t.yaml:6:18: task 'x': process_results: 'truthfulqa_mc2' returns only 'acc', not 'acc_norm'" },
		{ "task: x\noutput_type: loglikelihood_rolling\ndoc_to_target: q\nprocess_results: wikitext\n"
		  "metric_list: [{metric: word_perplexity}, {metric: perplexity}]\n",
		  "t.yaml:5:51: task 'x': metric 'perplexity' does not apply to output_type 'loglikelihood_rolling'" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nprocess_results: drop\n",
		  "t.yaml:4:18: task 'x': process_results: 'drop' needs process_docs: drop_answers (its gold answers)" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nprocess_docs: drop_answers\nprocess_results: drop\n"
		  "metric_list: [{metric: em}, {metric: exact_match}]\n",
		  "t.yaml:5:18: task 'x': process_results: 'drop' returns only 'em' and 'f1' (built-in aggregations), "
		  "not 'exact_match'" },
		{ "task: x\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_target: 0\ndoc_to_choice: [a, b]\n"
		  "process_results: wikitext\n",
		  "t.yaml:6:18: task 'x': process_results: 'wikitext' scores loglikelihood_rolling tasks only" },
		{ "task: x\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_target: a\n",
		  "t.yaml:1:7: task 'x': doc_to_choice: a multiple_choice task needs doc_to_choice" },
		{ "task: x\ndoc_to_text: q\ndoc_to_target: a\nmetric_list: [{metric: acc}]\n",
		  "t.yaml:4:24: task 'x': metric 'acc' does not apply to output_type 'generate_until'" },
		{ "task: x\noutput_type: multiple_choice\ndoc_to_text: q\ndoc_to_target: a\ndoc_to_choice: [A]\n"
		  "metric_list: [{metric: acc, aggregation: bits_per_byte}]\n",
		  "t.yaml:6:42: task 'x': aggregation 'bits_per_byte' does not fit metric 'acc'" },
		{ "task: x\noutput_type: generate\ndoc_to_text: q\ndoc_to_target: a\n",
		  "t.yaml:2:14: task 'x': output_type: unknown output type 'generate' (known: generate_until, "
		  "multiple_choice, loglikelihood, loglikelihood_rolling)" },
		{ "doc_to_text: q\n", "t.yaml:1:1: task config without a 'task' name" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct lle_err e = { 0 };
		struct lle_task *t = task_from_text(bad[i].yaml, &e);
		CHECK(t == NULL);
		lle_task_free(t);
		CHECK_STREQ(e.msg, bad[i].msg);
		CHECK_INTEQ(e.code, LLE_EXIT_CONFIG);
	}
}

TEST(document_errors_name_task_document_and_field)
{
	struct lle_err e = { 0 };
	struct lle_task *t = task_from_text("task: gsm\ndoc_to_text: 'Question: {{question}}'\n"
					    "doc_to_target: '{{answer}}'\n", &e);
	CHECK(t != NULL);
	if (!t)
		return;
	json_t *doc = json_pack("{ss}", "answer", "4");
	struct lle_requests rq;
	CHECK(lle_task_build(t, NULL, doc, 17, NULL, &rq, &e) == -1);
	CHECK_STREQ(e.msg, "task 'gsm': doc 17: doc_to_text: missing field 'question'");
	CHECK_INTEQ(e.code, LLE_EXIT_DATA);
	json_decref(doc);
	lle_task_free(t);
}

TEST(data_files_resolve_under_the_data_dir)
{
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "gsm8k.yaml", &tree, &e);
	CHECK(t != NULL);
	if (!t)
		return;
	struct lle_data_dir none = { NULL, NULL }, dd = { "/nonexistent/data", "LLM_EVAL_DATA_DIR" };
	/* no data directory: the Hugging Face Hub cache (data/hub.h), offline here */
	setenv("HF_HUB_OFFLINE", "1", 1);
	setenv("HF_HUB_CACHE", "/nonexistent/hub", 1);
	CHECK(lle_task_split_path(t, "test", &none, 1, &e) == NULL);
	CHECK_STREQ(e.msg, "task 'gsm8k': split 'test': dataset 'gsm8k' (revision 'main', split 'test') is "
		    "not in the Hub cache at /nonexistent/hub/datasets--gsm8k, and HF_HUB_OFFLINE is set: "
		    "run once with network to fetch it");
	CHECK(lle_task_split_path(t, "test", &dd, 1, &e) == NULL);
	CHECK_STREQ(e.msg, "task 'gsm8k': split 'test': expected data file '/nonexistent/data/gsm8k/test.jsonl' "
		    "('gsm8k/test.jsonl' under data directory '/nonexistent/data' from LLM_EVAL_DATA_DIR) is missing");
	CHECK_INTEQ(e.code, LLE_EXIT_DATA);
	char *p = lle_task_split_path(t, "test", &dd, 0, &e);
	CHECK_STREQ(p, "/nonexistent/data/gsm8k/test.jsonl");
	free(p);
	/* no data_files entry: <dataset_path>/<dataset_name>/<split>.jsonl
	 * (gsm8k.yaml sets dataset_name: main), so sibling configurations never
	 * share a file */
	p = lle_task_split_path(t, "validation", &dd, 0, &e);
	CHECK_STREQ(p, "/nonexistent/data/gsm8k/main/validation.jsonl");
	free(p);
	free(t->dataset_name);
	t->dataset_name = NULL; /* without a configuration: <dataset_path>/<split>.jsonl */
	p = lle_task_split_path(t, "validation", &dd, 0, &e);
	CHECK_STREQ(p, "/nonexistent/data/gsm8k/validation.jsonl");
	free(p);
	lle_task_free(t);
	lle_node_free(tree);
}

TEST(group_of_subtasks_weighted_by_size)
{
	/* two subtasks: acc 0.5 over 4 docs (items 1,0,1,0) and 0.25 over 4 docs
	 * (1,0,0,0); by size: (0.5*4 + 0.25*4)/8 = 0.375. Their stderrs:
	 * sqrt(1/3)/2 and sqrt(0.25/3)/2 = 0.288675.., 0.144337..; pooled:
	 * sqrt(((3*4*(1/12)) + (3*4*(1/48))) / (8-2) / 8) = sqrt(1.25/48) */
	double v[2] = { 0.5, 0.25 };
	size_t n[2] = { 4, 4 };
	double se[2] = { sqrt(1.0 / 3) / 2, sqrt(0.25 / 3) / 2 };
	CHECK_NEAR(lle_group_value(v, n, 2, 1), 0.375, 1e-15);
	CHECK_NEAR(lle_group_pooled_stderr(se, n, 2), sqrt(1.25 / 48), 1e-15);
	size_t n2[2] = { 1, 3 };
	CHECK_NEAR(lle_group_value(v, n2, 2, 1), (0.5 + 0.75) / 4, 1e-15);
	CHECK_NEAR(lle_group_value(v, n2, 2, 0), 0.375, 1e-15);
}

/* fewshot_config.samples and its doc_to_* overrides, as gsm8k-cot writes
 * its examples into the config. */
TEST(fewshot_samples_in_the_config)
{
	struct lle_err e = { 0 };
	static const char *yaml =
		"task: cot\n"
		"doc_to_text: \"Q: {{question}}\\nA:\"\n"
		"doc_to_target: \"{{answer.split('####')[-1].strip() if answer is defined else target}}\"\n"
		"num_fewshot: 2\n"
		"fewshot_config:\n"
		"  sampler: first_n\n"
		"  samples:\n"
		"    - {question: 'q1?', target: 't1'}\n"
		"    - {question: 'q2?', target: 't2'}\n"
		"    - {question: 'q3?', target: 't3'}\n";
	struct lle_task *t = task_from_text(yaml, &e);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		return;
	}
	struct lle_data_dir none = { NULL, NULL };
	struct lle_fewshot *fs = lle_fewshot_open(t, &none, t->num_fewshot, LLE_FEWSHOT_SEED, &e);
	CHECK(fs != NULL);
	json_t *doc = json_pack("{ssss}", "question", "Z?", "answer", "Add.\n#### 5");
	struct lle_requests rq;
	CHECK(lle_task_build(t, fs, doc, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "Q: q1?\nA: t1\n\nQ: q2?\nA: t2\n\nQ: Z?\nA:");
	CHECK_STREQ(json_string_value(rq.gold), "5");
	lle_requests_free(&rq);
	lle_fewshot_free(fs);
	lle_task_free(t);

	/* the examples' own doc_to_text and doc_to_target */
	struct lle_buf b = LLE_BUF_INIT;
	lle_buf_adds(&b, yaml);
	lle_buf_adds(&b, "  doc_to_text: 'Question: {{question}}'\n  doc_to_target: '{{target | upper}}'\n");
	t = task_from_text(lle_buf_str(&b), &e);
	lle_buf_free(&b);
	CHECK(t != NULL);
	if (!t) {
		printf("# %s\n", e.msg);
		json_decref(doc);
		return;
	}
	fs = lle_fewshot_open(t, &none, 2, LLE_FEWSHOT_SEED, &e);
	CHECK(lle_task_build(t, fs, doc, 0, NULL, &rq, &e) == 0);
	CHECK_STREQ(rq.context, "Question: q1? T1\n\nQuestion: q2? T2\n\nQ: Z?\nA:");
	lle_requests_free(&rq);
	lle_fewshot_free(fs);
	lle_task_free(t);
	json_decref(doc);

	CHECK(task_from_text("task: x\ndoc_to_text: q\ndoc_to_target: a\nfewshot_config: {split: dev}\n", &e) == NULL);
	CHECK_STREQ(e.msg, "t.yaml:4:25: task 'x': fewshot_config: unsupported key 'split' (llm-eval supports "
		    "sampler, samples, doc_to_text, doc_to_target, doc_to_choice)");
}

/* --gen-kwargs as a run reads it (tasks/genargs.c, docs/run.md): stop
 * strings separated by '|', unknown keys refused. */
TEST(gen_kwargs_override)
{
	struct lle_err e = { 0 };
	struct lle_node *tree;
	struct lle_task *t = load_task(FIX "gsm8k.yaml", &tree, &e);
	CHECK(t != NULL);
	if (!t)
		return;
	struct lle_gen_args g;
	struct lle_gen_params p;
	/* nothing given: the task's own arguments, greedy */
	CHECK(lle_gen_args_parse(&g, NULL, &e) == 0);
	lle_gen_args_apply(&g, t, &p);
	CHECK_INTEQ(p.max_gen_toks, t->max_gen_toks);
	CHECK(p.nuntil == t->nuntil && p.until == (const char *const *)t->until);
	CHECK_NEAR(p.temperature, 0, 0);
	CHECK_NEAR(p.top_p, 1.0, 0);
	lle_gen_args_fini(&g);
	CHECK(lle_gen_args_parse(&g, "max_gen_toks=64,temperature=0.7,do_sample=True,top_p=0.9,"
				 "until=\n\n|Question:", &e) == 0);
	lle_gen_args_apply(&g, t, &p);
	CHECK_INTEQ(p.max_gen_toks, 64);
	CHECK_NEAR(p.temperature, 0.7, 0);
	CHECK_NEAR(p.top_p, 0.9, 0);
	CHECK(g.do_sample == 1);
	CHECK(p.nuntil == 2 && !strcmp(p.until[0], "\n\n") && !strcmp(p.until[1], "Question:"));
	lle_gen_args_fini(&g);
	/* do_sample=false without a temperature: greedy, whatever the task says */
	CHECK(lle_gen_args_parse(&g, "do_sample=false,max_tokens=3", &e) == 0);
	lle_gen_args_apply(&g, t, &p);
	CHECK_NEAR(p.temperature, 0, 0);
	CHECK_INTEQ(p.max_gen_toks, 3);
	lle_gen_args_fini(&g);
	CHECK(lle_gen_args_parse(&g, "temperature=hot", &e) == -1);
	CHECK_STREQ(e.msg, "--gen-kwargs: bad value 'hot' for 'temperature'");
	CHECK_INTEQ(e.code, LLE_EXIT_USAGE);
	lle_gen_args_fini(&g);
	CHECK(lle_gen_args_parse(&g, "temperature=-1", &e) == -1);
	CHECK_STREQ(e.msg, "--gen-kwargs: bad value '-1' for 'temperature'");
	lle_gen_args_fini(&g);
	CHECK(lle_gen_args_parse(&g, "max_gen_toks", &e) == -1);
	CHECK_STREQ(e.msg, "--gen-kwargs: 'max_gen_toks' is not key=value");
	lle_gen_args_fini(&g);
	CHECK(lle_gen_args_parse(&g, "bogus=1", &e) == -1);
	CHECK_STREQ(e.msg, "--gen-kwargs: unknown key 'bogus' (known: temperature, top_p, max_gen_toks, "
		    "do_sample, until)");
	lle_gen_args_fini(&g);
	lle_task_free(t);
	lle_node_free(tree);
}

int main(void)
{
	RUN(gsm8k_config_is_the_harness_config);
	RUN(gsm8k_5shot_prompts_byte_for_byte);
	RUN(mmlu_5shot_prompt_byte_for_byte);
	RUN(gsm8k_outputs_through_both_filters);
	RUN(fixture_task_local_data_and_seeded_examples);
	RUN(chat_messages_as_the_harness_builds_them);
	RUN(empty_example_target_adds_no_delimiters);
	RUN(same_split_few_shot_drops_the_document);
	RUN(loglikelihood_continuation_has_no_delimiter);
	RUN(doc_to_rules_follow_the_harness);
	RUN(drop_reads_digits_of_every_script);
	RUN(perplexity_tasks_score_rolling_and_loglikelihood);
	RUN(config_errors_name_task_key_and_position);
	RUN(document_errors_name_task_document_and_field);
	RUN(data_files_resolve_under_the_data_dir);
	RUN(group_of_subtasks_weighted_by_size);
	RUN(fewshot_samples_in_the_config);
	RUN(gen_kwargs_override);
	return check_done();
}
