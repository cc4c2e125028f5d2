"""Figures: the data drawn is the data given, labels and scales are right, files are written safely."""
from __future__ import annotations

import re
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from iqa_eval.render import plot
from iqa_eval.errors import InputError

EVIL = "<img src=x onerror=alert(1)></script>"


def make_surface(models=("a", "b"), methods=("srocc", "plcc"), nq=7, nqd=5, seed=0):
    """Tidy grid surface with known values, rows shuffled (as a join may leave them)."""
    rng = np.random.default_rng(seed)
    q = np.linspace(10.0, 90.0, nq)
    qd = np.linspace(0.0, 80.0, nqd)
    frames = []
    for k, model in enumerate(models):
        for j, method in enumerate(methods):
            qq, dd = np.meshgrid(q, qd)
            value = 0.3 + 0.1 * k + 0.05 * j + 0.004 * qq - 0.002 * dd
            frames.append(pd.DataFrame({"model": model, "method": method, "Q": qq.ravel(),
                                        "Qd": dd.ravel(), "value": value.ravel()}))
    out = pd.concat(frames, ignore_index=True)
    return out.iloc[rng.permutation(len(out))].reset_index(drop=True)


def value_at(surface, model, method, q, qd):
    row = surface[(surface.model == model) & (surface.method == method) & (surface.Q == q) & (surface.Qd == qd)]
    assert len(row) == 1
    return float(row.value.iloc[0])


class LinearFit:
    """Test double of iqa_eval.stats.mapping.MappingFit (predict, kind, params)."""

    kind = "linear"

    def __init__(self, a, b):
        self.params = np.array([a, b])

    def predict(self, x):
        return self.params[0] * np.asarray(x) + self.params[1]


# -- the grid -------------------------------------------------------------------------
def test_grid_values_places_every_value_at_its_node():
    from iqa_eval.gmc.sampling import grid_values

    s = make_surface()
    rows = s[(s.model == "b") & (s.method == "plcc")]
    q, qd, z = grid_values(rows)
    assert z.shape == (q.size, qd.size) == (7, 5)
    for i in range(q.size):
        for j in range(qd.size):
            assert z[i, j] == value_at(s, "b", "plcc", q[i], qd[j])


def test_grid_values_rejects_irregular_rows():
    from iqa_eval.gmc.sampling import grid_values

    s = make_surface()
    rows = s[(s.model == "a") & (s.method == "srocc")]
    with pytest.raises(InputError, match="regular grid"):
        grid_values(rows.iloc[1:])
    dup = pd.concat([rows.iloc[1:], rows.iloc[[1]]])  # one node twice, one missing
    with pytest.raises(InputError, match="regular grid"):
        grid_values(dup)


def test_bad_surface_input_is_an_input_error():
    with pytest.raises(InputError, match="lacks column"):
        plot.surface_figure(pd.DataFrame({"model": ["a"], "Q": [1.0]}))
    with pytest.raises(InputError, match="method 'xx'"):
        plot.surface_figure(make_surface(), method="xx")
    with pytest.raises(InputError, match="not in the surface"):
        plot.contour_map(make_surface(), models=["zz"])


# -- interactive -------------------------------------------------------------------------
def test_surface_figure_draws_each_model_with_its_values_and_labels():
    s = make_surface(models=("a", "b", "c"))
    fig = plot.surface_figure(s, method="PLCC")  # case-insensitive method
    assert [t.type for t in fig.data] == ["surface"] * 3
    # models in the order they first appear in the table (the GMC API's model order)
    assert [t.name for t in fig.data] == list(dict.fromkeys(s[s.method == "plcc"].model))
    for t in fig.data:
        assert t.showlegend and t.legendgroup == t.name
        x, y, z = np.asarray(t.x), np.asarray(t.y), np.asarray(t.z)
        for i in (0, 3, 6):
            for j in (0, 4):
                assert z[j, i] == pytest.approx(value_at(s, t.name, "plcc", x[i], y[j]), rel=1e-6)
        assert "MOS" in t.hovertemplate and "|ΔMOS|" in t.hovertemplate and "%{z" in t.hovertemplate
        assert "PLCC" in t.hovertemplate
    # one colour scale per model, on one shared value range
    scales = [tuple(map(tuple, t.colorscale)) for t in fig.data]
    assert len(set(scales)) == 3
    assert len({(t.cmin, t.cmax) for t in fig.data}) == 1
    assert fig.data[0].cmin == pytest.approx(s[s.method == "plcc"].value.min())
    assert fig.data[0].cmax == pytest.approx(s[s.method == "plcc"].value.max())
    scene = fig.layout.scene
    assert scene.xaxis.title.text == "MOS" and scene.yaxis.title.text == "|ΔMOS|"
    assert scene.zaxis.title.text == "PLCC"


def test_surface_figure_defaults_to_srocc_and_escapes_names():
    s = make_surface(models=("a", EVIL), methods=("plcc", "srocc"))
    fig = plot.surface_figure(s)
    assert fig.layout.scene.zaxis.title.text == "SROCC"
    # plotly.js renders names as pseudo-HTML: the escaped name displays literally
    assert "&lt;img src=x onerror=alert(1)&gt;&lt;/script&gt;" in [t.name for t in fig.data]


def test_interactive_html_is_self_contained_and_script_safe(tmp_path):
    s = make_surface(models=("a", EVIL))
    out = plot.save_figure(plot.surface_figure(s), tmp_path / "s.html")
    text = out.read_text(encoding="utf-8")
    from plotly.offline import get_plotlyjs

    assert text.count(get_plotlyjs()) == 1  # plotly.js itself is inside, once
    rest = text.replace(get_plotlyjs(), "")
    assert not re.search(r"<script[^>]*\bsrc\s*=", rest)  # nothing loaded from elsewhere
    assert not re.search(r"https?:", rest) and "//" not in rest
    assert '<meta http-equiv="Content-Security-Policy" content="default-src \'none\';' in text  # the report's CSP
    assert "Plotly.newPlot" in text
    # the user string never appears raw: '<', '>' and '/' inside the figure JSON are escaped
    assert EVIL not in text and "onerror=alert(1)>" not in text
    assert text.count("</script>") == text.count("<script")
    # saving twice writes the same bytes (no random element ids)
    again = plot.save_figure(plot.surface_figure(s), tmp_path / "t.html").read_text(encoding="utf-8")
    assert again == text


def test_plotly_figure_refuses_static_formats(tmp_path):
    fig = plot.surface_figure(make_surface())
    for ext in ("png", "pdf", "svg", "txt"):
        with pytest.raises(InputError, match=r"saved as \.html"):
            plot.save_figure(fig, tmp_path / f"s.{ext}")
    with pytest.raises(InputError, match="static figure"):
        plot.save_figure(plot.contour_map(make_surface()), tmp_path / "c.html")


# -- static ---------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_static_figures_save_by_extension_reproducibly(tmp_path, ext, magic):
    # the same input gives the same bytes (no dates, fixed SVG ids)
    first = plot.save_figure(plot.contour_map(make_surface()), tmp_path / f"a.{ext}").read_bytes()
    second = plot.save_figure(plot.contour_map(make_surface()), tmp_path / f"b.{ext}").read_bytes()
    assert first.startswith(magic)
    assert first == second


def test_save_surface_picks_the_figure_for_the_extension(tmp_path):
    s = make_surface()
    assert plot.save_surface(s, tmp_path / "s.html").read_text(encoding="utf-8").lower().startswith("<!doctype html>")
    assert plot.save_surface(s, tmp_path / "s.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(InputError, match=r"\.gif"):
        plot.save_surface(s, tmp_path / "s.gif")


@pytest.mark.parametrize("draw", [plot.surface_3d, plot.contour_map])
def test_panels_fill_a_partial_last_row(tmp_path, draw):
    s = make_surface(models=tuple("abcde"), methods=("srocc",))  # 5 panels on a 4-wide layout
    fig = draw(s)
    titles = sorted(ax.get_title() for ax in fig.axes if ax.get_title())
    assert titles == list("abcde")
    assert plot.save_figure(fig, tmp_path / "f.png").read_bytes().startswith(b"\x89PNG")


def test_dollar_signs_in_names_are_literal_text(tmp_path):
    names = ("bad $^$ name", "a$b")  # "$^$" is a mathtext parse error if not escaped
    fig = plot.contour_map(make_surface(models=names, methods=("srocc",)))
    plot.save_figure(fig, tmp_path / "d.png")
    titles = sorted(ax.get_title() for ax in fig.axes if ax.get_title())
    assert titles == sorted(n.replace("$", r"\$") for n in names)


def test_surface_3d_and_contour_panels_share_one_scale():
    s = make_surface(models=("a", "b", "c"))
    fig = plot.surface_3d(s, method="srocc")
    panels = [ax for ax in fig.axes if hasattr(ax, "get_zlim")]
    assert sorted(ax.get_title() for ax in panels) == ["a", "b", "c"]
    lo, hi = s[s.method == "srocc"].value.min(), s[s.method == "srocc"].value.max()
    for ax in panels:
        assert ax.get_xlabel() == "MOS" and ax.get_ylabel() == "|ΔMOS|" and ax.get_zlabel() == "SROCC"
        assert ax.get_zlim() == pytest.approx((lo, hi))
        # the drawn surface's colour range is the shared one
        assert ax.collections[0].norm.vmin == pytest.approx(lo)
    fig = plot.contour_map(s, method="srocc", levels=8)
    maps = [ax for ax in fig.axes if ax.get_title() in ("a", "b", "c")]
    assert len(maps) == 3
    for ax in maps:
        cs = ax.collections[0] if not hasattr(ax, "_children") else [c for c in ax.get_children()
                                                                      if hasattr(c, "levels")][0]
        assert cs.levels[0] == pytest.approx(lo) and cs.levels[-1] == pytest.approx(hi)
        assert len(cs.levels) == 9


def _filled(ax):
    return [c for c in ax.get_children() if hasattr(c, "levels") and getattr(c, "filled", False)]


def test_difference_map_is_centred_at_zero_and_hatches_significant_cells():
    s = make_surface(models=("a", "b"), methods=("srocc",))
    sa = s[s.model == "a"].sort_values(["Qd", "Q"])
    sb = s[s.model == "b"].sort_values(["Qd", "Q"])
    diff = sa.value.to_numpy() - sb.value.to_numpy()  # constant -0.1 by construction
    cells = pd.DataFrame({"Q": sa.Q.to_numpy(), "Qd": sa.Qd.to_numpy(), "diff": diff,
                          "significant": sa.Q.to_numpy() > 50})
    fig = plot.difference_map(s, "a", "b", cells=cells)
    ax = fig.axes[0]
    filled = _filled(ax)
    main = filled[0]
    assert main.norm.vcenter == 0.0
    assert main.norm.vmin == pytest.approx(-0.1) and main.norm.vmax == pytest.approx(0.1)
    hatched = [c for c in filled if getattr(c, "hatches", [None])[0]]
    assert len(hatched) == 1
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    frac = 100 * np.mean(cells.significant)
    assert any(f"significant ({frac:.0f}% of cells)" in t for t in legend)
    # the same map from the cells alone (as compare gives them)
    fig2 = plot.difference_map(None, "a", "b", cells=cells)
    assert _filled(fig2.axes[0])[0].norm.vmin == pytest.approx(-0.1)
    with pytest.raises(InputError):
        plot.difference_map(None, "a", "b")


def test_difference_map_hatches_a_coarser_comparison_grid():
    s = make_surface(models=("a", "b"), methods=("srocc",), nq=9, nqd=7)
    q, qd = np.meshgrid([10.0, 50.0, 90.0], [0.0, 80.0])  # 3 x 2 comparison cells, same rectangle
    cells = pd.DataFrame({"Q": q.ravel(), "Qd": qd.ravel(), "significant": q.ravel() < 30})
    fig = plot.difference_map(s, "a", "b", cells=cells)
    filled = _filled(fig.axes[0])
    hatched = [c for c in filled if getattr(c, "hatches", [None])[0]]
    assert len(hatched) == 1
    assert "significant (33% of cells)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_difference_map_of_identical_models_is_flat_zero():
    s = make_surface(models=("a",), methods=("srocc",))
    twin = s.assign(model="b")
    fig = plot.difference_map(pd.concat([s, twin]), "a", "b")
    main = _filled(fig.axes[0])[0]
    assert main.norm.vmin < 0 < main.norm.vmax  # a flat map still gets a valid colour range


def test_comparison_figure_has_a_b_and_difference():
    s = make_surface(models=("a", "b"), methods=("srocc",))
    sa = s[s.model == "a"].sort_values(["Qd", "Q"])
    sb = s[s.model == "b"].sort_values(["Qd", "Q"])
    cells = pd.DataFrame({"Q": sa.Q.to_numpy(), "Qd": sa.Qd.to_numpy(), "A": sa.value.to_numpy(),
                          "B": sb.value.to_numpy()})
    cells["diff"] = cells.A - cells.B
    cells["significant"] = False
    fig = plot.comparison_figure(SimpleNamespace(models=["a", "b"], cells=cells, method="srocc"))
    titles = [ax.get_title() for ax in fig.axes]
    assert "A: a" in titles and "B: b" in titles and "A - B (hatched: significant)" in titles


def test_scatter_draws_points_and_the_fitted_curve():
    rng = np.random.default_rng(1)
    mos = rng.uniform(1, 5, 40)
    preds = {"m1": mos + rng.normal(0, 0.3, 40), "m2": -mos + rng.normal(0, 0.3, 40)}
    preds["m2"][3] = np.nan
    fits = {"m1": LinearFit(0.9, 0.2)}
    fig = plot.scatter_figure(preds, fits, mos=mos)
    ax1, ax2 = fig.axes[:2]
    pts = ax1.collections[0].get_offsets()
    assert np.allclose(pts[:, 0], preds["m1"]) and np.allclose(pts[:, 1], mos)
    (line,) = ax1.get_lines()
    assert np.allclose(line.get_ydata(), 0.9 * line.get_xdata() + 0.2)
    assert line.get_xdata().min() == pytest.approx(preds["m1"].min())
    assert "linear mapping" in [t.get_text() for t in ax1.get_legend().get_texts()]
    assert "n=40" in ax1.get_title()
    assert not ax2.get_lines()  # no fit given: points only
    assert "n=39, 1 missing not drawn" in ax2.get_title()
    assert len(ax2.collections[0].get_offsets()) == 39


def test_scatter_draws_a_real_logistic_fit():
    from iqa_eval.stats.mapping import fit_mapping

    rng = np.random.default_rng(5)
    pred = rng.uniform(0, 1, 120)
    mos = 1 + 4 / (1 + np.exp(-(pred - 0.5) / 0.1)) + rng.normal(0, 0.1, 120)
    fit = fit_mapping(pred, mos, kind="logistic4")
    fig = plot.scatter_figure({"m": pred}, {"m": fit}, mos=mos)
    (line,) = fig.axes[0].get_lines()
    np.testing.assert_allclose(line.get_ydata(), fit.predict(line.get_xdata()))
    assert f"{fit.kind} mapping" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_scatter_from_a_dataset_marks_flipped_models():
    from iqa_eval.data.dataset import Dataset

    mos = np.linspace(1, 5, 10)
    data = Dataset(mos=mos, predictions={"niqe": -mos, "ok": mos}, flipped=("niqe",))
    fig = plot.scatter_figure(data, {"ok": LinearFit(1.0, 0.0)})
    assert "negated" in fig.axes[0].get_xlabel() and "negated" not in fig.axes[1].get_xlabel()
    with pytest.raises(InputError, match="unknown model"):
        plot.scatter_figure(data, {}, models=["zz"])
    with pytest.raises(InputError, match="needs mos"):
        plot.scatter_figure({"a": mos}, {})


def test_plotting_libraries_are_not_imported_with_the_package():
    code = ("import sys, iqa_eval, iqa_eval.render.plot, iqa_eval.render.report; "
            "bad = [m for m in ('matplotlib', 'plotly') if m in sys.modules]; "
            "sys.exit(1 if bad else 0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


# -- the example scripts (they must keep running and saying true things) ---------------------
def _load_example(name):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "examples" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"example_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_livec_example_reproduces_the_published_scores(shared_dir, tmp_path, capsys):
    example = _load_example("reproduce_livec_surfaces")
    table = example.main(["--data", str(shared_dir / "LIVEC"), "--out", str(tmp_path)])
    golden = pd.read_csv(shared_dir / "LIVEC" / "golden_heights.csv")
    assert len(table) == len(golden) == 21
    assert table["difference"].abs().max() <= 2e-4 + 1e-9
    assert "within the 2e-4 rounding tolerance" in capsys.readouterr().out
    for name in ("livec_surfaces.html", "livec_surfaces_srocc.png", "livec_contours_srocc.png",
                 "livec_difference_clipiqa+_topiq_nr.png"):
        assert (tmp_path / name).stat().st_size > 10_000


@pytest.mark.slow
def test_equal_srocc_example_runs(tmp_path, capsys):
    example = _load_example("equal_srocc")
    comparison = example.main(["--n-images", "300", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert list(comparison.models) == ["high_end", "fine_grain"]
    assert "global SROCC high_end" in out and "global SROCC fine_grain" in out
    for name in ("equal_srocc_comparison.png", "equal_srocc_surfaces.png", "equal_srocc_compare.html"):
        assert (tmp_path / name).stat().st_size > 10_000
