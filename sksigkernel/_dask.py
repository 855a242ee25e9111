"""Dask arrays in, lazy dask arrays out: grams and paired kernels of series chunked along the
samples, one engine call per pair of chunks, on whatever scheduler computes them (a
dask.distributed cluster, threads, processes). Imported only for dask input: importing
sksigkernel does not import dask."""
import sys

import numpy as np

__all__ = ["is_dask", "gram", "paired", "transform"]


def is_dask(obj):
    """Whether obj is a dask array (without importing dask)."""
    array = sys.modules.get("dask.array")
    return array is not None and isinstance(obj, array.Array)


def _series(X, name):
    """X as (n, length, channels), chunked along the samples only (a numpy array: one
    chunk)."""
    import dask.array as da
    X = da.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"{name} must be a 3-D dask array (n_samples, length, channels), "
                         f"NaN-padded for series of different lengths; got shape {X.shape}")
    if X.dtype.kind not in "fiu":
        raise TypeError(f"{name} must hold numbers, got dtype {X.dtype}")
    return X.rechunk({1: -1, 2: -1})


def _dtype(X, Y):
    dtype = np.result_type(X.dtype, Y.dtype)
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _collection(block, name):
    """A chunk as the functional API takes it (NaN padding removed)."""
    from .collection import to_paths
    return to_paths(block, name=name).collection()


def _gram_block(a, b, kw):
    from .functional import sig_kernel_gram
    return np.asarray(sig_kernel_gram(_collection(a, "X"), _collection(b, "Y"), **kw))


def _diagonal_block(a, kw):
    from .functional import sig_kernel
    paths = _collection(a, "X")
    return np.asarray(sig_kernel(paths, paths, **kw))


def _normalised(K, dx, dy):
    from .functional import _normalise
    return _normalise(K, dx[:, None], dy[None, :])


def gram(X, Y, kw, normalize):
    """The lazy gram of dask arrays X and Y (Y None: X against itself, each block of pairs
    once, its mirror a transpose), keyword arguments ``kw`` of sig_kernel_gram."""
    import dask
    import dask.array as da
    symmetric = Y is None or Y is X
    X = _series(X, "path1")
    Y = X if symmetric else _series(Y, "path2")
    if X.shape[2] != Y.shape[2]:
        raise ValueError(f"path1 and path2 must have the same number of channels, got "
                         f"{X.shape[2]} and {Y.shape[2]}")
    dtype = _dtype(X, Y)
    xs, ys = X.to_delayed().ravel(), Y.to_delayed().ravel()
    block = dask.delayed(_gram_block, pure=True)
    blocks = {}
    for i, a in enumerate(xs):
        for j, b in enumerate(ys):
            blocks[i, j] = dask.delayed(np.transpose)(blocks[j, i]) if symmetric and j < i \
                else block(a, b, kw)
    if normalize:
        if symmetric:
            dx = dy = [dask.delayed(np.diag)(blocks[i, i]) for i in range(len(xs))]
        else:
            diagonal = dask.delayed(_diagonal_block, pure=True)
            dx, dy = [diagonal(a, kw) for a in xs], [diagonal(b, kw) for b in ys]
        blocks = {(i, j): dask.delayed(_normalised)(K, dx[i], dy[j])
                  for (i, j), K in blocks.items()}
    return da.block([[da.from_delayed(blocks[i, j], shape=(X.chunks[0][i], Y.chunks[0][j]),
                                      dtype=dtype) for j in range(len(ys))]
                     for i in range(len(xs))])


def _paired_block(a, b, kw, normalize):
    from .functional import sig_kernel
    x, y = _collection(a, "path1"), _collection(b, "path2")
    k = np.asarray(sig_kernel(x, y, **kw))
    if normalize:
        from .functional import _normalise
        k = _normalise(k, np.asarray(sig_kernel(x, x, **kw)), np.asarray(sig_kernel(y, y, **kw)))
    return k


def paired(X, Y, kw, normalize):
    """The lazy kernels k(X[i], Y[i]) of dask arrays, chunk by chunk."""
    import dask.array as da
    X = _series(X, "path1")
    Y = _series(Y, "path2")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"sig_kernel pairs path1[i] with path2[i]: both must hold as many "
                         f"series, got {X.shape[0]} and {Y.shape[0]}")
    Y = Y.rechunk({0: X.chunks[0]})
    return da.blockwise(_paired_block, "i", X, "ikl", Y, "iml", kw=kw, normalize=normalize,
                        dtype=_dtype(X, Y), concatenate=True)


def _transform_block(block, transformer):
    return transformer.transform(_collection(block, "X"))


def transform(transformer, X):
    """The lazy features of a fitted transformer (SigKernelNystroem) of a dask array, a block
    per chunk; the transformer is one key of the graph, sent to each worker once."""
    import dask
    import dask.array as da
    X = _series(X, "X")
    if X.shape[2] != transformer.n_channels_:
        raise ValueError(f"X has {X.shape[2]} channels, but {type(transformer).__name__} was "
                         f"fitted on series with {transformer.n_channels_} channels")
    fitted = dask.delayed(transformer, pure=True)
    blocks = [da.from_delayed(dask.delayed(_transform_block)(block, fitted),
                              shape=(n, transformer._n_features_out), dtype=np.float64)
              for block, n in zip(X.to_delayed().ravel(), X.chunks[0])]
    return da.concatenate(blocks)
