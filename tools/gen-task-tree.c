/* gen-task-tree: write a synthetic lm-evaluation-harness tasks/ tree, and the
 * list of entries `llm-eval list tasks` must find in it.
 *
 *   gen-task-tree [-n FILES] DIR EXPECTED
 *   gen-task-tree --registry DIR
 *
 * The second form writes a registry layout the size of the built-in one (40
 * models, 30 tasks, 8 categories, in models/, tasks/, categories/) for
 * benchmarks run where registry/ is not there yet.
 *
 * DIR gets exactly FILES *.yaml files (default 14000) in families of 100
 * (famNNN/), the way lm-evaluation-harness lays out its tasks:
 *   - task files in famNNN/subK/, each including ../_default_template_yaml,
 *     which includes ../_common_yaml (two levels of includes); the template
 *     gives the tag famNNN_tag, which every 7th task replaces by its own tags
 *     (famNNN_sK_tag and shared_tag_M); every 3rd task has a
 *     `process_docs: !function utils.process_docs`;
 *   - a group file per family (group: famNNN, task: [...]);
 *   - a python task (class: !function task.Custom) in every 10th family;
 *   - a broken file in every 5th family, cycling through: syntax error, no
 *     task/group/class key, invalid UTF-8, missing include, include cycle,
 *     empty file;
 *   - a duplicate of a task name in every 7th family (famNNN/zz_dup.yaml,
 *     after the original in path order).
 * EXPECTED gets one line "name<TAB>kind" per entry, sorted by bytes: what
 * `llm-eval list tasks --format tsv | cut -f1,2` prints for the tree alone.
 * It is computed here from what was written, not by llm-eval's code.
 * Output is deterministic. Not part of llm-eval; built by mk/registry.mk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct entry {
	char name[64];
	const char *kind;
};

static struct entry *ents;
static size_t nents, capents;

static void add_entry(const char *name, const char *kind)
{
	/* Tags are added once per task that carries them; main() keeps one. */
	if (nents == capents) {
		capents = capents ? capents * 2 : 1024;
		ents = realloc(ents, capents * sizeof(*ents));
		if (!ents) {
			perror("gen-task-tree");
			exit(1);
		}
	}
	snprintf(ents[nents].name, sizeof(ents[nents].name), "%s", name);
	ents[nents].kind = kind;
	nents++;
}

static int cmp_ent(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static void mkdirs(const char *path)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *p = tmp + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
				perror(tmp);
				exit(1);
			}
			*p = '/';
		}
	if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
		perror(tmp);
		exit(1);
	}
}

static void put(const char *dir, const char *rel, const char *text, size_t n)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = '\0';
	mkdirs(path);
	*slash = '/';
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(text, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

static void puts_file(const char *dir, const char *rel, const char *text) { put(dir, rel, text, strlen(text)); }

static int gen_registry(const char *dir)
{
	static const char *const cats[] = { "mathematics", "coding", "knowledge", "reasoning",
					    "commonsense", "truthfulness", "reading", "multilingual" };
	char rel[256], text[2048];
	for (int c = 0; c < 8; c++) {
		snprintf(rel, sizeof(rel), "categories/%s.yaml", cats[c]);
		snprintf(text, sizeof(text), "category: %s\ndescription: synthetic category %d for benchmarks\n", cats[c], c);
		puts_file(dir, rel, text);
	}
	for (int m = 0; m < 40; m++) {
		snprintf(rel, sizeof(rel), "models/model_%02d.yaml", m);
		snprintf(text, sizeof(text),
			 "name: model_%02d\ndescription: synthetic model %d for benchmarks\nhf_repo: example/model-%d\n"
			 "family: synthetic\nparams_b: %d.5\nsize_gb: %d.0\ndtype: bf16\ncontext_length: 8192\n"
			 "license: apache-2.0\nchat_template: chatml\ncategories: [%s, %s]\nbackend: llamacpp\n"
			 "backends:\n  llamacpp:\n    gguf: model-%d-Q4_K_M.gguf\n    gguf_repo: example/model-%d-GGUF\n"
			 "  openai:\n    model: example/model-%d\n    base_url: http://127.0.0.1:8000/v1\n",
			 m, m, m, m % 70 + 1, 2 * (m % 70) + 2, cats[m % 8], cats[(m + 3) % 8], m, m, m);
		puts_file(dir, rel, text);
	}
	for (int t = 0; t < 30; t++) {
		snprintf(rel, sizeof(rel), "tasks/task_%02d.yaml", t);
		snprintf(text, sizeof(text),
			 "task: task_%02d\ncategory: %s\ndescription: synthetic task %d for benchmarks\n"
			 "dataset_path: synthetic\ndataset_name: main\ntest_split: test\nfewshot_split: train\n"
			 "num_fewshot: 5\noutput_type: generate_until\ndoc_to_text: \"Question: {{question}}\\nAnswer:\"\n"
			 "doc_to_target: \"{{answer}}\"\ngeneration_kwargs: {until: [\"Question:\"], do_sample: false}\n"
			 "metric_list: [{metric: exact_match, aggregation: mean, higher_is_better: true}]\n"
			 "metadata: {version: 1.0}\n",
			 t, cats[t % 8], t);
		puts_file(dir, rel, text);
	}
	return 0;
}

int main(int argc, char **argv)
{
	long nfiles = 14000;
	if (argc == 3 && strcmp(argv[1], "--registry") == 0)
		return gen_registry(argv[2]);
	int ai = 1;
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		nfiles = strtol(argv[2], NULL, 10);
		ai = 3;
	}
	if (argc - ai != 2 || nfiles < 1) {
		fprintf(stderr, "usage: gen-task-tree [-n FILES] DIR EXPECTED\n");
		return 2;
	}
	const char *dir = argv[ai], *expected = argv[ai + 1];
	mkdirs(dir);
	puts_file(dir, "_common_yaml", "dataset_path: synthetic\ntest_split: test\nmetadata:\n  version: 1.0\n");
	char rel[512], text[2048], name[64];
	long families = (nfiles + 99) / 100;
	for (long f = 0; f < families; f++) {
		snprintf(rel, sizeof(rel), "fam%03ld/_default_template_yaml", f);
		snprintf(text, sizeof(text),
			 "include: ../_common_yaml\noutput_type: generate_until\ntag: fam%03ld_tag\n"
			 "doc_to_text: \"Q: {{question}}\\nA:\"\ndoc_to_target: answer\n"
			 "metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n",
			 f);
		puts_file(dir, rel, text);
	}
	static const char *const broken[] = { "syntax", "nokeys", "utf8", "missing", "cycle", "empty" };
	for (long i = 0; i < nfiles; i++) {
		long f = i / 100, j = i % 100, sub = j / 25;
		if (j == 0) {
			snprintf(rel, sizeof(rel), "fam%03ld/fam%03ld_group.yaml", f, f);
			snprintf(text, sizeof(text),
				 "group: fam%03ld\ntask:\n  - fam%03ld_s0_t004\n  - fam%03ld_s0_t005\n"
				 "  - task: fam%03ld_inline\n    dataset_path: synthetic\n"
				 "aggregate_metric_list:\n  - metric: exact_match\n    weight_by_size: true\n",
				 f, f, f, f);
			puts_file(dir, rel, text);
			snprintf(name, sizeof(name), "fam%03ld", f);
			add_entry(name, "group");
		} else if (j == 1 && f % 10 == 0) {
			snprintf(rel, sizeof(rel), "fam%03ld/py/fam%03ld_py.yaml", f, f);
			snprintf(text, sizeof(text), "task: fam%03ld_py\nclass: !function task.Custom\n", f);
			puts_file(dir, rel, text);
			snprintf(name, sizeof(name), "fam%03ld_py", f);
			add_entry(name, "python-task");
		} else if (j == 2 && f % 5 == 0) {
			const char *kind = broken[(f / 5) % 6];
			snprintf(rel, sizeof(rel), "fam%03ld/broken_%s.yaml", f, kind);
			if (strcmp(kind, "syntax") == 0)
				puts_file(dir, rel, "task: [fam_broken\n  x: y\n");
			else if (strcmp(kind, "nokeys") == 0)
				puts_file(dir, rel, "dataset_path: synthetic\n");
			else if (strcmp(kind, "utf8") == 0)
				puts_file(dir, rel, "task: bad_\xff\xfe_name\n");
			else if (strcmp(kind, "missing") == 0)
				puts_file(dir, rel, "include: _no_such_yaml\ntask: fam_missing_include\n");
			else if (strcmp(kind, "cycle") == 0) {
				snprintf(text, sizeof(text), "include: _cycle_b_yaml\ntask: fam%03ld_cycle\n", f);
				puts_file(dir, rel, text);
				snprintf(rel, sizeof(rel), "fam%03ld/_cycle_b_yaml", f);
				puts_file(dir, rel, "include: broken_cycle.yaml\n");
			} else {
				puts_file(dir, rel, "");
			}
		} else if (j == 3 && f % 7 == 0) {
			/* zz_ sorts after sub*: the original registers first */
			snprintf(rel, sizeof(rel), "fam%03ld/zz_dup.yaml", f);
			snprintf(text, sizeof(text), "include: _default_template_yaml\ntask: fam%03ld_s0_t004\n", f);
			puts_file(dir, rel, text);
		} else {
			snprintf(name, sizeof(name), "fam%03ld_s%ld_t%03ld", f, sub, j);
			snprintf(rel, sizeof(rel), "fam%03ld/sub%ld/%s.yaml", f, sub, name);
			int n = snprintf(text, sizeof(text), "include: ../_default_template_yaml\ntask: %s\n"
					 "description: synthetic task %ld of family %ld\n", name, j, f);
			if (j % 3 == 0)
				n += snprintf(text + n, sizeof(text) - (size_t)n, "process_docs: !function utils.process_docs\n");
			char tag1[64], tag2[64];
			if (j % 7 == 0) {
				snprintf(tag1, sizeof(tag1), "fam%03ld_s%ld_tag", f, sub);
				snprintf(tag2, sizeof(tag2), "shared_tag_%ld", j % 5);
				n += snprintf(text + n, sizeof(text) - (size_t)n, "tag:\n  - %s\n  - %s\n", tag1, tag2);
			}
			snprintf(text + n, sizeof(text) - (size_t)n, "num_fewshot: %ld\n", j % 6);
			puts_file(dir, rel, text);
			add_entry(name, "task");
			if (j % 7 == 0) {
				add_entry(tag1, "tag");
				add_entry(tag2, "tag");
			} else {
				snprintf(tag1, sizeof(tag1), "fam%03ld_tag", f);
				add_entry(tag1, "tag");
			}
		}
	}
	qsort(ents, nents, sizeof(*ents), cmp_ent);
	FILE *e = fopen(expected, "w");
	if (!e) {
		perror(expected);
		return 1;
	}
	for (size_t i = 0; i < nents; i++)
		if (i == 0 || strcmp(ents[i].name, ents[i - 1].name) != 0)
			fprintf(e, "%s\t%s\n", ents[i].name, ents[i].kind);
	if (fclose(e) != 0) {
		perror(expected);
		return 1;
	}
	free(ents);
	return 0;
}
