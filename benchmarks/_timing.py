"""The benchmarks' one way to time a call: the best of ``repeat`` runs."""
import time


def best(fn, repeat=3, warmup=True, sync=None):
    """Seconds of the fastest of ``repeat`` calls of ``fn`` (after one untimed call when
    ``warmup``: thread pools, first-touch memory); ``sync`` (e.g. a GPU's synchronize) runs
    before each start and stop."""
    sync = sync or (lambda: None)
    if warmup:
        fn()
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)
