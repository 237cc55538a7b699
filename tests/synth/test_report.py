"""The per-block split of a synthesis report (report.split_cells and the kept block hierarchy)."""

from __future__ import annotations

import re

import pytest

from lgn_hw.synth import format_report, get_target, synthesize
from lgn_hw.synth.flow import _count_cells
from lgn_hw.synth.report import split_cells


def test_split_cells_adds_the_kept_blocks():
    stat = {"modules": {
        "\\top_ooc": {"num_cells_by_type": {"LUT2": 7, "top": 1}},  # the wrapper: not the core's
        "\\top": {"num_cells_by_type": {"LUT2": 5, "FDRE": 3, "top.popcount": 1, "top.fifo": 1}},
        "\\top.popcount": {"num_cells_by_type": {"LUT3": 4, "CARRY4": 2}},
        "\\top.fifo": {"num_cells_by_type": {"RAM32M": 1, "FDRE": 2}},
    }}
    total, blocks = split_cells(stat, "top")
    assert total == {"LUT2": 5, "FDRE": 5, "LUT3": 4, "CARRY4": 2, "RAM32M": 1}
    assert list(blocks) == ["layers", "popcount", "fifo"]
    assert blocks["layers"] == {"LUT2": 5, "FDRE": 3}
    with pytest.raises(RuntimeError, match=r"^yosys stat has no module 'core'"):
        split_cells(stat, "core")


@pytest.mark.yosys
def test_blocks_partition_the_core(tiny_export, tmp_path):
    report = synthesize(tiny_export, "xilinx-7", out_dir=tmp_path)
    blocks = report["blocks"]
    assert set(blocks) == {"layers", "popcount", "argmax", "fifo"}
    for key in ("luts", "lut_sites", "ffs", "carries"):
        assert sum(b[key] for b in blocks.values()) == report[key], key
    # the FIFO's storage is LUT-RAM: LUT sites the logic LUT count leaves out, and the utilisation counts
    assert blocks["fifo"]["lut_sites"] > blocks["fifo"]["luts"]
    assert report["utilization"]["used"] == report["lut_sites"] > report["luts"]
    assert re.search(rf"^LUT sites   {report['lut_sites']}: {report['luts']} logic LUTs \+ \d+ LUTs used as memory",
                     format_report(report), re.M)
    assert blocks["popcount"]["luts"] > 0 and blocks["fifo"]["ffs"] > 0
    assert re.search(r"^blocks\s+layers \d+ LUT / \d+ FF.*, popcount \d+ LUT", format_report(report), re.M)


def test_luts_used_as_memory_count_as_lut_sites_on_xilinx_only():
    cells = {"LUT6": 10, "INV": 1, "SRL16E": 3, "RAM32M": 2, "RAM64X1D": 1, "FDRE": 5}
    xilinx = _count_cells(get_target("xilinx-7"), cells, "top")
    assert (xilinx["luts"], xilinx["rams"], xilinx["lut_sites"]) == (11, 6, 11 + 3 + 8 + 2)
    ice40 = _count_cells(get_target("ice40-hx8k"), {"SB_LUT4": 7, "SB_RAM40_4K": 1}, "top")
    assert ice40["lut_sites"] == ice40["luts"] == 7  # block RAM is not a LUT


def test_the_table_names_the_core_shape():
    from lgn_hw.hdl import Pipeline
    from lgn_hw.synth.report import format_table

    def row(pipe):
        return format_table([{"target": "xilinx-7", "pipeline": pipe.to_dict(), "luts": 1}]).splitlines()[2]

    assert row(Pipeline()).split()[1] == "g4/p2/a1"  # as before the new fields
    assert row(Pipeline(lut_size=6, stream="stall")).split()[1] == "g4/p2/a1/l6/stall"
