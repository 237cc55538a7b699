"""Set-up of the report tests: a tiny real run (monk1, a few epochs), its export and synthesis, and the
system Chromium driven by Playwright (tests marked ``browser`` skip with a reason without them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

#: the flags the browser runs with here: no sandbox (root), nothing fetched in the background
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def chromium_path() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A real training run of a few epochs, exported (optimised) and synthesized for iCE40 when Yosys is here."""
    from lgn_hw.hdl import export
    from lgn_hw.netlist import load
    from lgn_hw.netlist.opt import optimize
    from lgn_hw.train import TrainConfig, train

    root = tmp_path_factory.mktemp("report")
    run_dir = root / "run"
    cfg = TrainConfig(dataset="monk1", layers=2, width=32, epochs=4, lr=0.05, batch_size=32, kernel="reference")
    train(cfg, run_dir, quiet=True)
    hw_net, _ = optimize(load(run_dir / "best.lgn.json"))
    export(hw_net, root / "hw", quiet=True)
    synth = None
    try:
        from lgn_hw.synth import synthesize

        synth = synthesize(root / "hw", "ice40-hx8k", pnr=False)
    except Exception as exc:  # no Yosys here: the hardware table is then checked empty
        print(f"no synthesis for the report test: {exc}")
    return {"root": root, "run": run_dir, "hw": root / "hw", "synth": synth}


@pytest.fixture
def page(tmp_path):
    """A Playwright page of the system Chromium, a fresh profile; every request is recorded and refused."""
    exe = chromium_path()
    if exe is None:
        pytest.skip("Chromium is not installed: apt-get install chromium (scripts/install-system-deps.sh)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright is not installed: pip install playwright (never 'playwright install')")
    with sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(str(tmp_path / "profile"), executable_path=exe,
                                                   args=CHROMIUM_ARGS, headless=True,
                                                   viewport={"width": 1200, "height": 900})
        pg = ctx.new_page()
        pg.requests, pg.errors = [], []

        def refuse(route):
            pg.requests.append(route.request.url)
            route.abort()

        pg.route("**/*", refuse)
        pg.on("request", lambda r: pg.requests.append(r.url) if not r.url.startswith("data:") else None)
        pg.on("console", lambda m: pg.errors.append(m.text) if m.type == "error" else None)
        pg.on("pageerror", lambda e: pg.errors.append(str(e)))
        try:
            yield pg
        finally:
            ctx.close()
