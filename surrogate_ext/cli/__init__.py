"""The programs, behind one command: ``surrogate-ext`` (or ``python -m surrogate_ext``).

    surrogate-ext demo                      trains a spiking network on scikit-learn's digits
    surrogate-ext bench ops|compile|neuron|train  the benchmarks
    surrogate-ext plot                      draws the surrogate gallery
    surrogate-ext selfcheck                 native operators against the float64 reference

Each subcommand is a module here with ``main(argv, prog)``; :data:`COMMANDS` maps the command
line onto them, and ``surrogate-ext <command> --help`` prints the subcommand's own options, their
defaults and how long its default run takes.
"""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Dict, Optional, Sequence, Tuple, Union

PROG = "surrogate-ext"

# command -> (module, one-line help), or -> {subcommand: (module, help)} for a group
Command = Tuple[str, str]
COMMANDS: Dict[str, Union[Command, Dict[str, Command]]] = {
    "demo": ("demo", "train a spiking network on scikit-learn's digits, export it with "
                     "TorchScript and check the reloaded model"),
    "bench": {
        "ops": ("bench", "the surrogate operators: native vs the reference vs a same-bytes "
                         "torch op"),
        "compile": ("bench_compile", "under torch.compile: our surrogates vs pure-PyTorch ones, "
                                     "and the fused neurons compiled vs eager"),
        "neuron": ("bench_neuron", "the fused multi-step neurons vs the step-by-step torch "
                                   "backend"),
        "train": ("bench_train", "a training step of the peers' tutorial networks: the peer, the "
                                 "peer with our surrogate, our neurons"),
    },
    "plot": ("plot", "draw each surrogate's step, primitive and gradient (docs/gallery)"),
    "selfcheck": ("selfcheck", "every surrogate's native operators against the float64 "
                               "reference, as a table"),
}

BENCH_HELP = "benchmarks (ops, compile, neuron, train); 'surrogate-ext bench <name> --help'"


def _group_parser(prog: str, commands: Dict[str, Union[Command, Dict[str, Command]]],
                  description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", metavar="command", title="commands")
    for name, entry in commands.items():
        sub.add_parser(name, help=BENCH_HELP if isinstance(entry, dict) else entry[1],
                       add_help=False)
    return parser


def main(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> int:
    """Runs ``surrogate-ext <command> [<subcommand>] [options]``; returns its exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    commands: Dict[str, Union[Command, Dict[str, Command]]] = COMMANDS
    description = ("surrogate_ext's programs. '" + PROG + " <command> --help' gives a "
                   "command's options, their defaults and how long its default run takes.")
    while True:
        parser = _group_parser(prog, commands, description)
        if not argv or argv[0].startswith("-"):
            parser.parse_args(argv)  # --help prints and exits; anything else is an error
            parser.print_usage(sys.stderr)
            print(f"{prog}: error: a command is required", file=sys.stderr)
            return 2
        name, argv = argv[0], argv[1:]
        if name not in commands:
            parser.parse_args([name])  # exits with argparse's "invalid choice" message
        entry = commands[name]
        prog = f"{prog} {name}"
        if isinstance(entry, dict):
            commands, description = entry, BENCH_HELP
            continue
        module = importlib.import_module(f"{__name__}.{entry[0]}")
        return int(module.main(argv, prog=prog) or 0)
