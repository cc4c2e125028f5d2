"""soft_srocc: the GCC soft-rank SROCC on a whole set, against plain loops, the torch loss and scipy."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import iqa_eval
from iqa_eval.training import soft_rank
from iqa_eval.errors import IQAEvalWarning
from iqa_eval.training.soft_rank import soft_ranks, soft_srocc


def plain_soft_ranks(x, h=1.0):
    n = len(x)
    m = sum(x) / n
    s = math.sqrt(sum((v - m) ** 2 for v in x) / (n - 1))
    z = [(v - m) / s for v in x]
    return [sum(0.5 * math.erfc(-(a - b) / h / math.sqrt(2)) for b in z) for a in z]


def test_exported_at_the_top_level():
    assert iqa_eval.soft_srocc is soft_srocc


def test_soft_ranks_match_a_plain_double_loop():
    x = np.random.default_rng(0).normal(size=40)
    for h in (1.0, 0.3):
        np.testing.assert_allclose(soft_ranks(x, bandwidth=h), plain_soft_ranks(list(x), h), rtol=1e-13)


def test_blocks_do_not_change_the_result(monkeypatch):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=301), rng.normal(size=301)
    whole = soft_srocc(x, y).statistic
    monkeypatch.setattr(soft_rank, "_BLOCK_CELLS", 1000)  # 3 rows per block
    assert soft_srocc(x, y).statistic == pytest.approx(whole, rel=1e-13)


@pytest.mark.torch
def test_equals_the_gcc_loss_srocc_term_on_one_batch():
    from conftest import TORCH_MISSING

    torch = pytest.importorskip("torch", reason=TORCH_MISSING)
    from iqa_eval.training.losses import GCCLoss
    from iqa_eval.training.losses import soft_ranks as torch_soft_ranks

    rng = np.random.default_rng(2)
    p, m = rng.normal(size=64), rng.normal(size=64)
    tp, tm = torch.tensor(p, dtype=torch.float64), torch.tensor(m, dtype=torch.float64)
    # the loss's SROCC term on one batch (empty queue) is the Pearson correlation of the soft ranks
    term = np.corrcoef(torch_soft_ranks(tp).numpy(), torch_soft_ranks(tm).numpy())[0, 1]
    assert soft_srocc(p, m).statistic == pytest.approx(term, rel=1e-12)
    # and the loss itself: alpha=0, beta=1, gamma=0 gives (1 - SROCC term) * MSE
    loss = GCCLoss(queue_len=0, alpha=0.0, beta=1.0, gamma=0.0)
    mse = float(np.mean((p - m) ** 2))
    assert 1.0 - float(loss(tp, tm)) / mse == pytest.approx(float(soft_srocc(p, m)), rel=1e-10)


def test_gap_to_real_srocc_shrinks_as_scores_spread_apart():
    rng = np.random.default_rng(3)
    mos = np.round(rng.uniform(1, 5, size=300), 1)   # ties in MOS, as real studies have
    pred = mos + rng.normal(scale=0.8, size=300)
    real = stats.spearmanr(pred, mos).statistic
    bandwidths = [1.0, 0.3, 0.1, 0.03, 0.01, 1e-3, 1e-4]
    # the soft ranks approach the average ranks - 1/2 monotonically ...
    for values in (pred, mos):
        exact = stats.rankdata(values) - 0.5
        errors = [np.abs(soft_ranks(values, bandwidth=h) - exact).max() for h in bandwidths]
        assert all(a > b or a == b == 0 for a, b in zip(errors, errors[1:])), errors
    # ... and the SROCC gap with them (its sign may change on the way, so compare envelopes)
    gaps = [abs(soft_srocc(pred, mos, bandwidth=h).statistic - real) for h in bandwidths]
    assert gaps[0] > 0.005                    # GCC's own bandwidth is a visible proxy
    assert max(gaps[1:]) < gaps[0] and max(gaps[3:]) < gaps[0] / 10 and gaps[-1] < gaps[0] / 100, gaps
    # far apart relative to the CDF's width the soft ranks are average ranks - 1/2
    assert abs(soft_srocc(pred, mos, bandwidth=1e-9).statistic - real) < 1e-12


def test_invariant_to_the_scale_of_the_scores():
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=100), rng.normal(size=100)
    assert soft_srocc(1000 * x + 3, y).statistic == pytest.approx(soft_srocc(x, y).statistic, rel=1e-12)


def test_constant_input_is_nan_with_a_warning():
    with pytest.warns(IQAEvalWarning, match="predictions are constant"):
        assert math.isnan(soft_srocc([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]))
    res = soft_srocc([1.0, np.nan, 2.0], [1.0, 2.0, 3.0])
    assert math.isnan(res.statistic) and math.isnan(res.srocc) and res.n == 3
    assert soft_srocc([1.0, np.nan, 2.0, 3.0], [1.0, 2.0, 3.0, 3.5], nan_policy="omit").statistic > 0.9


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_soft_ranks_refuse_non_finite_values(bad):
    # Before: soft_ranks([1, nan, 3]) was [nan, nan, nan] through the mean, or equal ranks
    from iqa_eval.errors import InputError

    with pytest.raises(InputError, match=r"^values has 1 non-finite values, first at index 1"):
        soft_ranks([1.0, bad, 3.0])


def test_soft_srocc_omits_non_finite_pairs_only_when_asked():
    from iqa_eval.errors import InputError

    pred, mos = [1.0, 2.0, float("nan"), 4.0, 3.0], [1.0, 2.5, 3.0, 4.0, 2.0]
    assert math.isnan(soft_srocc(pred, mos).statistic)             # propagate (the default)
    kept = [0, 1, 3, 4]
    omit = soft_srocc(pred, mos, nan_policy="omit")
    assert omit.n == 4 and omit.statistic == pytest.approx(
        soft_srocc([pred[i] for i in kept], [mos[i] for i in kept]).statistic, rel=1e-15)
    with pytest.raises(InputError, match="non-finite"):
        soft_srocc(pred, mos, nan_policy="raise")


def test_soft_srocc_result_carries_the_real_srocc_and_the_bandwidth():
    rng = np.random.default_rng(5)
    mos = np.round(rng.uniform(1, 5, size=120), 1)       # ties
    pred = mos + rng.normal(scale=0.7, size=120)
    res = soft_srocc(pred, mos, bandwidth=0.3)
    assert isinstance(res, soft_rank.SoftSROCCResult)
    # the proxy: Pearson of the plain double-loop soft ranks; the real SROCC: scipy's
    ref = np.corrcoef(plain_soft_ranks(list(pred), 0.3), plain_soft_ranks(list(mos), 0.3))[0, 1]
    assert res.statistic == float(res) == pytest.approx(ref, rel=1e-12)
    assert res.srocc == pytest.approx(stats.spearmanr(pred, mos).statistic, abs=1e-14)
    assert res.gap == res.statistic - res.srocc
    assert (res.bandwidth, res.n) == (0.3, 120)
    with pytest.raises(AttributeError):
        res.statistic = 0.0           # frozen
