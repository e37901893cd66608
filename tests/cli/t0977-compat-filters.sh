#!/bin/sh
# Every filter of lm-evaluation-harness's registry (issue 14, item 11) end to
# end: `llm-eval run` on the harness-layout task tests/compat/filters/cf_all
# with the test backend's scripted generations (replies.txt, three repeats a
# document), one filter chain per filter: regex, take_first, take_first_k,
# majority_vote (a 1-1 tie keeps the first seen, as Counter.most_common),
# multi_choice_regex (its regex, then the document's choices with
# regexes_to_ignore, ignore_case and ignore_punctuation, then ": X"),
# remove_whitespace, lowercase, uppercase, map, format_span; regex_pos, whose
# list of tags the harness hands to the metric whole, stops the run saying
# so; custom calls a Python function (docs/hooks.md, tests t1001): here its
# module is missing, which is refused when the task is compiled.
# The expected filtered answers were computed by the harness's own filter
# classes (tests/compat/filters/oracle_e2e.py over lm_eval/filters/*.py at
# 4e7e0d47); each is explained below from that source.
. "$(dirname "$0")/lib.sh"
export LLM_EVAL_PLUGIN_PATH="$BUILD/tests/plugins"
C="$TOP/tests/compat/filters"
mkdir -p "$T/reg/models"
cat >"$T/reg/models/scripted.yaml" <<EOF
name: scripted
description: test backend with scripted completions
hf_repo: none/none
categories: [coding]
backend: testbackend
backends:
  testbackend:
    model: scripted
    replies: $C/replies.txt
EOF
RUN="--include-path $T/reg --include-path $C run --model scripted --data-dir $C/data --no-progress"

expect "every filter chain" 0 llm-eval $RUN --tasks cf_all --output "$T/o" --log-samples
check "filtered answers and scores as the harness's filters give them" python3 - "$T/o/scripted" <<'PY'
import glob, json, sys
d = sys.argv[1]
res = json.load(open(glob.glob(d + "/results_*.json")[0]))
lines = [json.loads(l) for l in open(glob.glob(d + "/samples_cf_all_*.jsonl")[0], encoding="utf-8")]
want = {
    # RegexFilter: findall of a one-group pattern gives the group; no match
    # is the fallback "[invalid]"; take_first keeps the first repeat
    "strict": ["A", "[invalid]", "[invalid]"],
    # MultiChoiceRegexFilter: doc 0 by its regex; doc 1 "  It must be: B  "
    # matches no choice, then ":[\s]*(A|B|C)" gives B -> "(B)"; doc 2
    # "Person: Ann, ..." gives ": A" -> "(A)" the same way
    "mcq": ["(A)", "(B)", "(A)"],
    # TakeKFilter(2), regex, MajorityVoteFilter: doc 1 votes "[invalid]" and
    # "B" once each, Counter.most_common keeps the first seen
    "vote2": ["A", "[invalid]", "C"],
    # group_select -1: the last match of each repeat, then the majority of 3
    "vote3": ["(A)", "[invalid]", "(C)"],
    # WhitespaceFilter (str.strip) then LowercaseFilter
    "lower": ["i think the answer is (a), paris.", "it must be: b",
              "person: ann, bob $$ location: none\norg: acme (c)"],
    "upper": ["I THINK THE ANSWER IS (A), PARIS.", "  IT MUST BE: B  ",
              "PERSON: ANN, BOB $$ LOCATION: NONE\nORG: ACME (C)"],
    # MapFilter: mapping_dict.get(resp, default_value) per response
    "mapped": ["(A)", "(none)", "(none)"],
    # SPANFilter: labels rewritten, entities split at commas, none dropped,
    # joined with " $ "; a text without labels gives ""
    "span": ["", "", "per: ann $ per: bob $ org: acme (c)"],
}
targets = ["(A)", "(B)", "(C)"]
got = {}
for s in lines:
    got.setdefault(s["filter"], []).append(s)
assert sorted(got) == sorted(want), sorted(got)
for f, w in want.items():
    fr = [s["filtered_resps"] for s in got[f]]
    assert fr == [[x] for x in w], (f, fr, w)
    em = [float(x == t) for x, t in zip(w, targets)]
    assert [s["exact_match"] for s in got[f]] == em, (f, [s["exact_match"] for s in got[f]], em)
    v = res["results"]["cf_all"]["exact_match," + f]
    assert v == sum(em) / 3, (f, v, em)
    # one generation request a document, holding the three repeats
    assert all(len(s["resps"]) == 1 and len(s["resps"][0]) == 3 for s in got[f])
PY

# POSFilter: no "('token', 'TAG')" pairs in a reply gives the fallback
# ["invalid"], a list; every document fails, the run says so (exit 1)
expect "regex_pos leaves a list of tags for the metric" 1 llm-eval $RUN --tasks cf_pos --output "$T/p" &&
	err_has "error: task 'cf_pos': doc 0: filter 'pos' gives a list, not a string, to the metrics (llm-eval scores strings only)" &&
	err_has "error: task 'cf_pos': doc 2: filter 'pos' gives a list"
expect "custom with a missing module is refused when compiled" 3 llm-eval $RUN --tasks cf_custom --output "$T/c" &&
	err_has "error: $C/cf_custom.yaml:13:20: task 'cf_custom': filter 'mine': '!function utils.mine' needs $C/utils.py, which cannot be read (No such file or directory)"
done_testing
