"""Every notebook in examples/ runs top to bottom on Debian's python3 kernel."""
import glob
import os

import nbformat
import pytest

from conftest import ROOT

NOTEBOOKS = sorted(glob.glob(os.path.join(ROOT, "examples", "*.ipynb")))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, models, python_env, monkeypatch):
    from nbclient import NotebookClient
    monkeypatch.setenv("PYTHONPATH", python_env["PYTHONPATH"])
    monkeypatch.setenv("XPUSIM_MODELS_DIR", models)
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend, as for users
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": os.path.dirname(path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors


def test_there_is_a_notebook():
    assert NOTEBOOKS
