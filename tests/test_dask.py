"""Dask arrays on a real dask.distributed LocalCluster (2 worker processes, 1 thread each):
lazy grams, paired kernels, SigKernel, Nyström features and the MMD equal the in-process
engine; a worker killed mid-gram changes nothing; ragged chunks split unevenly; float32."""
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import sksigkernel as sk
from helpers import brownian

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")
distributed = pytest.importorskip("distributed")


@pytest.fixture(scope="module")
def client():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        yield client


def ragged(rng, n, length=12, channels=2):
    """NaN-padded walks of 2 to ``length`` points."""
    X = brownian(rng, n, length, channels)
    for i, k in enumerate(rng.integers(2, length + 1, size=n)):
        X[i, k:] = np.nan
    return X


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12 * np.abs(b).max())


@pytest.mark.parametrize("normalize", [False, True])
def test_grams_equal_the_engine(client, rng, normalize):
    X, Y = brownian(rng, 23, 10, 3), brownian(rng, 17, 8, 3)
    dX = da.from_array(X, chunks=(6, -1, -1))
    dY = da.from_array(Y, chunks=(5, -1, -1))
    G = sk.sig_kernel_gram(dX, dY, 1, normalize=normalize)
    assert isinstance(G, da.Array) and G.chunks == ((6, 6, 6, 5), (5, 5, 5, 2))
    close(G.compute(), sk.sig_kernel_gram(X, Y, 1, normalize=normalize))
    close(sk.sig_kernel_gram(dX, None, 1, normalize=normalize).compute(),
          sk.sig_kernel_gram(X, None, 1, normalize=normalize))
    close(sk.sig_kernel(dX[:17], dY, 1, normalize=normalize).compute(),
          sk.sig_kernel(X[:17], Y, 1, normalize=normalize))


def test_a_symmetric_gram_computes_each_block_once(rng):
    X = brownian(rng, 12, 6, 2)
    G = sk.sig_kernel_gram(da.from_array(X, chunks=(3, -1, -1)), None, 1)
    engine_calls = [k for k in dict(G.dask) if "_gram_block" in str(k)]
    assert len(engine_calls) == 4 * 5 // 2            # 4 chunks: the blocks i <= j
    with dask.config.set(scheduler="synchronous"):
        np.testing.assert_array_equal(G.compute(), G.compute().T)


def test_ragged_chunks_split_unevenly_and_float32(client, rng):
    X = ragged(rng, 25)
    dX = da.from_array(X, chunks=((3, 7, 1, 14), -1, -1))
    kernel = sk.SigKernel(static_kernel="rbf", sigma=2.0, normalize=True, cache=False)
    close(kernel(dX).compute(), kernel(X))
    X32 = X.astype(np.float32)
    G = sk.sig_kernel_gram(da.from_array(X32, chunks=((3, 7, 1, 14), -1, -1)), None, 2)
    assert G.dtype == np.float32
    series = [x[~np.isnan(x).any(axis=1)] for x in X32]
    # float32 rounds k(x, y) and k(y, x) differently (6e-6 here), and which of the two a
    # symmetric gram computes depends on how it is cut
    np.testing.assert_allclose(G.compute(), sk.sig_kernel_gram(series, None, 2), rtol=2e-5)


def test_nystroem_features_and_mmd(client, rng):
    X, Y = brownian(rng, 30, 9, 2), brownian(rng, 20, 9, 2) * 1.5
    nys = sk.SigKernelNystroem(6, random_state=0).fit(X)
    F = nys.transform(da.from_array(X, chunks=(7, -1, -1)))
    assert isinstance(F, da.Array) and F.shape == (30, 6)
    # the fitted transformer is one key of the graph, not a copy per block
    assert sum("SigKernelNystroem" in str(k) for k in dict(F.dask)) == 1
    close(F.compute(), nys.transform(X))
    mmd = sk.sig_mmd(da.from_array(X, chunks=(8, -1, -1)), da.from_array(Y, chunks=(6, -1, -1)))
    assert isinstance(mmd, da.Array)
    assert float(mmd.compute()) == pytest.approx(sk.sig_mmd(X, Y), rel=1e-12)


def test_nothing_is_computed_until_asked(rng):
    calls = []

    def made(block):
        calls.append(len(block))
        return block
    X = da.from_array(brownian(rng, 10, 6, 2), chunks=(5, -1, -1)).map_blocks(
        made, meta=np.empty((0, 0, 0)))          # (dask would call it on an empty block)
    G = sk.sig_kernel_gram(X, None, 1, normalize=True)
    F = sk.SigKernelNystroem(3, random_state=0).fit(brownian(rng, 10, 6, 2)).transform(X)
    assert calls == []
    with dask.config.set(scheduler="synchronous"):
        G.compute()
        F.compute()
    assert calls


def test_a_killed_worker_changes_nothing(client, rng):
    X = brownian(rng, 400, 30, 3)
    dX = da.from_array(X, chunks=(50, -1, -1))
    expected = sk.sig_kernel_gram(X, None, 2)
    future = client.compute(sk.sig_kernel_gram(dX, None, 2))
    time.sleep(0.5)
    victim = list(client.scheduler_info()["workers"])[0]
    try:
        client.run(os._exit, 1, workers=[victim])
    except Exception:         # the worker died answering: what we asked for
        pass
    close(future.result(timeout=120), expected)


def test_options_are_checked_when_the_graph_is_built(rng):
    dX = da.from_array(brownian(rng, 4, 5, 2), chunks=(2, -1, -1))
    with pytest.raises(ValueError, match="method must be"):
        sk.sig_kernel_gram(dX, None, 1, method="spline")
    with pytest.raises(ValueError, match="return_grid=True is not for dask arrays"):
        sk.sig_kernel_gram(dX, None, 1, return_grid=True)
    with pytest.raises(ValueError, match="3-D dask array"):
        sk.sig_kernel_gram(dX[:, :, 0], None, 1)
    with pytest.raises(ValueError, match="same number of channels"):
        sk.sig_kernel_gram(dX, da.from_array(brownian(rng, 4, 5, 3)), 1)


def test_grid_search_on_the_cluster_through_joblib(client, rng):
    import joblib
    from sklearn.model_selection import GridSearchCV
    X = brownian(rng, 40, 10, 2)
    y = (X[:, -1, 0] > 0).astype(int)
    grid = {"C": [1, 10], "dyadic_order": [0, 1]}
    local = GridSearchCV(sk.SigKernelSVC(), grid, cv=3).fit(X, y)
    with joblib.parallel_config(backend="dask"):
        remote = GridSearchCV(sk.SigKernelSVC(), grid, cv=3, n_jobs=-1).fit(X, y)
    np.testing.assert_array_equal(remote.cv_results_["mean_test_score"],
                                  local.cv_results_["mean_test_score"])


def test_importing_sksigkernel_does_not_import_dask(tmp_path):
    code = "import sys, sksigkernel; print('dask' in sys.modules, 'distributed' in sys.modules)"
    # away from the source tree, whose sksigkernel/ lacks the compiled solver when installed
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tmp_path).stdout
    assert out.split() == ["False", "False"]


def test_a_gram_larger_than_a_workers_memory_goes_to_zarr(rng, tmp_path):
    zarr = pytest.importorskip("zarr")
    # 6000 x 6000 float64: 288 MB, more than a worker may hold (400 MB, 180 MB of which are
    # Python with numpy, scipy, scikit-learn and sksigkernel)
    X = rng.normal(size=(6000, 3, 1)) / 3
    dX = da.from_array(X, chunks=(500, -1, -1))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, memory_limit="400MB",
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        sk.sig_kernel_gram(dX, None, 0).to_zarr(str(tmp_path / "gram.zarr"))
    stored = zarr.open_array(str(tmp_path / "gram.zarr"), mode="r")
    assert stored.shape == (6000, 6000)
    for i, j in [(0, 0), (3, 9), (11, 2)]:
        rows, cols = slice(500 * i, 500 * (i + 1)), slice(500 * j, 500 * (j + 1))
        close(stored[rows, cols], sk.sig_kernel_gram(X[rows], X[cols], 0))


def test_what_would_compute_a_dask_array_whole_refuses_it(rng):
    dX = da.from_array(brownian(rng, 6, 5, 2), chunks=(3, -1, -1))
    with pytest.raises(TypeError, match="X is a dask array"):
        sk.sig_mmd_test(dX, dX)
    with pytest.raises(TypeError, match="dask array"):
        sk.SigKernelSVC().fit(dX, np.arange(6) % 2)


def test_median_bandwidth_is_refused_on_dask_arrays(rng):
    X = da.from_array(rng.normal(size=(4, 5, 2)), chunks=(2, 5, 2))
    with pytest.raises(ValueError, match="sigma='median' is not for dask arrays"):
        sk.SigKernel(static_kernel="rbf", sigma="median")(X)
