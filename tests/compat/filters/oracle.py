#!/usr/bin/env python3
"""The expected values of tests/unit/test_filters.c, computed by the harness's
own filter classes: lm-evaluation-harness's lm_eval/filters/{extraction,
selection,transformation}.py (checked at commit 4e7e0d47), imported from a
checkout given as the first argument with the registry and Filter base
replaced by stand-ins (they only register names). Prints one JSON object.
Not run by the suite (the harness's source is not vendored here); run it by
hand when the harness changes and compare with the test's comments:
    python3 tests/compat/filters/oracle.py /path/to/lm-evaluation-harness
"""
import json
import sys
import types

root = sys.argv[1]
pkg = types.ModuleType("lm_eval")
pkg.__path__ = [root + "/lm_eval"]
sys.modules["lm_eval"] = pkg
api = types.ModuleType("lm_eval.api")
api.__path__ = []
sys.modules["lm_eval.api"] = api
base = types.ModuleType("lm_eval.api.filter")


class Filter:
    def __init__(self, **kw):
        pass


base.Filter = Filter
sys.modules["lm_eval.api.filter"] = base
reg = types.ModuleType("lm_eval.api.registry")
reg.register_filter = lambda name: (lambda cls: cls)
sys.modules["lm_eval.api.registry"] = reg
fl = types.ModuleType("lm_eval.filters")
fl.__path__ = [root + "/lm_eval/filters"]
sys.modules["lm_eval.filters"] = fl
from lm_eval.filters import extraction as E  # noqa: E402
from lm_eval.filters import selection as S  # noqa: E402
from lm_eval.filters import transformation as T  # noqa: E402


def chain(filters, resps, docs=None):
    """FilterEnsemble.apply (lm_eval/api/filter.py): each filter in turn."""
    docs = docs or [{}] * len(resps)
    for f in filters:
        resps = f.apply(resps, docs)
    return list(resps)


out = {}
out["mcq1"] = chain(
    [E.MultiChoiceRegexFilter(regex_pattern=r"(\([A-Z]\))", group_select=-1,
                              ignore_case=True, ignore_punctuation=True), S.TakeFirstFilter()],
    [["I think it is paris, France."], ["The answer: B because"], ["no idea"], ["(C) or maybe (D)"]],
    [{"choices": ["Paris, France!", "London", "Rome", "Berlin"]}] * 4)
out["mcq2"] = chain([E.MultiChoiceRegexFilter(regexes_to_ignore=[",", r"\$"], fallback="X")],
                    [["total $1,000 ok", "say: C"]], [{"choices": [" 1000 ", "2000", "3000"]}])
out["maj"] = chain([S.MajorityVoteFilter(), S.TakeFirstFilter()], [["b", "a", "a", "b", "c"], ["x", "y"], ["7"]])
out["takek"] = chain([S.TakeKFilter(k=2)], [["a", "b", "c"]])
out["map"] = chain([E.RegexFilter(regex_pattern=r"(\b[ABCD]\b)"), S.TakeFirstFilter(),
                    T.MapFilter(mapping_dict={"A": 0, "B": 1, "C": 2, "D": 3}, default_value=-1),
                    S.TakeFirstFilter()], [["so B"], ["none"], ["C D"]])
out["span"] = chain([T.SPANFilter()], [["Person: John, none\nLocation: Kenya, Uganda $$ org : UN$$",
                                       "company:Acme\ntime: today"]])
out["pos"] = chain([E.POSFilter()], [["[('The', 'DET'), ('cat', 'NOUN')]", "nothing"]])
out["ws"] = chain([E.WhitespaceFilter()], [["  a b \n "]])
out["tf_then_regex"] = chain([S.TakeFirstFilter(), E.RegexFilter(regex_pattern=r"\d"),
                              S.MajorityVoteFilter(), S.TakeFirstFilter()], [["a1b22", "zzz"]])
print(json.dumps(out, ensure_ascii=False))
