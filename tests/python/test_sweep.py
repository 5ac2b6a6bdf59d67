"""Sweeps on a local process pool: rows, errors, the out file, resuming, and killed workers."""
import concurrent.futures as cf
import multiprocessing
import os
import signal
import threading
import time

import pandas as pd
import pytest

import xpusim
from xpusim.rowstore import read_rows
from xpusim.sweep import point_key, sweep_points
from conftest import TARGET

GRID = {"host.threads": [1, 2], "shape:image": ["1x3x32x32", "2x3x32x32"]}
# Points that each take most of a second on the reference executor, so a kill lands mid-point.
SLOW = {"seed": [0, 1, 2, 3], "shape:input_ids": ["16x384"]}


def test_grid_is_a_cartesian_product_first_key_slowest():
    assert sweep_points({"a": [1, 2], "b": ["x", "y"]}) == [
        {"a": 1, "b": "x"}, {"a": 1, "b": "y"}, {"a": 2, "b": "x"}, {"a": 2, "b": "y"}]
    assert sweep_points([{"a": 1}, {"b": 2}]) == [{"a": 1}, {"b": 2}]
    assert point_key({"b": 1, "a": (2, 3)}) == '{"a": [2, 3], "b": 1}'
    with pytest.raises(ValueError):
        sweep_points({"a": 3})


def test_sweep_on_the_default_process_pool(small_cnn):
    df = xpusim.sweep(small_cnn, TARGET, GRID, workers=2, progress=False)
    assert len(df) == 4
    assert list(df.columns[:2]) == ["host.threads", "shape:image"]
    for col in ["latency_s", "throughput", "cycles", "energy_j", "fits", "compatible",
                "host_ops", "wall_s", "error"]:
        assert col in df.columns
    assert df["error"].isna().all(), df["error"].tolist()
    assert df[["host.threads", "shape:image"]].values.tolist() == [
        [p["host.threads"], p["shape:image"]] for p in sweep_points(GRID)]
    assert (df["fits"] == True).all() and (df["host_ops"] == 0).all()  # noqa: E712
    pids = {w.split(":")[1] for w in df["worker"]}
    assert str(os.getpid()) not in pids  # every point ran in a worker process


def test_tpu_sweep_on_the_default_process_pool_reports_latency(small_cnn):
    grid = {"mxu.rows": [64, 256], "clock_mhz": [700.0, 940.0]}
    df = xpusim.sweep(small_cnn, "tpu_v1", grid, workers=2, progress=False, shapes={"image": "1x3x32x32"})
    assert len(df) == 4 and df["error"].isna().all(), df["error"].tolist()
    assert (df["latency_s"] > 0).all() and (df["energy_j"] > 0).all()
    # A faster clock with the same array never takes more cycles' worth of time.
    for rows in grid["mxu.rows"]:
        sub = df[df["mxu.rows"] == rows].sort_values("clock_mhz")
        assert sub["latency_s"].iloc[1] <= sub["latency_s"].iloc[0]


def test_a_failing_point_records_its_error_and_the_sweep_goes_on(small_cnn):
    df = xpusim.sweep(small_cnn, TARGET, {"host.threads": [1, 100000]},
                      shapes={"image": "1x3x32x32"}, workers=1, progress=False)
    assert df["error"].iloc[0] is None
    with pytest.raises(xpusim.ConfigError) as info:
        xpusim.config(TARGET, {"host.threads": 100000})
    assert df["error"].iloc[1] == str(info.value)


def test_an_unknown_swept_key_fails_before_any_point_runs(small_cnn):
    with pytest.raises(xpusim.ConfigError, match="did you mean 'host.threads'"):
        xpusim.sweep(small_cnn, TARGET, {"host.thread": [1, 2]}, progress=False)


class CountingExecutor(cf.Executor):
    """Runs points in a process pool and counts them."""

    def __init__(self):
        self.pool = cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
        self.submitted = 0

    def submit(self, fn, *args, **kwargs):
        self.submitted += 1
        return self.pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait=True, **kwargs):
        self.pool.shutdown(wait=wait)


def keys_in(path):
    return [point_key(p) for p, _ in read_rows(path)]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_out_file_is_appended_and_resumed(small_cnn, tmp_path, suffix):
    out = str(tmp_path / ("rows" + suffix))
    ex = CountingExecutor()
    try:
        first = xpusim.sweep(small_cnn, TARGET, {"host.threads": [1, 2]}, executor=ex, out=out,
                             shapes={"image": "1x3x32x32"}, progress=False)
        assert ex.submitted == 2 and len(keys_in(out)) == 2
        # A torn last line (a crash mid-write) is dropped, not misread.
        with open(out, "a") as f:
            f.write('{"host.threads": 9, "latency' if suffix == ".jsonl" else "9,,,")
        more = xpusim.sweep(small_cnn, TARGET, {"host.threads": [1, 2, 3]}, executor=ex,
                            out=out, shapes={"image": "1x3x32x32"}, progress=False)
        assert ex.submitted == 3  # only the new point ran
        assert sorted(keys_in(out)) == sorted(point_key({"host.threads": t}) for t in (1, 2, 3))
        assert more["worker"].iloc[:2].tolist() == first["worker"].tolist()
        again = xpusim.sweep(small_cnn, TARGET, {"host.threads": [1, 2, 3]}, executor=ex,
                             out=out, shapes={"image": "1x3x32x32"}, progress=False)
        assert ex.submitted == 3
        pd.testing.assert_frame_equal(again, more)
        loaded = xpusim.load_results(out)
        assert sorted(loaded["host.threads"]) == [1, 2, 3]  # in the order points finished
        assert loaded["error"].isna().all()
    finally:
        ex.shutdown()


def kill_a_child_once_a_row_is_saved(out, children, killed):
    """Waits until a point has finished (so the others are in flight), then SIGKILLs a worker."""
    deadline = time.time() + 60
    while time.time() < deadline:
        procs = children()
        if procs and os.path.exists(out) and len(read_rows(out)) >= 1:
            os.kill(procs[0], signal.SIGKILL)
            killed.append(procs[0])
            return
        time.sleep(0.05)


def test_a_killed_worker_of_the_own_pool_loses_no_point(small_transformer, tmp_path):
    out = str(tmp_path / "rows.csv")
    killed = []
    killer = threading.Thread(target=kill_a_child_once_a_row_is_saved, args=(
        out, lambda: [p.pid for p in multiprocessing.active_children()], killed))
    killer.start()
    df = xpusim.sweep(small_transformer, TARGET, SLOW, workers=2, out=out, progress=False)
    killer.join()
    assert killed, "no worker was killed"
    assert df["error"].isna().all(), df["error"].tolist()
    keys = keys_in(out)
    assert sorted(keys) == sorted(point_key(p) for p in sweep_points(SLOW))  # each exactly once


def test_a_killed_worker_of_a_given_pool_is_redone_on_resume(small_transformer, tmp_path):
    out = str(tmp_path / "rows.jsonl")
    pool = cf.ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn"))
    killed = []
    killer = threading.Thread(target=kill_a_child_once_a_row_is_saved, args=(
        out, lambda: list(pool._processes or {}), killed))
    killer.start()
    df = xpusim.sweep(small_transformer, TARGET, SLOW, executor=pool, out=out, progress=False)
    killer.join()
    pool.shutdown()
    assert killed, "no worker was killed"
    lost = df["error"].notna()
    assert lost.any() and df["error"][lost].str.startswith("worker lost").all()
    assert len(keys_in(out)) == (~lost).sum()  # lost points are not saved ...
    df = xpusim.sweep(small_transformer, TARGET, SLOW, workers=2, out=out, progress=False)
    assert df["error"].isna().all()  # ... so the rerun does them
    assert sorted(keys_in(out)) == sorted(point_key(p) for p in sweep_points(SLOW))


def test_an_out_file_of_another_sweep_is_refused(small_cnn, tmp_path):
    out = str(tmp_path / "rows.csv")
    xpusim.sweep(small_cnn, TARGET, {"host.threads": [1]}, shapes={"image": "1x3x32x32"},
                 out=out, workers=1, progress=False)
    with pytest.raises(ValueError, match="use another out file"):
        xpusim.sweep(small_cnn, TARGET, {"seed": [1]}, shapes={"image": "1x3x32x32"}, out=out,
                     progress=False)


def test_a_thread_pool_still_runs_one_simulation_at_a_time(small_cnn):
    with cf.ThreadPoolExecutor(4) as pool, pytest.warns(UserWarning, match="one at a time"):
        df = xpusim.sweep(small_cnn, TARGET, GRID, executor=pool, progress=False)
    assert df["error"].isna().all() and len(df) == 4
