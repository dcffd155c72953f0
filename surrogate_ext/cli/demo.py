"""Demo: trains a small spiking network on scikit-learn's digits, then exports it with TorchScript.

    surrogate-ext demo [--surrogate atan] [--backend native|torch] [--device cpu|cuda]
                       [--epochs 30] [--seed 0] [--threads 1] [--export PATH]

The data is ``sklearn.datasets.load_digits`` (1797 images of 8x8 pixels, shipped inside
scikit-learn), split once into 1347 training and 450 test images (stratified, fixed), pixels scaled
to [0, 1]. Each image is a constant input current repeated over T = 8 steps into
Linear(64, 128) -> MultiStepLIFNode -> Linear(128, 10) -> MultiStepLIFNode; the logits are the
output neurons' spike counts and the loss is their cross-entropy. The program prints a progress
bar per epoch (training loss and accuracy, then the test accuracy), the final test accuracy and
the training time. Then it traces the network with ``torch.jit.trace`` (the neurons' state is
Python, so the traced forward resets it and runs all T steps: the native backend records one
``surrogate_ext::lif_multistep`` call per layer), saves and reloads it, and exits non-zero
unless the reloaded model predicts the eager network's class for every test image.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
import warnings

import torch
from torch import Tensor, nn

import surrogate_ext
from surrogate_ext.cli import options as _cli
from surrogate_ext.clock_driven import neuron
from surrogate_ext.core import registry

# The default run's time, for --help: user + sys seconds from /usr/bin/time on the project's
# 2-core x86-64 machine with torch 2.13.0 (wall time was 3-6x that while the machine was shared).
DEFAULT_RUN = "about 10 s (CPU time; longer on a busy machine)"

STEPS = 8
HIDDEN = 128
BATCH_SIZE = 64
LEARNING_RATE = 1e-2
TEST_FRACTION = 0.25
SPLIT_SEED = 0  # the train/test split is the same whatever --seed is


class SpikingMLP(nn.Module):
    """[T, B, 64] input currents -> [B, 10] spike counts of the output layer. Each forward starts
    from the neurons' initial state, so a trace of it is the whole computation."""

    def __init__(self, surrogate_function: nn.Module, backend: str):
        super().__init__()
        self.fc1 = nn.Linear(64, HIDDEN)
        self.lif1 = neuron.MultiStepLIFNode(tau=2.0, surrogate_function=surrogate_function,
                                            backend=backend)
        self.fc2 = nn.Linear(HIDDEN, 10)
        self.lif2 = neuron.MultiStepLIFNode(tau=2.0, surrogate_function=surrogate_function,
                                            backend=backend)

    def reset(self) -> None:
        self.lif1.reset()
        self.lif2.reset()

    def forward(self, x_seq: Tensor) -> Tensor:
        self.reset()
        # nn.Linear applies to the last dimension, so [T, B, features] needs no reshaping
        spikes = self.lif2(self.fc2(self.lif1(self.fc1(x_seq))))
        return spikes.sum(0)


def load_data(device: torch.device):
    """(x_train, y_train, x_test, y_test): pixels in [0, 1] as float32 [N, 64], labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x = torch.tensor(digits.data, dtype=torch.float32) / 16.0  # pixel values are 0..16
    y = torch.tensor(digits.target, dtype=torch.int64)
    train, test = train_test_split(torch.arange(len(y)).numpy(), test_size=TEST_FRACTION,
                                   random_state=SPLIT_SEED, stratify=digits.target)
    train, test = torch.as_tensor(train), torch.as_tensor(test)
    return tuple(t.to(device) for t in (x[train], y[train], x[test], y[test]))


def repeat_over_time(x: Tensor) -> Tensor:
    """[B, 64] -> [T, B, 64]: the direct (constant) input current at every step."""
    return x.unsqueeze(0).expand(STEPS, *x.shape)


def surrogate_by_name(name: str) -> nn.Module:
    """The surrogate module at its default parameters, by operator or class name."""
    entry = registry.BY_OP.get(name) or registry.BY_CLASS.get(name)
    if entry is None:
        raise ValueError(f"unknown surrogate {name!r}; use one of: "
                         + ", ".join(s.op for s in registry.SURROGATES))
    return getattr(surrogate_ext, entry.cls)()


@torch.no_grad()
def predict(model: nn.Module, x: Tensor) -> Tensor:
    return model(repeat_over_time(x)).argmax(1)


def count_correct(model: nn.Module, x: Tensor, y: Tensor) -> int:
    model.eval()
    return int((predict(model, x) == y).sum())


def train_epoch(net: SpikingMLP, optimizer, x: Tensor, y: Tensor, generator, progress) -> None:
    net.train()
    order = torch.randperm(len(y), generator=generator).to(x.device)
    seen = correct = 0
    total_loss = 0.0
    for start in range(0, len(y), BATCH_SIZE):
        batch = order[start:start + BATCH_SIZE]
        counts = net(repeat_over_time(x[batch]))
        loss = nn.functional.cross_entropy(counts, y[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        seen += len(batch)
        correct += int((counts.argmax(1) == y[batch]).sum())
        total_loss += loss.item() * len(batch)
        progress.update(len(batch), loss=total_loss / seen, acc=correct / seen)


class Progress:
    """A tqdm bar for one epoch; without tqdm, one line at the end of the epoch."""

    def __init__(self, total: int, desc: str, enabled: bool):
        self.desc, self.enabled, self.figures = desc, enabled, {}
        try:
            from tqdm import tqdm
            self.bar = tqdm(total=total, desc=desc, unit="img", disable=not enabled, file=sys.stderr)
        except ImportError:
            self.bar = None

    def update(self, n: int, **figures) -> None:
        self.figures.update({k: f"{v:.3f}" for k, v in figures.items()})
        if self.bar is not None:
            self.bar.set_postfix(self.figures, refresh=False)
            self.bar.update(n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.set_postfix(self.figures)
            self.bar.close()
        elif self.enabled:
            print(f"{self.desc}: " + ", ".join(f"{k}={v}" for k, v in self.figures.items()),
                  file=sys.stderr)


def export(net: SpikingMLP, x_test: Tensor, path: str):
    """Traces, saves and reloads the network; returns the reloaded module."""
    net.eval()
    with torch.no_grad(), warnings.catch_warnings():
        # TorchScript is what this demo shows; torch says it is deprecated in favour of export
        warnings.filterwarnings("ignore", r"`torch\.jit\.\w+` is deprecated", FutureWarning)
        traced = torch.jit.trace(net, repeat_over_time(x_test))
        torch.jit.save(traced, path)
        return torch.jit.load(path, map_location=x_test.device)


def main(argv=None, prog='surrogate-ext demo') -> int:
    parser = _cli.parser(prog, __doc__, DEFAULT_RUN)
    parser.add_argument("--surrogate", default="atan",
                        help="operator or class name: " + ", ".join(s.op for s in registry.SURROGATES))
    parser.add_argument("--backend", default="native", choices=neuron.BACKENDS,
                        help="the neurons' backend: native (fused operators) or torch (a Python loop)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs")
    parser.add_argument("--seed", type=int, default=0, help="seed of the weights and the batch order")
    # The layers are too small to gain from a second thread, and on a busy machine torch's
    # threads wait for each other: with two other processes on two cores, training took 2.3 s
    # on one thread and 10.3 s on two.
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--export", default=os.path.join(tempfile.gettempdir(), "surrogate_ext_demo.pt"),
                        metavar="PATH", help="where to save the TorchScript model")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.epochs < 0 or args.threads < 1:
        parser.error("--epochs must be >= 0 and --threads >= 1")
    try:
        surrogate_function = surrogate_by_name(args.surrogate)
    except ValueError as e:
        parser.error(str(e))
    try:
        import sklearn  # noqa: F401
    except ImportError:
        print("surrogate_ext.demo needs scikit-learn for its data set: pip install scikit-learn "
              "(or the demo extra: pip install --no-build-isolation '.[demo]')", file=sys.stderr)
        return 2
    threads = torch.get_num_threads()
    torch.set_num_threads(args.threads)
    try:
        return run(args, surrogate_function)
    finally:
        torch.set_num_threads(threads)  # main() may be called from a longer-lived program


def run(args, surrogate_function: nn.Module) -> int:
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_data(device)
    net = SpikingMLP(surrogate_function, args.backend).to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=LEARNING_RATE)
    # the step size decays to 0 along a cosine: the last epochs settle instead of jumping around
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(args.epochs, 1))
    generator = torch.Generator().manual_seed(args.seed)
    print(f"digits: {len(y_train)} training and {len(y_test)} test images of 8x8 pixels, "
          f"T={STEPS} steps; {type(surrogate_function).__name__} surrogate, backend "
          f"{args.backend}, device {device}, {torch.get_num_threads()} CPU thread(s)")

    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        progress = Progress(len(y_train), f"epoch {epoch}/{args.epochs}", not args.no_progress)
        train_epoch(net, optimizer, x_train, y_train, generator, progress)
        schedule.step()
        progress.update(0, test_acc=count_correct(net, x_test, y_test) / len(y_test))
        progress.close()
    seconds = time.perf_counter() - start
    correct = count_correct(net, x_test, y_test)
    print(f"test accuracy {correct / len(y_test):.2%} ({correct}/{len(y_test)}) after "
          f"{args.epochs} epochs; training took {seconds:.1f} s")

    path = os.path.abspath(args.export)
    reloaded = export(net, x_test, path)
    agree = int((predict(reloaded, x_test) == predict(net, x_test)).sum())
    print(f"TorchScript model saved to {path}")
    print(f"reloaded TorchScript model agrees on {agree}/{len(y_test)} test samples")
    return 0 if agree == len(y_test) else 1

