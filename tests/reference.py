"""Independent references for the tests: plain-numpy PDE solver and truncated signatures."""
import numpy as np


def pde_reference(G, d1=0, d2=0):
    """The discrete scheme of DESIGN.md, cell by cell, for one pair's static differences G."""
    n1, n2 = G.shape
    R, C = n1 << d1, n2 << d2
    K = np.ones((R + 1, C + 1))
    for r in range(R):
        for c in range(C):
            D = G[r >> d1, c >> d2] / 2 ** (d1 + d2)
            A, B = 1 + D / 2 + D * D / 12, 1 - D * D / 12
            K[r + 1, c + 1] = (K[r + 1, c] + K[r, c + 1]) * A - K[r, c] * B
    return K


def pde_reference_exact(G, d1=0, d2=0):
    """pde_reference's kernel in 40-digit decimals, whose range has no practical bound: the
    reference for kernels beyond float64's."""
    from decimal import Decimal, localcontext
    with localcontext() as ctx:
        ctx.prec = 40
        n1, n2 = G.shape
        R, C = n1 << d1, n2 << d2
        K = [[Decimal(1)] * (C + 1) for _ in range(R + 1)]
        for r in range(R):
            for c in range(C):
                D = Decimal(float(G[r >> d1, c >> d2])) / 2 ** (d1 + d2)
                A, B = 1 + D / 2 + D * D / 12, 1 - D * D / 12
                K[r + 1][c + 1] = (K[r + 1][c] + K[r][c + 1]) * A - K[r][c] * B
        return K[R][C]


def static_differences(kappa, x, y):
    """G[i, j] = kappa(x_{i+1}, y_{j+1}) - kappa(x_{i+1}, y_j) - kappa(x_i, y_{j+1}) + kappa(x_i, y_j)."""
    P = kappa(x, y)
    return P[1:, 1:] - P[1:, :-1] - P[:-1, 1:] + P[:-1, :-1]


def _tensor_exp(v, depth):
    levels = [np.ones(())]
    for k in range(1, depth + 1):
        levels.append(np.multiply.outer(levels[-1], v) / k)
    return levels


def truncated_signature(path, depth):
    """Levels 0..depth of the signature of a piecewise-linear path (Chen's identity)."""
    sig = _tensor_exp(np.zeros(path.shape[1]), depth)
    for v in np.diff(path, axis=0):
        seg = _tensor_exp(v, depth)
        sig = [sum(np.multiply.outer(sig[i], seg[k - i]) for i in range(k + 1))
               for k in range(depth + 1)]
    return sig


def truncated_sig_kernel(x, y, depth=12):
    sx, sy = truncated_signature(x, depth), truncated_signature(y, depth)
    return float(sum(np.sum(a * b) for a, b in zip(sx, sy)))
