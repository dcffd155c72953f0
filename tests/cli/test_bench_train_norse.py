"""bench train's Norse networks: every variant (the peer, the peer within native_thresholds, ours)
gives the peer's spikes and gradients on a batch (the check the benchmark runs before timing)."""
import pytest

from surrogate_ext.cli import bench_train

pytest.importorskip("norse.torch")


@pytest.mark.parametrize("name", ["norse-mlp", "norse-mlp-cell"])
def test_norse_variants_agree_with_the_peer(name):
    network = {n.name: n for n in bench_train.NETWORKS}[name]
    nets = bench_train.build_variants(network)
    assert list(nets) == ["peer", bench_train.NATIVE_THRESHOLDS, "ours"]
    x, y = bench_train.batch(network)
    verdicts = bench_train.check_against_peer(nets, x, y, network)
    assert all(v.startswith("outputs equal") for v in verdicts.values()), verdicts
