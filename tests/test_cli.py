"""Every `python -m surrogate_ext.<program>` explains itself: prog name, help and default of every
option, and how long its default run takes."""
import argparse
import importlib
import os
import re
import subprocess
import sys

import pytest

from surrogate_ext import _cli

PROGRAMS = ["bench", "bench_neuron", "demo", "plot", "selfcheck"]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def help_of(program, monkeypatch, capsys):
    """The parser a program builds and the text of its --help."""
    built = []

    def recording_parser(*args, **kwargs):
        built.append(_cli_parser(*args, **kwargs))
        return built[-1]

    _cli_parser = _cli.parser
    monkeypatch.setattr(_cli, "parser", recording_parser)
    module = importlib.import_module(f"surrogate_ext.{program}")
    with pytest.raises(SystemExit) as exit_info:
        module.main(["--help"])
    assert exit_info.value.code == 0
    assert len(built) == 1
    return built[0], capsys.readouterr().out


@pytest.mark.parametrize("program", PROGRAMS)
def test_help_names_the_program_every_option_and_the_run_time(program, monkeypatch, capsys):
    parser, text = help_of(program, monkeypatch, capsys)
    assert text.startswith(f"usage: python -m surrogate_ext.{program} ")
    assert re.search(r"The default run takes about \d", text)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{program}: {action.option_strings} has no help text"
        if action.default is not None and action.default is not False and "(default:" not in action.help:
            formatted = parser.formatter_class("prog")._get_help_string(action) % vars(action)
            assert f"(default: {action.default})" in formatted, (program, action.option_strings)


def test_help_formatter_shows_defaults_but_not_for_flags():
    parser = _cli.parser("surrogate_ext.example", "Example.\n\n    python -m surrogate_ext.example [--n 3]\n\nMore.", "1 s")
    parser.add_argument("--n", type=int, default=3, help="a number")
    parser.add_argument("--seed", type=int, default=0, help="a seed")
    parser.add_argument("--flag", action="store_true", help="a flag")
    parser.add_argument("--path", help="a path")
    text = parser.format_help()
    assert "a number (default: 3)" in text and "a seed (default: 0)" in text
    assert "a flag\n" in text and "a path\n" in text
    assert "Example.\n\nMore." in text and "[--n 3]" not in text  # the docstring's usage line is dropped
    assert text.rstrip().endswith("The default run takes 1 s.")


def test_module_entry_point_runs():
    """`python -m` runs main: the usage line is the documented command."""
    result = subprocess.run([sys.executable, "-m", "surrogate_ext.selfcheck", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: python -m surrogate_ext.selfcheck ")
