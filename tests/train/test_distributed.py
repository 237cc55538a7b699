"""Two CPU processes under torchrun (gloo): training progresses, only rank 0 writes, ranks stay identical."""

import json
import socket
import subprocess
import sys
import textwrap

import pytest
import torch

SCRIPT = textwrap.dedent("""
    import sys, torch
    import torch.distributed as dist
    from lgn_hw.train import TrainConfig, Trainer

    out = sys.argv[1]
    cfg = TrainConfig(dataset="monk1", layers=2, width=60, epochs=3, batch_size=32, lr=0.05,
                      estimator="gumbel_st", kernel="reference", device="cpu")
    t = Trainer(cfg, out, quiet=True)
    res = t.run()
    rank = t.info.rank
    torch.save({"world": t.info.world_size, "backend": t.info.backend,
                "params": {k: v.clone() for k, v in t.model.state_dict().items()},
                "has_netlist": res.netlist is not None},
               f"{out}/../rank{rank}.pt")
""")


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_process_gloo_training(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(SCRIPT)
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--nnodes", "1",
           "--master_addr", "127.0.0.1", "--master_port", str(_free_port()), str(script), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["world"] == r1["world"] == 2 and r0["backend"] == "gloo"
    assert r0["has_netlist"] and not r1["has_netlist"]  # only rank 0 writes
    for k, v in r0["params"].items():
        assert torch.equal(v, r1["params"][k]), f"ranks differ in {k}"
    recs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert len(recs) == 3 and recs[-1]["train_loss"] < recs[0]["train_loss"]
    assert (out / "best.lgn.json").is_file()
