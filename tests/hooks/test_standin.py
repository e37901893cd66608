# Tests of the hook driver's stand-in for the `datasets` library
# (src/hooks/driver.py), each against the behaviour the library documents
# for datasets.Dataset (docs of Dataset.map, filter, select, rename_column,
# remove_columns, shuffle, sort, add_column, unique, from_dict, from_list,
# features, indexing). Run by tests/cli/t1010-hooks-standin.sh; prints TAP.
import importlib.util
import os
import sys

os.environ["LLM_EVAL_DATASETS_STANDIN"] = "1"
spec = importlib.util.spec_from_file_location("lle_driver", sys.argv[1])
drv = importlib.util.module_from_spec(spec)
spec.loader.exec_module(drv)
datasets = sys.modules["datasets"]
Dataset = datasets.Dataset

n = 0
failed = 0


def check(name, fn):
    global n, failed
    n += 1
    try:
        fn()
        print("ok %d - %s" % (n, name))
    except Exception as e:  # noqa: BLE001
        failed += 1
        print("not ok %d - %s: %s: %s" % (n, name, type(e).__name__, e))


def raises(exc, fn):
    try:
        fn()
    except exc:
        return
    raise AssertionError("no %s" % exc.__name__)


def ds():
    return Dataset.from_list([{"a": 1, "b": "x"}, {"a": 3, "b": "y"}, {"a": 2, "b": "z"}])


def t_standin_installed():
    assert datasets.LLM_EVAL_STANDIN and drv.DS is datasets
    import datasets as again
    assert again.Dataset is Dataset


def t_version():
    # a version as the library's (PEP 440), of the 3.x API it follows: hooks
    # compare it (squadv2: version.parse(datasets.__version__) >= "1.11.0")
    v = datasets.__version__.split("+")[0]
    assert tuple(int(x) for x in v.split(".")) >= (3, 0, 0), datasets.__version__


def t_from_list_pads():
    # from_list: the columns are the union; a missing value is None
    d = Dataset.from_list([{"a": 1}, {"b": 2}])
    assert d.column_names == ["a", "b"] and d.to_list() == [{"a": 1, "b": None}, {"a": None, "b": 2}]


def t_from_dict():
    d = Dataset.from_dict({"q": ["x", "y"], "n": [1, 2]})
    assert len(d) == 2 and d[1] == {"q": "y", "n": 2} and d.num_rows == 2 and d.shape == (2, 2)
    raises(ValueError, lambda: Dataset.from_dict({"q": [1], "n": [1, 2]}))


def t_indexing():
    d = ds()
    assert d[0] == {"a": 1, "b": "x"}
    assert d[-1] == {"a": 2, "b": "z"}
    assert d["a"] == [1, 3, 2]
    assert d[0:2] == {"a": [1, 3], "b": ["x", "y"]}
    raises(KeyError, lambda: d["nope"])
    # rows handed out are copies: changing one leaves the data set alone
    r = d[0]
    r["a"] = 99
    assert d[0]["a"] == 1
    assert [r["b"] for r in d] == ["x", "y", "z"]


def t_features():
    f = Dataset.from_list([{"s": "t", "i": 1, "f": 0.5, "l": ["u"], "o": True}]).features
    assert f["s"].dtype == "string" and f["i"].dtype == "int64" and f["f"].dtype == "float64"
    assert f["o"].dtype == "bool" and f["l"].feature.dtype == "string"


def t_map_merges():
    # map: the function's dict updates the example; other columns kept, new ones appended
    d = ds().map(lambda x: {"c": x["a"] * 10, "b": x["b"].upper()})
    assert d.column_names == ["a", "b", "c"]
    assert d.to_list() == [{"a": 1, "b": "X", "c": 10}, {"a": 3, "b": "Y", "c": 30}, {"a": 2, "b": "Z", "c": 20}]


def t_map_none_and_indices():
    assert ds().map(lambda x: None).to_list() == ds().to_list()
    d = ds().map(lambda x, i: {"i": i}, with_indices=True)
    assert d["i"] == [0, 1, 2]


def t_map_remove_columns():
    # removed before the update: a removed column the function returns is kept
    d = ds().map(lambda x: {"b": "new", "c": 1}, remove_columns=["a", "b"])
    assert d.column_names == ["b", "c"] and d[0] == {"b": "new", "c": 1}
    assert ds().map(lambda x: {}, remove_columns="a").column_names == ["b"]
    raises(ValueError, lambda: ds().map(lambda x: x, remove_columns=["zz"]))


def t_map_input_columns_fn_kwargs():
    d = ds().map(lambda a, k: {"d": a + k}, input_columns="a", fn_kwargs={"k": 100})
    assert d["d"] == [101, 103, 102]


def t_map_batched():
    seen = []

    def f(batch):
        seen.append(len(batch["a"]))
        return {"a2": [v * 2 for v in batch["a"]]}
    d = ds().map(f, batched=True, batch_size=2)
    assert seen == [2, 1] and d["a2"] == [2, 6, 4] and d.column_names == ["a", "b", "a2"]
    # more rows out than in: allowed once the input columns are removed
    e = ds().map(lambda b: {"t": b["b"] * 2}, batched=True, remove_columns=["a", "b"])
    assert e["t"] == ["x", "y", "z", "x", "y", "z"]
    raises(ValueError, lambda: ds().map(lambda b: {"t": [1]}, batched=True))
    w = ds().map(lambda b, idx: {"i": idx}, batched=True, with_indices=True, batch_size=2)
    assert w["i"] == [0, 1, 2]


def t_filter():
    assert ds().filter(lambda x: x["a"] > 1)["b"] == ["y", "z"]
    assert ds().filter(lambda x, i: i != 1, with_indices=True)["b"] == ["x", "z"]
    assert ds().filter(lambda b: [v != 3 for v in b["a"]], batched=True, batch_size=2)["a"] == [1, 2]
    assert ds().filter(lambda a: a == 2, input_columns="a")["b"] == ["z"]
    # columns survive an empty result
    assert ds().filter(lambda x: False).column_names == ["a", "b"]


def t_select():
    assert ds().select([2, 0, 2])["b"] == ["z", "x", "z"]
    assert ds().select(range(1))["b"] == ["x"]
    raises(IndexError, lambda: ds().select([3]))


def t_rename_remove_add():
    d = ds().rename_column("a", "n")
    assert d.column_names == ["n", "b"] and d[0] == {"n": 1, "b": "x"}
    raises(ValueError, lambda: ds().rename_column("zz", "y"))
    raises(ValueError, lambda: ds().rename_column("a", "b"))
    assert ds().remove_columns("a").column_names == ["b"]
    assert ds().remove_columns(["a", "b"]).to_list() == [{}, {}, {}]
    raises(ValueError, lambda: ds().remove_columns(["zz"]))
    assert ds().add_column("c", [7, 8, 9])["c"] == [7, 8, 9]
    raises(ValueError, lambda: ds().add_column("c", [1]))
    assert ds().rename_columns({"a": "x", "b": "y"}).column_names == ["x", "y"]
    assert ds().select_columns("b").column_names == ["b"]


def t_sort():
    assert ds().sort("a")["a"] == [1, 2, 3]
    assert ds().sort("a", reverse=True)["a"] == [3, 2, 1]
    d = Dataset.from_list([{"k": 2, "v": "p"}, {"k": None, "v": "q"}, {"k": 1, "v": "r"}, {"k": 2, "v": "s"}])
    # stable, None at the end (null_placement="at_end")
    assert d.sort("k")["v"] == ["r", "p", "s", "q"]
    assert d.sort("k", null_placement="at_start")["v"] == ["q", "r", "p", "s"]


def t_shuffle():
    # the library: np.random.default_rng(seed).permutation(len(self))
    try:
        import numpy as np
    except ImportError:
        try:
            ds().shuffle(seed=42)
        except ModuleNotFoundError as e:
            assert e.name == "numpy"
            return
        raise AssertionError("shuffle without numpy did not say numpy is missing")
    d = Dataset.from_dict({"i": list(range(20))})
    want = [int(x) for x in np.random.default_rng(42).permutation(20)]
    assert d.shuffle(seed=42)["i"] == want


def t_unique_to_dict():
    d = Dataset.from_list([{"a": 1}, {"a": 2}, {"a": 1}])
    assert d.unique("a") == [1, 2]
    assert ds().to_dict() == {"a": [1, 3, 2], "b": ["x", "y", "z"]}


def t_plain():
    # what a hook returns is sent as JSON data
    assert drv._plain(ds()) == ds().to_list()
    assert drv._plain((1, [2, (3,)])) == [1, [2, [3]]]
    assert drv._plain(float("nan")) is None


def t_no_hub():
    raises(RuntimeError, lambda: datasets.load_dataset("x"))


for name, fn in list(globals().items()):
    if name.startswith("t_") and callable(fn):
        check(name[2:], fn)
print("1..%d" % n)
sys.exit(1 if failed else 0)
