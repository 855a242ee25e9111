"""Count the kernel entries the engine computes, by wrapping the functional API."""
import contextlib

from sksigkernel import functional


@contextlib.contextmanager
def count_evaluations(monkeypatch):
    """Yields a dict whose "pairs" is the number of kernel values computed so far
    (a symmetric gram counts one triangle, as the engine computes it)."""
    counter = {"pairs": 0, "calls": 0}
    gram, paired = functional.sig_kernel_gram, functional.sig_kernel

    def counted_gram(path1, path2, *args, **kwargs):
        n1 = len(path1)
        counter["pairs"] += n1 * (n1 + 1) // 2 if path2 is None else n1 * len(path2)
        counter["calls"] += 1
        return gram(path1, path2, *args, **kwargs)

    def counted_paired(path1, path2, *args, **kwargs):
        counter["pairs"] += len(path1)
        counter["calls"] += 1
        return paired(path1, path2, *args, **kwargs)

    monkeypatch.setattr(functional, "sig_kernel_gram", counted_gram)
    monkeypatch.setattr(functional, "sig_kernel", counted_paired)
    yield counter
