"""The hardware encoder in the Amaranth simulator against ``Encoder.encode_int``."""

import re
import numpy as np
import pytest
from amaranth.sim import Simulator

from lgn_hw.data.encoding import Encoder
from lgn_hw.hdl.encoder import FeatureEncoder, encoder_fields, input_width


def _encoder(rng):
    feats = []
    for _ in range(int(rng.integers(1, 6))):
        width = int(rng.integers(1, 12))
        is_signed = bool(rng.integers(0, 2)) and width > 1
        lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if is_signed else (0, (1 << width) - 1)
        kind = ["thermometer", "onehot", "bit"][int(rng.integers(0, 3))]
        if kind == "bit":
            feats.append({"kind": "bit", "width": 1})
            continue
        n = int(rng.integers(1, min(6, hi - lo + 1) + 1))
        pad = 2 if kind == "thermometer" else 0  # thresholds may lie off the grid (constant bits)
        consts = sorted(rng.choice(np.arange(lo - pad, hi + pad + 1), n, replace=False).tolist())
        key = "thresholds" if kind == "thermometer" else "values"
        feats.append({"kind": kind, key: consts, "width": width, "signed": is_signed,
                      **({"scale": 1.0, "offset": 0.0} if kind == "thermometer" else {})})
    return {"type": "features", "features": feats}


def _pack(fields, q):
    word = 0
    for f, v in zip(fields, q):
        word |= (int(v) & ((1 << f.width) - 1)) << f.offset
    return word


def _run(enc_dict, q, registered):
    dut = FeatureEncoder(enc_dict, registered=registered)
    fields = dut.fields
    got = []

    async def bench(ctx):
        for row in q:
            ctx.set(dut.x, _pack(fields, row))
            if registered:
                await ctx.tick()
            else:
                await ctx.delay(1e-9)
            y = ctx.get(dut.y)
            got.append([(y >> i) & 1 for i in range(len(dut.y))])

    sim = Simulator(dut)
    if registered:
        sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return np.array(got, dtype=np.uint8)


@pytest.mark.parametrize("registered", [False, True])
@pytest.mark.parametrize("seed", range(4))
def test_hardware_bits_equal_encode_int(seed, registered):
    rng = np.random.default_rng(seed)
    enc_dict = _encoder(rng)
    fields = encoder_fields(enc_dict)
    q = np.array([[int(rng.integers(-(1 << (f.width - 1)) if f.signed else 0,
                                    (1 << (f.width - 1)) if f.signed else (1 << f.width)))
                   for f in fields] for _ in range(40)], dtype=np.int64)
    for f in fields:  # the edges of the grid and every constant
        q[0, f.index] = -(1 << (f.width - 1)) if f.signed else 0
        q[1, f.index] = ((1 << (f.width - 1)) - 1) if f.signed else (1 << f.width) - 1
        for j, c in enumerate(f.constants[:30]):
            lo, hi = (-(1 << (f.width - 1)), (1 << (f.width - 1)) - 1) if f.signed else (0, (1 << f.width) - 1)
            q[2 + j, f.index] = min(max(c, lo), hi)
    expected = Encoder.from_dict(enc_dict).encode_int(q)
    np.testing.assert_array_equal(_run(enc_dict, q, registered), expected)
    assert input_width(enc_dict) == sum(f.width for f in fields)


def test_unquantized_encoder_is_refused_with_the_fix():
    enc = {"type": "features", "features": [{"kind": "thermometer", "thresholds": [0.5, 1.5]}]}
    with pytest.raises(ValueError, match=r"^encoder features\[0\] has no integer input width: .*--encoder host$"):
        encoder_fields(enc)




def test_pack_unpack_round_trip_and_range_check():
    rng = np.random.default_rng(5)
    enc = _encoder(rng)
    fields = encoder_fields(enc)
    from lgn_hw.hdl.encoder import pack_features, random_features, unpack_features
    q = random_features(fields, 200, rng)
    bits = pack_features(fields, q)
    assert bits.shape == (200, input_width(enc))
    np.testing.assert_array_equal(unpack_features(fields, bits), q)
    f = fields[0]
    q[7, 0] = (1 << f.width)  # one past the top of any width
    with pytest.raises(ValueError, match=r"^feature 0 of sample 7 is \d+, outside the (un)?signed \d+-bit range"):
        pack_features(fields, q)


def _encoded_netlist(seed):
    """A random netlist behind a random quantized encoder (its bits are the netlist's inputs)."""
    from lgn_hw.netlist import random_netlist
    from lgn_hw.netlist.model import Netlist

    rng = np.random.default_rng(seed)
    enc = _encoder(rng)
    n = Encoder.from_dict(enc).num_bits
    net = random_netlist(n, [16, 12], 3, seed=seed)
    return Netlist(net.num_inputs, net.layers, net.num_classes, net.tau, enc, {})


@pytest.mark.parametrize("seed", range(3))
def test_core_with_encoder_inside_matches_golden_on_raw_features(seed):
    from lgn_hw.hdl import Pipeline, latency_of
    from lgn_hw.hdl.encoder import CoreInputs
    from test_core_sim import check_results, simulate

    net = _encoded_netlist(seed)
    inputs = CoreInputs(net, "hw")
    words = inputs.random(40, np.random.default_rng(seed))
    core, log = simulate(net, Pipeline(), words, valid_p=0.7, ready_p=1.0, seed=seed, encoder="hw")
    assert len(core.in_data) == inputs.width == sum(f.width for f in inputs.fields)
    assert inputs.count == len(net.encoder["features"])
    assert CoreInputs(net, "host").count == net.num_inputs
    check_results(net, inputs.netlist_bits(words), log["results"])
    # The encoder's register is one more cycle, and the latency says so.
    assert core.latency == latency_of(net, Pipeline())["total"] + 1 == core.latency_parts["total"]
    assert [o - a for a, o in zip(log["acc"], log["out"])] == [core.latency] * len(words)


@pytest.mark.parametrize("seed", [7, 8, 9, 10])
def test_raw_features_reach_the_same_bits_as_the_host_encoder(seed):
    from lgn_hw.hdl.encoder import CoreInputs

    net = _encoded_netlist(seed)
    hw, host = CoreInputs(net, "hw"), CoreInputs(net, "host")
    enc = Encoder.from_dict(net.encoder)
    rng = np.random.default_rng(0)
    lo = np.array([f.range[0] for f in enc.features]) - 3
    hi = np.array([f.range[1] for f in enc.features]) + 3
    x = rng.uniform(lo, hi, (300, enc.num_features))
    words = hw.from_raw(x)
    np.testing.assert_array_equal(hw.netlist_bits(words), host.from_raw(x))
    # in_data's layout, read by hand from the contract (docs/DESIGN.md): feature f's W_f bits
    # LSB-first from bit sum(W_<f), two's complement when signed.
    q, at = [], 0
    for f in enc.features:
        v = sum(words[:, at + i].astype(np.int64) << i for i in range(f.width))
        q.append(v - (v >> (f.width - 1) << f.width) if f.signed else v)
        at += f.width
    assert at == hw.width
    np.testing.assert_array_equal(np.stack(q, axis=1), enc.quantize(x))


def test_hardware_encoder_needs_an_encoder():
    from lgn_hw.hdl.encoder import CoreInputs
    from lgn_hw.netlist import random_netlist

    with pytest.raises(ValueError, match=r"^--encoder hw needs a netlist with an encoder"):
        CoreInputs(random_netlist(4, [6], 2), "hw")


def test_only_the_bits_layer_0_reads_are_computed():
    from lgn_hw.hdl.core import _bits_read
    from lgn_hw.netlist.model import Layer, Netlist

    # Gate 0 is A (reads input 0 only), gate 1 is XOR of inputs 2 and 3; input 1 and 4.. are unread.
    net = Netlist(6, [Layer([0, 2], [1, 3], [3, 6])], 2, 1.0, None, {})
    assert _bits_read(net).tolist() == [True, False, True, True, False, False]
    enc = {"type": "features", "features": [{"kind": "thermometer", "thresholds": [1, 2, 3], "width": 2,
                                             "signed": False, "scale": 1, "offset": 0},
                                            {"kind": "onehot", "values": [0, 1, 2], "width": 2, "signed": False}]}
    dut = FeatureEncoder(enc, registered=False, used=_bits_read(net))
    fields = dut.fields
    got = []

    async def bench(ctx):
        for q in ([3, 2], [1, 0], [2, 1]):
            ctx.set(dut.x, _pack(fields, q))
            await ctx.delay(1e-9)
            got.append([(ctx.get(dut.y) >> i) & 1 for i in range(6)])

    sim = Simulator(dut)
    sim.add_testbench(bench)
    sim.run()
    full = Encoder.from_dict(enc).encode_int(np.array([[3, 2], [1, 0], [2, 1]]))
    np.testing.assert_array_equal(np.array(got), full * _bits_read(net))


@pytest.mark.parametrize("width", range(1, 7))
@pytest.mark.parametrize("is_signed", [False, True])
def test_a_compare_reads_only_the_bits_it_depends_on(width, is_signed):
    from lgn_hw.hdl.encoder import FeatureField, compare_reads

    if is_signed and width == 1:
        return
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if is_signed else (0, (1 << width) - 1)
    q = np.arange(lo, hi + 1)
    for t in range(lo, hi):
        f = FeatureField(0, "thermometer", 0, width, is_signed, (t,))
        reads = compare_reads(f, [True])
        keep = sum(1 << i for i in range(width) if reads[i])
        u = (q & ((1 << width) - 1)) & keep  # the unread bits forced to 0, as the input register does
        kept = u - ((u >> (width - 1)) << width) if is_signed else u
        np.testing.assert_array_equal(kept > t, q > t, err_msg=f"t={t} reads={reads}")
        # No bit more than needed: the lowest bit read can change the outcome.
        low = int(np.argmax(reads))
        flips = ((q ^ (1 << low)) - (((q ^ (1 << low)) & ((1 << width) - 1)) >> (width - 1) << width)
                 if is_signed else q ^ (1 << low))
        assert ((flips > t) != (q > t)).any()


def test_an_mnist_like_core_registers_only_the_bits_its_compares_read():
    from lgn_hw.hdl import Pipeline, latency_of
    from lgn_hw.hdl.core import LgnCore
    from lgn_hw.hdl.encoder import CoreInputs
    from lgn_hw.netlist.model import Layer, Netlist
    from test_core_sim import check_results, simulate

    # 30 8-bit pixels, one level q > 127 (bit 7 alone); layer 0 reads pixels 3, 4, 10 and 29.
    enc = {"type": "features", "features": [
        {"kind": "thermometer", "thresholds": [127], "width": 8, "signed": False, "scale": 1, "offset": 0}] * 30}
    net = Netlist(30, [Layer([3, 10, 29, 4], [4, 3, 10, 29], [1, 6, 7, 14])], 2, 1.0, enc, {})
    core = LgnCore(net, Pipeline(), encoder="hw")
    # The compares are wires: no encoder register, one cycle less than before.
    assert core.latency_parts["encoder"] == 0
    assert core.latency == latency_of(net, Pipeline(), "hw")["total"] == latency_of(net, Pipeline())["total"]
    from amaranth.back import verilog

    text = verilog.convert(core, name="lgn_top")
    widths = [int(w) + 1 for w in re.findall(r"reg \[(\d+):0\] in_reg\b", text)]
    assert widths == [4]  # 4 flip-flops, not 240
    words = CoreInputs(net, "hw").random(60, np.random.default_rng(0))
    core, log = simulate(net, Pipeline(), words, valid_p=0.7, ready_p=0.8, seed=1, encoder="hw")
    check_results(net, CoreInputs(net, "hw").netlist_bits(words), log["results"])
