"""The paper table of the three GMC reference sets (LIVEC, KADID-10k, TID2013) and a CD diagram.

Reads the data where it is (``../shared/data/gmc-reference`` next to the repository, or
``--data DIR``). LIVEC holds seven no-reference models; KADID-10k and TID2013 hold the same
six full-reference models — no model is on all three sets. So:

1. ``bench_gmc_reference.tex`` (and ``.png`` when ``pdflatex`` and ``mutool`` are installed):
   the three sets in one table; every model has empty cells where it was not run, and there
   is no mean, mean rank or Friedman test (no dataset has every model — stated in the caption);
2. ``bench_kadid_tid.tex`` (``.png``): the six full-reference models on the two sets they
   share, with means, mean ranks and the Friedman test;
3. ``bench_cd_kadid_tid.png``: the critical-difference diagram of (2).

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


def render_png(tex: str, target: Path) -> bool:
    """Compile the table with pdflatex and draw the page with mutool, cropped to the table."""
    if not (shutil.which("pdflatex") and shutil.which("mutool")):
        return False
    from PIL import Image, ImageChops

    doc = ("\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage[paperwidth=30cm,paperheight=20cm,"
           "margin=1cm]{geometry}\n\\pagestyle{empty}\n\\begin{document}\n" + tex + "\\end{document}\n")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "t.tex").write_text(doc, encoding="utf-8")
        subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "t.tex"], cwd=tmp, check=True,
                       capture_output=True)
        subprocess.run(["mutool", "draw", "-q", "-r", "150", "-o", "t.png", "t.pdf", "1"], cwd=tmp, check=True,
                       capture_output=True)
        img = Image.open(Path(tmp) / "t.png").convert("RGB")
        box = ImageChops.difference(img, Image.new("RGB", img.size, "white")).getbbox()
        img.crop((box[0] - 20, box[1] - 20, box[2] + 20, box[3] + 20)).save(target)
    return True


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=Path("bench_figures"))
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    livec = DatasetSpec(name="LIVEC", files=tuple([args.data / "LIVEC" / "meta.csv"]
                                                  + [args.data / "LIVEC" / f"{m}.csv" for m in LIVEC_MODELS]),
                        mos_scale=(0, 100))
    kadid = dataset_spec(args.data / "kadid10k", name="KADID-10k", mos_scale=(1, 5))
    tid = dataset_spec(args.data / "tid2013", name="TID2013", mos_scale=(0, 9))

    for stem, specs in (("bench_gmc_reference", [livec, kadid, tid]), ("bench_kadid_tid", [kadid, tid])):
        res = benchmark(specs)
        print(res.format("table"))
        for note in res.notes:
            print("note:", note)
        tex = res.to_latex()
        (args.out / f"{stem}.tex").write_text(tex, encoding="utf-8")
        if render_png(tex, args.out / f"{stem}.png"):
            print(f"wrote {args.out / stem}.tex and .png")
        else:
            print(f"wrote {args.out / stem}.tex (no pdflatex/mutool: no PNG)")
        if res.friedman is not None:
            res.cd_diagram(args.out / "bench_cd_kadid_tid.png")
            print(f"wrote {args.out / 'bench_cd_kadid_tid.png'}")


if __name__ == "__main__":
    main()
