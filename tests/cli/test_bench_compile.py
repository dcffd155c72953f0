"""The torch.compile benchmark runs and writes its figures (no timing is asserted)."""
import json

from surrogate_ext.cli import bench_compile


def test_bench_compile_writes_json(tmp_path, capsys):
    out = tmp_path / "compile.json"
    bench_compile.main(["--surrogates", "atan", "--sizes", "6", "--steps", "2", "--threads", "1",
                        "--neurons", "lif", "--repeats", "1", "--json", str(out)])
    data = json.loads(out.read_text())
    rows = {(r["case"], r["neuron"]): r for r in data["results"]}
    assert set(rows) == {("a", None), ("b", None), ("c", "lif")}
    for case in ("a", "b"):
        assert set(rows[case, None]["seconds"]) == {"eager ours", "compiled reference", "compiled ours"}
        assert set(rows[case, None]["compile_seconds"]) == {"compiled reference", "compiled ours"}
    assert set(rows["c", "lif"]["seconds"]) == {"eager", "compiled, state kept", "compiled, v only",
                                                 "compiled, reset inside"}
    for r in data["results"]:
        assert all(v > 0 for v in r["seconds"].values())
        assert all(lo <= r["seconds"][k] <= hi for k, (lo, hi) in r["spread"].items())
    table = capsys.readouterr().out
    assert "compiled ours / compiled reference" in table and "(target >= 1.5)" in table
