"""Pareto fronts of sweep results."""
import numpy as np


def objective_directions(objectives):
    """["latency_s", ...] (all minimized) or {"latency_s": "min", "throughput": "max"} ->
    {column: +1 to minimize, -1 to maximize}."""
    if isinstance(objectives, str):
        objectives = [objectives]
    if isinstance(objectives, dict):
        out = {}
        for col, d in objectives.items():
            d = str(d).lower()
            if d not in ("min", "max", "minimize", "maximize"):
                raise ValueError("objective {!r}: direction must be min or max, not {!r}".format(col, d))
            out[col] = 1.0 if d.startswith("min") else -1.0
        return out
    return {col: 1.0 for col in objectives}


def pareto_front(df, objectives=("latency_s", "energy_j")):
    """The rows of `df` no other row dominates (as good in every objective, better in one).

    objectives: columns to minimize, or {column: "min" | "max"}. Rows with an error or a
    missing objective value are left out. Returns the front sorted by the first objective.
    """
    dirs = objective_directions(objectives)
    missing = [c for c in dirs if c not in df.columns]
    if missing:
        raise KeyError("no column {} in the sweep results (columns: {})".format(
            ", ".join(missing), ", ".join(map(str, df.columns))))
    ok = df
    if "error" in ok.columns:
        ok = ok[ok["error"].isna()]
    cols = list(dirs)
    ok = ok[ok[cols].notna().all(axis=1)]
    if ok.empty:
        return ok.copy()
    values = ok[cols].astype(float).to_numpy() * np.array([dirs[c] for c in cols])
    keep = np.ones(len(values), dtype=bool)
    for i in range(len(values)):
        no_worse = (values <= values[i]).all(axis=1)
        better = (values < values[i]).any(axis=1)
        if (no_worse & better).any():
            keep[i] = False
    front = ok[keep]
    return front.sort_values(cols[0], ascending=dirs[cols[0]] > 0, kind="stable")
