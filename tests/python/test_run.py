"""xpusim.run, check, compare and config give what the command line gives, bit for bit."""
import gc
import json
import math
import os
import subprocess

import numpy as np
import pytest

import xpusim
from conftest import TARGET


def strip_wall(doc):
    """The document without host wall times (the only numbers two runs may differ in)."""
    if isinstance(doc, dict):
        return {k: strip_wall(v) for k, v in doc.items() if k != "wall_s"}
    if isinstance(doc, list):
        return [strip_wall(v) for v in doc]
    return doc


def trace_without_times(trace):
    return [{k: v for k, v in e.items() if k not in ("ts", "dur", "args")}
            for e in trace["traceEvents"]]


def npy_files(folder):
    return {name: open(os.path.join(folder, name), "rb").read()
            for name in sorted(os.listdir(folder))}


def run_cli(cli, *args, check=True):
    done = subprocess.run([cli, *args], capture_output=True, text=True)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("preset", xpusim.presets())
@pytest.mark.parametrize("timing_only", [False, True])
def test_run_equals_cli_bit_for_bit(cli, small_cnn, tmp_path, timing_only, preset):
    flags = ["--timing-only"] if timing_only else []
    # One override through --set / overrides= where the preset has the reference's parameter.
    sets = {"host.threads": 1} if "host.threads" in xpusim.config(preset).values else {}
    for k, v in sets.items():
        flags += ["--set", "{}={}".format(k, v)]
    done = run_cli(cli, "run", small_cnn, "-c", preset, "--seed", "7", "--shape",
                   "image=2x3x32x32", "-o", str(tmp_path / "cli"), *flags, check=False)
    if done.returncode != 0:  # a target that cannot run it fails the same way in Python
        with pytest.raises(xpusim.XpusimError) as info:
            xpusim.run(small_cnn, preset, seed=7, shapes={"image": (2, 3, 32, 32)},
                       overrides=sets, timing_only=timing_only)
        assert done.stderr == "xpusim: {}\n".format(info.value)
        return
    r = xpusim.run(small_cnn, preset, seed=7, shapes={"image": (2, 3, 32, 32)},
                   overrides=sets, timing_only=timing_only)
    r.write(tmp_path / "py")

    for sub in ("outputs", "inputs"):
        assert npy_files(tmp_path / "cli" / sub) == npy_files(tmp_path / "py" / sub)
    for name, array in r.outputs.items():
        expected = np.load(tmp_path / "cli" / "outputs" / (name + ".npy"))
        assert array.dtype == expected.dtype and array.shape == expected.shape
        assert array.tobytes() == expected.tobytes()
    cli_stats = json.load(open(tmp_path / "cli" / "stats.json"))
    assert strip_wall(r.stats) == strip_wall(cli_stats)
    assert strip_wall(json.load(open(tmp_path / "py" / "stats.json"))) == strip_wall(cli_stats)
    cli_trace = json.load(open(tmp_path / "cli" / "trace.json"))
    if cli_stats["cycles"] is None:  # host wall-clock trace: compare its structure
        assert trace_without_times(r.trace) == trace_without_times(cli_trace)
    else:
        assert r.trace == cli_trace


def test_given_inputs_equal_cli_input_files(cli, small_transformer, tmp_path):
    ids = np.random.default_rng(3).integers(0, 128, size=(2, 16)).astype(np.int64)
    np.save(tmp_path / "ids.npy", ids)
    run_cli(cli, "run", small_transformer, "-c", TARGET, "--input",
            "input_ids=" + str(tmp_path / "ids.npy"), "-o", str(tmp_path / "cli"))
    # Non-contiguous on purpose: the module copies what numpy hands it into a C-order tensor.
    r = xpusim.run(small_transformer, TARGET, inputs={"input_ids": np.asfortranarray(ids)})
    r.write(tmp_path / "py")
    assert npy_files(tmp_path / "cli" / "outputs") == npy_files(tmp_path / "py" / "outputs")
    assert npy_files(tmp_path / "cli" / "inputs") == npy_files(tmp_path / "py" / "inputs")
    np.testing.assert_array_equal(r.inputs["input_ids"], ids)


@pytest.mark.parametrize("preset", ["h200", "tpu_v4i", "nvdla_full"])
def test_timing_only_draws_no_inputs_and_times_the_same(small_cnn, preset):
    # Timing reads shapes, never values: a timing-only run on a simulated target draws no
    # inputs (it used none), and times exactly what the full run times.
    shapes = {"image": (2, 3, 32, 32)}
    full = xpusim.run(small_cnn, preset, seed=7, shapes=shapes)
    timed = xpusim.run(small_cnn, preset, seed=7, shapes=shapes, timing_only=True)
    assert list(full.inputs) == ["image"] and timed.inputs == {}
    assert timed.stats["cycles"] == full.stats["cycles"] and timed.stats["latency_s"] == full.stats["latency_s"]
    # A given input is still checked, and kept as the input the run used.
    image = np.zeros((2, 3, 32, 32), np.float32)
    given = xpusim.run(small_cnn, preset, inputs={"image": image}, timing_only=True)
    assert list(given.inputs) == ["image"] and given.stats["cycles"] == full.stats["cycles"]
    with pytest.raises(xpusim.XpusimError, match="image"):
        xpusim.run(small_cnn, preset, inputs={"image": image[:1]}, shapes=shapes, timing_only=True)
    # Without a shape for its dynamic batch there is nothing to time.
    with pytest.raises(xpusim.XpusimError, match="dynamic dimension .batch."):
        xpusim.run(small_cnn, preset, timing_only=True)


def test_outputs_are_views_that_outlive_the_result(small_cnn):
    r = xpusim.run(small_cnn, TARGET, shapes={"image": "1x3x32x32"})
    out = next(iter(r.outputs.values()))
    assert not out.flags["OWNDATA"] and out.base is not None
    copy = out.copy()
    del r
    gc.collect()
    np.testing.assert_array_equal(out, copy)


def test_result_tables(small_cnn):
    r = xpusim.run(small_cnn, TARGET, shapes={"image": "1x3x32x32"})
    assert list(r.ops.columns[:4]) == ["name", "op_type", "placement", "unit"]
    assert len(r.ops) == len(r.stats["ops"])
    assert r.target == r.stats["target"]
    assert "traceEvents" in r.trace
    assert r.summary().startswith("target ")


def test_check_equals_cli_json(cli, small_cnn, tmp_path):
    done = run_cli(cli, "check", small_cnn, "-c", TARGET, "--shape", "image=1x3x32x32",
                   "--json", str(tmp_path / "check.json"), check=False)
    report = xpusim.check(small_cnn, TARGET, shapes={"image": "1x3x32x32"})
    assert done.returncode == (0 if report["deployable"] else 1)
    text = report.pop("text")
    assert report == json.load(open(tmp_path / "check.json"))
    assert text == done.stdout
    assert set(report) >= {"deployable", "ops", "numerics", "failures"}


def test_compare_equals_cli_json(cli, small_cnn, tmp_path):
    configs = [TARGET, "tpu_v1"]
    run_cli(cli, "compare", small_cnn, *sum((["-c", c] for c in configs), []),
            "--shape", "image=1x3x32x32", "--json", str(tmp_path / "cmp.json"))
    df = xpusim.compare(small_cnn, configs, shapes={"image": "1x3x32x32"})
    expected = json.load(open(tmp_path / "cmp.json"))
    # Missing timing (the reference's) is NaN in the frame and null in the CLI's JSON.
    records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
               for r in df.to_dict("records")]
    assert strip_wall(records) == strip_wall(expected)
    assert df.attrs["table"].splitlines()[0].split()[:3] == ["config", "target", "cycles"]


def test_config_show_describe_list_equal_cli(cli):
    cfg = xpusim.config(TARGET, {"host.threads": 3})
    assert cfg.show() == run_cli(cli, "config", "show", TARGET, "--set", "host.threads=3").stdout
    assert cfg.describe() == run_cli(cli, "config", "describe", cfg.target).stdout
    assert xpusim.describe(cfg.target) == cfg.describe()
    assert cfg.values["host.threads"] == 3 and isinstance(cfg.values["host.threads"], int)
    assert cfg.text_values["host.threads"] == "3"
    listed = [line.split()[0] for line in run_cli(cli, "config", "list").stdout.splitlines()[1:]]
    assert xpusim.presets() == listed
    assert list(xpusim.presets(details=True)["name"]) == listed
    # A Config object runs the config it holds.
    assert "host.threads" in cfg.numeric_params()


def test_config_object_runs_its_overrides(small_cnn):
    cfg = xpusim.config(TARGET, {"host.threads": 2})
    r = xpusim.run(small_cnn, cfg, shapes={"image": "1x3x32x32"})
    assert r.stats["config_values"]["host.threads"] == "2"
