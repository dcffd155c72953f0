"""The command line: `surrogate-ext` (pyproject's console script) and `python -m surrogate_ext`
list the subcommands, and every subcommand explains itself: its program name, the help and
default of every option, and how long its default run takes."""
import argparse
import importlib
import os
import re
import subprocess
import sys

import pytest

from surrogate_ext import cli
from surrogate_ext.cli import options as _cli

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def subcommands():
    """(the words after surrogate-ext, module name) of every program."""
    for name, entry in cli.COMMANDS.items():
        if isinstance(entry, dict):
            for sub, (module, _) in entry.items():
                yield (name, sub), module
        else:
            yield (name,), entry[0]


SUBCOMMANDS = list(subcommands())


def test_every_program_module_has_a_subcommand():
    modules = {m[:-3] for m in os.listdir(os.path.dirname(cli.__file__))
               if m.endswith(".py") and m not in ("__init__.py", "options.py", "peer_imports.py")}
    assert modules == {module for _, module in SUBCOMMANDS}


def help_of(words, monkeypatch, capsys):
    """The parser a subcommand builds and the text of its --help, through cli.main."""
    built = []

    def recording_parser(*args, **kwargs):
        built.append(_cli_parser(*args, **kwargs))
        return built[-1]

    _cli_parser = _cli.parser
    monkeypatch.setattr(_cli, "parser", recording_parser)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(list(words) + ["--help"])
    assert exit_info.value.code == 0
    assert len(built) == 1
    return built[0], capsys.readouterr().out


@pytest.mark.parametrize("words,module", SUBCOMMANDS, ids=lambda w: " ".join(w) if isinstance(w, tuple) else w)
def test_help_names_the_program_every_option_and_the_run_time(words, module, monkeypatch, capsys):
    parser, text = help_of(words, monkeypatch, capsys)
    assert text.startswith(f"usage: surrogate-ext {' '.join(words)} ")
    assert re.search(r"The default run takes (about )?\d", text)
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            continue
        assert action.help, f"{words}: {action.option_strings} has no help text"
        if action.default is not None and action.default is not False and "(default:" not in action.help:
            formatted = parser.formatter_class("prog")._get_help_string(action) % vars(action)
            assert f"(default: {action.default})" in formatted, (words, action.option_strings)


def test_help_formatter_shows_defaults_but_not_for_flags():
    parser = _cli.parser("surrogate-ext example", "Example.\n\n    surrogate-ext example [--n 3]\n\nMore.", "1 s")
    parser.add_argument("--n", type=int, default=3, help="a number")
    parser.add_argument("--seed", type=int, default=0, help="a seed")
    parser.add_argument("--flag", action="store_true", help="a flag")
    parser.add_argument("--path", help="a path")
    text = parser.format_help()
    assert "a number (default: 3)" in text and "a seed (default: 0)" in text
    assert "a flag\n" in text and "a path\n" in text
    assert "Example.\n\nMore." in text and "[--n 3]" not in text  # the docstring's usage line is dropped
    assert text.rstrip().endswith("The default run takes 1 s.")


def test_groups_list_their_commands(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for name, entry in cli.COMMANDS.items():
        assert re.search(rf"^    {name}\b", text, re.M), name
    with pytest.raises(SystemExit):
        cli.main(["bench", "--help"])
    text = capsys.readouterr().out
    assert text.startswith("usage: surrogate-ext bench ")
    for name in cli.COMMANDS["bench"]:
        assert re.search(rf"^    {name}\b", text, re.M), name


@pytest.mark.parametrize("argv,message", [([], "a command is required"),
                                          (["bench"], "a command is required"),
                                          (["nonsense"], "invalid choice: 'nonsense'"),
                                          (["bench", "nonsense"], "invalid choice: 'nonsense'")])
def test_a_missing_or_unknown_command_is_an_error(argv, message, capsys):
    try:
        status = cli.main(argv)
    except SystemExit as e:
        status = e.code
    assert status == 2
    assert message in capsys.readouterr().err


def console_script():
    """The `surrogate-ext` script beside this Python (pip's, or dev.sh's from pyproject)."""
    path = os.path.join(os.path.dirname(sys.executable), "surrogate-ext")
    assert os.path.exists(path), (f"{path} is missing: `pip install .` or `bash dev.sh build` "
                                  "writes it from pyproject.toml's [project.scripts]")
    return path


def test_pyproject_names_the_entry_point():
    text = open(os.path.join(ROOT, "pyproject.toml")).read()
    assert re.search(r'^\[project\.scripts\]\nsurrogate-ext = "surrogate_ext\.cli:main"$', text, re.M)


@pytest.mark.parametrize("command", [[console_script.__name__], [sys.executable, "-m", "surrogate_ext"]],
                         ids=["surrogate-ext", "python -m surrogate_ext"])
def test_the_command_lists_the_subcommands_and_runs_them(command):
    if command == [console_script.__name__]:
        command = [console_script()]
    prog = "surrogate-ext" if len(command) == 1 else "python -m surrogate_ext"
    result = subprocess.run(command + ["--help"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {prog} ")
    assert all(name in result.stdout for name in cli.COMMANDS)
    result = subprocess.run(command + ["selfcheck", "--help"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {prog} selfcheck ")
