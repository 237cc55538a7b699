"""The export's FuseSoC open-synthesis target against `lgn-hw synth`, LUT for LUT.

    python bench/ip_synth.py                                # small100, --lut-size 6 --stream stall, xilinx-7
    python bench/ip_synth.py NET.lgn.json --target ice40-hx8k --pipeline gates=4,popcount=2,argmax=1

Exports the netlist (optimised, encoder inside when quantized), then counts the core's LUT
sites three ways: `fusesoc run --target synth_<family>` (Edalize's Yosys backend: the
`yosys` on PATH, which must have Tcl, e.g. Debian's), `lgn-hw synth` with that same Yosys
(`YOSYS=`), and `lgn-hw synth` with its default YoWASP Yosys. The first two run one script
(`ip/synth_<family>.ys`, rendered from the template `lgn-hw synth` renders) on one Yosys, so
they must agree; the third shows what the Yosys version is worth.

Measured 2026-12-07 (shared 2-core machine, load 8-10), small100 (bench/designs), lut6 + stall:

    xilinx-7   FuseSoC/Edalize (Yosys 0.23, Debian)  280 LUT6
               lgn-hw synth, YOSYS=/usr/bin/yosys    280 LUT6
               lgn-hw synth, YoWASP Yosys 0.70       237 LUT6
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout

from lgn_hw.hdl import Pipeline, export  # noqa: E402
from lgn_hw.hdl.encoder import choose_encoder  # noqa: E402
from lgn_hw.hdl.ip import OPEN_SYNTH_TARGETS  # noqa: E402
from lgn_hw.netlist import load  # noqa: E402
from lgn_hw.netlist.opt import optimize  # noqa: E402
from lgn_hw.synth import synthesize  # noqa: E402
from lgn_hw.synth.report import parse_stat, split_cells  # noqa: E402
from lgn_hw.synth.targets import get_target  # noqa: E402
from lgn_hw.tools import tool_version, verilator_env  # noqa: E402


def lut_sites(target, stat, core) -> int:
    tgt = get_target(target)
    cells, _ = split_cells(stat, core)
    return sum(n * ((tgt.classify(c) == "lut") + tgt.lut_sites(c)) for c, n in cells.items())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("netlist", nargs="?", default=str(ROOT / "bench" / "designs" / "small100.lgn.json"))
    ap.add_argument("--target", default="xilinx-7")
    ap.add_argument("--pipeline", default="lut=6,stream=stall")
    args = ap.parse_args()
    yosys = shutil.which("yosys")
    if yosys is None:
        sys.exit("needs a Yosys with Tcl on PATH for Edalize (Debian: apt-get install yosys)")
    fusesoc = Path(sys.executable).parent / "fusesoc"
    (name,) = [n for n, (_, t) in OPEN_SYNTH_TARGETS.items() if t == args.target]
    net, _ = optimize(load(args.netlist))
    pipeline = Pipeline.parse(args.pipeline)
    print(f"netlist {args.netlist}  target {args.target}  pipeline {pipeline}  .core target {name}")
    with tempfile.TemporaryDirectory(prefix="lgn-ip-bench-") as tmp:
        tmp = Path(tmp)
        manifest = export(net, tmp / "hw", pipeline=pipeline, encoder=choose_encoder(net, "auto"), quiet=True)
        top = manifest["top"]
        subprocess.run([str(fusesoc), "--cores-root", str(tmp / "hw"), "run", "--build-root", str(tmp / "build"),
                        "--target", name, manifest["ip"]["vlnv"]], check=True, cwd=tmp, env=verilator_env(),
                       capture_output=True)
        (work,) = (tmp / "build").glob(f"*/{name}-*")
        edalize = lut_sites(args.target, parse_stat((work / "stat.json").read_text()), top)
        os.environ["YOSYS"] = yosys
        same = synthesize(tmp / "hw", args.target, out_dir=tmp / "same", pnr=False)["lut_sites"]
        same_version = tool_version("yosys").split(" (")[0]
        del os.environ["YOSYS"]
        default = synthesize(tmp / "hw", args.target, out_dir=tmp / "default", pnr=False)["lut_sites"]
        default_version = tool_version("yosys").split(" (")[0]
    print(f"FuseSoC/Edalize ({same_version})       {edalize} LUT sites")
    print(f"lgn-hw synth, YOSYS={yosys}             {same} LUT sites  ({'equal' if same == edalize else 'DIFFERENT'})")
    print(f"lgn-hw synth, default ({default_version})  {default} LUT sites  (x{default / edalize:.2f})")
    return 0 if same == edalize else 1


if __name__ == "__main__":
    sys.exit(main())
