# llm-eval's hook worker: runs the Python functions that lm-evaluation-harness
# task configs name with `!function module.name`, for llm-eval's C engine.
#
# Started by src/hooks/worker.c as `python3 -c <this file>` (the file is
# embedded in the engine, so nothing needs installing). Protocol: one JSON
# object per line on stdin, one JSON reply per line on stdout (the hooks'
# own prints go to stderr). Requests:
#   {"op":"load","module":PATH,"fn":NAME}         import it, find fn; {"ok":true}
# (each names its function by "module" (the file), "name" (the module as
# written, imported by name when there is no file), "base" and "fn")
#   {"op":"call","module":PATH,"fn":NAME,"args":[...]}     {"ok":VALUE}
#   {"op":"docs","module":PATH,"fn":NAME,"docs":[...]}     fn(Dataset) -> {"ok":[docs]}
#   {"op":"multi","args":[...],"calls":[{"module","fn"}, ...]}  each fn(*args):
#                                                 {"ok":[VALUE, ...]}; an error has "index"
#   {"op":"agg","module":PATH,"fn":NAME,"items":[...]}      fn(items) -> {"ok":VALUE}
#   {"op":"each","calls":[...],"docs":[...]}      [[fn(doc) for fn] for doc]
#   {"op":"filter",...,"kwargs":{},"custom":B,"resps":[[...]],"docs":[doc]}
#                                                 Filter(**kwargs).apply(resps, docs), as lists
#   {"op":"metric",...,"gold":G,"pred":P,"kwargs":{},"metric":NAME}
#                                                 fn(references=[G], predictions=[P], **kwargs)
# Errors: {"error":"Type: message","where":"file:line in func"} and, for a
# module that is not installed, "missing":"name".
#
# A module is imported as the harness's lm_eval/utils.py import_function
# does (spec_from_file_location(name, <yaml dir>/<name>.py), not put in
# sys.modules); the folder above the nearest `lm_eval` package goes on
# sys.path so the tree's `from lm_eval... import` works. Unlike the harness,
# a module is executed once per file, not once per `!function` naming it.
#
# When the real `datasets` library is not importable, a stand-in `datasets`
# module (Dataset and the subset of its API task hooks use) is installed in
# sys.modules before any hook module is imported.
#
# Not here: anything about prompts or metrics (the C engine does those).
import importlib.util
import json
import os
import sys
import traceback



# ---------- the datasets stand-in ----------

class _Value:
    def __init__(self, dtype, id=None):
        self.dtype = dtype
        self.id = id

    def __repr__(self):
        return "Value(dtype='%s', id=None)" % self.dtype

    def __eq__(self, other):
        return isinstance(other, _Value) and other.dtype == self.dtype


class _Sequence:
    def __init__(self, feature, length=-1, id=None):
        self.feature = feature
        self.length = length
        self.id = id

    def __repr__(self):
        return "Sequence(feature=%r, length=%d, id=None)" % (self.feature, self.length)


def _feature_of(v):
    if isinstance(v, bool):
        return _Value("bool")
    if isinstance(v, int):
        return _Value("int64")
    if isinstance(v, float):
        return _Value("float64")
    if isinstance(v, str):
        return _Value("string")
    if v is None:
        return _Value("null")
    if isinstance(v, (list, tuple)):
        return _Sequence(_feature_of(v[0]) if v else _Value("null"))
    if isinstance(v, dict):
        return {k: _feature_of(x) for k, x in v.items()}
    return _Value(type(v).__name__)


class _Features(dict):
    pass


class Dataset:
    """The part of datasets.Dataset that task hooks use: rows are dicts
    with the same columns (a missing value is None, as Arrow pads)."""

    def __init__(self, rows=None, columns=None, _check=True):
        rows = list(rows or [])
        if columns is None:
            columns = []
            seen = set()
            for r in rows:
                for k in r:
                    if k not in seen:
                        seen.add(k)
                        columns.append(k)
        self._columns = list(columns)
        if _check:
            rows = [r if len(r) == len(self._columns) and all(c in r for c in self._columns)
                    else {c: r.get(c) for c in self._columns} for r in rows]
        self._rows = rows

    # construction
    @classmethod
    def from_list(cls, mapping, features=None, info=None, split=None):
        return cls([dict(r) for r in mapping])

    @classmethod
    def from_dict(cls, mapping, features=None, info=None, split=None):
        cols = list(mapping)
        lens = {len(v) for v in mapping.values()}
        if len(lens) > 1:
            raise ValueError("from_dict: columns have different lengths %s" % sorted(lens))
        n = lens.pop() if lens else 0
        return cls([{c: mapping[c][i] for c in cols} for i in range(n)], cols, _check=False)

    # shape
    @property
    def column_names(self):
        return list(self._columns)

    @property
    def num_rows(self):
        return len(self._rows)

    @property
    def shape(self):
        return (len(self._rows), len(self._columns))

    @property
    def features(self):
        f = _Features()
        for c in self._columns:
            v = next((r[c] for r in self._rows if r[c] is not None), None)
            f[c] = _feature_of(v)
        return f

    def __len__(self):
        return len(self._rows)

    def __iter__(self):
        for r in self._rows:
            yield dict(r)

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self._columns:
                raise KeyError(key)
            return [r[key] for r in self._rows]
        if isinstance(key, slice):
            return {c: [r[c] for r in self._rows[key]] for c in self._columns}
        if isinstance(key, int):
            return dict(self._rows[key])
        if isinstance(key, (list, tuple, range)):
            return {c: [self._rows[i][c] for i in key] for c in self._columns}
        raise TypeError("dataset index must be an int, a slice, a list or a column name")

    def __repr__(self):
        return "Dataset({\n    features: %r,\n    num_rows: %d\n})" % (self._columns, len(self._rows))

    def to_list(self):
        return [dict(r) for r in self._rows]

    def to_dict(self, batch_size=None, batched=False):
        return {c: [r[c] for r in self._rows] for c in self._columns}

    def unique(self, column):
        out, seen = [], set()
        for r in self._rows:
            v = r[column]
            k = json.dumps(v, sort_keys=True) if isinstance(v, (list, dict)) else v
            if k not in seen:
                seen.add(k)
                out.append(v)
        return out

    # transforms (each returns a new Dataset, as the library does)
    def _args(self, row, idx, input_columns, with_indices, fn_kwargs):
        if input_columns is None:
            a = [row]
        else:
            cols = [input_columns] if isinstance(input_columns, str) else input_columns
            a = [row[c] for c in cols]
        if with_indices:
            a.append(idx)
        return a

    def _batches(self, batch_size):
        n = len(self._rows)
        step = n if batch_size is None or batch_size <= 0 else batch_size
        for s in range(0, n, max(step, 1)):
            rows = self._rows[s:s + step]
            yield list(range(s, s + len(rows))), {c: [r[c] for r in rows] for c in self._columns}

    def map(self, function=None, with_indices=False, with_rank=False, input_columns=None,
            batched=False, batch_size=1000, drop_last_batch=False, remove_columns=None,
            keep_in_memory=False, load_from_cache_file=None, cache_file_name=None,
            writer_batch_size=1000, features=None, disable_nullable=False, fn_kwargs=None,
            num_proc=None, suffix_template=None, new_fingerprint=None, desc=None, **kw):
        fn_kwargs = fn_kwargs or {}
        if isinstance(remove_columns, str):
            remove_columns = [remove_columns]
        remove = list(remove_columns or [])
        for c in remove:
            if c not in self._columns:
                raise ValueError("column to remove %r not in the dataset; current columns: %s"
                                 % (c, self._columns))
        keep = [c for c in self._columns if c not in remove]
        if function is None:
            function = lambda x, *a, **k: x  # noqa: E731
        out_rows, out_cols = [], list(keep)
        if not batched:
            for i, row in enumerate(self._rows):
                res = function(*self._args(dict(row), i, input_columns, with_indices, fn_kwargs),
                               **fn_kwargs)
                new = {c: row[c] for c in keep}
                if res is not None:
                    if not isinstance(res, dict):
                        raise TypeError("map: the function must return a dict or None, not %s"
                                        % type(res).__name__)
                    for k, v in res.items():
                        if k not in new and k not in out_cols:
                            out_cols.append(k)
                        new[k] = v
                out_rows.append(new)
            return Dataset(out_rows, out_cols)
        for idx, batch in self._batches(batch_size):
            if drop_last_batch and batch_size and len(idx) < batch_size:
                break
            if input_columns is None:
                a = [dict(batch)]
            else:
                cols = [input_columns] if isinstance(input_columns, str) else input_columns
                a = [batch[c] for c in cols]
            if with_indices:
                a.append(idx)
            res = function(*a, **fn_kwargs)
            if res is None:
                res = {}
            if not isinstance(res, dict):
                raise TypeError("map: a batched function must return a dict of lists, not %s"
                                % type(res).__name__)
            lens = {len(v) for v in res.values()}
            if len(lens) > 1:
                raise ValueError("map: the batched function returned columns of different lengths")
            n = lens.pop() if lens else len(idx)
            kept = [c for c in keep if c not in res]
            if n != len(idx) and kept:
                raise ValueError("map: the batched function returned %d rows for %d, and columns %s "
                                 "were not removed" % (n, len(idx), kept))
            for k in res:
                if k not in out_cols:
                    out_cols.append(k)
            for j in range(n):
                new = {c: batch[c][j] for c in kept}
                for k, v in res.items():
                    new[k] = v[j]
                out_rows.append(new)
        return Dataset(out_rows, out_cols)

    def filter(self, function=None, with_indices=False, with_rank=False, input_columns=None,
               batched=False, batch_size=1000, keep_in_memory=False, load_from_cache_file=None,
               cache_file_name=None, writer_batch_size=1000, fn_kwargs=None, num_proc=None,
               suffix_template=None, new_fingerprint=None, desc=None, **kw):
        fn_kwargs = fn_kwargs or {}
        if function is None:
            return Dataset(self._rows, self._columns, _check=False)
        keep = []
        if not batched:
            for i, row in enumerate(self._rows):
                if function(*self._args(dict(row), i, input_columns, with_indices, fn_kwargs),
                            **fn_kwargs):
                    keep.append(row)
            return Dataset(keep, self._columns, _check=False)
        for idx, batch in self._batches(batch_size):
            if input_columns is None:
                a = [dict(batch)]
            else:
                cols = [input_columns] if isinstance(input_columns, str) else input_columns
                a = [batch[c] for c in cols]
            if with_indices:
                a.append(idx)
            mask = list(function(*a, **fn_kwargs))
            if len(mask) != len(idx):
                raise ValueError("filter: the batched function returned %d values for %d rows"
                                 % (len(mask), len(idx)))
            keep.extend(self._rows[i] for i, m in zip(idx, mask) if m)
        return Dataset(keep, self._columns, _check=False)

    def select(self, indices, keep_in_memory=False, indices_cache_file_name=None,
               writer_batch_size=1000, new_fingerprint=None):
        n = len(self._rows)
        rows = []
        for i in indices:
            i = int(i)
            if i < 0 or i >= n:
                raise IndexError("index %d out of range for a dataset of %d rows" % (i, n))
            rows.append(self._rows[i])
        return Dataset(rows, self._columns, _check=False)

    def select_columns(self, column_names, new_fingerprint=None):
        if isinstance(column_names, str):
            column_names = [column_names]
        for c in column_names:
            if c not in self._columns:
                raise ValueError("column %r not in the dataset" % c)
        return Dataset([{c: r[c] for c in column_names} for r in self._rows], column_names, _check=False)

    def rename_column(self, original_column_name, new_column_name, new_fingerprint=None):
        if original_column_name not in self._columns:
            raise ValueError("original column name %s not in the dataset; current columns: %s"
                             % (original_column_name, self._columns))
        if new_column_name in self._columns:
            raise ValueError("new column name %s already in the dataset" % new_column_name)
        cols = [new_column_name if c == original_column_name else c for c in self._columns]
        rows = [{(new_column_name if k == original_column_name else k): v for k, v in r.items()}
                for r in self._rows]
        return Dataset(rows, cols, _check=False)

    def rename_columns(self, column_mapping, new_fingerprint=None):
        d = self
        for a, b in column_mapping.items():
            d = d.rename_column(a, b)
        return d

    def remove_columns(self, column_names, new_fingerprint=None):
        if isinstance(column_names, str):
            column_names = [column_names]
        for c in column_names:
            if c not in self._columns:
                raise ValueError("column %r not in the dataset; current columns: %s" % (c, self._columns))
        cols = [c for c in self._columns if c not in column_names]
        return Dataset([{c: r[c] for c in cols} for r in self._rows], cols, _check=False)

    def add_column(self, name, column, new_fingerprint=None, feature=None):
        if name in self._columns:
            raise ValueError("column %r already in the dataset" % name)
        column = list(column)
        if len(column) != len(self._rows):
            raise ValueError("column has %d values for %d rows" % (len(column), len(self._rows)))
        rows = [dict(r, **{name: v}) for r, v in zip(self._rows, column)]
        return Dataset(rows, self._columns + [name], _check=False)

    def sort(self, column_names, reverse=False, null_placement="at_end", keep_in_memory=False,
             load_from_cache_file=None, indices_cache_file_name=None, writer_batch_size=1000,
             new_fingerprint=None, kind=None):
        cols = [column_names] if isinstance(column_names, str) else list(column_names)
        revs = [reverse] * len(cols) if isinstance(reverse, bool) else list(reverse)
        rows = list(self._rows)
        # stable sorts from the last key to the first: the first key decides
        for c, r in reversed(list(zip(cols, revs))):
            if c not in self._columns:
                raise ValueError("column %r not in the dataset" % c)
            present = [x for x in rows if x[c] is not None]
            nulls = [x for x in rows if x[c] is None]
            present.sort(key=lambda x: x[c], reverse=r)
            rows = nulls + present if null_placement == "at_start" else present + nulls
        return Dataset(rows, self._columns, _check=False)

    def shuffle(self, seed=None, generator=None, keep_in_memory=False, load_from_cache_file=None,
                indices_cache_file_name=None, writer_batch_size=1000, new_fingerprint=None):
        # the library: np.random.default_rng(seed).permutation(len(self))
        try:
            import numpy as np
        except ImportError:
            raise ModuleNotFoundError("Dataset.shuffle needs numpy for the library's order",
                                      name="numpy") from None
        gen = generator if generator is not None else np.random.default_rng(seed)
        perm = gen.permutation(len(self._rows))
        return Dataset([self._rows[int(i)] for i in perm], self._columns, _check=False)

    def flatten_indices(self, *a, **k):
        return self

    def with_format(self, *a, **k):
        return self


class DatasetDict(dict):
    pass


def _no_hub(*a, **k):
    raise RuntimeError("datasets.load_dataset: the hook loads a data set itself, which llm-eval's "
                       "stand-in for the datasets library cannot do (install python3 datasets)")


def _standin_module():
    import types
    m = types.ModuleType("datasets")
    m.__doc__ = "llm-eval's stand-in for the datasets library (src/hooks/driver.py)"
    m.__version__ = "0.0.0+llm-eval-standin"
    m.Dataset = Dataset
    m.DatasetDict = DatasetDict
    m.Value = _Value
    m.Sequence = _Sequence
    m.Features = _Features
    m.load_dataset = _no_hub
    m.get_dataset_config_names = _no_hub
    m.get_dataset_infos = _no_hub
    m.concatenate_datasets = lambda dsets, *a, **k: Dataset(
        [r for d in dsets for r in d._rows])

    class Split:
        TRAIN = "train"
        TEST = "test"
        VALIDATION = "validation"
    m.Split = Split
    m.LLM_EVAL_STANDIN = True
    return m


def _datasets():
    if os.environ.get("LLM_EVAL_DATASETS_STANDIN") != "1":
        try:
            import datasets as real
            return real
        except ImportError:
            pass
    m = _standin_module()
    sys.modules["datasets"] = m
    return m


DS = _datasets()


# ---------- modules and calls ----------

_modules = {}
_filters = {}
_paths_added = set()


class HookError(Exception):
    pass


def _lm_eval_package(d):
    """The tree's lm_eval package. Its __init__ reads the installed
    distribution's version, which a tree that is only checked out lacks:
    then a package module is made for the folder without running it."""
    if "lm_eval" in sys.modules:
        return
    try:
        importlib.import_module("lm_eval")
        return
    except Exception:  # not installed as a distribution (PackageNotFoundError), ...
        sys.modules.pop("lm_eval", None)
    import types
    m = types.ModuleType("lm_eval")
    m.__path__ = [d]
    m.__file__ = os.path.join(d, "__init__.py")
    m.__version__ = "0+llm-eval"
    sys.modules["lm_eval"] = m


def _add_package_root(path):
    d = os.path.dirname(os.path.abspath(path))
    while True:
        parent = os.path.dirname(d)
        if os.path.basename(d) == "lm_eval" and os.path.isfile(os.path.join(d, "__init__.py")):
            if parent not in _paths_added:
                _paths_added.add(parent)
                sys.path.insert(0, parent)
                _lm_eval_package(d)
            return
        if parent == d:
            return
        d = parent


def _module(path, name=None, base=None):
    """The module of a reference, as lm_eval/tasks/_yaml_loader.py loads it:
    the file beside the YAML (registered in sys.modules under the name the
    harness gives it), else the importable module `name`."""
    m = _modules.get(path)
    if m is not None:
        return m
    if not os.path.isfile(path):
        if not name or "." not in name:
            raise HookError("FileNotFoundError: no module file %s" % path)
        _add_package_root(os.path.join(base or ".", "x.py"))
        m = importlib.import_module(name)
        _modules[path] = m
        return m
    _add_package_root(path)
    i = path.find("/lm_eval/tasks/")
    if i >= 0:
        modname = "lm_eval.tasks." + path[i + len("/lm_eval/tasks/"):].replace(".py", "").replace("/", ".")
    else:
        modname = path[:-3] if path.endswith(".py") else path
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise HookError("ImportError: cannot import %s" % path)
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    sys.modules[modname] = m
    _modules[path] = m
    _seed_numpy()
    return m


_numpy_seeded = False


def _seed_numpy():
    # lm_eval/evaluator.py simple_evaluate seeds numpy with 1234 (and
    # random with 0, done at start): seeded once a hook module has
    # imported numpy, so that a run without numpy does not pay its import
    global _numpy_seeded
    if not _numpy_seeded and "numpy" in sys.modules:
        _numpy_seeded = True
        sys.modules["numpy"].random.seed(1234)


def _fn(req):
    path, name = req["module"], req["fn"]
    m = _module(path, req.get("name"), req.get("base"))
    obj = m
    for part in name.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise HookError("AttributeError: module %s has no attribute %r" % (path, name)) from None
    return obj


def _plain(v):
    """A hook's value as JSON data."""
    if isinstance(v, Dataset):
        return v.to_list()
    if isinstance(v, dict):
        return {str(k): _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    if isinstance(v, float):
        return v if v == v and v not in (float("inf"), float("-inf")) else None
    if isinstance(v, (str, int, bool)) or v is None:
        return v
    if hasattr(v, "item") and callable(v.item):      # numpy scalars
        return _plain(v.item())
    if hasattr(v, "tolist") and callable(v.tolist):  # numpy arrays
        return _plain(v.tolist())
    if hasattr(v, "to_list") and callable(v.to_list):  # the real Dataset
        return _plain(v.to_list())
    if isinstance(v, (set, frozenset)):
        return [_plain(x) for x in v]
    return str(v)


def _dataset(docs):
    if getattr(DS, "LLM_EVAL_STANDIN", False):
        return Dataset(docs)
    return DS.Dataset.from_list(docs)


def _handle(req):
    op = req.get("op")
    if op == "load":
        if req.get("fn"):
            _fn(req)
        else:
            _module(req["module"], req.get("name"), req.get("base"))
        return True
    if op == "call":
        return _plain(_fn(req)(*req.get("args", [])))
    if op == "docs":
        out = _fn(req)(_dataset(req["docs"]))
        if hasattr(out, "to_list"):
            out = out.to_list()
        return _plain(list(out))
    if op == "metric":
        # lm_eval/api/task.py process_results (generate_until) for a callable metric
        fn, gold, pred = _fn(req), req["gold"], req["pred"]
        try:
            v = fn(references=[gold], predictions=[pred], **(req.get("kwargs") or {}))
        except TypeError:
            v = fn([gold, pred])
        if isinstance(v, dict) and req.get("metric") in v:
            v = v[req["metric"]]
        return _plain(v)
    if op == "filter":
        # lm_eval/filters: a Filter class made with the step's keys, or
        # CustomFilter's filter_fn(resps, docs); one list (or value) per doc
        fn = _fn(req)
        if req.get("custom"):
            out = fn(req["resps"], req["docs"])
        else:
            key = (req["module"], req["fn"], json.dumps(req.get("kwargs"), sort_keys=True))
            inst = _filters.get(key)
            if inst is None:
                inst = _filters[key] = fn(**(req.get("kwargs") or {}))
            out = inst.apply(req["resps"], req["docs"])
        return [_plain(list(x) if not isinstance(x, (str, bytes, dict)) and hasattr(x, "__iter__") else x)
                for x in out]
    if op == "agg":
        return _plain(_fn(req)(req["items"]))
    if op == "multi":
        args, out = req["args"], []
        for i, c in enumerate(req["calls"]):
            try:
                out.append(_plain(_fn(c)(*args)))
            except Exception as e:
                e.llm_eval_index = i
                raise
        return out
    if op == "each":
        # every document through every call: [[v, ...] per document]
        fns = [_fn(c) for c in req["calls"]]
        return [[_plain(f(d)) for f in fns] for d in req["docs"]]
    if op == "ping":
        return "pong"
    raise HookError("ValueError: unknown request %r" % op)


def _error(e):
    r = {}
    if hasattr(e, "llm_eval_index"):
        r["index"] = e.llm_eval_index
    if isinstance(e, HookError):
        r["error"] = str(e)
        return r
    r["error"] = "%s: %s" % (type(e).__name__, e)
    if isinstance(e, ModuleNotFoundError) and e.name:
        r["missing"] = e.name.split(".")[0]
    tb = traceback.extract_tb(e.__traceback__)
    if tb:
        f = tb[-1]
        r["where"] = "%s:%d in %s" % (f.filename, f.lineno, f.name)
    return r


def main():
    # the protocol keeps the original descriptors; a hook's prints go to stderr
    proto_in = os.fdopen(os.dup(0), "rb", buffering=1 << 16)
    proto_out = os.fdopen(os.dup(1), "wb", buffering=1 << 16)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True
    # lm_eval/evaluator.py simple_evaluate: random.seed(0) before any task
    # is built (gpqa's process_docs shuffles with the global generator)
    import random
    random.seed(0)
    read, write, flush = proto_in.readline, proto_out.write, proto_out.flush
    dumps, loads = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode, json.loads
    while True:
        line = read()
        if not line:
            return
        try:
            reply = {"ok": _handle(loads(line))}
            out = dumps(reply)
        except Exception as e:  # a hook's exception is the reply, never the end of the worker
            out = dumps(_error(e))
        write(out.encode("utf-8", "surrogatepass"))
        write(b"\n")
        flush()


if __name__ == "__main__":
    main()
