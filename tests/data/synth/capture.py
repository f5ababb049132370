"""Re-capture the real tool outputs the synth parser tests read (run from the repository root):

    .venv/bin/python tests/data/synth/capture.py

Runs ``shiftpsn synth --target all --baseline mac`` on TINY (2 channels, k=2, d=1, 4-bit inputs,
runtime weights) and copies the small files each tool wrote into this folder as
``<target>_<file>`` (the shift core; the baseline's figures are in asic_report.json), and the
asic netlist of TINY with ZERO_CHANGES as ``zero_asic_netlist_raw.v``. The expected numbers in
tests/test_synth_parsers.py were read off these files by hand: re-capturing with other tool
versions means re-reading them.
"""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from shiftpsn.base.spec import uniform_spec

TINY = dict(channels=2, order=2, dilation=1, input_width=4, exp_min=0, exp_max=1, weights="runtime")
#: TINY changed to constant weights, channel 0 all zero taps and an always-reached threshold: its outputs
#: are constants, so Yosys' netlist has the ``assign``s that synth/netlist.py rewrites for OpenSTA.
ZERO_CHANGES = dict(weights="constant", shift=[[None, None], [0, 1]], threshold=[-100, 3])
FILES = {"generic": ["stat.json", "stat_cmos.json"], "ice40": ["stat.json", "nextpnr_report.json"],
         "ecp5": ["stat.json", "nextpnr_report.json"], "xilinx": ["stat.json"],
         "asic": ["stat.json", "sta.log", "netlist_raw.v"]}

if __name__ == "__main__":
    here = Path(__file__).resolve().parent
    with tempfile.TemporaryDirectory() as tmp:
        spec = Path(tmp) / "tiny.json"
        uniform_spec(**TINY).save(spec)
        out = Path(tmp) / "out"
        subprocess.run([sys.executable, "-m", "shiftpsn.cli", "synth", "--spec", str(spec), "--target", "all",
                        "--baseline", "mac", "--output-dir", str(out)], check=True)
        shutil.copyfile(spec, here / "tiny_spec.json")
        for target, files in FILES.items():
            for f in files:
                shutil.copyfile(out / "core" / target / f, here / f"{target}_{f}")
        shutil.copyfile(out / "asic" / "report.json", here / "asic_report.json")
        uniform_spec(**TINY).replace(**ZERO_CHANGES).save(spec)
        subprocess.run([sys.executable, "-m", "shiftpsn.cli", "synth", "--spec", str(spec), "--target", "asic",
                        "--output-dir", str(out / "zero")], check=True)
        shutil.copyfile(out / "zero" / "core" / "asic" / "netlist_raw.v", here / "zero_asic_netlist_raw.v")
