"""Design-space sweeps: one simulation per point, each in a worker process, on any
concurrent.futures.Executor (a local process pool by default) or a Dask distributed.Client.

A point is a dict of swept values. Keys are config paths ("mxu.rows": 128), plus two that are
not config values: "shape:<input>" ("shape:image": "8x3x32x32", an input's shape) and "seed".
Each finished point becomes one row: the swept values (a column per key), then latency_s,
throughput (1/latency_s), cycles, energy_j, util.<unit> (utilization per hardware unit), fits
(no capacity limit exceeded), compatible (no op placed on the host), host_ops, target, config,
wall_s (seconds the point took in its worker), worker ("host:pid") and error (None, or the
message of the error that point raised; the sweep goes on).

With out=FILE (.csv or .jsonl) each row is appended and fsync'ed as soon as its point
finishes, and a rerun skips the points already in the file (matched by their swept values), so
a killed worker or an interrupted sweep loses only the points in flight. Points lost with a
worker (the process died, the pool broke, Dask gave up) are never written, so a rerun redoes
them; a pool the sweep made itself is replaced and the lost points rerun at once.
"""
import concurrent.futures as cf
import itertools
import json
import os
import sys
import warnings

from xpusim import _worker
from xpusim._convert import override_strings, plain, shape_lists, yaml_scalar
from xpusim.rowstore import RowStore, load_results  # noqa: F401  (load_results is public)

SHAPE_PREFIX = "shape:"
SEED_KEY = "seed"


def sweep_points(grid_or_points):
    """A dict {key: [values]} -> its cartesian product as a list of dicts (the first key varies
    slowest); a list of dicts -> itself."""
    if isinstance(grid_or_points, dict):
        keys = list(grid_or_points)
        values = []
        for k in keys:
            v = grid_or_points[k]
            if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
                raise ValueError("grid value of {!r} must be a list of values, not {!r}".format(k, v))
            values.append(list(v))
        return [dict(zip(keys, combo)) for combo in itertools.product(*values)]
    points = [dict(p) for p in grid_or_points]
    for p in points:
        if not isinstance(p, dict):
            raise ValueError("a list of points must hold dicts, got {!r}".format(p))
    return points


def point_key(point):
    """The identity of a point in an out file: its swept values as canonical JSON."""
    return json.dumps({str(k): plain(v) for k, v in point.items()}, sort_keys=True)


def _package_parent():
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _make_tasks(model, base_spec, base_overrides, points, seed, shapes, timing_only):
    base_shapes = shape_lists(shapes)
    tasks = []
    for p in points:
        overrides = list(base_overrides)
        point_shapes = dict(base_shapes)
        point_seed = int(seed)
        for k, v in p.items():
            if k == SEED_KEY:
                point_seed = int(v)
            elif k.startswith(SHAPE_PREFIX):
                point_shapes.update(shape_lists({k[len(SHAPE_PREFIX):]: plain(v)}))
            else:
                overrides.append("{}={}".format(k, yaml_scalar(v)))
        tasks.append({"model": model, "config": base_spec, "overrides": overrides,
                      "shapes": point_shapes, "seed": point_seed,
                      "timing_only": bool(timing_only)})
    return tasks


def _check_keys(base_spec, base_overrides, points):
    """A swept key the target does not have is a mistake in the sweep, not in one point: raise
    the loader's ConfigError (it names the nearest valid key) before running anything."""
    from xpusim._native import native
    values = native.load_config(base_spec, base_overrides).values()
    checked = set()
    for p in points:
        for k, v in p.items():
            if k in checked or k == SEED_KEY or k.startswith(SHAPE_PREFIX):
                continue
            checked.add(k)
            if k not in values:
                native.load_config(base_spec, base_overrides + ["{}={}".format(k, yaml_scalar(v))])


def _progress_bar(total, initial, enabled):
    if not enabled:
        return None
    try:
        from tqdm import tqdm as tqdm_std
    except ImportError:
        return None
    bar_class = tqdm_std
    try:  # a notebook widget when Jupyter and ipywidgets are there, text otherwise
        ip = sys.modules["IPython"].get_ipython()
        if ip is not None and "IPKernelApp" in ip.config:
            import ipywidgets  # noqa: F401
            from tqdm.notebook import tqdm as bar_class
    except Exception:
        pass
    return bar_class(total=total, initial=initial, desc="sweep", unit="pt")


def _is_dask_client(executor):
    return type(executor).__module__.startswith("distributed") and hasattr(executor, "scheduler")


def _run_futures(executor, items, on_row):
    """Runs (index, task) items on a concurrent.futures.Executor; returns the items lost with
    a broken executor."""
    futures = {executor.submit(_worker.run_point, task): (i, task) for i, task in items}
    lost = []
    try:
        for f in cf.as_completed(futures):
            i, task = futures[f]
            try:
                on_row(i, f.result(), True)
            except (cf.BrokenExecutor, cf.CancelledError) as e:
                lost.append((i, task, e))
            except Exception as e:  # the task never ran (e.g. it could not be sent)
                on_row(i, {"error": "{}: {}".format(type(e).__name__, e)}, True)
    except BaseException:
        for f in futures:
            f.cancel()
        raise
    return lost


def _run_owned_pool(workers, items, on_row, retries):
    """Our own pool of spawned processes (a fork would inherit OpenMP state a child cannot use);
    a pool broken by a dead worker is replaced and its lost points rerun, `retries` times."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    lost = []
    for attempt in range(retries + 1):
        if not items:
            break
        pool = cf.ProcessPoolExecutor(max_workers=max(1, min(workers, len(items))), mp_context=ctx)
        try:
            lost = _run_futures(pool, items, on_row)
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        items = [(i, task) for i, task, _ in lost]
    return lost


def _run_dask(client, items, on_row):
    """Runs (index, task) items on a Dask cluster. The scheduler already reruns the tasks of a
    worker that died; a point it gives up on (KilledWorker) is reported lost."""
    import cloudpickle
    from distributed import as_completed
    from xpusim import _dask_entry
    cloudpickle.register_pickle_by_value(_dask_entry)
    parent = _package_parent()
    futures = {}
    for i, task in items:
        f = client.submit(_dask_entry.run_point_at, parent, task, pure=False,
                          key="xpusim-point-{}-{}".format(i, os.urandom(6).hex()))
        futures[f.key] = (f, i, task)
    lost = []
    try:
        for f in as_completed([v[0] for v in futures.values()]):
            _, i, task = futures[f.key]
            if f.status == "finished":
                on_row(i, f.result(), True)
            else:
                try:
                    f.result()
                except BaseException as e:
                    lost.append((i, task, e))
                f.release()
    except BaseException:
        client.cancel([v[0] for v in futures.values()])
        raise
    return lost


def sweep(model, base_config, grid_or_points, executor=None, timing_only=True, out=None, seed=0,
          shapes=None, progress=True, overrides=None, workers=None, retries=2):
    """Runs `model` on `base_config` once per point; returns a pandas DataFrame, one row per
    point in the order given (see the module docstring for the columns).

    grid_or_points: {key: [values]} (a cartesian grid) or [{key: value}, ...]. executor: a
    concurrent.futures.Executor or a distributed.Client; None makes a process pool of
    `workers` (default os.cpu_count()) processes. overrides, shapes and seed apply to every
    point before its own values. out: a .csv or .jsonl file to append rows to and resume from.
    """
    import pandas as pd
    from xpusim.api import config_request
    from xpusim._native import IoError

    model = os.path.abspath(os.fspath(model))
    if not os.path.isfile(model):
        raise IoError("cannot open model '{}': no such file".format(model))
    base_spec, base_overrides = config_request(base_config, override_strings(overrides))
    points = sweep_points(grid_or_points)
    columns = []
    for p in points:
        columns.extend(k for k in p if k not in columns)
    _check_keys(base_spec, base_overrides, points)
    tasks = _make_tasks(model, base_spec, base_overrides, points, seed, shapes, timing_only)
    keys = [point_key(p) for p in points]

    store = RowStore(out, columns) if out is not None else None
    done = store.load() if store else {}
    rows = {}
    todo, first_of_key = [], {}
    for i, k in enumerate(keys):
        if k in done:
            rows[i] = done[k]
        elif k not in first_of_key:
            first_of_key[k] = i
            todo.append((i, tasks[i]))

    bar = _progress_bar(len(points), len(points) - len(todo), progress)

    def on_row(i, row, persist):
        row = dict(row)
        if persist and store is not None:
            store.append(points[i], keys[i], row)
        rows[i] = row
        if bar is not None:
            bar.update(1)

    try:
        if not todo:
            lost = []
        elif executor is None:
            lost = _run_owned_pool(workers or os.cpu_count() or 1, todo, on_row, retries)
        elif _is_dask_client(executor):
            lost = _run_dask(executor, todo, on_row)
        else:
            if isinstance(executor, cf.ThreadPoolExecutor):
                warnings.warn("a ThreadPoolExecutor runs the points one at a time: the SystemC "
                              "kernel allows one simulation per process", stacklevel=2)
            if hasattr(executor, "_client") and type(executor).__name__ == "ClientExecutor":
                lost = _run_dask(executor._client, todo, on_row)
            else:
                lost = _run_futures(executor, todo, on_row)
        for i, _, e in lost:
            rows[i] = {"error": "worker lost, point not saved (rerun to retry): {}: {}".format(
                type(e).__name__, e)}
    finally:
        if bar is not None:
            bar.close()
        if store is not None:
            store.close()

    for i, k in enumerate(keys):  # duplicate points share their first's row
        if i not in rows:
            rows[i] = rows[first_of_key[k]]
    records = []
    for i, p in enumerate(points):
        rec = {c: plain(p.get(c)) for c in columns}
        r = dict(rows[i])
        util = r.pop("util", None) or {}
        rec.update({c: r.get(c) for c in _worker.METRICS})
        rec.update({"util." + u: v for u, v in util.items()})
        rec.update({c: r.get(c) for c in _worker.FLAGS})
        records.append(rec)
    util_cols = sorted({c for rec in records for c in rec if c.startswith("util.")})
    order = columns + _worker.METRICS + util_cols + _worker.FLAGS
    return pd.DataFrame.from_records(records, columns=order)
