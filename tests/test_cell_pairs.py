"""cell_pairs: the heaviest GMC pairs at one point, against a plain double loop over the
reference's pair weight (docs/gmc.md, "Granularity modulator": w_ij = a_i a_j b_ij c_i c_j)."""
from __future__ import annotations

import math

import numpy as np
import pytest

from iqa_eval.data.dataset import Dataset
from iqa_eval.data.simulation import simulate_study
from iqa_eval.errors import InputError
from iqa_eval.gmc.options import GMCOptions
from iqa_eval.gmc.weights import distribution_weights
from iqa_eval.studies.cell_pairs import cell_pairs


def _data(n=60, seed=3):
    df = simulate_study(n, seed=seed)
    return Dataset(mos=df["mos"].to_numpy(), std=df["std"].to_numpy(), keys=df["image"].to_numpy(),
                   predictions={m: df[m].to_numpy() for m in ("high_end", "fine_grain")})


def _loop(data, q, qd, k=1.0, regulator="gaussian"):
    l, s = data.mos, k * data.std
    c = distribution_weights(l, std=data.std, regulator=regulator)
    out = []
    for i in range(len(l)):
        for j in range(i + 1, len(l)):
            ai = math.exp(-(q - l[i]) ** 2 / (2 * s[i] ** 2))
            aj = math.exp(-(q - l[j]) ** 2 / (2 * s[j] ** 2))
            b = math.exp(-(qd - abs(l[i] - l[j])) ** 2 / (2 * (s[i] ** 2 + s[j] ** 2)))
            out.append((ai * aj * b * c[i] * c[j], i, j))
    return out


@pytest.mark.parametrize("q, qd, k", [(3.0, 0.5, 1.0), (4.2, 1.5, 2.0), (1.5, 0.1, 1.0)])
def test_heaviest_pairs_match_a_plain_loop(q, qd, k):
    data = _data()
    got = cell_pairs(data, "high_end", "fine_grain", q, qd, top=7, options=GMCOptions(std_scale=k))
    ref = sorted(_loop(data, q, qd, k=k), key=lambda t: -t[0])
    total = sum(w for w, _, _ in ref)
    assert len(got) == 7
    np.testing.assert_allclose(got["weight"], [w for w, _, _ in ref[:7]], rtol=1e-12)
    np.testing.assert_allclose(got["share"], [w / total for w, _, _ in ref[:7]], rtol=1e-10)
    names = data.keys
    assert list(got["image_i"]) == [names[i] for _, i, _ in ref[:7]]
    assert list(got["image_j"]) == [names[j] for _, _, j in ref[:7]]
    for row, (_, i, j) in zip(got.itertuples(index=False), ref[:7]):
        assert (row.mos_i, row.mos_j) == (data.mos[i], data.mos[j])
        assert (row.high_end_i, row.fine_grain_j) == (data.predictions["high_end"][i],
                                                      data.predictions["fine_grain"][j])
        pa = data.predictions["high_end"]
        assert row.agree_A == int(np.sign(pa[i] - pa[j]) * np.sign(data.mos[i] - data.mos[j]))


def test_blocks_give_the_same_pairs(monkeypatch):
    # the row-block loop keeps the top pairs across blocks
    from iqa_eval.studies import cell_pairs as mod

    data = _data(80)
    whole = cell_pairs(data, "high_end", "fine_grain", 3.0, 0.8, top=12)
    monkeypatch.setattr(mod, "_BLOCK_ELEMENTS", 80 * 3)
    blocked = cell_pairs(data, "high_end", "fine_grain", 3.0, 0.8, top=12)
    assert list(whole["image_i"]) == list(blocked["image_i"])
    assert list(whole["image_j"]) == list(blocked["image_j"])
    np.testing.assert_allclose(blocked["weight"], whole["weight"], rtol=0, atol=0)
    np.testing.assert_allclose(blocked["share"], whole["share"], rtol=1e-12)   # the total summed per block


def test_bad_arguments_are_input_errors():
    data = _data()
    with pytest.raises(InputError, match="unknown model"):
        cell_pairs(data, "high_end", "nope", 3.0, 0.5)
    with pytest.raises(InputError, match="top"):
        cell_pairs(data, "high_end", "fine_grain", 3.0, 0.5, top=0)
    with pytest.raises(InputError, match="finite"):
        cell_pairs(data, "high_end", "fine_grain", float("nan"), 0.5)
