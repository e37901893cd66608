/* What a YAML value of a task config means to Python once PyYAML has read
 * it, for the harness's options that it tests as `if value:` (exact_match's
 * ignore_case, a filter's ignore_punctuation, a group's weight_by_size) or
 * as `value is True` (a metric's hf_evaluate).
 *
 * Not here: reading YAML (src/data/yaml.c), numbers or strings as values. */
#ifndef LLE_TASKS_YAMLTRUTH_H
#define LLE_TASKS_YAMLTRUTH_H

#include "data/yaml.h"

/* bool(yaml.safe_load(...)) of the node: false for null, a false boolean
 * (false/no/off in any of PyYAML's spellings), an integer or float zero as
 * PyYAML's YAML 1.1 resolver reads them (0, 00, 0_0, 0b0, 0x0, 0.0, .0,
 * -0.0e+5, 0:00.0), an empty string, list or map; true for everything else
 * ("0e0", "0o0", "08" and "nan" are strings to PyYAML; .nan is true). An
 * absent node (NULL) gives `dflt`. */
int lle_yaml_truthy(const struct lle_node *n, int dflt);
/* `value is True`: a YAML boolean true only. */
int lle_yaml_is_true(const struct lle_node *n);

#endif
