"""Training losses that optimise what the evaluator measures (PyTorch, ``pip install "iqa-eval[torch]"``).

=====================  =====================================================================
``GCCLoss``            GMC-IQA global-correlation-consistency loss: soft-rank SROCC and PLCC
                       over the batch plus a FIFO queue of earlier batches, times the MSE
``DCQLoss``            Dual-Criterion Quality loss: MSE + relative perception constraint,
                       O(N log N) through exact identities (no N x N matrices)
``PLCCLoss``           ``(1 - PLCC) / 2`` over the batch
``NiNLoss``            norm-in-norm loss (Li et al. 2020), p = 1, q = 2
``MonotonicityLoss``   pairwise hinge on mis-ordered pairs (Li et al. 2020)
=====================  =====================================================================

Every loss is an :class:`torch.nn.Module` with its options in ``__init__`` and
``forward(pred, target)``: ``pred`` and ``target`` of shape ``(N,)`` or ``(N, 1)``, a 0-d
tensor out, differentiable in ``pred``, on any device and in float32 or float64 (the
target is cast to the prediction's dtype and device). Nothing loops over pairs in Python.

NaN or infinite values in ``pred`` or ``target`` raise :class:`~iqa_eval.errors.InputError`
(their gradients would be NaN, and in :class:`GCCLoss` they would enter the queue); so do
finite inputs that overflow the dtype on the way. Drop such items before the loss.

Degenerate batches (one item, constant predictions or labels, ties) give finite losses
and finite gradients: a correlation whose spread is zero is taken as 0 (no evidence of
agreement) and its gradient is zero; each class says what that means for its value.
"""
from __future__ import annotations

try:
    import torch
    from torch import nn
except ImportError as exc:  # pragma: no cover - exercised in a subprocess without torch
    raise ImportError(
        "iqa_eval.training.losses needs PyTorch, which is an optional extra: "
        "pip install \"iqa-eval[torch]\"") from exc

from .._runtime.resources import check_memory
from ..errors import InputError
from ..options import Interval, validate_params

__all__ = ["GCCLoss", "DCQLoss", "PLCCLoss", "NiNLoss", "MonotonicityLoss", "soft_ranks"]


# ---- shared steps ------------------------------------------------------------------------
def _pair(pred, target):
    """Flatten ``(N,)``/``(N, 1)`` inputs; the target follows the prediction's dtype and device."""
    if not isinstance(pred, torch.Tensor):
        raise InputError(f"pred must be a torch.Tensor, got {type(pred).__name__}")
    if not pred.is_floating_point():
        raise InputError(f"pred must be a floating-point tensor, got {pred.dtype}")
    target = torch.as_tensor(target, dtype=pred.dtype, device=pred.device)
    shapes = (tuple(pred.shape), tuple(target.shape))
    for t in (pred, target):
        if not (t.dim() == 1 or (t.dim() == 2 and t.shape[1] == 1)):
            raise InputError(f"pred and target must have shape (N,) or (N, 1); got {shapes[0]} and {shapes[1]}")
    pred, target = pred.reshape(-1), target.reshape(-1)
    if pred.numel() != target.numel():
        raise InputError(f"pred and target differ in length ({pred.numel()} vs {target.numel()})")
    if pred.numel() == 0:
        raise InputError("pred and target are empty")
    _check_finite(pred, "pred")
    _check_finite(target, "target")
    return pred, target.detach()


def _check_finite(x, name):
    """InputError on NaN/inf: a loss cannot learn from them (their gradients are NaN, and a
    NaN in GCC's queue would zero both correlations for the next ``queue_len`` steps)."""
    bad = ~torch.isfinite(x.detach())
    if bool(bad.any()):
        first = int(bad.nonzero()[0, 0])
        raise InputError(f"{name} has {int(bad.sum())} non-finite value(s), first at index {first}; "
                         "a loss cannot learn from NaN or inf: drop or fix those items")


def _finite_loss(loss, pred):
    """``loss``, or InputError when finite inputs overflowed the dtype on the way (e.g. 1e20 in float32)."""
    if not bool(torch.isfinite(loss.detach())):
        raise InputError(f"the loss overflowed {str(pred.dtype).replace('torch.', '')} (largest |pred| "
                         f"{float(pred.detach().abs().max()):.3g}); scale the scores or use float64")
    return loss


def _safe_sqrt(x):
    """``sqrt(x)`` with a zero (not infinite) gradient at ``x = 0``."""
    positive = x > 0
    return torch.where(positive, torch.sqrt(torch.where(positive, x, torch.ones_like(x))),
                       torch.zeros_like(x))


def _safe_divide(num, den):
    """``num / den``, and 0 (with zero gradient) where ``den == 0``."""
    nonzero = den != 0
    return torch.where(nonzero, num / torch.where(nonzero, den, torch.ones_like(den)),
                       torch.zeros_like(num))


def _zscore(x):
    """``(x - mean) / std`` with the N-1 divisor; all zeros when the spread is zero or N = 1."""
    n = x.numel()
    centred = x - x.mean()
    std = _safe_sqrt((centred * centred).sum() / max(n - 1, 1))
    return _safe_divide(centred, std)


def soft_ranks(x):
    """GMC-IQA soft ranks ``R_i = sum_j Phi(z_i - z_j)`` (``j = i`` included), ``z`` = z-scores.

    With distinct, well separated values ``R_i`` approaches ``rank_i - 1/2``. Uses a
    ``(N, N)`` matrix of CDF values: meant for a training pool (batch + queue), not for a
    whole dataset (use :func:`iqa_eval.soft_srocc` there).

    Parameters
    ----------
    x : Tensor of shape (n,)

    Returns
    -------
    Tensor of shape (n,)
        Differentiable in ``x``.

    Examples
    --------
    >>> [round(v, 3) for v in soft_ranks(torch.tensor([6., 7., 8., 9., 15.], dtype=torch.float64)).tolist()]
    [1.378, 1.798, 2.238, 2.672, 4.414]
    """
    _check_finite(x, "x")
    z = _zscore(x)
    return torch.special.ndtr(z[:, None] - z[None, :]).sum(dim=1)


def _pool_correlation(u, v, n_batch, u_mean=None, v_mean=None):
    """Pearson-like coefficient: pool means, sums over the first ``n_batch`` items only.

    ``sum_B (u_i - u_mean)(v_i - v_mean) / (||u_B - u_mean|| ||v_B - v_mean||)``; 0 when either
    norm is zero (a pool of one item, constant values). ``u``/``v`` may hold only the batch
    items when their pool means are given.
    """
    du = u[:n_batch] - (u.mean() if u_mean is None else u_mean)
    dv = v[:n_batch] - (v.mean() if v_mean is None else v_mean)
    den = _safe_sqrt((du * du).sum()) * _safe_sqrt((dv * dv).sum())
    return _safe_divide((du * dv).sum(), den)


def _batch_soft_ranks(pool, n_batch):
    """Soft ranks over the whole pool of its first ``n_batch`` items only: a (B, P) matrix.

    The pool's mean soft rank needs no other row: ``Phi(d) + Phi(-d) = 1`` makes the sum
    over all ordered pairs ``P^2 / 2``, so the mean is exactly ``P / 2`` (and has no gradient).
    """
    z = _zscore(pool)
    return torch.special.ndtr(z[:n_batch, None] - z[None, :]).sum(dim=1)


# ---- GCC -----------------------------------------------------------------------------------
class GCCLoss(nn.Module):
    """GMC-IQA global-correlation-consistency loss, as its authors' code computes it.

    ``loss = (alpha (1 - PLCC) + beta (1 - SROCC) + gamma) * MSE(pred, target)`` where

    * the *pool* is the current batch followed by the queue (predictions and labels of
      earlier batches, stored detached, FIFO, at most ``queue_len`` items);
    * soft ranks are :func:`soft_ranks` over the pool (labels over their own pool), computed
      for the batch rows only: the pool's mean soft rank is exactly ``P / 2``, so a step
      costs O(B * P), not O(P^2);
    * ``PLCC`` and ``SROCC`` are :func:`_pool_correlation` of the raw values and of the soft
      ranks: means over the pool, sums over the batch items only;
    * the MSE is over the batch, on raw scores.

    The queue is updated after each forward pass in training mode (``loss.train()``, the
    default) and left alone in ``loss.eval()`` mode, so validation batches never enter it. It
    lives in registered buffers (``queue_pred``, ``queue_target``, ``queue_count``, stored in
    float64) and so is part of ``state_dict()``: a training run resumed from a checkpoint
    continues exactly. ``reset()`` empties it.

    Degenerate pools: where the reference code divides by zero (a pool of one item, constant
    predictions or labels in the pool, or a batch whose values all equal the pool mean) the
    z-scores are taken as 0 and a correlation with zero spread as 0. The loss is then
    ``(alpha + beta + gamma) * MSE`` when both correlations are undefined, finite, with
    finite gradients (only the MSE factor carries gradient there).

    Parameters
    ----------
    queue_len : int, default 800
        Most items kept from earlier batches (0: batch only). Its memory (16 bytes an item)
        is checked before the queue is allocated (:class:`~iqa_eval._runtime.resources.ResourceError`).
    alpha, beta, gamma : float, default 0.5, 0.5, 1.0
        Weights of ``1 - PLCC``, ``1 - SROCC`` and of the plain MSE.

    Examples
    --------
    >>> loss = GCCLoss()
    >>> pred = torch.tensor([1., 2., 3., 4., 5.], dtype=torch.float64, requires_grad=True)
    >>> round(loss(pred, torch.tensor([6., 7., 8., 9., 15.])).item(), 3)
    43.529
    >>> int(loss.queue_count)
    5
    """

    @validate_params({"queue_len": Interval(0, None, integral=True), "alpha": Interval(0, None),
                      "beta": Interval(0, None), "gamma": Interval(0, None)})
    def __init__(self, queue_len: int = 800, alpha: float = 0.5, beta: float = 0.5, gamma: float = 1.0):
        super().__init__()
        self.queue_len = int(queue_len)
        self.alpha, self.beta, self.gamma = float(alpha), float(beta), float(gamma)
        check_memory(16.0 * self.queue_len, f"a GCCLoss queue of {self.queue_len:,} items",
                     hint="use a shorter queue (queue_len)")  # two float64 buffers
        self.register_buffer("queue_pred", torch.zeros(self.queue_len, dtype=torch.float64))
        self.register_buffer("queue_target", torch.zeros(self.queue_len, dtype=torch.float64))
        self.register_buffer("queue_count", torch.zeros((), dtype=torch.long))

    def extra_repr(self) -> str:
        return f"queue_len={self.queue_len}, alpha={self.alpha}, beta={self.beta}, gamma={self.gamma}"

    def reset(self) -> None:
        """Empty the queue."""
        self.queue_pred.zero_()
        self.queue_target.zero_()
        self.queue_count.zero_()

    def _follow(self, device):
        # losses are often never moved with .to(device): bring the queue to the data
        if self.queue_pred.device != device:
            self.queue_pred = self.queue_pred.to(device)
            self.queue_target = self.queue_target.to(device)
            self.queue_count = self.queue_count.to(device)

    def forward(self, pred, target):
        pred, target = _pair(pred, target)
        self._follow(pred.device)
        n_queue = int(self.queue_count)
        pool_pred = torch.cat([pred, self.queue_pred[:n_queue].to(pred.dtype)])
        pool_target = torch.cat([target, self.queue_target[:n_queue].to(pred.dtype)])
        n = pred.numel()
        # the (batch, pool) CDF matrices of both soft ranks, each kept with its input for backward
        check_memory(4.0 * n * pool_pred.numel() * pred.element_size(),
                     f"GCCLoss on a batch of {n:,} items over a pool of {pool_pred.numel():,}",
                     hint="use smaller batches or a shorter queue (queue_len)")
        plcc = _pool_correlation(pool_pred, pool_target, n)
        mean_rank = pool_pred.numel() / 2  # see _batch_soft_ranks
        srocc = _pool_correlation(_batch_soft_ranks(pool_pred, n), _batch_soft_ranks(pool_target, n), n,
                                  mean_rank, mean_rank)
        mse = ((pred - target) ** 2).mean()
        loss = _finite_loss((self.alpha * (1 - plcc) + self.beta * (1 - srocc) + self.gamma) * mse, pred)
        if self.training and self.queue_len:
            self._push(pred.detach(), target, n_queue)
        return loss

    @torch.no_grad()
    def _push(self, pred, target, n_queue):
        """Newest first; the oldest items fall off the end (FIFO)."""
        keep = self.queue_len
        new_pred = torch.cat([pred.to(self.queue_pred.dtype), self.queue_pred[:n_queue]])[:keep]
        new_target = torch.cat([target.to(self.queue_target.dtype), self.queue_target[:n_queue]])[:keep]
        count = new_pred.numel()
        self.queue_pred[:count] = new_pred
        self.queue_target[:count] = new_target
        self.queue_count.fill_(count)


# ---- DCQ -----------------------------------------------------------------------------------
class DCQLoss(nn.Module):
    """Dual-Criterion Quality loss (Yuan & Wang, ACM MM 2024): MSE + relative perception constraint.

    ``loss = mse_weight * MSE + rpc_weight * RPC`` with the paper's Eq. (1)
    ``RPC = 1/N^2 sum_i sum_j [(dy_ij - dt_ij)^2 - dy_ij sgn(dt_ij)]`` (all ordered pairs,
    ``dy_ij = pred_i - pred_j``, ``dt_ij = t_i - t_j``), computed without the N x N matrices
    through two exact identities, with ``e = pred - t``:

    * QDC: ``1/N^2 sum_ij (e_i - e_j)^2 = 2/N sum_i (e_i - mean(e))^2``;
    * QAC: ``1/N^2 sum_ij dy_ij sgn(dt_ij) = 2/N^2 sum_i pred_i c_i`` with
      ``c_i = sum_j sgn(t_i - t_j) = #{t_j < t_i} - #{t_j > t_i}`` (ties count 0),
      found by sorting ``t`` once: O(N log N) time, O(N) memory.

    A batch of one item has ``RPC = 0``; the loss is always finite.

    Parameters
    ----------
    mse_weight, rpc_weight : float, default 1.0
        Weights (>= 0) of the MSE and of the relative perception constraint.

    Examples
    --------
    >>> loss = DCQLoss()
    >>> round(loss(torch.tensor([1., 2., 3.]), torch.tensor([1., 3., 2.])).item(), 4)
    1.5556
    """

    @validate_params({"mse_weight": Interval(0, None), "rpc_weight": Interval(0, None)})
    def __init__(self, mse_weight: float = 1.0, rpc_weight: float = 1.0):
        super().__init__()
        self.mse_weight, self.rpc_weight = float(mse_weight), float(rpc_weight)

    def extra_repr(self) -> str:
        return f"mse_weight={self.mse_weight}, rpc_weight={self.rpc_weight}"

    def forward(self, pred, target):
        pred, target = _pair(pred, target)
        n = pred.numel()
        e = pred - target
        mse = (e * e).mean()
        centred = e - e.mean()
        qdc = 2.0 / n * (centred * centred).sum()
        ordered = torch.sort(target).values
        below = torch.searchsorted(ordered, target, right=False)   # #{t_j < t_i}
        at_most = torch.searchsorted(ordered, target, right=True)  # #{t_j <= t_i}
        sign_sums = (below + at_most - n).to(pred.dtype)           # #{<} - #{>}
        qac = 2.0 / (n * n) * (pred * sign_sums).sum()
        return _finite_loss(self.mse_weight * mse + self.rpc_weight * (qdc - qac), pred)


# ---- baselines -----------------------------------------------------------------------------
class PLCCLoss(nn.Module):
    """``(1 - PLCC(pred, target)) / 2`` over the batch, in [0, 1].

    A batch of one item or with constant predictions or labels has no correlation: it is
    taken as 0 (loss 0.5, zero gradient).

    Examples
    --------
    >>> round(PLCCLoss()(torch.tensor([1., 2., 3.]), torch.tensor([1., 3., 2.])).item(), 4)
    0.25
    """

    def forward(self, pred, target):
        pred, target = _pair(pred, target)
        return (1 - _pool_correlation(pred, target, pred.numel())) / 2


class NiNLoss(nn.Module):
    """Norm-in-norm loss (Li, Jiang & Jiang, ACM MM 2020) with ``p = 1``, ``q = 2``.

    Both vectors are centred and divided by their L2 norm; the loss is
    ``||pred_n - target_n||_1 / (2 sqrt(N))`` (the authors' scale ``2^max(1, 1/q) N^max(0, 1/p - 1/q)``,
    their default ``alpha = [1, 0]``). Where the reference adds ``eps = 1e-8`` to the norms,
    a zero norm here leaves the centred vector at zero (a batch of one item gives 0, as theirs).

    Examples
    --------
    >>> round(NiNLoss()(torch.tensor([1., 2., 3.]), torch.tensor([1., 3., 2.])).item(), 4)
    0.4082
    """

    def forward(self, pred, target):
        pred, target = _pair(pred, target)
        n = pred.numel()

        def normalised(x):
            centred = x - x.mean()
            return _safe_divide(centred, _safe_sqrt((centred * centred).sum()))

        return (normalised(pred) - normalised(target)).abs().sum() / (2.0 * n ** 0.5)


class MonotonicityLoss(nn.Module):
    """Monotonicity regularisation (Li, Jiang & Jiang 2020): hinge on mis-ordered pairs.

    ``sum_ij relu((pred_i - pred_j) sgn(t_j - t_i)) / (N (N - 1)) / (1 + max_ij relu(...))``,
    over all ordered pairs as the authors' code (O(N^2) memory: a batch-sized regulariser).
    A batch of one item gives 0.

    Examples
    --------
    >>> round(MonotonicityLoss()(torch.tensor([1., 2., 3.]), torch.tensor([1., 3., 2.])).item(), 4)
    0.1667
    """

    def forward(self, pred, target):
        pred, target = _pair(pred, target)
        n = pred.numel()
        if n < 2:
            return (pred - pred.detach()).sum()  # 0, still attached to the graph
        hinge = torch.relu((pred[:, None] - pred[None, :]) * torch.sign(target[None, :] - target[:, None]))
        return hinge.sum() / (n * (n - 1)) / (1 + hinge.max())
