"""Deployment routes: TorchScript reloaded in a fresh process, torch.export save/load, AOTInductor."""
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import surrogate_ext
from conftest import make_module
from surrogate_ext import registry

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cpp"))
import make_model  # noqa: E402


def run_python(code: str) -> subprocess.CompletedProcess:
    """Runs code in a fresh interpreter (same sys.path), returns the finished process."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                          text=True, env=env, timeout=600)


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("deployment_model")
    make_model.make(str(out))
    return out


CHECK_RELOADED = """
    import torch
    {load}
    model = torch.jit.load(r"{dir}/model.pt")
    data = torch.jit.load(r"{dir}/data.pt")
    x = data.x.clone().requires_grad_(True)
    y = model(x)
    y.sum().backward()
    assert torch.equal(y, data.expected_y), (y - data.expected_y).abs().max()
    assert torch.equal(x.grad, data.expected_grad), (x.grad - data.expected_grad).abs().max()
    assert x.grad.abs().sum() > 0
    print("MATCH")
"""


def test_scripted_model_reloads_in_fresh_process_after_import(saved_model):
    proc = run_python(CHECK_RELOADED.format(load="import surrogate_ext", dir=saved_model))
    assert proc.returncode == 0 and "MATCH" in proc.stdout, proc.stderr


def test_scripted_model_reloads_with_load_library_only(saved_model):
    """No surrogate_ext Python code: the .so alone brings the ops and their C++ autograd."""
    load = f"torch.ops.load_library(r'{surrogate_ext.library_path()}')"
    proc = run_python(CHECK_RELOADED.format(load=load, dir=saved_model))
    assert proc.returncode == 0 and "MATCH" in proc.stdout, proc.stderr


def test_loading_without_the_library_fails_with_unknown_op(saved_model):
    proc = run_python(f'import torch; torch.jit.load(r"{saved_model}/model.pt")')
    assert proc.returncode != 0
    assert "Unknown builtin op: surrogate_ext::" in proc.stderr


class ConvStack(torch.nn.Module):
    def __init__(self, entry):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)
        self.spike = make_module(entry)
        self.fc = torch.nn.Linear(2 * 4 * 4, 3)
        self.primitive = make_module(entry, spiking=False)

    def forward(self, x):
        return self.primitive(self.fc(self.spike(self.conv(x)).flatten(1)))


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_export_save_load_roundtrip(entry, tmp_path):
    torch.manual_seed(0)
    model = ConvStack(entry)
    x = torch.randn(2, 1, 6, 6)
    batch = torch.export.Dim("batch")
    exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: batch}})
    path = tmp_path / "model.pt2"
    torch.export.save(exported, str(path))
    reloaded = torch.export.load(str(path))
    x5 = torch.randn(5, 1, 6, 6)
    torch.testing.assert_close(reloaded.module()(x5), model(x5), rtol=0, atol=0)


def test_export_load_in_fresh_process(tmp_path):
    torch.manual_seed(0)
    model = ConvStack(registry.BY_OP["atan"])
    x = torch.randn(3, 1, 6, 6)
    exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    torch.export.save(exported, str(tmp_path / "model.pt2"))
    torch.save({"x": x, "y": model(x).detach()}, str(tmp_path / "io.pt"))
    proc = run_python(f"""
        import torch, surrogate_ext
        program = torch.export.load(r"{tmp_path}/model.pt2")
        io = torch.load(r"{tmp_path}/io.pt")
        assert torch.equal(program.module()(io["x"]), io["y"])
        print("MATCH")
    """)
    assert proc.returncode == 0 and "MATCH" in proc.stdout, proc.stderr


def test_aot_inductor_package(tmp_path):
    """AOTInductor compiles a model with the custom ops (called through the dispatcher)."""
    torch.manual_seed(0)
    model = ConvStack(registry.BY_OP["sigmoid"])
    x = torch.randn(2, 1, 6, 6)
    exported = torch.export.export(model, (x,), dynamic_shapes={"x": {0: torch.export.Dim("batch")}})
    package = torch._inductor.aoti_compile_and_package(exported, package_path=str(tmp_path / "m.pt2"))
    runner = torch._inductor.aoti_load_package(package)
    x5 = torch.randn(5, 1, 6, 6)
    torch.testing.assert_close(runner(x5), model(x5))
