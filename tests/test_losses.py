"""Training losses: checked against plain re-implementations, scipy, and torch.autograd.gradcheck."""
from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from conftest import TORCH_MISSING

pytestmark = pytest.mark.torch
torch = pytest.importorskip("torch", reason=TORCH_MISSING)

from iqa_eval.errors import InputError  # noqa: E402
from iqa_eval.training.losses import DCQLoss, GCCLoss, MonotonicityLoss, NiNLoss, PLCCLoss, soft_ranks  # noqa: E402

from conftest import REPO  # noqa: E402

F64 = torch.float64
ALL_LOSSES = (GCCLoss, DCQLoss, PLCCLoss, NiNLoss, MonotonicityLoss)


def t64(values):
    return torch.tensor(values, dtype=F64)


# ---- plain references written out here -----------------------------------------------------
def plain_soft_ranks(x):
    n = len(x)
    mean = sum(x) / n
    std = math.sqrt(sum((v - mean) ** 2 for v in x) / (n - 1))
    z = [(v - mean) / std for v in x]
    return [sum(0.5 * math.erfc(-(zi - zj) / math.sqrt(2)) for zj in z) for zi in z]


def plain_pool_correlation(u, v, n_batch):
    mu, mv = sum(u) / len(u), sum(v) / len(v)
    du = [a - mu for a in u[:n_batch]]
    dv = [b - mv for b in v[:n_batch]]
    num = sum(a * b for a, b in zip(du, dv))
    return num / (math.sqrt(sum(a * a for a in du)) * math.sqrt(sum(b * b for b in dv)))


def plain_gcc(pred, label, queue_pred, queue_label, alpha=0.5, beta=0.5, gamma=1.0):
    pool_p, pool_l = list(pred) + list(queue_pred), list(label) + list(queue_label)
    n = len(pred)
    plcc = plain_pool_correlation(pool_p, pool_l, n)
    srocc = plain_pool_correlation(plain_soft_ranks(pool_p), plain_soft_ranks(pool_l), n)
    mse = sum((a - b) ** 2 for a, b in zip(pred, label)) / n
    return (alpha * (1 - plcc) + beta * (1 - srocc) + gamma) * mse


def literal_rpc(pred, target):
    """The DCQ paper's Eq. (1) with its N x N matrices."""
    dy = pred[:, None] - pred[None, :]
    dt = target[:, None] - target[None, :]
    n = pred.numel()
    return ((dy - dt) ** 2 - dy * torch.sign(dt)).sum() / n ** 2


def literal_dcq(pred, target, mse_weight=1.0, rpc_weight=1.0):
    return mse_weight * ((pred - target) ** 2).mean() + rpc_weight * literal_rpc(pred, target)


# ---- GCC -----------------------------------------------------------------------------------
def test_gcc_worked_example():
    pred, label = t64([1, 2, 3, 4, 5]), t64([6, 7, 8, 9, 15])
    np.testing.assert_allclose(soft_ranks(label).numpy(), [1.378, 1.798, 2.238, 2.672, 4.414], atol=5e-4)
    np.testing.assert_allclose(soft_ranks(label).numpy(), plain_soft_ranks(label.tolist()), rtol=1e-14)
    # the intermediate numbers, recomputed plainly
    pl, lb = pred.tolist(), label.tolist()
    assert plain_pool_correlation(pl, lb, 5) == pytest.approx(0.8944, abs=5e-5)
    assert plain_pool_correlation(plain_soft_ranks(pl), plain_soft_ranks(lb), 5) == pytest.approx(0.9291, abs=5e-5)
    loss = GCCLoss()(pred, label)
    assert loss.dim() == 0
    assert loss.item() == pytest.approx(43.529, abs=5e-4)
    assert loss.item() == pytest.approx(plain_gcc(pl, lb, [], []), rel=1e-13)


def test_gcc_queue_over_three_batches_matches_a_plain_reimplementation():
    rng = np.random.default_rng(1)
    batches = [(rng.normal(size=k), rng.normal(size=k) * 2 + 5) for k in (5, 4, 6)]
    loss = GCCLoss(queue_len=7, alpha=0.3, beta=0.6, gamma=0.8)
    queue_p, queue_l = [], []
    values = []
    for p, l in batches:
        got = loss(t64(p), t64(l)).item()
        want = plain_gcc(list(p), list(l), queue_p, queue_l, alpha=0.3, beta=0.6, gamma=0.8)
        assert got == pytest.approx(want, rel=1e-12)
        values.append(got)
        # FIFO of at most 7 items: drop the oldest
        queue_p = (list(p) + queue_p)[:7]
        queue_l = (list(l) + queue_l)[:7]
        assert int(loss.queue_count) == len(queue_p)
        np.testing.assert_array_equal(loss.queue_pred[:len(queue_p)].numpy(), queue_p)
        np.testing.assert_array_equal(loss.queue_target[:len(queue_l)].numpy(), queue_l)
    # the queue mattered: batch-only losses differ
    alone = GCCLoss(queue_len=0, alpha=0.3, beta=0.6, gamma=0.8)
    assert alone(t64(batches[2][0]), t64(batches[2][1])).item() != pytest.approx(values[2], rel=1e-6)


def test_gcc_gradients_equal_the_full_pool_form():
    # GCCLoss ranks only the batch rows (the pool's mean soft rank is P/2); rank every pool row here
    def full_pool(pred, label, qp, ql):
        def z(x):
            return (x - x.mean()) / x.std()

        def ranks(x):
            return torch.special.ndtr(z(x)[:, None] - z(x)[None, :]).sum(1)

        def corr(u, v, n):
            du, dv = u[:n] - u.mean(), v[:n] - v.mean()
            return (du * dv).sum() / (du.norm() * dv.norm())

        pp, pl = torch.cat([pred, qp]), torch.cat([label, ql])
        n = pred.numel()
        return (0.5 * (1 - corr(pp, pl, n)) + 0.5 * (1 - corr(ranks(pp), ranks(pl), n)) + 1) \
            * ((pred - label) ** 2).mean()

    loss = _filled_gcc()
    n_queue = int(loss.queue_count)
    rng = np.random.default_rng(8)
    label = t64(rng.normal(size=6))
    a = t64(rng.normal(size=6)).requires_grad_(True)
    b = a.detach().clone().requires_grad_(True)
    va, vb = loss(a, label), full_pool(b, label, loss.queue_pred[:n_queue], loss.queue_target[:n_queue])
    va.backward()
    vb.backward()
    assert va.item() == pytest.approx(vb.item(), rel=1e-13)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_gcc_without_correlation_weights_is_mse():
    rng = np.random.default_rng(9)
    p, t = t64(rng.normal(size=10)).requires_grad_(True), t64(rng.normal(size=10))
    q = p.detach().clone().requires_grad_(True)
    a, b = GCCLoss(alpha=0, beta=0, gamma=2.0)(p, t), 2.0 * torch.nn.functional.mse_loss(q, t)
    a.backward()
    b.backward()
    assert a.item() == pytest.approx(b.item(), rel=1e-15)
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-14)


def test_gcc_eval_mode_and_reset_leave_or_empty_the_queue():
    loss = GCCLoss(queue_len=10)
    loss(t64([1, 2, 3]), t64([1, 3, 2]))
    loss.eval()
    loss(t64([4, 5]), t64([5, 4]))
    assert int(loss.queue_count) == 3
    loss.train()
    loss(t64([4, 5]), t64([5, 4]))
    assert int(loss.queue_count) == 5
    loss.reset()
    assert int(loss.queue_count) == 0
    assert loss(t64([1, 2, 3, 4, 5]), t64([6, 7, 8, 9, 15])).item() == pytest.approx(43.529, abs=5e-4)


def test_gcc_state_dict_resume_continues_exactly():
    rng = np.random.default_rng(2)
    batches = [(t64(rng.normal(size=8)), t64(rng.normal(size=8))) for _ in range(4)]
    first = GCCLoss(queue_len=12)
    for p, l in batches[:2]:
        first(p, l)
    state = {k: v.clone() for k, v in first.state_dict().items()}
    assert set(state) == {"queue_pred", "queue_target", "queue_count"}
    resumed = GCCLoss(queue_len=12)
    resumed.load_state_dict(state)
    fresh = GCCLoss(queue_len=12)
    for p, l in batches[2:]:
        a, b = first(p, l), resumed(p, l)
        assert a.item() == b.item()
        assert a.item() != fresh(p, l).item()
    assert torch.equal(first.queue_pred, resumed.queue_pred)


def test_gcc_queue_survives_float32_batches_in_float64():
    loss = GCCLoss(queue_len=4)
    loss(torch.tensor([0.1, 0.2], dtype=torch.float32), torch.tensor([0.3, 0.1]))
    assert loss.queue_pred.dtype == F64
    assert loss.queue_pred[0].item() == torch.tensor(0.1, dtype=torch.float32).item()


# ---- DCQ -----------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 7, 50])
def test_dcq_fast_form_equals_the_literal_formula_with_ties(n):
    rng = np.random.default_rng(n)
    target = t64(rng.integers(0, 4, size=n))            # many ties
    base = t64(rng.normal(size=n))
    for pred_values in (base, t64(np.round(base.numpy(), 0))):  # ties in predictions too
        for weights in ((1.0, 1.0), (0.3, 2.0)):
            p1 = pred_values.clone().requires_grad_(True)
            p2 = pred_values.clone().requires_grad_(True)
            fast = DCQLoss(*weights)(p1, target)
            slow = literal_dcq(p2, target, *weights)
            fast.backward()
            slow.backward()
            assert fast.item() == pytest.approx(slow.item(), abs=1e-12, rel=1e-12)
            np.testing.assert_allclose(p1.grad.numpy(), p2.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_dcq_rpc_alone_matches_the_paper_on_a_hand_example():
    # pred [1,2,3], t [1,3,2]: sum of squared difference errors 4*... computed by hand:
    # e = pred - t = [0,-1,1]; sum_ij (e_i-e_j)^2 = 12; sum_ij dy_ij sgn(dt_ij) = 4  ->  (12 - 4)/9
    got = DCQLoss(mse_weight=0.0)(t64([1, 2, 3]), t64([1, 3, 2])).item()
    assert got == pytest.approx(8 / 9, rel=1e-15)


# ---- baselines -----------------------------------------------------------------------------
def test_plcc_loss_matches_scipy():
    rng = np.random.default_rng(3)
    p, t = rng.normal(size=40), rng.normal(size=40)
    got = PLCCLoss()(t64(p), t64(t)).item()
    assert got == pytest.approx((1 - stats.pearsonr(p, t).statistic) / 2, rel=1e-12)


def test_nin_loss_matches_a_plain_numpy_version():
    rng = np.random.default_rng(4)
    p, t = rng.normal(size=30), rng.normal(size=30)
    pn = (p - p.mean()) / np.linalg.norm(p - p.mean())
    tn = (t - t.mean()) / np.linalg.norm(t - t.mean())
    want = np.abs(pn - tn).sum() / (2 * np.sqrt(30))
    assert NiNLoss()(t64(p), t64(t)).item() == pytest.approx(want, rel=1e-12)


def test_monotonicity_loss_counts_only_misordered_pairs():
    rng = np.random.default_rng(5)
    p, t = rng.normal(size=12), rng.normal(size=12)
    hinge = [max(0.0, (p[i] - p[j]) * np.sign(t[j] - t[i])) for i in range(12) for j in range(12)]
    want = sum(hinge) / (12 * 11) / (1 + max(hinge))
    assert MonotonicityLoss()(t64(p), t64(t)).item() == pytest.approx(want, rel=1e-12)
    assert MonotonicityLoss()(t64(t), t64(t)).item() == 0.0  # perfectly ordered


# ---- every loss ----------------------------------------------------------------------------
def _filled_gcc(dtype=F64, seed=6):
    """A GCC loss with a queue of earlier batches, frozen (eval) so repeated calls agree."""
    rng = np.random.default_rng(seed)
    loss = GCCLoss(queue_len=9)
    for _ in range(2):
        loss(torch.tensor(rng.normal(size=5), dtype=dtype), torch.tensor(rng.normal(size=5), dtype=dtype))
    return loss.eval()


def _instances():
    return [GCCLoss(), _filled_gcc(), DCQLoss(), DCQLoss(0.5, 2.0), PLCCLoss(), NiNLoss(), MonotonicityLoss()]


@pytest.mark.parametrize("k", range(7))
def test_gradcheck_float64(k):
    loss = _instances()[k].eval()
    rng = np.random.default_rng(k)
    pred = t64(rng.normal(size=6)).requires_grad_(True)
    target = t64(rng.normal(size=6))
    assert torch.autograd.gradcheck(lambda p: loss(p, target), (pred,), eps=1e-6, atol=1e-7)


@pytest.mark.parametrize("k", range(7))
def test_float32_equals_float64(k):
    rng = np.random.default_rng(10 + k)
    pred, target = rng.uniform(1, 5, size=32), rng.uniform(1, 5, size=32)
    l64 = _instances()[k].eval()
    if k == 1:
        l32 = _filled_gcc(torch.float32).eval()
    else:
        l32 = _instances()[k].eval()
    a = l64(t64(pred), t64(target)).item()
    b = l32(torch.tensor(pred, dtype=torch.float32), torch.tensor(target, dtype=torch.float32))
    assert b.dtype == torch.float32
    assert b.item() == pytest.approx(a, rel=1e-5, abs=1e-6)


DEGENERATE = {
    "size 1": ([0.7], [3.0]),
    "constant predictions": ([2.0] * 6, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]),
    "constant labels": ([0.1, 0.5, 0.2, 0.9, 0.3, 0.4], [3.0] * 6),
    "both constant": ([1.0] * 4, [1.0] * 4),
    "ties": ([1.0, 1.0, 2.0, 2.0, 3.0], [2.0, 2.0, 2.0, 5.0, 5.0]),
    "two items": ([0.0, 1.0], [1.0, 0.0]),
}


@pytest.mark.parametrize("case", DEGENERATE)
@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_no_nan_or_inf_on_degenerate_batches(case, dtype):
    p, t = DEGENERATE[case]
    for loss in _instances() + [GCCLoss(queue_len=3)]:
        for _ in range(3):  # GCC: with an empty queue, then with the batch in its queue
            pred = torch.tensor(p, dtype=dtype, requires_grad=True)
            value = loss(pred, torch.tensor(t, dtype=dtype))
            value.backward()
            assert value.dim() == 0
            assert torch.isfinite(value), (type(loss).__name__, case)
            assert torch.isfinite(pred.grad).all(), (type(loss).__name__, case)


def test_gcc_degenerate_values_are_as_documented():
    # one item: both correlations undefined -> (alpha + beta + gamma) * MSE
    assert GCCLoss()(t64([1.0]), t64([3.0])).item() == pytest.approx(2.0 * 4.0)
    # constant predictions: PLCC and SROCC taken as 0
    assert GCCLoss()(t64([2.0] * 3), t64([1.0, 2.0, 3.0])).item() == pytest.approx(2.0 * 2 / 3)


@pytest.mark.parametrize("k", range(7))
def test_shapes_n_and_n1_agree(k):
    rng = np.random.default_rng(20 + k)
    p, t = t64(rng.normal(size=8)), t64(rng.normal(size=8))
    a = _instances()[k].eval()(p, t)
    b = _instances()[k].eval()(p[:, None], t[:, None])
    assert a.dim() == 0 and b.dim() == 0
    assert a.item() == b.item()


def test_bad_shapes_raise_input_error():
    with pytest.raises(InputError, match="differ in length"):
        DCQLoss()(t64([1, 2, 3]), t64([1, 2]))
    with pytest.raises(InputError, match="shape"):
        GCCLoss()(torch.zeros(3, 2, dtype=F64), torch.zeros(3, 2, dtype=F64))
    with pytest.raises(InputError, match="queue_len"):
        GCCLoss(queue_len=-1)


@pytest.mark.parametrize("make, message", [
    (lambda: GCCLoss(queue_len=2.5), "queue_len must be an integer >= 0; got 2.5"),
    (lambda: GCCLoss(alpha=-0.1), "alpha must be a number >= 0; got -0.1"),
    (lambda: GCCLoss(gamma=float("nan")), "gamma must be a number >= 0; got nan"),
    (lambda: DCQLoss(rpc_weight="1"), "rpc_weight must be a number >= 0; got '1'"),
])
def test_loss_options_are_validated_in_the_package_vocabulary(make, message):
    with pytest.raises(InputError) as info:
        make()
    assert str(info.value) == message


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_cuda_matches_cpu():  # pragma: no cover - runs where a GPU exists
    rng = np.random.default_rng(7)
    p, t = t64(rng.normal(size=16)), t64(rng.normal(size=16))
    for loss_cpu, loss_gpu in zip(_instances(), _instances()):
        assert loss_gpu(p.cuda(), t.cuda()).item() == pytest.approx(loss_cpu(p, t).item(), rel=1e-10)


def test_import_without_torch_names_the_extra():
    code = ("import sys; sys.modules['torch'] = None\n"
            "try:\n    import iqa_eval.training.losses\nexcept ImportError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert 'pip install "iqa-eval[torch]"' in out.stdout, out.stderr


# ---- issue 14: the losses refuse what they cannot learn from --------------------------------
NON_FINITE = [float("nan"), float("inf"), float("-inf")]


@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("side", ["pred", "target"])
def test_gcc_refuses_a_non_finite_batch_and_keeps_it_out_of_the_queue(bad, side):
    # Before: the NaN entered the queue, so the next queue_len steps had PLCC = SROCC = 0
    # (the safe divisions) and the loss was silently (alpha + beta + gamma) * MSE.
    loss = GCCLoss(queue_len=6)
    p1, t1 = [1., 2., 4., 3.], [1.5, 2., 3., 4.]
    loss(t64(p1).requires_grad_(), t64(t1))
    state = {k: v.clone() for k, v in loss.state_dict().items()}
    p2, t2 = [2., 1., 3.], [1., 2., 3.5]
    (p2 if side == "pred" else t2)[1] = bad
    with pytest.raises(InputError, match=rf"^{side} has 1 non-finite value\(s\), first at index 1"):
        loss(t64(p2).requires_grad_(), t64(t2))
    for k, v in loss.state_dict().items():   # the queue is exactly as before the refused batch
        assert torch.equal(v, state[k]), k
    p3, t3 = [0.5, 2.5, 1.0], [1., 3., 2.]
    got = loss(t64(p3).requires_grad_(), t64(t3)).item()
    assert got == pytest.approx(plain_gcc(p3, t3, p1, t1), rel=1e-12)
    assert got != pytest.approx(2.0 * sum((a - b) ** 2 for a, b in zip(p3, t3)) / 3)  # not plain MSE


@pytest.mark.parametrize("cls", ALL_LOSSES)
@pytest.mark.parametrize("bad", NON_FINITE)
@pytest.mark.parametrize("side", ["pred", "target"])
def test_every_loss_refuses_non_finite_input(cls, bad, side):
    # Before: PLCCLoss gave 0.5 and NiNLoss 0.42 (finite) with NaN gradients.
    pred, target = [1., 2., 3., 4., 5.], [2., 1., 4., 3., 5.]
    (pred if side == "pred" else target)[3] = bad
    with pytest.raises(InputError, match=rf"^{side} has 1 non-finite value\(s\), first at index 3"):
        cls()(t64(pred).requires_grad_(), t64(target))


@pytest.mark.parametrize("cls", ALL_LOSSES)
def test_finite_inputs_that_overflow_the_dtype_are_refused_not_nan(cls):
    # float32 holds 1e20 but not its square: the loss would be NaN or inf with NaN gradients
    pred = torch.tensor([1e20, -1e20, 3e20, 0.], requires_grad=True)
    target = torch.tensor([1., 2., 3., 4.])
    try:
        value = cls()(pred, target)
    except InputError as exc:
        assert "float32" in str(exc)
        return
    value.backward()
    assert torch.isfinite(value) and torch.isfinite(pred.grad).all()


def test_torch_soft_ranks_refuse_non_finite_input():
    # Before: soft_ranks([1, nan, 3]) was [1.5, 1.5, 1.5]
    with pytest.raises(InputError, match=r"^x has 1 non-finite value\(s\), first at index 1"):
        soft_ranks(t64([1., float("nan"), 3.]))
    with pytest.raises(InputError, match="index 0"):
        soft_ranks(t64([float("inf"), 2., 3.]))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_queue_len_nan_or_inf_is_an_input_error_in_the_package_vocabulary(value):
    # Before: ValueError("cannot convert float NaN to integer") from int()
    with pytest.raises(InputError) as info:
        GCCLoss(queue_len=value)
    assert str(info.value) == f"queue_len must be an integer >= 0; got {value!r}"


def test_queue_memory_is_estimated_before_the_queue_is_allocated():
    from iqa_eval._runtime.resources import ResourceError, set_limit

    # Before: queue_len=1e9 allocated 16 GB (two float64 buffers) without a word.
    with pytest.raises(ResourceError, match=r"GCCLoss queue of 1,000,000,000,000 items needs about 14901\.2 GiB"):
        GCCLoss(queue_len=10 ** 12)   # 16 TB: more than any machine's available memory
    set_limit("1M")                   # 1 MiB: the queue holds 16 bytes per item
    try:
        with pytest.raises(ResourceError, match="queue_len"):
            GCCLoss(queue_len=65_537)
        assert GCCLoss(queue_len=65_000).queue_pred.numel() == 65_000
    finally:
        set_limit(None)


def test_pool_memory_is_estimated_before_a_step():
    from iqa_eval._runtime.resources import ResourceError, set_limit

    loss = GCCLoss(queue_len=0)
    set_limit("1M")
    try:
        with pytest.raises(ResourceError, match=r"a batch of 1,000 items over a pool of 1,000"):
            loss(torch.zeros(1000, dtype=F64, requires_grad=True), torch.zeros(1000, dtype=F64))
        assert int(loss.queue_count) == 0
        loss(torch.arange(100, dtype=F64, requires_grad=True), torch.arange(100, dtype=F64))
    finally:
        set_limit(None)
