"""A proof that scales with the core: the exported Verilog cut at its block boundaries into parts,
each proved combinationally with ABC against a reference built from the netlist.

:func:`prove_parts` takes an export folder and a netlist and answers PROVED,
FAILED (with an input that the whole core, simulated, gets wrong) or
UNDECIDED. The steps:

1. *Read.* The export's Verilog files are copied into the work folder under
   generated names (``dut_0.v`` ...) and Yosys (``hdl_templates/proof.ys.tmpl``)
   flattens the core into single-bit gates and flip-flops (``design.json``).
   The top module's name is used only after it matched ``[A-Za-z_][A-Za-z0-9_]*``;
   no other name from the folder reaches a script.
2. *Pipeline (structure).* Every path from ``in_data`` to the datapath's
   result (the FIFO's ``w_data``, or ``out_class``/``out_scores`` with
   ``--stream stall``) crosses exactly ``latency - 2`` (``latency`` for stall)
   flip-flops; these have no reset, are clocked by ``clk`` and have no enable
   (an enable that is ``in_ready`` itself, for stall); the datapath reads no
   other input. So the result equals a combinational function ``F`` of the
   sample that entered that many (enabled) clock edges earlier, where ``F`` is
   the datapath with its flip-flops replaced by wires.
3. *Parts.* ``F`` is cut at the outputs of the core's blocks (``encoder.y``,
   ``layer<i>.y``, ``popcount.scores``; the wires of the Verilog), and each
   part is proved with ABC's ``&cec`` (SAT sweeping) against the reference of
   that block, built here from the netlist (:func:`build_reference`): the
   encoder's compares, each node from its truth table, each class's count as an
   exact sum, the argmax over contiguous class ranges with ties to the lower
   class. Which bit of a cut is which netlist node is found by simulating both
   on random inputs (signatures); a part's inputs are the reference values of
   the cut before it, so the parts together prove ``F`` equal to the
   reference (cut-point reasoning: any mismatch of the matching only makes a
   part fail, never pass).
4. *On a failure,* the whole of ``F`` against the whole reference gives an
   input vector (random simulation first, then ABC), and :func:`replay` runs
   the flattened core cycle by cycle from reset on it and shows the result
   that differs from the golden model.

The popcount reference follows the tree plan of the hardware (which leaves an
adder pairs), because SAT sweeping does not prove a 400-bit sum against an
adder tree of another shape: the plan is checked to count every bit of the
class exactly once, and each of its nodes is an exact sum, so the reference
is the class's popcount whatever the plan; only its shape is borrowed.
Not proved here: the output FIFO, the credit counter and the valid chain
(the handshake); :func:`lgn_hw.verify.equiv.prove_equivalent` proves those
with the whole core on small designs, and the benches simulate them.
"""

from __future__ import annotations

import json
import logging
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..hdl.export import as_export, render_template
from ..netlist.model import Netlist, atomic_write_text
from ..tools import clear_outputs, find_tool
from .aig import FALSE, TRUE, Aig, prove_miter

__all__ = ["PartResult", "PartsResult", "prove_parts", "build_reference", "replay", "ProofError"]

log = logging.getLogger(__name__)

SCRIPT_TEMPLATE = "proof.ys.tmpl"
TOP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
#: random patterns simulated to match cut bits to netlist nodes and to look for a quick counterexample
PATTERNS = 2048


class ProofError(ValueError):
    """The design is not a core this proof can cut (a block or wire missing, a loop through flip-flops)."""


@dataclass
class PartResult:
    name: str
    claim: str
    status: str            # "proved", "failed", "undecided"
    seconds: float = 0.0
    ands: int = 0
    detail: str = ""

    def line(self) -> str:
        size = f", {self.ands:,} AND nodes" if self.ands else ""
        tail = f": {self.detail}" if self.detail else ""
        return f"  {self.status.upper():9s} {self.name:22s} {self.claim} ({self.seconds:.2f} s{size}){tail}"


@dataclass
class PartsResult:
    parts: list = field(default_factory=list)
    #: "PROVED", "FAILED" or "UNDECIDED"
    verdict: str = "UNDECIDED"
    detail: str = ""
    #: in_data bits of an input the core gets wrong (FAILED), and the replay's account of it
    counterexample: np.ndarray | None = None
    replay: str = ""
    seconds: float = 0.0

    @property
    def proved(self) -> bool:
        return self.verdict == "PROVED"

    @property
    def undecided(self) -> bool:
        return self.verdict == "UNDECIDED"

    def __bool__(self):
        return self.proved

    def describe(self) -> str:
        lines = [p.line() for p in self.parts]
        if self.verdict == "PROVED":
            lines.append(f"PROVED: the exported core computes the netlist's scores and class for every "
                         f"input, {len(self.parts)} parts in {self.seconds:.1f} s")
        else:
            lines.append(f"{self.verdict}: {self.detail}")
            if self.replay:
                lines.append(self.replay)
        return "\n".join(lines)


# -- reading the design ----------------------------------------------------------------------
_GATES = {
    "$_AND_": lambda g, a, b: g.and_(a, b),
    "$_OR_": lambda g, a, b: g.or_(a, b),
    "$_XOR_": lambda g, a, b: g.xor(a, b),
    "$_XNOR_": lambda g, a, b: g.xor(a, b) ^ 1,
    "$_NAND_": lambda g, a, b: g.and_(a, b) ^ 1,
    "$_NOR_": lambda g, a, b: g.or_(a, b) ^ 1,
    "$_ANDNOT_": lambda g, a, b: g.and_(a, b ^ 1),
    "$_ORNOT_": lambda g, a, b: g.or_(a, b ^ 1),
}
_UNARY = {"$_NOT_": 1, "$_BUF_": 0}


def _is_ff(kind: str) -> bool:
    return kind.startswith(("$_DFF", "$_SDFF", "$_DFFE", "$_SDFFE", "$_SDFFCE", "$_DLATCH", "$_ALDFF"))


class Design:
    """The flattened core (Yosys JSON of single-bit cells): nets, their drivers, named wires."""

    def __init__(self, data: dict, top: str):
        try:
            mod = data["modules"][top]
        except KeyError:
            raise ProofError(f"Yosys wrote no module {top!r}") from None
        self.wires = {name: w["bits"] for name, w in mod["netnames"].items()}
        self.ports = {name: p["bits"] for name, p in mod["ports"].items()}
        self.driver = {}
        for name, cell in mod["cells"].items():
            kind = cell["type"]
            if kind == "$scopeinfo":
                continue
            if kind not in _GATES and kind not in _UNARY and kind not in ("$_MUX_", "$_NMUX_") and not _is_ff(kind):
                raise ProofError(f"the core has a cell of type {kind!r}, which the proof does not know")
            out = "Q" if _is_ff(kind) else "Y"
            for bit in cell["connections"][out]:
                self.driver[bit] = cell

    def wire(self, name: str) -> list:
        if name not in self.wires:
            raise ProofError(f"the core has no wire {name!r}: not a core this version of lgn-hw exports")
        return self.wires[name]


def read_design(export, work: Path) -> Design:
    """Flatten the export's Verilog with Yosys (see the module docstring, step 1)."""
    if not TOP_NAME.match(export.top):
        raise ProofError(f"the top module's name {export.top!r} is not a plain Verilog identifier")
    names = []
    for i, src in enumerate(export.sources):
        name = f"dut_{i}.v"
        clear_outputs(work, [name])
        atomic_write_text(work / name, src.read_text(errors="replace"))
        names.append(name)
    clear_outputs(work, ["design.json", "proof-yosys.log", "proof.ys"])
    atomic_write_text(work / "proof.ys", render_template(
        SCRIPT_TEMPLATE, read_dut="\n".join(f"read_verilog -sv {n}" for n in names), top=export.top,
        out="design.json"))
    proc = subprocess.run([find_tool("yosys"), "-q", "-l", "proof-yosys.log", "-s", "proof.ys"], cwd=work,
                          capture_output=True, text=True)
    if proc.returncode != 0 or not (work / "design.json").is_file():
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        raise ProofError("yosys could not read the core: " + (lines[-1] if lines else f"status {proc.returncode}"))
    with open(work / "design.json") as fh:
        return Design(json.load(fh), export.top)


class HwGraph:
    """The design's nets as AIG literals, flip-flops as wires (the function ``F``); built on demand."""

    def __init__(self, design: Design, aig: Aig, inputs: dict):
        self.design, self.aig = design, aig
        self.lit = dict(inputs)  # net -> literal
        self.free = set()        # nets without a driver that are not in_data: free inputs

    def lits(self, bits) -> list:
        out = []
        for bit in bits:
            if bit == "0":
                out.append(FALSE)
            elif bit == "1":
                out.append(TRUE)
            elif isinstance(bit, str):  # "x", "z": any value
                out.append(self.aig.input())
            else:
                out.append(self._net(bit))
        return out

    def _net(self, root) -> int:
        lit, aig, driver = self.lit, self.aig, self.design.driver
        if root in lit:
            return lit[root]
        stack, grey = [root], set()
        while stack:
            net = stack[-1]
            if net in lit:
                stack.pop()
                continue
            cell = driver.get(net)
            if cell is None:
                lit[net] = aig.input()
                self.free.add(net)
                stack.pop()
                continue
            kind, conn = cell["type"], cell["connections"]
            pins = ("D",) if _is_ff(kind) else ("A",) if kind in _UNARY else ("A", "B", "S") if "MUX" in kind else ("A", "B")
            ins = [conn[p][0] for p in pins]
            missing = [b for b in ins if isinstance(b, int) and b not in lit]
            if missing:
                if net in grey:
                    raise ProofError("a loop through flip-flops feeds the datapath: not a feed-forward core")
                grey.add(net)
                for b in missing:
                    if b in grey:
                        raise ProofError("a loop through flip-flops feeds the datapath: not a feed-forward core")
                    stack.append(b)
                continue
            v = [FALSE if b == "0" else TRUE if b == "1" else lit[b] if isinstance(b, int) else aig.input()
                 for b in ins]
            if _is_ff(kind) or kind == "$_BUF_":
                out = v[0]
            elif kind == "$_NOT_":
                out = v[0] ^ 1
            elif "MUX" in kind:
                out = aig.mux(v[2], v[1], v[0]) ^ (kind == "$_NMUX_")
            else:
                out = _GATES[kind](aig, v[0], v[1])
            lit[net] = out
            stack.pop()
        return lit[root]


def check_pipeline(design: Design, roots, in_nets, want: int, stall: bool) -> None:
    """Step 2 of the module docstring; raise :class:`ProofError` naming what breaks it."""
    clk = design.ports.get("clk", [None])[0]
    enable = design.ports.get("in_ready", [None])[0] if stall else None
    ports = {b: name for name, bits in design.ports.items() for b in bits if isinstance(b, int)}
    inputs = set(in_nets)
    depth = {b: frozenset((0,)) for b in inputs}
    driver = design.driver
    stack = [b for b in roots if isinstance(b, int)]
    while stack:
        net = stack[-1]
        if net in depth:
            stack.pop()
            continue
        cell = driver.get(net)
        if cell is None:
            raise ProofError(f"the datapath reads {'port ' + ports[net] if net in ports else 'an undriven net'}, "
                             f"not only in_data")
        kind, conn = cell["type"], cell["connections"]
        if _is_ff(kind):
            ok = kind == ("$_DFFE_PP_" if stall else "$_DFF_P_") and conn["C"][0] == clk
            if ok and stall:
                ok = conn["E"][0] == enable
            if not ok:
                raise ProofError(f"a datapath flip-flop is a {kind} cell ({cell.get('attributes', {}).get('src', '')}): "
                                 f"expected one clocked by clk with no reset and "
                                 f"{'in_ready as its enable' if stall else 'no enable'}")
            ins = [conn["D"][0]]
        else:
            pins = ("A",) if kind in _UNARY else ("A", "B", "S") if "MUX" in kind else ("A", "B")
            ins = [conn[p][0] for p in pins]
        missing = [b for b in ins if isinstance(b, int) and b not in depth]
        if missing:
            stack += missing
            continue
        sets = [depth[b] for b in ins if isinstance(b, int)]
        d = frozenset().union(*sets) if sets else frozenset()
        depth[net] = frozenset(x + 1 for x in d) if _is_ff(kind) else d
        if len(depth[net]) > 1:
            raise ProofError(f"paths from in_data of {min(d)} and {max(d)} flip-flops meet in the datapath: "
                             "its stages are not aligned")
        stack.pop()
    for b in roots:
        got = depth.get(b, frozenset()) if isinstance(b, int) else frozenset()
        if got and got != {want}:
            raise ProofError(f"the datapath's result is {min(got)} flip-flops after in_data, not the "
                             f"{want} that the latency implies")


# -- the reference ---------------------------------------------------------------------------
def build_encoder(aig: Aig, netlist: Netlist, fields, in_lits) -> list:
    """The netlist encoder's bits from ``in_data`` literals (DESIGN.md section 3)."""
    from ..data.encoding import Encoder

    enc = Encoder.from_dict(netlist.encoder)
    out = []
    for f, feat in zip(fields, enc.features):
        q = in_lits[f.offset: f.offset + f.width]
        w = f.width
        if f.signed:  # two's complement: flip the sign bit, compare as unsigned offset by 2**(w-1)
            q = q[:-1] + [q[-1] ^ 1]
        bias = (1 << (w - 1)) if f.signed else 0
        top = (1 << w) - 1
        if feat.kind == "bit":
            out.append(aig.any_(in_lits[f.offset: f.offset + f.width]))
            continue
        for value in feat.values:
            v = int(value) + bias
            if feat.kind == "thermometer":
                if v < 0:
                    out.append(TRUE)
                elif v >= top:
                    out.append(FALSE)
                else:
                    out.append(_greater_const(aig, q, v))
            else:
                if 0 <= v <= top:
                    bit = TRUE
                    for i in range(w):
                        bit = aig.and_(bit, q[i] if (v >> i) & 1 else q[i] ^ 1)
                    out.append(bit)
                else:
                    out.append(FALSE)
    return out


def _greater_const(aig: Aig, q, t: int) -> int:
    """Unsigned ``q > t`` for a constant ``t``: from the least significant bit up."""
    gt = FALSE
    for i, bit in enumerate(q):
        gt = aig.and_(bit, gt) if (t >> i) & 1 else aig.or_(bit, gt)
    return gt


def build_layers(aig: Aig, netlist: Netlist, bits: list) -> list:
    """Each layer's node literals (lists), from the netlist's tables (DESIGN.md section 1)."""
    out = []
    prev = bits
    for layer in netlist.layers:
        if layer.kind == "lut":
            vals = [aig.table(int(t), [prev[int(i)] for i in row]) for t, row in zip(layer.tables, layer.inputs)]
        else:
            vals = [aig.table(int(op), [prev[int(a)], prev[int(b)]])
                    for op, a, b in zip(layer.op, layer.a, layer.b)]
        out.append(vals)
        prev = vals
    return out


def tree_sum(aig: Aig, leaves: list, plan) -> list:
    """The exact count of ``leaves`` (literals) following ``plan``, a list of ``(a, b, cin)`` node
    triples over node indices (leaves first); raises ProofError unless the plan uses every leaf and
    node exactly once. Returns the root's bits."""
    k = len(leaves)
    vals = [[lit] for lit in leaves]
    counts = [1] * k
    used = [0] * (k + len(plan))
    for a, b, cin in plan:
        for child in (a, b, cin):
            if child is not None:
                used[child] += 1
        c = counts[a] + counts[b] + (counts[cin] if cin is not None else 0)
        width = c.bit_length()
        vals.append(aig.add(vals[a], vals[b], vals[cin][0] if cin is not None else FALSE, width))
        counts.append(c)
    root = len(vals) - 1
    if any(u != 1 for i, u in enumerate(used) if i != root) or used[root] != 0 or counts[root] != k:
        raise ProofError("the popcount plan does not count every bit exactly once")
    if cin_wide := [c for _, _, c in plan if c is not None and counts[c] != 1]:
        raise ProofError(f"the popcount plan carries a {counts[cin_wide[0]]}-bit count into a carry-in")
    return vals[root]


def counter_sum(aig: Aig, leaves: list, luts, outputs, width: int) -> list:
    """The count of ``leaves`` following a counter network (``lgn_hw.hdl.popcount._counter_network``):
    every LUT is bit ``bit`` of the weighted sum of its inputs, recomputed here from the weights.
    Checked: every signal is read by one counter (a group of LUTs on the same inputs) or is a
    score bit, each of weight ``2**column``; so the score bits sum to the count modulo
    ``2**width``, which is the count."""
    k = len(leaves)
    vals = list(leaves)
    weight = [1] * k
    readers = [0] * k
    last_inputs = None
    for inputs, weights, bit in luts:
        if inputs != last_inputs:
            for s in inputs:
                readers[s] += 1
            last_inputs = inputs
        base = {weight[s] // w for s, w in zip(inputs, weights)}
        if len(base) != 1 or any(weight[s] != w * next(iter(base)) for s, w in zip(inputs, weights)):
            raise ProofError("a popcount counter adds bits of inconsistent weights")
        entries = [(sum(w for i, w in enumerate(weights) if j >> (len(weights) - 1 - i) & 1) >> bit) & 1
                   for j in range(1 << len(weights))]
        table = int("".join(map(str, entries)), 2)
        vals.append(aig.table(table, [vals[s] for s in inputs]))
        weight.append(next(iter(base)) << bit)
        readers.append(0)
    for j, s in enumerate(outputs):
        if s is not None:
            if weight[s] != 1 << j:
                raise ProofError("a popcount score bit has the wrong weight")
            readers[s] += 1
    if any(r != 1 and weight[i] < (1 << width) for i, r in enumerate(readers)):
        raise ProofError("the popcount's counters do not use every bit exactly once")
    return [vals[s] if s is not None else FALSE for s in outputs][:width] + [FALSE] * (width - len(outputs))


def build_argmax(aig: Aig, scores: list) -> list:
    """The class with the highest score (lowest index on a tie) as literals: a tree over contiguous
    class ranges, where the higher range wins only with a strictly greater score (the argmax of a
    range is that of its two halves' winners)."""
    num_classes = len(scores)
    cw = max(1, (num_classes - 1).bit_length())
    cands = [([TRUE if (c >> i) & 1 else FALSE for i in range(cw)], s) for c, s in enumerate(scores)]
    while len(cands) > 1:
        nxt = []
        for j in range(0, len(cands), 2):
            if j + 1 == len(cands):
                nxt.append(cands[j])
                continue
            (ia, sa), (ib, sb) = cands[j], cands[j + 1]
            right = aig.greater(sb, sa)
            nxt.append(([aig.mux(right, x, y) for x, y in zip(ib, ia)], [aig.mux(right, x, y) for x, y in zip(sb, sa)]))
        cands = nxt
    return cands[0][0]


@dataclass
class Reference:
    inputs: list            # in_data literals
    encoder: list | None    # netlist input bits (encoder in the core), else None
    layers: list            # per layer, node literals
    scores: list = None     # per class, W literals
    cls: list = None


def build_reference(aig: Aig, netlist: Netlist, in_lits, fields=None) -> Reference:
    """The reference up to the last layer (scores and class come with :func:`finish_reference`)."""
    enc = build_encoder(aig, netlist, fields, in_lits) if fields is not None else None
    return Reference(in_lits, enc, build_layers(aig, netlist, enc if enc is not None else in_lits))


def finish_reference(aig: Aig, netlist: Netlist, ref: Reference, order=None, lut_size: int = 0) -> None:
    """Scores and class. ``order[c]``: class ``c``'s last-layer node indices in the order the
    popcount's plan takes them (default: netlist order)."""
    from ..hdl.popcount import _counter_network, _leaf_order, _popcount_tree

    k, w = netlist.outputs_per_class, netlist.score_width
    last = ref.layers[-1]
    scores = []
    for c in range(netlist.num_classes):
        idx = list(range(c * k, (c + 1) * k)) if order is None else order[c]
        if sorted(idx) != list(range(c * k, (c + 1) * k)):
            idx = list(range(c * k, (c + 1) * k))  # the core reads other bits: its part will fail
        leaves = [last[i] for i in idx]
        if lut_size:
            luts, outputs, _ = _counter_network(k, lut_size)
            bits = counter_sum(aig, leaves, luts, outputs, w)
        else:
            nodes, _ = _popcount_tree(k)
            _, _, place = _leaf_order(nodes, k)
            if sorted(place) != list(range(k)):
                raise ProofError("the popcount plan does not place every bit of the class exactly once")
            # node i < k is the leaf at place[i] of the class's bits
            plan = [(a, b, cin) for a, b, cin, _, _ in nodes[k:]]
            bits = tree_sum(aig, [leaves[place[i]] for i in range(k)], plan) if k > 1 else leaves
        scores.append((bits + [FALSE] * w)[:w])
    ref.scores = scores
    ref.cls = build_argmax(aig, scores)


# -- the proof -------------------------------------------------------------------------------
@dataclass
class _Cut:
    name: str
    hw: list          # hw literal per bit of the wire (in the whole graph)
    ref_of: dict      # bit index -> reference literal it equals (the matching)
    nets: list        # the wire's bits in the design (net numbers, or "0"/"1")


def _match(hw_sigs, ref_ids, ref_sigs, prefer=None):
    """hw position -> reference id with the same signature (``ref_ids[prefer[j]]`` when it fits):
    ``(match, missing positions)``."""
    table = {}
    for i, sig in zip(ref_ids, ref_sigs):
        table.setdefault(sig, i)
    out, missing = {}, []
    for j, sig in enumerate(hw_sigs):
        p = prefer[j] if prefer is not None else j
        if p < len(ref_sigs) and ref_sigs[p] == sig:
            out[j] = ref_ids[p]
        elif sig in table:
            out[j] = table[sig]
        else:
            missing.append(j)
    return out, missing


def prove_parts(netlist: Netlist, export_dir, *, work_dir=None, jobs: int = 1, timeout: int = 600,
                seed: int = 0, progress=None) -> PartsResult:
    """Prove that the core exported in ``export_dir`` computes ``netlist`` (module docstring).

    ``netlist`` may differ from the export's copy (say the unoptimised
    original): then a first part proves the two netlists equal. ``progress``
    (a callable) gets each :class:`PartResult` as it is decided.
    """
    start = time.perf_counter()
    find_tool("abc")  # before any work: a missing ABC is one line naming the fix
    export = as_export(export_dir)
    same = export.check_matches(netlist)
    work = Path(work_dir) if work_dir is not None else export.work_dir("equiv")
    work.mkdir(parents=True, exist_ok=True)
    result = PartsResult()
    report = progress or (lambda part: None)

    def add(part):
        result.parts.append(part)
        report(part)
        return part

    copy = export.netlist
    pipe = export.pipeline
    stall = pipe.stream == "stall"
    fields = export.inputs.fields
    t0 = time.perf_counter()
    try:
        design = read_design(export, work)
        in_nets = design.ports["in_data"]
        out_bits = design.wire("fifo.w_data") if not stall else design.ports["out_class"] + design.ports["out_scores"]
        dp_latency = export.latency - (0 if stall else export.latency_parts.get("fifo", 2))
        check_pipeline(design, out_bits, in_nets, dp_latency, stall)
    except ProofError as exc:
        add(PartResult("pipeline", "registers are pure delays", "failed", time.perf_counter() - t0, detail=str(exc)))
        result.verdict, result.detail = "FAILED", f"the core's structure: {exc}"
        result.seconds = time.perf_counter() - start
        return result
    add(PartResult("pipeline", f"every path in_data -> result crosses {dp_latency} plain flip-flops "
                   "(time includes Yosys)",
                   "proved", time.perf_counter() - t0))

    aig = Aig()
    in_lits = [aig.input() for _ in in_nets]
    hw = HwGraph(design, aig, dict(zip(in_nets, in_lits)))
    ref = build_reference(aig, copy, in_lits, fields)

    cuts_spec = []  # (wire name, reference literals of its bits, match by signature)
    if fields is not None:
        cuts_spec.append(("encoder.y", ref.encoder, False))
    for i, vals in enumerate(ref.layers):
        cuts_spec.append((f"layer{i}.y", vals, True))
    try:
        cut_nets = [design.wire(name) for name, _, _ in cuts_spec]
        cut_hw = [hw.lits(nets) for nets in cut_nets]
        pop_hw = hw.lits(design.wire("popcount.scores"))
        pop_x = hw.lits(design.wire("popcount.x"))
        out_hw = hw.lits(out_bits)
    except ProofError as exc:
        result.verdict, result.detail = "FAILED", f"the core's structure: {exc}"
        return result

    rng = np.random.default_rng(seed)
    words = export.inputs.random(PATTERNS, rng)  # (n, width) in_data bits: every compare both ways
    mask = (1 << PATTERNS) - 1
    in_values = {lit >> 1: int("".join(map(str, words[:, j][::-1])), 2) for j, lit in enumerate(in_lits)}
    k, w, cw = copy.outputs_per_class, copy.score_width, copy.class_width

    # Which bits of each cut the next part reads (the rest, unread, may be anything: Yosys removes
    # the logic of nodes that nothing reads, leaving their wires undriven).
    # The bits of each cut that anything reads: Yosys removes the logic of nodes that nothing
    # reads, leaving their wires undriven (those may be anything).
    need = [[b for b, net in enumerate(nets) if isinstance(net, int) and net in design.driver]
            for nets in cut_nets + [design.wire("popcount.scores")]]

    jobs = max(1, int(jobs))
    pending = []  # PartResult, or (name, claim, future)
    pool = ThreadPoolExecutor(jobs)

    def submit(index, name, claim, part, miter):
        pending.append((name, claim, pool.submit(prove_miter, part, miter, work / f"part{index:04d}.aig",
                                                 timeout=timeout)))

    if not same:
        submit(0, *_netlists_part(netlist, copy, export, fields))
    # Gate layers (and the encoder): the core's bits are matched to the netlist's nodes by
    # simulating the part alone, its inputs (the cut before) random, then proved.
    prev = None
    for i, ((name, ref_lits, _), hw_lits, bits) in enumerate(zip(cuts_spec, cut_hw, need)):
        # Constant bits too: proved where a node of the netlist is that constant, so that the next
        # part's reference reads the constant (one without such a node is left out).
        consts = [b for b, lit in enumerate(hw_lits) if lit <= TRUE]
        bits = sorted(set(bits) | set(consts))
        part, shared = Aig(), {}
        if prev is None:
            hw_part, ref_part = _copy_part(part, aig, prev, [hw_lits[b] for b in bits], ref_lits, shared)
        else:  # the reference is the netlist's layer over the previous layer's values, as written
            # (its literals in the whole graph may have merged with earlier ones)
            hw_part, ref_memo = _hw_part(design, part, prev, [cut_nets[i][b] for b in bits], in_nets)
            before = ref.layers[i - 1 - (fields is not None)] if name.startswith("layer") and i - (fields is not None) > 0 else ref.encoder
            inputs = []
            for lit in before:
                if lit > TRUE and (lit >> 1) not in ref_memo:
                    ref_memo[lit >> 1] = part.input()
                inputs.append(lit if lit <= TRUE else ref_memo[lit >> 1] ^ (lit & 1))
            ref_part = build_layers(part, _one_layer(copy, i - (fields is not None)), inputs)[0]
        values = {shared[node] >> 1: v for node, v in in_values.items() if node in shared}
        pvals = part.simulate(values, PATTERNS)
        match, missing = _match([Aig.value(pvals, lit, mask) for lit in hw_part], list(range(len(ref_part))),
                                [Aig.value(pvals, lit, mask) for lit in ref_part], prefer=bits)
        missing = [j for j in missing if hw_lits[bits[j]] > TRUE]
        block = name.split(".")[0]
        what = "encoder compares" if block == "encoder" else "nodes of " + block
        claim = f"{len(bits) - len(consts)} bits read on = the netlist's {what}"
        if missing:
            pending.append(PartResult(block, claim, "failed", detail=f"{len(missing)} bits of the core's wire "
                                      "match no node of the netlist (random simulation of the part)"))
        miter = part.any_(part.xor(hw_part[j], ref_part[match[j]]) for j in range(len(bits)) if j in match)
        submit(i + 1, block, claim, part, miter)
        prev = _Cut(name, hw_lits, {b: ref_lits[match[j]] for j, b in enumerate(bits) if j in match}, cut_nets[i])

    # The popcount's reference follows the core's leaf order (see the module docstring): each leaf
    # of the core's class is given the netlist node matched to it, or (a constant, a duplicate) a
    # node of that class with the same reference literal. Any order gives the same exact sum.
    last = ref.layers[-1]
    index_of = {}
    for i, lit in enumerate(last):
        index_of.setdefault(lit, i)
    hw_to_ref = {}
    for b, r in prev.ref_of.items():
        hw_to_ref.setdefault(prev.hw[b], index_of.get(r))
    order, follow = [], 0
    for c in range(copy.num_classes):
        free = {}
        for i in range(c * k, (c + 1) * k):
            free.setdefault(last[i], []).append(i)
        want = []
        for lit in pop_x[c * k: (c + 1) * k]:
            i = lit if lit <= TRUE else hw_to_ref.get(lit)
            want.append(last[i] if i is not None and lit > TRUE else lit if lit <= TRUE else None)
        idx = [free[t].pop() if t is not None and free.get(t) else None for t in want]
        rest = [i for group in free.values() for i in group]
        follow += idx.count(None) == 0
        idx = [i if i is not None else rest.pop() for i in idx]
        order.append(idx)
    log.info("popcount leaf order: %d of %d classes follow the core exactly", follow, len(order))
    finish_reference(aig, copy, ref, order=order, lut_size=pipe.lut_size)
    ref_out = ref.cls + [b for s in ref.scores for b in s]
    pop_nets = design.wire("popcount.scores")
    pop_cut = _Cut("popcount.scores", pop_hw, {i: ref_out[cw + i] for i in range(len(pop_hw))}, pop_nets)
    plan = "counters" if pipe.lut_size else "adder tree"
    base = len(cuts_spec) + 1
    for c in range(copy.num_classes):
        bits = list(range(c * w, (c + 1) * w))  # all, also those the argmax does not read
        part, miter = _part_miter(aig, design, in_nets, prev, [pop_nets[b] for b in bits],
                                  [pop_cut.ref_of[b] for b in bits])
        submit(base + c, f"popcount c{c}", f"{k}-bit count ({plan}) = the sum of class {c}'s outputs", part, miter)
    part, miter = _part_miter(aig, design, in_nets, pop_cut, out_bits, ref_out)
    submit(base + copy.num_classes, "argmax", f"class and scores out = argmax over {copy.num_classes} classes",
           part, miter)
    for item in pending:
        if isinstance(item, PartResult):
            add(item)
            continue
        name, claim, fut = item
        r = fut.result()
        add(PartResult(name, claim, {True: "proved", False: "failed", None: "undecided"}[r.equal],
                       r.seconds, r.ands, r.detail))
    pool.shutdown()
    if all(p.status == "proved" for p in result.parts):
        stage = add(output_stage_part(export))
        result.seconds = time.perf_counter() - start
        if stage.status == "proved":
            result.verdict = "PROVED"
        else:
            result.verdict = "FAILED" if stage.status == "failed" else "UNDECIDED"
            result.detail = f"part {stage.name}: {stage.detail}"
        return result
    result.seconds = time.perf_counter() - start
    bad = next(p for p in result.parts if p.status != "proved")
    target = ref_out
    if not same:  # the input must tell the core from the given netlist (the copy may agree with it)
        given = build_reference(aig, netlist, in_lits, fields)
        finish_reference(aig, netlist, given)
        target = given.cls + [b for s in given.scores for b in s]
    vals = aig.simulate(in_values, PATTERNS)
    x = _counterexample(aig, vals, mask, words, out_hw, target, in_lits, timeout, work,
                        search=bad.status == "failed")
    if x is None:
        if bad.status == "failed":
            result.verdict, result.detail = "UNDECIDED", (
                f"part {bad.name} differs from the netlist, but no input was found on which the "
                "whole core does (the core is built otherwise than the netlist)")
        else:
            result.verdict, result.detail = "UNDECIDED", f"part {bad.name}: {bad.detail}"
        return result
    result.verdict, result.detail = "FAILED", f"part {bad.name} differs from the netlist"
    result.counterexample = x
    result.replay = replay(design, export, copy if same else netlist, x, work)
    result.seconds = time.perf_counter() - start
    return result


#: The core's modules the parts prove (a module named ``<top>.<block>...``); the rest is the output stage.
_DATAPATH_BLOCKS = ("encoder", "layer", "popcount", "argmax")


def output_stage_part(export) -> PartResult:
    """The output stage (the core's own module: input register, valid chain, credits, FIFO hookup;
    the FIFO module) must be the text lgn-hw writes for this netlist and pipeline.

    The parts prove the datapath up to the FIFO's write port (``stream: fifo``) or the outputs
    (``stall``); what lies after it holds no trained logic, so it is checked against a fresh
    generation of the same core, module by module (the datapath blocks excepted). A class flipped
    after the FIFO fails here. An export written by another lgn-hw version may differ only in
    form: that is UNDECIDED, not FAILED (re-export it with this version)."""
    from .. import __version__
    from ..hdl.core import LgnCore
    from ..hdl.export import core_verilog
    from ..hdl.lint import split_modules

    t0 = time.perf_counter()
    top = export.top
    claim = "the output stage is the one lgn-hw generates (module text)"
    core = LgnCore(export.netlist, export.pipeline, encoder=export.inputs.mode)
    fresh = split_modules(core_verilog(core, top))
    given = {}
    for path in export.sources:
        given.update(split_modules(path.read_text(errors="replace")))

    def stage(modules):  # comment lines (the file's header) are not the module
        return {name: "\n".join(ln for ln in text.splitlines()
                                if ln.strip() and not ln.lstrip().startswith(("//", "/*")))
                for name, text in modules.items()
                if not any(name.startswith(f"{top}.{b}") for b in _DATAPATH_BLOCKS)}

    want, got = stage(fresh), stage(given)
    differ = sorted(n for n in set(want) | set(got) if want.get(n) != got.get(n))
    seconds = time.perf_counter() - t0
    if not differ:
        return PartResult("output stage", claim, "proved", seconds)
    detail = f"module(s) {', '.join(differ[:3])} differ from what lgn-hw {__version__} writes for this netlist"
    made_by = re.search(r"Generated by lgn-hw (\S+)", "".join(p.read_text(errors="replace")[:400]
                                                               for p in export.sources))
    if made_by and made_by.group(1) != __version__:
        return PartResult("output stage", claim, "undecided", seconds,
                          detail=detail + f" (the export is from lgn-hw {made_by.group(1)}: re-export it)")
    return PartResult("output stage", claim, "failed", seconds, detail=detail)


def _copy_part(part: Aig, aig: Aig, cut, roots, refs, shared, ref_memo=None):
    """Copy into ``part`` the cone of ``roots`` (hw) and of ``refs`` (reference), both cut at
    ``cut`` (the hw bits there replaced by the reference values they were matched to); in_data
    (and any other input reached) shared through ``shared``. Returns both lists of literals."""
    ref_memo = {} if ref_memo is None else ref_memo
    hw_memo = {}
    if cut is not None:
        for b, r in cut.ref_of.items():
            if r > TRUE and cut.hw[b] <= TRUE:  # proved constant by the part before
                ref_memo.setdefault(r >> 1, cut.hw[b] ^ (r & 1))
        for b, r in cut.ref_of.items():
            if r > TRUE and (r >> 1) not in ref_memo:
                ref_memo[r >> 1] = part.input()
        for b, r in cut.ref_of.items():
            h = cut.hw[b]
            if h <= TRUE or (h >> 1) in hw_memo:
                continue
            # hw literal h equals reference literal r: node(h) = var(node(r)) ^ neg(r) ^ neg(h)
            hw_memo[h >> 1] = (ref_memo[r >> 1] if r > TRUE else FALSE) ^ (r & 1) ^ (h & 1)
    return part.copy_cone(aig, roots, hw_memo, shared), part.copy_cone(aig, refs, ref_memo, shared)


def _one_layer(netlist: Netlist, index: int):
    """A view of ``netlist`` with only layer ``index`` (what :func:`build_layers` reads)."""
    class _View:
        layers = [netlist.layers[index]]
    return _View


def _reached(aig: Aig, roots, cut_lits) -> list:
    """The bits of a cut (``cut_lits``, one literal per bit) whose nodes the cones of ``roots`` reach,
    stopping there."""
    stop = {}
    for b, lit in enumerate(cut_lits):
        if lit > TRUE:
            stop.setdefault(lit >> 1, []).append(b)
    seen, stack, hit = set(), [lit >> 1 for lit in roots], []
    fanins = aig.fanins
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        if node in stop:
            hit += stop[node]
            continue
        pair = fanins[node]
        if pair is not None:
            stack += [pair[0] >> 1, pair[1] >> 1]
    return sorted(hit)


def _hw_part(design: Design, part: Aig, cut, nets, in_nets):
    """The core's logic from the nets of ``cut`` to ``nets``, built afresh in ``part`` from the
    design's cells: each cut net is the (new) input of the reference node it was matched to (a
    constant where that was proved), in_data and any other net reached are free inputs.
    Returns the literals of ``nets`` and the map reference node -> input."""
    ref_memo, preset = {}, {}
    for b, r in cut.ref_of.items():
        net = cut.nets[b]
        if r > TRUE and not isinstance(net, int) and net in "01":  # the core's bit is a constant
            ref_memo.setdefault(r >> 1, int(net) ^ (r & 1))
    for b, r in cut.ref_of.items():
        net = cut.nets[b]
        if not isinstance(net, int) or net in preset:
            continue
        if r <= TRUE:
            preset[net] = r
            continue
        if (r >> 1) not in ref_memo:
            ref_memo[r >> 1] = part.input()
        preset[net] = ref_memo[r >> 1] ^ (r & 1)
    for net in in_nets:
        preset.setdefault(net, part.input())
    return HwGraph(design, part, preset).lits(nets), ref_memo


def _part_miter(aig: Aig, design: Design, in_nets, cut, nets, refs):
    """A new AIG: the core from ``cut`` to ``nets`` (:func:`_hw_part`) against the reference
    literals ``refs`` of the whole graph cut at the same place; and its miter literal."""
    part = Aig()
    hw, ref_memo = _hw_part(design, part, cut, nets, in_nets)
    ref = part.copy_cone(aig, refs, ref_memo, {})
    return part, part.any_(part.xor(a, b) for a, b in zip(hw, ref))


def _netlists_part(netlist, copy, export, fields):
    """The given netlist against the export's copy: both references, whole, on shared inputs."""
    aig = Aig()
    in_lits = [aig.input() for _ in range(export.in_width)]
    outs = []
    for net in (netlist, copy):
        ref = build_reference(aig, net, in_lits, fields)
        finish_reference(aig, net, ref)
        outs.append(ref.cls + [b for s in ref.scores for b in s])
    miter = aig.any_(aig.xor(a, b) for a, b in zip(*outs))
    return ("netlist", "the given netlist = the export's netlist copy (scores and class)", aig, miter)


def _counterexample(aig, vals, mask, words, out_hw, ref_out, in_lits, timeout, work, search=True):
    """in_data bits on which the datapath's result differs from the reference: from the simulated
    patterns if one shows it, else from ABC on the whole datapath (None if neither finds one)."""
    diff = 0
    for a, b in zip(out_hw, ref_out):
        diff |= Aig.value(vals, a, mask) ^ Aig.value(vals, b, mask)
    if diff:
        j = (diff & -diff).bit_length() - 1
        return np.asarray(words[j], dtype=np.uint8)
    if not search:
        return None
    whole = Aig()
    shared = {}
    memo = {}
    ins = [whole.input() for _ in in_lits]
    for lit, new in zip(in_lits, ins):
        memo[lit >> 1] = new
    a = whole.copy_cone(aig, out_hw, dict(memo), shared)
    b = whole.copy_cone(aig, ref_out, dict(memo), shared)
    miter = whole.any_(whole.xor(x, y) for x, y in zip(a, b))
    r = prove_miter(whole, miter, work / "whole.aig", timeout=timeout)
    if r.equal is False and r.inputs is not None:
        pos = {node: i for i, node in enumerate(whole.inputs)}
        return np.array([r.inputs[pos[lit >> 1]] for lit in ins], dtype=np.uint8)
    return None


# -- replay ----------------------------------------------------------------------------------
def replay(design: Design, export, netlist: Netlist, x, work: Path, cycles: int | None = None) -> str:
    """Simulate the flattened core cycle by cycle on ``x`` (in_data bits): reset, then ``x`` held
    with in_valid and out_ready high; return a line comparing its first result with the golden
    model's. ``x`` is saved as ``work/counterexample.npy``."""
    from ..netlist import evaluate

    x = np.asarray(x, dtype=np.uint8)
    clear_outputs(work, ["counterexample.npy"])
    with open(work / "counterexample.npy", "xb") as fh:
        np.save(fh, x[None, :])
    want = evaluate(netlist, export.inputs.netlist_bits(x[None, :]))
    cycles = export.latency + 6 if cycles is None else cycles
    sim = _CycleSim(design)
    ports = design.ports
    got = None
    for cycle in range(cycles):
        inputs = {"rst": [int(cycle == 0)], "in_valid": [1], "out_ready": [1], "in_data": list(x)}
        outs = sim.step(inputs)
        if cycle > 0 and outs["out_valid"][0] == 1 and got is None:
            got = (cycle, _int(outs["out_class"]),
                   [_int(outs["out_scores"][c * netlist.score_width:(c + 1) * netlist.score_width])
                    for c in range(netlist.num_classes)])
    del ports
    want_scores = want.scores[0].tolist()
    head = f"replay (the flattened core simulated from reset on {work / 'counterexample.npy'}): "
    if got is None:
        return head + f"no result within {cycles} cycles; the netlist gives class {int(want.classes[0])} scores {want_scores}"
    cycle, cls, scores = got
    same = cls == int(want.classes[0]) and scores == want_scores
    return (head + f"cycle {cycle}: core class {cls} scores {scores}; netlist class {int(want.classes[0])} "
            f"scores {want_scores}" + (" (the same: the difference is in a later result)" if same else ""))


def _int(bits) -> int:
    return sum(int(b) << i for i, b in enumerate(bits))


class _CycleSim:
    """Two-valued cycle simulation of the flattened core (flip-flops start at 0, as Amaranth's do)."""

    def __init__(self, design: Design):
        self.design = design
        self.state = {}  # ff Q net -> value
        self.ffs = [c for c in design.driver.values() if _is_ff(c["type"])]
        self.ffs = list({id(c): c for c in self.ffs}.values())
        for c in self.ffs:
            for q in c["connections"]["Q"]:
                self.state[q] = 0

    def _eval(self, inputs):
        d = self.design
        val = dict(self.state)
        for name, bits in d.ports.items():
            if name in inputs:
                for b, v in zip(bits, inputs[name]):
                    val[b] = int(v)

        def get(b):
            if b == "0" or not isinstance(b, int) and b != "1":
                return 0
            if b == "1":
                return 1
            stack = [b]
            while stack:
                n = stack[-1]
                if n in val:
                    stack.pop()
                    continue
                cell = d.driver.get(n)
                if cell is None:
                    val[n] = 0
                    stack.pop()
                    continue
                kind, conn = cell["type"], cell["connections"]
                pins = ("A",) if kind in _UNARY else ("A", "B", "S") if "MUX" in kind else ("A", "B")
                ins = [conn[p][0] for p in pins]
                miss = [i for i in ins if isinstance(i, int) and i not in val]
                if miss:
                    stack += miss
                    continue
                v = [0 if i == "0" else 1 if i == "1" else val.get(i, 0) if isinstance(i, int) else 0 for i in ins]
                if kind == "$_BUF_":
                    r = v[0]
                elif kind == "$_NOT_":
                    r = 1 - v[0]
                elif "MUX" in kind:
                    r = (v[1] if v[2] else v[0]) ^ (kind == "$_NMUX_")
                else:
                    r = _GATES[kind](_BitOps, v[0], v[1]) & 1
                val[n] = r
                stack.pop()
            return val[b]
        return val, get

    def step(self, inputs) -> dict:
        val, get = self._eval(inputs)
        outs = {name: [get(b) for b in bits] for name, bits in self.design.ports.items() if name not in inputs}
        new = {}
        for c in self.ffs:
            kind, conn = c["type"], c["connections"]
            q = conn["Q"][0]
            _, base, code = kind.split("_")[:3]
            d = get(conn["D"][0])
            en = get(conn["E"][0]) == (code[-1] == "P") if "E" in base else True
            if base.startswith("SDFF"):
                r = get(conn["R"][0]) == (code[1] == "P")
                if base == "SDFFCE":
                    dv = (int(code[2]) if r else d) if en else self.state[q]
                else:
                    dv = int(code[2]) if r else d if en else self.state[q]
            else:
                dv = d if en else self.state[q]
            new[q] = dv
        self.state = new
        return outs


class _BitOps:
    """Aig-like operations on plain bits, so that :data:`_GATES` serves the cycle simulation."""

    @staticmethod
    def and_(a, b):
        return a & b

    @staticmethod
    def or_(a, b):
        return a | b

    @staticmethod
    def xor(a, b):
        return a ^ b

