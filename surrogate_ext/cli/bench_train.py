"""Benchmark of a training step on the peers' own tutorial networks: what a user's model gains.

    surrogate-ext bench train [--networks sj2-csnn,sj2-csnn-step,sj2-mlp,snntorch-tutorial5,
                                          norse-mlp,norse-mlp-cell]
                              [--repeats 9] [--threads 1] [--profile] [--compile] [--json FILE]

Each network (:data:`NETWORKS`) is built from the same weights in its variants:

* ``peer``: the peer's network as its tutorial writes it (its neurons, its surrogate);
* ``peer + our surrogate``: the same with our surrogate module swapped in;
* ``ours``: the tutorial's code with the peer's neuron import renamed to ours
  (``surrogate_ext.activation_based.neuron``, ``surrogate_ext.snntorch``, ``surrogate_ext.norse``),
  our surrogate: the fused neurons (for snnTorch and ``norse-mlp-cell``, in the user's own loop over
  time: a fused step per call; Norse's ``LIF`` in ``norse-mlp``: the whole sequence in one);
* ``peer + native_thresholds`` (Norse's MLP): Norse's network run within
  ``surrogate_ext.norse.native_thresholds(norse_superspike=True)``;
* ``ours, sequence`` (snnTorch's tutorial): the same network with each neuron layer run over the
  whole sequence in one operator (``Leaky.sequence``), the layers doing the same work.

Every variant is first checked against the peer on one batch: the network's output (spike counts)
equal, the gradients of every parameter within 1e-4 (float32). Then the training step (forward,
the tutorial's loss: MSE on the one-hot labels, or snnTorch's cross entropy of the output
membrane at every step; backward; the tutorial's optimizer step; reset of the neurons' state) is timed,
interleaved (every variant once per round, in an order shuffled each round), on random input of
the tutorial's shape; the table gives the median of each variant, and its speed-up over the peer
with the spread (the slowest and the fastest round's ratio). ``--profile`` adds where a step's time
goes (one profiled step per variant): the spike function, the rest of the neuron update, the
layers, the optimizer, and what is left (Python). ``--compile`` times the peer's network and ours (each of our variants)
under ``torch.compile`` (Inductor) instead, after a first compiled step.

The peers come from their installed packages (SpikingJelly 2.0 beside 0.0.0.0.14: see
:mod:`surrogate_ext.cli.peer_imports`); a network whose peer is missing is left out, saying why.
"""
from __future__ import annotations

import json
import random
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F

from surrogate_ext.cli import options as _cli
from surrogate_ext.cli.peer_imports import import_spikingjelly2

# The default run's time, for --help: measured on the project's 2-core x86-64 machine (torch
# 2.13.0, one thread, other jobs on the cores).
DEFAULT_RUN = ("about 5 minutes (9 rounds of the six networks and their variants, 1 thread; "
               "snnTorch's tutorial 5 alone, about 30 s; Norse's two MLPs, about 30 s)")

VARIANTS = ("peer", "peer + our surrogate", "ours")
SEQUENCE = "ours, sequence"


@dataclass(frozen=True)
class Network:
    """One tutorial network: how to build it from a neuron module, a surrogate class and a layer
    module (the peer's or ours), its input, and how a step runs it."""
    name: str
    peer: str
    description: str
    build: Callable  # build(*modules(variant)) -> nn.Module
    batch: int
    image: Tuple[int, ...]  # one sample's shape
    classes: int = 10
    variants: Tuple[str, ...] = VARIANTS
    modules: Optional[Callable] = None  # variant -> build's arguments (None: SpikingJelly 2.0's)
    loss: Optional[Callable] = None  # loss(output, labels) (None: MSE of the rate on the one-hot labels)
    optimizer: Optional[Callable] = None  # optimizer(parameters) (None: SGD, lr 1e-3)
    spikes: Optional[Callable] = None  # the output's spikes, compared with the peer's (None: the output)


def _sj2(part: str):
    return import_spikingjelly2("activation_based." + part)


class _Repeat(torch.nn.Module):
    """The tutorial's encoding: the image repeated over T steps, run in multi-step mode (one call)
    or in single-step mode (a call per step, the firing rate summed); the output is the firing
    rate of the last layer."""

    def __init__(self, body: torch.nn.Module, steps: int, step_mode: str):
        super().__init__()
        self.body, self.steps, self.step_mode = body, steps, step_mode

    def forward(self, x):
        if self.step_mode == "m":
            return self.body(x.unsqueeze(0).expand(self.steps, *x.shape)).mean(0)
        out = 0.
        for _ in range(self.steps):
            out = out + self.body(x)
        return out / self.steps


def _csnn(step_mode: str, channels: int = 32, steps: int = 4):
    """SpikingJelly 2.0's CSNN of its Fashion-MNIST tutorial
    (activation_based/examples/conv_fashion_mnist.py), with multi-step LIF neurons."""
    def build(neuron, surrogate, layer, functional):
        c = channels
        body = torch.nn.Sequential(
            layer.Conv2d(1, c, kernel_size=3, padding=1, bias=False), layer.BatchNorm2d(c),
            neuron.LIFNode(surrogate_function=surrogate()), layer.MaxPool2d(2, 2),
            layer.Conv2d(c, c, kernel_size=3, padding=1, bias=False), layer.BatchNorm2d(c),
            neuron.LIFNode(surrogate_function=surrogate()), layer.MaxPool2d(2, 2),
            layer.Flatten(), layer.Linear(c * 7 * 7, c * 4 * 4, bias=False),
            neuron.LIFNode(surrogate_function=surrogate()), layer.Linear(c * 4 * 4, 10, bias=False),
            neuron.LIFNode(surrogate_function=surrogate()))
        _set_step_mode(body, step_mode)
        return _Repeat(body, steps, step_mode)
    return build


def _mlp(hidden: int = 2048, steps: int = 8):
    """A SpikingJelly 2.0 MLP 784-2048-10 of LIF neurons, multi-step (the shape of its
    lif_fc_mnist tutorial with a hidden layer)."""
    def build(neuron, surrogate, layer, functional):
        body = torch.nn.Sequential(
            layer.Flatten(), layer.Linear(28 * 28, hidden, bias=False),
            neuron.LIFNode(tau=2.0, surrogate_function=surrogate()),
            layer.Linear(hidden, 10, bias=False), neuron.LIFNode(tau=2.0, surrogate_function=surrogate()))
        _set_step_mode(body, "m")
        return _Repeat(body, steps, "m")
    return build


def _set_step_mode(net: torch.nn.Module, step_mode: str) -> None:
    """SpikingJelly's functional.set_step_mode, without its warning for modules that are not
    its own (ours)."""
    for m in net.modules():
        if hasattr(m, "step_mode"):
            m.step_mode = step_mode


class _SnnTorchTutorial5(torch.nn.Module):
    """snnTorch's tutorial 5 (tutorial_5_FCN): 784-1000-10, snn.Leaky(beta=0.95) twice, T = 25,
    the user's own loop over time with the membranes passed back, the output membrane recorded.
    With `sequence`, each neuron layer runs the T steps in one call (Leaky.sequence); fc1 is still
    applied at every step (computing it once over the constant input would be a gain of its own,
    not the neurons')."""

    def __init__(self, snn, spike_grad, sequence: bool = False, steps: int = 25, hidden: int = 1000):
        super().__init__()
        kw = {} if spike_grad is None else dict(spike_grad=spike_grad())
        self.fc1, self.lif1 = torch.nn.Linear(28 * 28, hidden), snn.Leaky(beta=0.95, **kw)
        self.fc2, self.lif2 = torch.nn.Linear(hidden, 10), snn.Leaky(beta=0.95, **kw)
        self.steps, self.sequence = steps, sequence

    def forward(self, x):
        x = x.flatten(1)
        mem1, mem2 = self.lif1.init_leaky(), self.lif2.init_leaky()
        if self.sequence:
            cur1 = torch.stack([self.fc1(x) for _ in range(self.steps)])
            spk1, _ = self.lif1.sequence(cur1, mem1)
            return self.lif2.sequence(self.fc2(spk1), mem2)
        spk2_rec, mem2_rec = [], []
        for _ in range(self.steps):
            cur1 = self.fc1(x)
            spk1, mem1 = self.lif1(cur1, mem1)
            cur2 = self.fc2(spk1)
            spk2, mem2 = self.lif2(cur2, mem2)
            spk2_rec.append(spk2)
            mem2_rec.append(mem2)
        return torch.stack(spk2_rec, dim=0), torch.stack(mem2_rec, dim=0)


def _snntorch_modules(variant: str):
    """(neuron module, spike_grad factory or None for the class's default, sequence) of a variant
    of snnTorch's tutorial."""
    import surrogate_ext.snntorch as ours
    if variant in ("peer", "peer + our surrogate"):
        import snntorch
        return snntorch, (None if variant == "peer" else ours.surrogate.atan), False
    return ours, None, variant == SEQUENCE


def _membrane_cross_entropy(out, y):
    """snnTorch's tutorial 5 loss: the cross entropy of the output membrane, summed over steps."""
    _, mem_rec = out
    return sum(F.cross_entropy(mem_rec[t], y) for t in range(mem_rec.shape[0]))


NATIVE_THRESHOLDS = "peer + native_thresholds"


class _NorseMLP(torch.nn.Module):
    """Norse's MLP, ``SequentialState(Linear(784, 1000), LIF(), Linear(1000, 10), LIF())`` with
    the default ``LIFParameters``, on the image as a constant input current over T steps; the
    output is the last layer's spikes [T, B, 10]. With ``cell``, the same layers with ``LIFCell``
    in the user's loop over time. ``thresholds``: a context the forward runs in (the peer's
    variant: none; the others: ``native_thresholds(norse_superspike=True)``, our thresholds with
    Norse 1.1.0's super-spike gradient, which our neurons follow, so that every variant computes
    the peer's numbers)."""

    def __init__(self, lib, thresholds, cell: bool = False, steps: int = 25, hidden: int = 1000):
        super().__init__()
        neuron = lib.LIFCell if cell else lib.LIF
        self.net = lib.SequentialState(torch.nn.Linear(28 * 28, hidden), neuron(),
                                       torch.nn.Linear(hidden, 10), neuron())
        self.thresholds, self.cell, self.steps = thresholds, cell, steps

    def forward(self, x):
        x_seq = x.flatten(1).expand(self.steps, -1, -1)
        with self.thresholds():
            if not self.cell:
                return self.net(x_seq)[0]
            fc1, lif1, fc2, lif2 = self.net
            s1 = s2 = None
            spikes = []
            for t in range(self.steps):
                z1, s1 = lif1(fc1(x_seq[t]), s1)
                z2, s2 = lif2(fc2(z1), s2)
                spikes.append(z2)
            return torch.stack(spikes)


def _norse_modules(variant: str):
    """(the neurons' package, the forward's threshold context) of a variant of Norse's MLP."""
    import contextlib
    import functools

    import surrogate_ext.norse as ours
    native = functools.partial(ours.native_thresholds, norse_superspike=True)
    if variant == "ours":
        return ours, native
    import norse.torch
    return norse.torch, (native if variant == NATIVE_THRESHOLDS else contextlib.nullcontext)


def _norse_network(name: str, cell: bool, description: str) -> Network:
    return Network(name, "Norse 1.1.0", description, lambda lib, thresholds: _NorseMLP(lib, thresholds, cell),
                   128, (1, 28, 28), variants=("peer", NATIVE_THRESHOLDS, "ours"), modules=_norse_modules,
                   loss=lambda out, y: rate_mse(out.mean(0), y),
                   optimizer=lambda params: torch.optim.Adam(params, lr=2e-3))


NETWORKS: Tuple[Network, ...] = (
    Network("sj2-csnn", "SpikingJelly 2.0", "CSNN (Fashion-MNIST tutorial shape, 32 channels), T=4, "
            "B=32, multi-step LIF", _csnn("m"), 32, (1, 28, 28)),
    Network("sj2-csnn-step", "SpikingJelly 2.0", "the same CSNN in single-step mode (a call per step)",
            _csnn("s"), 32, (1, 28, 28)),
    Network("sj2-mlp", "SpikingJelly 2.0", "MLP 784-2048-10, LIF, T=8, B=64, multi-step", _mlp(), 64,
            (1, 28, 28)),
    Network("snntorch-tutorial5", "snnTorch 1.0", "snnTorch's tutorial 5: 784-1000-10, Leaky(beta=0.95), "
            "T=25, B=128, the user's loop over time, Adam", _SnnTorchTutorial5, 128, (1, 28, 28),
            variants=VARIANTS + (SEQUENCE,), modules=_snntorch_modules, loss=_membrane_cross_entropy,
            optimizer=lambda params: torch.optim.Adam(params, lr=5e-4, betas=(0.9, 0.999)),
            spikes=lambda out: out[0]),
    _norse_network("norse-mlp", False, "Norse's MLP: SequentialState(Linear(784, 1000), LIF(), "
                   "Linear(1000, 10), LIF()), T=25, B=128, constant current input, Adam"),
    _norse_network("norse-mlp-cell", True, "the same with LIFCell in the user's loop over time"),
)
"""The networks, by name."""


def peer_modules(network: Network, variant: str):
    """build's arguments for a variant: (neuron module, surrogate class, layer module, functional)
    for SpikingJelly 2.0's networks."""
    if network.modules is not None:
        return network.modules(variant)
    if network.peer == "SpikingJelly 2.0":
        from surrogate_ext.activation_based import neuron as our_neuron
        from surrogate_ext.activation_based import surrogate as our_surrogate
        layer = _sj2("layer")
        if variant == "peer":
            return _sj2("neuron"), _sj2("surrogate").ATan, layer, None
        if variant == "peer + our surrogate":
            return _sj2("neuron"), our_surrogate.ATan, layer, None
        return our_neuron, our_surrogate.ATan, layer, None
    raise ValueError(f"unknown peer {network.peer}")


def reset_states(net: torch.nn.Module) -> None:
    """SpikingJelly's functional.reset_net: every module's reset()."""
    for m in net.modules():
        if m is not net and callable(getattr(m, "reset", None)):
            m.reset()


def build_variants(network: Network) -> Dict[str, torch.nn.Module]:
    torch.manual_seed(0)
    nets = {}
    for variant in network.variants:
        nets[variant] = network.build(*peer_modules(network, variant))
    state = nets["peer"].state_dict()
    for net in nets.values():
        net.load_state_dict(state)
    return nets


def batch(network: Network, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand((network.batch,) + network.image, generator=gen)
    y = torch.randint(network.classes, (network.batch,), generator=gen)
    return x, y


def rate_mse(out, y):
    """SpikingJelly's tutorials' loss: MSE of the firing rate on the one-hot labels."""
    return F.mse_loss(out, F.one_hot(y, out.shape[-1]).to(out.dtype))


def make_optimizer(network: Network, net):
    if network.optimizer is not None:
        return network.optimizer(net.parameters())
    return torch.optim.SGD(net.parameters(), lr=1e-3)


def train_step(net, optimizer, x, y, loss=rate_mse):
    """One step of the tutorials' training: forward, the loss, backward, optimizer step, reset of
    the neurons' state."""
    optimizer.zero_grad(set_to_none=True)
    out = net(x)
    loss(out, y).backward()
    optimizer.step()
    reset_states(net)
    return out


def check_against_peer(nets: Dict[str, torch.nn.Module], x, y, network: Optional[Network] = None) -> Dict[str, str]:
    """Each variant's output and parameter gradients on one batch against the peer's: the
    outputs (firing rates: spike counts / T; the spikes of every step) equal, the gradients within
    rtol 1e-4 (atol 1e-6)."""
    loss = network.loss if network is not None and network.loss is not None else rate_mse
    spikes = network.spikes if network is not None and network.spikes is not None else (lambda out: out)
    results = {}
    for variant, net in nets.items():
        net.zero_grad(set_to_none=True)
        out = net(x)
        loss(out, y).backward()
        reset_states(net)
        results[variant] = (spikes(out).detach(), [p.grad.clone() for p in net.parameters()])
    verdict = {}
    ref_out, ref_grads = results["peer"]
    for variant, (out, grads) in results.items():
        if not torch.equal(out, ref_out):
            raise AssertionError(f"{variant}: the output differs from the peer's "
                                 f"({int((out != ref_out).sum())} of {out.numel()})")
        worst = max(((g - r).abs() / (r.abs() + 1e-6 / 1e-4)).max().item() for g, r in zip(grads, ref_grads))
        for g, r in zip(grads, ref_grads):
            torch.testing.assert_close(g, r, rtol=1e-4, atol=1e-6, msg=f"{variant}: a gradient differs")
        verdict[variant] = f"outputs equal, gradients within {worst:.1e} (relative)"
    return verdict


def timed_steps(nets, x, y, repeats: int, compiled: bool, network: Optional[Network] = None) -> Dict[str, List[float]]:
    """Interleaved rounds of one training step per variant: {variant: [seconds per round]}."""
    loss = network.loss if network is not None and network.loss is not None else rate_mse
    steps = {}
    for variant, net in nets.items():
        optimizer = make_optimizer(network, net) if network is not None else torch.optim.SGD(net.parameters(), lr=1e-3)
        fn = torch.compile(net) if compiled else net
        train_step(fn, optimizer, x, y, loss)  # warm-up (and the compile)
        steps[variant] = (lambda fn=fn, optimizer=optimizer: train_step(fn, optimizer, x, y, loss))
    samples = {v: [] for v in steps}
    order, rng = list(steps), random.Random(0)
    for _ in range(repeats):
        rng.shuffle(order)
        for v in order:
            t0 = time.perf_counter()
            steps[v]()
            samples[v].append(time.perf_counter() - t0)
    return samples


# --- Where a step's time goes ------------------------------------------------------------------

PARTS = ("spike function", "neuron update", "layers and loss", "optimizer", "Python and framework")
# Backward (autograd node) names of the spike functions: the peers' Python Functions, ours.
SPIKE_BACKWARDS = ("surrogatespike", "atanbackward", "sigmoidbackward", "superspikebackward", "_backward")
LAYER_NODES = ("convolution", "addmm", "mmbackward", "batchnorm", "maxpool", "view", "reshape",
               "mse", "mean", "onehot", "unsafeview", "t_backward", "tbackward", "linear", "nllloss",
               "logsoftmax")
TRANSPOSE_NODES = ("t_backward", "tbackward")  # matched at the start: SelectBackward0 holds "tbackward"


def _backward_part(node: str) -> str:
    n = node.lower()
    if any(k in n for k in LAYER_NODES if k not in TRANSPOSE_NODES) or n.startswith(TRANSPOSE_NODES):
        return "layers and loss"
    if "surrogate_ext::" in n and not _is_neuron_op(n.split("surrogate_ext::", 1)[1]):
        return "spike function"
    if any(k in n for k in SPIKE_BACKWARDS[:4]):
        return "spike function"
    return "neuron update"  # the neurons' own arithmetic: Mul, Sub, Add, Div, Stack, ...


def _is_neuron_op(name: str) -> bool:
    """Whether an operator name (without the namespace) is a fused neuron's: <family>_<kind>
    (leaky_step, not the surrogate leaky_spike_operator)."""
    from surrogate_ext.core.neurons import NEURONS
    kinds = ("multistep", "multistep_backward", "step", "step_backward")
    return any(name.startswith(n.name + "_") and name[len(n.name) + 1:] in kinds for n in NEURONS)


def _own_part(op: str) -> Optional[str]:
    """The part an operator belongs to by its own name: our fused neurons and our surrogates."""
    if not op.startswith("surrogate_ext::"):
        return None
    return "neuron update" if _is_neuron_op(op.split("::")[1]) else "spike function"


def _forward_part(op: str) -> str:
    return "layers and loss"


def profile_shares(net, x, y, network: Optional[Network] = None) -> Dict[str, float]:
    """Shares of one step's wall time. Every operator's own time (self time) goes to the part of
    the step it runs in: the surrogate modules' and the neurons' forwards (marked by hooks), the
    backward node it runs under (by the node's name: the layers', the spike functions', else the
    neurons' arithmetic), the optimizer; the rest of the wall time is Python and the framework's
    own overhead."""
    from torch.profiler import ProfilerActivity, profile, record_function
    loss_fn = network.loss if network is not None and network.loss is not None else rate_mse
    optimizer = make_optimizer(network, net) if network is not None else torch.optim.SGD(net.parameters(), lr=1e-3)
    train_step(net, optimizer, x, y, loss_fn)
    handles, scopes = [], []

    def enter(name):
        def hook(*_):
            scopes.append(record_function(name))
            scopes[-1].__enter__()
        return hook

    def leave(*_):
        scopes.pop().__exit__(None, None, None)

    for m in net.modules():
        sg = getattr(m, "surrogate_function", getattr(m, "spike_grad", None))
        if sg is None and hasattr(m, "p") and hasattr(m, "dt"):  # Norse's neurons: the method is a string
            handles += [m.register_forward_pre_hook(enter("neuron update")), m.register_forward_hook(leave)]
        if sg is not None:
            handles += [m.register_forward_pre_hook(enter("neuron update")), m.register_forward_hook(leave)]
            if isinstance(sg, torch.nn.Module):
                handles += [sg.register_forward_pre_hook(enter("spike function")), sg.register_forward_hook(leave)]

    def step():
        optimizer.zero_grad(set_to_none=True)
        out = net(x)
        loss_fn(out, y).backward()
        with record_function("optimizer"):
            optimizer.step()
        reset_states(net)

    try:
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            step()
            wall = time.perf_counter() - t0
    finally:
        for h in handles:
            h.remove()
    parts = dict.fromkeys(PARTS, 0.0)
    backward = "autograd::engine::evaluate_function: "
    for e in prof.events():
        if not e.name.startswith(("aten::", "surrogate_ext::", "sj_")):
            continue
        part, a = _own_part(e.name), e
        while a is not None and part is None:
            if a.name in ("spike function", "neuron update", "optimizer"):
                part = a.name
            elif a.name.startswith(backward):
                part = _backward_part(a.name[len(backward):])
            a = a.cpu_parent
        parts[part or _forward_part(e.name)] += e.self_cpu_time_total / 1e6
    parts["Python and framework"] = max(0.0, wall - sum(parts.values()))
    return {k: v / wall for k, v in parts.items()}


def main(argv=None, prog="surrogate-ext bench train") -> int:
    parser = _cli.parser(prog, __doc__, DEFAULT_RUN)
    parser.add_argument("--networks", default=",".join(n.name for n in NETWORKS),
                        help="comma-separated networks among " + ", ".join(n.name for n in NETWORKS))
    parser.add_argument("--repeats", type=int, default=9,
                        help="timed rounds (each runs every variant once); medians are quoted")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (torch.set_num_threads)")
    parser.add_argument("--profile", action="store_true",
                        help="also print the shares of a step: spike function, neuron update, layers, "
                             "optimizer, Python")
    parser.add_argument("--compile", action="store_true",
                        help="time the peer's network and ours under torch.compile (Inductor) instead")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    args = parser.parse_args(argv)
    by_name = {n.name: n for n in NETWORKS}
    chosen = [n.strip() for n in args.networks.split(",") if n.strip()]
    unknown = [n for n in chosen if n not in by_name]
    if unknown:
        parser.error(f"unknown network(s) {', '.join(unknown)}; choose among {', '.join(by_name)}")
    torch.set_num_threads(args.threads)
    print(f"training step, CPU, float32, {args.threads} thread(s), {args.repeats} interleaved rounds"
          + (", torch.compile (Inductor)" if args.compile else "") + f"; torch {torch.__version__}")
    report = {"threads": args.threads, "repeats": args.repeats, "compile": args.compile, "results": []}
    for name in chosen:
        network = by_name[name]
        try:
            nets = build_variants(network)
        except ImportError as e:
            print(f"\n{name}: left out, {network.peer} is missing ({e})")
            continue
        if args.compile:
            nets = {v: net for v, net in nets.items() if v == "peer" or v.startswith("ours")}
        x, y = batch(network)
        print(f"\n{name}: {network.description}")
        verdicts = check_against_peer(nets, x, y, network)
        samples = timed_steps(nets, x, y, args.repeats, args.compile, network)
        peer = samples["peer"]
        print(f"  {'variant':<22} {'median ms':>10} {'speed-up':>9} {'spread':>14}   check against the peer")
        rows = []
        for variant, times in samples.items():
            ratios = sorted(p / t for p, t in zip(peer, times))
            median = statistics.median(times)
            speedup = statistics.median(peer) / median
            print(f"  {variant:<22} {median * 1e3:>10.2f} {speedup:>8.2f}x {ratios[0]:>6.2f}-{ratios[-1]:<6.2f}x"
                  f"   {verdicts[variant]}")
            rows.append({"variant": variant, "median_s": median, "speedup": speedup,
                         "spread": [ratios[0], ratios[-1]], "seconds": times})
        result = {"network": name, "description": network.description, "variants": rows}
        if args.profile:
            print(f"  {'shares of a step':<22} " + "  ".join(f"{k:>15}" for k in PARTS))
            result["shares"] = {}
            for variant, net in nets.items():
                shares = profile_shares(net, x, y, network)
                result["shares"][variant] = shares
                print(f"  {variant:<22} " + "  ".join(f"{shares[k] * 100:>14.0f}%" for k in PARTS))
            # the speed-up a neuron and spike function taking no time at all would give
            result["bound"] = {}
            for variant in (v for v in nets if v.startswith("ours")):
                shares = result["shares"][variant]
                rest = 1 - shares["neuron update"] - shares["spike function"]
                bound = statistics.median(peer) / (statistics.median(samples[variant]) * rest)
                result["bound"][variant] = bound
                print(f"  with neurons that took no time (the rest of {variant}'s step): {bound:.2f}x the peer")
        report["results"].append(result)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0
