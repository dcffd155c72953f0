"""Both CPU kernel builds: the AVX2 one (when the CPU has it) and the portable one, which
ATEN_CPU_CAPABILITY=default selects. The portable build runs the self-check in a subprocess."""
import os
import subprocess
import sys

import surrogate_ext


def test_reported_capability():
    assert surrogate_ext.build_info()["cpu_capability"] in ("avx2", "default")


def test_portable_kernels_agree_with_reference():
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default", PYTHONPATH=os.pathsep.join(sys.path))
    code = ("import sys, surrogate_ext; from surrogate_ext.cli import selfcheck; "
            "assert surrogate_ext.build_info()['cpu_capability'] == 'default'; "
            "sys.exit(selfcheck.main(['--n', '4099']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all surrogates agree with the reference" in proc.stdout


def test_portable_neuron_kernels_agree_with_reference():
    """The neuron engine's portable kernels: every family's forward bit for bit against the
    reference step (float32 and float64), its backward against the float64 oracle, and its step
    operator (tests/core/test_neurons.py, run under ATEN_CPU_CAPABILITY=default)."""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, ATEN_CPU_CAPABILITY="default", PYTHONPATH=os.pathsep.join(sys.path))
    code = ("import sys, pytest, surrogate_ext; "
            "assert surrogate_ext.build_info()['cpu_capability'] == 'default'; "
            f"sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', '-p', 'no:xdist', '{here}/test_neurons.py', "
            "'-k', 'forward_equals or backward_matches or step_is_one or every_surrogate']))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          cwd=os.path.dirname(here), timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and " failed" not in proc.stdout
