"""The plot program draws every surrogate, and the gallery of docs/spikingjelly.md is its current
output."""
import re
import sys
from pathlib import Path

import pytest

from surrogate_ext import registry
from surrogate_ext.cli import plot

ROOT = Path(__file__).resolve().parents[2]
GALLERY = ROOT / "docs" / "gallery"


@pytest.mark.parametrize("fmt", ["svg", "png"])
def test_plot_writes_the_named_surrogates(tmp_path, capsys, fmt):
    pytest.importorskip("matplotlib")
    assert plot.main(["--out", str(tmp_path), "--format", fmt,
                      "--surrogate", "atan", "--surrogate", "piecewise_leaky_relu"]) == 0
    written = [tmp_path / f"atan.{fmt}", tmp_path / f"piecewise_leaky_relu.{fmt}"]
    assert capsys.readouterr().out.split() == [str(p) for p in written]
    assert sorted(tmp_path.iterdir()) == sorted(written)
    for path in written:
        assert path.stat().st_size > 5000
    if fmt == "svg":
        text = written[0].read_text()
        assert "ATan(alpha=2.0)" in text and "gradient g'(x)" in text
    else:
        assert written[0].read_bytes().startswith(b"\x89PNG")


def test_plot_without_matplotlib_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    with pytest.raises(SystemExit, match="pip install matplotlib"):
        plot.main(["--out", str(tmp_path), "--surrogate", "atan"])
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_gallery_page_shows_each_surrogate(entry):
    image = f"gallery/{entry.op}.svg"  # relative to docs/spikingjelly.md
    assert (ROOT / "docs" / image).is_file()
    assert f"]({image})" in (ROOT / "docs" / "spikingjelly.md").read_text()


@pytest.fixture(scope="module")
def redrawn(tmp_path_factory):
    matplotlib = pytest.importorskip("matplotlib")
    drawn_with = re.search(r"Matplotlib v(\S+),", (GALLERY / "atan.svg").read_text()).group(1)
    if drawn_with != matplotlib.__version__:
        pytest.skip(f"docs/gallery was drawn with matplotlib {drawn_with}, this is "
                    f"{matplotlib.__version__}: redraw it with `surrogate-ext plot`")
    out = tmp_path_factory.mktemp("gallery")
    with matplotlib.rc_context({"lines.linewidth": 3.0, "font.size": 14.0}):  # a user's settings
        plot.main(["--out", str(out)])
    return out


@pytest.mark.parametrize("entry", registry.SURROGATES, ids=lambda e: e.op)
def test_gallery_is_current(redrawn, entry):
    name = f"{entry.op}.svg"
    assert (redrawn / name).read_bytes() == (GALLERY / name).read_bytes(), (
        f"docs/gallery/{name} is out of date: redraw it with `surrogate-ext plot`")
