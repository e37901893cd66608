/* Chat templates rendered by the engine (see chat.h): where the template
 * comes from (the command line, the registry, a tokenizer_config.json, the
 * GGUF file), its variables as transformers' apply_chat_template passes
 * them (messages, add_generation_prompt, bos_token and eos_token given or
 * from the tokenizer config or the GGUF's vocabulary), continue_final_message
 * for gen_prefix, multiple inputs as the harness renders them, and the
 * conversation handed to a backend that renders it itself (its JSON text
 * and the ABI's lle_message array). The rendering itself is the
 * template engine's (src/tasks/template*.c); tokenising the result, with
 * special tokens parsed and no BOS added, is the backend's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "run/chat.h"
#include "run/gguf_meta.h"
#include "tasks/template.h"
#include "tasks/template_int.h" /* lle_tpl_json_dumps: Python's json.dumps */
#include "util/buf.h"

/* Values marked static for a while (jansson's refcount (size_t)-1, which
 * incref and decref leave alone, as for its true/false/null), with the
 * counts they get back (see lle_chat_render). */
struct pinned {
	struct pin_item {
		json_t *v;
		size_t rc;
	} *it, local[48];  /* it: local until more are needed (a chat of ~20 turns) */
	size_t n, cap;
};

static int pin(struct pinned *p, json_t *v)
{
	if (!v || v->refcount == (size_t)-1)
		return 0;
	if (!p->it) {
		p->it = p->local;
		p->cap = sizeof(p->local) / sizeof(p->local[0]);
	}
	if (p->n == p->cap) {
		struct pin_item *ni = malloc(2 * p->cap * sizeof(*ni));
		if (!ni)
			return -1;
		memcpy(ni, p->it, p->n * sizeof(*ni));
		if (p->it != p->local)
			free(p->it);
		p->it = ni;
		p->cap *= 2;
	}
	p->it[p->n].v = v;
	p->it[p->n++].rc = v->refcount;
	v->refcount = (size_t)-1;
	if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++)
			if (pin(p, json_array_get(v, i)) < 0)
				return -1;
	} else if (json_is_object(v)) {
		const char *k;
		json_t *x;
		json_object_foreach(v, k, x)
			if (pin(p, x) < 0)
				return -1;
	}
	return 0;
}

static void unpin(struct pinned *p)
{
	for (size_t i = p->n; i-- > 0;)
		p->it[i].v->refcount = p->it[i].rc;
	if (p->it != p->local)
		free(p->it);
	p->it = NULL;
	p->n = p->cap = 0;
}

static int pin_literal(void *user, json_t *v)
{
	return pin(user, v);
}

struct lle_chat {
	struct lle_tpl *tpl;
	char *bos, *eos;
	char *origin;
	struct pinned lit; /* the template's literals, static while it lives */
};

void lle_chat_free(struct lle_chat *c)
{
	if (!c)
		return;
	unpin(&c->lit);
	lle_tpl_free(c->tpl);
	free(c->bos);
	free(c->eos);
	free(c->origin);
	free(c);
}

const char *lle_chat_origin(const struct lle_chat *c) { return c->origin; }

static int is_jinja(const char *s)
{
	return strstr(s, "{{") || strstr(s, "{%");
}

static int names_file(const char *s)
{
	struct stat st;
	size_t n = strlen(s);
	return (n > 6 && !strcmp(s + n - 6, ".jinja")) || (strchr(s, '/') && stat(s, &st) == 0);
}

static char *read_text(const char *path, struct lle_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		lle_err_set(err, LLE_EXIT_CONFIG, "chat template '%s': cannot read it", path);
		return NULL;
	}
	struct lle_buf b = LLE_BUF_INIT;
	char chunk[8192];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		lle_buf_add(&b, chunk, n);
	int bad = ferror(f);
	fclose(f);
	if (bad || b.oom) {
		lle_buf_free(&b);
		if (bad)
			lle_err_set(err, LLE_EXIT_CONFIG, "chat template '%s': read error", path);
		else
			lle_err_oom(err);
		return NULL;
	}
	char *s = lle_buf_detach(&b);
	if (!s)
		lle_err_oom(err);
	return s;
}

/* A special token of tokenizer_config.json: a string, or transformers'
 * AddedToken as {"content": ..., "__type": "AddedToken", ...}; null or
 * absent: none (the template then sees it undefined). */
static const char *special_token(const json_t *cfg, const char *key)
{
	const json_t *v = json_object_get(cfg, key);
	if (json_is_object(v))
		v = json_object_get(v, "content");
	return json_string_value(v);
}

/* What rendering takes from a tokenizer_config.json (the file transformers'
 * AutoTokenizer, hence lm-evaluation-harness and vLLM, read): its
 * bos_token and eos_token, and its chat_template (a string, or a list of
 * {name, template} of which "default" is taken, as apply_chat_template
 * does without a name), else the chat_template.jinja beside it (where
 * transformers saves the template since 4.47). tmpl NULL: no template. */
struct tokcfg {
	char *tmpl, *bos, *eos;
	int has_bos, has_eos;
};

static void tokcfg_free(struct tokcfg *t)
{
	free(t->tmpl);
	free(t->bos);
	free(t->eos);
	memset(t, 0, sizeof(*t));
}

static int read_tokcfg(const char *path, struct tokcfg *t, struct lle_err *err)
{
	memset(t, 0, sizeof(*t));
	json_error_t je;
	json_t *cfg = json_load_file(path, JSON_DECODE_ANY, &je);
	if (!cfg)
		return lle_err_set(err, LLE_EXIT_CONFIG, "tokenizer_config '%s': %s (line %d)", path, je.text, je.line);
	if (!json_is_object(cfg)) {
		json_decref(cfg);
		return lle_err_set(err, LLE_EXIT_CONFIG, "tokenizer_config '%s': not a JSON object", path);
	}
	const char *bos = special_token(cfg, "bos_token"), *eos = special_token(cfg, "eos_token");
	const json_t *ct = json_object_get(cfg, "chat_template");
	const char *tmpl = json_string_value(ct);
	if (json_is_array(ct)) {
		size_t i;
		const json_t *x;
		json_array_foreach(ct, i, x)
			if (!tmpl && !strcmp(json_string_value(json_object_get(x, "name")) ?
					     json_string_value(json_object_get(x, "name")) : "", "default"))
				tmpl = json_string_value(json_object_get(x, "template"));
		if (!tmpl) {
			json_decref(cfg);
			return lle_err_set(err, LLE_EXIT_CONFIG, "tokenizer_config '%s': its chat_template is a list "
					   "of named templates without one named 'default'; give the one wanted with "
					   "--apply-chat-template=FILE", path);
		}
	}
	int rc = 0;
	t->has_bos = bos != NULL;
	t->has_eos = eos != NULL;
	if ((bos && !(t->bos = lle_strdup(bos))) || (eos && !(t->eos = lle_strdup(eos))) ||
	    (tmpl && !(t->tmpl = lle_strdup(tmpl))))
		rc = lle_err_oom(err);
	json_decref(cfg);
	if (rc == 0 && !tmpl) {
		const char *slash = strrchr(path, '/');
		struct lle_buf b = LLE_BUF_INIT;
		if (slash)
			lle_buf_add(&b, path, (size_t)(slash - path + 1));
		lle_buf_adds(&b, "chat_template.jinja");
		struct stat st;
		if (b.oom)
			rc = lle_err_oom(err);
		else if (stat(lle_buf_str(&b), &st) == 0 && !(t->tmpl = read_text(lle_buf_str(&b), err)))
			rc = -1;
		lle_buf_free(&b);
	}
	if (rc < 0)
		tokcfg_free(t);
	return rc;
}

static int set_token(char **dst, const char *given, const char *cfg, int cfg_has, const char *gguf,
		     struct lle_err *err)
{
	const char *v = given ? given : cfg_has ? cfg : gguf;
	if (v && !(*dst = lle_strdup(v)))
		return lle_err_oom(err);
	return 0;
}

int lle_chat_open(const struct lle_chat_src *cs, const char *who, struct lle_chat **out, struct lle_err *err)
{
	*out = NULL;
	const char *spec = cs->spec;
	struct lle_gguf_chat g = { 0 };
	struct tokcfg tc = { 0 };
	if (cs->gguf && lle_gguf_chat_info(cs->gguf, &g) < 0)
		memset(&g, 0, sizeof(g)); /* the backend reports a file it cannot read */
	if (cs->tokenizer_config && read_tokcfg(cs->tokenizer_config, &tc, err) < 0) {
		lle_gguf_chat_free(&g);
		return -1;
	}
	char *src = NULL, origin[600];
	int rc = 0;
	if (spec && is_jinja(spec)) {
		src = lle_strdup(spec);
		snprintf(origin, sizeof(origin), "%s's chat_template (inline)",
			 cs->spec_from_cli ? "--apply-chat-template" : "the registry entry");
	} else if (spec && names_file(spec)) {
		if (!(src = read_text(spec, err)))
			rc = -1;
		snprintf(origin, sizeof(origin), "chat template file '%.500s'", spec);
	} else if (tc.tmpl && !(spec && cs->spec_from_cli)) {
		src = tc.tmpl;
		tc.tmpl = NULL;
		snprintf(origin, sizeof(origin), "tokenizer_config '%.500s'", cs->tokenizer_config);
	} else if (g.chat_template && is_jinja(g.chat_template) && !(spec && cs->spec_from_cli)) {
		src = lle_strdup(g.chat_template);
		snprintf(origin, sizeof(origin), "'%.500s' (tokenizer.chat_template)", cs->gguf);
	} else {
		rc = 1; /* a llama.cpp built-in name, or nothing */
	}
	struct lle_chat *c = NULL;
	if (rc == 0) {
		/* bos_token/eos_token: the ones given, else the tokenizer
		 * config's, else the GGUF vocabulary's */
		c = calloc(1, sizeof(*c));
		if (!src || !c || !(c->origin = lle_strdup(origin)) ||
		    set_token(&c->bos, cs->bos_token, tc.bos, tc.has_bos, g.bos_token, err) < 0 ||
		    set_token(&c->eos, cs->eos_token, tc.eos, tc.has_eos, g.eos_token, err) < 0)
			rc = lle_err_oom(err);
	}
	lle_gguf_chat_free(&g);
	tokcfg_free(&tc);
	if (rc != 0) {
		free(src);
		lle_chat_free(c);
		return rc > 0 ? 0 : -1;
	}
	char cwho[800];
	snprintf(cwho, sizeof(cwho), "model '%s': %s", who, origin);
	c->tpl = lle_tpl_compile_chat(src, cwho, err);
	free(src);
	if (!c->tpl) {
		lle_chat_free(c);
		return -1;
	}
	/* a rendering takes and drops a reference to a literal each time it
	 * reads one: static, they cost no atomic instruction (the template
	 * only reads them; lle_chat_free gives the counts back first) */
	if (lle_tpl_each_literal(c->tpl, pin_literal, &c->lit) < 0) {
		lle_chat_free(c);
		return lle_err_oom(err);
	}
	*out = c;
	return 1;
}

char *lle_chat_render(const struct lle_chat *c, const json_t *messages, int add_generation_prompt,
		      const char *who, struct lle_err *err)
{
	/* tokenizer.apply_chat_template's variables; bos/eos are the
	 * tokenizer's special tokens, which a template may print */
	json_t *vars = json_pack("{sOsbss*ss*}", "messages", (json_t *)messages, "add_generation_prompt",
				 add_generation_prompt, "bos_token", c->bos, "eos_token", c->eos);
	if (!vars) {
		lle_err_oom(err);
		return NULL;
	}
	/* jansson counts references with atomic instructions, and a template
	 * takes and drops references to the messages at every step (most of
	 * a multi-turn rendering's time). The variables are marked static
	 * (jansson's refcount (size_t)-1, as its true/false/null are) while
	 * the template runs, which makes those free, and get their counts
	 * back after; the rendering's own values are counted as before. */
	struct pinned p;
	p.it = NULL;
	p.n = p.cap = 0;
	char *s = NULL;
	if (pin(&p, vars) < 0)
		lle_err_oom(err);
	else
		s = lle_tpl_render(c->tpl, vars, who, NULL, err);
	unpin(&p);
	json_decref(vars);
	return s;
}

const char *lle_chat_default_think_end(const struct lle_chat *c)
{
	return strstr(lle_tpl_source(c->tpl), "</think>") ? "</think>" : NULL;
}

char *lle_think_cut(const char *text, const char *think_end, const char *const *until, size_t nuntil)
{
	const char *s = text;
	if (think_end && *think_end) {
		/* generation.split(think_end_token)[-1].lstrip() */
		size_t m = strlen(think_end);
		for (const char *p = strstr(s, think_end); p; p = strstr(p + m, think_end))
			s = p + m;
		if (s != text)
			while (*s && strchr(" \t\n\r\f\v", *s))
				s++;
	}
	size_t n = strlen(s);
	for (size_t i = 0; i < nuntil; i++) { /* generation.split(term)[0], '' ignored */
		const char *hit = *until[i] ? strstr(s, until[i]) : NULL;
		if (hit && (size_t)(hit - s) < n)
			n = (size_t)(hit - s);
	}
	return lle_strndup(s, n);
}

/* Python's str.strip() bounds of s (ASCII whitespace and the rest of
 * str.isspace that chat content is likely to hold). */
static void strip_bounds(const char *s, size_t *a, size_t *b)
{
	size_t n = strlen(s), i = 0;
	while (i < n && strchr(" \t\n\r\f\v", s[i]))
		i++;
	while (n > i && strchr(" \t\n\r\f\v", s[n - 1]))
		n--;
	*a = i;
	*b = n;
}

/* Multiple inputs (winogrande) as lm-evaluation-harness v0.4.9.2 renders
 * them: fewshot_context gives `chat_template(labeled_examples)` (the system
 * turn and the examples, with the generation prompt; "" when there are
 * none), and construct_requests makes choice i's context `ctx +
 * chat_template([{"role": "user", "content": choice}])`, each with the
 * generation prompt (lm.apply_chat_template's default). */
static int apply_multiple_inputs(const struct lle_chat *c, struct lle_requests *rq, const char *who,
				 struct lle_err *err)
{
	char *ctx = json_array_size(rq->messages) ? lle_chat_render(c, rq->messages, 1, who, err) : lle_strdup("");
	if (!ctx)
		return json_array_size(rq->messages) ? -1 : lle_err_oom(err);
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < rq->nchoices; i++) {
		struct lle_buf b = LLE_BUF_INIT;
		lle_py_str(&b, json_array_get(rq->choices, i));
		json_t *m = b.oom ? NULL : json_pack("[{s:s,s:s%}]", "role", "user", "content", lle_buf_str(&b), b.n);
		lle_buf_free(&b);
		if (!m) {
			rc = lle_err_oom(err);
			break;
		}
		char *turn = lle_chat_render(c, m, 1, who, err);
		json_decref(m);
		if (!turn) {
			rc = -1;
			break;
		}
		lle_buf_adds(&b, ctx);
		lle_buf_adds(&b, turn);
		free(turn);
		char *s = lle_buf_detach(&b);
		if (!s) {
			rc = lle_err_oom(err);
			break;
		}
		free(rq->contexts[i]);
		rq->contexts[i] = s;
	}
	free(ctx);
	if (rc == 0) {
		char *first = lle_strdup(rq->contexts[0]);
		if (!first)
			return lle_err_oom(err);
		free(rq->context);
		rq->context = first;
	}
	return rc;
}

int lle_chat_apply(const struct lle_chat *c, struct lle_requests *rq, const char *who, struct lle_err *err)
{
	if (!rq->messages)
		return 0;
	if (rq->contexts)
		return apply_multiple_inputs(c, rq, who, err);
	size_t n = json_array_size(rq->messages);
	json_t *last = n ? json_array_get(rq->messages, n - 1) : NULL;
	const char *role = json_string_value(json_object_get(last, "role"));
	int cont = role && !strcmp(role, "assistant");
	char *s = lle_chat_render(c, rq->messages, !cont, who, err);
	if (!s)
		return -1;
	if (cont) {
		/* transformers' continue_final_message: the text up to the last
		 * occurrence of the final message's stripped content */
		const char *fin = json_string_value(json_object_get(last, "content"));
		size_t a, b;
		strip_bounds(fin ? fin : "", &a, &b);
		char *hit = b > a ? NULL : s + strlen(s); /* "" is found at the end */
		for (char *p = s; b > a && *p; p++)
			if (!strncmp(p, fin + a, b - a))
				hit = p;
		if (!hit) {
			free(s);
			return lle_err_set(err, LLE_EXIT_DATA, "%s: the chat template does not show the final "
					   "assistant message (gen_prefix) in what it renders", who);
		}
		hit[b - a] = '\0';
	}
	free(rq->context);
	rq->context = s;
	return 0;
}

int lle_chat_to_backend(struct lle_requests *rq, const char *sys, const char *delim, struct lle_err *err)
{
	if (!rq->messages)
		return 0;
	if (sys) {
		/* fewshot_context (lm_eval/api/task.py v0.4.9.2): the system
		 * prompt is `system_instruction + fewshot_delimiter +
		 * description`, or the instruction alone */
		json_t *first = json_array_get(rq->messages, 0);
		const char *role = json_string_value(json_object_get(first, "role"));
		int rc;
		if (role && !strcmp(role, "system")) {
			struct lle_buf b = LLE_BUF_INIT;
			lle_buf_adds(&b, sys);
			lle_buf_adds(&b, delim);
			json_t *c = json_object_get(first, "content");
			lle_buf_add(&b, json_string_value(c), json_string_length(c));
			json_t *js = b.oom ? NULL : json_stringn_nocheck(lle_buf_str(&b), b.n);
			lle_buf_free(&b);
			rc = js ? json_object_set_new(first, "content", js) : -1;
		} else if (*sys) { /* an empty one adds no turn */
			json_t *m = json_pack("{ssss}", "role", "system", "content", sys);
			rc = m ? json_array_insert_new(rq->messages, 0, m) : -1;
		} else {
			rc = 0;
		}
		if (rc < 0)
			return lle_err_oom(err);
	}
	/* the harness's API models hand the server json.loads of this text
	 * and log the text itself (JsonChatStr, lm_eval/models/api_models.py) */
	struct lle_buf b = LLE_BUF_INIT;
	if (lle_tpl_json_dumps(&b, rq->messages, -1, ", ", ": ", 0, 0) < 0 || b.oom) {
		lle_buf_free(&b);
		return lle_err_oom(err);
	}
	char *s = lle_buf_detach(&b);
	if (!s)
		return lle_err_oom(err);
	free(rq->context);
	rq->context = s;
	return 0;
}

struct lle_message *lle_chat_message_array(const json_t *messages, size_t *n)
{
	*n = json_array_size(messages);
	struct lle_message *v = calloc(*n ? *n : 1, sizeof(*v));
	for (size_t i = 0; v && i < *n; i++) {
		const json_t *m = json_array_get(messages, i);
		const json_t *c = json_object_get(m, "content");
		v[i].role = json_string_value(json_object_get(m, "role"));
		v[i].content = json_string_value(c);
		v[i].content_len = json_string_length(c);
	}
	return v;
}
