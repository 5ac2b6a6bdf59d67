"""Builds `_xpusim` with the project's CMake (Ninja, Release) for `pip install`.

The extension and libxpusim.so go side by side into the package (the extension's rpath is
$ORIGIN), and configs/ goes in as xpusim/configs, which the package adds to XPUSIM_CONFIG_PATH.
Build files go to build-pip/ so the developer build in build/ is left alone; every install
starts that folder afresh, since objects left from an older checkout can link into a library
that corrupts memory. XPUSIM_JOBS sets the build's parallelism (default 2).
"""
import glob
import os
import shutil
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.command.build_py import build_py

ROOT = os.path.dirname(os.path.abspath(__file__))


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        target = os.path.abspath(self.get_ext_fullpath(ext.name))
        package_dir = os.path.dirname(target)
        build_dir = os.path.join(ROOT, "build-pip", "cmake")
        shutil.rmtree(build_dir, ignore_errors=True)
        subprocess.check_call([
            "cmake", "-S", ROOT, "-B", build_dir, "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
            "-DPython_EXECUTABLE=" + sys.executable, "-DXPUSIM_BUILD_PYTHON=ON",
            "-DXPUSIM_BUILD_TESTS=OFF", "-DXPUSIM_BUILD_BENCH=OFF",
            # The installed module finds libxpusim.so beside itself, not in this build folder.
            "-DCMAKE_BUILD_WITH_INSTALL_RPATH=ON"])
        subprocess.check_call(["cmake", "--build", build_dir, "--target", "_xpusim", "-j",
                               os.environ.get("XPUSIM_JOBS", "2")])
        os.makedirs(package_dir, exist_ok=True)
        built = glob.glob(os.path.join(build_dir, "python", "xpusim", "_xpusim*.so"))
        if len(built) != 1:
            raise RuntimeError("expected one _xpusim module in {}, found {}".format(build_dir, built))
        shutil.copy2(built[0], target)
        shutil.copy2(os.path.join(build_dir, "libxpusim.so"), os.path.join(package_dir, "libxpusim.so"))


class BuildPyWithConfigs(build_py):
    def run(self):
        super().run()
        dest = os.path.join(self.build_lib, "xpusim", "configs")
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(os.path.join(ROOT, "configs"), dest,
                        ignore=shutil.ignore_patterns("sweeps"))


setup(
    ext_modules=[CMakeExtension("xpusim._xpusim")],
    cmdclass={"build_ext": CMakeBuild, "build_py": BuildPyWithConfigs},
    options={"build": {"build_base": "build-pip"}, "egg_info": {"egg_base": "build-pip"}},
)
