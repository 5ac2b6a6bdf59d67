#!/usr/bin/env python3
"""Runs `xpusim conformance` over Debian's ONNX backend test data and checks the contract: no
test fails (a missing op is a skip), at least MIN_NODE_PASSED node tests pass, and the run ends
with the "N passed, M failed, K skipped" line.

    conformance_count.py onnx_backend      (see _harness.py; data from XPUSIM_TESTDATA)
"""
import json
import os
import re
import subprocess
import sys
import tempfile

import _harness

MIN_NODE_PASSED = 800


def onnx_backend():
    xpusim, data = _harness.xpusim(), _harness.path("XPUSIM_TESTDATA")
    folders = ["node", "pytorch-converted", "pytorch-operator", "simple"]
    total_failed = 0
    for folder in folders:
        with tempfile.NamedTemporaryFile(suffix=".json") as j:
            p = subprocess.run([xpusim, "conformance", os.path.join(data, folder), "-c", "reference",
                                "--json", j.name], capture_output=True, text=True, timeout=1200)
            last = p.stdout.strip().splitlines()[-1] if p.stdout.strip() else ""
            print(f"{folder}: {last}")
            for line in p.stdout.splitlines():
                if line.startswith("FAIL"):
                    print("  " + line)
            if p.returncode == 2 or not re.fullmatch(r"\d+ passed, \d+ failed, \d+ skipped", last):
                print(f"FAILED: exit {p.returncode}: {p.stderr.strip()}")
                return False
            report = json.load(open(j.name))
            total_failed += report["failed"]
            if folder == "node" and report["passed"] < MIN_NODE_PASSED:
                print(f"FAILED: only {report['passed']} node tests pass, at least {MIN_NODE_PASSED} required")
                return False
    return total_failed == 0


if __name__ == "__main__":
    sys.exit(_harness.main({"onnx_backend": onnx_backend}))
