"""Two models with the same global SROCC, told apart by their GMC surfaces.

The project's simulated study (:func:`iqa_eval.data.simulation.simulate_study`) builds two models
whose global SROCC is equal within 1e-3 but whose errors differ in kind:

- ``high_end``: error that shrinks with quality, so it ranks high-quality images well;
- ``fine_grain``: tiny error on most images plus a few gross failures, so it orders images
  with small MOS differences well but misorders some far-apart pairs.

Global metrics cannot separate them. :func:`iqa_eval.studies.compare.compare_models` computes both
GMC surfaces on a regular grid, their difference with a confidence interval per cell and
the paired global tests; this script prints that comparison and writes its figures:

- ``equal_srocc_comparison.png``: A, B and A - B (significant cells hatched);
- ``equal_srocc_surfaces.png``: the two GMC maps side by side;
- ``equal_srocc_compare.html``: the interactive comparison page (offline).

Run from the repository root::

    python examples/equal_srocc.py --out equal_srocc_figures

With the default 1,500 images both regions are significant: high quality and small |ΔMOS|
where ``high_end`` is ahead, low quality where ``fine_grain`` is ahead (``docs/figures`` was
made with ``--n-images 2000``). With 600 images only the low-quality region is significant.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from iqa_eval.render import plot
from iqa_eval import compare_models, correlation_surfaces, Dataset, format_comparison, simulate_study, srocc
from iqa_eval.render.report import write_comparison_page
from iqa_eval.data.simulation import EQUAL_SROCC_PAIR


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n-images", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("equal_srocc_figures"))
    parser.add_argument("--no-html", action="store_true", help="write the PNG figures only")
    args = parser.parse_args(argv)

    df = simulate_study(n_images=args.n_images, seed=args.seed)
    a, b = EQUAL_SROCC_PAIR
    data = Dataset(mos=df["mos"].to_numpy(float), std=df["std"].to_numpy(float),
                   n_ratings=df["n_ratings"].to_numpy(float), keys=df["image"].to_numpy(),
                   predictions={m: df[m].to_numpy(float) for m in (a, b)})
    print(f"simulated study: {len(df)} images (seed {args.seed})")
    for m in (a, b):
        print(f"  global SROCC {m:<12} {srocc(data.predictions[m], data.mos).statistic:.4f}")
    print()

    start = time.perf_counter()
    comparison = compare_models(data, a, b, method="srocc", grid=(20, 20), seed=args.seed)
    print(format_comparison(comparison))
    print(f"\n(compare took {time.perf_counter() - start:.1f} s)")

    surfaces = correlation_surfaces(data, methods=["srocc"], samples=100, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    written = [
        plot.save_figure(plot.comparison_figure(comparison), args.out / "equal_srocc_comparison.png"),
        plot.save_figure(plot.contour_map(surfaces.surface, method="srocc",
                                          title=f"GMC maps (SROCC) of {a} and {b}"),
                         args.out / "equal_srocc_surfaces.png"),
    ]
    if not args.no_html:
        written.append(write_comparison_page(args.out / "equal_srocc_compare.html", comparison,
                                             title=f"{a} vs {b}: equal global SROCC"))
    for path in written:
        print(f"wrote {path}")
    return comparison


if __name__ == "__main__":
    main()
