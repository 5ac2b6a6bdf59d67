"""Sweep rows on disk, one line per finished point: CSV or JSON lines, appended, flushed and
fsync'ed row by row so that a crash loses at most the line being written (a torn last line is
dropped when the file is opened again).

Each line holds the swept values, the metrics, `util` (JSON object {unit: utilization}, so the
columns do not depend on which units a target has) and `point` (the swept values as canonical
JSON: the key a rerun matches). load_results() reads a file back into the DataFrame layout that
sweep() returns.
"""
import csv
import io
import json
import os

from xpusim._worker import FLAGS, METRICS

_FLOAT = {"latency_s", "throughput", "energy_j", "wall_s"}
_INT = {"cycles", "host_ops"}
_BOOL = {"fits", "compatible"}
_FILE_COLUMNS = METRICS + FLAGS + ["util", "point"]


def _kind(path):
    return "jsonl" if path.endswith((".jsonl", ".ndjson", ".json")) else "csv"


def _complete_text(path):
    """The file's text up to its last newline (a torn last line is not a row)."""
    if not os.path.exists(path):
        return ""
    with open(path, "r", encoding="utf-8", newline="") as f:
        text = f.read()
    return text[: text.rfind("\n") + 1]


def _from_csv_value(column, text):
    if text == "":
        return None
    if column in _FLOAT:
        return float(text)
    if column in _INT:
        return int(float(text))
    if column in _BOOL:
        return text == "True"
    if column == "util":
        return json.loads(text)
    return text


def _to_csv_value(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value).replace("\n", " ").replace("\r", " ")


def read_rows(path):
    """[(point dict, row dict)] of every complete line, in file order."""
    path = os.fspath(path)
    text = _complete_text(path)
    out = []
    if _kind(path) == "jsonl":
        for line in text.splitlines():
            try:
                obj = json.loads(line)
                point = json.loads(obj["point"])
            except (ValueError, KeyError, TypeError):
                continue
            row = {c: obj.get(c) for c in METRICS + FLAGS}
            row["util"] = obj.get("util") or {}
            out.append((point, row))
        return out
    for rec in csv.DictReader(io.StringIO(text, newline="")):
        try:
            point = json.loads(rec["point"])
            row = {c: _from_csv_value(c, rec.get(c) or "") for c in METRICS + FLAGS + ["util"]}
        except (ValueError, KeyError, TypeError):
            continue
        row["util"] = row["util"] or {}
        out.append((point, row))
    return out


def load_results(path):
    """A sweep's out file (.csv or .jsonl) as the DataFrame sweep() returns, in file order."""
    import pandas as pd
    pairs = read_rows(path)
    columns = []
    for point, _ in pairs:
        columns.extend(k for k in point if k not in columns)
    records = []
    for point, row in pairs:
        rec = {c: point.get(c) for c in columns}
        rec.update({c: row.get(c) for c in METRICS})
        rec.update({"util." + u: v for u, v in row["util"].items()})
        rec.update({c: row.get(c) for c in FLAGS})
        records.append(rec)
    util_cols = sorted({c for rec in records for c in rec if c.startswith("util.")})
    return pd.DataFrame.from_records(records, columns=columns + METRICS + util_cols + FLAGS)


class RowStore:
    """Appends the rows of one sweep to `path` and reads back the ones already there."""

    def __init__(self, path, swept_columns):
        self.path = os.fspath(path)
        self.kind = _kind(self.path)
        self.columns = list(swept_columns) + [c for c in _FILE_COLUMNS if c not in swept_columns]
        self._file = None

    def load(self):
        """{point key: row} of the rows already in the file."""
        from xpusim.sweep import point_key
        if self.kind == "csv":
            header = _complete_text(self.path).split("\n", 1)[0]
            if header:
                have = next(csv.reader([header]))
                if "point" not in have:
                    raise ValueError("{} is not an xpusim sweep file (no 'point' column)".format(
                        self.path))
                swept_there = [c for c in have if c not in _FILE_COLUMNS]
                swept_here = [c for c in self.columns if c not in _FILE_COLUMNS]
                if sorted(swept_there) != sorted(swept_here):
                    raise ValueError("{} holds a sweep over ({}), this one sweeps ({}): use "
                                     "another out file".format(self.path, ", ".join(swept_there),
                                                               ", ".join(swept_here)))
                self.columns = have
        return {point_key(point): row for point, row in read_rows(self.path)}

    def _open(self):
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        keep = len(_complete_text(self.path).encode("utf-8"))
        if os.path.exists(self.path) and os.path.getsize(self.path) != keep:
            with open(self.path, "r+b") as f:  # drop a torn last line
                f.truncate(keep)
        self._file = open(self.path, "a", encoding="utf-8", newline="")
        if self.kind == "csv" and keep == 0:
            self._write_line(self._csv_line(self.columns))

    @staticmethod
    def _csv_line(values):
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(values)
        return buf.getvalue()

    def _write_line(self, line):
        self._file.write(line)
        self._file.flush()
        os.fsync(self._file.fileno())

    def append(self, point, key, row):
        from xpusim._convert import plain
        if self._file is None:
            self._open()
        record = {k: plain(v) for k, v in point.items()}
        record.update({c: row.get(c) for c in METRICS + FLAGS})
        record["util"] = row.get("util") or {}
        record["point"] = key
        if self.kind == "jsonl":
            self._write_line(json.dumps(record, sort_keys=False) + "\n")
        else:
            self._write_line(self._csv_line([_to_csv_value(record.get(c)) for c in self.columns]))

    def close(self):
        if self._file is not None:
            self._file.close()
            self._file = None
