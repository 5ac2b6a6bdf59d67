"""Plots of runs and sweeps with matplotlib. Every function takes an optional `ax`, returns the
axes it drew on, never calls show(), and works under the Agg backend. When the data cannot make
the plot (the reference executor has no timing, stats without peak figures), it says so on the
axes and in a warning instead of raising, so a notebook runs top to bottom on every target."""
import os
import sys
import textwrap
import warnings

from xpusim.pareto import pareto_front


def _axes(ax, figsize):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=figsize)
    return ax


def _warn(text):
    """A UserWarning attributed to the first caller outside this package."""
    here, level = os.path.dirname(os.path.abspath(__file__)), 1
    frame = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == here:
        frame, level = frame.f_back, level + 1
    warnings.warn(text, stacklevel=level)


def _message(ax, text):
    _warn(text)
    ax.text(0.5, 0.5, textwrap.fill(text, 36), ha="center", va="center", transform=ax.transAxes,
            fontsize="small", color="0.3")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def _colors(keys):
    import matplotlib
    cmap = matplotlib.colormaps["tab20"]
    order = sorted(set(keys))
    return {k: cmap(i % 20) for i, k in enumerate(order)}


def plot_timeline(trace, ax=None, max_legend=12):
    """Per-op timeline from a trace.json document: one row per unit track, one bar per complete
    event, coloured by op type (the event's args.op_type, else its name)."""
    ax = _axes(ax, (10, 3))
    events = trace.get("traceEvents", []) if isinstance(trace, dict) else list(trace)
    threads, processes = {}, {}
    for e in events:
        if e.get("ph") == "M" and e.get("name") == "thread_name":
            threads[(e["pid"], e["tid"])] = e["args"]["name"]
        elif e.get("ph") == "M" and e.get("name") == "process_name":
            processes[e["pid"]] = e["args"]["name"]
    spans = [e for e in events if e.get("ph") == "X"]
    if not spans:
        return _message(ax, "the trace has no complete events to draw")
    tracks = sorted({(e["pid"], e.get("tid", 0)) for e in spans})
    row_of = {t: i for i, t in enumerate(tracks)}
    kind = lambda e: (e.get("args") or {}).get("op_type") or e.get("name", "?")
    colors = _colors(kind(e) for e in spans)
    bars = {}
    for e in spans:
        bars.setdefault((e["pid"], e.get("tid", 0)), []).append(e)
    for track, evs in bars.items():
        y = row_of[track]
        ax.broken_barh([(e["ts"], max(e.get("dur", 0), 1e-9)) for e in evs], (y - 0.4, 0.8),
                       facecolors=[colors[kind(e)] for e in evs], edgecolors="none")
    many = len(processes) > 1
    ax.set_yticks(range(len(tracks)))
    ax.set_yticklabels([(processes.get(p, str(p)) + " / " if many else "") + threads.get((p, t), str(t))
                        for p, t in tracks])
    ax.invert_yaxis()
    ax.set_xlabel("time (µs)")
    ax.set_title("timeline")
    if len(colors) <= max_legend:
        import matplotlib.patches as mpatches
        ax.legend(handles=[mpatches.Patch(color=c, label=k) for k, c in colors.items()],
                  loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small", frameon=False)
    return ax


def roofline_points(stats):
    """Per op with MACs, off-chip bytes and a duration: name, op_type, intensity (MACs per
    byte) and achieved ops/s (2 ops per MAC) over the op's [start_cycle, end_cycle)."""
    clock = stats.get("clock_hz")
    rows = []
    for op in stats.get("ops", []):
        cycles = (op.get("end_cycle") or 0) - (op.get("start_cycle") or 0)
        if op.get("macs") and op.get("bytes") and cycles > 0 and clock:
            rows.append({"name": op["name"], "op_type": op["op_type"],
                         "intensity": op["macs"] / op["bytes"],
                         "ops_per_s": 2.0 * op["macs"] * clock / cycles})
    return rows


def plot_roofline(stats, ax=None):
    """Op by op: arithmetic intensity (MACs/byte of off-chip traffic) against achieved ops/s,
    under the roofline min(peak compute, intensity x bandwidth) from stats['roofline']
    ({peak_macs_per_s, peak_bytes_per_s}, which every target reports)."""
    ax = _axes(ax, (6, 4.5))
    if not stats.get("clock_hz") or stats.get("cycles") is None:
        return _message(ax, "no roofline: target '{}' reports no cycles or clock "
                        "(the reference executor models no hardware)".format(stats.get("target")))
    points = roofline_points(stats)
    if not points:
        return _message(ax, "no roofline: no op has MACs, off-chip bytes and a duration")
    colors = _colors(p["op_type"] for p in points)
    for op_type, c in colors.items():
        sel = [p for p in points if p["op_type"] == op_type]
        ax.scatter([p["intensity"] for p in sel], [p["ops_per_s"] for p in sel], color=c,
                   label=op_type, s=18, zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    roof = stats.get("roofline") or {}
    peak_macs, bandwidth = roof.get("peak_macs_per_s"), roof.get("peak_bytes_per_s")
    if peak_macs and bandwidth:
        lo = min(p["intensity"] for p in points) / 4
        hi = max(max(p["intensity"] for p in points) * 4, 4 * peak_macs / bandwidth)
        xs = [lo * (hi / lo) ** (i / 200) for i in range(201)]
        ax.plot(xs, [min(2.0 * peak_macs, 2.0 * x * bandwidth) for x in xs], color="black", lw=1.5,
                label="roofline", zorder=2)
    else:
        missing = [k for k, v in (("roofline.peak_macs_per_s", peak_macs),
                                  ("roofline.peak_bytes_per_s", bandwidth)) if not v]
        _warn("roofline not drawn: the stats lack " + " and ".join(missing))
        ax.text(0.02, 0.98, "no roof: stats lack " + ", ".join(missing), transform=ax.transAxes,
                va="top", fontsize="small")
    ax.set_xlabel("arithmetic intensity (MACs / off-chip byte)")
    ax.set_ylabel("achieved ops/s (2 per MAC)")
    ax.set_title("roofline: {} ({})".format(stats.get("config"), stats.get("target")))
    ax.legend(fontsize="small", frameon=False)
    return ax


def plot_utilization(stats, ax=None):
    """Utilization of each hardware unit (stats['units']), in percent."""
    ax = _axes(ax, (6, 3))
    units = stats.get("units") or []
    if not units:
        return _message(ax, "no hardware units in these stats (target '{}')".format(
            stats.get("target")))
    names = [u["name"] for u in units]
    ax.barh(names, [100.0 * u["utilization"] for u in units], color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("utilization (%)")
    ax.set_title("utilization: {} ({})".format(stats.get("config"), stats.get("target")))
    return ax


def plot_sweep_utilization(df, ax=None):
    """Mean utilization per unit over a sweep's successful points (the util.<unit> columns)."""
    ax = _axes(ax, (6, 3))
    cols = [c for c in df.columns if c.startswith("util.")]
    if not cols:
        return _message(ax, "the sweep has no util.<unit> columns")
    means = df[cols].astype(float).mean()
    ax.barh([c[5:] for c in cols], 100.0 * means.values, color="tab:blue")
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("mean utilization (%)")
    return ax


def plot_pareto(df, x="latency_s", y="energy_j", objectives=None, ax=None, label=None):
    """Every successful point of a sweep as x against y, with the Pareto front (over
    `objectives`, default minimizing x and y) highlighted; `label` names a column to annotate
    the front's points with."""
    ax = _axes(ax, (6, 4.5))
    objectives = objectives or [x, y]
    if x not in df.columns or y not in df.columns:
        return _message(ax, "the sweep has no column {!r}".format(x if x not in df.columns else y))
    ok = df
    if "error" in df.columns:
        ok = ok[ok["error"].isna()]
    ok = ok[ok[x].notna() & ok[y].notna()]
    if ok.empty:
        return _message(ax, "no point has both {} and {} (failed points, or a target "
                        "without timing)".format(x, y))
    ax.scatter(ok[x].astype(float), ok[y].astype(float), color="0.7", s=16, label="points",
               zorder=2)
    front = pareto_front(ok, objectives).sort_values(x)
    ax.plot(front[x].astype(float), front[y].astype(float), "o-", color="tab:red",
            label="Pareto front", zorder=3)
    if label is not None and label in front.columns:
        for _, r in front.iterrows():
            ax.annotate(str(r[label]), (float(r[x]), float(r[y])), fontsize="x-small",
                        xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title("Pareto front")
    ax.legend(fontsize="small", frameon=False)
    return ax
