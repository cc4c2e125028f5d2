"""Observer screening: BT.500-14 Annex 2 §2.3.1 recomputed by hand; the P.913 correlation rule."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from iqa_eval.errors import InputError
from iqa_eval.subjective import bt500_screen, compute_mos, p913_screen, ratings_from_frame, screen_subjects


def _table():
    """20 images x 15 subjects; s14 rates far from the others in both directions, s13 always above."""
    rng = np.random.default_rng(2)
    q = np.linspace(1.5, 4.5, 20)
    u = np.round(q[:, None] + rng.normal(0, 0.4, (20, 15)), 2)
    u[:, 14] = np.round(q + np.where(np.arange(20) % 2 == 0, 1.6, -1.6) + rng.normal(0, 0.2, 20), 2)
    u[:, 13] = np.round(q + 1.2 + rng.normal(0, 0.2, 20), 2)
    u[3, 2] = np.nan                                          # one missing rating
    df = pd.DataFrame(u, columns=[f"s{j}" for j in range(15)])
    df.insert(0, "image", [f"im{k}" for k in range(20)])
    return df, u


def _bt500_by_hand(u):
    """BT.500-14 Annex 2 §2.3.1 written out with plain loops."""
    E, S = u.shape
    P, Q, n = [0] * S, [0] * S, [0] * S
    for e in range(E):
        votes = [(s, u[e, s]) for s in range(S) if not math.isnan(u[e, s])]
        N = len(votes)
        mean = sum(v for _, v in votes) / N
        m2 = sum((v - mean) ** 2 for _, v in votes) / N
        m4 = sum((v - mean) ** 4 for _, v in votes) / N
        sd = math.sqrt(sum((v - mean) ** 2 for _, v in votes) / (N - 1))   # §2.2.1: N - 1
        beta2 = m4 / m2 ** 2
        k = 2.0 if 2 <= beta2 <= 4 else math.sqrt(20)
        for s, v in votes:
            n[s] += 1
            if v >= mean + k * sd:
                P[s] += 1
            if v <= mean - k * sd:
                Q[s] += 1
    rejected = [(P[s] + Q[s]) / n[s] > 0.05 and P[s] + Q[s] > 0 and abs(P[s] - Q[s]) / (P[s] + Q[s]) < 0.3
                for s in range(S)]
    return P, Q, n, rejected


def test_bt500_counts_equal_a_hand_computation():
    df, u = _table()
    res = bt500_screen(ratings_from_frame(df))
    P, Q, n, rejected = _bt500_by_hand(u)
    assert res.table["P"].tolist() == P
    assert res.table["Q"].tolist() == Q
    assert res.table["n_ratings"].tolist() == n
    assert res.table["rejected"].tolist() == rejected
    assert "s14" in res.rejected                  # the two-sided extreme rater is caught
    row = res.table.set_index("subject").loc["s14"]
    assert "0.05" in row["reason"] and "0.3" in row["reason"]


def test_bt500_one_sided_deviations_are_kept():
    # s13 is always above the others: |P - Q| / (P + Q) = 1 >= 0.3, so kept (a bias, not noise)
    df, u = _table()
    res = bt500_screen(ratings_from_frame(df))
    row = res.table.set_index("subject").loc["s13"]
    assert row["P"] > 0 and row["Q"] == 0 and not row["rejected"]
    assert res.rejected == ["s14"]


def test_p913_rejects_the_worst_first_and_recomputes():
    rng = np.random.default_rng(5)
    q = rng.uniform(1, 5, 40)
    u = q[:, None] + rng.normal(0, 0.4, (40, 8))
    u[:, 6] = rng.uniform(1, 5, 40)            # random rater
    u[:, 7] = 6 - q + rng.normal(0, 0.3, 40)   # reversed scale
    df = pd.DataFrame(u, columns=[f"s{j}" for j in range(8)])
    df.insert(0, "image", [f"im{k}" for k in range(40)])
    res = p913_screen(ratings_from_frame(df))
    assert res.rejected == ["s6", "s7"] or set(res.rejected) == {"s6", "s7"}
    t = res.table.set_index("subject")
    # r of the first rejected equals np.corrcoef with the all-subject MOS
    first = "s7" if "1. of" in t.loc["s7", "reason"] else "s6"
    r = np.corrcoef(df[first], u.mean(axis=1))[0, 1]
    assert t.loc[first, "r_final"] == pytest.approx(r, abs=1e-12)
    # the kept subjects' final r: with the MOS of the kept subjects only
    mos_kept = u[:, :6].mean(axis=1)
    assert t.loc["s0", "r_final"] == pytest.approx(np.corrcoef(u[:, 0], mos_kept)[0, 1], abs=1e-12)
    assert (t.loc[["s0", "s1", "s2", "s3", "s4", "s5"], "r_final"] >= 0.75).all()


def test_screening_in_compute_mos_is_reported_and_applied():
    df, u = _table()
    res = compute_mos(ratings_from_frame(df), screen="bt500")
    assert any("rejected 1 of 15" in n and "s14" in n for n in res.notes)
    kept = np.delete(u, 14, axis=1)
    np.testing.assert_allclose(res.table["mos"], np.nanmean(kept, axis=1))
    assert res.table["n_ratings"].tolist() == np.isfinite(kept).sum(axis=1).tolist()


def test_p913_keeps_at_least_two_subjects():
    df = pd.DataFrame({"image": list("abcdef"), "s0": [1, 5, 1, 5, 1, 5], "s1": [5, 1, 5, 1, 5, 1],
                       "s2": [1, 1, 5, 5, 1, 5]})
    res = screen_subjects(ratings_from_frame(df), "p913")
    assert len(res.kept_indices) == 2 and len(res.rejected) == 1
