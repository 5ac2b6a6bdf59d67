"""`python3 -m xpusim sweep FILE`: runs a sweep file and prints its Pareto front. `xpusim sweep`
(the C++ command line) hands its arguments to this. Exit codes as the CLI's: 0 done (points
that failed are listed, they do not fail the sweep), 2 bad input or usage, with one line on
stderr."""
import argparse
import sys

USAGE = """usage: xpusim sweep FILE [--scheduler tcp://HOST:PORT | local] [-o RESULTS.csv]
                    [--workers N] [--no-progress]

Runs every point of a sweep file (configs/sweeps/*.yaml) and prints the Pareto front of its
objectives.

  --scheduler ADDR   run the points on a Dask cluster (ADDR of its scheduler), or `local`
                     for a Dask LocalCluster of --workers worker processes on this machine;
                     default: a process pool on this machine
  -o, --out FILE     append each finished point to FILE (.csv or .jsonl) and, when it exists
                     already, skip the points it holds (resume)
  --workers N        processes of the local pool or LocalCluster (default: one per core)
  --no-progress      no progress bar
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise SystemExit(_fail("{} (see --help)".format(message)))

    def print_help(self, file=None):
        (file or sys.stdout).write(USAGE)


def _fail(message):
    sys.stderr.write("xpusim: {}\n".format(message))
    return 2


def _print_front(spec, df, out):
    import pandas as pd
    from xpusim.pareto import pareto_front
    swept = [c for c in df.columns if c in {k for p in spec.points for k in p}]
    failed = df["error"].notna().sum()
    print("{} points, {} failed{}".format(len(df), failed,
                                          ", rows in " + out if out else ""))
    for _, r in df[df["error"].notna()].head(10).iterrows():
        print("  failed: {}: {}".format({c: r[c] for c in swept}, r["error"]))
    missing = [c for c in spec.objectives if c not in df.columns]
    if missing:
        print("no column {} to optimize".format(", ".join(missing)))
        return
    front = pareto_front(df, spec.objectives)
    goals = ", ".join("{} {}".format(d, c) for c, d in spec.objectives.items())
    if front.empty:
        print("Pareto front ({}): empty, no successful point has {}".format(
            goals, " and ".join(spec.objectives)))
        return
    print("Pareto front ({}): {} of {} points".format(goals, len(front), len(df)))
    with pd.option_context("display.width", 200, "display.max_columns", 50):
        print(front[swept + [c for c in spec.objectives if c not in swept]].to_string(index=False))


def cmd_sweep(argv):
    p = _Parser(prog="xpusim sweep", add_help=True)
    p.add_argument("file")
    p.add_argument("--scheduler")
    p.add_argument("-o", "--out")
    p.add_argument("--workers", type=int)
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        return _fail("--workers expects a positive integer")

    import xpusim
    from xpusim.sweepfile import load_sweep_file
    from xpusim.sweep import sweep
    try:
        spec = load_sweep_file(args.file)
    except xpusim.XpusimError as e:
        return _fail(str(e))
    client = cluster = None
    try:
        if args.scheduler:
            from distributed import Client, LocalCluster
            if args.scheduler == "local":
                cluster = LocalCluster(n_workers=args.workers or None, threads_per_worker=1,
                                       processes=True, host="127.0.0.1", dashboard_address=None)
                client = Client(cluster)
            else:
                client = Client(args.scheduler, timeout="30s")
        df = sweep(spec.model, spec.base, spec.points, executor=client,
                   timing_only=spec.timing_only, out=args.out, seed=spec.seed, shapes=spec.shapes,
                   progress=not args.no_progress, overrides=spec.overrides, workers=args.workers)
    except xpusim.XpusimError as e:
        return _fail(str(e))
    except (OSError, ValueError) as e:
        return _fail(str(e))
    finally:
        if client is not None:
            client.close()
        if cluster is not None:
            cluster.close()
    _print_front(spec, df, args.out)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        sys.stdout.write(USAGE)
        return 0 if argv else 2
    if argv[0] != "sweep":
        return _fail("unknown command '{}' (python3 -m xpusim knows: sweep)".format(argv[0]))
    try:
        return cmd_sweep(argv[1:])
    except KeyboardInterrupt:
        sys.stderr.write("xpusim: interrupted; finished points are in the out file\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
