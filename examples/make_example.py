"""Make examples/example.lgn.json: a small random netlist for trying the tools without training.

    python examples/make_example.py            # rewrites examples/example.lgn.json
    lgn-hw info examples/example.lgn.json
    lgn-hw export examples/example.lgn.json --out out/example
"""

from pathlib import Path

from lgn_hw.netlist import random_netlist


def main():
    net = random_netlist(64, [240, 180, 120], num_classes=10, seed=2026, tau=4.0)
    net.metadata.update({"source": "examples/make_example.py", "note": "random gates, not trained"})
    path = Path(__file__).with_name("example.lgn.json")
    net.save(path)
    print(f"wrote {path} ({net.num_gates} gates)")


if __name__ == "__main__":
    main()
