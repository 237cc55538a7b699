"""A UART front end for the core, so a board can classify samples sent from a PC.

Protocol (8 data bits, no parity, one stop bit, LSB first; ``lgn-hw classify`` speaks it):

* The host sends a frame: one command byte, then the sample as
  ``ceil(num_inputs / 8)`` bytes. Bit ``i`` of the sample is bit ``i % 8`` of
  payload byte ``i // 8`` (``numpy.packbits(bits, bitorder="little")``); pad bits
  of the last byte are ignored.
* :data:`CMD_CLASS` (``'c'``): the board answers with one byte, the class.
* :data:`CMD_SCORES` (``'s'``): the board answers with the class byte, then each
  class's score in class order, ``ceil(score_width / 8)`` bytes each, little-endian.
* Other bytes outside a frame are ignored. A frame not completed within
  ``timeout`` clock cycles of its last byte is dropped, so a host that lost
  sync can wait briefly and start over.
* Answers come in the order of the frames. The board buffers one frame while
  the core takes the previous one; a host that asks for scores (longer answers
  than questions) should wait for each answer before sending the next frame.
"""

import math

from amaranth.hdl import Cat, ClockSignal, Const, Instance, Module, Mux, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.cdc import FFSynchronizer
from amaranth.lib.fifo import SyncFIFO
from amaranth.lib.wiring import In, Out

from ..hdl.ports import CLOCK, RESET, core_ports, core_dims

__all__ = ["CMD_CLASS", "CMD_SCORES", "UARTRx", "UARTTx", "LgnUart", "in_width", "sample_bytes", "score_bytes",
           "answer_bytes"]

CMD_CLASS = 0x63   # 'c'
CMD_SCORES = 0x73  # 's'


def _check_positive(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{name}' must be a positive integer, not {value!r}")
    if value < 1:
        raise ValueError(f"'{name}' must be a positive integer, not {value!r}")
    return value


def _dims(core) -> dict:
    """The four widths of ``core`` (an ExportDir or a Netlist), checked for the protocol."""
    dims = core_dims(core)
    if dims["class_width"] > 8:
        raise ValueError(f"the class must fit one byte, not class_width {dims['class_width']!r}")
    return dims


def in_width(core) -> int:
    """Bits of ``in_data``: the export's (raw features when its encoder is in the core), a Netlist's inputs."""
    return next(p.width for p in core_ports(core) if p.name == "in_data")


def sample_bytes(core) -> int:
    """Payload bytes of a frame for ``core`` (an :class:`~lgn_hw.hdl.ExportDir` or a Netlist): its
    ``in_data`` bits, LSB first; with the encoder in the core and 8-bit features, one byte per feature."""
    return math.ceil(in_width(core) / 8)


def score_bytes(core) -> int:
    """Bytes per score in a :data:`CMD_SCORES` answer."""
    return math.ceil(_dims(core)["score_width"] / 8)


def answer_bytes(core, scores: bool) -> int:
    """Bytes of an answer: the class byte, then with ``scores`` every class's score."""
    return 1 + (_dims(core)["num_classes"] * score_bytes(core) if scores else 0)


class UARTRx(wiring.Component):
    """Receives 8N1 bytes: ``valid`` pulses for one cycle with the byte in ``data``.

    ``divisor`` is clock cycles per bit. A frame whose stop bit is low is dropped.
    """

    rx: In(1, init=1)
    data: Out(8)
    valid: Out(1)

    def __init__(self, divisor: int):
        self.divisor = _check_positive("divisor", divisor)
        if divisor < 4:
            raise ValueError(f"'divisor' must be at least 4 clock cycles per bit, not {divisor!r}")
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        rx = Signal(init=1)
        m.submodules.sync_rx = FFSynchronizer(self.rx, rx, init=1)
        timer = Signal(range(self.divisor))
        bit = Signal(range(8))
        shreg = Signal(8)
        m.d.comb += self.data.eq(shreg)
        with m.If(timer != 0):
            m.d.sync += timer.eq(timer - 1)
        with m.FSM():
            with m.State("IDLE"):
                with m.If(~rx):
                    m.d.sync += timer.eq(self.divisor // 2 - 1)
                    m.next = "START"
            with m.State("START"):
                with m.If(timer == 0):
                    with m.If(~rx):  # still low at mid-bit: a real start bit
                        m.d.sync += [timer.eq(self.divisor - 1), bit.eq(0)]
                        m.next = "DATA"
                    with m.Else():
                        m.next = "IDLE"
            with m.State("DATA"):
                with m.If(timer == 0):
                    m.d.sync += [shreg.eq(Cat(shreg[1:], rx)), timer.eq(self.divisor - 1),
                                 bit.eq(bit + 1)]
                    with m.If(bit == 7):
                        m.next = "STOP"
            with m.State("STOP"):
                with m.If(timer == 0):
                    m.d.comb += self.valid.eq(rx)
                    m.next = "IDLE"
        return m


class UARTTx(wiring.Component):
    """Sends 8N1 bytes: a byte is taken on a cycle with ``valid`` and ``ready`` high."""

    tx: Out(1, init=1)
    data: In(8)
    valid: In(1)
    ready: Out(1)

    def __init__(self, divisor: int):
        self.divisor = _check_positive("divisor", divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        timer = Signal(range(self.divisor))
        shreg = Signal(10, init=0x3FF)
        left = Signal(range(11))
        m.d.comb += [self.tx.eq(shreg[0]), self.ready.eq(left == 0)]
        with m.If(left != 0):
            with m.If(timer == 0):
                m.d.sync += [shreg.eq(Cat(shreg[1:], Const(1, 1))), left.eq(left - 1),
                             timer.eq(self.divisor - 1)]
            with m.Else():
                m.d.sync += timer.eq(timer - 1)
        with m.Elif(self.valid):
            m.d.sync += [shreg.eq(Cat(Const(0, 1), self.data, Const(1, 1))), left.eq(10),
                         timer.eq(self.divisor - 1)]
        return m


class LgnUart(wiring.Component):
    """The exported core (``top``, instantiated as a black box) behind the UART protocol above.

    ``core`` gives the widths: an :class:`~lgn_hw.hdl.ExportDir` or a Netlist.
    ``divisor`` is clock cycles per bit (e.g. 12 MHz / 115200 baud = 104);
    ``timeout`` is the idle time in cycles after which a partial frame is dropped
    (default: 64 byte times).
    """

    rx: In(1, init=1)
    tx: Out(1, init=1)

    def __init__(self, core, *, top: str = "lgn_top", divisor: int, timeout=None):
        self.dims = _dims(core)
        self.core = core
        self.top = top
        self.divisor = _check_positive("divisor", divisor)
        self.timeout = _check_positive("timeout", timeout if timeout is not None else 640 * divisor)
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        core, d = self.core, self.dims
        nbytes = sample_bytes(core)
        sb = score_bytes(core)

        m.submodules.rx = rx = UARTRx(self.divisor)
        m.submodules.tx = tx = UARTTx(self.divisor)
        # One flag per sample inside the core: answer with scores or not.
        m.submodules.flags = flags = SyncFIFO(width=1, depth=4)
        m.d.comb += [rx.rx.eq(self.rx), self.tx.eq(tx.tx)]

        # The core's ports as lgn_hw.hdl.ports spells them (names, directions, widths).
        ports = core_ports(core)
        port = {p.name: Signal(p.width, name=p.name) for p in ports}
        port[CLOCK], port[RESET] = ClockSignal(), ResetSignal(allow_reset_less=True)
        sample = Signal(nbytes * 8)
        m.d.comb += port["in_data"].eq(sample[:in_width(core)])
        m.submodules.core = Instance(self.top, **{
            ("i_" if p.direction == "in" else "o_") + p.name: port[p.name] for p in ports})
        in_valid, in_ready = port["in_valid"], port["in_ready"]
        out_valid, out_ready = port["out_valid"], port["out_ready"]
        out_class, out_scores = port["out_class"], port["out_scores"]

        # -- host to core: command byte, then the sample bytes ------------------
        want_scores = Signal()
        count = Signal(range(nbytes))
        pending = Signal()      # `sample` holds a whole frame the core has not taken yet
        pending_scores = Signal()
        idle = Signal(range(self.timeout + 1))
        m.d.comb += [in_valid.eq(pending & flags.w_rdy),
                     flags.w_en.eq(in_valid & in_ready), flags.w_data.eq(pending_scores)]
        with m.If(in_valid & in_ready):
            m.d.sync += pending.eq(0)
        with m.FSM():
            with m.State("COMMAND"):
                # A new frame starts only once the last one is in the core, so
                # payload bytes never overwrite a sample still waiting.
                with m.If(rx.valid & ~pending & ((rx.data == CMD_CLASS) | (rx.data == CMD_SCORES))):
                    m.d.sync += [want_scores.eq(rx.data == CMD_SCORES), count.eq(0), idle.eq(0)]
                    m.next = "PAYLOAD"
            with m.State("PAYLOAD"):
                m.d.sync += idle.eq(idle + 1)
                with m.If(rx.valid):
                    m.d.sync += [sample.eq(Cat(sample[8:], rx.data)), count.eq(count + 1),
                                 idle.eq(0)]
                    with m.If(count == nbytes - 1):
                        m.d.sync += [pending.eq(1), pending_scores.eq(want_scores)]
                        m.next = "COMMAND"
                with m.Elif(idle == self.timeout):
                    m.next = "COMMAND"

        # -- core to host: class byte, then the scores if asked ------------------
        c, w = d["num_classes"], d["score_width"]
        answer = Signal(8 + c * sb * 8)
        left = Signal(range(answer_bytes(core, True) + 1))
        fields = [out_class.as_unsigned()] + [out_scores[i * w:(i + 1) * w] for i in range(c)]
        packed = Cat(*(Cat(f, Const(0, n - len(f))) for f, n in zip(fields, [8] + [8 * sb] * c)))
        m.d.comb += [tx.data.eq(answer[:8]), tx.valid.eq(left != 0)]
        with m.If(left == 0):
            m.d.comb += [out_ready.eq(flags.r_rdy), flags.r_en.eq(out_valid & flags.r_rdy)]
            with m.If(out_valid & flags.r_rdy):
                m.d.sync += [answer.eq(packed),
                             left.eq(Mux(flags.r_data, answer_bytes(core, True), 1))]
        with m.Elif(tx.ready):
            m.d.sync += [answer.eq(answer >> 8), left.eq(left - 1)]
        return m

