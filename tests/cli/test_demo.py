"""The demo program: trains on scikit-learn's digits, exports with TorchScript, reloads and agrees.
No timing is asserted."""
import re
import sys

import pytest
import torch

from surrogate_ext.cli import demo

pytest.importorskip("sklearn")

AGREES = re.compile(r"reloaded TorchScript model agrees on (\d+)/(\d+) test samples")
ACCURACY = re.compile(r"test accuracy ([\d.]+)%")


def run_demo(capsys, *argv):
    code = demo.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("backend,surrogate,recorded", [
    ("native", "atan", "surrogate_ext::lif_multistep"),  # one fused op per layer
    ("torch", "Sigmoid", "surrogate_ext::sigmoid("),            # a class name; one op per step
])
def test_demo_exports_a_model_that_agrees(tmp_path, capsys, backend, surrogate, recorded):
    path = tmp_path / "model.pt"
    threads = torch.get_num_threads()
    code, out, err = run_demo(capsys, "--epochs", "1", "--backend", backend, "--surrogate",
                              surrogate, "--export", str(path), "--threads", str(threads + 1))
    assert code == 0, out + err
    assert f"{threads + 1} CPU thread" in out and torch.get_num_threads() == threads  # restored
    agree, total = map(int, AGREES.search(out).groups())
    assert agree == total == 450
    assert f"saved to {path}" in out
    assert "epoch 1/1" in err and "test_acc" in err  # the progress bar
    graph = str(torch.jit.load(str(path)).inlined_graph)
    assert recorded in graph
    if backend == "torch":
        assert "multistep" not in graph


def test_demo_fails_when_the_reloaded_model_disagrees(tmp_path, capsys, monkeypatch):
    exported = demo.export

    def export_shifted(net, x_test, path):  # a reloaded model that predicts the next class
        reloaded = exported(net, x_test, path)
        return lambda x_seq: torch.nn.functional.one_hot((reloaded(x_seq).argmax(1) + 1) % 10, 10)

    monkeypatch.setattr(demo, "export", export_shifted)
    code, out, _ = run_demo(capsys, "--epochs", "0", "--no-progress", "--export",
                            str(tmp_path / "model.pt"))
    assert code == 1
    assert "agrees on 0/450 test samples" in out


def test_demo_reaches_95_percent_with_default_settings(tmp_path, capsys):
    code, out, err = run_demo(capsys, "--no-progress", "--export", str(tmp_path / "model.pt"))
    assert code == 0, out + err
    assert float(ACCURACY.search(out).group(1)) >= 95.0


def test_demo_without_scikit_learn_says_what_to_install(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # import sklearn raises ImportError
    code, _, err = run_demo(capsys, "--epochs", "1")
    assert code == 2 and "pip install scikit-learn" in err


def test_demo_rejects_an_unknown_surrogate(capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main(["--surrogate", "relu"])
    assert exc.value.code == 2 and "unknown surrogate 'relu'" in capsys.readouterr().err


def test_demo_without_tqdm_prints_a_line_per_epoch(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm", None)
    code, _, err = run_demo(capsys, "--epochs", "2", "--export", str(tmp_path / "model.pt"))
    assert code == 0
    assert re.findall(r"epoch (\d)/2: loss=[\d.]+, acc=[\d.]+, test_acc=[\d.]+", err) == ["1", "2"]
