"""The first cycles of a verification waveform (a VCD file) drawn as SVG.

The VCD reader is a small one written here: pyvcd (installed with Amaranth)
has a tokenizer, but it refuses the ``$rootio`` scope that Verilator's VCD
writer emits, and the report needs only scopes, variables and value changes,
read as far as the cycles it draws. The drawing is
plain SVG written here (one row per signal, one column per clock cycle); every
cycle carries a ``<title>`` with the values the flops sample at its rising edge.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Wave", "read_vcd", "waveform_svg", "SIGNALS"]

#: the core's signals drawn, in order (clock and handshakes, data, results)
SIGNALS = ("clk", "rst", "in_valid", "in_ready", "in_data", "out_valid", "out_ready", "out_class", "out_scores")


@dataclass
class Wave:
    """Values of the drawn signals at the first rising edges of ``clk`` (sampled just before each edge)."""

    timescale: str
    first: int = 0                                         # cycle number of the first drawn edge
    edges: list = field(default_factory=list)              # times of the rising edges
    widths: dict = field(default_factory=dict)             # signal -> bits
    values: dict = field(default_factory=dict)             # signal -> [int or None per edge]


def _tokens(f):
    for line in f:
        yield from line.split()


def read_vcd(path, cycles: int = 24, *, lead: int = 2) -> Wave:
    """``cycles`` clock cycles of the VCD file at ``path`` from ``lead`` cycles before the first with
    ``in_valid`` high (the bench's reset and idle cycles before are left out; read only that far)."""
    path = Path(path)
    scope, decls, ts = [], [], ""
    by_id, current = {}, {"__time": 0}
    clk_id, last_clk, wave = None, None, None
    started = [False]

    def change(ident, value):
        nonlocal last_clk
        names = by_id.get(ident)
        if not names:
            return False
        if ident == clk_id:
            if value == 1 and last_clk == 0:
                wave.edges.append(current["__time"])
                for n in wave.values:
                    wave.values[n].append(current.get(n))
                if not started[0]:
                    started[0] = current.get("in_valid") == 1 or "in_valid" not in wave.values
                    if len(wave.edges) > lead + (1 if started[0] else 0):   # keep `lead` idle cycles
                        wave.first += 1
                        del wave.edges[0]
                        for v in wave.values.values():
                            del v[0]
                if started[0] and len(wave.edges) >= cycles:
                    return True
            last_clk = value
        for n in names:
            current[n] = value
        return False

    try:
        with open(path, encoding="ascii", errors="replace") as f:
            toks = _tokens(f)
            for tok in toks:
                if tok.startswith("$"):
                    if tok in ("$dumpvars", "$dumpall", "$dumpon", "$dumpoff", "$end"):
                        continue
                    body = []
                    for t in toks:
                        if t == "$end":
                            break
                        body.append(t)
                    if tok == "$timescale":
                        ts = " ".join(body)
                    elif tok == "$scope" and len(body) >= 2:
                        scope.append(body[1])
                    elif tok == "$upscope" and scope:
                        scope.pop()
                    elif tok == "$var" and len(body) >= 4:
                        decls.append((tuple(scope), int(body[1]), body[2], body[3]))
                    elif tok == "$enddefinitions":
                        chosen = {}
                        for sc, size, ident, name in decls:   # the shallowest scope: the top's ports
                            if name in SIGNALS and (name not in chosen or len(sc) < len(chosen[name][0])):
                                chosen[name] = (sc, size, ident)
                        if "clk" not in chosen:
                            raise ValueError(f"{path}: no clk signal in the VCD")
                        wave = Wave(ts, widths={n: c[1] for n, c in chosen.items()})
                        for n, (_, _, ident) in chosen.items():
                            by_id.setdefault(ident, []).append(n)
                        clk_id = chosen["clk"][2]
                        wave.values = {n: [] for n in chosen if n != "clk"}
                    continue
                if wave is None:
                    continue
                head = tok[0]
                if head == "#":
                    current["__time"] = int(tok[1:])
                elif head in "01xXzZ":
                    if change(tok[1:], int(head) if head in "01" else None):
                        break
                elif head in "bB":
                    bits = tok[1:]
                    value = int(bits, 2) if set(bits) <= {"0", "1"} else None
                    if change(next(toks, ""), value):
                        break
                elif head in "rR":
                    next(toks, "")
    except OSError as exc:
        raise ValueError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if wave is None:
        raise ValueError(f"{path}: not a VCD file (no $enddefinitions)")
    wave.values["clk"] = [None] * len(wave.edges)
    return wave


def _text(x, y, s, size=11, anchor="start", cls=""):
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" dominant-baseline="middle" '
            f'font-family="system-ui,sans-serif"'
            f'{f" class={chr(34)}{cls}{chr(34)}" if cls else ""}>{html.escape(s)}</text>')


def waveform_svg(wave: Wave, data_bits: int = 4) -> str:
    """SVG of ``wave``: clk, handshakes, the low ``data_bits`` bits of in_data, class and scores."""
    rows = []
    for name in SIGNALS:
        if name not in wave.widths:
            continue
        if name == "in_data":
            for b in range(min(data_bits, wave.widths[name])):
                rows.append((f"in_data[{b}]", [None if v is None else (v >> b) & 1 for v in wave.values[name]], 1))
        else:
            rows.append((name, wave.values[name], wave.widths[name]))
    n = len(wave.edges)
    left, cw, rh, top = 110, 34, 26, 22
    width, height = left + cw * n + 10, top + rh * len(rows) + 40
    out = [f'<svg class="wave" id="waveform" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" data-cycles="{n}" role="img">',
           f"<title>{n} clock cycles from cycle {wave.first} of the verification run (timescale {html.escape(wave.timescale)})</title>"]
    for i in range(n):
        x = left + i * cw
        tip = ", ".join(f"{name} {'-' if v[i] is None else v[i]}" for name, v, _ in rows if name != "clk")
        out.append(f'<g class="cycle"><title>cycle {wave.first + i} (t = {wave.edges[i]}): {html.escape(tip)}</title>'
                   f'<rect x="{x}" y="{top - 4}" width="{cw}" height="{rh * len(rows) + 4}" fill="{"#f3f5f8" if i % 2 else "#fff"}"/>'
                   f"{_text(x + cw / 2, height - 22, str(wave.first + i), 9, 'middle')}</g>")
    for r, (name, vals, bits) in enumerate(rows):
        y0 = top + r * rh
        hi, lo = y0 + 3, y0 + rh - 7
        out.append(_text(left - 8, y0 + rh / 2, name, 11, "end"))
        if name == "clk":
            d = " ".join(f"M{left + i * cw} {lo} V{hi} H{left + i * cw + cw / 2} V{lo} H{left + (i + 1) * cw}"
                         for i in range(n))
            out.append(f'<path class="sig" d="{d}" stroke="#1d2330" fill="none" stroke-width="1.3"/>')
        elif bits == 1:
            d, prev = [], None
            for i, v in enumerate(vals):
                x = left + i * cw
                y = (hi + lo) / 2 if v is None else (hi if v else lo)
                d.append(f"M{x} {y}" if prev is None else f"V{y}")
                d.append(f"H{x + cw}")
                prev = y
            out.append(f'<path class="sig" d="{" ".join(d)}" stroke="#2c5aa0" fill="none" stroke-width="1.5"/>')
        else:
            d = []
            for i, v in enumerate(vals):
                x = left + i * cw
                if i == 0 or v != vals[i - 1]:
                    d.append(f"M{x} {(hi + lo) / 2} L{x + 3} {hi} M{x} {(hi + lo) / 2} L{x + 3} {lo}")
                    span = 1
                    while i + span < n and vals[i + span] == v:
                        span += 1
                    label = "x" if v is None else (str(v) if name == "out_class" else f"{v:x}")
                    if len(label) * 6 < span * cw - 6:
                        out.append(_text(x + 5, y0 + rh / 2 + 1, label, 9))
                d.append(f"M{x + (3 if i == 0 or v != vals[i - 1] else 0)} {hi} H{x + cw} M{x + (3 if i == 0 or v != vals[i - 1] else 0)} {lo} H{x + cw}")
            out.append(f'<path class="sig" d="{" ".join(d)}" stroke="#7a3e9d" fill="none" stroke-width="1.2"/>')
    out.append(_text(left + cw * n / 2, height - 8, "clock cycle (rising edges of clk, counted from the start)", 10,
                     "middle"))
    out.append("</svg>")
    return "".join(out)
