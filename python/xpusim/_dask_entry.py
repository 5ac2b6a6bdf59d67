"""The function a Dask worker runs for one point. Sent to workers by value (cloudpickle's
register_pickle_by_value), so a worker that cannot import xpusim yet (a `dask-worker` started
without PYTHONPATH, or one a nanny restarted) first puts the package's folder on sys.path."""


def run_point_at(package_parent, task):
    import sys
    if package_parent and package_parent not in sys.path:
        sys.path.insert(0, package_parent)
    from xpusim._worker import run_point
    return run_point(task)
