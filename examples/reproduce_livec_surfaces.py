"""Reproduce the published GMC surfaces of LIVEC (seven no-reference IQA models).

Reads the reference data where it is (``../shared/data/gmc-reference/LIVEC`` next to the
repository, or ``--data DIR``): each model's predictions and MOS, the per-image std of
``meta.csv``, the published regulator weights ``weights.txt`` and sample points
``samples.csv``. Computes the GMC point values, the surfaces and their scores with the
:mod:`iqa_eval.gmc` API, prints the scores beside the published ``golden_heights.csv``, and
writes the figures:

- ``livec_surfaces.html``: interactive 3D surfaces of every model (SROCC), offline page;
- ``livec_surfaces_srocc.png``: the same surfaces as static 3D panels;
- ``livec_contours_srocc.png``: filled contour maps (MOS across, |ΔMOS| up);
- ``livec_difference_clipiqa+_topiq_nr.png``: difference map of two models with close scores.

Run from the repository root::

    python examples/reproduce_livec_surfaces.py --out livec_figures
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import pandas as pd

from iqa_eval.render import plot
from iqa_eval.gmc import gmc_points, gmc_score, gmc_surface, read_sample_file, read_weights_file

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gmc-reference" / "LIVEC"


def load_livec(base: Path):
    """Predictions (dict), MOS, std, published weights and sample points of LIVEC."""
    golden = pd.read_csv(base / "golden_heights.csv")
    golden["method"] = golden["method"].replace({"SRCC": "SROCC"})  # the reference's spelling
    models = list(dict.fromkeys(golden["model"]))
    preds, mos = {}, None
    for model in models:
        table = pd.read_csv(base / f"{model}.csv")
        preds[model] = table["Results Scores for CC"].to_numpy()
        mos = table["Ground Truth Labels"].to_numpy() if mos is None else mos
    std = pd.read_csv(base / "meta.csv")["std"].to_numpy()
    return dict(preds=preds, mos=mos, std=std, golden=golden,
                weights=read_weights_file(base / "weights.txt"),
                samples=read_sample_file(base / "samples.csv"))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the LIVEC reference folder")
    parser.add_argument("--out", type=Path, default=Path("livec_figures"), help="folder for the figures")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        parser.error(f"reference data not found at {args.data} (pass --data)")

    livec = load_livec(args.data)
    start = time.perf_counter()
    points = gmc_points(livec["preds"], livec["mos"], std=livec["std"], samples=livec["samples"],
                        weights=livec["weights"])
    t_points = time.perf_counter() - start
    surface = gmc_surface(points, mos_range=(livec["mos"].min(), livec["mos"].max()))
    scores = gmc_score(surface)
    t_total = time.perf_counter() - start

    golden = livec["golden"].rename(columns={"avg_height": "published"})
    table = scores.assign(method=scores["method"].str.upper()).merge(golden, on=["model", "method"])
    table["difference"] = table["gmc"] - table["published"]
    print(f"LIVEC: {len(livec['mos'])} images, {len(livec['preds'])} models, "
          f"{len(livec['samples'])} published sample points")
    print(f"points {t_points:.1f} s, points + surfaces {t_total:.1f} s\n")
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4f}"))
    worst = table["difference"].abs().max()
    print(f"\nlargest |ours - published| = {worst:.4f} "
          f"({'within' if worst <= 2e-4 + 1e-9 else 'OUTSIDE'} the 2e-4 rounding tolerance)")

    args.out.mkdir(parents=True, exist_ok=True)
    written = [
        plot.save_figure(plot.surface_figure(surface, method="srocc",
                                             title="LIVEC: GMC surfaces (SROCC)"),
                         args.out / "livec_surfaces.html"),
        plot.save_figure(plot.surface_3d(surface, method="srocc", title="LIVEC: GMC surfaces (SROCC)"),
                         args.out / "livec_surfaces_srocc.png"),
        plot.save_figure(plot.contour_map(surface, method="srocc", title="LIVEC: GMC maps (SROCC)"),
                         args.out / "livec_contours_srocc.png"),
        # two models whose GMC SROCC scores are close (0.7478 vs 0.7434) but whose surfaces differ
        plot.save_figure(plot.difference_map(surface, "clipiqa+", "topiq_nr", method="srocc"),
                         args.out / "livec_difference_clipiqa+_topiq_nr.png"),
    ]
    for path in written:
        print(f"wrote {path}")
    return table


if __name__ == "__main__":
    main()
