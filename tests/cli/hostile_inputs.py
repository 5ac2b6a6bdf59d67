#!/usr/bin/env python3
"""Hostile input is part of the contract: a run on malformed or extreme input ends with exit code
2 and exactly one line on stderr that says what was wrong and where (naming the node, file, key
or argument), or, where the input is legal ONNX, it runs (exit 0).

    hostile_inputs.py CASE     run one case (ctest runs each as its own test; see _harness.py)
    hostile_inputs.py --list   print the case names

Every case runs `xpusim` (or, for the c1_python_/c9_python_ cases, a small Python script that
imports the xpusim package from PYTHONPATH) in a fresh child with an 8 GiB address-space limit
and a 30 s timeout (under the sanitizer job, ASan's allocator holds the limit and the times
stretch: _harness.child_limits), and whatever its expectation also requires that the child:
  - is not killed by a signal and does not hang;
  - prints none of "internal error", "out of memory", "bad_alloc", "std::", "terminate called",
    "read before it is written", "deadlock" on stderr;
  - peaks under 2 GiB of resident memory (the child's own ru_maxrss, from os.wait4).

Each case's docstring says what it feeds and which of these it expects:
  expect_error(words)   exit 2, exactly one stderr line, containing each word (case-insensitive);
                        `absent` words must not appear (e.g. a misleading "not positive")
  expect_ok()           exit 0; with unsupported_ok=True (a legal model a hardware target cannot
                        run) exit 2 with one line naming the node is accepted too; with
                        or_error=[...] exit 2 with one line holding those words is accepted too
  expect_python()       the Python script raises one of the named exception classes

The case names carry their class: c1 self-referring and exploding YAML, c2 rank-0 tensors with
an axis, c3 integer overflow in arithmetic and attributes, c4 zero-sized dimensions on hardware
targets, c5 sizes that come from data, c6 work that scales with an attribute, c7 input files,
c8 messages (odd names, misleading numbers, quoted files), c9 command-line arguments, c10 invalid
ONNX or YAML that must not be accepted silently.
"""
import json
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

import _harness
from onnx import TensorProto, helper, numpy_helper

MEMORY_LIMIT = 8 << 30                     # bytes of address space for the child
RSS_LIMIT = _harness.sanitized(2 << 30, 2)  # bytes of peak resident memory the child may use
TIME_LIMIT = _harness.sanitized(30)         # seconds
FORBIDDEN = ["internal error", "out of memory", "bad_alloc", "std::", "terminate called",
             "read before it is written", "deadlock"]

I32_MIN, I64_MIN, I64_MAX = -(1 << 31), -(1 << 63), (1 << 63) - 1
F, I32, I64 = TensorProto.FLOAT, TensorProto.INT32, TensorProto.INT64

CASES = {}


def case(fn):
    """Registers a case: fn(d) -> Run, where d is a fresh temporary folder."""
    CASES[fn.__name__] = fn
    return fn


def table(prefix, rows, make):
    """Registers one case per row: make(row) -> (docstring, fn(d) -> Run)."""
    for row in rows:
        doc, fn = make(row)
        fn.__name__, fn.__doc__ = prefix + row[0], doc
        CASES[fn.__name__] = fn


# ---------------------------------------------------------------- expectations and the runner

class Expect:
    def __init__(self, kind, words=(), absent=(), unsupported_ok=False, or_error=None, exceptions=()):
        self.kind, self.words, self.absent = kind, list(words), list(absent)
        self.unsupported_ok, self.or_error, self.exceptions = unsupported_ok, or_error, exceptions


def expect_error(words=(), absent=()):
    return Expect("error", words, absent)


def expect_ok(unsupported_ok=False, or_error=None, absent=()):
    return Expect("ok", absent=absent, unsupported_ok=unsupported_ok, or_error=or_error)


def expect_python(*exceptions):
    return Expect("python", exceptions=exceptions)


class Run:
    """What a case runs: argv after `xpusim` (or a full argv with python=True), its expectation,
    and optional extras: cwd, max_seconds (stricter than TIME_LIMIT), post(outcome) -> problems,
    utf8 (stderr must be valid UTF-8)."""

    def __init__(self, argv, expect, cwd=None, max_seconds=None, post=None, utf8=False, python=False,
                 node=None):
        self.argv, self.expect, self.cwd = argv, expect, cwd
        self.max_seconds = max_seconds and _harness.sanitized(max_seconds)
        self.post, self.utf8, self.python, self.node = post, utf8, python, node


class Outcome:
    pass


def execute(argv, cwd=None, limit=TIME_LIMIT):
    """Runs argv in its own session under the limits; returns exit code, signal, time, peak RSS
    (of this child alone, from wait4) and the output."""
    preexec, env = _harness.child_limits(MEMORY_LIMIT)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.monotonic()
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, cwd=cwd,
                             preexec_fn=preexec, env=env, start_new_session=True)
        timed_out = False
        while True:
            pid, status, usage = os.wait4(p.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - start > limit:
                timed_out = True
                os.killpg(p.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(p.pid, 0)
                break
            time.sleep(0.01)
        p.returncode = 0  # reaped above; keeps Popen from waiting again
        o = Outcome()
        o.seconds = time.monotonic() - start
        try:
            os.killpg(p.pid, signal.SIGKILL)  # anything the child left running in its session
        except (ProcessLookupError, PermissionError):
            pass
        o.timed_out = timed_out
        o.signal = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        o.rc = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
        o.rss = usage.ru_maxrss * 1024
        out.seek(0)
        err.seek(0)
        o.stdout_bytes, o.stderr_bytes = out.read(), err.read()
        o.stdout = o.stdout_bytes.decode("utf-8", "replace")
        o.stderr = o.stderr_bytes.decode("utf-8", "replace")
        return o


def one_line(text):
    lines = text.rstrip("\n").split("\n")
    return len(lines) == 1 and lines[0].strip() != "" and "\r" not in lines[0]


def has_all(text, words):
    low = text.lower()
    return [w for w in words if w.lower() not in low]


def judge(r, o):
    """The problems with outcome o of Run r (empty when it passed)."""
    e, problems = r.expect, []
    if o.timed_out:
        problems.append(f"timed out after {TIME_LIMIT} s")
    elif o.signal is not None:
        problems.append(f"killed by signal {o.signal} ({signal.Signals(o.signal).name})")
    if r.max_seconds and o.seconds > r.max_seconds and not o.timed_out:
        problems.append(f"took {o.seconds:.1f} s, more than {r.max_seconds} s")
    if o.rss > RSS_LIMIT:
        problems.append(f"peak RSS {o.rss >> 20} MiB, over {RSS_LIMIT >> 20} MiB")
    low = o.stderr.lower()
    for f in FORBIDDEN:
        if f in low:
            problems.append(f"stderr says {f!r}")
    for w in e.absent:
        if w.lower() in low:
            problems.append(f"stderr contains {w!r}")
    if r.utf8:
        try:
            o.stderr_bytes.decode("utf-8")
        except UnicodeDecodeError:
            problems.append("stderr is not valid UTF-8")
    if o.timed_out or o.signal is not None:
        return problems

    def clean_error(words):
        return o.rc == 2 and one_line(o.stderr) and not has_all(o.stderr, words)

    if e.kind == "error":
        if o.rc != 2:
            problems.append(f"exit code {o.rc}, expected 2")
        if not one_line(o.stderr):
            n = len(o.stderr.rstrip("\n").split("\n")) if o.stderr.strip() else 0
            problems.append(f"{n} stderr lines, expected 1")
        for w in has_all(o.stderr, e.words):
            problems.append(f"message lacks {w!r}")
    elif e.kind == "ok":
        accepted = o.rc == 0
        if not accepted and e.unsupported_ok and clean_error([r.node] if r.node else []):
            accepted = True
        if not accepted and e.or_error is not None and clean_error(e.or_error):
            accepted = True
        if not accepted:
            what = "exit 0"
            if e.unsupported_ok:
                what += f" or exit 2 with one line naming node {r.node!r}"
            if e.or_error is not None:
                what += f" or exit 2 with one line holding {e.or_error}"
            problems.append(f"exit code {o.rc} with {len(o.stderr.splitlines())} stderr lines, expected {what}")
    elif e.kind == "python":
        if o.rc != 0:
            problems.append(f"script exit {o.rc} (expected one of {', '.join(e.exceptions)} raised): "
                            + o.stdout.strip()[-300:])
    if r.post:
        problems += r.post(o)
    return problems


def python_ready():
    """The xpusim package imports (the live build may be mid-rebuild): None, or why not."""
    p = subprocess.run([sys.executable, "-c", "import xpusim, xpusim._native"], capture_output=True,
                       text=True, timeout=60)
    return None if p.returncode == 0 else (p.stderr.strip().splitlines() or ["?"])[-1]


def run_case(name):
    with tempfile.TemporaryDirectory() as d:
        r = CASES[name](d)
        if r.python:
            why = python_ready()
            if why:
                print(f"{name}: SKIP: the xpusim package does not import ({why})")
                print("#result " + json.dumps({"case": name, "status": "SKIP", "note": why}))
                return _harness.SKIP
            argv = r.argv
        else:
            argv = [_harness.xpusim()] + r.argv
        o = execute(argv, cwd=r.cwd or d)
        problems = judge(r, o)
        status = "FAIL" if problems else "PASS"
        print(f"{name}: {status}: exit {o.rc} signal {o.signal} {o.seconds:.2f} s "
              f"rss {o.rss >> 20} MiB")
        if o.stderr.strip():
            print("stderr: " + o.stderr.strip()[:2000])
        if r.python and o.stdout.strip():
            print("stdout: " + o.stdout.strip()[:2000])
        for p in problems:
            print("FAILED: " + p)
        print("#result " + json.dumps({
            "case": name, "status": status, "rc": o.rc, "signal": o.signal, "timed_out": o.timed_out,
            "seconds": round(o.seconds, 2), "rss_mib": o.rss >> 20, "stderr": o.stderr[:400],
            "stdout": o.stdout[:400] if r.python else "", "problems": problems}))
        return 1 if problems else 0


# ---------------------------------------------------------------- building inputs

def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def const(name, value, dtype=None):
    """A Constant node whose output is `name`."""
    arr = np.array(value, dtype=dtype)
    return helper.make_node("Constant", [], [name], name=name + "_const", value=numpy_helper.from_array(arr, name))


def init(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.array(value, dtype=dtype), name)


def model(nodes, inputs, outputs, inits=(), opset=17):
    """inputs/outputs: (name, elem_type, shape or None) tuples."""
    g = helper.make_graph(nodes, "g", [vi(*i) for i in inputs], [vi(*o) for o in outputs], list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def tiny():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [("x", F, [2, 3])], [("y", F, [2, 3])])


def save(m, d, name="model.onnx"):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(m if isinstance(m, bytes) else m.SerializeToString())
    return path


def write(d, name, data):
    path = os.path.join(d, name)
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)
    return path


def npy(d, name, arr):
    path = os.path.join(d, name)
    np.save(path, arr)
    return path


def ref(m, d, *extra):
    """The default command: run MODEL -c reference -o d."""
    return ["run", save(m, d), "-c", "reference", "-o", d, *extra]


def py_script(d, body, *args):
    """A Python run: a script file that exits 0 when the expected exception was raised."""
    text = ("import sys\nimport xpusim\n"
            "def expect(call, *classes):\n"
            "    try:\n"
            "        call()\n"
            "    except classes as e:\n"
            "        print('raised', type(e).__name__ + ':', e)\n"
            "        sys.exit(0)\n"
            "    except BaseException as e:\n"
            "        print('raised the wrong exception', type(e).__name__ + ':', e)\n"
            "        sys.exit(3)\n"
            "    print('raised nothing')\n"
            "    sys.exit(4)\n" + body)
    return [sys.executable, write(d, "probe.py", text), *args]


# ---------------------------------------------------------------- c1: self-referring and exploding YAML

def laughs_block(levels=9, width=10):
    """`- &a0 [lol, ...]` then `- &aN [*aN-1, ...]`: width**levels leaves once expanded."""
    lines = ["  - &a0 [" + ", ".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"  - &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


def laughs_flow(levels=9, width=10):
    parts = ["&a0 [" + ",".join(["lol"] * width) + "]"]
    for i in range(1, levels):
        parts.append(f"&a{i} [" + ",".join([f"*a{i - 1}"] * width) + "]")
    return "[" + ", ".join(parts) + "]"


def yaml_run(text, words, command="run"):
    def fn(d):
        cfg = write(d, "bad.yaml", text)
        if command == "config show":
            return Run(["config", "show", cfg], expect_error(words))
        return Run(["run", save(tiny(), d), "-c", cfg, "-o", d], expect_error(words), max_seconds=10)
    return fn


C1_FILES = [
    # name, YAML text, words
    ("self_alias_list", "target: reference\nhost: &a [*a]\n", ["bad.yaml", "host"]),
    ("self_alias_map", "target: reference\nhost: &a {threads: *a}\n", ["bad.yaml", "host"]),
    ("self_alias_merge_key", "target: reference\nhost: &a {<<: *a}\n", ["bad.yaml", "host"]),
    ("self_alias_root", "&a {target: reference, host: *a}\n", ["bad.yaml"]),
    ("billion_laughs_file", "target: reference\nhost:\n" + laughs_block(), ["bad.yaml", "host"]),
    ("deep_nesting_100k", "target: reference\nhost: " + "[" * 100000 + "]" * 100000 + "\n", ["bad.yaml"]),
    ("map_900k_keys", "target: reference\n" + "".join(f"k{i}: {i}\n" for i in range(900000)), ["bad.yaml"]),
    # under the size limit, so the duplicate-key check must be linear (it was quadratic: 7.6 s)
    ("map_60k_keys_under_limit", "target: reference\n" + "".join(f"k{i}: {i}\n" for i in range(60000)),
     ["bad.yaml", "k0"]),
]


def _c1_file(row):
    name, text, words = row
    preview = text if len(text) < 80 else text[:60] + "..."
    return (f"Feeds the config file {preview!r} to `run -c bad.yaml`; expect_error(words={words}) within 10 s.",
            yaml_run(text, words))


table("c1_", C1_FILES, _c1_file)


@case
def c1_self_alias_config_show(d):
    """Feeds `host: &a [*a]` to `config show bad.yaml`; expect_error(words=['bad.yaml', 'host'])."""
    return yaml_run("target: reference\nhost: &a [*a]\n", ["bad.yaml", "host"], "config show")(d)


@case
def c1_self_alias_set(d):
    """Feeds `--set 'host=&a [*a]'` on the reference preset; expect_error(words=['host'])."""
    return Run(ref(tiny(), d, "--set", "host=&a [*a]"), expect_error(["host"]), max_seconds=10)


@case
def c1_billion_laughs_set(d):
    """Feeds `--set host=[&a0 [lol x10], &a1 [*a0 x10], ... 9 levels]`; expect_error(words=['host'])."""
    return Run(ref(tiny(), d, "--set", "host=" + laughs_flow()), expect_error(["host"]), max_seconds=10)


@case
def c1_python_self_alias(d):
    """xpusim.config(path) on a file holding `host: &a [*a]`; expect_python(ConfigError)."""
    cfg = write(d, "bad.yaml", "target: reference\nhost: &a [*a]\n")
    return Run(py_script(d, "expect(lambda: xpusim.config(sys.argv[1]), xpusim.ConfigError)\n", cfg),
               expect_python("ConfigError"), python=True)


@case
def c1_python_billion_laughs(d):
    """xpusim.config(path) on a 9-level billion-laughs file; expect_python(ConfigError)."""
    cfg = write(d, "bad.yaml", "target: reference\nhost:\n" + laughs_block())
    return Run(py_script(d, "expect(lambda: xpusim.config(sys.argv[1]), xpusim.ConfigError)\n", cfg),
               expect_python("ConfigError"), python=True)


@case
def c1_python_self_alias_override(d):
    """xpusim.config('reference', ['host=&a [*a]']); expect_python(ConfigError)."""
    body = "expect(lambda: xpusim.config('reference', ['host=&a [*a]']), xpusim.ConfigError)\n"
    return Run(py_script(d, body), expect_python("ConfigError"), python=True)


# ---------------------------------------------------------------- c2: rank-0 tensors with an axis

def _k():
    return const("k", [1], np.int64)


C2 = [
    # name, node builder(x -> nodes), outputs, words beyond the node name
    ("concat", lambda: [helper.make_node("Concat", ["x", "x"], ["y"], name="s_concat", axis=0)], [("y", F)], ["axis"]),
    ("split", lambda: [helper.make_node("Split", ["x"], ["y", "y2"], name="s_split", axis=0)],
     [("y", F), ("y2", F)], ["axis"]),
    ("topk", lambda: [_k(), helper.make_node("TopK", ["x", "k"], ["y", "i"], name="s_topk", axis=0)],
     [("y", F), ("i", I64)], ["axis"]),
    ("argmax", lambda: [helper.make_node("ArgMax", ["x"], ["y"], name="s_argmax", axis=0)], [("y", I64)], ["axis"]),
    ("argmin", lambda: [helper.make_node("ArgMin", ["x"], ["y"], name="s_argmin", axis=0)], [("y", I64)], ["axis"]),
    ("cumsum", lambda: [const("ax", 0, np.int64), helper.make_node("CumSum", ["x", "ax"], ["y"], name="s_cumsum")],
     [("y", F)], ["axis"]),
    ("softmax", lambda: [helper.make_node("Softmax", ["x"], ["y"], name="s_softmax", axis=0)], [("y", F)], ["axis"]),
    ("softmax_neg", lambda: [helper.make_node("Softmax", ["x"], ["y"], name="s_softmax", axis=-1)], [("y", F)],
     ["axis"]),
    ("logsoftmax", lambda: [helper.make_node("LogSoftmax", ["x"], ["y"], name="s_logsoftmax", axis=0)], [("y", F)],
     ["axis"]),
    ("hardmax", lambda: [helper.make_node("Hardmax", ["x"], ["y"], name="s_hardmax", axis=0)], [("y", F)], ["axis"]),
    ("gather", lambda: [const("gi", 0, np.int64), helper.make_node("Gather", ["x", "gi"], ["y"], name="s_gather",
                                                                     axis=0)], [("y", F)], ["axis"]),
    ("flatten_axis1", lambda: [helper.make_node("Flatten", ["x"], ["y"], name="s_flatten", axis=1)], [("y", F)],
     ["axis"]),
    ("reducesum_axes0", lambda: [const("axes", [0], np.int64),
                                 helper.make_node("ReduceSum", ["x", "axes"], ["y"], name="s_reducesum")],
     [("y", F)], ["ax"]),
    ("squeeze_axes0", lambda: [const("axes", [0], np.int64),
                               helper.make_node("Squeeze", ["x", "axes"], ["y"], name="s_squeeze")],
     [("y", F)], ["ax"]),
]


def _c2(row):
    name, nodes, outs, words = row
    node = [n for n in nodes() if n.op_type != "Constant"][0]
    attr = {a.name: helper.get_attribute_value(a) for a in node.attribute}
    doc = (f"Feeds {node.op_type} ({attr or 'axis from a constant input'}) on a rank-0 float input (every "
           f"axis is outside [-0, -1]); expect_error(words={[node.name] + words}).")

    def fn(d):
        m = model(nodes(), [("x", F, [])], [(n, t, None) for n, t in outs])
        return Run(ref(m, d), expect_error([node.name] + words))
    return doc, fn


table("c2_", C2, _c2)


@case
def c2_flatten_axis0_legal(d):
    """Feeds Flatten axis=0 on a rank-0 input, legal ONNX (Flatten accepts [-r, r]) giving 1x1;
    expect_ok()."""
    m = model([helper.make_node("Flatten", ["x"], ["y"], name="s_flatten", axis=0)], [("x", F, [])],
              [("y", F, None)])
    return Run(ref(m, d), expect_ok())


# ---------------------------------------------------------------- c3: integer overflow

# MIN / -1 does not fit the type. It is legal ONNX, so it runs: the quotient wraps to MIN (as
# numpy gives) and MIN % -1 is 0, never a SIGFPE. 7 / 2 = 3 and 7 % 2 = 1 beside it.
def _divmod_expected(op, lo):
    return [lo, 3] if op == "Div" else [0, 1]


def _divmod_post(d, op, dtype, lo):
    def post(o):
        if o.rc != 0:
            return []
        got = np.load(os.path.join(d, "outputs", "y.npy"))
        want = np.array(_divmod_expected(op, lo), dtype)
        return [] if got.dtype == want.dtype and np.array_equal(got, want) else [f"got {got}, want {want}"]
    return post


def _divmod_const(op, dtype, lo):
    def fn(d):
        nodes = [const("a", [lo, 7], dtype), const("b", [-1, 2], dtype),
                 helper.make_node(op, ["a", "b"], ["y"], name="ovf_" + op.lower())]
        m = model(nodes, [], [("y", I32 if dtype == np.int32 else I64, [2])])
        return Run(ref(m, d), expect_ok(), post=_divmod_post(d, op, dtype, lo))
    return fn


def _divmod_runtime(op, dtype, lo):
    def fn(d):
        t = I32 if dtype == np.int32 else I64
        m = model([helper.make_node(op, ["a", "b"], ["y"], name="ovf_" + op.lower())],
                  [("a", t, [2]), ("b", t, [2])], [("y", t, [2])])
        a, b = npy(d, "a.npy", np.array([lo, 7], dtype)), npy(d, "b.npy", np.array([-1, 2], dtype))
        return Run(ref(m, d, "--input", "a=" + a, "--input", "b=" + b), expect_ok(),
                   post=_divmod_post(d, op, dtype, lo))
    return fn


C3_HOW = {"const": (_divmod_const, "Constant nodes (constant folding)"),
          "runtime": (_divmod_runtime, "runtime inputs given with --input")}
for _op in ("Div", "Mod"):
    for _dt, _lo, _bits in ((np.int32, I32_MIN, "int32"), (np.int64, I64_MIN, "int64")):
        for _how, (_mk, _as) in C3_HOW.items():
            _fn = _mk(_op, _dt, _lo)
            _fn.__name__ = f"c3_{_op.lower()}_{_bits}_min_by_minus1_{_how}"
            _fn.__doc__ = (f"Feeds {_op}({_bits} min, -1) as {_as}: the quotient does not fit; it runs,"
                           f" wrapping as numpy does (Div: min, Mod: 0); expect_ok().")
            CASES[_fn.__name__] = _fn


@case
def c3_split_num_outputs_0(d):
    """Feeds Split (opset 18) with num_outputs=0, which would divide by zero;
    expect_error(words=['s18', 'num_outputs'])."""
    m = model([helper.make_node("Split", ["x"], ["y"], name="s18", axis=0, num_outputs=0)],
              [("x", F, [4])], [("y", F, None)], opset=18)
    return Run(ref(m, d), expect_error(["s18", "num_outputs"]))


@case
def c3_depthtospace_blocksize_2p32(d):
    """Feeds DepthToSpace with blocksize 2^32, whose square overflows int64;
    expect_error(words=['d2s', 'blocksize'])."""
    m = model([helper.make_node("DepthToSpace", ["x"], ["y"], name="d2s", blocksize=1 << 32)],
              [("x", F, [1, 4, 2, 2])], [("y", F, None)])
    return Run(ref(m, d), expect_error(["d2s", "blocksize"]))


@case
def c3_spacetodepth_blocksize_2p32(d):
    """Feeds SpaceToDepth with blocksize 2^32; expect_error(words=['s2d', 'blocksize'])."""
    m = model([helper.make_node("SpaceToDepth", ["x"], ["y"], name="s2d", blocksize=1 << 32)],
              [("x", F, [1, 4, 2, 2])], [("y", F, None)])
    return Run(ref(m, d), expect_error(["s2d", "blocksize"]))


def _window_case(op, attr, value, words):
    def fn(d):
        x = [1, 1, 8, 8]
        if op == "Conv":
            node = helper.make_node("Conv", ["x", "w"], ["y"], name="big_" + attr, **{attr: value})
            m = model([node], [("x", F, x)], [("y", F, None)], inits=[init("w", np.ones((1, 1, 3, 3)))])
        else:
            node = helper.make_node("MaxPool", ["x"], ["y"], name="big_" + attr, kernel_shape=[3, 3], **{attr: value})
            m = model([node], [("x", F, x)], [("y", F, None)])
        return Run(ref(m, d), expect_error(["big_" + attr] + words))
    return fn


for _op in ("Conv", "MaxPool"):
    for _attr, _value, _what in (("dilations", [1 << 62, 1], "2^62"),
                                 ("pads", [(1 << 63) - 1, 0, 0, 0], "INT64_MAX")):
        _fn = _window_case(_op, _attr, _value, [_attr])
        _fn.__name__ = f"c3_{_op.lower()}_{_attr}_{'2p62' if _attr == 'dilations' else 'int64_max'}"
        _fn.__doc__ = (f"Feeds {_op} with {_attr} of {_what}, whose window arithmetic would wrap around;"
                       f" expect_error(words=['big_{_attr}', '{_attr}']) naming the attribute.")
        CASES[_fn.__name__] = _fn


# ---------------------------------------------------------------- c4: zero-sized dimensions on hardware targets

def _zero_model(kind):
    rng = np.random.default_rng(0)
    if kind == "gemm_m0":
        return model([helper.make_node("Gemm", ["a", "b", "c"], ["y"], name="gemm_m0")], [("a", F, [0, 16])],
                     [("y", F, [0, 8])], [init("b", rng.standard_normal((16, 8))), init("c", np.zeros(8))])
    if kind == "matmul_k0":
        return model([helper.make_node("MatMul", ["a", "b"], ["y"], name="matmul_k0")], [("a", F, [4, 0])],
                     [("y", F, [4, 8])], [init("b", np.zeros((0, 8)))])
    return model([helper.make_node("Conv", ["x", "w"], ["y"], name="conv_cout0", kernel_shape=[3, 3])],
                 [("x", F, [1, 3, 8, 8])], [("y", F, [1, 0, 6, 6])], [init("w", np.zeros((0, 3, 3, 3)))])


C4_DOC = {"gemm_m0": "a Gemm with M=0 (A is 0x16)", "matmul_k0": "a MatMul with K=0 (4x0 by 0x8)",
          "conv_cout0": "a Conv with zero output channels (weights 0x3x3x3)"}


def _c4(row):
    _, preset, kind = row
    hw = preset != "reference"

    def fn(d):
        m = _zero_model(kind)
        return Run(["run", save(m, d), "-c", preset, "-o", d], expect_ok(unsupported_ok=hw), node=kind)
    doc = (f"Feeds {C4_DOC[kind]}, legal ONNX, to `-c {preset}`; expect_ok("
           + ("unsupported_ok=True: exit 0, or exit 2 with one line naming the node" if hw else "") + ").")
    return doc, fn


table("c4_", [(f"{k}_{p}", p, k) for k in C4_DOC for p in ("nvdla_full", "tpu_v4i", "tpu_v1", "reference")], _c4)


# ---------------------------------------------------------------- c5: sizes that come from data

def _c5_model(nodes, inputs, opset=17):
    return model(nodes, inputs, [("y", F, None)], opset=opset)


C5 = [
    # name, description, builder -> model, node, words
    ("expand_2p20_sq", "Expand of a [1] input to the shape [2^20, 2^20] (a Constant)",
     lambda: _c5_model([const("s", [1 << 20, 1 << 20], np.int64), helper.make_node("Expand", ["x", "s"], ["y"],
                                                                                   name="big_expand")],
                       [("x", F, [1])]), ["big_expand", "1048576"]),
    ("expand_count_overflows", "Expand to [2^32, 2^32, 2^32] (the element count overflows int64)",
     lambda: _c5_model([const("s", [1 << 32] * 3, np.int64), helper.make_node("Expand", ["x", "s"], ["y"],
                                                                               name="big_expand")],
                       [("x", F, [1])]), ["big_expand"]),
    ("constantofshape_2p40", "ConstantOfShape of [2^40]",
     lambda: _c5_model([const("s", [1 << 40], np.int64), helper.make_node("ConstantOfShape", ["s"], ["y"],
                                                                          name="big_cos")], []),
     ["big_cos", "1099511627776"]),
    ("tile_huge_repeats", "Tile of a 2x3 input with repeats [2^30, 2^30]",
     lambda: _c5_model([const("r", [1 << 30, 1 << 30], np.int64), helper.make_node("Tile", ["x", "r"], ["y"],
                                                                                   name="big_tile")],
                       [("x", F, [2, 3])]), ["big_tile", "2147483648"]),
    ("range_2p40", "Range(0, 2^40, 1) in float",
     lambda: _c5_model([const("r0", 0.0, np.float32), const("r1", float(1 << 40), np.float32),
                        const("r2", 1.0, np.float32), helper.make_node("Range", ["r0", "r1", "r2"], ["y"],
                                                                       name="big_range")], []),
     ["big_range", "1099511627776"]),
    ("resize_scales_1e6", "Resize of 1x1x4x4 with scales [1, 1, 1e6, 1e6]",
     lambda: _c5_model([const("sc", [1, 1, 1e6, 1e6], np.float32),
                        helper.make_node("Resize", ["x", "", "sc"], ["y"], name="big_resize")],
                       [("x", F, [1, 1, 4, 4])]), ["big_resize", "4000000"]),
    ("resize_sizes_2p20", "Resize of 1x1x4x4 to sizes [1, 1, 2^20, 2^20]",
     lambda: _c5_model([const("sz", [1, 1, 1 << 20, 1 << 20], np.int64),
                        helper.make_node("Resize", ["x", "", "", "sz"], ["y"], name="big_resize")],
                       [("x", F, [1, 1, 4, 4])]), ["big_resize", "1048576"]),
    ("onehot_depth_2p40", "OneHot of three indices with depth 2^40",
     lambda: _c5_model([const("idx", [0, 1, 2], np.int64), const("dep", [1 << 40], np.int64),
                        const("val", [0, 1], np.float32),
                        helper.make_node("OneHot", ["idx", "dep", "val"], ["y"], name="big_onehot")], []),
     ["big_onehot", "1099511627776"]),
    ("convtranspose_output_shape", "ConvTranspose 1x1x2x2 with strides 2^30 and output_shape [2^30+2, 2^30+2]",
     lambda: model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="big_convt", strides=[1 << 30] * 2,
                                     output_shape=[(1 << 30) + 2] * 2)], [("x", F, [1, 1, 2, 2])], [("y", F, None)],
                   [init("w", np.ones((1, 1, 3, 3)))]), ["big_convt", "1073741826"]),
    ("pad_2p40", "Pad of a 2x3 input with pads [0, 2^40, 0, 0]",
     lambda: _c5_model([const("p", [0, 1 << 40, 0, 0], np.int64), helper.make_node("Pad", ["x", "p"], ["y"],
                                                                                    name="big_pad")],
                       [("x", F, [2, 3])]), ["big_pad", "1099511627779"]),
]


def _c5(row):
    name, what, build, words = row
    return (f"Feeds {what}; expect_error(words={words}) before anything that size is allocated.",
            lambda d: Run(ref(build(), d), expect_error(words)))


table("c5_", C5, _c5)


@case
def c5_constantofshape_runtime_2p40(d):
    """Feeds ConstantOfShape whose shape is a graph input, given as [2^40] with --input;
    expect_error(words=['big_cos', '1099511627776'])."""
    m = _c5_model([helper.make_node("ConstantOfShape", ["s"], ["y"], name="big_cos")], [("s", I64, [1])])
    s = npy(d, "s.npy", np.array([1 << 40], np.int64))
    return Run(ref(m, d, "--input", "s=" + s), expect_error(["big_cos", "1099511627776"]))


@case
def c5_graph_input_declared_2p40(d):
    """Feeds a graph input declared [2^40] (inputs are drawn from --seed);
    expect_error(words=['big_in', '1099511627776'])."""
    m = model([helper.make_node("Relu", ["big_in"], ["y"], name="relu")], [("big_in", F, [1 << 40])],
              [("y", F, [1 << 40])])
    return Run(ref(m, d), expect_error(["big_in", "1099511627776"]))


@case
def c5_shape_flag_2p40(d):
    """Feeds a graph input declared [N] and `--shape big_in=1099511627776`;
    expect_error(words=['big_in', '1099511627776'])."""
    m = model([helper.make_node("Relu", ["big_in"], ["y"], name="relu")], [("big_in", F, ["N"])], [("y", F, ["N"])])
    return Run(ref(m, d, "--shape", "big_in=1099511627776"), expect_error(["big_in", "1099511627776"]))


# ---------------------------------------------------------------- c6: work that scales with an attribute

BIG_K = 10 ** 6
BIG_PAD = BIG_K // 2 - 2  # 4 + 2 * BIG_PAD - BIG_K + 1 = 1: one output per window


def _pool(op, batch, **extra):
    return model([helper.make_node(op, ["x"], ["y"], name="big_pool", kernel_shape=[BIG_K, BIG_K],
                                   pads=[BIG_PAD] * 4, **extra)], [("x", F, [batch, 1, 4, 4])], [("y", F, None)])


def _reshape_chain(n=100000):
    nodes = [helper.make_node("Reshape", ["x" if i == 0 else f"v{i - 1}", "shape"], [f"v{i}"], name=f"r{i}")
             for i in range(n)]
    nodes.append(helper.make_node("Relu", [f"v{n - 1}"], ["y"], name="relu"))
    return model(nodes, [("x", F, [1, 8, 4, 4])], [("y", F, [1, 8, 4, 4])],
                 inits=[init("shape", [1, 8, 4, 4], np.int64)])


def _relu_chain(n=100000):
    nodes = [helper.make_node("Relu", [f"t{i}" if i else "x"], [f"t{i + 1}" if i + 1 < n else "y"], name=f"r{i}")
             for i in range(n)]
    return model(nodes, [("x", F, [1, 16])], [("y", F, [1, 16])])


C6 = [
    # name, description, builder, preset, extra args, expectation
    ("maxpool_kernel_1e6", "MaxPool kernel 10^6 x 10^6 with pads 499998 on 1x1x4x4 (one output, 10^12 window)",
     lambda: _pool("MaxPool", 1), "reference", [], expect_ok(or_error=["big_pool"])),
    ("averagepool_kernel_1e6", "AveragePool kernel 10^6 with pads 499998 on 1x1x4x4",
     lambda: _pool("AveragePool", 1), "reference", [], expect_ok(or_error=["big_pool"])),
    ("averagepool_kernel_1e6_include_pad", "AveragePool kernel 10^6, count_include_pad=1, on 1x1x4x4",
     lambda: _pool("AveragePool", 1, count_include_pad=1), "reference", [], expect_ok(or_error=["big_pool"])),
    ("maxpool_kernel_1e6_batch0", "MaxPool kernel 10^6 with pads 499998 on an empty batch 0x1x4x4",
     lambda: _pool("MaxPool", 0), "reference", [], expect_ok(or_error=["big_pool"])),
    ("averagepool_kernel_1e6_batch0", "AveragePool kernel 10^6 on an empty batch 0x1x4x4",
     lambda: _pool("AveragePool", 0), "reference", [], expect_ok(or_error=["big_pool"])),
    ("maxpool_kernel_1e6_tpu_v1_timing", "MaxPool kernel 10^6 on 1x1x4x4 on tpu_v1 --timing-only",
     lambda: _pool("MaxPool", 1), "tpu_v1", ["--timing-only"], expect_ok(or_error=["big_pool"])),
    ("pad_empty_huge", "Pad of an empty 0x3 input with pads [0, 2^40, 0, 2^40] (an empty output)",
     lambda: _c5_model([const("p", [0, 1 << 40, 0, 1 << 40], np.int64),
                        helper.make_node("Pad", ["x", "p"], ["y"], name="big_pad")], [("x", F, [0, 3])]),
     "reference", [], expect_ok(or_error=["big_pad"])),
    ("resize_empty_huge", "Resize of an empty 0x1x4x4 input with scales [1, 1, 1e6, 1e6] (an empty output)",
     lambda: _c5_model([const("sc", [1, 1, 1e6, 1e6], np.float32),
                        helper.make_node("Resize", ["x", "", "sc"], ["y"], name="big_resize")],
                       [("x", F, [0, 1, 4, 4])]), "reference", [], expect_ok(or_error=["big_resize"])),
    ("conv_dilations_1e5", "Conv 3x3 with dilations 10^5 and pads 10^5 on 1x1x4x4 (a 4x4 output)",
     lambda: model([helper.make_node("Conv", ["x", "w"], ["y"], name="wide_conv", kernel_shape=[3, 3],
                                     dilations=[100000] * 2, pads=[100000] * 4)], [("x", F, [1, 1, 4, 4])],
                   [("y", F, None)], [init("w", np.ones((1, 1, 3, 3)))]),
     "reference", [], expect_ok(or_error=["wide_conv"])),
    ("lrn_size_1e9", "LRN with size 999999999 on 1x3x4x4",
     lambda: model([helper.make_node("LRN", ["x"], ["y"], name="wide_lrn", size=999999999)],
                   [("x", F, [1, 3, 4, 4])], [("y", F, [1, 3, 4, 4])]),
     "reference", [], expect_ok(or_error=["wide_lrn"])),
    ("relu_chain_100k_tpu_v1_timing", "a chain of 100,000 Relu nodes on tpu_v1 --timing-only",
     _relu_chain, "tpu_v1", ["--timing-only"], expect_ok()),
    ("relu_chain_100k_reference", "a chain of 100,000 Relu nodes on the reference target",
     _relu_chain, "reference", [], expect_ok()),
    ("relu_chain_100k_nvdla_full_timing", "a chain of 100,000 Relu nodes on nvdla_full --timing-only",
     _relu_chain, "nvdla_full", ["--timing-only"], expect_ok()),
    ("reshape_chain_100k_nvdla_full", "a chain of 100,000 Reshape views before a Relu on nvdla_full "
     "(views of views must not recurse)", _reshape_chain, "nvdla_full", [], expect_ok()),
    ("reshape_chain_100k_tpu_v4i", "a chain of 100,000 Reshape views before a Relu on tpu_v4i",
     _reshape_chain, "tpu_v4i", [], expect_ok()),
]


def _c6(row):
    name, what, build, preset, extra, expect = row
    how = "expect_ok()" if expect.or_error is None else f"expect_ok(or_error={expect.or_error})"
    return (f"Feeds {what}; {how} within {TIME_LIMIT} s.",
            lambda d: Run(["run", save(build(), d), "-c", preset, "-o", d, *extra], expect))


table("c6_", C6, _c6)


# ---------------------------------------------------------------- c7: input files

def raw_npy(header, data=b"", version=1, header_len=None):
    """An .npy file with this header text (padded as numpy pads it) and these data bytes."""
    head = header.encode("latin1")
    pre = 10 if version == 1 else 12
    pad = (-(pre + len(head) + 1)) % 64
    head += b" " * pad + b"\n"
    n = len(head) if header_len is None else header_len
    length = struct.pack("<H", n) if version == 1 else struct.pack("<I", n)
    return b"\x93NUMPY" + bytes([version, 0]) + length + head + data


DATA6 = np.ones((2, 3), np.float32).tobytes()


def _file_case(make, name="x_in.npy", max_seconds=None, words=None):
    """make(d, path) creates the file at path (or returns another path to pass)."""
    def fn(d):
        path = os.path.join(d, name)
        path = make(d, path) or path
        w = words or [os.path.basename(path)]
        return Run(ref(tiny(), d, "--input", "x=" + path), expect_error(w), max_seconds=max_seconds)
    return fn


def _writer(data):
    def make(d, path):
        with open(path, "wb") as f:
            f.write(data)
    return make


C7 = [
    ("fifo", "a FIFO nobody writes to (os.mkfifo), within 10 s", _file_case(lambda d, p: os.mkfifo(p), "x_fifo",
                                                                             max_seconds=10)),
    ("dev_zero", "/dev/zero (must not read it to the end), within 10 s",
     _file_case(lambda d, p: "/dev/zero", max_seconds=10, words=["/dev/zero"])),
    ("directory", "a directory", _file_case(lambda d, p: os.mkdir(p), "x_dir")),
    ("empty_file", "an empty file", _file_case(_writer(b""))),
    ("bad_magic", "4 KiB of random bytes", _file_case(_writer(np.random.default_rng(3).bytes(4096)))),
    ("truncated", "a valid 2x3 float32 header with 8 of its 24 data bytes",
     _file_case(_writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", DATA6[:8])))),
    ("shape_float", "a header with shape (2.5, 3)",
     _file_case(_writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2.5, 3), }", DATA6)))),
    ("shape_negative", "a header with shape (-1, 3)",
     _file_case(_writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1, 3), }", DATA6)))),
    ("shape_2p40_tiny_data", "a header with shape (1099511627776,) and 24 data bytes",
     _file_case(_writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }", DATA6)))),
    ("object_dtype", "a header with descr '|O' (pickled objects)",
     _file_case(_writer(raw_npy("{'descr': '|O', 'fortran_order': False, 'shape': (2, 3), }", DATA6)))),
    ("header_65k_shape", "a version-2 header whose shape tuple is 65 KB of ', 1'",
     _file_case(_writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3" + ", 1" * 21000
                                + "), }", DATA6, version=2)))),
    ("header_len_4g", "a version-2 header whose length field says 0xFFFFFFF0 in a 200-byte file",
     _file_case(_writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", DATA6,
                                version=2, header_len=0xFFFFFFF0)))),
]


def _c7(row):
    name, what, fn = row
    return (f"Feeds `--input x=FILE` with FILE {what}; expect_error(words=[FILE's name]).", fn)


table("c7_", C7, _c7)


@case
def c7_header_65k_junk(d):
    """Feeds `--input x=FILE` with a version-2 .npy (2x3 float32) whose header holds a 65 KB string
    in an extra key (numpy itself refuses extra keys); expect_ok(or_error=['x_in.npy']): no crash
    in the header parser."""
    path = os.path.join(d, "x_in.npy")
    _writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'junk': '" + "a" * 65000 + "', }",
                    DATA6, version=2))(d, path)
    return Run(ref(tiny(), d, "--input", "x=" + path), expect_ok(or_error=["x_in.npy"]))


@case
def c7_header_65k_spaces(d):
    """Feeds `--input x=FILE` with a legal version-2 .npy (2x3 float32) whose header is padded to
    65 KB with spaces; expect_ok(or_error=['x_in.npy'])."""
    path = os.path.join(d, "x_in.npy")
    _writer(raw_npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + " " * 65000, DATA6,
                    version=2))(d, path)
    return Run(ref(tiny(), d, "--input", "x=" + path), expect_ok(or_error=["x_in.npy"]))


# ---------------------------------------------------------------- c8: messages

def stats_json_valid(d):
    def post(o):
        if o.rc != 0:
            return []
        path = os.path.join(d, "stats.json")
        try:
            with open(path, "rb") as f:
                json.loads(f.read().decode("utf-8"))
        except FileNotFoundError:
            return ["stats.json was not written"]
        except (ValueError, UnicodeDecodeError) as e:
            return [f"stats.json is not valid JSON: {e}"]
        return []
    return post


def with_bytes(m, placeholder, raw):
    """The serialized model with a same-length placeholder string replaced by raw bytes (protobuf in
    Python refuses invalid UTF-8 in string fields)."""
    assert len(placeholder) == len(raw)
    data = m.SerializeToString()
    assert placeholder.encode() in data
    return data.replace(placeholder.encode(), raw)


BAD_UTF8 = b"relu_\xff\xfe\xc3("  # 9 bytes, none of them a valid UTF-8 sequence after relu_


@case
def c8_newline_node_name(d):
    """Feeds a legal Relu model whose node is named 'relu\\nsecond line'; expect_ok() and stats.json
    is valid JSON."""
    m = model([helper.make_node("Relu", ["x"], ["y"], name="relu\nsecond line")], [("x", F, [2, 3])],
              [("y", F, [2, 3])])
    return Run(ref(m, d), expect_ok(), post=stats_json_valid(d))


@case
def c8_newline_value_names(d):
    """Feeds a legal Relu model whose input is 'in\\nput' and output 'out\\nput'; expect_ok() and
    stats.json is valid JSON."""
    m = model([helper.make_node("Relu", ["in\nput"], ["out\nput"], name="relu")], [("in\nput", F, [2, 3])],
              [("out\nput", F, [2, 3])])
    return Run(ref(m, d), expect_ok(), post=stats_json_valid(d))


@case
def c8_invalid_utf8_node_name(d):
    """Feeds a Relu model whose node name holds the bytes ff fe c3 28 (invalid UTF-8);
    expect_ok(or_error=[]) (the run works, or it is refused on one line), stderr valid UTF-8,
    stats.json valid JSON when it runs."""
    m = model([helper.make_node("Relu", ["x"], ["y"], name="relu_XXXX")], [("x", F, [2, 3])], [("y", F, [2, 3])])
    return Run(ref(with_bytes(m, "relu_XXXX", BAD_UTF8), d), expect_ok(or_error=[]), post=stats_json_valid(d),
               utf8=True)


@case
def c8_newline_node_name_error(d):
    """Feeds an unknown op whose node is named 'bad\\nnode'; expect_error(words=['Frobnicate']) on one
    line."""
    m = model([helper.make_node("Frobnicate", ["x"], ["y"], name="bad\nnode")], [("x", F, [2, 3])],
              [("y", F, [2, 3])])
    return Run(ref(m, d), expect_error(["Frobnicate"]))


@case
def c8_invalid_utf8_node_name_error(d):
    """Feeds an unknown op whose node name holds invalid UTF-8; expect_error(words=['Frobnicate'])
    on one line of valid UTF-8."""
    m = model([helper.make_node("Frobnicate", ["x"], ["y"], name="relu_XXXX")], [("x", F, [2, 3])],
              [("y", F, [2, 3])])
    return Run(ref(with_bytes(m, "relu_XXXX", BAD_UTF8), d), expect_error(["Frobnicate"]), utf8=True)


@case
def c8_newline_value_name_error(d):
    """Feeds Add(2x3, an initializer 'b\\nb' of 4x5) that cannot broadcast;
    expect_error(words=['bad_add', '4x5']) on one line."""
    m = model([helper.make_node("Add", ["x", "b\nb"], ["y"], name="bad_add")], [("x", F, [2, 3])],
              [("y", F, [2, 3])], [init("b\nb", np.ones((4, 5)))])
    return Run(ref(m, d), expect_error(["bad_add", "4x5"]))


def _external(d, offset="0", length="24"):
    with open(os.path.join(d, "w.bin"), "wb") as f:
        f.write(b"\0" * 64)
    w = TensorProto()
    w.name, w.data_type = "w", TensorProto.FLOAT
    w.dims.extend([2, 3])
    w.data_location = TensorProto.EXTERNAL
    for k, v in [("location", "w.bin"), ("offset", offset), ("length", length)]:
        e = w.external_data.add()
        e.key, e.value = k, v
    return model([helper.make_node("Add", ["x", "w"], ["y"], name="add")], [("x", F, [2, 3])], [("y", F, [2, 3])], [w])


@case
def c8_external_offset_negative(d):
    """Feeds an initializer with external data offset "-5"; expect_error(words=["'w'", '-5', 'offset']),
    never 18446744073709551615."""
    return Run(ref(_external(d, offset="-5"), d),
               expect_error(["'w'", "-5", "offset"], absent=["18446744073709551615", "1844674407370955"]))


@case
def c8_external_offset_12abc(d):
    """Feeds an initializer with external data offset "12abc"; expect_error(words=["'w'", '12abc'])."""
    return Run(ref(_external(d, offset="12abc"), d), expect_error(["'w'", "12abc"]))


@case
def c8_external_length_negative(d):
    """Feeds an initializer with external data length "-1"; expect_error(words=["'w'", '-1', 'length']),
    never 18446744073709551615."""
    return Run(ref(_external(d, length="-1"), d),
               expect_error(["'w'", "-1", "length"], absent=["18446744073709551615", "1844674407370955"]))


@case
def c8_onehot_depth_1e30(d):
    """Feeds OneHot with a float depth of 1e30; expect_error(words=['big_onehot']) and the message
    must not call it "not positive", "must be positive" or negative: it is positive, but too large."""
    m = _c5_model([const("idx", [0, 1, 2], np.int64), const("dep", [1e30], np.float32),
                   const("val", [0, 1], np.float32),
                   helper.make_node("OneHot", ["idx", "dep", "val"], ["y"], name="big_onehot")], [])
    return Run(ref(m, d), expect_error(["big_onehot"], absent=["not positive", "must be positive", "negative",
                                                          "-9223372036854775808"]))


@case
def c8_threads_huge_set(d):
    """Feeds `--set host.threads=99999999999999999999`; expect_error(words=['host.threads',
    '99999999999999999999']) and no "not positive", "negative" or "minimum"."""
    return Run(ref(tiny(), d, "--set", "host.threads=99999999999999999999"),
               expect_error(["host.threads", "99999999999999999999"], absent=["not positive", "negative", "minimum"]))


def passwd_absent(o):
    try:
        with open("/etc/passwd") as f:
            lines = [line.strip() for line in f if len(line.strip()) > 6]
    except OSError:
        lines = []
    leaked = [line for line in lines if line in o.stderr]
    return [f"stderr quotes /etc/passwd ({len(leaked)} lines)"] if leaked else []


@case
def c8_include_passwd_map(d):
    """Feeds a config with `host: !include /etc/passwd`; expect_error(words=['/etc/passwd']) and no
    line of /etc/passwd (e.g. "root:") in stderr."""
    cfg = write(d, "bad.yaml", "target: reference\nhost: !include /etc/passwd\n")
    return Run(["run", save(tiny(), d), "-c", cfg, "-o", d],
               expect_error(["/etc/passwd"], absent=["root:"]), post=passwd_absent)


@case
def c8_include_passwd_scalar(d):
    """Feeds a config whose target is `!include /etc/passwd` (a scalar: the file's text becomes an
    unknown target name); expect_error(words=['/etc/passwd']) and no line of it (no "root:")."""
    cfg = write(d, "bad.yaml", "target: !include /etc/passwd\n")
    return Run(["run", save(tiny(), d), "-c", cfg, "-o", d],
               expect_error(["/etc/passwd"], absent=["root:"]), post=passwd_absent)


def _div_zero(op):
    def fn(d):
        m = model([helper.make_node(op, ["a", "b"], ["y"], name="zero_" + op.lower())],
                  [("a", I32, [2]), ("b", I32, [2])], [("y", I32, [2])])
        a, b = npy(d, "a.npy", np.array([5, 7], np.int32)), npy(d, "b.npy", np.array([0, 0], np.int32))
        return Run(ref(m, d, "--input", "a=" + a, "--input", "b=" + b), expect_error(["zero_" + op.lower()]))
    fn.__name__ = f"c8_int32_{op.lower()}_by_zero_runtime"
    fn.__doc__ = (f"Feeds int32 {op}(a, b) with b all zeros given through --input;"
                  f" expect_error(words=['zero_{op.lower()}']).")
    CASES[fn.__name__] = fn


_div_zero("Div")
_div_zero("Mod")


# ---------------------------------------------------------------- c9: command-line arguments

def _check_max(value):
    def fn(d):
        return Run(["check", save(tiny(), d), "-c", "reference", "--max-rel-err", value],
                   expect_error(["--max-rel-err"] + ([value] if value else [])))
    return fn


def _argv(build, words):
    def fn(d):
        return Run(build(save(tiny(), d), d), expect_error(words))
    return fn


C9 = [
    ("max_rel_err_nan", "`check MODEL -c reference --max-rel-err nan`", _check_max("nan"), ["--max-rel-err", "nan"]),
    ("max_rel_err_inf", "`check ... --max-rel-err inf`", _check_max("inf"), ["--max-rel-err", "inf"]),
    ("max_rel_err_negative", "`check ... --max-rel-err -1`", _check_max("-1"), ["--max-rel-err", "-1"]),
    ("no_arguments", "`xpusim` with no arguments", lambda d: Run([], expect_error(["usage"])), ["usage"]),
    ("unknown_command", "`xpusim frobnicate`", lambda d: Run(["frobnicate"], expect_error(["frobnicate"])),
     ["frobnicate"]),
    ("seed_not_a_number", "`run ... --seed abc`",
     _argv(lambda m, d: ["run", m, "-c", "reference", "-o", d, "--seed", "abc"], ["--seed", "abc"]),
     ["--seed", "abc"]),
    ("seed_huge", "`run ... --seed 99999999999999999999999`",
     _argv(lambda m, d: ["run", m, "-c", "reference", "-o", d, "--seed", "99999999999999999999999"], ["--seed"]),
     ["--seed"]),
    ("config_missing_value", "`run MODEL -o DIR -c` (no value after -c)",
     _argv(lambda m, d: ["run", m, "-o", d, "-c"], ["-c"]), ["-c"]),
    ("input_no_equals", "`run ... --input x_npy` (no NAME=)",
     _argv(lambda m, d: ["run", m, "-c", "reference", "-o", d, "--input", "x_npy"], ["--input"]), ["--input"]),
    ("shape_not_dims", "`run ... --shape x=2xqx3`",
     _argv(lambda m, d: ["run", m, "-c", "reference", "-o", d, "--shape", "x=2xqx3"], ["2xqx3"]), ["2xqx3"]),
]
table("c9_", C9, lambda row: (f"Feeds {row[1]}; expect_error(words={row[3]}).", row[2]))


@case
def c9_out_empty(d):
    """Feeds `run MODEL -c reference -o ''` in an empty working folder; expect_error(words=['out'])
    and the working folder stays empty."""
    cwd = os.path.join(d, "cwd")
    os.mkdir(cwd)
    m = save(tiny(), d)

    def post(o):
        left = os.listdir(cwd)
        return [f"wrote into the working folder: {left}"] if left else []
    return Run(["run", m, "-c", "reference", "-o", ""], expect_error(["out"]), cwd=cwd, post=post)


@case
def c9_python_inputs_list(d):
    """xpusim.run(model, 'reference', inputs=[1, 2]); expect_python(TypeError, XpusimError), not
    AttributeError."""
    m = save(tiny(), d)
    body = "expect(lambda: xpusim.run(sys.argv[1], 'reference', inputs=[1, 2]), TypeError, xpusim.XpusimError)\n"
    return Run(py_script(d, body, m), expect_python("TypeError", "XpusimError"), python=True)


@case
def c9_python_inputs_string(d):
    """xpusim.run(model, 'reference', inputs='x'); expect_python(TypeError, XpusimError)."""
    m = save(tiny(), d)
    body = "expect(lambda: xpusim.run(sys.argv[1], 'reference', inputs='x'), TypeError, xpusim.XpusimError)\n"
    return Run(py_script(d, body, m), expect_python("TypeError", "XpusimError"), python=True)


# ---------------------------------------------------------------- c10: invalid ONNX or YAML accepted silently

def _dup_inputs():
    g = helper.make_graph([helper.make_node("Add", ["dup_in", "dup_in"], ["y"], name="add")], "g",
                          [vi("dup_in", F, [2, 3]), vi("dup_in", F, [2, 3])], [vi("y", F, [2, 3])])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def _undefined_elem():
    return model([helper.make_node("Relu", ["undef_in"], ["y"], name="relu")], [("undef_in", 0, [2, 3])],
                 [("y", F, [2, 3])])


def _no_opset():
    m = tiny()
    del m.opset_import[:]
    return m


C10 = [
    ("duplicate_graph_inputs", "a graph with two inputs both named 'dup_in'", _dup_inputs, ["dup_in"]),
    ("input_elem_type_undefined", "an input 'undef_in' with elem_type 0 (UNDEFINED)", _undefined_elem,
     ["undef_in"]),
    ("globalaveragepool_rank2", "GlobalAveragePool on a rank-2 (2x3) tensor",
     lambda: model([helper.make_node("GlobalAveragePool", ["x"], ["y"], name="gap")], [("x", F, [2, 3])],
                   [("y", F, None)]), ["gap"]),
    ("convtranspose_output_padding_ge_stride", "ConvTranspose with strides 2 and output_padding 2",
     lambda: model([helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="convt", strides=[2, 2],
                                     output_padding=[2, 2])], [("x", F, [1, 1, 4, 4])], [("y", F, None)],
                   [init("w", np.ones((1, 1, 3, 3)))]), ["convt", "output_padding"]),
    ("duplicate_node_outputs", "two Relu nodes that both write 'dup_out'",
     lambda: model([helper.make_node("Relu", ["x"], ["dup_out"], name="r1"),
                    helper.make_node("Relu", ["x"], ["dup_out"], name="r2"),
                    helper.make_node("Identity", ["dup_out"], ["y"], name="id")], [("x", F, [2, 3])],
                   [("y", F, [2, 3])]), ["dup_out"]),
    ("duplicate_initializers", "two initializers both named 'dup_init' with different values",
     lambda: model([helper.make_node("Add", ["x", "dup_init"], ["y"], name="add")], [("x", F, [2, 3])],
                   [("y", F, [2, 3])], [init("dup_init", np.ones((2, 3))), init("dup_init", np.zeros((2, 3)))]),
     ["dup_init"]),
    ("output_not_produced", "a graph output 'ghost' that no node produces",
     lambda: model([helper.make_node("Relu", ["x"], ["y"], name="relu")], [("x", F, [2, 3])],
                   [("y", F, [2, 3]), ("ghost", F, [2, 3])]), ["ghost"]),
    ("node_input_undefined", "Add(x, 'phantom') where nothing defines 'phantom'",
     lambda: model([helper.make_node("Add", ["x", "phantom"], ["y"], name="add")], [("x", F, [2, 3])],
                   [("y", F, [2, 3])]), ["phantom"]),
    ("no_opset_import", "a model with no opset_import", _no_opset, ["opset"]),
    ("softmax_axis_float", "Softmax with axis given as a float attribute (1.5)",
     lambda: model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1.5)], [("x", F, [2, 3])],
                   [("y", F, [2, 3])]), ["sm", "axis"]),
    ("transpose_perm_repeated", "Transpose with perm [0, 0]",
     lambda: model([helper.make_node("Transpose", ["x"], ["y"], name="tr", perm=[0, 0])], [("x", F, [2, 3])],
                   [("y", F, None)]), ["tr", "perm"]),
    ("maxpool_kernel_rank_mismatch", "MaxPool with kernel_shape [2] on a 4-D input",
     lambda: model([helper.make_node("MaxPool", ["x"], ["y"], name="mp", kernel_shape=[2])],
                   [("x", F, [1, 1, 4, 4])], [("y", F, None)]), ["mp", "kernel_shape"]),
]
table("c10_", C10, lambda row: (f"Feeds {row[1]}; expect_error(words={row[3]}).",
                                 lambda d: Run(ref(row[2](), d), expect_error(row[3]))))

C10_YAML = [
    ("yaml_second_document", "target: reference\n---\ntarget: tpu_v1\n", ["bad.yaml"]),
    ("yaml_duplicate_key", "target: reference\nhost:\n  threads: 1\nhost:\n  threads: 2\n", ["bad.yaml", "host"]),
    ("yaml_duplicate_nested_key", "target: reference\nhost:\n  threads: 1\n  threads: 2\n",
     ["bad.yaml", "threads"]),
]
table("c10_", C10_YAML, lambda row: (f"Feeds the config file {row[1]!r}; expect_error(words={row[2]}).",
                                      yaml_run(row[1], row[2])))


def _ordered():
    """Cases by class (c1 ... c10), in the order they were written within a class."""
    def key(name):
        return int(re.match(r"c(\d+)_", name).group(1))
    return {n: CASES[n] for n in sorted(CASES, key=key)}


if __name__ == "__main__":
    def verdict(name):
        result = run_case(name)
        return result if result == _harness.SKIP else result == 0
    sys.exit(_harness.main({name: (lambda n=name: verdict(n)) for name in _ordered()}))
