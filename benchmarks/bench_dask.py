"""A gram of dask arrays on a local dask.distributed cluster against the in-process engine.

n Brownian series (L = 50, 3 channels, dyadic order 1, float64), the symmetric gram: once by
the engine in this process (n_jobs=2), once as a lazy dask array computed by a LocalCluster
of 2 worker processes with 1 thread each (the same 2 cores), for a few chunk sizes. Prints
the times and the cluster's overhead as a ratio; the cluster's time counts building the
graph, scheduling, moving the blocks and assembling the result on the client.

    python benchmarks/bench_dask.py [--n 5000] [--chunks 500 1000 2500]
"""
import argparse
import time

import numpy as np


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--chunks", type=int, nargs="+", default=[500, 1000, 2500])
    args = parser.parse_args()

    import dask.array as da
    import distributed
    import sksigkernel as sk

    rng = np.random.default_rng(0)
    X = np.cumsum(rng.normal(size=(args.n, 50, 3)) / np.sqrt(50), axis=1)
    start = time.perf_counter()
    expected = sk.sig_kernel_gram(X, None, 1, n_jobs=2)
    engine = time.perf_counter() - start
    print(f"{args.n} x {args.n} gram, L = 50, 3 channels, dyadic order 1")
    print(f"   in-process engine, n_jobs=2: {engine:8.2f} s")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        threads = client.run(lambda: __import__("os").environ.get("OMP_NUM_THREADS"))
        print(f"   workers' OMP_NUM_THREADS: {sorted(set(threads.values()))}")
        # a running cluster has imported sksigkernel already: warm the workers up first
        sk.sig_kernel_gram(da.from_array(X[:8], chunks=(4, -1, -1)), None, 1).compute()
        for chunk in args.chunks:
            dX = da.from_array(X, chunks=(chunk, -1, -1))
            start = time.perf_counter()
            G = sk.sig_kernel_gram(dX, None, 1).compute()
            took = time.perf_counter() - start
            error = np.abs(G - expected).max() / np.abs(expected).max()
            print(f"   LocalCluster, chunks of {chunk:5d}: {took:8.2f} s   "
                  f"x{took / engine:.2f} the engine   (largest difference {error:.1e})")


if __name__ == "__main__":
    main()
