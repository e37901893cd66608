/* The planner's models and backends (lle_run_plan in plan.c calls these
 * steps in turn): a registry model's backend section and its GGUF file, or
 * --model-path; the plugin's options from the registry and --model-args,
 * less the keys the engine reads itself (think_end_token, bos_token,
 * eos_token, tokenizer_config); with --apply-chat-template each model's
 * chat template, found before any model loads; each backend loaded from
 * the plan's catalog; the option values to keep secret.
 *
 * What it does not do: choose which models to plan (lle_run_plan), plan
 * tasks or groups (plan.c), or open a model. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/describe.h"
#include "run/gguf_meta.h"
#include "run/plan_int.h"
#include "util/buf.h"
#include "util/path.h"

static char *default_model_dir(void)
{
	const char *env = getenv("LLM_EVAL_MODEL_DIR");
	if (env && *env)
		return lle_strdup(env);
	char *data = lle_xdg_dir("data");
	if (!data)
		return NULL;
	char *dir = lle_path_join(data, "models");
	free(data);
	return dir;
}

static int file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A backend section's keys become key=value options for its plugin (lists
 * joined with ','), but for the keys the planner itself reads (skip, NULL
 * ended). */
static int section_options(struct plan_model *m, const struct lle_node *sec, const char *const *skip)
{
	for (size_t i = 0; sec && sec->kind == LLE_NODE_MAP && i < sec->n; i++) {
		const struct lle_node *v = sec->items[i];
		int skipped = 0;
		for (const char *const *k = skip; *k && !skipped; k++)
			skipped = strcmp(sec->keys[i], *k) == 0;
		if (skipped)
			continue;
		struct lle_buf b = LLE_BUF_INIT;
		lle_buf_printf(&b, "%s=", sec->keys[i]);
		if (v->kind == LLE_NODE_SCALAR)
			lle_buf_adds(&b, v->str);
		else if (v->kind == LLE_NODE_SEQ)
			for (size_t j = 0; j < v->n; j++)
				if (v->items[j]->kind == LLE_NODE_SCALAR)
					lle_buf_printf(&b, "%s%s", j ? "," : "", v->items[j]->str);
		char *s = lle_buf_detach(&b);
		int rc = s ? plan_strv_push(&m->options, &m->noptions, s) : -1;
		free(s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* --model-args, after the registry's options (a later one wins): K=V pairs
 * split at commas, where a part without '=' continues the value before it
 * (base_url=http://a/v1,http://b/v1). */
static int cli_options(struct plan_model *m, const struct lle_run_opts *o, struct lle_err *err)
{
	for (size_t i = 0; i < o->nmodel_args; i++) {
		char *all = lle_strdup(o->model_args[i]);
		struct lle_buf cur = LLE_BUF_INIT;
		int rc = all ? 0 : -1;
		for (char *sp = NULL, *t = all ? strtok_r(all, ",", &sp) : NULL; t && rc == 0;
		     t = strtok_r(NULL, ",", &sp)) {
			if (strchr(t, '=')) {
				if (cur.n)
					rc = plan_strv_push(&m->options, &m->noptions, lle_buf_str(&cur));
				lle_buf_reset(&cur);
				if (rc == 0 && t[0] == '=')
					rc = -2;
				if (rc == 0)
					rc = lle_buf_adds(&cur, t);
			} else if (cur.n) {
				rc = lle_buf_printf(&cur, ",%s", t);
			} else {
				rc = -2;
			}
		}
		if (rc == 0 && cur.n)
			rc = plan_strv_push(&m->options, &m->noptions, lle_buf_str(&cur));
		lle_buf_free(&cur);
		free(all);
		if (rc == -2)
			return lle_err_set(err, LLE_EXIT_USAGE, "--model-args '%s': want KEY=VALUE[,KEY=VALUE...]",
					   o->model_args[i]);
		if (rc < 0)
			return lle_err_oom(err);
	}
	return 0;
}

/* think_end_token=..., and the chat template's bos_token=, eos_token= and
 * tokenizer_config=, among the options are the engine's, not the backend's
 * (think_end_token is the harness's model argument): taken out, the last
 * one winning. */
static int take_host_keys(struct plan_model *m, struct lle_err *err)
{
	struct {
		const char *key;
		char **dst;
	} keys[] = { { "think_end_token=", &m->think_end }, { "bos_token=", &m->bos_token },
		     { "eos_token=", &m->eos_token }, { "tokenizer_config=", &m->tokenizer_config } };
	size_t j = 0;
	for (size_t i = 0; i < m->noptions; i++) {
		size_t k = 0, nk = sizeof(keys) / sizeof(keys[0]);
		while (k < nk && strncmp(m->options[i], keys[k].key, strlen(keys[k].key)))
			k++;
		if (k == nk) {
			m->options[j++] = m->options[i];
			continue;
		}
		free(*keys[k].dst);
		*keys[k].dst = lle_strdup(m->options[i] + strlen(keys[k].key));
		m->think_end_given |= k == 0;
		free(m->options[i]);
		if (!*keys[k].dst) {
			for (i++; i < m->noptions; i++) /* the rest, kept for plan_model_fini */
				m->options[j++] = m->options[i];
			m->noptions = j;
			return lle_err_oom(err);
		}
	}
	m->noptions = j;
	return 0;
}

static int add_model(struct lle_plan *p, struct plan_model *m, struct lle_err *err)
{
	if (take_host_keys(m, err) < 0) {
		plan_model_fini(m);
		return -1;
	}
	for (size_t i = 0; i < p->nmodels; i++)
		if (strcmp(p->models[i].name, m->name) == 0) {
			plan_model_fini(m);
			return 0;
		}
	struct plan_model *nm = realloc(p->models, (p->nmodels + 1) * sizeof(*nm));
	if (!nm) {
		plan_model_fini(m);
		return lle_err_oom(err);
	}
	p->models = nm;
	p->models[p->nmodels++] = *m;
	return 0;
}

int plan_resolve_registry_model(struct lle_plan *p, struct lle_registry *reg, const char *name,
				  const struct lle_run_opts *o, struct lle_err *err)
{
	struct lle_reg_entry ent;
	const struct lle_reg_entry *e = lle_registry_find(reg, LLE_REG_MODELS, name, &ent) ? &ent : NULL;
	if (!e)
		return plan_unknown_name(reg, LLE_REG_MODELS, "model", name, err);
	char *path = plan_entry_path(e);
	if (!path)
		return lle_err_oom(err);
	struct lle_node *cfg = lle_reg_load_full(path, NULL, NULL, err);
	if (!cfg) {
		free(path);
		return -1;
	}
	struct plan_model m = { 0 };
	int rc = -1;
	const char *backend = o->backend ? o->backend : lle_node_str(cfg, "backend");
	if (!backend)
		backend = LLE_DEFAULT_BACKEND;
	const struct lle_node *bcfg = lle_node_get(lle_node_get(cfg, "backends"), backend);
	m.name = lle_strdup(name);
	m.backend = lle_strdup(backend);
	const char *tmpl = lle_node_str(cfg, "chat_template");
	if (tmpl && strcmp(tmpl, "none") != 0)
		m.chat_template = lle_strdup(tmpl);
	const char *think = lle_node_str(cfg, "think_end_token");
	if (think && !(m.think_end = lle_strdup(think))) {
		lle_err_oom(err);
		goto out;
	}
	m.think_end_given = think != NULL;
	const char *bos = lle_node_str(cfg, "bos_token"), *eos = lle_node_str(cfg, "eos_token");
	const char *tokcfg = lle_node_str(cfg, "tokenizer_config");
	if ((bos && !(m.bos_token = lle_strdup(bos))) || (eos && !(m.eos_token = lle_strdup(eos))) ||
	    (tokcfg && !(m.tokenizer_config = lle_strdup(tokcfg)))) {
		lle_err_oom(err);
		goto out;
	}
	if (!m.name || !m.backend || (tmpl && strcmp(tmpl, "none") != 0 && !m.chat_template)) {
		lle_err_oom(err);
		goto out;
	}
	if (!bcfg) {
		lle_err_set(err, LLE_EXIT_CONFIG, "%s: model '%s' has no 'backends.%s' section", path, name,
			    backend);
		goto out;
	}
	/* A backend that does not load is reported by check_backends, after
	 * the tasks, as before any model's files are looked at. */
	struct lle_err berr = { 0 };
	m.be = lle_backend_catalog_get(p->backends, backend, &berr);
	if (lle_backend_caps(m.be) & LLE_CAP_MODEL_FILE) {
		const char *gguf = lle_node_str(bcfg, "gguf");
		if (!gguf) {
			lle_err_set(err, LLE_EXIT_CONFIG, "%s: model '%s': backends.%s has no 'gguf' file name",
				    path, name, backend);
			goto out;
		}
		char *dir = o->model_dir ? lle_strdup(o->model_dir) : default_model_dir();
		m.model = dir ? lle_path_join(dir, gguf) : lle_strdup(gguf);
		free(dir);
		if (!m.model) {
			lle_err_oom(err);
			goto out;
		}
		if (!file_exists(m.model)) {
			const char *repo = lle_node_str(bcfg, "gguf_repo");
			lle_err_set(err, LLE_EXIT_CONFIG,
				    "model '%s': expected the GGUF file '%s' (set --model-dir or LLM_EVAL_MODEL_DIR%s%s)",
				    name, m.model, repo ? "; it is published in " : "", repo ? repo : "");
			goto out;
		}
		/* n_ctx, n_gpu_layers, ...: options of the plugin */
		static const char *const skip[] = { "gguf", "gguf_repo", NULL };
		if (section_options(&m, bcfg, skip) < 0) {
			lle_err_oom(err);
			goto out;
		}
	} else {
		/* Server backends: the served model name and every other scalar or
		 * list of the section become key=value options for the plugin. */
		const char *served = lle_node_str(bcfg, "model");
		m.model = lle_strdup(served ? served : name);
		if (!m.model) {
			lle_err_oom(err);
			goto out;
		}
		static const char *const skip[] = { "model", NULL };
		if (section_options(&m, bcfg, skip) < 0) {
			lle_err_oom(err);
			goto out;
		}
	}
	if (cli_options(&m, o, err) < 0)
		goto out;
	rc = add_model(p, &m, err);
	memset(&m, 0, sizeof(m));
out:
	plan_model_fini(&m);
	lle_node_free(cfg);
	free(path);
	return rc;
}

int plan_resolve_model_path(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err)
{
	if (!file_exists(o->model_path))
		return lle_err_set(err, LLE_EXIT_CONFIG, "--model-path '%s': %s", o->model_path,
				   access(o->model_path, F_OK) == 0 ? "not a regular file" : strerror(errno));
	struct plan_model m = { 0 };
	const char *base = strrchr(o->model_path, '/');
	base = base ? base + 1 : o->model_path;
	m.name = lle_strdup(base);
	m.backend = lle_strdup(o->backend ? o->backend : LLE_DEFAULT_BACKEND);
	m.model = lle_strdup(o->model_path);
	if (!m.name || !m.backend || !m.model) {
		plan_model_fini(&m);
		return lle_err_oom(err);
	}
	char *dot = strrchr(m.name, '.');
	if (dot && strcmp(dot, ".gguf") == 0)
		*dot = '\0';
	struct lle_err berr = { 0 };
	m.be = lle_backend_catalog_get(p->backends, m.backend, &berr); /* NULL: check_backends says why */
	if (cli_options(&m, o, err) < 0) {
		plan_model_fini(&m);
		return -1;
	}
	return add_model(p, &m, err);
}

/* --apply-chat-template needs a template: the registry's name for one, or
 * the GGUF file's own (tokenizer.chat_template). Found here rather than once
 * the model has loaded, which for a large model takes minutes. A file that
 * does not parse as GGUF is left to the backend to report. */
int plan_check_chat_templates(struct lle_plan *p, const struct lle_run_opts *o, struct lle_err *err)
{
	if (!o->apply_chat_template)
		return 0;
	for (size_t i = 0; i < p->nmodels; i++) {
		struct plan_model *m = &p->models[i];
		uint64_t need = LLE_CAP_MODEL_FILE | LLE_CAP_CHAT_TEMPLATE;
		const char *spec = o->chat_template ? o->chat_template : m->chat_template;
		if ((lle_backend_caps(m->be) & need) != need || !m->model) {
			/* a served model: a Jinja template given is rendered here and
			 * the text goes to the completions endpoint; with endpoint=chat
			 * (or a template's name) the server renders its own */
			int server_renders = 0;
			for (size_t k = 0; k < m->noptions; k++)
				server_renders |= !strcmp(m->options[k], "endpoint=chat");
			struct lle_chat_src src = { spec, o->chat_template != NULL, NULL, m->tokenizer_config,
						    m->bos_token, m->eos_token };
			if ((spec || m->tokenizer_config) && !server_renders &&
			    lle_chat_open(&src, m->name, &m->chat, err) < 0)
				return -1;
			if (m->chat && !m->think_end_given && lle_chat_default_think_end(m->chat) &&
			    !(m->think_end = lle_strdup(lle_chat_default_think_end(m->chat))))
				return lle_err_oom(err);
			continue;
		}
		/* a Jinja template (the command line's, the registry's, the GGUF's)
		 * is rendered here; the backend then parses special tokens and adds
		 * no BOS, as transformers tokenises a rendered chat */
		struct lle_chat_src src = { spec, o->chat_template != NULL, m->model, m->tokenizer_config,
					    m->bos_token, m->eos_token };
		if (lle_chat_open(&src, m->name, &m->chat, err) < 0)
			return -1;
		if (m->chat && !m->think_end_given && lle_chat_default_think_end(m->chat) &&
		    !(m->think_end = lle_strdup(lle_chat_default_think_end(m->chat))))
			return lle_err_oom(err);
		if (m->chat) {
			char **v = realloc(m->options, (m->noptions + 1) * sizeof(*v));
			if (!v || !(v[m->noptions] = lle_strdup("special_tokens=1")))
				return v ? (m->options = v, lle_err_oom(err)) : lle_err_oom(err);
			m->options = v;
			m->noptions++;
			continue;
		}
		if (spec)
			continue; /* a llama.cpp built-in name: the backend renders it */
		if (lle_gguf_has_key(m->model, "tokenizer.chat_template") == 0)
			return lle_err_set(err, LLE_EXIT_CONFIG,
					   "model '%s': --apply-chat-template, but '%s' has no chat template "
					   "(tokenizer.chat_template): name one of llama.cpp's built-in "
					   "templates (chatml, llama3, ...) as chat_template in the model's "
					   "registry entry, or run without --apply-chat-template",
					   m->name, m->model);
	}
	return 0;
}

/* Every backend the plan uses must load (without opening a model): the
 * plan's catalog loaded each one while resolving its models and keeps it
 * open, so these calls only say again why one did not load. */
int plan_check_backends(struct lle_plan *p, struct lle_err *err)
{
	for (size_t i = 0; i < p->nmodels; i++) {
		if (!lle_backend_catalog_get(p->backends, p->models[i].backend, err)) {
			lle_err_prefix(err, "model '%s'", p->models[i].name);
			return -1;
		}
	}
	return 0;
}

/* The secret values of each model's options, removed from whatever its
 * plugin says (lle_secrets_scrub). */
int plan_collect_secrets(struct lle_plan *p, struct lle_err *err)
{
	for (size_t i = 0; i < p->nmodels; i++) {
		struct plan_model *m = &p->models[i];
		if (lle_secrets_collect(&m->secrets, m->be, (const char *const *)m->options, m->noptions) < 0)
			return lle_err_oom(err);
	}
	return 0;
}

void plan_model_fini(struct plan_model *m)
{
	free(m->name);
	free(m->backend);
	free(m->model);
	free(m->chat_template);
	lle_chat_free(m->chat);
	free(m->think_end);
	free(m->bos_token);
	free(m->eos_token);
	free(m->tokenizer_config);
	plan_strv_free(m->options, m->noptions);
	lle_secrets_free(&m->secrets);
	memset(m, 0, sizeof(*m));
}
