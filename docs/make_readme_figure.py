"""Writes the README's demo figure: a small phase-stepping run of the horse on the simulated bench.

Run it:  .venv/bin/python docs/make_readme_figure.py [OUT.png]   (default docs/images/demo-overview.png)
It takes about half a minute; the run file goes to a temporary folder and is deleted afterwards.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from app import Runner, open_bench
from app.storage.figures import build_figures, figure_title
from app.storage.results_file import RESULT_UNITS


def main(out: Path = Path(__file__).parent / "images" / "demo-overview.png") -> Path:
    folder = Path(tempfile.mkdtemp(prefix="qiup-readme-"))
    try:
        with open_bench() as bench:  # the simulated bench of configs/simulation.toml; laser off on exit
            world = bench.camera.world
            pixel_size_um = world.geometry.object_pixel_um * bench.camera.binning()  # pitch x binning / M
            result = Runner(bench).run("phase-stepping", {"frames_per_step": 4}, path=folder / "demo.h5")
        if result.status != "complete":
            raise SystemExit(f"the demo run ended {result.status}: {result.error}")
        maps = {name: result[name] for name in ("visibility", "amplitude", "phase", "phase_unwrapped")}
        maps["mask"] = result["mask"].astype(bool)
        title = figure_title(sample=world.sim.sample, sequence="phase-stepping, 4 steps x 4 frames",
                             run_time="simulated bench")
        figure = build_figures(maps, RESULT_UNITS, title=title, pixel_size_um=pixel_size_um, per_map=False)["overview"]
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(folder / "overview.png")  # at its own dpi: the page is the per-map figures, pixel for pixel
        from PIL import Image  # 80 % size and a 256-colour palette keep the README image small (< 300 kB)

        page = Image.open(folder / "overview.png").convert("RGB")
        page = page.resize((round(page.width * 0.8), round(page.height * 0.8)), Image.Resampling.LANCZOS)
        page.quantize(256, method=Image.Quantize.FASTOCTREE).save(out, optimize=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"wrote {out} ({out.stat().st_size // 1024} kB)")
    return out


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:2]))
