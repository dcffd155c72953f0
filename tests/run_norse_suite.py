"""Runs Norse 1.1.0's own test files three ways and prints the counts:

* ``peer``: as they are;
* ``thresholds``: every test within ``surrogate_ext.norse.native_thresholds()``;
* ``neurons``: the same, and Norse's ``LIFCell``, ``LIF``, ``LIFBoxCell``, ``LICell`` and ``LI``
  replaced by ours everywhere Norse (and its tests) reach them by name.

    python tests/run_norse_suite.py [--tests DIR] [--only functional/test/test_lif.py,...] [-k EXPR]

The test files are Norse's at the tag v1.1.0: by default those the release ships inside the
installed ``norse`` package (``norse/torch/**/test/test_*.py``; the script checks the version), or
those of a checkout of the tag (``git clone --branch v1.1.0 https://github.com/norse/norse``) given
with ``--tests``: the ``norse`` directory holding ``torch/``. The tests run on the package that
imports as ``norse`` (the installed one). Printed: passed and failed per mode, the tests that fail
on the peer (and whether they also fail with ours), and those that fail only with ours, with the
first line of each one's error.

Not a test of this project's suite (its name does not start with test_): a program that prints a
table, to run by hand.
"""
from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile

PLUGIN = '''
import os
import pytest

MODE = os.environ["SURROGATE_EXT_NORSE_SUITE"]
NEURONS = ("LIFCell", "LIF", "LIFBoxCell", "LICell", "LI")

if MODE == "neurons":  # before the test modules import them by name
    import sys
    import norse.torch
    import surrogate_ext.norse as ours
    originals = {id(getattr(norse.torch, n)): n for n in NEURONS}
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "norse" or name.startswith("norse.")):
            continue
        for attr, value in list(vars(module).items()):
            if originals.get(id(value)) == attr:
                setattr(module, attr, getattr(ours, attr))


@pytest.fixture(autouse=True)
def _surrogate_ext_mode():
    if MODE == "peer":
        yield
        return
    import surrogate_ext.norse as ours
    with ours.native_thresholds():
        yield
'''

MODES = ("peer", "thresholds", "neurons")
DIRECTORIES = ("torch/functional/test", "torch/module/test", "torch/utils/test")


def norse_tests(directory: pathlib.Path, only) -> list:
    files = []
    for sub in DIRECTORIES:
        files += sorted((directory / sub).glob("test_*.py"))
    if only:
        files = [f for f in files if any(str(f).endswith(o) for o in only)]
    return files


def run(mode: str, files: list, keyword: str, plugin_dir: str) -> dict:
    """{test id: (outcome, first line of the error)} of one mode (from pytest's JUnit XML). The
    tests run in a scratch directory: the files some of them write land there."""
    import xml.etree.ElementTree as ElementTree
    with tempfile.TemporaryDirectory() as tmp:
        report = pathlib.Path(tmp) / "report.xml"
        env = dict(os.environ, SURROGATE_EXT_NORSE_SUITE=mode,
                   PYTHONPATH=os.pathsep.join([plugin_dir] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        cmd = [sys.executable, "-m", "pytest", "-q", "-p", "norse_suite_plugin", "-p", "no:cacheprovider", "--continue-on-collection-errors",
               "--rootdir", tmp, "-o", "addopts=", "-o", "junit_family=xunit1", "--junitxml", str(report)] + [str(f) for f in files]
        if keyword:
            cmd += ["-k", keyword]
        subprocess.run(cmd, env=env, cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        results = {}
        if report.exists():
            for case in ElementTree.parse(report).iter("testcase"):
                where = case.get("file") or case.get("classname") or ""
                test = f"{where.split('site-packages/')[-1]}::{case.get('name')}"
                outcome, message = "passed", ""
                for child in case:
                    if child.tag in ("failure", "error"):
                        outcome, message = "failed", (child.get("message") or "").strip().splitlines()[:1]
                        message = message[0] if message else ""
                    elif child.tag == "skipped":
                        outcome = "skipped"
                results[test] = (outcome, message)
        return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tests", type=pathlib.Path, help="the norse/ directory of a v1.1.0 checkout")
    parser.add_argument("--only", default="", help="comma-separated test file suffixes to run")
    parser.add_argument("-k", default="", help="pytest's -k expression")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    import norse
    version = getattr(norse, "__version__", None)
    if version is None:
        from importlib.metadata import version as _version
        version = _version("norse")
    if version != "1.1.0":
        print(f"Norse {version} is installed; these counts are meant for 1.1.0", file=sys.stderr)
    directory = args.tests or pathlib.Path(norse.__file__).parent
    files = norse_tests(directory, [o for o in args.only.split(",") if o])
    if not files:
        parser.error(f"no test files under {directory}")
    with tempfile.TemporaryDirectory() as plugin_dir:
        (pathlib.Path(plugin_dir) / "norse_suite_plugin.py").write_text(PLUGIN)
        results = {mode: run(mode, files, args.k, plugin_dir) for mode in MODES}
    print(f"Norse {version}'s tests ({len(files)} files under {directory}):")
    print(f"  {'mode':<12} {'passed':>7} {'failed':>7} {'skipped':>8}")
    for mode in MODES:
        outcomes = [o for o, _ in results[mode].values()]
        print(f"  {mode:<12} {outcomes.count('passed'):>7} {outcomes.count('failed'):>7} {outcomes.count('skipped'):>8}")
    failing = {mode: sorted(t for t, (o, _) in results[mode].items() if o == "failed") for mode in MODES}
    print(f"\nfailing on the peer ({len(failing['peer'])}), and in which other modes:")
    for t in failing["peer"]:
        also = [m for m in MODES[1:] if t in failing[m]]
        print(f"  {t} [{', '.join(also) or 'passes with ours'}]: {results['peer'][t][1][:160]}")
    for mode in MODES[1:]:
        only = [t for t in failing[mode] if results["peer"].get(t, ("failed",))[0] != "failed"]
        print(f"\nfailing only with {mode} ({len(only)}):")
        for t in only:
            print(f"  {t}: {results[mode][t][1][:160]}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({m: {t: list(r) for t, r in results[m].items()} for m in MODES}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
