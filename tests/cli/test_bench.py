"""The benchmark program runs and writes its figures (no timing is asserted)."""
import json

from surrogate_ext.cli import bench


def test_bench_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    bench.main(["--sizes", "12", "--threads", "1", "--surrogates", "atan,s2nn", "--repeats", "2",
                "--no-progress", "--json", str(out)])
    data = json.loads(out.read_text())
    assert {r["surrogate"] for r in data["results"]} == {"ATan", "S2NN"}
    for r in data["results"]:
        for p in ("forward", "backward", "fwd+bwd"):
            for i in ("native", "reference", "floor"):
                assert r["seconds"][f"{p}/{i}"] > 0
    table = capsys.readouterr().out
    assert "nat/floor" in table and "geometric mean backward" in table


def test_bench_neuron_writes_json(tmp_path, capsys):
    from surrogate_ext.cli import bench_neuron
    out = tmp_path / "neuron.json"
    bench_neuron.main(["--neurons", "8", "--steps", "4", "--kinds", "lif,plif", "--surrogates",
                       "atan", "--repeats", "2", "--no-progress", "--json", str(out)])
    data = json.loads(out.read_text())
    assert [(r["neuron"], r["surrogate"]) for r in data["results"]] == [("lif", "atan"), ("plif", "atan")]
    for r in data["results"]:
        assert all(v > 0 for v in r["seconds"].values()) and len(r["seconds"]) == 4
        assert set(r["peak_bytes"]) == {"torch", "native"}
    assert "torch/native" in capsys.readouterr().out
