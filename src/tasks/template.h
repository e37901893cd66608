/* Templates: the subset of Jinja that lm-evaluation-harness task configs use
 * in doc_to_text, doc_to_target, doc_to_choice and description, compiled
 * once per task and rendered per document, with the harness's Jinja settings
 * (StrictUndefined, keep_trailing_newline, no autoescape, no trim_blocks).
 *
 * Supported (docs/tasks.md has the full list with examples):
 *   {{ expr }}  {% if %}/{% elif %}/{% else %}/{% endif %}
 *   {% for x in xs %}...{% endfor %} with loop.index, loop.index0, loop.first,
 *   loop.last, loop.length;  {% set x = expr %};  {# comments #};
 *   whitespace control {%- -%} {{- -}};
 *   literals: 'str', "str", 12, 1.5, true/false/none, [lists], {dicts};
 *   a.b  a[0]  a[-1]  a[1:3]  a['k'];  methods strip lstrip rstrip split index
 *   find lower upper capitalize replace join startswith endswith get keys values;
 *   filters trim lower upper capitalize join replace int float string length
 *   count first last default list map regex_replace (the harness's re.sub);
 *   range(); tests defined undefined none string number;  and or not == !=
 *   < > <= >= in, not in;  + - * / // % **  ~;  `a if c else b`.
 * Anything else (macros, blocks, unknown filters or methods)
 * is a compile error naming the position. Values print as Python's str():
 * a list prints as "['a', 'b']", 1.0 as "1.0", None as "None". Arithmetic
 * is Python's, on 64-bit integers: a result that does not fit (Python's
 * ints are unbounded) or a float that is not finite is a render error.
 * The implementation is template_*.c (template_int.h says which phase is
 * where); tests/template/template.test holds the cases, checked against
 * Jinja2. */
#ifndef LLE_TASKS_TEMPLATE_H
#define LLE_TASKS_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

#include "util/err.h"

struct lle_tpl;

/* Compile src. `who` prefixes errors, e.g. "gsm8k.yaml:7:14: task 'gsm8k':
 * doc_to_text"; the message then says "at character N" (1-based in src) and
 * what is unsupported or malformed (code LLE_EXIT_CONFIG). */
struct lle_tpl *lle_tpl_compile(const char *src, const char *who, struct lle_err *err);
/* Compile a chat template, for the environment the transformers library
 * renders chat templates in (its chat_template_utils.py): trim_blocks and
 * lstrip_blocks, no keep_trailing_newline, newlines normalised to "\n",
 * Jinja's default (lenient) Undefined, {% break %}/{% continue %},
 * {% macro %}, block {% set %}, `set ns.attr`, `for a, b in ... if ...`,
 * {% generation %}; the globals namespace(), raise_exception(),
 * strftime_now(); transformers' tojson; the filters and tests chat
 * templates use. Render it with lle_tpl_render, the document being the
 * variables (messages, add_generation_prompt, bos_token, ...). */
struct lle_tpl *lle_tpl_compile_chat(const char *src, const char *who, struct lle_err *err);
void lle_tpl_free(struct lle_tpl *t);
/* Render with the fields of `doc` (a JSON object) as variables. Returns a
 * malloc()ed string (*len its length, may be NULL). Errors (code
 * LLE_EXIT_DATA) start with `who`, e.g. "task 'gsm8k': doc 17: doc_to_text:
 * missing field 'question'". */
char *lle_tpl_render(const struct lle_tpl *t, const json_t *doc, const char *who, size_t *len,
		     struct lle_err *err);
/* The source text it was compiled from. */
const char *lle_tpl_source(const struct lle_tpl *t);

#endif
