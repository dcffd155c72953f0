"""Runs every ```python block of README.md and docs/*.md, each in a fresh namespace.

A block shows what it claims with its own asserts. Each runs in a temporary working directory,
so files it writes go there. An HTML comment on the line before the fence (invisible on the
rendered page) tells the test more, in clauses separated by ";":

    <!-- test: requires matplotlib, spikingjelly -->   skip, naming them, unless they import
    <!-- test: continues -->     run in the namespace (and folder) the previous block left
    <!-- test: skip REASON -->   never run it (say why)

A block that fails with ModuleNotFoundError for a package it did not declare fails, and the
message says to declare it.
"""
from __future__ import annotations

import glob
import importlib.util
import os
import re
from typing import NamedTuple

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_FENCE = re.compile(r"^```python[ \t]*$")
_DIRECTIVE = re.compile(r"^<!--\s*test:(.*?)-->\s*$")
_CLAUSE = re.compile(r"^(requires|skip|continues)\b\s*(.*)$")


def markdown_files():
    return [os.path.join(ROOT, "README.md")] + sorted(glob.glob(os.path.join(ROOT, "docs", "*.md")))


class Block(NamedTuple):
    line: int  # of the block's first code line
    code: str
    requires: tuple = ()
    skip: str | None = None
    continues: bool = False


def parse_directive(line: str) -> dict:
    """The clauses of a ``<!-- test: ... -->`` line, as Block fields ({} if it is not one)."""
    directive = _DIRECTIVE.match(line)
    if not directive:
        return {}
    fields = {}
    for clause in filter(None, (c.strip() for c in directive.group(1).split(";"))):
        match = _CLAUSE.match(clause)
        if not match:
            raise ValueError(f"unknown clause {clause!r} in {line.strip()!r}")
        word, rest = match.groups()
        if word == "requires":
            fields["requires"] = tuple(n.strip() for n in rest.split(",") if n.strip())
        elif word == "skip":
            fields["skip"] = rest or "marked skip"
        else:
            fields["continues"] = True
    return fields


def python_blocks(path) -> list[Block]:
    """The ```python blocks of a Markdown file, with their directives."""
    lines = open(path, encoding="utf-8").read().splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if not _FENCE.match(lines[i]):
            i += 1
            continue
        fields = parse_directive(lines[i - 1]) if i > 0 else {}
        end = i + 1
        while end < len(lines) and not lines[end].startswith("```"):
            end += 1
        if end == len(lines):
            raise ValueError(f"{path}:{i + 1}: ```python block is never closed")
        blocks.append(Block(i + 2, "\n".join(lines[i + 1:end]) + "\n", **fields))
        i = end + 1
    return blocks


def _cases():
    for path in markdown_files():
        blocks = python_blocks(path)
        for k, block in enumerate(blocks):
            # A continued block runs after the blocks it continues, in their namespace.
            first = k
            while blocks[first].continues and first > 0:
                first -= 1
            yield pytest.param(path, blocks[first:k + 1], id=f"{os.path.relpath(path, ROOT)}:{block.line}")


# (file, block line) -> (namespace, working directory) the block left, for the blocks that continue it
_LEFT = {}


@pytest.mark.parametrize("path,chain", list(_cases()))
def test_markdown_python_block(path, chain, tmp_path, monkeypatch):
    block = chain[-1]
    for earlier in chain:
        if earlier.skip:
            pytest.skip(earlier.skip if earlier is block else f"continues a skipped block: {earlier.skip}")
    requires = [name for b in chain for name in b.requires]
    missing = [name for name in requires if importlib.util.find_spec(name.split(".")[0]) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)}, not installed")
    # Start after the last block of the chain that already ran in this session, if any.
    namespace, directory, to_run = {"__name__": "__readme__"}, tmp_path, chain
    for k in range(len(chain) - 2, -1, -1):
        if (path, chain[k].line) in _LEFT:
            namespace, directory = _LEFT[(path, chain[k].line)]
            namespace, to_run = dict(namespace), chain[k + 1:]
            break
    monkeypatch.chdir(directory)
    for b in to_run:
        where = f"{os.path.relpath(path, ROOT)}:{b.line}"
        # Blank lines before the code, so that a traceback names the line in the file.
        compiled = compile("\n" * (b.line - 1) + b.code, path, "exec")
        try:
            exec(compiled, namespace)
        except ModuleNotFoundError as e:
            top = (e.name or "").split(".")[0]
            raise AssertionError(
                f"{where} imports {e.name!r}: if it is an optional package, declare it with "
                f"<!-- test: requires {top} --> on the line before the fence") from e
        _LEFT[(path, b.line)] = (dict(namespace), directory)


def test_blocks_are_found(tmp_path):
    """The parser finds blocks, their first line, the directives, and nothing in other fences."""
    doc = tmp_path / "doc.md"
    doc.write_text("text\n```python\na = 1\n```\n```bash\necho no\n```\n"
                   "<!-- test: requires matplotlib, spikingjelly -->\n```python\nb = 2\nc = 3\n```\n"
                   "<!-- test: skip needs a GPU -->\n```python\nd = 4\n```\n"
                   "<!-- test: continues; requires onnx -->\n```python\ne = d\n```\n")
    assert python_blocks(str(doc)) == [
        Block(3, "a = 1\n"),
        Block(10, "b = 2\nc = 3\n", requires=("matplotlib", "spikingjelly")),
        Block(15, "d = 4\n", skip="needs a GPU"),
        Block(19, "e = d\n", continues=True, requires=("onnx",)),
    ]
    with pytest.raises(ValueError, match="unknown clause"):
        parse_directive("<!-- test: require numpy -->")


def test_readme_has_python_blocks():
    assert python_blocks(os.path.join(ROOT, "README.md")), "README.md has no ```python block"
