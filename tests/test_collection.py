"""Collections of series: 3-D, NaN-padded, ragged lists, 2-D tables, channels-first."""
import numpy as np
import pytest

from sksigkernel import SigKernel, as_path_collection, from_channels_first, sig_kernel_gram
from sksigkernel.preprocessing import ChannelScaler
from sksigkernel._input import Paths
from sksigkernel.collection import to_paths


def test_3d_passes_through(rng):
    X = rng.normal(size=(4, 6, 3))
    out = as_path_collection(X)
    assert isinstance(out, np.ndarray) and out.shape == (4, 6, 3)
    np.testing.assert_array_equal(out, X)


def test_2d_table_is_points_one_after_another(rng):
    X = rng.normal(size=(4, 6, 3))
    out = as_path_collection(X.reshape(4, 18), n_channels=3)
    np.testing.assert_array_equal(out, X)
    np.testing.assert_array_equal(as_path_collection(X[:, :, 0]), X[:, :, :1])


def test_nan_padded_becomes_ragged(rng):
    X = rng.normal(size=(3, 7, 2))
    padded = X.copy()
    padded[1, 4:] = np.nan
    padded[2, 6:] = np.nan
    out = as_path_collection(padded)
    assert [len(x) for x in out] == [7, 4, 6]
    for x, full, L in zip(out, X, [7, 4, 6]):
        np.testing.assert_array_equal(x, full[:L])


def test_nan_padded_ragged_and_list_give_one_kernel(rng):
    lengths = [9, 5, 7]
    paths = [rng.normal(size=(L, 2)).cumsum(axis=0) / 4 for L in lengths]
    padded = np.full((3, 9, 2), np.nan)
    for row, p in zip(padded, paths):
        row[:len(p)] = p
    expected = np.array([[float(sig_kernel_gram(a, b, 1)) for b in paths] for a in paths])
    kernel = SigKernel(n_jobs=1, cache=False)
    np.testing.assert_allclose(kernel(padded), expected, rtol=1e-12)
    np.testing.assert_allclose(kernel(paths), expected, rtol=1e-12)


def _ragged(rng, lengths, channels=2):
    return [rng.normal(size=(L, channels)) for L in lengths]


def _padded(paths, value=np.nan):
    out = np.full((len(paths), max(map(len, paths)), paths[0].shape[1]), value)
    for row, p in zip(out, paths):
        row[:len(p)] = p
    return out


def _assert_paths_are(batch, paths):
    """``batch`` holds exactly ``paths``, each padded by repeating its last point."""
    assert isinstance(batch, Paths) and len(batch) == len(paths)
    assert batch.data.flags.c_contiguous
    for i, p in enumerate(paths):
        np.testing.assert_array_equal(batch.series(i), p)
        np.testing.assert_array_equal(batch.data[i, len(p):],
                                      np.broadcast_to(p[-1], batch.data[i, len(p):].shape))


def test_nan_padded_and_list_are_one_batch(rng):
    # one input path: both forms become the same engine batch, padded by the last point
    paths = _ragged(rng, [9, 5, 7, 9, 1])
    from_list, from_padded = to_paths(paths), to_paths(_padded(paths))
    _assert_paths_are(from_list, paths)
    _assert_paths_are(from_padded, paths)
    np.testing.assert_array_equal(from_list.data, from_padded.data)
    np.testing.assert_array_equal(from_list.lengths, from_padded.lengths)


def test_take_and_concatenate_are_those_of_the_lists(rng):
    paths = _ragged(rng, [9, 5, 7, 3, 6])
    batch = to_paths(paths)
    for idx in ([1, 3], [4, 0, 0], slice(1, 4), np.array([2])):
        chosen = [paths[i] for i in np.arange(5)[idx]]
        _assert_paths_are(batch.take(idx), chosen)
        assert batch.take(idx).data.shape[1] == max(map(len, chosen))   # padding trimmed
    same = rng.normal(size=(3, 4, 2))
    pooled = Paths.concatenate([to_paths(same), batch, to_paths(same.astype(np.float32))])
    assert pooled.data.dtype == np.float64
    _assert_paths_are(pooled, [*same, *paths, *same.astype(np.float32).astype(np.float64)])
    equal = Paths.concatenate([to_paths(same), to_paths(same)])
    assert equal.lengths is None
    np.testing.assert_array_equal(equal.data, np.concatenate([same, same]))


def test_channel_scaler_learns_from_the_series_not_the_padding(rng):
    paths = _ragged(rng, [30, 2, 3])
    paths[0] += 5
    scaler = ChannelScaler().fit(paths)
    points = np.concatenate(paths)
    np.testing.assert_allclose(scaler.scaler_.mean_, points.mean(axis=0), rtol=1e-12)
    out = scaler.transform(_padded(paths))
    assert [len(x) for x in out] == [30, 2, 3]
    for x, p in zip(out, paths):
        np.testing.assert_allclose(x, (p - points.mean(axis=0)) / points.std(axis=0),
                                   rtol=1e-12)


def test_torch_and_integers(rng):
    torch = pytest.importorskip("torch")
    X = rng.normal(size=(2, 5, 3))
    np.testing.assert_array_equal(as_path_collection(torch.from_numpy(X)), X)
    assert as_path_collection(np.ones((2, 4), dtype=np.int64)).dtype == np.float64


def test_from_channels_first(rng):
    X = rng.normal(size=(5, 3, 40))
    out = from_channels_first(X)
    assert out.shape == (5, 40, 3)
    np.testing.assert_array_equal(out[2, 7], X[2, :, 7])
    ragged = from_channels_first([X[0, :, :10], X[1]])
    assert [x.shape for x in ragged] == [(10, 3), (40, 3)]
    with pytest.raises(ValueError, match="X must have shape"):
        from_channels_first(X[0])


@pytest.mark.parametrize("bad, match", [
    (np.array([[[0.], [np.nan], [1.]]]), "NaN values that are not trailing"),
    (np.array([[[0.], [np.inf], [1.]]]), "infinite"),
    (np.full((1, 3, 1), np.nan), "all NaN"),
    (np.zeros((2, 5)), "not a multiple of n_channels=2"),
    (np.zeros((2, 3, 4, 1)), "4 dimension"),
    (np.zeros((0, 3, 1)), "no series"),
    ([np.zeros((3, 2)), np.zeros((4, 3))], "different numbers of channels"),
    ([np.zeros((3, 2)), np.zeros((0, 2))], r"X\[1\] has length 0"),
    ([np.zeros((3, 2)), np.array([[0., 1.], [np.nan, 1.]])], r"X\[1\] contains NaN"),
])
def test_bad_collections(bad, match):
    n_channels = 2 if match.startswith("not a multiple") else 1
    with pytest.raises(ValueError, match=match):
        as_path_collection(bad, n_channels=n_channels)


@pytest.mark.parametrize("bad", [np.array([["a", "b"]]), [np.zeros((3, 1)), np.array([["a"]])]])
def test_collections_of_non_numbers_are_the_engines_type_error(bad):
    # the same error, type and words, as the functional API's for the same data
    with pytest.raises(TypeError, match="must hold float32, float64 or integer values"):
        as_path_collection(bad)
