"""surrogate_ext.snntorch's neuron classes against snnTorch 1.0.0's: every class, its signature,
buffers and parameters; every reset mechanism, reset_delay, each learn flag, per-neuron beta, the
graded spikes factor, surrogate_disable; with explicit state and with init_hidden=True inside
nn.Sequential (reset by snnTorch's own utils.reset); the sequence path; the reference path for a
spike function of one's own; one fused operator per call (the profiler). Spikes bit for bit, states
and gradients within 2e-5 in float32. The differences are the documented fixes (docs/snntorch.md)."""
import inspect
import math

import pytest
import torch
from torch import nn

import surrogate_ext.snntorch as ours
from peer_parity import ROOT, parameters, profiled_ops
from surrogate_ext.core import neurons as engine
from surrogate_ext.snntorch import _neurons

snn = pytest.importorskip("snntorch")
snn_utils = pytest.importorskip("snntorch.utils")

ROWS = {row.name: row for row in _neurons.CLASSES}
TOLERANCE = {torch.float32: dict(rtol=2e-5, atol=2e-5), torch.float64: dict(rtol=1e-10, atol=1e-10)}
SHAPE = (6, 3, 7)  # [T, batch, features]


def constructor(name, **kw):
    """The class's required arguments (snnTorch's tutorials' values), then kw."""
    required = {"Leaky": dict(beta=0.9), "Synaptic": dict(alpha=0.9, beta=0.8),
                "Alpha": dict(alpha=0.9, beta=0.8), "Lapicque": dict(beta=0.9),
                "RLeaky": dict(beta=0.9, linear_features=SHAPE[-1]),
                "RSynaptic": dict(alpha=0.9, beta=0.8, linear_features=SHAPE[-1])}[name]
    return {**required, **kw}


def pair(name, dtype=torch.float32, **kw):
    """snnTorch's neuron and ours, built from the same arguments, with the same weights. In
    float64 snnTorch's neuron fires with our atan (snnTorch's own rounds its gradient to float32,
    a documented difference), so that its arithmetic is compared at float64's precision."""
    torch.manual_seed(0)
    peer_kw = dict(kw)
    if dtype == torch.float64 and "spike_grad" not in kw and not kw.get("surrogate_disable"):
        peer_kw["spike_grad"] = ours.surrogate.atan()
    peer = getattr(snn, name)(**constructor(name, **peer_kw))
    torch.manual_seed(0)
    mine = getattr(ours, name)(**constructor(name, **kw))
    mine.load_state_dict(peer.state_dict())
    return peer.to(dtype), mine.to(dtype)


def inputs(dtype, shape=SHAPE, seed=0, scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return ((torch.randn(shape, generator=gen, dtype=torch.float64) * 1.2 + 0.6) * scale).to(dtype)


def drive(neuron, x, weights, hidden=False, init=None):
    """T calls of neuron, the user's loop (explicit state: the states passed back each call), and
    the gradients of a weighted sum of every output of every step with respect to x and the
    neuron's parameters: (outputs per step, {name: gradient})."""
    x = x.detach().clone().requires_grad_(True)
    row = ROWS[type(neuron).__name__.split(".")[-1]] if type(neuron).__module__.startswith("surrogate_ext") \
        else ROWS[type(neuron).__name__]
    states = init if init is not None else getattr(neuron, row.init)()
    states = states if isinstance(states, tuple) else (states,)
    outs, loss = [], 0.
    for t in range(x.shape[0]):
        out = neuron(x[t]) if hidden else neuron(x[t], *states)
        out = out if isinstance(out, tuple) else (out,)
        if not hidden:
            states = tuple(out[1:]) if not row.recurrent else (out[0],) + tuple(out[1:])
        outs.append([o.detach() for o in out])
        loss = loss + sum((o * w[t]).sum() for o, w in zip(out, weights))
    leaves = {"x": x, **{n: p for n, p in neuron.named_parameters()}}
    grads = torch.autograd.grad(loss, list(leaves.values()), allow_unused=True)
    return outs, dict(zip(leaves, grads))


def weights_for(n_outputs, dtype, seed=1):
    gen = torch.Generator().manual_seed(seed)
    return [torch.randn(SHAPE, generator=gen, dtype=torch.float64).to(dtype) for _ in range(n_outputs)]


def assert_parity(mine, peer, dtype, what, spikes_exact=True):
    (outs, grads), (peer_outs, peer_grads) = mine, peer
    assert len(outs) == len(peer_outs)
    fired = 0
    for t, (o, p) in enumerate(zip(outs, peer_outs)):
        assert len(o) == len(p), f"{what}: {len(o)} outputs, snnTorch {len(p)}"
        if spikes_exact:
            assert torch.equal(o[0], p[0].to(o[0].dtype)), f"{what}: spikes differ at step {t}"
        fired += int(o[0].count_nonzero())
        for k, (a, b) in enumerate(zip(o[1:], p[1:])):
            torch.testing.assert_close(a, b.to(a.dtype), **TOLERANCE[dtype], msg=f"{what}: state {k} step {t}")
    assert fired > 0, f"{what}: no spike, the case tests nothing"
    assert grads.keys() == peer_grads.keys(), (grads.keys(), peer_grads.keys())
    for name, g in grads.items():
        pg = peer_grads[name]
        if pg is None:
            assert g is None or not g.any(), f"{what}: gradient of {name} where snnTorch has none"
            continue
        assert g is not None, f"{what}: no gradient of {name}"
        torch.testing.assert_close(g, pg.to(g.dtype), **TOLERANCE[dtype], msg=f"{what}: gradient of {name}")


def n_outputs(name):
    return 1 + len([s for s in ROWS[name].states if s != "spk"])


# --- The classes' surface --------------------------------------------------------------------

def test_every_neuron_class_of_the_table_is_snntorchs():
    assert set(ROWS) == {"Leaky", "Synaptic", "Alpha", "Lapicque", "RLeaky", "RSynaptic"}
    for row in _neurons.CLASSES:
        assert row.family in engine.BY_NAME and engine.BY_NAME[row.family].origin == engine.SNNTORCH
        cls = getattr(ours, row.name)  # at the package's top, as snnTorch's: import ... as snn; snn.Leaky
        assert cls.__module__ == "surrogate_ext.snntorch" and cls.__qualname__ == row.name


@pytest.mark.parametrize("name", list(ROWS))
def test_signature_and_defaults_are_snntorchs(name):
    assert parameters(getattr(ours, name).__init__) == parameters(getattr(snn, name).__init__)
    assert parameters(getattr(ours, name).forward) == parameters(getattr(snn, name).forward)
    assert hasattr(getattr(ours, name), ROWS[name].init)


FLAGS = [{}, dict(learn_beta=True, learn_threshold=True), dict(learn_alpha=True),
         dict(learn_graded_spikes_factor=True), dict(reset_mechanism="zero"),
         dict(all_to_all=False, linear_features=None), dict(learn_recurrent=False)]


def flag_cases():
    """Each class with the flags it takes (Alpha's learn_alpha raises in snnTorch:
    test_alpha_fix_learn_alpha; all_to_all and learn_recurrent are the recurrent classes')."""
    for name in ROWS:
        accepted = inspect.signature(getattr(snn, name).__init__).parameters
        for flags in FLAGS:
            if all(k in accepted for k in constructor(name, **flags)) and not (
                    name == "Alpha" and flags.get("learn_alpha")):
                yield pytest.param(name, flags, id=f"{name}-{flags}")


@pytest.mark.parametrize("name,flags", list(flag_cases()))
def test_buffers_parameters_and_state_dict_are_snntorchs(name, flags):
    """The same buffers and parameters, by name and in order (an optimizer sees the same list), and
    each one's state_dict loads into the other."""
    kw = constructor(name, **flags)
    torch.manual_seed(0)
    peer = getattr(snn, name)(**kw)
    torch.manual_seed(0)
    mine = getattr(ours, name)(**kw)
    assert [n for n, _ in mine.named_buffers()] == [n for n, _ in peer.named_buffers()]
    assert [(n, p.requires_grad) for n, p in mine.named_parameters()] == \
        [(n, p.requires_grad) for n, p in peer.named_parameters()]
    for (n, a), (_, b) in zip(mine.state_dict().items(), peer.state_dict().items()):
        assert a.dtype == b.dtype and torch.equal(a, b), n
    mine.load_state_dict(peer.state_dict())
    peer.load_state_dict(mine.state_dict())


def test_isinstance_of_snntorchs_classes():
    """So that snnTorch's helpers recognise them (utils.reset, backprop, export_nir)."""
    for name in ROWS:
        assert isinstance(getattr(ours, name)(**constructor(name)), getattr(snn, name))


@pytest.mark.parametrize("name", list(ROWS))
def test_inhibition_and_state_quant_raise_saying_what_to_use(name):
    with pytest.raises(ValueError, match=f"inhibition is not supported.*snntorch.{name}"):
        getattr(ours, name)(**constructor(name, inhibition=True))
    with pytest.raises(ValueError, match=f"state_quant is not supported.*snntorch.{name}"):
        getattr(ours, name)(**constructor(name, state_quant=lambda m: m))


@pytest.mark.parametrize("name", list(ROWS))
def test_snntorchs_constructor_errors(name):
    with pytest.raises(ValueError, match="reset_mechanism must be set to either"):
        getattr(ours, name)(**constructor(name, reset_mechanism="soft"))


@pytest.mark.parametrize("name", list(ROWS))
def test_bad_input_names_the_argument(name):
    """Through the operator's checks: an integer input (TypeError), a per-neuron threshold that
    does not broadcast to the states (ValueError naming it); sequence() of a 0-d input (ValueError)."""
    neuron = getattr(ours, name)(**constructor(name))
    # (the recurrent classes' Linear, a torch layer, raises first: RuntimeError)
    with pytest.raises(RuntimeError if ROWS[name].recurrent else TypeError,
                       match="must have the same dtype" if ROWS[name].recurrent else "must be a float32"):
        neuron(torch.ones(2, SHAPE[-1], dtype=torch.int64))
    bad = getattr(ours, name)(**constructor(name, threshold=torch.ones(SHAPE[-1] + 1)))
    with pytest.raises(ValueError, match="threshold must hold one value or be broadcastable"):
        bad(torch.ones(2, SHAPE[-1]))
    with pytest.raises(ValueError, match="input_seq must be a tensor of shape"):
        neuron.sequence(torch.tensor(1.0))


# --- Parity, explicit state -----------------------------------------------------------------

def parity_cases():
    """(class, constructor flags) reaching every reset mechanism, reset_delay, the learn flags,
    per-neuron beta and threshold, the graded spikes factor, surrogate_disable."""
    cases = []
    for name, row in ROWS.items():
        mechanisms = ("subtract", "zero", "none")
        delays = (True, False) if "reset_delay" in row.signature and name != "RSynaptic" else (True,)
        for mechanism in mechanisms:
            for delay in delays:
                kw = dict(reset_mechanism=mechanism)
                if len(delays) > 1:
                    kw["reset_delay"] = delay
                cases.append((name, kw))
        cases.append((name, dict(learn_threshold=True) if name == "Lapicque" else
                      dict(learn_beta=True, learn_threshold=True)))  # (test_lapicque_fix_learn_beta)
        if name != "Lapicque":  # (Alpha: beta < alpha)
            beta = torch.linspace(0.5, 0.85, SHAPE[-1]) if name == "Alpha" else torch.linspace(0.5, 1.1, SHAPE[-1])
            cases.append((name, dict(beta=beta, learn_beta=True, threshold=torch.linspace(0.8, 1.2, SHAPE[-1]))))
        if "learn_alpha" in row.signature and name != "Alpha":
            cases.append((name, dict(learn_alpha=True, reset_mechanism="zero")))
        cases.append((name, dict(surrogate_disable=True)))  # (float64: not the recurrent classes)
    cases += [("Leaky", dict(graded_spikes_factor=0.5, learn_graded_spikes_factor=True)),
              ("Leaky", dict(graded_spikes_factor=2.0, reset_delay=False)),
              ("Lapicque", dict(beta=False, R=2.0, C=1.5, time_step=0.5)),
              ("Lapicque", dict(beta=0.8, R=3)), ("Lapicque", dict(beta=0.8, C=2.5)),
              ("RLeaky", dict(all_to_all=False, linear_features=None, V=0.5)),
              ("RSynaptic", dict(all_to_all=False, linear_features=None, V=torch.linspace(-1, 1, SHAPE[-1])))]
    return [pytest.param(name, kw, id=f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'defaults'}")
            for name, kw in cases]


def scale_for(name, kw):
    """Lapicque's input reaches the threshold through 1 / C."""
    return 3.0 if name == "Lapicque" else 1.0


def parity_dtype_cases():
    """Every parity case in float32 and float64, but for surrogate_disable in a recurrent class in
    float64: snnTorch's surrogate_disable spikes are float32, and its float64 recurrent layer fails
    on them (documented in docs/snntorch.md)."""
    for case in parity_cases():
        name, kw = case.values
        for dtype in (torch.float32, torch.float64):
            if not (kw.get("surrogate_disable") and ROWS[name].recurrent and dtype == torch.float64):
                yield pytest.param(name, kw, dtype, id=f"{case.id}-{dtype}")


@pytest.mark.parametrize("name,kw,dtype", list(parity_dtype_cases()))
def test_matches_snntorch_with_explicit_state(name, kw, dtype):
    peer, mine = pair(name, dtype, **kw)
    x = inputs(dtype, scale=scale_for(name, kw))
    w = weights_for(n_outputs(name), dtype)
    assert_parity(drive(mine, x, w), drive(peer, x, w), dtype, f"{name}{kw}")


@pytest.mark.parametrize("name", list(ROWS))
def test_matches_snntorch_with_init_hidden_in_sequential(name):
    """nn.Sequential(Linear, <neuron>(init_hidden=True), Linear, <neuron>(init_hidden=True,
    output=True)) in the user's loop, twice, reset between by snnTorch's utils.reset: both layers'
    spikes, the last layer's states and the Linear layers' gradients."""
    f = SHAPE[-1]

    def net(lib):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(f, f), getattr(lib, name)(**constructor(name, init_hidden=True)),
                              nn.Linear(f, f), getattr(lib, name)(**constructor(name, init_hidden=True, output=True)))
        with torch.no_grad():  # weights large enough that the second layer fires too
            for layer in (model[0], model[2]):
                layer.weight.mul_(4)
        return model

    nets = {"peer": net(snn), "mine": net(ours)}
    x = inputs(torch.float32, scale=3.0 if name == "Lapicque" else 1.0)
    results = {}
    for key, model in nets.items():
        hidden = []
        model[1].register_forward_hook(lambda m, i, out: hidden.append(out))
        runs = []
        for _ in range(2):
            snn_utils.reset(model)
            if name == "RSynaptic":  # snnTorch's RSynaptic.reset_hidden leaves spk (and its graph)
                model[1].reset_mem(), model[3].reset_mem()
            model.zero_grad()
            hidden.clear()
            outs, loss = [], 0.
            for t in range(x.shape[0]):
                spk, *states = model(x[t])
                outs.append([hidden[-1].detach(), spk.detach()] + [s.detach() for s in states])
                loss = loss + (hidden[-1] * 0.5).sum() + spk.sum() + sum((s * (k + 1)).sum() for k, s in enumerate(states))
            loss.backward()
            runs.append((outs, [p.grad.clone() for p in model.parameters()]))
        for a, b in zip(runs[0][0], runs[1][0]):
            assert all(torch.equal(u, v) for u, v in zip(a, b)), "utils.reset did not reset"
        results[key] = runs[1]
    (outs, grads), (peer_outs, peer_grads) = results["mine"], results["peer"]
    assert sum(int(o[0].sum()) for o in outs) > 0, "no spike"
    for step, peer_step in zip(outs, peer_outs):
        assert torch.equal(step[0], peer_step[0]) and torch.equal(step[1], peer_step[1])
        for a, b in zip(step[2:], peer_step[2:]):
            torch.testing.assert_close(a, b, **TOLERANCE[torch.float32])
    for a, b in zip(grads, peer_grads):
        torch.testing.assert_close(a, b, **TOLERANCE[torch.float32])


@pytest.mark.parametrize("name", ["Leaky", "Synaptic", "Alpha"])
def test_reference_path_for_snntorchs_own_spike_function(name):
    """spike_grad=snnTorch's own atan() (not native): the family's reference step, which calls it
    as snnTorch does (its reset too), matches snnTorch."""
    peer, mine = pair(name, torch.float32, spike_grad=snn.surrogate.fast_sigmoid(slope=10))
    assert engine.native_call(mine.spike_grad) is None
    x, w = inputs(torch.float32), weights_for(n_outputs(name), torch.float32)
    assert_parity(drive(mine, x, w), drive(peer, x, w), torch.float32, name)


def test_alpha_fix_learn_alpha():
    """snnTorch's Alpha(learn_alpha=True) raises TypeError (it assigns the clamped tensor to the
    parameter); here alpha is learnt, clamped in the step. Against snnTorch's Alpha whose alpha was
    made a parameter after construction."""
    with pytest.raises(TypeError):
        snn.Alpha(alpha=0.9, beta=0.8, learn_alpha=True)
    peer, _ = pair("Alpha", torch.float64)
    peer.alpha = nn.Parameter(peer.alpha.clone())
    mine = ours.Alpha(alpha=0.9, beta=0.8, learn_alpha=True).double()
    x, w = inputs(torch.float64), weights_for(4, torch.float64)
    mine_result, peer_result = drive(mine, x, w), drive(peer, x, w)
    assert_parity(mine_result, peer_result, torch.float64, "Alpha learn_alpha")
    assert mine_result[1]["alpha"].abs().sum() > 0


@pytest.mark.parametrize("reset_mechanism", ["subtract", "zero"])
def test_rsynaptic_fix_reset_delay_false(reset_mechanism):
    """snnTorch's RSynaptic(reset_delay=False) resets a local variable (the forward's `mem`
    argument) with its `spk` argument: without them it raises TypeError, with them it returns the
    membrane unreset. Here it resets as RLeaky and Synaptic do: Synaptic(reset_delay=False)
    driven with input + the recurrent layer's output of the last spike (float64; the sum is
    ordered differently)."""
    with pytest.raises(TypeError):
        snn.RSynaptic(alpha=0.9, beta=0.8, linear_features=3, reset_delay=False)(torch.ones(2, 3))
    mine = ours.RSynaptic(alpha=0.9, beta=0.8, all_to_all=False, V=0.5, reset_delay=False,
                          reset_mechanism=reset_mechanism).double()
    syn = snn.Synaptic(alpha=0.9, beta=0.8, reset_delay=False, reset_mechanism=reset_mechanism).double()
    x = inputs(torch.float64)
    spk, s, m = mine.init_rsynaptic()
    s2, m2 = syn.init_synaptic()
    last = torch.zeros_like(x[0])
    fired = 0
    for t in range(x.shape[0]):
        spk, s, m = mine(x[t], spk, s, m)
        last, s2, m2 = syn(x[t] + 0.5 * last, s2, m2)
        assert torch.equal(spk, last)
        torch.testing.assert_close(m, m2, rtol=1e-12, atol=1e-12)
        fired += int(spk.sum())
    assert fired > 0


def test_lapicque_fix_learn_beta():
    """snnTorch's Lapicque derives C (or R) from beta once, when it is made, keeping beta's graph:
    its first backward trains beta through it, the second raises ("backward through the graph a
    second time"). Here the step derives it from the current beta: the first backward's gradients
    are snnTorch's, and every later one works."""
    peer, mine = pair("Lapicque", torch.float32, learn_beta=True, beta=0.8)
    x, w = inputs(torch.float32, scale=3.0), weights_for(2, torch.float32)
    assert_parity(drive(mine, x, w), drive(peer, x, w), torch.float32, "Lapicque learn_beta")
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        drive(peer, x, w)
    _, grads = drive(mine, x, w)
    assert grads["beta"] is not None and grads["beta"] != 0


def test_surrogate_disable_fix_keeps_the_dtype():
    """snnTorch's surrogate_disable spikes are (input_ > 0).float(), float32 whatever the input;
    here the input's dtype, with no gradient through them."""
    peer, mine = pair("Leaky", torch.float64, surrogate_disable=True)
    x = inputs(torch.float64)[0].requires_grad_(True)
    spk, _ = mine(x, mine.init_leaky())
    peer_spk, _ = peer(x, peer.init_leaky())
    assert peer_spk.dtype == torch.float32 and spk.dtype == torch.float64
    assert torch.equal(spk, peer_spk.double()) and spk.sum() > 0
    (g,) = torch.autograd.grad(spk.sum(), x)
    assert not g.any()


def test_reset_mechanism_set_after_construction_fix():
    """Setting reset_mechanism after construction: here the whole step follows it (a fresh neuron
    of that mechanism, bit for bit); snnTorch's keeps the reset in the charge it was made with."""
    x, w = inputs(torch.float32), weights_for(2, torch.float32)
    changed = ours.Leaky(beta=0.9)
    changed.reset_mechanism = "zero"
    assert changed.reset_mechanism_val == 1
    fresh = ours.Leaky(beta=0.9, reset_mechanism="zero")
    (a, _), (b, _) = drive(changed, x, w), drive(fresh, x, w)
    assert all(torch.equal(u, v) for s, t in zip(a, b) for u, v in zip(s, t))
    peer = snn.Leaky(beta=0.9)
    peer.reset_mechanism = "zero"
    (c, _), (d, _) = drive(peer, x, w), drive(snn.Leaky(beta=0.9, reset_mechanism="zero"), x, w)
    assert not all(torch.equal(u, v) for s, t in zip(c, d) for u, v in zip(s, t))


def test_changes_to_spike_grad_and_buffers_are_followed():
    """What a call remembers between calls (the surrogate's native call, whether the graded spikes
    factor is a fixed 1) follows an assigned surrogate parameter and a buffer loaded in place."""
    x, mem = inputs(torch.float32)[0], torch.zeros(SHAPE[1:])
    lif = ours.Leaky(beta=0.9)
    lif(x, mem)
    lif.spike_grad.alpha = 5.0
    lif.load_state_dict({**lif.state_dict(), "graded_spikes_factor": torch.tensor(2.0)})
    fresh = ours.Leaky(beta=0.9, spike_grad=ours.surrogate.atan(alpha=5.0), graded_spikes_factor=2.0)
    results = []
    for neuron in (lif, fresh):
        xr = x.clone().requires_grad_(True)
        spk, _ = neuron(xr, mem)
        (g,) = torch.autograd.grad(spk.sum(), xr)
        results.append((spk, g))
    assert results[0][0].max() == 2.0
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])


# --- The sequence path -----------------------------------------------------------------------

@pytest.mark.parametrize("kw", [{}, dict(reset_mechanism="zero", reset_delay=False),
                                dict(learn_beta=True, learn_threshold=True)], ids=str)
@pytest.mark.parametrize("name", list(ROWS))
def test_sequence_equals_the_loop(name, kw):
    """sequence(x_seq) is the loop of forward calls: spikes and states bit for bit, gradients
    within rounding (the engine sums a parameter's gradient over the steps in another order); the
    states after it are stored, and a second call continues from them."""
    if "reset_delay" in kw and "reset_delay" not in ROWS[name].signature:
        kw = {k: v for k, v in kw.items() if k != "reset_delay"}
    x = inputs(torch.float32, scale=scale_for(name, kw))
    results = []
    for mode in ("loop", "sequence"):
        torch.manual_seed(0)
        neuron = getattr(ours, name)(**constructor(name, **kw))
        xs = x.detach().clone().requires_grad_(True)
        if mode == "loop":
            states = getattr(neuron, ROWS[name].init)()
            states = states if isinstance(states, tuple) else (states,)
            steps = []
            for t in range(x.shape[0]):
                out = neuron(xs[t], *states)
                states = tuple(out[1:]) if not ROWS[name].recurrent else (out[0],) + tuple(out[1:])
                steps.append(out)
            outs = tuple(torch.stack(parts) for parts in zip(*steps))
        else:
            outs = neuron.sequence(xs)
        loss = sum((o * (k + 1.5)).sum() for k, o in enumerate(outs))
        leaves = [xs] + list(neuron.parameters())
        grads = torch.autograd.grad(loss, leaves)
        last = tuple(getattr(neuron, s).detach().clone() for s in ROWS[name].states)
        results.append(([o.detach() for o in outs], grads, last))
    (outs, grads, last), (seq_outs, seq_grads, seq_last) = results
    assert outs[0].sum() > 0
    for a, b in zip(outs, seq_outs):
        assert torch.equal(a, b)
    for a, b in zip(last, seq_last):
        assert torch.equal(a, b)
    for a, b in zip(grads, seq_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_sequence_takes_states_and_continues():
    lif = ours.Leaky(beta=0.9)
    x = inputs(torch.float32)
    spk, mem = lif.sequence(x[:3])
    spk2, mem2 = lif.sequence(x[3:], mem[-1])
    whole_spk, whole_mem = ours.Leaky(beta=0.9).sequence(x)
    assert torch.equal(torch.cat([spk, spk2]), whole_spk) and torch.equal(torch.cat([mem, mem2]), whole_mem)
    with pytest.raises(ValueError, match="input_seq must be a tensor of shape"):
        lif.sequence(torch.tensor(1.0))


# --- torch.compile ---------------------------------------------------------------------------

@pytest.mark.parametrize("mode", ["loop", "sequence"])
@pytest.mark.parametrize("name", list(ROWS))
def test_compile_fullgraph(name, mode):
    """Under torch.compile(fullgraph=True) (no graph break): the user's loop with explicit state
    (learnable beta and threshold, graded spikes) and the sequence path give eager's spikes, states
    and gradients. Regression: the per-call memory of the module's buffers branched on their values,
    a data-dependent guard that stopped Dynamo."""
    kw = {flag: True for flag in ("learn_beta", "learn_threshold", "learn_graded_spikes_factor")
          if flag in ROWS[name].signature}
    x = inputs(torch.float32, shape=(4, 3, SHAPE[-1]), scale=scale_for(name, kw))

    def run(neuron, x):
        if mode == "sequence":
            return neuron.sequence(x)
        states = getattr(neuron, ROWS[name].init)()
        states = states if isinstance(states, tuple) else (states,)
        steps = []
        for t in range(x.shape[0]):
            out = neuron(x[t], *states)
            states = tuple(out[1:]) if not ROWS[name].recurrent else (out[0],) + tuple(out[1:])
            steps.append(out)
        return tuple(torch.stack(parts) for parts in zip(*steps))

    torch._dynamo.reset()
    results = []
    for fn in (run, torch.compile(run, fullgraph=True, backend="aot_eager")):
        torch.manual_seed(0)
        neuron = getattr(ours, name)(**constructor(name, **kw))
        xs = x.clone().requires_grad_(True)
        outs = fn(neuron, xs)
        loss = sum((o * (k + 1.5)).sum() for k, o in enumerate(outs))
        grads = torch.autograd.grad(loss, [xs] + list(neuron.parameters()))
        results.append(([o.detach() for o in outs], grads))
    (outs, grads), (c_outs, c_grads) = results
    assert outs[0].sum() > 0
    for a, b in zip(outs, c_outs):
        assert torch.equal(a, b)
    for a, b in zip(grads, c_grads):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


# --- Nativeness ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(ROWS))
def test_a_step_is_one_fused_operator(name):
    """A call of the neuron is one surrogate_ext operator forward and one backward, and no torch op
    of the neuron's (besides: the loss's sum and its backward; the recurrent layer's own ops); a
    sequence is one of each whatever T."""
    family = ROWS[name].family
    neuron = getattr(ours, name)(**constructor(name))
    states = getattr(neuron, ROWS[name].init)()
    states = states if isinstance(states, tuple) else (states,)
    x = inputs(torch.float32)
    out = neuron(x[0], *states)  # materialises the states
    states = tuple(o.detach() for o in (out[1:] if not ROWS[name].recurrent else out))
    x1 = x[1].clone().requires_grad_(True)
    ops = profiled_ops(lambda: neuron(x1, *states)[0].sum().backward())
    fused = [o for o in ops if o.startswith("surrogate_ext::")]
    assert fused == [f"surrogate_ext::{family}_step", f"surrogate_ext::{family}_step_backward"], ops
    allowed = {"aten::sum", "aten::ones_like", "aten::expand", "aten::detach"}
    if ROWS[name].recurrent:  # the recurrent Linear, forward and backward
        allowed |= {"aten::linear", "aten::t", "aten::mm", "aten::addmm", "aten::sum", "aten::view",
                    "aten::reshape", "aten::conj", "aten::add_", "aten::copy_", "aten::mul"}
    assert set(ops) - set(fused) <= allowed, ops
    if ROWS[name].recurrent:
        return
    counts = {}
    for steps in (3, 7):
        neuron = getattr(ours, name)(**constructor(name))
        xs = inputs(torch.float32, shape=(steps,) + SHAPE[1:]).requires_grad_(True)
        ops = profiled_ops(lambda: neuron.sequence(xs)[0].sum().backward())
        fused = [o for o in ops if o.startswith("surrogate_ext::")]
        assert fused == [f"surrogate_ext::{family}_multistep", f"surrogate_ext::{family}_multistep_backward"], ops
        counts[steps] = len(ops)
    assert counts[3] == counts[7], "an operator per step"


def test_backward_skips_parameters_that_need_no_gradient():
    """The autograd kernel tells the backward which tensor arguments need a gradient
    (output_mask): with beta and threshold buffers it returns their gradients uncomputed (zeros),
    with a learnt beta it computes them."""
    x, mem = inputs(torch.float32)[0], torch.rand(SHAPE[1:])
    beta, threshold = torch.tensor(0.9), torch.tensor(1.0)
    g = torch.randn_like(x)
    op = torch.ops.surrogate_ext.leaky_step_backward
    full = op(g, g, x, mem, beta, threshold, 0, True, "atan", [2.0])
    skipped = op(g, g, x, mem, beta, threshold, 0, True, "atan", [2.0], output_mask=[True, True, False, False])
    assert torch.equal(full[0], skipped[0]) and torch.equal(full[1], skipped[1])
    assert full[2] != 0 and skipped[2] == 0 and skipped[3] == 0
    with pytest.raises(ValueError, match="output_mask must have one value per output"):
        op(g, g, x, mem, beta, threshold, 0, True, "atan", [2.0], output_mask=[True])
    lif = ours.Leaky(beta=0.9, learn_beta=True)
    xr = x.clone().requires_grad_(True)
    spk, m = lif(xr, mem)
    (spk.sum() + m.sum()).backward()
    assert lif.beta.grad is not None and lif.beta.grad != 0


def test_docs_examples_run():
    from peer_parity import run_python_blocks
    run_python_blocks(ROOT / "docs" / "snntorch.md")
