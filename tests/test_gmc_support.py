"""Only supported regions: every GMC point carries Kish's effective number of image pairs
``n_eff = (sum w)^2 / sum w^2`` over the pair weights of ../shared/docs/gmc-reference.md
("Granularity modulator"), and points below ``min_pairs`` are masked (never tested by compare)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from iqa_eval import Dataset
from iqa_eval.gmc import GMCOptions, correlation_surfaces
from iqa_eval.gmc.support import effective_pairs


def _plain_n_eff(l, s, c, q, qd):
    """The reference weights written out pair by pair (gmc-reference.md, "Granularity modulator"):
    a_i = exp(-(Q - l_i)^2 / (2 s_i^2)), v_ij = s_i^2 + s_j^2, b_ij = exp(-(Qd - |l_i - l_j|)^2 / (2 v_ij)),
    w_ij = a_i a_j b_ij c_i c_j; an image with s_i = 0 gets a_i = 0. Kish: (sum w)^2 / sum w^2."""
    sw = sw2 = 0.0
    n = len(l)
    for i in range(n):
        for j in range(i + 1, n):
            ai = 0.0 if s[i] == 0 else np.exp(-(q - l[i]) ** 2 / (2 * s[i] ** 2))
            aj = 0.0 if s[j] == 0 else np.exp(-(q - l[j]) ** 2 / (2 * s[j] ** 2))
            v = s[i] ** 2 + s[j] ** 2
            b = 0.0 if v == 0 else np.exp(-(qd - abs(l[i] - l[j])) ** 2 / (2 * v))
            w = ai * aj * b * c[i] * c[j]
            sw += w
            sw2 += w * w
    return sw * sw / sw2


def _study(seed=0):
    rng = np.random.default_rng(seed)
    l = rng.uniform(1, 5, 70)
    s = rng.uniform(0.1, 0.9, 70)
    s[3] = 0.0                                      # a zero-std image carries no weight
    c = rng.uniform(0.2, 40.0, 70)                  # regulator weights far from 1
    return l, s, c


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_effective_pairs_equal_the_plain_double_loop(backend):
    l, s, c = _study()
    q = np.array([1.2, 3.0, 4.9, 2.2, 3.7])
    qd = np.array([0.1, 1.0, 3.6, 0.0, 2.5])
    mine = effective_pairs(l, s, c, q, qd, backend=backend)
    ref = np.array([_plain_n_eff(l, s, c, a, b) for a, b in zip(q, qd)])
    np.testing.assert_allclose(mine, ref, rtol=1e-10)
    # with the engine's own sum w (the shortcut compare and the surfaces take) the same
    from iqa_eval.gmc.engine import pair_sums
    sw = pair_sums(l[None], l, s, c, q, qd, methods=("krcc",)).sw
    np.testing.assert_allclose(effective_pairs(l, s, c, q, qd, sw=sw), ref, rtol=1e-10)


def test_effective_pairs_limits():
    l = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    # equal weights (std far above the range, equal c): every one of the 10 pairs counts
    assert effective_pairs(l, np.full(5, 1e8), np.ones(5), [3.0], [2.0])[0] == pytest.approx(10.0)
    # one pair carries all the weight (narrow std, the point on that pair): n_eff -> 1
    n = effective_pairs(np.array([1.0, 1.2, 9.0, 9.5]), np.full(4, 0.05), np.ones(4), [1.1], [0.2])
    assert n[0] == pytest.approx(1.0, abs=1e-6)
    # no pair within ~27 std: every w^2 underflows; no supporting pair -> 0, not NaN or inf
    assert effective_pairs(l, np.full(5, 0.01), np.ones(5), [3.0], [4.0])[0] == 0.0
    # all regulator weights 0: nothing carries weight
    assert effective_pairs(l, np.ones(5), np.zeros(5), [3.0], [1.0])[0] == 0.0


def _gap_study(seed=0):
    """SPAQ-like: a MOS range (52-82 of 0-100) with almost no images (four), std 5 given. Model b
    agrees with a except inside the gap, where it reverses the order of the four images."""
    rng = np.random.default_rng(seed)
    l = np.concatenate([rng.uniform(0, 50, 200), rng.uniform(85, 100, 80), [56.0, 63.0, 70.0, 77.0]])
    a = l + rng.normal(0, 3, l.size)
    b = a.copy()
    gap = (l > 52) & (l < 82)
    b[gap] = 200 - 2 * l[gap]
    return Dataset(mos=l, std=np.full(l.size, 5.0), predictions={"a": a, "b": b}), gap


def test_grid_surface_cells_carry_n_eff_and_the_gap_is_masked():
    data, _ = _gap_study()
    res = correlation_surfaces(data, grid=(12, 12), methods=["srocc"])
    for table in (res.points, res.surface):
        assert {"n_eff", "supported"} <= set(table.columns)
    # the n_eff of the exact grid is the plain double loop's at every node
    nodes = res.surface.drop_duplicates(["Q", "Qd"])
    pick = nodes.iloc[::29]
    ref = [_plain_n_eff(data.mos, data.std, _regulator(data), q, qd) for q, qd in zip(pick.Q, pick.Qd)]
    np.testing.assert_allclose(pick.n_eff.to_numpy(), ref, rtol=1e-9)
    np.testing.assert_array_equal(res.surface.supported, res.surface.n_eff >= 45.0)
    assert res.config["min_pairs"] == 45.0
    gap_cells = nodes[(nodes.Q > 60) & (nodes.Q < 75) & (nodes.Qd < 20)]
    assert len(gap_cells) == 6 and not gap_cells.supported.any()
    assert (nodes.Q < 45).any() and nodes[(nodes.Q < 45) & (nodes.Qd < 30)].supported.all()
    assert any("effective image pairs (min_pairs): masked" in n for n in res.notes)
    # min_pairs is an option: 0 keeps every cell; the values themselves never change
    res0 = correlation_surfaces(data, grid=(12, 12), methods=["srocc"], min_pairs=0)
    assert res0.surface.supported.all()
    np.testing.assert_array_equal(res0.surface.value, res.surface.value)
    assert res0.scores.equals(res.scores)          # the score integrates the whole surface


def _regulator(data):
    from iqa_eval.gmc.weights import distribution_weights
    return distribution_weights(data.mos, std=data.std, regulator="gaussian", plus=10.0)


def test_regressed_surface_nodes_take_their_nearest_sample_points_support():
    data, _ = _gap_study()
    res = correlation_surfaces(data, methods=["srocc"], options=GMCOptions(samples=40), grid_res=15)
    pts = res.points.drop_duplicates(["Q", "Qd"])
    lo, hi = data.mos.min(), data.mos.max()
    span = hi - lo
    for node in res.surface.drop_duplicates(["Q", "Qd"]).itertuples():
        d = ((pts.Q - node.Q) / span) ** 2 + ((pts.Qd - node.Qd) / span) ** 2
        nearest = pts.iloc[int(np.argmin(d.to_numpy()))]
        assert node.n_eff == nearest.n_eff and node.supported == nearest.supported
    assert not res.surface.supported.all() and res.surface.supported.any()


def test_compare_never_tests_or_calls_masked_cells_significant():
    from iqa_eval.studies.compare import compare_models

    data, _ = _gap_study()
    # (n_resamples: the global KRCC bootstrap, not under test here)
    loose = compare_models(data, "a", "b", grid=(12, 12), min_images=0, min_pairs=0, n_resamples=20)
    strict = compare_models(data, "a", "b", grid=(12, 12), min_images=0, n_resamples=20)
    in_gap = lambda c: (c.Q > 60) & (c.Q < 75) & (c.Qd < 20)       # noqa: E731
    # without the mask, the four-image gap is called significant (b reverses it) ...
    assert (loose.cells.significant & in_gap(loose.cells)).sum() >= 3
    # ... with it those cells are masked: not tested, no interval, never significant
    cells = strict.cells
    masked = ~cells.supported
    assert masked[in_gap(cells)].all()
    assert not (cells.significant & masked).any() and not (cells.tested & masked).any()
    assert cells.loc[masked, ["ci_low", "ci_high", "pvalue"]].isna().all().all()
    np.testing.assert_array_equal(cells.supported, cells.n_eff >= 45.0)
    np.testing.assert_array_equal(cells["diff"], loose.cells["diff"])      # values are kept, only masked
    assert any("min_pairs" in n for n in strict.notes)
    d = strict.to_dict()["surface"]
    assert d["min_pairs"] == 45.0
    assert [c["supported"] for c in d["cells"]] == cells.supported.tolist()


def test_published_livec_points_are_all_supported(shared_dir):
    """LIVEC's published samples (std ~20 on 0-100): every point rests on >10,000 effective pairs,
    so masking leaves every published value in place (tests/test_gmc_reference.py checks them)."""
    folder = shared_dir / "LIVEC"
    meta = pd.read_csv(folder / "meta.csv")
    samples = pd.read_csv(folder / "samples.csv")
    c = np.loadtxt(folder / "weights.txt")
    n = effective_pairs(meta.mos.to_numpy(), meta["std"].to_numpy(), c, samples.Q, samples.Qd)
    assert n.shape == (100,) and n.min() > 10_000


@pytest.mark.slow
def test_figures_leave_masked_cells_blank():
    pytest.importorskip("plotly")
    pytest.importorskip("matplotlib")
    from iqa_eval.render.plot import comparison_figure, contour_map, difference_map, surface_figure
    from iqa_eval.studies.compare import compare_models

    data, _ = _gap_study()
    res = correlation_surfaces(data, grid=(12, 12), methods=["srocc"])
    surf = res.surface
    assert np.isfinite(surf.value).all()            # the values exist; only the drawing masks them
    fig = surface_figure(surf)
    for trace, model in zip(fig.data, ("a", "b")):
        rows = surf[surf.model == model]
        z = np.asarray(trace.z, dtype=float)        # rows = Qd, columns = Q
        q, qd = np.asarray(trace.x, dtype=float), np.asarray(trace.y, dtype=float)
        for r in rows.itertuples():
            i, j = int(np.argmin(np.abs(q - r.Q))), int(np.argmin(np.abs(qd - r.Qd)))
            assert np.isnan(z[j, i]) == (not r.supported)
    # the same table with every cell supported draws no blank
    full = surface_figure(surf.assign(supported=True))
    assert not np.isnan(np.asarray(full.data[0].z, dtype=float)).any()
    contour_map(surf)                               # NaN cells: contourf leaves them out
    comp = compare_models(data, "a", "b", grid=(12, 12), n_resamples=20)
    for fig in (comparison_figure(comp), difference_map(None, "a", "b", cells=comp.cells)):
        labels = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().get_texts()]
        assert "blank: too few image pairs (masked)" in labels
