"""surrogate-ext bench train: every network's variants give the peer's outputs and gradients on a
batch (the check the benchmark runs before timing, which also fails when they do not), and a run
prints its table, its profile and its JSON."""
import json

import pytest
import torch

from surrogate_ext.cli import bench_train

NETWORKS = {n.name: n for n in bench_train.NETWORKS}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_variants_agree_with_the_peer(name):
    network = NETWORKS[name]
    nets = bench_train.build_variants(network)
    assert list(nets) == list(network.variants)
    x, y = bench_train.batch(network)
    verdicts = bench_train.check_against_peer(nets, x, y, network)
    assert set(verdicts) == set(nets)
    assert all(v.startswith("outputs equal") for v in verdicts.values()), verdicts


def test_the_check_fails_on_a_different_network():
    network = NETWORKS["sj2-mlp"]
    nets = bench_train.build_variants(network)
    with torch.no_grad():
        next(nets["ours"].parameters()).mul_(1.01)
    x, y = bench_train.batch(network)
    with pytest.raises(AssertionError, match="^ours: "):
        bench_train.check_against_peer(nets, x, y, network)


def test_a_run_prints_the_table_the_profile_and_json(capsys, tmp_path):
    out = tmp_path / "train.json"
    assert bench_train.main(["--networks", "sj2-mlp", "--repeats", "2", "--profile",
                             "--json", str(out)]) == 0
    text = capsys.readouterr().out
    for variant in NETWORKS["sj2-mlp"].variants:
        assert f"  {variant} " in text
    assert "with neurons that took no time" in text
    report = json.loads(out.read_text())
    (result,) = report["results"]
    assert [r["variant"] for r in result["variants"]] == list(NETWORKS["sj2-mlp"].variants)
    assert all(len(r["seconds"]) == 2 for r in result["variants"])
    shares = result["shares"]["ours"]
    assert abs(sum(shares.values()) - 1) < 1e-6 and min(shares.values()) >= 0


def test_unknown_network_is_an_error(capsys):
    with pytest.raises(SystemExit):
        bench_train.main(["--networks", "nope"])
    assert "unknown network(s) nope" in capsys.readouterr().err
