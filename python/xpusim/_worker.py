"""What a sweep worker process runs for one point. Kept light: a worker imports only this, json
and the compiled driver (no pandas, no matplotlib)."""
import json
import os
import socket
import time

# The metric columns of a sweep row, in order; util.<unit> columns go after throughput/energy.
METRICS = ["latency_s", "throughput", "cycles", "energy_j"]
FLAGS = ["fits", "problem", "compatible", "host_ops", "target", "config", "wall_s", "worker", "error"]


def metrics_from_stats(stats):
    """One sweep row's metrics from a stats.json document."""
    latency = stats.get("latency_s")
    host_ops = sum(1 for op in stats.get("ops", []) if op.get("placement") == "host")
    row = {
        "latency_s": latency,
        "throughput": (1.0 / latency) if latency else None,  # inferences per second
        "cycles": stats.get("cycles"),
        "energy_j": stats.get("energy_j"),
        "util": {u["name"]: u["utilization"] for u in stats.get("units", [])},
        "fits": bool(stats.get("feasible", True)),
        "problem": "; ".join(p["message"] for p in stats.get("problems", [])) or None,
        "compatible": host_ops == 0,
        "host_ops": host_ops,
        "target": stats.get("target"),
        "config": stats.get("config"),
    }
    return row


_threads_limited = False


def _limit_threads(native):
    """One OpenMP thread per worker unless OMP_NUM_THREADS says otherwise: the points are the
    parallelism, and N workers each spinning up a thread per core slow each other down
    several-fold."""
    global _threads_limited
    if not _threads_limited and "OMP_NUM_THREADS" not in os.environ:
        native.set_default_host_threads(1)
    _threads_limited = True


def run_point(task):
    """Runs one point; never raises for a simulation error: the row carries it instead.

    task: {"model", "config", "overrides", "shapes", "seed", "timing_only"}.
    Returns the metrics row (util nested as {unit: utilization}), with wall_s (the seconds the
    whole point took in this worker), worker ("host:pid") and error (None or the message).
    """
    start = time.perf_counter()
    row = {"error": None}
    try:
        from xpusim._native import native, XpusimError
        _limit_threads(native)
        try:
            outcome = native.run(task["model"], task["config"], {}, task["overrides"],
                                 task["shapes"], {}, task["seed"], task["timing_only"])
            row.update(metrics_from_stats(json.loads(outcome.stats_json())))
        except XpusimError as e:
            row["error"] = str(e)
    except Exception as e:  # a bug or a broken install: still one row, and the sweep goes on
        row["error"] = "{}: {}".format(type(e).__name__, e)
    row["wall_s"] = time.perf_counter() - start
    row["worker"] = "{}:{}".format(socket.gethostname(), os.getpid())
    return row
