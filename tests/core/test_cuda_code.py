"""The CUDA snippets of surrogate_ext.core.cuda_code: structure, float literals, and values once compiled by nvcc."""
import math
import os
import re
import shutil
import subprocess

import pytest
import torch

from surrogate_ext import registry, reference
from surrogate_ext.core import cuda_code

# A non-default parameter set per surrogate, ints where the schema says float (the literals must
# still be valid C); alpha=3 for every surrogate with only alpha.
OTHER = {"piecewise_leaky_relu": (2, 0.1), "squarewave_fourier_series": (4, 6), "s2nn": (3, 0.5),
         "leaky_k_relu": (0.1, 2), "deterministic_pass": (), "spike_rate_escape": (2, 10),
         "sparse_fast_sigmoid": (10, -0.5), "multi_level_spike_count": (3, -0.5, 2.5)}
CASES = [(e, p) for e in registry.SURROGATES for p in (e.example_params, OTHER.get(e.op, (3,)))]
CASES.append((registry.BY_OP["squarewave_fourier_series"], (1, 8.0)))  # n == 1: g' = 0
IDS = [f"{e.op}{p}" for e, p in CASES]
NVCC = shutil.which("nvcc") or next((p for p in ["/usr/local/cuda/bin/nvcc"] if os.path.exists(p)), None)


def snippet(entry, params, dtype, x="x", y="y"):
    return cuda_code.cuda_code(entry.op, params, x, y, dtype, f"sg_{entry.cls}",
                               f"// start: {entry.cls}.cuda_code", f"// end: {entry.cls}.cuda_code")


@pytest.mark.parametrize("dtype,ctype", [("fp32", "float"), ("fp16", "half2")])
@pytest.mark.parametrize("entry,params", CASES, ids=IDS)
def test_snippet_structure(entry, params, dtype, ctype):
    code = snippet(entry, params, dtype, x="v", y="grad")
    lines = code.splitlines()
    assert lines[0] == f"// start: {entry.cls}.cuda_code"
    assert lines[-1] == f"// end: {entry.cls}.cuda_code"
    assert len(re.findall(rf"^const {ctype} grad = ", code, re.M)) == 1
    declared = [name.strip() for names in re.findall(r"\b(?:float|float2|half2)\s+([\w\s,]+?)\s*[=;]", code)
                for name in names.split(",")]
    assert declared and all(n == "grad" or n.startswith(f"sg_{entry.cls}_") for n in declared), declared
    with pytest.raises(ValueError, match="bf16"):
        snippet(entry, params, "bf16")


@pytest.mark.parametrize("value,literal", [
    (2, "2.0f"), (0.01, "0.01f"), (1e-5, "1e-05f"), (10 ** 20, "1e+20f"), (-0.5, "(-0.5f)"),
    (math.inf, "INFINITY"), (-math.inf, "(-INFINITY)"), (math.nan, "NAN"),
])
def test_float_literal(value, literal):
    assert cuda_code.float_literal(value) == literal


@pytest.fixture(scope="module")
def program(tmp_path_factory):
    """All the snippets in one .cu file, compiled once: (executable, nvcc's CompletedProcess)."""
    if NVCC is None:
        pytest.skip("nvcc not found")
    parts = ["#include <cstdio>", "#include <cuda_fp16.h>"]
    for k, (entry, params) in enumerate(CASES):
        parts.append(f"__host__ __device__ float f{k}(float x) {{\n{snippet(entry, params, 'fp32')}return y;\n}}")
        parts.append(f"__device__ half2 h{k}(half2 x) {{\n{snippet(entry, params, 'fp16')}return y;\n}}")
    calls = "".join(f"    y[{len(CASES)} * i + {k}] = h{k}(x[i]);\n" for k in range(len(CASES)))
    parts.append(f"__global__ void fp16_snippets(const half2* x, half2* y) {{\n"
                 f"    const int i = threadIdx.x;\n{calls}}}")
    prints = " ".join(f'printf("%.9g ", f{k}(x));' for k in range(len(CASES)))
    parts.append(f'int main() {{\n    float x;\n    while (scanf("%f", &x) == 1) {{ {prints} printf("\\n"); }}\n}}')
    folder = tmp_path_factory.mktemp("cuda_code")
    (folder / "prog.cu").write_text("\n\n".join(parts) + "\n")
    proc = subprocess.run([NVCC, "-O2", "-arch=sm_90", "-o", "prog", "prog.cu"], cwd=folder,
                          capture_output=True, text=True)
    return folder / "prog", proc


def inputs(params):
    """A grid on [-3, 3] plus 0, -0, -1, +-p and +-1/p for each parameter (the breakpoints), large
    values, infinities and NaN; as float32 values."""
    special = [0.0, -0.0, -1.0, 1e3, -1e3, math.inf, -math.inf, math.nan]
    special += [s * v for p in params if p for v in (p, 1 / p) for s in (1, -1)]
    return torch.cat([torch.linspace(-3, 3, 601), torch.tensor(special)]).float()


@pytest.mark.parametrize("k", range(len(CASES)), ids=IDS)
def test_fp32_snippet_matches_reference(program, k):
    exe, proc = program
    assert proc.returncode == 0, f"nvcc failed:\n{proc.stderr}"
    entry, params = CASES[k]
    x = inputs(params)
    out = subprocess.run([str(exe)], input="\n".join(repr(v) for v in x.tolist()),
                         capture_output=True, text=True, check=True).stdout
    got = torch.tensor([float(line.split()[k]) for line in out.splitlines()], dtype=torch.float64)
    expected = getattr(reference, f"{entry.op}_grad")(x.double(), *params)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6, equal_nan=True,
                               msg=lambda m: f"{entry.op}{params}: {m}")
    # and with the native CPU kernel on the same float32 inputs (away from |x| = 1e3, where
    # float32 argument rounding in the kernel's cos((2i-1) w x) dominates)
    near = x.abs() < 100
    kernel = getattr(torch.ops.surrogate_ext, entry.op + "_backward")(torch.ones_like(x), x, *params)
    torch.testing.assert_close(got[near], kernel.double()[near], rtol=1e-5, atol=2e-6, equal_nan=True,
                               msg=lambda m: f"{entry.op}{params} vs kernel: {m}")
