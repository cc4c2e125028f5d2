"""Friedman with few datasets (exact / Monte Carlo permutation p, Iman-Davenport) and the post-hoc tests.

Every number against an independent implementation: brute force over every permutation of every
dataset's ranks with scipy's own Friedman statistic; Iman-Davenport written from Demšar (2006);
Wilcoxon-Holm as scipy's ``wilcoxon`` plus Holm's step-down written as a loop (and statsmodels'
``multipletests``); the Bayesian signed-rank test written as the double loop of Benavoli et al. (2014).
"""
from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from helpers import run_cli as run
from iqa_eval.studies.bench import benchmark, dataset_spec
from iqa_eval.data.dataset import Dataset
from iqa_eval.errors import InputError
from iqa_eval.stats.posthoc import (EXACT_LIMIT, bayes_signed_rank, cliques, friedman_test, holm, posthoc,
                              wilcoxon_holm)


def _friedman_chi2(ranks):
    """Demšar (2006) eq. (3), ``12 N / (k (k+1)) [sum_j R_j^2 - k (k+1)^2 / 4]`` on mean ranks R_j,
    divided by the tie correction ``1 - sum(t^3 - t) / (N k (k^2 - 1))``; ranks is (..., N, k)."""
    n, k = ranks.shape[-2:]
    r = ranks.mean(axis=-2)
    chi2 = 12 * n / (k * (k + 1)) * ((r ** 2).sum(axis=-1) - k * (k + 1) ** 2 / 4)
    ties = sum(np.sum(c ** 3 - c) for c in (np.unique(row, return_counts=True)[1] for row in ranks.reshape(-1, k)[:n]))
    return chi2 / (1 - ties / (n * k * (k * k - 1)))


def _brute_force_p(values):
    """P(chi2* >= chi2) over all (k!)^N arrangements (every dataset's ranks permuted, none fixed)."""
    ranks = stats.rankdata(-np.asarray(values, dtype=float), axis=1)
    obs = _friedman_chi2(ranks)
    assert obs == pytest.approx(stats.friedmanchisquare(*ranks.T).statistic, rel=1e-12)
    combos = np.array(list(itertools.product(*[list(itertools.permutations(row)) for row in ranks])))
    return float(np.mean(_friedman_chi2(combos) >= obs - 1e-9))


@pytest.mark.parametrize("values", [
    [[1, 2, 3], [1, 3, 2], [2, 1, 3]],                       # N = 3, k = 3
    [[0.9, 0.8, 0.8, 0.1], [0.5, 0.7, 0.6, 0.2]],            # N = 2, k = 4 with a tie
    [[4, 3, 2, 1], [3, 4, 1, 2], [4, 2, 3, 1]],              # N = 3, k = 4
    [[5, 4, 3, 2, 1], [5, 4, 3, 1, 2]],                      # N = 2, k = 5
])
def test_exact_p_equals_brute_force_over_every_permutation(values):
    res = friedman_test(values)
    assert res.permutation_method == "exact" and res.decides == "exact"
    assert res.permutation_pvalue == pytest.approx(_brute_force_p(values), rel=1e-12)
    assert res.pvalue == res.permutation_pvalue
    ref = stats.friedmanchisquare(*np.asarray(values, dtype=float).T)
    assert res.statistic == pytest.approx(ref.statistic, rel=1e-12)
    assert res.chi2_pvalue == pytest.approx(ref.pvalue, rel=1e-12)


def test_identical_orders_exact_p_is_one_over_k_factorial():
    """Two datasets ordering k models identically: only the k! matching orders of the second are as extreme."""
    for k in (3, 4, 5):
        x = np.tile(np.arange(k, 0, -1.0), (2, 1))
        assert friedman_test(x).permutation_pvalue == pytest.approx(_brute_force_p(x), rel=1e-12)
    for k in (3, 5, 6, 7):
        x = np.tile(np.arange(k, 0, -1.0), (2, 1))
        assert friedman_test(x).permutation_pvalue == pytest.approx(1 / math.factorial(k), rel=1e-12)


def test_iman_davenport_is_demsars_formula():
    """Demšar (2006), §3.2.2: F_F = (N-1) chi2_F / (N (k-1) - chi2_F), F with (k-1, (k-1)(N-1)) df."""
    rng = np.random.default_rng(3)
    for n, k in ((5, 4), (12, 6), (3, 8)):
        x = rng.normal(size=(n, k)) + np.linspace(0, 1, k)
        chi2 = stats.friedmanchisquare(*x.T).statistic
        f = (n - 1) * chi2 / (n * (k - 1) - chi2)
        res = friedman_test(x, method="iman-davenport")
        assert res.f_statistic == pytest.approx(f, rel=1e-12)
        assert res.f_pvalue == pytest.approx(stats.f.sf(f, k - 1, (k - 1) * (n - 1)), rel=1e-10)
        assert res.decides == "iman-davenport" and res.pvalue == res.f_pvalue
    # Demšar's worked example: chi2_F = 9.28 with N = 14, k = 4 gives F_F = 3.69
    assert 13 * 9.28 / (14 * 3 - 9.28) == pytest.approx(3.69, abs=5e-3)


def test_monte_carlo_is_seeded_near_the_exact_p_and_states_its_resolution():
    x = [[4, 3, 2, 1, 0], [3, 4, 1, 2, 0], [4, 2, 3, 0, 1]]
    exact = friedman_test(x).permutation_pvalue
    mc = friedman_test(x, method="monte-carlo", n_permutations=20000, seed=7)
    assert mc.permutation_method == "monte-carlo" and mc.seed == 7 and mc.n_permutations == 20000
    assert mc.resolution == pytest.approx(1 / 20001)
    se = math.sqrt(exact * (1 - exact) / 20000)
    assert abs(mc.permutation_pvalue - exact) < 4 * se + 1 / 20001
    assert friedman_test(x, method="monte-carlo", n_permutations=20000, seed=7) == mc
    # (k!)^(N-1) beyond the limit: auto falls back to Monte Carlo, 'exact' is refused
    big = np.random.default_rng(0).normal(size=(4, 8))
    assert math.factorial(8) ** 3 > EXACT_LIMIT
    assert friedman_test(big, n_permutations=500).permutation_method == "monte-carlo"
    with pytest.raises(InputError, match="exceed"):
        friedman_test(big, method="exact")
    # two datasets of 10 models: 10! = 3.6e6 arrangements, but 10! orders would not fit the memory rule
    wide = np.random.default_rng(1).normal(size=(2, 10))
    assert friedman_test(wide, n_permutations=500).permutation_method == "monte-carlo"


def _real_srocc(shared_dir, name):
    """SROCC of every model file of a reference dataset, by scipy (each file holds prediction and MOS)."""
    out = {}
    for path in sorted((shared_dir / name).glob("*.csv")):
        if path.stem == "meta":
            continue
        df = pd.read_csv(path)
        out[path.stem] = abs(stats.spearmanr(df["Results Scores for CC"], df["Ground Truth Labels"])[0])
    return out


def test_real_data_kadid_tid_chi2_misses_what_the_exact_p_finds(shared_dir):
    """docs/bench.md's example: KADID-10k and TID2013 order the six FR models identically."""
    values = pd.DataFrame([_real_srocc(shared_dir, "kadid10k"), _real_srocc(shared_dir, "tid2013")])
    assert values.shape == (2, 6)
    res = friedman_test(values)
    ref = stats.friedmanchisquare(*[values[m].to_numpy() for m in values.columns])
    assert res.chi2_pvalue == pytest.approx(ref.pvalue, rel=1e-12) and res.chi2_pvalue > 0.05
    # identical orders: of the 720 x 720 arrangements only the 720 with equal orders reach the maximum
    assert (values.rank(axis=1).iloc[0] == values.rank(axis=1).iloc[1]).all()
    assert res.permutation_pvalue == pytest.approx(720 / 720 ** 2, rel=1e-12) and res.decides == "exact"
    # two datasets: no Wilcoxon pair can be significant (smallest two-sided exact p = 0.5)
    post = wilcoxon_holm(values)
    assert not post.pairs["different"].any() and post.cliques == [post.order]
    assert post.pairs["pvalue"].min() == pytest.approx(0.5)


def _holm_by_hand(p):
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    out, running = [0.0] * m, 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out


@pytest.mark.slow
def test_wilcoxon_holm_equals_scipy_plus_holm_by_hand():
    from statsmodels.stats.multitest import multipletests

    rng = np.random.default_rng(11)
    n, k = 12, 5
    x = pd.DataFrame(rng.normal(size=(n, k)) * 0.05 + np.linspace(0.9, 0.7, k), columns=list("abcde"))
    x.iloc[0, 1] = x.iloc[0, 2]  # a zero difference
    res = wilcoxon_holm(x, alpha=0.05)
    raw = []
    for row in res.pairs.itertuples():
        ref = stats.wilcoxon(x[row.model_a], x[row.model_b])
        assert row.pvalue == pytest.approx(ref.pvalue, rel=1e-12)
        assert row.statistic == pytest.approx(ref.statistic, rel=1e-12)
        raw.append(ref.pvalue)
    assert np.allclose(res.pairs["pvalue_holm"], _holm_by_hand(raw), rtol=1e-12)
    assert np.allclose(holm(raw), multipletests(raw, method="holm")[1], rtol=1e-12)
    assert list(res.pairs["different"]) == [p < 0.05 for p in _holm_by_hand(raw)]
    # cliques: runs in rank order with no significant pair inside, none contained in another
    diff = {(r.model_a, r.model_b): r.different for r in res.pairs.itertuples()}
    diff.update({(b, a): d for (a, b), d in list(diff.items())})
    order = list(res.order)
    assert res.pairs["different"].any() and res.cliques
    for c in res.cliques:
        assert not any(diff[a, b] for a, b in itertools.combinations(c, 2))
        i, j = order.index(c[0]), order.index(c[-1])
        assert list(c) == order[i:j + 1]
        if j + 1 < len(order):
            assert any(diff[a, order[j + 1]] for a in c)


def test_cliques_on_a_given_pattern():
    order = ["a", "b", "c", "d"]
    different = {m: {o: False for o in order} for m in order}
    different["a"]["c"] = different["c"]["a"] = True
    different["a"]["d"] = different["d"]["a"] = True
    assert cliques(order, different) == [("a", "b"), ("b", "c", "d")]


def _bayes_loop(d, rope, weights):
    """Benavoli et al. (2014) as written: z = (0, d), theta over all (i, j) by z_i + z_j vs +-2 rope."""
    z = [0.0] + list(d)
    votes = np.zeros(3)
    for w in weights:
        left = mid = right = 0.0
        for i in range(len(z)):
            for j in range(len(z)):
                if z[i] + z[j] > 2 * rope:
                    right += w[i] * w[j]
                elif z[i] + z[j] >= -2 * rope:
                    mid += w[i] * w[j]
                else:
                    left += w[i] * w[j]
        t = np.array([left, mid, right])
        best = t >= t.max() - 1e-15
        votes += best / best.sum()
    return votes / len(weights)


def test_bayes_signed_rank_equals_the_papers_double_sum():
    rng = np.random.default_rng(5)
    x = pd.DataFrame({"a": rng.normal(0.80, 0.02, 6), "b": rng.normal(0.79, 0.02, 6), "c": rng.normal(0.7, 0.02, 6)})
    res = bayes_signed_rank(x, rope=0.01, n_samples=400, seed=9)
    weights = np.random.default_rng(9).dirichlet(np.r_[0.5, np.ones(6)], 400)
    for row in res.pairs.itertuples():
        ref = _bayes_loop((x[row.model_a] - x[row.model_b]).to_numpy(), 0.01, weights)
        assert (row.p_left, row.p_rope, row.p_right) == pytest.approx(tuple(ref), abs=1e-12)
        assert row.p_left + row.p_rope + row.p_right == pytest.approx(1.0)
    assert res.settings == {"rope": 0.01, "n_samples": 400, "seed": 9, "prior": 0.5, "threshold": 0.95,
                            "metric": "srocc", "n_datasets": 6}
    assert bayes_signed_rank(x, rope=0.01, n_samples=400, seed=9).pairs.equals(res.pairs)
    # identical models: all mass in the ROPE
    same = pd.DataFrame({"a": x["a"], "b": x["a"]})
    assert bayes_signed_rank(same, n_samples=200).pairs.loc[0, "p_rope"] == 1.0


def test_posthoc_names_validated_and_nemenyi_needs_cd():
    x = np.random.default_rng(0).normal(size=(4, 3))
    with pytest.raises(InputError, match="wilcoxon-holm"):
        posthoc(x, "dunn")
    with pytest.raises(InputError, match="critical difference"):
        posthoc(x, "nemenyi")
    with pytest.raises(InputError, match="2 datasets"):
        friedman_test([[1, 2, 3]])


def _sets(n_sets=3, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n_sets):
        q = rng.normal(size=150)
        out[f"D{i}"] = Dataset(mos=q, predictions={m: q + s * rng.normal(size=150)
                                                   for m, s in (("good", .3), ("fair", .8), ("poor", 2.))})
    return out


@pytest.mark.parametrize("test", ["nemenyi", "wilcoxon-holm", "bayes"])
def test_benchmark_posthoc_in_every_output_and_the_diagram(test, tmp_path):
    res = benchmark(_sets(), posthoc=test, rope=0.02)
    assert res.posthoc.test == test and res.settings["posthoc"] == test
    values = res.cells.pivot(index="dataset", columns="model", values="srocc")[res.models]
    assert res.friedman.test == friedman_test(values.to_numpy())
    text = res.format("table")
    assert "the exact permutation p decides" in text and "Iman-Davenport" in text
    doc = json.loads(res.format("json"))
    assert doc["posthoc"]["test"] == test and doc["friedman"]["decides"] == "exact"
    assert "F_F" not in res.format("latex").replace("\\_", "")  # escaped for LaTeX
    fig = res.cd_diagram(tmp_path / "cd.png")
    assert (tmp_path / "cd.png").stat().st_size > 0
    assert ("Nemenyi" in fig.axes[0].get_title()) == (test == "nemenyi")


def test_cli_posthoc_and_friedman_method(tmp_path):
    for name, data in _sets().items():
        d = tmp_path / name
        d.mkdir()
        pd.DataFrame({"mos": data.mos, **data.predictions}).to_csv(d / "scores.csv", index=False)
    dirs = [str(tmp_path / n) for n in ("D0", "D1", "D2")]
    code, out, err = run("bench", *dirs, "--posthoc", "bayes", "--rope", "0.02", "--friedman-method", "monte-carlo",
                         "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["posthoc"]["settings"]["rope"] == 0.02 and doc["friedman"]["decides"] == "monte-carlo"
    assert doc["friedman"]["n_permutations"] == 10000 and doc["friedman"]["permutation_seed"] == 0
    code, out, err = run("bench", *dirs, "--posthoc", "dunn")
    assert code == 2 and "dunn" in err


def test_identical_rankings_say_f_f_is_unbounded_not_p_0():
    """Every dataset ranks the models identically: chi2 = N(k-1), Iman-Davenport's denominator
    N(k-1) - chi2 is 0. The text says F_F is unbounded (not 'F_F = inf, p = 0') and the exact
    permutation p, 1/k! = 1/720 for k = 6 (every arrangement of one dataset's ranks against the
    other's), decides."""
    from iqa_eval.stats.posthoc import friedman_test

    res = friedman_test(np.tile(np.arange(6.0), (2, 1)))
    assert res.statistic == pytest.approx(2 * 5)
    assert np.isinf(res.f_statistic)
    assert res.pvalue == pytest.approx(1 / 720, rel=1e-12) and res.decides == "exact"
    text = res.describe()
    assert "F_F unbounded" in text and "p = 0)" not in text and "inf" not in text
