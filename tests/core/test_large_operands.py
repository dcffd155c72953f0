"""Operands of 16 MiB and more take the CPU loop that prefetches ahead (elementwise.h, Streaming):
its results must be those of the in-cache loop, bit for bit, for every dtype, thread count, tail
length and a broadcast grad_output."""
import pytest
import torch

from surrogate_ext import registry
from conftest import DTYPES, op

STREAMING_BYTES = 16 << 20  # Streaming::kFromBytes: inputs and output together


def in_pieces(fn, g, x, *params, piece=4096):
    """fn over x in slices small enough for the in-cache loop."""
    return torch.cat([fn(g[i:i + piece], x[i:i + piece], *params) for i in range(0, x.numel(), piece)])


@pytest.fixture(params=[1, 2], ids=lambda t: f"threads{t}")
def threads(request):
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_streaming_loop_matches_in_cache_loop(dtype, threads):
    # the smallest size that streams, plus a tail that is not a whole line (or vector)
    n = STREAMING_BYTES // (3 * torch.tensor([], dtype=dtype).element_size()) + 37
    gen = torch.Generator().manual_seed(n)
    x = (torch.randn(n, generator=gen, dtype=torch.float64) * 3).to(dtype)
    g = torch.randn(n, generator=gen, dtype=torch.float64).to(dtype)
    for entry in registry.SURROGATES:
        backward = op(entry.op + "_backward")
        expected = in_pieces(backward, g, x, *entry.example_params)
        assert torch.equal(backward(g, x, *entry.example_params), expected), f"{entry.op} {dtype}"
        g0 = torch.full((), 0.75, dtype=dtype).expand(n)
        assert torch.equal(backward(g0, x, *entry.example_params), in_pieces(backward, g0, x, *entry.example_params)), \
            f"{entry.op} {dtype} broadcast grad_output"
        assert torch.equal(op(entry.op)(x, *entry.example_params), entry.spike(x, *entry.example_params)), f"{entry.op} {dtype} forward"
    primitive = op("sigmoid_primitive")
    assert torch.equal(primitive(x, 4.0), torch.cat([primitive(p, 4.0) for p in x.split(4096)]))
