"""The benchmark program runs and writes its figures (no timing is asserted)."""
import json

from surrogate_ext import bench


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
