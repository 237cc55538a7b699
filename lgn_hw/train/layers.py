"""Logic layers, LUT layers and the group sum: the torch modules a logic-gate network is built from.

A :class:`LogicLayer` of width ``out_dim`` reads ``in_dim`` values in ``[0, 1]``;
neuron ``j`` reads ``a = x[:, idx_a[j]]`` and ``b = x[:, idx_b[j]]`` and
outputs ``c0 + c1 a + c2 b + c3 ab`` with ``c = w @ lgn_hw.gates.COEFFS``,
where ``w`` are its gate weights chosen by the estimator
(:mod:`lgn_hw.train.estimators`) from its 16 logits ``theta``.
A :class:`LutLayer` of k-input nodes (k = 2..6) generalises it: node ``n``
reads ``x_i = x[:, idx[n, i]]`` and outputs the multilinear interpolation of
its table values ``p[n, j]`` (``2^k`` entries, chosen by the estimator from
their logits) at them (:func:`lgn_hw.train.kernels.lut_op`); a gate is the
k = 2 case. :class:`GroupSum` turns the last layer into class scores
(DESIGN.md section 2).
"""

from __future__ import annotations

import contextlib

import numpy as np
import torch
from torch import nn

from .. import gates
from .config import CONNECTIONS
from .estimators import ESTIMATORS, check_estimator, gate_weights, table_probs
from .kernels import KERNELS, LUT_K, choose_slots, logic_op, lut_op, lut_op_reference

__all__ = ["LogicLayer", "LutLayer", "NODE_LAYERS", "GroupSum", "CONNECTIONS", "INITS", "KERNELS",
           "make_generator", "random_connections", "unique_connections", "random_lut_connections",
           "unique_lut_connections", "override_noise"]

#: Standard deviation of the initial input-choice logits of ``connections="learned"`` (the
#: starting inputs get :data:`MAP_START_LOGIT` on top, so they win the first argmax).
MAP_INIT_STD = 0.1
MAP_START_LOGIT = 0.5
INITS = ("gaussian", "residual")
#: Logit given to the pass-through gate by ``init="residual"`` (its softmax weight is ~0.91).
RESIDUAL_LOGIT = 5.0
#: ``init="residual"`` of a LUT node: entry logits ``+-`` this, so that each entry is the
#: pass-through value with probability ``sigmoid(3) ~ 0.95``.
LUT_RESIDUAL_LOGIT = 3.0


def make_generator(generator=None) -> torch.Generator:
    """A ``torch.Generator`` from a seed, a generator (returned as is) or None (a fresh seed)."""
    if isinstance(generator, torch.Generator):
        return generator
    g = torch.Generator()
    if generator is None:
        g.seed()
        return g
    if isinstance(generator, bool) or not isinstance(generator, (int, np.integer)):
        raise TypeError(f"'generator' must be a torch.Generator, an integer seed or None, not {generator!r}")
    return g.manual_seed(int(generator))


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"'{name}' must be a positive integer, not {value!r}")
    if value < 1:
        raise ValueError(f"'{name}' must be a positive integer, not {value!r}")
    return int(value)


def random_connections(in_dim: int, out_dim: int, generator: torch.Generator):
    """Independent uniform ``a`` per neuron and ``b`` uniform among the other inputs.

    ``a != b`` whenever ``in_dim >= 2``; no other guarantee.
    """
    dev = generator.device
    a = torch.randint(0, in_dim, (out_dim,), generator=generator, device=dev)
    if in_dim == 1:
        return a.cpu(), a.clone().cpu()
    b = (a + torch.randint(1, in_dim, (out_dim,), generator=generator, device=dev)) % in_dim
    return a.cpu(), b.cpu()


def unique_connections(in_dim: int, out_dim: int, generator: torch.Generator):
    """Connections that use every input and repeat no pair, as far as possible.

    Guarantees (``n = in_dim``, ``m = out_dim``):

    - ``a != b`` for every neuron when ``n >= 2``;
    - no two neurons read the same *unordered* pair while ``m <= n(n-1)/2``;
      beyond that, every pair is read at most ``ceil(m / (n(n-1)/2))`` times;
    - every input is read by some neuron when ``2m >= n``
      (the first ``ceil(n/2)`` neurons form a perfect cover);
    - inputs are read evenly: each full block of ``n`` neurons reads every
      input exactly twice.

    Construction: relabel the inputs by a random permutation ``p``; pairs are
    ``(p[i], p[(i + d) % n])`` for offsets ``d = 1 .. n//2`` (all unordered
    pairs, each exactly once). Offset 1 comes first, even ``i`` before odd
    ``i`` (a cover), the other offsets follow in random order with ``i`` in
    random order; then the neurons are shuffled and each pair's order is
    flipped at random.
    """
    n, m = in_dim, out_dim
    if n == 1:
        zeros = torch.zeros(m, dtype=torch.int64)
        return zeros, zeros.clone()
    g = generator
    dev = g.device
    a_parts, b_parts, total = [], [], 0
    while total < m:
        perm = torch.randperm(n, generator=g, device=dev).cpu()
        rest = (torch.randperm(n // 2 - 1, generator=g, device=dev).cpu() + 2).tolist() if n // 2 > 1 else []
        for d in [1] + rest:
            if total >= m:
                break
            count = n // 2 if 2 * d == n else n  # offset n/2 gives each pair twice: keep half
            if d == 1:
                i = torch.cat([torch.arange(0, n, 2), torch.arange(1, n, 2)])
                i = i[i < count]
            else:
                i = torch.randperm(count, generator=g, device=dev).cpu()
            i = i[: m - total]
            a_parts.append(perm[i])
            b_parts.append(perm[(i + d) % n])
            total += len(i)
    a = torch.cat(a_parts)
    b = torch.cat(b_parts)
    order = torch.randperm(m, generator=g, device=dev).cpu()
    flip = torch.randint(0, 2, (m,), generator=g, device=dev).cpu().bool()
    a, b = a[order], b[order]
    return torch.where(flip, b, a), torch.where(flip, a, b)


def random_lut_connections(in_dim: int, out_dim: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """``(out_dim, k)`` inputs: per node a uniform random set of ``k`` distinct inputs in random order.

    Sets by Floyd's algorithm (vectorised over the nodes), then each row
    shuffled. With ``in_dim < k`` a node reads every input once and
    ``k - in_dim`` uniform repeats.
    """
    g, dev = generator, generator.device
    distinct = min(k, in_dim)
    cols = []
    for j in range(in_dim - distinct, in_dim):
        t = torch.randint(0, j + 1, (out_dim,), generator=g, device=dev).cpu()
        if cols:
            t = torch.where((torch.stack(cols, 1) == t[:, None]).any(1), torch.full_like(t, j), t)
        cols.append(t)
    cols += [torch.randint(0, in_dim, (out_dim,), generator=g, device=dev).cpu() for _ in range(k - distinct)]
    idx = torch.stack(cols, 1)
    order = torch.rand(out_dim, k, generator=g, device=dev).cpu().argsort(dim=1)
    return idx.gather(1, order).contiguous()


def unique_lut_connections(in_dim: int, out_dim: int, k: int, generator: torch.Generator) -> torch.Tensor:
    """``(out_dim, k)`` inputs that use every input and read them evenly.

    Guarantees (``n = in_dim``, ``m = out_dim``):

    - every node reads ``k`` distinct inputs when ``n >= k``;
    - every input is read when ``m k >= n`` (the first ``ceil(n / k)`` nodes cover them);
    - inputs are read evenly: read counts differ by at most one.

    Construction: a stream of random permutations of the inputs, cut into
    nodes of ``k`` consecutive entries. Where a node straddles two
    permutations, the next one starts with inputs the node's tail does not
    already hold (its other entries keep their random order).
    """
    n, g, dev = in_dim, generator, generator.device
    need = out_dim * k
    parts, total = [], 0
    while total < need:
        perm = torch.randperm(n, generator=g, device=dev).cpu()
        r = total % k  # entries of the straddling node already in the stream
        if r and n >= k:
            tail = torch.cat(parts)[-r:]
            free = (~torch.isin(perm, tail)).nonzero().squeeze(1)[: k - r]
            rest = torch.ones(n, dtype=torch.bool)
            rest[free] = False
            perm = torch.cat([perm[free], perm[rest]])
        parts.append(perm)
        total += n
    return torch.cat(parts)[:need].reshape(out_dim, k).contiguous()


def _logic_op_per_sample(x, idx_a, idx_b, coef):
    """The same with per-sample coefficients ``coef`` of shape ``(batch, out_dim, 4)``."""
    a = x[:, idx_a]
    b = x[:, idx_b]
    return coef[..., 0] + coef[..., 1] * a + coef[..., 2] * b + coef[..., 3] * (a * b)


class _NodeLayer(nn.Module):
    """What gate and LUT layers share: sizes, connection and init choices, estimator settings,
    the generator, and the input check of ``forward``."""

    def __init__(self, in_dim: int, out_dim: int, *, connections: str = "random",
                 init: str = "gaussian", estimator: str = "soft", tau: float = 1.0,
                 tau_f: float = 0.1, tau_b: float = 2.0, noise: str = "neuron",
                 kernel: str = "auto", generator=None):
        super().__init__()
        self.in_dim = _positive_int("in_dim", in_dim)
        self.out_dim = _positive_int("out_dim", out_dim)
        if connections not in CONNECTIONS:
            raise ValueError(f"'connections' must be one of {CONNECTIONS}, not {connections!r}")
        if init not in INITS:
            raise ValueError(f"'init' must be one of {INITS}, not {init!r}")
        if kernel not in KERNELS:
            raise ValueError(f"'kernel' must be one of {KERNELS}, not {kernel!r}")
        check_estimator(estimator, tau=tau, tau_f=tau_f, tau_b=tau_b, noise=noise)
        self.connections, self.init = connections, init
        self.estimator, self.noise, self.kernel = estimator, noise, kernel
        self.tau, self.tau_f, self.tau_b = float(tau), float(tau_f), float(tau_b)
        self.generator = make_generator(generator)
        self.last_ops = None

    def extra_repr(self) -> str:
        k = f", k={self.k}" if self.kind == "lut" else ""
        return (f"{self.in_dim}, {self.out_dim}{k}, connections={self.connections!r}, init={self.init!r}, "
                f"estimator={self.estimator!r}, tau={self.tau}, kernel={self.kernel!r}")

    def _estimate(self, fn, batch_size):
        return fn(self.weights, self.estimator, training=self.training, tau=self.tau, tau_f=self.tau_f,
                  tau_b=self.tau_b, noise=self.noise, batch_size=batch_size, generator=self.generator)

    def _hard(self) -> bool:
        return self.training and ESTIMATORS[self.estimator].hard

    def _input(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] != self.in_dim:
            raise ValueError(f"{type(self).__name__} expects input of shape (batch, {self.in_dim}), "
                             f"not {tuple(x.shape)}")
        return x if x.is_floating_point() else x.to(self.weights.dtype)


class LogicLayer(_NodeLayer):
    """``out_dim`` two-input logic neurons reading a layer of width ``in_dim``.

    Parameters: ``weights`` (``(out_dim, 16)`` gate logits ``theta``). Buffers:
    ``idx_a``, ``idx_b`` (int64 connection indices, saved in ``state_dict``).

    ``connections``: ``"random"`` or ``"unique"`` (see :func:`unique_connections`).
    ``init``: ``"gaussian"`` (``theta ~ N(0, 1)``) or ``"residual"`` (``theta = 0``
    except :data:`RESIDUAL_LOGIT` at the pass-through gate ``A``, op 3).
    ``estimator``, ``tau``, ``tau_f``, ``tau_b``, ``noise``: see
    :mod:`lgn_hw.train.estimators`. ``kernel``: passed to
    :func:`lgn_hw.train.kernels.logic_op` (``"auto"``, ``"reference"``, ``"cpu"``,
    ``"triton"``). ``generator``: a ``torch.Generator`` or seed used for the
    connections, the initial logits and then the estimator's Gumbel noise.

    After each training-mode forward of a hard estimator, ``last_ops`` holds
    the op codes it sampled (``(out_dim,)``, or ``(batch, out_dim)`` with
    per-sample noise); otherwise it is None.
    """

    kind = "gate"

    def __init__(self, in_dim: int, out_dim: int, **options):
        super().__init__(in_dim, out_dim, **options)
        if self.connections == "learned":
            raise ValueError("'connections' = 'learned' is for LUT layers (layer_kind 'lut'), not gate layers")
        connect = random_connections if self.connections == "random" else unique_connections
        a, b = connect(self.in_dim, self.out_dim, self.generator)
        self.register_buffer("idx_a", a.to(torch.int64).contiguous())
        self.register_buffer("idx_b", b.to(torch.int64).contiguous())
        if self.init == "gaussian":
            theta = torch.randn(self.out_dim, gates.NUM_OPS, generator=self.generator,
                                device=self.generator.device).cpu()
        else:
            theta = torch.zeros(self.out_dim, gates.NUM_OPS)
            theta[:, gates.PASS_A] = RESIDUAL_LOGIT
        self.weights = nn.Parameter(theta)
        self.register_buffer("gate_coeffs", torch.tensor(gates.COEFFS, dtype=torch.float32),
                             persistent=False)
        self.register_buffer("costly_ops", torch.as_tensor(gates.DEPENDS_ON_A & gates.DEPENDS_ON_B),
                             persistent=False)

    def gate_weights(self, batch_size: int | None = None) -> torch.Tensor:
        """This layer's gate weights ``w`` for the current mode (draws noise in training)."""
        return self._estimate(gate_weights, batch_size)

    def logic_cost(self) -> torch.Tensor:
        """Expected gates that cost logic: the sum over neurons of P(op reads both inputs).

        Under ``softmax(theta)``, the distribution the discrete network's argmax
        is taken from. The other ops (constants, pass-throughs, NOTs) vanish in
        the optimiser or fold into the gate that reads them.
        """
        return torch.softmax(self.weights, dim=-1)[:, self.costly_ops].sum()

    def ops(self) -> np.ndarray:
        """The discrete network's op codes: ``argmax theta`` per neuron (lowest op on ties)."""
        return self.weights.detach().argmax(dim=-1).cpu().numpy().astype(np.int64)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._input(x)
        w = self.gate_weights(batch_size=x.shape[0])
        self.last_ops = w.detach().argmax(dim=-1) if self._hard() else None
        coef = w @ self.gate_coeffs.to(w.dtype)
        if coef.dim() == 3:
            return _logic_op_per_sample(x, self.idx_a, self.idx_b, coef)
        return logic_op(x, self.idx_a, self.idx_b, coef, kernel=self.kernel)


class LutLayer(_NodeLayer):
    """``out_dim`` k-input LUT nodes (``k`` in 2..6) reading a layer of width ``in_dim``.

    Parameters: ``weights`` (``(out_dim, 2^k)`` entry logits ``theta``, in entry
    order: entry ``j`` is the input combination with ``x_i`` = bit ``k-1-i`` of
    ``j``). Buffers: ``idx`` (``(out_dim, k)`` int64 connection indices, saved
    in ``state_dict``).

    ``connections``: ``"random"`` (:func:`random_lut_connections`),
    ``"unique"`` (:func:`unique_lut_connections`) or ``"learned"``: each of the
    ``out_dim * k`` input slots holds ``in_dim`` input-choice logits ``W``
    (parameter ``map_logits``; N(0, :data:`MAP_INIT_STD`) with
    :data:`MAP_START_LOGIT` added at random starting inputs) and reads input
    ``argmax W`` (:meth:`inputs`, which ``idx`` follows). In training the slot's
    value is the chosen input's, and its gradient ``g`` reaches that input
    (straight through) and the logits as the gradient of
    ``g * softmax(W) @ x``: a slot's logit grows where its input moves with
    ``-g``. ``init``: ``"gaussian"``
    (``theta ~ N(0, 1)``) or ``"residual"``: every node starts as its first
    input, ``theta_j = +`` :data:`LUT_RESIDUAL_LOGIT` where bit ``k-1`` of ``j``
    is set, ``-`` elsewhere. ``estimator``, ``tau``, ``tau_f``, ``tau_b``,
    ``noise`` and ``kernel`` as for :class:`LogicLayer`; the estimator acts on
    each entry (:func:`lgn_hw.train.estimators.table_probs`). With
    ``noise="sample"`` the table values are ``(batch, out_dim, 2^k)`` per layer
    and go through the plain-torch op (memory grows with ``2^k``).

    The discrete node's table holds ``theta_j > 0`` (:meth:`table_bits`,
    :meth:`ops`). After each training-mode forward of a hard estimator,
    ``last_ops`` holds the table bits it sampled (bool, ``(out_dim, 2^k)``, or
    ``(batch, out_dim, 2^k)`` with per-sample noise); otherwise it is None.
    """

    kind = "lut"

    def __init__(self, in_dim: int, out_dim: int, k: int = 6, **options):
        super().__init__(in_dim, out_dim, **options)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k not in LUT_K:
            raise ValueError(f"'k' must be an integer in {LUT_K[0]}..{LUT_K[-1]}, not {k!r}")
        self.k = int(k)
        connect = unique_lut_connections if self.connections == "unique" else random_lut_connections
        start = connect(self.in_dim, self.out_dim, self.k, self.generator).to(torch.int64)
        self.register_buffer("idx", start)
        if self.connections == "learned":
            logits = torch.randn(self.out_dim * self.k, self.in_dim, generator=self.generator,
                                 device=self.generator.device).cpu() * MAP_INIT_STD
            logits[torch.arange(self.out_dim * self.k), start.reshape(-1)] += MAP_START_LOGIT
            self.map_logits = nn.Parameter(logits)
            self.register_buffer("_slots", torch.arange(self.out_dim * self.k).reshape(self.out_dim, self.k),
                                 persistent=False)
        size = 1 << self.k
        if self.init == "gaussian":
            theta = torch.randn(self.out_dim, size, generator=self.generator, device=self.generator.device).cpu()
        else:
            entries = torch.tensor(gates.lut_entries(gates.lut_pass_through(self.k), self.k))
            theta = (2.0 * entries - 1.0).mul(LUT_RESIDUAL_LOGIT).expand(self.out_dim, size).clone()
        self.weights = nn.Parameter(theta)

    def inputs(self) -> torch.Tensor:
        """The discrete nodes' inputs, ``(out_dim, k)`` int64: ``idx``, or with learned connections the
        argmax of each slot's input-choice logits (lowest input on ties), which ``idx`` then follows."""
        if self.connections != "learned":
            return self.idx
        with torch.no_grad():
            # max(dim).indices: argmax's answer (the first maximum; NaN wins), in a third of its time
            choice = self.map_logits.max(dim=-1).indices.reshape(self.out_dim, self.k)
            self.idx.copy_(choice)
        return choice  # not idx itself: autograd keeps it, and the next call rewrites idx

    def _choose(self, x: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Learned connections: ``(batch, out_dim * k)`` slot values, each the input its logits
        pick (``idx``, forward) with the gradient of ``softmax(logits) @ x`` for the logits (backward):
        :func:`~lgn_hw.train.kernels.choose_slots` with every kernel: its written-out reference
        (:func:`~lgn_hw.train.kernels.choose_slots_reference`) gives the same values and logits'
        gradients, but computes a dense product to no effect and sums the inputs' gradients in an
        order that varies from run to run."""
        idx = idx.reshape(-1)
        if not self.training:
            return x[:, idx]
        return choose_slots(x, self.map_logits, idx)

    def table_probs(self, batch_size: int | None = None) -> torch.Tensor:
        """This layer's table values ``p`` for the current mode (draws noise in training)."""
        return self._estimate(table_probs, batch_size)

    def table_bits(self) -> np.ndarray:
        """The discrete tables' entries, ``theta > 0``: bool ``(out_dim, 2^k)`` in entry order."""
        return (self.weights.detach() > 0).cpu().numpy()

    def ops(self) -> np.ndarray:
        """The discrete tables as integers (``uint64``, :func:`lgn_hw.gates.lut_from_entries`)."""
        return gates.lut_from_entries(self.table_bits())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self._input(x)
        p = self.table_probs(batch_size=x.shape[0])
        self.last_ops = p.detach() != 0 if self._hard() else None
        idx = self.inputs()
        if self.connections == "learned":
            x, idx = self._choose(x, idx), self._slots
        if p.dim() == 3:
            return lut_op_reference(x, idx, p)
        return lut_op(x, idx, p, kernel=self.kernel)


#: The layer kinds a :class:`~lgn_hw.train.LogicNet` is built from.
NODE_LAYERS = (LogicLayer, LutLayer)


class GroupSum(nn.Module):
    """Class scores: the last layer split into ``num_classes`` consecutive groups, each summed, over ``tau``."""

    def __init__(self, num_classes: int, tau: float = 1.0):
        super().__init__()
        self.num_classes = _positive_int("num_classes", num_classes)
        if isinstance(tau, bool) or not isinstance(tau, (int, float)):
            raise TypeError(f"'tau' must be a positive number, not {tau!r}")
        if not (0 < tau < float("inf")):
            raise ValueError(f"'tau' must be a positive finite number, not {tau!r}")
        self.tau = float(tau)

    def extra_repr(self) -> str:
        return f"{self.num_classes}, tau={self.tau}"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 2 or x.shape[1] % self.num_classes:
            raise ValueError(
                f"GroupSum expects (batch, k * {self.num_classes}) inputs, not {tuple(x.shape)}")
        return x.reshape(x.shape[0], self.num_classes, -1).sum(dim=-1) / self.tau


@contextlib.contextmanager
def override_noise(model: nn.Module, generator: torch.Generator | None = None, estimator: str | None = None):
    """Temporarily give every :class:`LogicLayer` and :class:`LutLayer` of ``model`` another noise
    generator and/or estimator.

    Used by the metrics so that measuring never advances the training noise.
    ``last_ops`` is restored too.
    """
    saved = []
    for layer in model.modules():
        if isinstance(layer, NODE_LAYERS):
            saved.append((layer, layer.generator, layer.estimator, layer.last_ops))
            if generator is not None:
                layer.generator = generator
            if estimator is not None:
                check_estimator(estimator, tau=layer.tau, tau_f=layer.tau_f, tau_b=layer.tau_b,
                                 noise=layer.noise)
                layer.estimator = estimator
    try:
        yield model
    finally:
        for layer, gen, est, ops in saved:
            layer.generator, layer.estimator, layer.last_ops = gen, est, ops
