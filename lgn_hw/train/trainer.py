"""The trainer: a :class:`TrainConfig` and an output directory in, a trained netlist out.

Files in the output directory (each written atomically: temporary file, then rename):

- ``config.json``      the resolved configuration;
- ``checkpoint.pt``    model, optimizer, scheduler, RNG states, position and
                       metrics so far, written after every epoch and on Ctrl-C;
- ``metrics.jsonl``    one JSON record per epoch;
- ``best.lgn.json``    the netlist with the best discrete validation accuracy so far;
- ``accuracy.png``, ``gates.png``  plots (soft vs discrete accuracy per epoch;
                       the chosen-gate histogram of the best netlist).

The folder belongs to one run: while it trains, a lock (``fcntl.flock`` on the folder)
makes a second training into the same folder fail at once, and a folder that
holds a previous run (any of the files above) is refused unless ``resume=True``
continues it or ``overwrite=True`` deletes its files first.

``resume=True`` continues from ``checkpoint.pt`` exactly where the run stopped,
mid-epoch included: the batch order of an epoch is a function of the seed and
the epoch, and every random state is restored, so an interrupted and resumed
run ends with the same parameters and metrics as an uninterrupted one.

Two runs of one configuration and seed with the same thread setting
(``torch.set_num_threads``) give the same parameters and netlist to the bit
(``tests/train/test_trainer.py``): every sum in a step runs in an order fixed by
the thread count, not by which thread gets there first. Another thread count may
round differently (matrix products and reductions are split by thread).

Under ``torchrun`` the model is wrapped in DistributedDataParallel and each
process trains on its share of every batch (a ``DistributedSampler``); only
rank 0 evaluates, writes files and shows progress.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.utils.data import DistributedSampler

from ..netlist import Netlist
from ..netlist import load as load_netlist
from ..netlist import predict as golden_predict
from ..netlist.model import atomic_path, atomic_write_text, locked_folder
from . import optim
from .checkpoint import CheckpointError, RunFolderError, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .discretize import to_netlist
from .distributed import DistInfo, setup, teardown
from .layers import NODE_LAYERS
from .metrics import evaluate_metrics, soft_accuracy, discrete_accuracy, gate_histogram
from .memory import check_memory, known_inputs
from .model import build_model

__all__ = ["Trainer", "TrainResult", "train", "claim_run_folder", "CHECKPOINT", "BEST", "METRICS",
           "RUN_FILES", "RESUMABLE_KEYS"]

logger = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"
BEST = "best.lgn.json"
METRICS = "metrics.jsonl"
CONFIG = "config.json"
#: the files of a run: a folder holding any of them holds a previous run
RUN_FILES = (CONFIG, CHECKPOINT, METRICS, BEST, "accuracy.png", "gates.png")
#: settings a resumed run may change; any other difference from the checkpoint is an error
RESUMABLE_KEYS = frozenset({"epochs", "data_dir", "device", "kernel", "eval_batch_size"})


@dataclass
class TrainResult:
    """What a run produced: the best netlist (file and object), its epoch and the metrics history."""

    out_dir: Path
    netlist_path: Path | None
    netlist: Netlist | None
    best_epoch: int
    best: dict
    history: list = field(default_factory=list)
    epochs_done: int = 0
    interrupted: bool = False
    test_accuracy: float | None = None  # of the best netlist, by the golden model on raw test features


class _Indices:
    """A sized stand-in dataset for the sampler: only its length matters."""

    def __init__(self, n):
        self.n = n

    def __len__(self):
        return self.n


def _git_revision() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent,
                             capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _generators(model):
    gens, seen = [], set()
    for m in model.modules():
        if isinstance(m, NODE_LAYERS) and id(m.generator) not in seen:
            seen.add(id(m.generator))
            gens.append(m.generator)
    return gens


def _image_shape(data) -> tuple[int, int, int]:
    """``(28, 28, bits per pixel)`` of a 28 x 28 image dataset's input bits, which are pixel-major."""
    if data.name not in ("mnist", "fashion_mnist") or data.num_features != 784 or data.num_inputs % 784:
        raise ValueError(f"--shift moves 28 x 28 images (mnist, fashion_mnist), not {data.name}")
    return 28, 28, data.num_inputs // 784


def shift_images(x: torch.Tensor, image: tuple, most: int, generator: torch.Generator) -> torch.Tensor:
    """Each row of ``x`` (an image's bits, pixel-major) moved by a random ``dy, dx`` in ``-most..most``.

    Pixels moved in from outside are 0, all of their bits clear, as a black pixel's are.
    """
    h, w, c = image
    n = x.shape[0]
    img = x.reshape(n, h, w, c)
    pad = torch.nn.functional.pad(img, (0, 0, most, most, most, most))
    d = torch.randint(0, 2 * most + 1, (2, n), generator=generator, device=generator.device)
    out = torch.empty_like(img)
    for dy in range(2 * most + 1):
        for dx in range(2 * most + 1):
            rows = ((d[0] == dy) & (d[1] == dx)).nonzero().flatten().to(x.device)
            if len(rows):
                out[rows] = pad[rows, dy:dy + h, dx:dx + w]
    return out.reshape(n, -1)


@contextlib.contextmanager
def claim_run_folder(out_dir: Path, *, resume: bool = False, overwrite: bool = False):
    """Hold ``out_dir`` for one run: create it, lock it (``flock`` on the folder itself: a second
    claim fails at once with :class:`RunFolderError` while this one lasts) and refuse a folder
    holding a previous run unless ``resume`` (continue it) or ``overwrite`` (its files are
    deleted here). A folder this claim created is removed again if the run fails before
    writing anything into it."""
    out_dir = Path(out_dir)
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other: continue the run or replace it")
    if out_dir.exists() and not out_dir.is_dir():
        raise RunFolderError(f"{out_dir}: is not a directory (the output folder of the run)")
    busy = "another training is writing to this folder; wait for it to end or choose another --out"
    with locked_folder(out_dir, RunFolderError, busy):
        previous = [name for name in RUN_FILES if (out_dir / name).exists()]
        if previous == [CONFIG] and not resume:
            # a run that died before its first checkpoint (two SIGTERMs, killed for memory) left only
            # its settings: nothing to continue or to lose, so the folder counts as empty (issue 22)
            (out_dir / CONFIG).unlink()
            previous = []
        if previous and not (resume or overwrite):
            raise RunFolderError(f"{out_dir} already holds a run ({', '.join(previous)}); continue it "
                                 "with --resume, replace it with --overwrite or choose another --out")
        if overwrite:
            for name in previous:
                (out_dir / name).unlink()
        yield out_dir


class Trainer:
    """One training run; :meth:`run` trains and returns a :class:`TrainResult`.

    ``dataset`` may be given to skip loading (it must be what ``config``
    names). ``callback(trainer, step)`` runs after every optimizer step (for
    example to call :meth:`request_stop`).
    """

    def __init__(self, config: TrainConfig, out_dir, *, resume: bool = False, overwrite: bool = False,
                 quiet: bool = False, dataset=None, callback=None, handle_signals: bool = True,
                 force: bool = False):
        if not isinstance(config, TrainConfig):
            raise TypeError(f"'config' must be a TrainConfig, not {type(config).__name__}")
        self.config = config
        self.out_dir = Path(out_dir)
        self.resume = resume
        self.overwrite = overwrite
        self.quiet = quiet
        self.callback = callback
        self.handle_signals = handle_signals
        self._dataset = dataset
        self.force = force   # run even when the memory estimate exceeds the device's memory
        self._stop = False
        self._epoch_lines = False

    # -- control -----------------------------------------------------------
    def request_stop(self) -> None:
        """Stop after the current optimizer step, save a checkpoint and return (what Ctrl-C does)."""
        self._stop = True

    def _on_signal(self, signum, frame):
        if self._stop:  # second Ctrl-C: give up at once
            raise KeyboardInterrupt
        logger.warning("interrupted: saving a checkpoint after this step (again to abort)")
        self._stop = True

    # -- the run -----------------------------------------------------------
    def run(self) -> TrainResult:
        cfg = self.config
        info = setup(cfg.device)
        self.info = info
        try:
            # A request that cannot fit is refused before the folder is claimed or anything allocated
            # (the inputs counted as far as the config tells them; again exactly once the data is in).
            inputs = self._dataset.num_inputs if self._dataset is not None else known_inputs(cfg)
            check_memory(cfg, info.device, inputs, force=self.force)
            with contextlib.ExitStack() as stack:
                self._claim(stack, info)
                return self._run(cfg, info)
        finally:
            teardown(info)

    def _claim(self, stack, info):
        """Rank 0 claims the folder (:func:`claim_run_folder`); under torchrun every rank
        learns whether it could, so that none waits for a rank that gave up."""
        error = None
        if info.is_main:
            try:
                stack.enter_context(claim_run_folder(self.out_dir, resume=self.resume,
                                                     overwrite=self.overwrite))
            except (ValueError, OSError) as exc:
                error = exc
        if info.enabled:
            flag = torch.tensor([0.0 if error is None else 1.0], device=info.device)
            dist.all_reduce(flag)
            if error is None and flag.item() > 0:
                error = RunFolderError(f"{self.out_dir}: rank 0 cannot use this folder")
        if error is not None:
            raise error

    def _setup_run(self, cfg, info):
        from ..data import load_data_file, load_dataset

        if self._dataset is not None:
            data = self._dataset
        elif cfg.data is not None:
            data = load_data_file(cfg.data, test=cfg.test, label=cfg.label, levels=cfg.levels,
                                  thresholds=cfg.thresholds, split_seed=cfg.split_seed)
        else:
            data = load_dataset(cfg.dataset, data_dir=cfg.data_dir, levels=cfg.levels,
                                thresholds=cfg.thresholds, split_seed=cfg.split_seed)
        self.data = data
        self.image = _image_shape(data) if cfg.shift else None
        self.shift_gen = (torch.Generator().manual_seed(cfg.seed + 7919)  # apart from the model's streams
                          if cfg.shift else None)
        widths = cfg.width if isinstance(cfg.width, list) else [cfg.width] * cfg.layers
        if widths[-1] % data.num_classes:
            raise ValueError(f"the last layer's width {widths[-1]} is not a multiple of the "
                             f"{data.num_classes} classes of {data.name} (e.g. "
                             f"{widths[-1] - widths[-1] % data.num_classes or data.num_classes})")
        check_memory(cfg, info.device, data.num_inputs, num_train=len(data.train), data_inputs=data.num_inputs,
                     force=self.force)
        k = widths[-1] // data.num_classes
        self.tau = cfg.tau if cfg.tau is not None else round(math.sqrt(k), 3)
        torch.manual_seed(cfg.seed)
        model = build_model(data.num_inputs, data.num_classes, layers=cfg.layers, width=cfg.width,
                            estimator=cfg.estimator, tau=self.tau, gate_tau=cfg.gate_tau,
                            tau_f=cfg.tau_f, tau_b=cfg.tau_b, noise=cfg.noise,
                            connections=cfg.connections, init=cfg.init, kernel=cfg.kernel,
                            layer_kind=cfg.layer_kind, k=cfg.k, encoder=data.encoder, seed=cfg.seed)
        self.model = model.to(info.device)
        self.net = self.model
        if info.device.type == "cpu" and cfg.kernel == "auto":
            # Build the CPU extension (once, about 30 s) now, before training installs its graceful
            # SIGTERM handler: a SIGTERM during the build ends the command and the compilers at once.
            from .kernels import resolve_kernel

            resolve_kernel(torch.zeros(1, 1), "auto")
        if info.enabled:
            from torch.nn.parallel import DistributedDataParallel as DDP

            self.net = DDP(self.model, device_ids=[info.device] if info.device.type == "cuda" else None)
        opt_cls = optim.AdamW if cfg.optimizer == "adamw" else optim.Adam  # torch's, one pass on CPU
        self.optimizer = opt_cls(self.model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
        self.batch_per_rank = max(1, cfg.batch_size // info.world_size)
        self.n_train = len(data.train)
        sampler_len = math.ceil(self.n_train / info.world_size)
        self.steps_per_epoch = math.ceil(sampler_len / self.batch_per_rank)
        total = cfg.epochs * self.steps_per_epoch
        if cfg.schedule == "cosine":
            lam = lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / total))  # noqa: E731
        else:
            lam = lambda s: 1.0  # noqa: E731
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, lam)
        dev = info.device
        self.xtr = torch.as_tensor(data.bits("train")).to(dev)
        self.ytr = torch.as_tensor(data.train.y).to(dev)
        self.eval_sets = {s: (torch.as_tensor(data.bits(s)), torch.as_tensor(data.split(s).y))
                          for s in ("val", "test")}

    def _state(self, epoch, step, acc, elapsed) -> dict:
        return {
            "format": "lgn-hw-checkpoint",
            "config": self.config.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generators": [g.get_state() for g in _generators(self.model)],
            "torch_rng": torch.get_rng_state(),
            "shift_rng": (self.shift_gen.get_state() if self.shift_gen is not None
                          else torch.empty(0, dtype=torch.uint8)),
            "epoch": epoch,
            "step_in_epoch": step,
            "epoch_accum": list(acc),
            "history": self.history,
            "best": self.best,
            "elapsed": elapsed,
        }

    def _check_resume_config(self, saved: dict):
        cur = self.config.to_dict()
        saved = dict(TrainConfig().to_dict(), **saved)  # keys added since the run began: their defaults
        for key in sorted(set(saved) | set(cur)):
            if key in RESUMABLE_KEYS:
                continue
            if saved.get(key) != cur.get(key):
                raise CheckpointError(
                    f"{self.out_dir / CHECKPOINT}: the run was started with {key}={saved.get(key)!r}, "
                    f"not {cur.get(key)!r}; only {', '.join(sorted(RESUMABLE_KEYS))} may change on resume")

    def _restore(self, state: dict, path: Path):
        """Load a checkpoint's states into this run; a tensor of the wrong shape, a missing
        entry or a position outside the run is a :class:`CheckpointError`, not a traceback."""
        gens = _generators(self.model)
        try:
            if len(state["generators"]) != len(gens):
                raise ValueError(f"{len(state['generators'])} generator states for {len(gens)} generators")
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scheduler.load_state_dict(state["scheduler"])
            for g, s in zip(gens, state["generators"]):
                g.set_state(s)
            torch.set_rng_state(state["torch_rng"])
            if self.shift_gen is not None:   # the images move on as they would have (issue 22)
                if "shift_rng" in state and state["shift_rng"].numel():
                    self.shift_gen.set_state(state["shift_rng"])
                else:
                    logger.warning("%s: made before the shift generator was saved; the resumed run "
                                   "shifts its images differently from an uninterrupted one", path)
            epoch, step = int(state["epoch"]), int(state["step_in_epoch"])
            acc, elapsed = [float(state["epoch_accum"][0]), int(state["epoch_accum"][1]),
                            int(state["epoch_accum"][2])], float(state["elapsed"])
            best = state["best"]
            self.history = list(state["history"])
            self.best = dict(best, epoch=int(best["epoch"]), val_discrete=float(best["val_discrete"]))
        except (RuntimeError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(f"{path}: does not fit this run ({first[:160]})") from None
        if not (epoch >= 0 and 0 <= step < self.steps_per_epoch):
            raise CheckpointError(f"{path}: position epoch {epoch} step {step} is outside the run "
                                  f"({self.steps_per_epoch} steps per epoch)")
        return epoch, step, acc, elapsed

    def _run(self, cfg, info: DistInfo) -> TrainResult:
        main = info.is_main
        ckpt_path = self.out_dir / CHECKPOINT
        state = load_checkpoint(ckpt_path) if self.resume else None
        if state is not None:
            self._check_resume_config(state["config"])
        self._setup_run(cfg, info)
        self.history, self.best = [], {"epoch": 0, "val_discrete": -1.0}
        start_epoch, start_step, acc, elapsed = 0, 0, [0.0, 0, 0], 0.0
        if state is not None:
            start_epoch, start_step, acc, elapsed = self._restore(state, ckpt_path)
        if main:
            atomic_write_text(self.out_dir / CONFIG,
                              json.dumps(dict(cfg.to_dict(), resolved_tau=self.tau), indent=1) + "\n")
            logger.info("%s", self.data.describe())

        old_handlers = {}
        if self.handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                old_handlers[sig] = signal.signal(sig, self._on_signal)
        from tqdm.auto import tqdm

        # a bar on a terminal; elsewhere (a log file, a pipe) one line per epoch (_end_epoch)
        self._epoch_lines = not self.quiet and main and not sys.stderr.isatty()
        bar = tqdm(total=cfg.epochs * self.steps_per_epoch,
                   initial=min(start_epoch * self.steps_per_epoch + start_step, cfg.epochs * self.steps_per_epoch),
                   disable=self.quiet or not main or self._epoch_lines, desc=f"train {self.data.name}", unit="step",
                   dynamic_ncols=True, leave=False)
        sampler = DistributedSampler(_Indices(self.n_train), num_replicas=info.world_size, rank=info.rank,
                                     shuffle=True, seed=cfg.seed, drop_last=False)
        interrupted = False
        t0 = time.perf_counter() - elapsed
        try:
            epoch = start_epoch
            while epoch < cfg.epochs and not interrupted:
                sampler.set_epoch(epoch)
                order = torch.tensor(list(sampler), dtype=torch.int64, device=self.xtr.device)
                self.model.train()
                for step in range(start_step, self.steps_per_epoch):
                    idx = order[step * self.batch_per_rank:(step + 1) * self.batch_per_rank]
                    x, y = self.xtr[idx].float(), self.ytr[idx]
                    if self.image is not None:
                        x = shift_images(x, self.image, cfg.shift, self.shift_gen)
                    out = self.net(x)
                    loss = F.cross_entropy(out, y)
                    if cfg.free_weight:
                        loss = loss + cfg.free_weight * self.model.logic_cost()
                    self.optimizer.zero_grad(set_to_none=True)
                    loss.backward()
                    self.optimizer.step()
                    self.scheduler.step()
                    acc[0] += float(loss.detach()) * len(y)
                    acc[1] += int((out.detach().argmax(1) == y).sum())
                    acc[2] += len(y)
                    bar.update(1)
                    bar.set_postfix(epoch=epoch + 1, loss=f"{acc[0] / acc[2]:.3f}",
                                    acc=f"{acc[1] / acc[2]:.3f}",
                                    val=f"{self.history[-1]['val_discrete']:.3f}" if self.history else "-")
                    if self.callback is not None:
                        self.callback(self, epoch * self.steps_per_epoch + step + 1)
                    if self._agree_stop(info) and step + 1 < self.steps_per_epoch:
                        interrupted = True
                        if main:
                            save_checkpoint(self._state(epoch, step + 1, acc, time.perf_counter() - t0), ckpt_path)
                        break
                if interrupted:
                    break
                self._end_epoch(epoch, acc, time.perf_counter() - t0)
                epoch += 1
                start_step, acc = 0, [0.0, 0, 0]
                if main:
                    save_checkpoint(self._state(epoch, 0, acc, time.perf_counter() - t0), ckpt_path)
                    self._write_metrics()
                if info.enabled:
                    dist.barrier()
                if self._agree_stop(info) and epoch < cfg.epochs:
                    interrupted = True
        finally:
            bar.close()
            for sig, h in old_handlers.items():
                signal.signal(sig, h)
        best = load_netlist(self.out_dir / BEST) if main and (self.out_dir / BEST).exists() else None
        if main:
            self._write_plots(best)
        return self._result(best, interrupted)

    def _agree_stop(self, info) -> bool:
        if not info.enabled:
            return self._stop
        flag = torch.tensor([1.0 if self._stop else 0.0], device=info.device)
        dist.all_reduce(flag)
        self._stop = bool(flag.item() > 0)
        return self._stop

    def _end_epoch(self, epoch, acc, elapsed):
        if not self.info.is_main:
            return
        cfg = self.config
        model = self.model
        xv, yv = self.eval_sets["val"]
        xt, yt = self.eval_sets["test"]
        net = to_netlist(model)  # built once: measured here and saved below if best
        m = evaluate_metrics(model, xv, yv, seed=epoch, batch_size=cfg.eval_batch_size, netlist=net)
        rec = {
            "epoch": epoch + 1,
            "step": (epoch + 1) * self.steps_per_epoch,
            "lr": self.scheduler.get_last_lr()[0],
            "train_loss": acc[0] / max(1, acc[2]),
            "train_acc": acc[1] / max(1, acc[2]),
            "val_soft": m.soft_accuracy,
            "val_discrete": m.discrete_accuracy,
            "test_soft": soft_accuracy(model, xt, yt, seed=epoch, batch_size=cfg.eval_batch_size),
            "test_discrete": discrete_accuracy(model, xt, yt, batch_size=cfg.eval_batch_size),
            "unused_gates": m.unused_gates.total,
            "num_gates": m.unused_gates.num_gates,
            "gate_perplexity": m.histogram.perplexity,
            "time": round(elapsed, 3),
        }
        rec["best"] = rec["val_discrete"] >= self.best["val_discrete"]
        self.history.append(rec)
        if rec["best"]:
            self.best = {k: rec[k] for k in ("epoch", "val_discrete", "val_soft", "test_discrete",
                                              "test_soft", "unused_gates")}
            self._save_netlist(net, rec)
        logger.info("epoch %d: loss %.4f val soft %.4f discrete %.4f test discrete %.4f",
                    rec["epoch"], rec["train_loss"], rec["val_soft"], rec["val_discrete"], rec["test_discrete"])
        if self._epoch_lines:  # the progress bar's stand-in when stderr is not a terminal
            print(f"train {self.data.name}: epoch {rec['epoch']}/{cfg.epochs} loss {rec['train_loss']:.4f} "
                  f"acc {rec['train_acc']:.4f} val {rec['val_discrete']:.4f} ({elapsed:.1f} s)",
                  file=sys.stderr, flush=True)

    def _save_netlist(self, net: Netlist, rec):
        cfg = self.config
        meta = {
            "dataset": self.data.name,
            "split_seed": cfg.split_seed,
            "encoding": self.data.info.get("encoding"),
            "epoch": rec["epoch"],
            "val_accuracy": rec["val_discrete"],
            "test_accuracy": rec["test_discrete"],
            "soft_test_accuracy": rec["test_soft"],
            "estimator": cfg.estimator,
            "config": cfg.to_dict(),
            "git_revision": _git_revision(),
        }
        for key in ("class_names", "columns", "label"):  # a user's data file: how to read new files
            if key in self.data.info:
                meta[key] = self.data.info[key]
        from .. import __version__

        meta["lgn_hw_version"] = __version__
        net.metadata.update(meta)
        net.save(self.out_dir / BEST)

    def _write_metrics(self):
        text = "".join(json.dumps(r) + "\n" for r in self.history)
        atomic_write_text(self.out_dir / METRICS, text)

    def _write_plots(self, best: Netlist | None):
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:  # plots are a convenience
            logger.warning("matplotlib is not installed: no plots")
            return
        from .. import gates

        if self.history:
            ep = [r["epoch"] for r in self.history]
            fig, ax = plt.subplots(figsize=(6, 4))
            ax.plot(ep, [r["val_soft"] for r in self.history], label="soft (val)")
            ax.plot(ep, [r["val_discrete"] for r in self.history], label="discrete (val)")
            ax.plot(ep, [r["test_discrete"] for r in self.history], "--", label="discrete (test)")
            ax.set_xlabel("epoch")
            ax.set_ylabel("accuracy")
            ax.set_title(f"{self.data.name}, {self.config.estimator}")
            ax.grid(alpha=0.3)
            ax.legend()
            fig.tight_layout()
            with atomic_path(self.out_dir / "accuracy.png") as tmp:
                fig.savefig(tmp, format="png", dpi=100)
            plt.close(fig)
        hist = gate_histogram(best) if best is not None else None
        if hist is not None and hist.perplexity is not None:  # a network of LUT layers has no gates
            fig, ax = plt.subplots(figsize=(7, 4))
            ax.bar(range(gates.NUM_OPS), hist.counts)
            ax.set_xticks(range(gates.NUM_OPS), gates.NAMES, rotation=60, ha="right", fontsize=8)
            ax.set_ylabel("gates")
            ax.set_title(f"chosen gates (perplexity {hist.perplexity:.2f})")
            fig.tight_layout()
            with atomic_path(self.out_dir / "gates.png") as tmp:
                fig.savefig(tmp, format="png", dpi=100)
            plt.close(fig)

    def _result(self, net: Netlist | None, interrupted) -> TrainResult:
        path = self.out_dir / BEST
        test_acc = None
        if net is not None:
            pred = golden_predict(net, self.data.test.x).classes
            test_acc = float((pred == self.data.test.y).mean())
        return TrainResult(self.out_dir, path if net is not None else None, net, int(self.best["epoch"]),
                           dict(self.best), list(self.history), len(self.history), interrupted, test_acc)


def train(config: TrainConfig, out_dir, *, resume: bool = False, overwrite: bool = False, quiet: bool = False,
          dataset=None, callback=None, force: bool = False) -> TrainResult:
    """Train ``config`` into ``out_dir`` (see :class:`Trainer`); ``force`` runs a network whose memory
    estimate (:func:`lgn_hw.train.memory.check_memory`) exceeds the device's memory."""
    return Trainer(config, out_dir, resume=resume, overwrite=overwrite, quiet=quiet, dataset=dataset,
                   callback=callback, force=force).run()
