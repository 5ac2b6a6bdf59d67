"""Pareto fronts and plots (Agg backend): what each draws, and how each degrades."""
import math

import matplotlib
matplotlib.use("Agg")
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import xpusim  # noqa: E402
from xpusim.plots import roofline_points  # noqa: E402
from conftest import TARGET  # noqa: E402


def frame():
    # Hand-checked: C (3, 4) is beaten by B (2, 3); E ties B and neither beats the other; F has
    # no energy and G failed, so neither can be on the front.
    return pd.DataFrame({
        "name": ["A", "B", "C", "D", "E", "F", "G"],
        "latency_s": [1.0, 2.0, 3.0, 4.0, 2.0, 0.5, 0.1],
        "energy_j": [5.0, 3.0, 4.0, 1.0, 3.0, None, 0.1],
        "error": [None, None, None, None, None, None, "boom"],
    })


def test_pareto_front_minimizing_both():
    front = xpusim.pareto_front(frame(), ["latency_s", "energy_j"])
    assert front["name"].tolist() == ["A", "B", "E", "D"]


def test_pareto_front_with_a_maximized_objective():
    df = frame().assign(throughput=lambda d: 1.0 / d["latency_s"])
    front = xpusim.pareto_front(df, {"throughput": "max", "energy_j": "min"})
    assert front["name"].tolist() == ["A", "B", "E", "D"]  # by throughput, best first
    with pytest.raises(KeyError):
        xpusim.pareto_front(df, ["no_such_column"])
    with pytest.raises(ValueError):
        xpusim.pareto_front(df, {"energy_j": "smallest"})


def stats_with(**extra):
    # Two ops at 1 GHz: a GEMM of 1e6 MACs over 2e4 bytes in 1000 cycles (intensity 50 MAC/B,
    # 2e6 ops / 1e-6 s = 2e12 ops/s) and an op with no MACs (left out).
    s = {"target": "toy", "config": "toy", "clock_hz": 1e9, "cycles": 2000,
         "ops": [{"name": "g", "op_type": "Gemm", "start_cycle": 0, "end_cycle": 1000,
                  "macs": 1000000, "bytes": 20000},
                 {"name": "r", "op_type": "Relu", "start_cycle": 1000, "end_cycle": 2000,
                  "macs": 0, "bytes": 4000}],
         "units": [{"name": "mxu", "busy_cycles": 1000, "utilization": 0.5}], "stats": {}}
    s.update(extra)
    return s


def test_roofline_points_and_roof():
    (p,) = roofline_points(stats_with())
    assert p["intensity"] == 50.0 and math.isclose(p["ops_per_s"], 2e12)
    roofed = stats_with(roofline={"peak_macs_per_s": 4096e9, "peak_bytes_per_s": 64e9})
    ax = xpusim.plot_roofline(roofed)
    (roof,) = [line for line in ax.get_lines() if line.get_label() == "roofline"]
    ys = roof.get_ydata()
    assert math.isclose(max(ys), 2 * 4096 * 1e9)  # the compute roof: 2 ops per MAC


def test_roofline_without_peaks_or_timing_says_why():
    with pytest.warns(UserWarning, match="roofline.peak_bytes_per_s"):
        ax = xpusim.plot_roofline(stats_with(roofline={"peak_macs_per_s": 4096e9}))
    assert not [line for line in ax.get_lines() if line.get_label() == "roofline"]
    with pytest.warns(UserWarning, match="reports no cycles"):
        xpusim.plot_roofline(stats_with(clock_hz=None, cycles=None))


def test_utilization_and_timeline():
    ax = xpusim.plot_utilization(stats_with())
    assert [p.get_width() for p in ax.patches] == [50.0]
    trace = {"traceEvents": [
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 1, "args": {"name": "mxu"}},
        {"ph": "M", "name": "thread_name", "pid": 1, "tid": 2, "args": {"name": "dma"}},
        {"ph": "X", "pid": 1, "tid": 1, "name": "MMC", "ts": 0.0, "dur": 1.0},
        {"ph": "X", "pid": 1, "tid": 2, "name": "LOAD", "ts": 0.5, "dur": 2.0},
        {"ph": "C", "pid": 1, "tid": 0, "name": "bw", "ts": 0.0, "args": {"value": 1}}]}
    ax = xpusim.plot_timeline(trace)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["mxu", "dma"]


def test_result_and_sweep_plots_on_the_reference(small_cnn):
    r = xpusim.run(small_cnn, TARGET, shapes={"image": "1x3x32x32"})
    r.plot_timeline()
    with pytest.warns(UserWarning):
        r.plot_roofline()
    with pytest.warns(UserWarning):
        r.plot_utilization()
    ax = xpusim.plot_pareto(frame(), label="name")
    assert [line.get_label() for line in ax.get_lines()] == ["Pareto front"]
    with pytest.warns(UserWarning, match="no point has both"):
        xpusim.plot_pareto(frame().assign(latency_s=None))
