#!/usr/bin/env python3
"""The expected values of tests/cli/t0977-compat-filters.sh (task cf_all and
cf_pos on replies.txt), computed by the harness's own filter classes
(lm_eval/filters/{extraction,selection,transformation}.py at commit
4e7e0d47), imported from a checkout with the registry and Filter base
replaced by stand-ins, as oracle.py does. Not run by the suite (the
harness's source is not vendored here); run it by hand when the harness
changes and compare with the test:
    python3 tests/compat/filters/oracle_e2e.py /path/to/lm-evaluation-harness \
        tests/compat/filters/replies.txt tests/compat/filters/data/cf/test.jsonl
FilterEnsemble.apply (lm_eval/api/filter.py) runs each chain's filters in
turn over every document's responses (three repeats each here).
"""
import json
import sys
import types

root = sys.argv[1]
pkg = types.ModuleType("lm_eval"); pkg.__path__ = [root + "/lm_eval"]; sys.modules["lm_eval"] = pkg
api = types.ModuleType("lm_eval.api"); api.__path__ = []; sys.modules["lm_eval.api"] = api
base = types.ModuleType("lm_eval.api.filter")
class Filter:
    def __init__(self, **kw): pass
base.Filter = Filter; sys.modules["lm_eval.api.filter"] = base
reg = types.ModuleType("lm_eval.api.registry"); reg.register_filter = lambda name: (lambda cls: cls); sys.modules["lm_eval.api.registry"] = reg
fl = types.ModuleType("lm_eval.filters"); fl.__path__ = [root + "/lm_eval/filters"]; sys.modules["lm_eval.filters"] = fl
from lm_eval.filters import extraction as E, selection as S, transformation as T
def chain(filters, resps, docs):
    for f in filters:
        resps = f.apply(resps, docs)
    return list(resps)
replies = open(sys.argv[2]).read().split("\n%%\n")
replies[-1] = replies[-1].rstrip("\n") if replies[-1].endswith("\n") else replies[-1]
docs = [json.loads(l) for l in open(sys.argv[3])]
resps = [replies[i*3:i*3+3] for i in range(3)]
chains = {
 "strict": [E.RegexFilter(regex_pattern=r"answer is \((A|B|C)\)"), S.TakeFirstFilter()],
 "mcq": [E.MultiChoiceRegexFilter(regex_pattern=r"answer is (\([A-C]\))", ignore_case=True, ignore_punctuation=True, regexes_to_ignore=[","]), S.TakeFirstFilter()],
 "vote2": [S.TakeKFilter(k=2), E.RegexFilter(regex_pattern=r"\(([A-C])\)"), S.MajorityVoteFilter(), S.TakeFirstFilter()],
 "vote3": [E.RegexFilter(regex_pattern=r"(\([A-C]\))", group_select=-1), S.MajorityVoteFilter(), S.TakeFirstFilter()],
 "lower": [E.WhitespaceFilter(), T.LowercaseFilter(), S.TakeFirstFilter()],
 "upper": [T.UppercaseFilter(), S.TakeFirstFilter()],
 "mapped": [E.RegexFilter(regex_pattern=r"\(([A-C])\)"), T.MapFilter(mapping_dict={"A": "(A)", "B": "(B)"}, default_value="(none)"), S.TakeFirstFilter()],
 "span": [T.SPANFilter(), S.TakeFirstFilter()],
 "pos": [E.POSFilter(), S.TakeFirstFilter()],
}
out = {}
for name, fs in chains.items():
    r = chain(fs, [list(x) for x in resps], docs)
    out[name] = {"filtered": r, "exact_match": [float(p == d["target"]) for p, d in zip(r, docs)]}
print(json.dumps(out, ensure_ascii=False, indent=1))
