"""The argument parser every ``surrogate-ext`` subcommand shares."""
from __future__ import annotations

import argparse
import textwrap


class _HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description's layout and appends each option's default to its help, unless
    the help already says it or there is none to say (flags, options without a default)."""

    def _get_help_string(self, action):
        text = action.help or ""
        # `is`, not `in (None, False)`: a default of 0 is worth showing.
        if ("%(default)" in text or action.default is None or action.default is False
                or action.default == argparse.SUPPRESS or not action.option_strings):
            return text
        return text + " (default: %(default)s)"


def add_benchmark_options(parser: argparse.ArgumentParser, repeats: int) -> None:
    """The options both benchmarks share: repeats, device, --json and --no-progress."""
    parser.add_argument("--repeats", type=int, default=repeats,
                        help="timed rounds (each runs every variant once); medians are quoted")
    parser.add_argument("--device", default="cpu", help="cpu or cuda (times from CUDA events)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def parser(prog: str, doc: str, default_run: str) -> argparse.ArgumentParser:
    """A parser for the subcommand ``prog`` (``surrogate-ext bench compile``): the module
    docstring as description (its usage line dropped, since argparse prints its own), and how
    long the default run takes as epilog."""
    paragraphs = doc.strip().split("\n\n")
    description = "\n\n".join(p for p in paragraphs if not p.lstrip().startswith("surrogate-ext "))
    return argparse.ArgumentParser(prog=prog, description=description,
                                   epilog=textwrap.fill(f"The default run takes {default_run}.", 79),
                                   formatter_class=_HelpFormatter)
