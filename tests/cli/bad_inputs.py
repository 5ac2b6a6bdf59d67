#!/usr/bin/env python3
"""Bad input is part of the contract: each case below must make `xpusim` exit with code 2 and
print exactly one line on stderr that says what was wrong and where, within a time and memory
limit (no crash, no hang, no allocation the file cannot justify).

    bad_inputs.py CASE     run one case (ctest runs each as its own test; see _harness.py)
    bad_inputs.py --list   print the case names
"""
import os
import random
import subprocess
import sys
import tempfile

import numpy as np

import _harness
import onnx
from onnx import TensorProto, helper, numpy_helper

MEMORY_LIMIT = 4 << 30  # bytes of address space: a 2^40-element tensor must never be allocated
TIME_LIMIT = _harness.sanitized(60)


def tiny_model(nodes=None, inputs=None, outputs=None, inits=None, value_info=None):
    nodes = nodes or [helper.make_node("Relu", ["x"], ["y"], name="relu")]
    inputs = inputs or [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])]
    outputs = outputs or [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])]
    g = helper.make_graph(nodes, "g", inputs, outputs, inits or [], value_info=value_info or [])
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])


def save(model, d, name="model.onnx"):
    path = os.path.join(d, name)
    with open(path, "wb") as f:
        f.write(model.SerializeToString())
    return path


def write_yaml(d, text):
    path = os.path.join(d, "bad.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


# Each case: (setup(tmpdir) -> argv after "xpusim", words the message must contain).
def case_model_missing(d):
    return ["run", os.path.join(d, "nope.onnx"), "-c", "reference", "-o", d], ["nope.onnx", "does not exist"]


def case_model_empty(d):
    p = os.path.join(d, "empty.onnx")
    open(p, "wb").close()
    return ["run", p, "-c", "reference", "-o", d], ["empty.onnx", "empty"]


def case_model_random_bytes(d):
    p = os.path.join(d, "random.onnx")
    with open(p, "wb") as f:
        f.write(random.Random(7).randbytes(4096))
    return ["run", p, "-c", "reference", "-o", d], ["random.onnx"]


def case_model_truncated(d):
    w = numpy_helper.from_array(np.ones((64, 64), np.float32), "w")
    m = tiny_model(nodes=[helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                   inputs=[helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 64])],
                   outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 64])], inits=[w])
    data = m.SerializeToString()
    p = os.path.join(d, "truncated.onnx")
    with open(p, "wb") as f:
        f.write(data[: len(data) // 2])
    return ["run", p, "-c", "reference", "-o", d], ["truncated.onnx"]


def case_external_data_outside(d):
    sub = os.path.join(d, "model")
    os.makedirs(sub)
    with open(os.path.join(d, "secret.bin"), "wb") as f:
        f.write(b"\0" * 24)
    w = TensorProto()
    w.name, w.data_type = "w", TensorProto.FLOAT
    w.dims.extend([2, 3])
    w.data_location = TensorProto.EXTERNAL
    for k, v in [("location", "../secret.bin"), ("offset", "0"), ("length", "24")]:
        e = w.external_data.add()
        e.key, e.value = k, v
    m = tiny_model(nodes=[helper.make_node("Add", ["x", "w"], ["y"], name="add")], inits=[w])
    return ["run", save(m, sub), "-c", "reference", "-o", d], ["'w'", "../secret.bin", "leaves the model's folder"]


def case_unknown_op(d):
    m = tiny_model(nodes=[helper.make_node("FrobnicateTensor", ["x"], ["y"], name="frob")])
    return ["run", save(m, d), "-c", "reference", "-o", d], ["frob", "FrobnicateTensor", "not supported"]


def case_huge_initializer(d):
    w = TensorProto()
    w.name = "huge"
    w.data_type = TensorProto.FLOAT
    w.dims.extend([1 << 20, 1 << 20])  # 2^40 elements, 4 TiB
    w.raw_data = b"\0" * 16
    m = tiny_model(nodes=[helper.make_node("Add", ["x", "huge"], ["y"], name="add")], inits=[w])
    return ["run", save(m, d), "-c", "reference", "-o", d], ["huge", "1048576x1048576"]


def case_cyclic_graph(d):
    nodes = [helper.make_node("Relu", ["x", ], ["a"], name="first"),
             helper.make_node("Add", ["a", "c"], ["b"], name="loop_add"),
             helper.make_node("Relu", ["b"], ["c"], name="loop_relu"),
             helper.make_node("Identity", ["c"], ["y"], name="out")]
    m = tiny_model(nodes=nodes)
    return ["run", save(m, d), "-c", "reference", "-o", d], ["cycle", "loop_"]


def case_inconsistent_shapes(d):
    # Adding a 2x3 and a 4x5 tensor cannot broadcast.
    b = numpy_helper.from_array(np.ones((4, 5), np.float32), "b")
    m = tiny_model(nodes=[helper.make_node("Add", ["x", "b"], ["y"], name="bad_add")], inits=[b])
    return ["run", save(m, d), "-c", "reference", "-o", d], ["bad_add", "2x3", "4x5"]


def case_declared_shape_contradiction(d):
    m = tiny_model(outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, [7, 7])])
    return ["run", save(m, d), "-c", "reference", "-o", d], ["'y'", "7x7", "2x3"]


def case_input_wrong_shape(d):
    x = os.path.join(d, "x.npy")
    np.save(x, np.ones((3, 3), np.float32))
    return ["run", save(tiny_model(), d), "-c", "reference", "--input", "x=" + x, "-o", d], ["'x'", "2x3", "3x3"]


def case_input_wrong_dtype(d):
    x = os.path.join(d, "x.npy")
    np.save(x, np.ones((2, 3), np.int32))
    return ["run", save(tiny_model(), d), "-c", "reference", "--input", "x=" + x, "-o", d], ["'x'", "float32", "int32"]


def dynamic_shape_case(preset, target):
    """A shape only known at run time (NonZero's output) cannot be sized by a target: exit 2,
    naming the node that meets it."""
    def setup(d):
        nodes = [helper.make_node("NonZero", ["x"], ["nz"], name="nonzero"),
                 helper.make_node("Cast", ["nz"], ["f"], name="cast", to=TensorProto.FLOAT),
                 helper.make_node("Relu", ["f"], ["y"], name="relu")]
        m = tiny_model(nodes, outputs=[helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
        return ["run", save(m, d), "-c", preset, "-o", d], [target + ":", "node 'nonzero'", "run time"]
    return setup


def yaml_case(text, words):
    def setup(d):
        return ["run", save(tiny_model(), d), "-c", write_yaml(d, text), "-o", d], ["bad.yaml"] + words
    return setup


CASES = {
    "model_missing": case_model_missing,
    "model_empty": case_model_empty,
    "model_random_bytes": case_model_random_bytes,
    "model_truncated": case_model_truncated,
    "external_data_outside_folder": case_external_data_outside,
    "unknown_op": case_unknown_op,
    "huge_initializer": case_huge_initializer,
    "cyclic_graph": case_cyclic_graph,
    "inconsistent_shapes": case_inconsistent_shapes,
    "declared_shape_contradiction": case_declared_shape_contradiction,
    "input_wrong_shape": case_input_wrong_shape,
    "input_wrong_dtype": case_input_wrong_dtype,
    "dynamic_shape_tpu": dynamic_shape_case("tpu_v1", "tpu"),
    "dynamic_shape_npu": dynamic_shape_case("nvdla_full", "npu"),
    "yaml_unknown_key": yaml_case("target: reference\nhost:\n  thraeds: 2\n", [":3", "host.thraeds", "host.threads"]),
    "yaml_wrong_type": yaml_case("target: reference\nhost:\n  threads: many\n", [":3", "host.threads", "many"]),
    "yaml_negative_size": yaml_case("target: reference\nhost:\n  threads: -4\n", [":3", "host.threads", "-4"]),
    "yaml_unknown_preset": yaml_case("preset: refrence\n", ["refrence", "reference"]),
    "yaml_broken_syntax": yaml_case("target: reference\nhost: [threads: 2\n", ["bad.yaml:"]),
}


def run_case(xpusim, name):
    preexec, env = _harness.child_limits(MEMORY_LIMIT)
    with tempfile.TemporaryDirectory() as d:
        argv, words = CASES[name](d)
        p = subprocess.run([xpusim] + argv, capture_output=True, text=True, timeout=TIME_LIMIT,
                           preexec_fn=preexec, env=env)
        lines = p.stderr.strip().splitlines()
        problems = []
        if p.returncode != 2:
            problems.append(f"exit code {p.returncode}, expected 2")
        if len(lines) != 1:
            problems.append(f"{len(lines)} stderr lines, expected 1")
        for w in words:
            if w not in p.stderr:
                problems.append(f"message lacks {w!r}")
        print(f"{name}: exit {p.returncode}: {p.stderr.strip()}")
        if problems:
            print("FAILED: " + "; ".join(problems))
            return 1
        return 0


if __name__ == "__main__":
    sys.exit(_harness.main({name: (lambda n=name: run_case(_harness.xpusim(), n) == 0) for name in CASES}))
