"""Every error of the driver reaches Python as an XpusimError subclass with the message the
command line prints (after its "xpusim: " prefix)."""
import subprocess

import numpy as np
import pytest

import xpusim
from conftest import TARGET


def cases(small_cnn, tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x08\x07this is not a protobuf" * 10)
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("target: reference\nhost:\n  threads: many\n")
    shape = ["--shape", "image=1x3x32x32"]
    shapes = {"image": "1x3x32x32"}
    return {
        # name: (CLI arguments, xpusim.run keyword arguments, Python class)
        "missing_model": (["run", str(tmp_path / "none.onnx"), "-c", TARGET],
                          dict(model=tmp_path / "none.onnx", config=TARGET), xpusim.IoError),
        "garbage_model": (["run", str(garbage), "-c", TARGET],
                          dict(model=garbage, config=TARGET), xpusim.ModelError),
        "unknown_preset": (["run", small_cnn, "-c", "no_such_chip", *shape],
                           dict(model=small_cnn, config="no_such_chip", shapes=shapes),
                           xpusim.ConfigError),
        "unknown_key": (["run", small_cnn, "-c", TARGET, "--set", "host.thread=1", *shape],
                        dict(model=small_cnn, config=TARGET, overrides={"host.thread": 1},
                             shapes=shapes), xpusim.ConfigError),
        "out_of_range": (["run", small_cnn, "-c", TARGET, "--set", "host.threads=100000", *shape],
                         dict(model=small_cnn, config=TARGET, overrides=["host.threads=100000"],
                              shapes=shapes), xpusim.ConfigError),
        "bad_yaml_value": (["run", small_cnn, "-c", str(bad_yaml), *shape],
                           dict(model=small_cnn, config=bad_yaml, shapes=shapes),
                           xpusim.ConfigError),
        "bad_shape": (["run", small_cnn, "-c", TARGET, "--shape", "image=1x3xfoo"],
                      dict(model=small_cnn, config=TARGET, shapes={"image": "1x3xfoo"}),
                      xpusim.ModelError),
        "dynamic_dim_without_shape": (["run", small_cnn, "-c", TARGET],
                                      dict(model=small_cnn, config=TARGET), xpusim.ModelError),
        "unknown_input": (["run", small_cnn, "-c", TARGET, *shape, "--input",
                           "nope=" + str(tmp_path / "x.npy")],
                          dict(model=small_cnn, config=TARGET, shapes=shapes,
                               inputs={"nope": np.zeros((1,), np.float32)}), xpusim.ModelError),
        "wrong_input_shape": (["run", small_cnn, "-c", TARGET, "--shape", "image=1x3x32x32",
                               "--input", "image=" + str(tmp_path / "x.npy")],
                              dict(model=small_cnn, config=TARGET, shapes=shapes,
                                   input_files={"image": tmp_path / "x.npy"}),
                              xpusim.ModelError),
    }


NAMES = ["missing_model", "garbage_model", "unknown_preset", "unknown_key", "out_of_range",
         "bad_yaml_value", "bad_shape", "dynamic_dim_without_shape", "unknown_input",
         "wrong_input_shape"]


@pytest.mark.parametrize("name", NAMES)
def test_same_message_as_cli(name, cli, small_cnn, tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((1,), np.float32))
    args, kwargs, cls = cases(small_cnn, tmp_path)[name]
    done = subprocess.run([cli, *args], capture_output=True, text=True)
    assert done.returncode == 2
    with pytest.raises(cls) as info:
        xpusim.run(**kwargs)
    assert isinstance(info.value, xpusim.XpusimError)
    assert done.stderr == "xpusim: {}\n".format(info.value)


def test_hierarchy():
    for cls in (xpusim.ConfigError, xpusim.ModelError, xpusim.UnsupportedError,
                xpusim.CapacityError, xpusim.IoError):
        assert issubclass(cls, xpusim.XpusimError) and cls.__module__ == "xpusim"
    assert issubclass(xpusim.XpusimError, Exception)


def test_config_errors_in_config_api(cli):
    with pytest.raises(xpusim.ConfigError) as info:
        xpusim.config(TARGET, {"host.thread": 1})
    done = subprocess.run([cli, "config", "show", TARGET, "--set", "host.thread=1"],
                          capture_output=True, text=True)
    assert done.stderr == "xpusim: {}\n".format(info.value)
    with pytest.raises(xpusim.ConfigError) as info:
        xpusim.describe("no_such_target")
    done = subprocess.run([cli, "config", "describe", "no_such_target"],
                          capture_output=True, text=True)
    assert done.stderr == "xpusim: {}\n".format(info.value)


def test_unsupported_numpy_dtype(small_cnn):
    with pytest.raises(xpusim.ModelError, match="complex64"):
        xpusim.run(small_cnn, TARGET, inputs={"image": np.zeros((1, 3, 32, 32), np.complex64)})
