"""Python values -> the strings the C++ driver takes (`--set` overrides, `--shape` shapes)."""
import numbers


def yaml_scalar(value):
    """A value as YAML flow text the config loader reads back to the same value."""
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return repr(float(value))
    if isinstance(value, (list, tuple)) or hasattr(value, "tolist"):
        items = value.tolist() if hasattr(value, "tolist") else value
        if not isinstance(items, list):
            return yaml_scalar(items)
        return "[" + ", ".join(yaml_scalar(v) for v in items) + "]"
    return str(value)


def override_strings(overrides):
    """A dict {path: value} or a list of "path=value" strings -> ["path=value", ...]."""
    if not overrides:
        return []
    if isinstance(overrides, dict):
        return ["{}={}".format(k, yaml_scalar(v)) for k, v in overrides.items()]
    if isinstance(overrides, str):
        return [overrides]
    return [str(o) for o in overrides]


def shape_lists(shapes):
    """{input: "1x3x32x32" | (1, 3, 32, 32)} -> {input: [1, 3, 32, 32]}."""
    from xpusim._native import native
    out = {}
    for name, shape in (shapes or {}).items():
        out[str(name)] = native.parse_shape(shape) if isinstance(shape, str) else [int(d) for d in shape]
    return out


def plain(value):
    """numpy scalars and arrays -> Python values, so points compare and serialize as JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, tuple):
        return [plain(v) for v in value]
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
