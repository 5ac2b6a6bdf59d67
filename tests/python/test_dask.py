"""Sweeps on real Dask clusters on loopback: a LocalCluster of worker processes, and a cluster
of `dask-scheduler` / `dask-worker` processes started without PYTHONPATH."""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

import xpusim
from xpusim.rowstore import read_rows
from xpusim.sweep import point_key, sweep_points
from conftest import TARGET

distributed = pytest.importorskip("distributed")

# Two config parameters of the reference preset (its only numeric one, and its name, which
# each row's `config` column echoes back from the worker).
GRID6 = {"host.threads": [1, 2, 3], "name": ["ref_a", "ref_b"]}
SLOW6 = {"seed": [0, 1, 2, 3, 4, 5], "shape:input_ids": ["16x384"]}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_six_points_on_a_local_cluster(client, small_cnn):
    df = xpusim.sweep(small_cnn, TARGET, GRID6, executor=client, shapes={"image": "1x3x32x32"},
                      progress=False)
    assert len(df) == 6 and "latency_s" in df.columns
    assert df["error"].isna().all(), df["error"].tolist()
    assert df[["host.threads", "name"]].values.tolist() == [
        [p["host.threads"], p["name"]] for p in sweep_points(GRID6)]
    assert df["config"].tolist() == df["name"].tolist()
    worker_pids = set(client.run(os.getpid).values())
    assert {int(w.split(":")[1]) for w in df["worker"]} <= worker_pids
    assert os.getpid() not in worker_pids


def test_six_tpu_points_on_a_local_cluster_have_latency(client, small_cnn):
    grid = {"mxu.rows": [64, 128, 256], "clock_mhz": [700.0, 940.0]}
    df = xpusim.sweep(small_cnn, "tpu_v1", grid, executor=client, shapes={"image": "1x3x32x32"},
                      progress=False)
    assert len(df) == 6 and df["error"].isna().all(), df["error"].tolist()
    assert df["latency_s"].notna().all() and (df["latency_s"] > 0).all()
    assert (df["throughput"] * df["latency_s"]).round(12).eq(1.0).all()
    assert [c for c in df.columns if c.startswith("util.")]


def test_a_killed_worker_loses_no_row(client, small_transformer, tmp_path):
    out = str(tmp_path / "rows.csv")
    killed = []

    def kill_a_busy_worker():
        deadline = time.time() + 60
        while time.time() < deadline:
            busy = [addr for addr, tasks in client.processing().items() if tasks]
            if busy and os.path.exists(out) and read_rows(out):
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.05)

    killer = threading.Thread(target=kill_a_busy_worker)
    killer.start()
    df = xpusim.sweep(small_transformer, TARGET, SLOW6, executor=client, out=out, progress=False)
    killer.join()
    assert killed, "no worker was killed"
    assert len(df) == 6 and df["error"].isna().all(), df["error"].tolist()
    expected = sorted(point_key(p) for p in sweep_points(SLOW6))
    assert sorted(point_key(p) for p, _ in read_rows(out)) == expected
    # Resuming finds every point in the file and runs nothing.
    client.wait_for_workers(2, timeout=60)
    again = xpusim.sweep(small_transformer, TARGET, SLOW6, executor=client, out=out,
                         progress=False)
    assert again["worker"].tolist() == df["worker"].tolist()
    assert sorted(point_key(p) for p, _ in read_rows(out)) == expected


def test_sweep_command_on_separate_scheduler_and_worker_processes(small_cnn, tmp_path,
                                                                  python_env):
    # The cluster's processes get no PYTHONPATH: the sweep ships the package's location itself.
    bare = {k: v for k, v in python_env.items() if k != "PYTHONPATH"}
    bare["PYTHONPATH"] = ""
    scheduler_file = str(tmp_path / "scheduler.json")
    bin_dir = os.path.dirname(sys.executable)
    procs = [subprocess.Popen([os.path.join(bin_dir, "dask-scheduler"), "--host", "127.0.0.1",
                               "--port", "0", "--no-dashboard", "--scheduler-file",
                               scheduler_file], env=bare, cwd=str(tmp_path),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.time() + 60
        while not os.path.exists(scheduler_file) and time.time() < deadline:
            time.sleep(0.1)
        procs.append(subprocess.Popen(
            [os.path.join(bin_dir, "dask-worker"), "--scheduler-file", scheduler_file,
             "--nworkers", "2", "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
            env=bare, cwd=str(tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        import json
        address = json.load(open(scheduler_file))["address"]
        with distributed.Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=60)
        sweep_file = tmp_path / "sweep.yaml"
        sweep_file.write_text(
            "model: {}\nbase: {}\nshapes: {{image: 1x3x32x32}}\n"
            "grid:\n  host.threads: [1, 2, 3]\n  seed: [0, 1]\n"
            "objectives: {{wall_s: min}}\n".format(small_cnn, TARGET))
        out = tmp_path / "rows.csv"
        done = subprocess.run([sys.executable, "-m", "xpusim", "sweep", str(sweep_file),
                               "--scheduler", address, "-o", str(out), "--no-progress"],
                              env=python_env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        assert "6 points, 0 failed" in done.stdout and "Pareto front (min wall_s)" in done.stdout
        df = xpusim.load_results(out)
        assert len(df) == 6 and df["error"].isna().all()
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
