"""The compiled driver, imported once with an error that says how to build it."""
try:
    from xpusim import _xpusim as native
except ImportError as e:  # pragma: no cover - only without a build
    raise ImportError(
        "xpusim's compiled module is missing or does not load ({}). Build it with "
        "`ninja -C build _xpusim` and put build/python on sys.path, or "
        "`pip install --no-build-isolation .`.".format(e)) from e

XpusimError = native.XpusimError
ConfigError = native.ConfigError
ModelError = native.ModelError
UnsupportedError = native.UnsupportedError
CapacityError = native.CapacityError
IoError = native.IoError
