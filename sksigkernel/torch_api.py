"""Torch autograd for signature kernels (pysiglib's module name).

``sig_kernel`` and ``sig_kernel_gram`` here take and return tensors and are differentiable
with respect to both arguments; their backward pass is
:func:`sksigkernel.sig_kernel_backprop` / :func:`sksigkernel.sig_kernel_gram_backprop`,
which recompute the PDE grids block by block instead of keeping them. Under
``torch.no_grad()`` a call costs what the numpy forward costs.

Examples
--------
>>> import torch
>>> from sksigkernel.torch_api import sig_kernel_gram
>>> X = (torch.randn(4, 10, 2, dtype=torch.float64) / 5).requires_grad_()
>>> Y = torch.randn(3, 12, 2, dtype=torch.float64) / 5
>>> sig_kernel_gram(X, Y, dyadic_order=1).sum().backward()
>>> X.grad.shape
torch.Size([4, 10, 2])
"""
import torch

from . import functional

__all__ = ["sig_kernel", "sig_kernel_gram"]


def _flatten(path):
    """A tensor or a list of tensors -> (spec, tensors); spec is None for one tensor."""
    if isinstance(path, (list, tuple)):
        return len(path), list(path)
    return None, [path]


def _unflatten(spec, tensors):
    return tensors[0] if spec is None else list(tensors)


class _SigKernel(torch.autograd.Function):
    """Autograd function; ``opts`` = (gram?, keyword options of the functional API)."""

    @staticmethod
    def forward(ctx, opts, spec1, spec2, *tensors):
        gram, kw = opts
        n1 = 1 if spec1 is None else spec1
        path1 = _unflatten(spec1, tensors[:n1])
        path2 = path1 if spec2 == "same" else _unflatten(spec2, tensors[n1:])
        ctx.opts, ctx.specs, ctx.n1 = opts, (spec1, spec2), n1
        ctx.save_for_backward(*tensors)
        fn = functional.sig_kernel_gram if gram else functional.sig_kernel
        return fn(path1, path2, **kw)

    @staticmethod
    def backward(ctx, grad):
        (gram, kw), (spec1, spec2), n1 = ctx.opts, ctx.specs, ctx.n1
        tensors = ctx.saved_tensors
        path1 = _unflatten(spec1, tensors[:n1])
        same = spec2 == "same"
        path2 = path1 if same else _unflatten(spec2, tensors[n1:])
        needs = ctx.needs_input_grad[3:]
        left = any(needs[:n1])
        right = same and left or any(needs[n1:])
        kw = dict(kw)
        dyadic_order = kw.pop("dyadic_order")
        d1, d2 = functional.sig_kernel_gram_backprop(
            grad, path1, path2, dyadic_order, left_deriv=left, right_deriv=right, **kw) if gram \
            else functional.sig_kernel_backprop(
                grad, path1, path2, dyadic_order, left_deriv=left, right_deriv=right, **kw)
        if same:
            d1 = [a + b for a, b in zip(d1, d2)] if isinstance(d1, list) else d1 + d2
            grads = _flatten(d1)[1]
        else:
            grads = ([None] * n1 if d1 is None else _flatten(d1)[1]) + \
                    ([None] * (len(tensors) - n1) if d2 is None else _flatten(d2)[1])
        return (None, None, None) + tuple(grads)


def _apply(gram, path1, path2, kw):
    spec1, t1 = _flatten(path1)
    if path2 is path1:
        spec2, t2 = "same", []
    else:
        spec2, t2 = _flatten(path2)
    return _SigKernel.apply((gram, kw), spec1, spec2, *t1, *t2)


def _options(dyadic_order, method, order, tolerance, static_kernel, time_aug, lead_lag,
             end_time, n_jobs, max_batch, return_grid=False, normalize=False):
    if normalize and return_grid:
        raise ValueError("normalize=True cannot be combined with return_grid=True")
    return dict(dyadic_order=dyadic_order, method=method, order=order, tolerance=tolerance,
                static_kernel=static_kernel, time_aug=time_aug,
                lead_lag=lead_lag, end_time=end_time, n_jobs=n_jobs, max_batch=max_batch,
                return_grid=return_grid)


def sig_kernel(path1, path2, dyadic_order, *, method="finite_difference", order=None,
               tolerance=None, static_kernel=None, time_aug=False, lead_lag=False, end_time=1.0,
               n_jobs=-1, max_batch=-1, return_grid=False, normalize=False):
    """Differentiable :func:`sksigkernel.sig_kernel` (paired paths); tensors in and out.

    ``normalize=True`` divides by ``sqrt(k(x, x) k(y, y))``, differentiated as a whole.
    ``return_grid=True`` returns each pair's fine PDE grid, differentiable at every node.
    """
    kw = _options(dyadic_order, method, order, tolerance, static_kernel, time_aug, lead_lag,
                  end_time, n_jobs, max_batch, return_grid, normalize)
    k = _apply(False, path1, path2, kw)
    if normalize:
        kx = _apply(False, path1, path1, kw)
        ky = kx if path2 is path1 else _apply(False, path2, path2, kw)
        k = k / torch.sqrt(kx * ky)
    return k


def sig_kernel_gram(path1, path2, dyadic_order, *, method="finite_difference", order=None,
                    tolerance=None, static_kernel=None, time_aug=False, lead_lag=False,
                    end_time=1.0, n_jobs=-1, max_batch=-1, return_grid=False, normalize=False):
    """Differentiable :func:`sksigkernel.sig_kernel_gram`; tensors in and out.

    ``path2=None`` (or the same tensor) is the symmetric gram of ``path1``, differentiated
    through both of its arguments. ``return_grid=True`` returns every pair's fine PDE grid,
    differentiable at every node.
    """
    if path2 is None:
        path2 = path1
    kw = _options(dyadic_order, method, order, tolerance, static_kernel, time_aug, lead_lag,
                  end_time, n_jobs, max_batch, return_grid, normalize)
    K = _apply(True, path1, path2, kw)
    if normalize:
        kx = _apply(False, path1, path1, kw)
        ky = kx if path2 is path1 else _apply(False, path2, path2, kw)
        K = K / torch.sqrt(kx.reshape(kx.shape + (1,) * ky.dim()) * ky)
    return K
