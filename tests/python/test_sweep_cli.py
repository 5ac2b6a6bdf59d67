"""`python3 -m xpusim sweep FILE` (what `xpusim sweep` runs): sweep files, the Pareto front,
exit codes, and resuming after the whole sweep was killed."""
import glob
import os
import signal
import subprocess
import sys
import time

import pytest

import xpusim
from xpusim.rowstore import read_rows
from xpusim.sweep import point_key
from conftest import ROOT, TARGET


def sweep_cmd(python_env, *args, **kwargs):
    return subprocess.run([sys.executable, "-m", "xpusim", "sweep", *args], env=python_env,
                          capture_output=True, text=True, timeout=300, **kwargs)


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "configs", "sweeps", "*.yaml"))),
                         ids=os.path.basename)
def test_every_bundled_sweep_file_parses(path, models, monkeypatch):
    monkeypatch.setenv("XPUSIM_MODELS_DIR", models)
    if "resnet50" in path and not os.path.exists(os.path.join(models, "resnet50.onnx")):
        pytest.skip("resnet50.onnx not built (ctest's models.generate builds it)")
    spec = xpusim.load_sweep_file(path)
    assert spec.points and os.path.isfile(spec.model) and spec.objectives


def test_bundled_reference_sweep_runs(python_env, models, tmp_path):
    env = dict(python_env, XPUSIM_MODELS_DIR=models)
    done = sweep_cmd(env, os.path.join(ROOT, "configs", "sweeps", "reference_threads.yaml"),
                     "-o", str(tmp_path / "rows.csv"), "--workers", "2", "--no-progress")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("6 points, 0 failed")
    assert "Pareto front (min wall_s, min host.threads)" in done.stdout


def test_random_sampling_is_reproducible(tmp_path, small_cnn):
    f = tmp_path / "r.yaml"
    f.write_text("model: {}\nbase: {}\nrandom:\n  n: 5\n  seed: 3\n  params:\n"
                 "    host.threads: {{min: 1, max: 8}}\n    seed: {{choices: [1, 2]}}\n"
                 .format(small_cnn, TARGET))
    a, b = xpusim.load_sweep_file(f), xpusim.load_sweep_file(f)
    assert a.points == b.points and len(a.points) == 5
    assert all(1 <= p["host.threads"] <= 8 and isinstance(p["host.threads"], int) for p in a.points)


@pytest.mark.parametrize("text, message", [
    ("model: M\nbase: reference\ngird: {host.threads: [1]}\n", "unknown key 'gird'"),
    ("base: reference\ngrid: {host.threads: [1]}\n", "exactly one of model: PATH or generate"),
    ("model: M\nbase: reference\n", "exactly one of grid, random or points"),
    ("model: nowhere.onnx\nbase: reference\ngrid: {host.threads: [1]}\n", "model 'nowhere.onnx' not found"),
    ("model: M\nbase: reference\ngrid: {host.thread: [1]}\n", "did you mean 'host.threads'"),
    ("model: M\nbase: reference\ngrid: {host.threads: [1]}\nobjectives: {latency_s: low}\n",
     "expected min or max"),
])
def test_bad_sweep_files_exit_2_with_one_line(text, message, tmp_path, small_cnn, python_env):
    f = tmp_path / "bad.yaml"
    f.write_text(text.replace("model: M", "model: " + small_cnn))
    done = sweep_cmd(python_env, str(f))
    assert done.returncode == 2
    assert done.stderr.startswith("xpusim: ") and done.stderr.count("\n") == 1
    assert message in done.stderr


def test_usage_errors_exit_2(python_env):
    assert sweep_cmd(python_env).returncode == 2
    assert sweep_cmd(python_env, "a.yaml", "--bogus").returncode == 2
    done = sweep_cmd(python_env, "--help")
    assert done.returncode == 0 and "--scheduler" in done.stdout


def test_a_killed_sweep_resumes_without_losing_or_repeating_points(tmp_path, small_transformer,
                                                                   python_env):
    f = tmp_path / "slow.yaml"
    f.write_text("model: {}\nbase: {}\ngrid:\n  seed: [0, 1, 2, 3, 4, 5]\n"
                 "  shape:input_ids: [16x384]\nobjectives: {{wall_s: min}}\n"
                 .format(small_transformer, TARGET))
    out = str(tmp_path / "rows.csv")
    # Its own session, so the kill takes the workers too: a machine going down mid-sweep.
    proc = subprocess.Popen([sys.executable, "-m", "xpusim", "sweep", str(f), "-o", out,
                             "--workers", "2", "--no-progress"], env=python_env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if os.path.exists(out) and len(read_rows(out)) >= 1:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = [point_key(p) for p, _ in read_rows(out)]
    assert 1 <= len(before) < 6
    done = sweep_cmd(python_env, str(f), "-o", out, "--workers", "2", "--no-progress")
    assert done.returncode == 0, done.stderr
    after = [point_key(p) for p, _ in read_rows(out)]
    assert after[:len(before)] == before  # the saved rows were kept, not redone
    assert sorted(after) == sorted(point_key({"seed": s, "shape:input_ids": "16x384"})
                                   for s in range(6))
