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
#   {"op":"class",...,"fn":CLASS,"task":T,"config":{}}  make a class: task's object;
#                                                 {"ok":"<its config as YAML text>"}
#   {"op":"requests",...,"doc":D,"ctx":C,"doc_id":I}  its construct_requests:
#                                                 {"ok":[[request_type, args...], ...]}
# ("docs" also carries "split", which a class task's <split>_docs needs.)
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
#
# Over 1,000 lines on purpose: the worker runs this one text (`python3 -c`,
# embedded in the engine), so the datasets stand-in, the calls and the
# class: tasks' stand-in lm_eval.api are sections of one file, not modules.
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
    # the API followed is the library's 3.x one (no load_metric); hooks
    # compare versions (squadv2 asserts >= 1.11.0), so it says so
    m.__version__ = "3.0.0+llm.eval.standin"
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
    _lm_eval_tasks_package(os.path.join(d, "tasks"))


def _lm_eval_tasks_package(d):
    """lm_eval.tasks of a checked-out tree. Its __init__ is the harness's
    task manager (lm_eval.utils, numpy, typing_extensions), which a hook's
    `from lm_eval.tasks.x.utils import f` runs first: when it does not
    import, the package is a plain one of the folder, whose other names
    raise the error the real one raised."""
    if not os.path.isfile(os.path.join(d, "__init__.py")):
        return
    try:
        importlib.import_module("lm_eval.tasks")
        return
    except ImportError as e:
        sys.modules.pop("lm_eval.tasks", None)
        why = e
    import types
    m = types.ModuleType("lm_eval.tasks")
    m.__path__ = [d]
    m.__file__ = os.path.join(d, "__init__.py")

    def missing(name):
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError("lm_eval.tasks.%s: %s" % (name, why), name=getattr(why, "name", None))
    m.__getattr__ = missing
    sys.modules["lm_eval.tasks"] = m
    sys.modules["lm_eval"].tasks = m


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
    if "@" in (req.get("name") or ""):
        return _class_member(req)
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
        f = _fn(req)
        if getattr(f, "llm_eval_split", False):  # a class task's <split>_docs
            out = f(_dataset(req["docs"]), req.get("split"))
        else:
            out = f(_dataset(req["docs"]))
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
    if op in ("class", "requests"):
        return _class_op(op, req)
    if op == "ping":
        return "pong"
    raise HookError("ValueError: unknown request %r" % op)


# ---------- class: tasks ----------
#
# `class: !function task.Name` names a Python subclass of the harness's
# Task. Served where its base API can be: the worker makes the object as
# lm_eval/tasks/_factory.py does (cls(config=cfg) when __init__ takes
# `config`, else cls(); then config.task = the task's name) and describes
# it to the engine as a config (YAML text) whose hooks are the object's
# methods, named "<module>.<Class>@<task>.<method>" (the engine resolves
# the module part to the class's file). The base classes come from
# llm-eval's own `lm_eval.api.task` (below), written against the harness's
# documented API: the harness's ConfigurableTask loads its data set when it
# is made, which llm-eval supplies later, split by split, through the
# <split>_docs methods. The harness's lm_eval.api.instance, .metrics and
# .registry are used when they import; else llm-eval's stand-ins.

class ClassNotServed(HookError):
    """A class task whose base API llm-eval does not serve (one line)."""


_class_objs = {}        # (module file, class, task) -> the task object
_lm_eval_why = None     # why the harness's own modules did not import


def _not_served(what):
    # `what`: "Task.aggregation", the base's method the class did not override
    def f(self, *a, **k):
        raise ClassNotServed("class %s uses %s of the harness's lm_eval.api.task, which llm-eval's "
                             "stand-in does not serve; the class must define %s"
                             % (type(self).__name__, what, what.split(".")[1]))
    f.llm_eval_not_served = True
    return f


def _lm_eval_standins():
    """Make lm_eval.api.{instance,metrics,registry,task} importable: the
    harness's own where they import, else llm-eval's; lm_eval.api.task is
    always llm-eval's (see above)."""
    global _lm_eval_why
    import types
    if sys.modules.get("lm_eval.api.task") is not None and \
            getattr(sys.modules["lm_eval.api.task"], "LLM_EVAL_STANDIN", False):
        return
    for name in ("lm_eval", "lm_eval.api"):
        if name not in sys.modules:
            try:
                importlib.import_module(name)
            except Exception:
                sys.modules.pop(name, None)
                m = types.ModuleType(name)
                m.__path__ = []
                sys.modules[name] = m
                if name == "lm_eval.api":
                    sys.modules["lm_eval"].api = m
    for sub in ("instance", "registry", "metrics"):
        full = "lm_eval.api." + sub
        if full in sys.modules:
            continue
        try:
            importlib.import_module(full)
        except Exception as e:
            sys.modules.pop(full, None)
            if _lm_eval_why is None:
                _lm_eval_why = (getattr(e, "name", None) or "lm_eval").split(".")[0] \
                    if isinstance(e, ImportError) else None
            m = _STANDIN_BUILDERS[sub]()
            sys.modules[full] = m
            setattr(sys.modules["lm_eval.api"], sub, m)
    m = _standin_task_module()
    sys.modules["lm_eval.api.task"] = m
    sys.modules["lm_eval.api"].task = m


def _standin_instance():
    import dataclasses
    import types
    m = types.ModuleType("lm_eval.api.instance")

    @dataclasses.dataclass
    class Instance:
        request_type: str
        doc: dict
        arguments: tuple
        idx: int
        metadata: tuple = dataclasses.field(default_factory=lambda: (None, None, None))
        resps: list = dataclasses.field(default_factory=list)
        filtered_resps: dict = dataclasses.field(default_factory=dict)
        task_name: object = None
        doc_id: object = None
        repeats: object = None

        def __post_init__(self):
            self.task_name, self.doc_id, self.repeats = self.metadata

        @property
        def args(self):
            return self.arguments if isinstance(self.arguments, tuple) else (self.arguments,)

    Instance.__module__ = m.__name__
    m.Instance = Instance
    m.OutputType = str
    m.LLM_EVAL_STANDIN = True
    return m


def _standin_registry():
    import types
    m = types.ModuleType("lm_eval.api.registry")
    tables = {"task": {}, "group": {}, "metric": {}, "aggregation": {}, "filter": {}, "model": {}}
    m.AGGREGATION_REGISTRY = tables["aggregation"]
    m.METRIC_REGISTRY = tables["metric"]
    m.FILTER_REGISTRY = tables["filter"]

    def _keep(table, names):
        def deco(obj):
            for n in names:
                tables[table][n] = obj
            return obj
        return deco

    m.register_task = lambda name: _keep("task", [name])
    m.register_group = lambda name: _keep("group", [name])
    m.register_model = lambda *names: _keep("model", names)
    m.register_filter = lambda name: _keep("filter", [name])
    m.register_aggregation = lambda name: _keep("aggregation", [name])
    m.register_metric = lambda **args: _keep("metric", [args.get("metric")])
    m.get_aggregation = lambda name: tables["aggregation"].get(name)
    m.get_metric = lambda name, hf_evaluate_metric=False: tables["metric"].get(name)
    m.get_filter = lambda name: tables["filter"].get(name, name if callable(name) else None)
    m.LLM_EVAL_STANDIN = True
    return m


def _standin_metrics():
    import math
    import types
    m = types.ModuleType("lm_eval.api.metrics")

    def mean(arr):
        return sum(arr) / len(arr)

    def median(arr):
        return sorted(arr)[len(arr) // 2]

    def weighted_mean(items):
        a, b = zip(*items)
        return sum(a) / sum(b)

    def sample_stddev(arr):
        mu = mean(arr)
        return math.sqrt(sum((x - mu) ** 2 for x in arr) / (len(arr) - 1))

    m.mean = mean
    m.median = median
    m.weighted_mean = weighted_mean
    m.perplexity = lambda items: math.exp(-mean(items))
    m.weighted_perplexity = lambda items: math.exp(-weighted_mean(items))
    m.bits_per_byte = lambda items: -weighted_mean(items) / math.log(2)
    m.sample_stddev = sample_stddev
    m.mean_stderr = lambda arr: sample_stddev(arr) / math.sqrt(len(arr))
    for k in ("perplexity", "weighted_perplexity", "bits_per_byte"):
        getattr(m, k).__name__ = k

    def missing(name):
        # anything else needs the harness's own module, which did not import
        if name.startswith("__"):
            raise AttributeError(name)
        raise ModuleNotFoundError("lm_eval.api.metrics.%s needs the harness's module, which needs %s"
                                  % (name, _lm_eval_why or "lm_eval"), name=_lm_eval_why or "lm_eval")
    m.__getattr__ = missing
    m.LLM_EVAL_STANDIN = True
    return m


_STANDIN_BUILDERS = {"instance": _standin_instance, "registry": _standin_registry,
                     "metrics": _standin_metrics}


class _Attrs(dict):
    """TaskConfig: a dict whose keys are attributes too."""

    def __getattr__(self, k):
        try:
            return self[k]
        except KeyError:
            raise AttributeError(k) from None

    def __setattr__(self, k, v):
        self[k] = v

    def to_dict(self, keep_callable=False):
        return {k: v for k, v in self.items() if v is not None}


def _task_config(**cfg):
    # lm_eval/config/task.py TaskConfig: its fields' defaults, and
    # __post_init__'s generation_kwargs (default_gen_kwargs, lm_eval/defaults.py)
    c = _Attrs(task=None, task_alias=None, tag=None, custom_dataset=None, dataset_path=None,
               dataset_name=None, dataset_kwargs=None, training_split=None, validation_split=None,
               test_split=None, fewshot_split=None, process_docs=None, doc_to_text=None,
               doc_to_target=None, doc_to_image=None, doc_to_audio=None, unsafe_code=False,
               doc_to_choice=None, process_results=None, use_prompt=None, description="",
               target_delimiter=" ", fewshot_delimiter="\n\n", fewshot_config=None, num_fewshot=None,
               metric_list=None, output_type="generate_until", generation_kwargs=None, repeats=1,
               filter_list=None, should_decontaminate=False, doc_to_decontamination_query=None,
               gen_prefix=None, metadata=None)
    c.update(cfg)
    if c.generation_kwargs is not None:
        if "temperature" in c.generation_kwargs:
            c.generation_kwargs["temperature"] = float(c.generation_kwargs["temperature"])
        c.generation_kwargs.setdefault("until", [c.fewshot_delimiter])
    elif c.output_type == "generate_until":
        c.generation_kwargs = {"temperature": 0.0, "do_sample": False, "max_gen_toks": 256,
                               "until": [c.fewshot_delimiter]}
    return c


def _standin_task_module():
    import copy
    import re
    import types
    m = types.ModuleType("lm_eval.api.task")
    Instance = sys.modules["lm_eval.api.instance"].Instance
    metrics = sys.modules["lm_eval.api.metrics"]

    class Task:
        VERSION = None
        DATASET_PATH = None
        DATASET_NAME = None
        OUTPUT_TYPE = None

        def __init__(self, data_dir=None, cache_dir=None, download_mode=None, config=None):
            self._config = _task_config(**(config or {}))
            self.dataset = None
            self._training_docs = None
            self._fewshot_docs = None
            self._instances = None
            self.fewshot_rnd = None

        @property
        def config(self):
            return self._config

        def download(self, *a, **k):  # the data come from llm-eval, split by split
            pass

        def has_training_docs(self):
            return False

        def has_validation_docs(self):
            return False

        def has_test_docs(self):
            return False

        def training_docs(self):
            return []

        def validation_docs(self):
            return []

        def test_docs(self):
            return []

        def fewshot_docs(self):
            if self.has_training_docs():
                return self.training_docs()
            if self.has_validation_docs():
                return self.validation_docs()
            return self.test_docs()

        def _process_doc(self, doc):
            return doc

        def should_decontaminate(self):
            return False

        def doc_to_decontamination_query(self, doc):
            return None

        def doc_to_prefix(self, doc):
            return None

        def get_config(self, key):
            return getattr(self._config, key, None)

        @classmethod
        def count_bytes(cls, doc):
            return len(doc.encode("utf-8"))

        @classmethod
        def count_words(cls, doc):
            return len(re.split(r"\s+", doc))

        doc_to_text = _not_served("Task.doc_to_text")
        doc_to_target = _not_served("Task.doc_to_target")
        construct_requests = _not_served("Task.construct_requests")
        process_results = _not_served("Task.process_results")
        aggregation = _not_served("Task.aggregation")
        higher_is_better = _not_served("Task.higher_is_better")

    class ConfigurableTask(Task):
        VERSION = "Yaml"
        CONFIG = None

        def __init__(self, data_dir=None, cache_dir=None, download_mode=None, config=None):
            Task.__init__(self)
            if self.CONFIG is not None:
                self._config = _task_config(**dict(self.CONFIG, **(config or {})))
            else:
                self._config = _task_config(**(config or {}))
            md = self._config.metadata
            if isinstance(md, dict) and "version" in md:
                self.VERSION = md["version"]
            if self._config.output_type is not None:
                self.OUTPUT_TYPE = self._config.output_type
            if self._config.dataset_path is not None:
                self.DATASET_PATH = self._config.dataset_path
            if self._config.dataset_name is not None:
                self.DATASET_NAME = self._config.dataset_name

        # the config's splits, as lm_eval/api/task.py ConfigurableTask reads them
        def has_training_docs(self):
            return self._config.training_split is not None

        def has_validation_docs(self):
            return self._config.validation_split is not None

        def has_test_docs(self):
            return self._config.test_split is not None

        def _split(self, name):
            docs = self.dataset[name]
            pd = self._config.process_docs
            return pd(docs) if callable(pd) else docs

        def training_docs(self):
            return self._split(self._config.training_split) if self.has_training_docs() else None

        def validation_docs(self):
            return self._split(self._config.validation_split) if self.has_validation_docs() else None

        def test_docs(self):
            return self._split(self._config.test_split) if self.has_test_docs() else None

        def _from_config(self, key, doc):
            v = self._config.get(key)
            if callable(v):
                return v(doc)
            if isinstance(v, str) and v in doc:
                return doc[v]
            raise ClassNotServed("class %s uses ConfigurableTask.%s of the harness's lm_eval.api.task, "
                                 "which llm-eval's stand-in serves only as a function or a field name; "
                                 "the class must define %s" % (type(self).__name__, key, key))

        def doc_to_text(self, doc, doc_to_text=None):
            return self._from_config("doc_to_text", doc)

        def doc_to_target(self, doc, doc_to_target=None):
            return self._from_config("doc_to_target", doc)

        def doc_to_choice(self, doc, doc_to_choice=None):
            return self._from_config("doc_to_choice", doc)

        process_results = _not_served("ConfigurableTask.process_results")
        aggregation = _not_served("ConfigurableTask.aggregation")
        higher_is_better = _not_served("ConfigurableTask.higher_is_better")

        def construct_requests(self, doc, ctx, **kwargs):
            # generate_until as lm_eval/api/task.py builds it; the others
            # need its metric machinery, which the stand-in does not have
            kwargs.pop("apply_chat_template", None)
            kwargs.pop("chat_template", None)
            if self.OUTPUT_TYPE == "generate_until":
                return Instance(request_type="generate_until", doc=doc,
                                arguments=(ctx, copy.deepcopy(self._config.generation_kwargs)), idx=0,
                                **kwargs)
            raise ClassNotServed("class %s uses ConfigurableTask.construct_requests of the harness's "
                                 "lm_eval.api.task for output_type %s, which llm-eval's stand-in serves "
                                 "for generate_until only; the class must define construct_requests"
                                 % (type(self).__name__, self.OUTPUT_TYPE))

    class MultipleChoiceTask(Task):
        # lm_eval/api/task.py MultipleChoiceTask: doc["choices"] and doc["gold"]
        OUTPUT_TYPE = "loglikelihood"

        def doc_to_target(self, doc):
            return " " + doc["choices"][doc["gold"]]

        def construct_requests(self, doc, ctx, **kwargs):
            kwargs.pop("apply_chat_template", None)
            kwargs.pop("chat_template", None)
            return [Instance(request_type="loglikelihood", doc=doc, arguments=(ctx, " %s" % c), idx=i,
                             **kwargs) for i, c in enumerate(doc["choices"])]

        def process_results(self, doc, results):
            lls = [r[0] for r in results]
            gold = doc["gold"]
            # numpy's argmax: the first of equal maxima
            best = max(range(len(lls)), key=lambda i: (lls[i], -i))
            norm = [ll / float(len(c)) for ll, c in zip(lls, doc["choices"])]
            best_n = max(range(len(norm)), key=lambda i: (norm[i], -i))
            return {"acc": 1.0 if best == gold else 0.0, "acc_norm": 1.0 if best_n == gold else 0.0}

        def higher_is_better(self):
            return {"acc": True, "acc_norm": True}

        def aggregation(self):
            return {"acc": metrics.mean, "acc_norm": metrics.mean}

    class PerplexityTask(Task):
        OUTPUT_TYPE = "loglikelihood_rolling"

        def doc_to_text(self, doc):
            return ""

        def doc_to_target(self, doc):
            return doc

        def construct_requests(self, doc, ctx, **kwargs):
            if ctx:
                raise ValueError("a perplexity task has no context")
            kwargs.pop("apply_chat_template", None)
            kwargs.pop("chat_template", None)
            return Instance(request_type=self.OUTPUT_TYPE, doc=doc, arguments=(self.doc_to_target(doc),),
                            idx=0, **kwargs)

        def process_results(self, doc, results):
            (ll,) = results
            t = self.doc_to_target(doc)
            return {"word_perplexity": (ll, self.count_words(t)), "byte_perplexity": (ll, self.count_bytes(t)),
                    "bits_per_byte": (ll, self.count_bytes(t))}

        def higher_is_better(self):
            return {"word_perplexity": False, "byte_perplexity": False, "bits_per_byte": False}

        def aggregation(self):
            return {"word_perplexity": metrics.weighted_perplexity,
                    "byte_perplexity": metrics.weighted_perplexity, "bits_per_byte": metrics.bits_per_byte}

    for c in (Task, ConfigurableTask, MultipleChoiceTask, PerplexityTask):
        c.__module__ = m.__name__
        c.LLM_EVAL_STANDIN_BASE = True
        setattr(m, c.__name__, c)
    m.Instance = Instance
    m.TaskConfig = _task_config
    m.ALL_OUTPUT_TYPES = ["loglikelihood", "multiple_choice", "loglikelihood_rolling", "generate_until"]
    m.LLM_EVAL_STANDIN = True
    return m


def _class_key(req):
    """(module file, class name, task name) of a class reference: its
    "name" is "<module>.<Class>@<task>"."""
    left, task = req["name"].split("@", 1)
    return req["module"], left.rsplit(".", 1)[-1], task


def _class_obj(req):
    obj = _class_objs.get(_class_key(req))
    if obj is None:
        raise HookError("RuntimeError: class task %s was not described first" % req["name"])
    return obj


class _Splits(dict):
    """The object's `dataset`: the one split being read (a class reads
    self.dataset[<its name for it>])."""

    def __missing__(self, key):
        if len(self) == 1:
            return next(iter(self.values()))
        raise KeyError(key)


_SPLIT_METHODS = {"test": "test_docs", "validation": "validation_docs", "train": "training_docs"}


def _class_member(req):
    obj = _class_obj(req)
    fn = req["fn"]
    if fn == "llm_eval_docs":
        def docs(ds, split):
            obj.dataset = _Splits({split: ds})
            out = getattr(obj, _SPLIT_METHODS.get(split, "test_docs"))()
            return out if hasattr(out, "to_list") else [_plain(d) for d in (out or [])]
        docs.llm_eval_split = True
        return docs
    if fn.startswith("llm_eval_agg_"):
        return obj.aggregation()[fn[len("llm_eval_agg_"):]]
    return getattr(obj, fn)


def _is_fn(a, name):
    for mod in ("lm_eval.api.metrics",):
        m = sys.modules.get(mod)
        try:
            if m is not None and getattr(m, name, None) is a:
                return True
        except Exception:
            pass
    return False


def _yaml_str(s):
    return json.dumps(s, ensure_ascii=True)


def _describe(req):
    import inspect
    import re
    if os.path.isfile(req["module"]):
        _add_package_root(req["module"])
    _lm_eval_standins()
    cls = _fn(req)
    task = req["task"]
    if not isinstance(cls, type):
        raise ClassNotServed("%s is not a class" % req["fn"])
    Task = sys.modules["lm_eval.api.task"].Task
    if not issubclass(cls, Task):
        bases = ", ".join("%s.%s" % (b.__module__, b.__name__) for b in cls.__mro__[1:-1]) or "object"
        raise ClassNotServed("class %s is not a subclass of lm_eval.api.task.Task (its bases: %s)"
                             % (cls.__name__, bases))
    # a class that loads its own data (scrolls' zip files, unitxt's recipes)
    # does it in download(); llm-eval reads the splits of DATASET_PATH instead
    own = [b for b in cls.__mro__ if "download" in vars(b) and not vars(b).get("LLM_EVAL_STANDIN_BASE")]
    if own:
        raise ClassNotServed("class %s loads its own data (%s.download), which llm-eval does not run: it "
                             "reads the splits of the task's dataset_path instead" % (cls.__name__, own[0].__name__))
    cfg = dict(req.get("config") or {})
    init = getattr(cls, "__init__", None)
    obj = cls(config=cfg) if init and "config" in inspect.signature(init).parameters else cls()
    if hasattr(obj, "config") and hasattr(obj.config, "task"):
        obj.config.task = task
    _class_objs[(req["module"], req["fn"].rsplit(".", 1)[-1], task)] = obj
    ref = "%s.%s@%s.%%s" % (req["name"], req["fn"], task)
    for meth in ("aggregation", "higher_is_better", "construct_requests", "process_results",
                 "doc_to_text"):
        if getattr(getattr(cls, meth, None), "llm_eval_not_served", False):
            getattr(obj, meth)()  # raises the line naming it
    agg = obj.aggregation() or {}
    hib = obj.higher_is_better() or {}
    if not agg:
        raise ClassNotServed("class %s: aggregation() names no metric" % cls.__name__)
    c = obj.config
    lines = ["task: %s" % _yaml_str(task)]
    if obj.DATASET_PATH is not None:
        lines.append("dataset_path: %s" % _yaml_str(str(obj.DATASET_PATH)))
    if obj.DATASET_NAME is not None:
        lines.append("dataset_name: %s" % _yaml_str(str(obj.DATASET_NAME)))
    splits = [("test_split", "test", obj.has_test_docs()),
              ("validation_split", "validation", obj.has_validation_docs()),
              ("training_split", "train", obj.has_training_docs())]
    if not any(s[2] for s in splits[:2]):
        raise ClassNotServed("class %s has neither test nor validation documents (has_test_docs and "
                             "has_validation_docs are false)" % cls.__name__)
    for key, name, has in splits:
        if has:
            lines.append("%s: %s" % (key, name))
    lines.append("output_type: generate_until")  # decided from the first document
    nf = c.get("num_fewshot") if isinstance(c, dict) else getattr(c, "num_fewshot", None)
    if isinstance(nf, int) and not isinstance(nf, bool):
        lines.append("num_fewshot: %d" % nf)
    if isinstance(obj, sys.modules["lm_eval.api.task"].ConfigurableTask):
        for key in ("target_delimiter", "fewshot_delimiter"):
            v = c.get(key) if isinstance(c, dict) else getattr(c, key, None)
            if isinstance(v, str):
                lines.append("%s: %s" % (key, _yaml_str(v)))
    else:
        # Task.fewshot_context: doc_to_text + doc_to_target per example,
        # joined and followed by "\n\n"
        lines.append('target_delimiter: ""')
    for key, meth in (("process_docs", "llm_eval_docs"), ("doc_to_text", "doc_to_text"),
                      ("doc_to_target", "doc_to_target"), ("process_results", "process_results")):
        lines.append("%s: !function %s" % (key, _yaml_str(ref % meth)))
    lines.append("metric_list:")
    for name, fn in agg.items():
        if not re.fullmatch(r"[A-Za-z0-9_\-]+", str(name)):
            raise ClassNotServed("class %s: aggregation() names metric %r; llm-eval serves names of "
                                 "letters, digits, _ and -" % (cls.__name__, name))
        lines.append("  - metric: %s" % _yaml_str(name))
        builtin = next((b for b in ("mean", "median", "perplexity", "weighted_perplexity", "bits_per_byte")
                        if _is_fn(fn, b)), None)
        if builtin:
            lines.append("    aggregation: %s" % builtin)
        else:
            lines.append("    aggregation: !function %s" % _yaml_str(ref % ("llm_eval_agg_" + name)))
        lines.append("    higher_is_better: %s" % ("true" if hib.get(name, True) else "false"))
    v = obj.VERSION
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        lines.append("metadata:\n  version: %s" % json.dumps(v))
    elif isinstance(v, str):
        lines.append("metadata:\n  version: %s" % _yaml_str(v))
    return "\n".join(lines) + "\n"


def _requests(req):
    """construct_requests(doc, ctx) as lm_eval/api/task.py build_all_requests
    calls it: [[request_type, arguments...], ...]."""
    obj = _class_obj(req)
    out = obj.construct_requests(doc=req["doc"], ctx=req["ctx"],
                                 metadata=(obj.config.get("task") if isinstance(obj.config, dict) else None,
                                           req.get("doc_id"), 1),
                                 apply_chat_template=False, chat_template=None)
    if not isinstance(out, (list, tuple)):
        out = [out]
    res = []
    for inst in out:
        args = inst.arguments if isinstance(inst.arguments, tuple) else (inst.arguments,)
        res.append([inst.request_type] + [_plain(a) for a in args])
    return res


def _class_op(op, req):
    if op == "class":
        return _describe(req)
    return _requests(req)


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
