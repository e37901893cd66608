/* Unit tests for src/registry/: closest keys, path normalising, the index
 * blob's checks against corrupted caches, include merging, and a randomised
 * comparison of incremental (cached) indexing against a fresh build. */
#include "check.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "registry/index_int.h"
#include "registry/registry.h"
#include "util/buf.h"

static char tmpdir[256];

static void put(const char *rel, const char *text)
{
	char p[512], d[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	snprintf(d, sizeof(d), "%s", p);
	char *slash = strrchr(d, '/');
	*slash = '\0';
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", d);
	if (system(cmd) != 0)
		return;
	FILE *f = fopen(p, "w");
	if (!f)
		return;
	fputs(text, f);
	fclose(f);
}

static void rm(const char *rel)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", tmpdir, rel);
	unlink(p);
}

TEST(normalise_paths)
{
	char a[64] = "/a/b/../c/./d//e/";
	lle_reg_normalise(a);
	CHECK_STREQ(a, "/a/c/d/e");
	char b[64] = "x/../../y";
	lle_reg_normalise(b);
	CHECK_STREQ(b, "../y");
	char c[64] = "./";
	lle_reg_normalise(c);
	CHECK_STREQ(c, ".");
	char d[64] = "/../a";
	lle_reg_normalise(d);
	CHECK_STREQ(d, "/a");
}

/* A small index to corrupt. */
static struct lle_reg_source *small_source(void)
{
	put("t/a.yaml", "task: a\ntag: [t1, t2]\n");
	put("t/b.yaml", "include: _tmpl_yaml\ntask: b\n");
	put("t/_tmpl_yaml", "tag: t1\ndescription: from the template\n");
	char root[512];
	snprintf(root, sizeof(root), "%s/t", tmpdir);
	struct lle_err e = { 0 };
	return lle_reg_source_load(root, LLE_REG_TASKS, LLE_LAYOUT_HARNESS, NULL, NULL, &e);
}

static void rechecksum(unsigned char *blob, size_t n)
{
	memset(blob + offsetof(struct lle_idx_hdr, checksum), 0, 8);
	uint64_t sum = lle_idx_checksum(blob, n);
	memcpy(blob + offsetof(struct lle_idx_hdr, checksum), &sum, sizeof(sum));
}

TEST(index_entries)
{
	struct lle_reg_source *s = small_source();
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK_INTEQ(lle_reg_source_count(s), 4);
	struct lle_reg_entry e;
	lle_reg_source_entry(s, 0, &e);
	CHECK_STREQ(e.name, "a");
	lle_reg_source_entry(s, 1, &e);
	CHECK_STREQ(e.name, "b");
	CHECK_STREQ(e.description, "from the template");
	lle_reg_source_entry(s, 2, &e);
	CHECK_STREQ(e.name, "t1");
	CHECK_INTEQ(e.kind, LLE_KIND_TAG);
	CHECK_INTEQ(e.nmembers, 2);
	lle_reg_source_free(s);
}

TEST(corrupt_blobs_are_refused)
{
	struct lle_reg_source *s = small_source();
	CHECK(s != NULL);
	if (!s)
		return;
	size_t n = s->nblob;
	char note[128];
	/* Every single flipped byte is caught (by the checksum or the header). */
	for (size_t i = 0; i < n; i++) {
		unsigned char *b = malloc(n);
		memcpy(b, s->blob, n);
		b[i] ^= 0x5a;
		struct lle_reg_source t = { 0 };
		int rc = lle_idx_open_blob(&t, b, n, note, sizeof(note));
		CHECK(rc < 0);
		if (rc == 0)
			printf("#   byte %zu flipped was accepted\n", i);
		free(b);
	}
	/* Truncated at every length. */
	for (size_t len = 0; len < n; len += 7) {
		unsigned char *b = malloc(n);
		memcpy(b, s->blob, n);
		struct lle_reg_source t = { 0 };
		CHECK(lle_idx_open_blob(&t, b, len, note, sizeof(note)) < 0);
		free(b);
	}
	/* A valid checksum over bad offsets: the bounds checks catch them. */
	const struct lle_idx_hdr *h = s->h;
	size_t fields[] = {
		h->off_recs + offsetof(struct lle_idx_rec, name),
		h->off_recs + offsetof(struct lle_idx_rec, file),
		h->off_recs + offsetof(struct lle_idx_rec, dep0),
		h->off_entries + offsetof(struct lle_idx_entry, rec),
		h->off_entries + offsetof(struct lle_idx_entry, description),
		h->off_files + offsetof(struct lle_idx_file, path),
		offsetof(struct lle_idx_hdr, nrecs),
		offsetof(struct lle_idx_hdr, off_pool),
		offsetof(struct lle_idx_hdr, npool),
	};
	for (size_t k = 0; k < sizeof(fields) / sizeof(fields[0]); k++) {
		unsigned char *b = malloc(n);
		memcpy(b, s->blob, n);
		uint32_t big = 0x7ffffff0u;
		memcpy(b + fields[k], &big, 4);
		rechecksum(b, n);
		struct lle_reg_source t = { 0 };
		int rc = lle_idx_open_blob(&t, b, n, note, sizeof(note));
		CHECK(rc < 0);
		if (rc == 0)
			printf("#   field %zu accepted\n", k);
		free(b);
	}
	/* The untouched blob opens. */
	unsigned char *b = malloc(n);
	memcpy(b, s->blob, n);
	struct lle_reg_source t = { 0 };
	CHECK(lle_idx_open_blob(&t, b, n, note, sizeof(note)) == 0);
	free(b);
	lle_reg_source_free(s);
}

TEST(include_merge_order)
{
	put("m/x.yaml", "include: [one_yaml, two_yaml]\na: own\n");
	put("m/one_yaml", "a: one\nb: one\nc: one\n");
	put("m/two_yaml", "include: sub/three_yaml\nb: two\n");
	put("m/sub/three_yaml", "c: three\nd: three\n");
	char p[512];
	snprintf(p, sizeof(p), "%s/m/x.yaml", tmpdir);
	struct lle_err e = { 0 };
	char **files = NULL;
	size_t nfiles = 0;
	struct lle_node *n = lle_reg_load_full(p, &files, &nfiles, &e);
	CHECK(n != NULL);
	if (!n) {
		printf("#   %s\n", e.msg);
		return;
	}
	CHECK_STREQ(lle_node_str(n, "a"), "own");
	CHECK_STREQ(lle_node_str(n, "b"), "two");
	CHECK_STREQ(lle_node_str(n, "c"), "three"); /* two_yaml (and its include) comes after one_yaml */
	CHECK_STREQ(lle_node_str(n, "d"), "three");
	CHECK(lle_node_get(n, "include") == NULL);
	CHECK_INTEQ(nfiles, 4);
	CHECK(strstr(lle_node_get(n, "b")->file, "two_yaml") != NULL);
	CHECK_INTEQ(lle_node_get(n, "b")->line, 2);
	for (size_t i = 0; i < nfiles; i++)
		free(files[i]);
	free(files);
	lle_node_free(n);
}

/* The index (list) and full configs (show, validate, runs) resolve include:
 * with one implementation (include.c): the same merge order, and for a bad
 * include the index's note on the file holds the message a full load gives. */
TEST(include_index_agrees_with_full_load)
{
	static const struct {
		const char *rel, *text;
	} files[] = {
		{ "ia/order.yaml", "include: [_one_yaml, _two_yaml]\ntask: order\n" },
		{ "ia/_one_yaml", "description: one\ntag: one\n" },
		{ "ia/_two_yaml", "include: sub/_three_yaml\ndescription: two\n" },
		{ "ia/sub/_three_yaml", "tag: three\n" },
		{ "ia/cyc_a.yaml", "include: _cyc_b_yaml\ntask: cyc\n" },
		{ "ia/_cyc_b_yaml", "include: cyc_a.yaml\n" },
		{ "ia/null.yaml", "include:\ntask: nullinc\n" },
		{ "ia/mapitem.yaml", "include: [_one_yaml, {a: b}]\ntask: mapitem\n" },
		{ "ia/missing.yaml", "task: missing\ninclude: [_one_yaml, _gone_yaml]\n" },
		{ "ia/brokeninc.yaml", "include: _broken_yaml\ntask: brokeninc\n" },
		{ "ia/_broken_yaml", "tag: [x\n" },
	};
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		put(files[i].rel, files[i].text);
	char root[512], p[600];
	snprintf(root, sizeof(root), "%s/ia", tmpdir);
	struct lle_err e = { 0 };
	struct lle_reg_source *s = lle_reg_source_load(root, LLE_REG_TASKS, LLE_LAYOUT_HARNESS, NULL, NULL, &e);
	CHECK(s != NULL);
	if (!s)
		return;
	/* Merge order: _two_yaml's description wins over _one_yaml's, the
	 * tag of _three_yaml (included by _two_yaml) over _one_yaml's. */
	struct lle_reg_entry x;
	int found = 0;
	for (size_t i = 0; i < lle_reg_source_count(s); i++) {
		lle_reg_source_entry(s, i, &x);
		if (strcmp(x.name, "order") == 0) {
			found = 1;
			CHECK_STREQ(x.description, "two");
		}
		if (strcmp(x.name, "three") == 0)
			CHECK_INTEQ(x.kind, LLE_KIND_TAG);
		CHECK(strcmp(x.name, "one") != 0);
	}
	CHECK(found);
	snprintf(p, sizeof(p), "%s/order.yaml", root);
	struct lle_node *n = lle_reg_load_full(p, NULL, NULL, &e);
	CHECK(n != NULL);
	CHECK_STREQ(lle_node_str(n, "description"), "two");
	CHECK_STREQ(lle_node_str(n, "tag"), "three");
	lle_node_free(n);
	static const char *const bad[] = { "cyc_a.yaml", "null.yaml", "mapitem.yaml", "missing.yaml",
					   "brokeninc.yaml" };
	static const char *const want[] = {
		"/ia/_cyc_b_yaml:1:10: include cycle: ", /* then the chain */
		"/ia/null.yaml:1:9: 'include' must be a path or a list of paths",
		"/ia/mapitem.yaml:1:22: 'include' must be a path or a list of paths",
		"/ia/missing.yaml:2:22: cannot include '_gone_yaml': No such file or directory",
		"/ia/_broken_yaml:", /* its own syntax error */
	};
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		snprintf(p, sizeof(p), "%s/%s", root, bad[k]);
		memset(&e, 0, sizeof(e));
		CHECK(lle_reg_load_full(p, NULL, NULL, &e) == NULL);
		CHECK_INTEQ(e.code, LLE_EXIT_CONFIG);
		CHECK(strstr(e.msg, want[k]) != NULL);
		const char *ierr = NULL;
		for (size_t i = 0; i < lle_reg_source_nfiles(s); i++) {
			int kind;
			const char *name, *error = NULL, *f = lle_reg_source_file(s, i, &kind, &name, &error);
			if (strcmp(f, bad[k]) == 0)
				ierr = error;
		}
		CHECK(ierr && strstr(ierr, p) == ierr && strstr(ierr, e.msg));
		if (!(ierr && strstr(ierr, e.msg)))
			printf("#   %s: the index says '%s', a full load '%s'\n", bad[k], ierr ? ierr : "(nothing)", e.msg);
	}
	/* The cycle shows the chain from the file that starts it. */
	snprintf(p, sizeof(p), "%s/cyc_a.yaml", root);
	lle_reg_load_full(p, NULL, NULL, &e);
	char chain[2000];
	snprintf(chain, sizeof(chain), "include cycle: %s/cyc_a.yaml -> %s/_cyc_b_yaml -> %s/cyc_a.yaml", root, root,
		 root);
	CHECK(strstr(e.msg, chain) != NULL);
	lle_reg_source_free(s);
}

/* Listing of a source as text, for comparisons. */
static void listing(struct lle_reg_source *s, struct lle_buf *b)
{
	lle_buf_reset(b);
	for (size_t i = 0; i < lle_reg_source_count(s); i++) {
		struct lle_reg_entry e;
		lle_reg_source_entry(s, i, &e);
		lle_buf_printf(b, "%s %d %s %s %u %s:%u\n", e.name, e.kind, e.category, e.description, e.nmembers,
			       e.relpath, e.line);
	}
	for (size_t i = 0; i < lle_reg_source_ndiags(s); i++)
		lle_buf_printf(b, "! %s\n", lle_reg_source_diag(s, i, NULL));
}

TEST(incremental_matches_fresh)
{
	char root[512], cache[512];
	snprintf(root, sizeof(root), "%s/r", tmpdir);
	snprintf(cache, sizeof(cache), "%s/cache", tmpdir);
	mkdir(cache, 0755);
	struct lle_reg_opts with = { cache, 0 };
	struct lle_buf a = LLE_BUF_INIT, b = LLE_BUF_INIT;
	srand(42);
	char rel[128], text[256];
	int mismatches = 0;
	for (int round = 0; round < 60; round++) {
		/* A random edit: new or changed task, removed file, template change. */
		int f = rand() % 12, d = rand() % 3, what = rand() % 5;
		snprintf(rel, sizeof(rel), "r/d%d/f%d.yaml", d, f);
		if (what == 0) {
			rm(rel);
		} else if (what == 1) {
			snprintf(text, sizeof(text), "tag: tmpl_tag_%d\ncategory: c%d\n", rand() % 3, rand() % 2);
			snprintf(rel, sizeof(rel), "r/d%d/_t_yaml", d);
			put(rel, text);
		} else if (what == 2) {
			snprintf(text, sizeof(text), "group: g%d\ntask: [x]\n", rand() % 6);
			put(rel, text);
		} else {
			snprintf(text, sizeof(text), "include: _t_yaml\ntask: t%d\n%s", rand() % 20,
				 rand() % 2 ? "tag: [own, shared]\n" : "");
			put(rel, text);
		}
		struct lle_err e = { 0 };
		struct lle_reg_stats st;
		struct lle_reg_source *inc = lle_reg_source_load(root, LLE_REG_TASKS, LLE_LAYOUT_HARNESS, &with, &st, &e);
		struct lle_reg_source *fresh = lle_reg_source_load(root, LLE_REG_TASKS, LLE_LAYOUT_HARNESS, NULL, NULL, &e);
		CHECK(inc && fresh);
		if (!inc || !fresh)
			break;
		listing(inc, &a);
		listing(fresh, &b);
		if (strcmp(lle_buf_str(&a), lle_buf_str(&b)) != 0) {
			if (!mismatches++)
				printf("#   round %d:\n# cached:\n%s# fresh:\n%s", round, lle_buf_str(&a), lle_buf_str(&b));
		}
		lle_reg_source_free(inc);
		lle_reg_source_free(fresh);
	}
	CHECK_INTEQ(mismatches, 0);
	lle_buf_free(&a);
	lle_buf_free(&b);
}

TEST(search_path_merge)
{
	/* Three directories: a registry layout, a harness tree, another layout. */
	put("p1/models/a.yaml", "name: a\ndescription: first a\n");
	put("p1/models/b.yaml", "name: b\ndescription: b\n");
	put("p1/tasks/t.yaml", "task: t\n");
	put("p2/x/y.yaml", "task: t\ntag: tg\n");
	put("p3/models/a.yaml", "name: a\ndescription: last a\n");
	char d1[512], d2[512], d3[512];
	snprintf(d1, sizeof(d1), "%s/p1", tmpdir);
	snprintf(d2, sizeof(d2), "%s/p2", tmpdir);
	snprintf(d3, sizeof(d3), "%s/p3", tmpdir);
	const char *dirs[] = { "/nonexistent-builtin", d1, d2, d3 };
	struct lle_err e = { 0 };
	struct lle_registry *r = lle_registry_open(dirs, 4, 1, 1u << LLE_REG_MODELS | 1u << LLE_REG_TASKS, NULL, &e);
	CHECK(r != NULL);
	if (!r)
		return;
	CHECK_INTEQ(lle_registry_count(r, LLE_REG_MODELS), 2);
	struct lle_reg_entry x;
	CHECK(lle_registry_find(r, LLE_REG_MODELS, "a", &x));
	CHECK_STREQ(x.description, "last a");
	CHECK_INTEQ(x.source, 1); /* the second models source: p3 */
	CHECK(!lle_registry_find(r, LLE_REG_MODELS, "zz", NULL));
	CHECK_INTEQ(lle_registry_count(r, LLE_REG_TASKS), 2); /* t (from p2, later), tg */
	CHECK(lle_registry_find(r, LLE_REG_TASKS, "t", &x));
	CHECK(strstr(x.root, "/p2") != NULL);
	CHECK(lle_registry_find(r, LLE_REG_TASKS, "tg", &x) && x.kind == LLE_KIND_TAG);
	CHECK_INTEQ(lle_registry_ndiags(r), 2);
	CHECK(strstr(lle_registry_diag(r, 0), "model 'a' overrides the one in") != NULL ||
	      strstr(lle_registry_diag(r, 1), "model 'a' overrides the one in") != NULL);
	lle_registry_free(r);
	/* A missing directory after the fixed ones is an error. */
	const char *bad[] = { d1, "/nonexistent-include" };
	CHECK(lle_registry_open(bad, 2, 1, 1u << LLE_REG_MODELS, NULL, &e) == NULL);
	CHECK(strstr(e.msg, "include path '/nonexistent-include'") != NULL);
	CHECK_INTEQ(e.code, LLE_EXIT_CONFIG);
}

TEST(key_positions)
{
	put("k/f.yaml", "# comment\nname: x\nbackends:\n  llamacpp:\n    guff: y\n\"quoted\": 1\n");
	char p[512];
	snprintf(p, sizeof(p), "%s/k/f.yaml", tmpdir);
	struct lle_err e = { 0 };
	struct lle_node *n = lle_yaml_load_file(p, 0, &e);
	CHECK(n != NULL);
	if (!n)
		return;
	unsigned line, col;
	lle_reg_key_pos(lle_node_get(n, "name"), "name", &line, &col);
	CHECK(line == 2 && col == 1);
	lle_reg_key_pos(lle_node_get(n, "backends"), "backends", &line, &col);
	CHECK(line == 3 && col == 1);
	const struct lle_node *l = lle_node_get(lle_node_get(n, "backends"), "llamacpp");
	lle_reg_key_pos(lle_node_get(l, "guff"), "guff", &line, &col);
	CHECK(line == 5 && col == 5);
	lle_reg_key_pos(lle_node_get(n, "quoted"), "quoted", &line, &col);
	CHECK_INTEQ(line, 6);
	CHECK_INTEQ(col, 1);
	lle_node_free(n);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/lle-reg-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(normalise_paths);
	RUN(index_entries);
	RUN(corrupt_blobs_are_refused);
	RUN(include_merge_order);
	RUN(include_index_agrees_with_full_load);
	RUN(incremental_matches_fresh);
	RUN(search_path_merge);
	RUN(key_positions);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		return 1;
	return check_done();
}
