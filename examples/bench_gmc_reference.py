"""The paper table of the three GMC reference sets (LIVEC, KADID-10k, TID2013) and a CD diagram.

Reads the data where it is (``../shared/data/gmc-reference`` next to the repository, or
``--data DIR``). LIVEC holds seven no-reference models; KADID-10k and TID2013 hold the same
six full-reference models — no model is on all three sets. So:

1. ``bench_gmc_reference.tex`` (and ``.png`` when ``pdflatex`` and ``pdftoppm`` are installed):
   the three sets in one table, models in groups (no-/full-reference, traditional/deep) under
   display names; every model has empty cells where it was not run, and there is no mean, mean
   rank or Friedman test (no dataset has every model — stated in the caption);
2. ``bench_kadid_tid.tex`` (``.png``): the six full-reference models on the two sets they
   share, with SROCC, PLCC and RMSE, means, mean ranks and the Friedman test (scaled to the
   text width); ``bench_kadid_tid_transposed`` the same with datasets as rows;
3. ``significance_kadid_tid.tex`` (``.png``): the all-pairs "1 / 0 / −" matrix (Holm);
4. ``bench_cd_kadid_tid.png``: the critical-difference diagram of (2).

Run from the repository root::

    python examples/bench_gmc_reference.py --out docs/figures
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

from iqa_eval.studies.bench import DatasetSpec, benchmark, dataset_spec

DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "gmc-reference"
LIVEC_MODELS = ("clipiqa", "clipiqa+", "niqe", "qalign", "qualiclip", "qualiclip+", "topiq_nr")


def render_png(tex: str, target: Path, *, dpi: int = 130) -> bool:
    """Compile the table in a plain article page (its text width: a table that fits, fits there) with
    pdflatex, draw it with pdftoppm and crop it to the table."""
    if not (shutil.which("pdflatex") and shutil.which("pdftoppm")):
        return False
    from PIL import Image, ImageChops

    doc = ("\\documentclass{article}\n\\usepackage{booktabs,graphicx}\n\\pagestyle{empty}\n"
           "\\begin{document}\n" + tex + "\\end{document}\n")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t.tex").write_text(doc, encoding="utf-8")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp, check=True,
                       capture_output=True)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-singlefile", "t.pdf", "t"], cwd=tmp, check=True,
                       capture_output=True)
        img = Image.open(Path(tmp) / "t.png").convert("L")
        box = ImageChops.difference(img, Image.new("L", img.size, 255)).getbbox()
        img = img.crop((box[0] - 12, box[1] - 12, box[2] + 12, box[3] + 12))
        img.quantize(16).save(target, optimize=True)   # a few grey levels: small files
    return True


#: Display names and groups, as a manifest's [[model]] tables or --label/--group give them.
LABELS = {"clipiqa": "CLIP-IQA", "clipiqa+": "CLIP-IQA+", "niqe": "NIQE", "qalign": "Q-Align",
          "qualiclip": "QualiCLIP", "qualiclip+": "QualiCLIP+", "topiq_nr": "TOPIQ-NR", "psnr": "PSNR",
          "ssim": "SSIM", "ms_ssim": "MS-SSIM", "lpips": "LPIPS", "dists": "DISTS", "DeepWSD": "DeepWSD"}
GROUPS = {**dict.fromkeys(["niqe"], "no-reference, traditional"),
          **dict.fromkeys(["clipiqa", "clipiqa+", "qalign", "qualiclip", "qualiclip+", "topiq_nr"],
                          "no-reference, deep"),
          **dict.fromkeys(["psnr", "ssim", "ms_ssim"], "full-reference, traditional"),
          **dict.fromkeys(["lpips", "dists", "DeepWSD"], "full-reference, deep")}


def main(argv=None):
    from iqa_eval.render.significance import format_significance
    from iqa_eval.studies.significance import significance_matrix

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=Path("bench_figures"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    livec = DatasetSpec(name="LIVEC", files=tuple([args.data / "LIVEC" / "meta.csv"]
                                                  + [args.data / "LIVEC" / f"{m}.csv" for m in LIVEC_MODELS]),
                        mos_scale=(0, 100), join="order")
    kadid = dataset_spec(args.data / "kadid10k", name="KADID-10k", mos_scale=(1, 5), join="order")
    tid = dataset_spec(args.data / "tid2013", name="TID2013", mos_scale=(0, 9), join="order")

    def write(stem, tex):
        (args.out / f"{stem}.tex").write_text(tex, encoding="utf-8")
        done = render_png(tex, args.out / f"{stem}.png")
        print(f"wrote {args.out / stem}.tex" + (" and .png" if done else " (no pdflatex/pdftoppm: no PNG)"))

    three = benchmark([livec, kadid, tid])
    pick = lambda d, res: {m: v for m, v in d.items() if m in res.models}   # noqa: E731
    write("bench_gmc_reference", three.to_latex(labels=pick(LABELS, three), groups=pick(GROUPS, three)))
    both = benchmark([kadid, tid])
    print(both.format("table", labels=pick(LABELS, both), groups=pick(GROUPS, both)))
    view = {"labels": pick(LABELS, both), "groups": pick(GROUPS, both)}
    write("bench_kadid_tid", both.to_latex(metrics=("srocc", "plcc", "rmse"), **view))
    write("bench_kadid_tid_transposed", both.to_latex(metrics=("srocc", "plcc"), transpose=True, **view))
    write("significance_kadid_tid", format_significance(significance_matrix(both), "latex", labels=view["labels"]))
    both.cd_diagram(args.out / "bench_cd_kadid_tid.png")
    print(f"wrote {args.out / 'bench_cd_kadid_tid.png'}")


if __name__ == "__main__":
    main()
