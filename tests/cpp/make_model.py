"""Scripts and saves the deployment test model and its data (input plus Python's outputs).

    python tests/cpp/make_model.py OUT_DIR

writes OUT_DIR/model.pt (a TorchScript spiking network: a conv/linear stack with surrogate
modules between layers, and an LIF recurrence in TorchScript calling a surrogate each step) and
OUT_DIR/data.pt (a scripted holder of `x`, `expected_y`, `expected_grad`), which the C++ example
(csrc/examples/run_scripted_model.cpp, run by ctest) and the fresh-process tests reload.
"""
import os
import sys
import warnings

import torch

import surrogate_ext as surrogate


class SpikingNet(torch.nn.Module):
    """Input [T, B, 1, 6, 6] -> conv -> surrogate -> linear -> LIF(T steps) -> linear -> mean over T."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 4, 3)
        self.sg_conv = surrogate.Sigmoid(alpha=4.0)
        self.fc1 = torch.nn.Linear(4 * 4 * 4, 16)
        self.sg_lif = surrogate.ATan()
        self.sg_out = surrogate.S2NN(spiking=False)
        self.fc2 = torch.nn.Linear(16, 3)

    def forward(self, x):
        T, B = x.size(0), x.size(1)
        h = self.sg_conv(self.conv(x.flatten(0, 1)) - 0.1).flatten(1)
        h = self.fc1(h).view(T, B, -1)
        v = torch.zeros_like(h[0])
        outputs = []
        for t in range(T):
            v = v + (h[t] - v) / 2.0
            spike = self.sg_lif(v - 0.5)
            v = v * (1.0 - spike)
            outputs.append(self.fc2(spike + self.sg_out(v)))
        return torch.stack(outputs).mean(0)


class Data(torch.nn.Module):
    def __init__(self, tensors):
        super().__init__()
        for name, t in tensors.items():
            setattr(self, name, t)

    def forward(self):
        return self.x


def make(out_dir: str, seed: int = 0):
    torch.manual_seed(seed)
    model = SpikingNet().double()
    x = torch.randn(4, 2, 1, 6, 6, dtype=torch.float64) * 2
    x_req = x.clone().requires_grad_(True)
    y = model(x_req)
    y.sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(model)
        os.makedirs(out_dir, exist_ok=True)
        scripted.save(os.path.join(out_dir, "model.pt"))
        data = torch.jit.script(Data({"x": x, "expected_y": y.detach(), "expected_grad": x_req.grad}))
        data.save(os.path.join(out_dir, "data.pt"))
    return x, y.detach(), x_req.grad


if __name__ == "__main__":
    make(sys.argv[1])
