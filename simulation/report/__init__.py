"""The comparison report: one self-contained HTML file (French or English) and its figures.

>>> from simulation.store import Store
>>> from simulation.report import write_report
>>> with Store("sqlite:///outputs/healthgap.db", create=False) as store:  # doctest: +SKIP
...     write_report(store, None, "fr", Path("outputs"))
PosixPath('outputs/report_1_fr.html')

Everything is read from the results store (:mod:`simulation.report.data`); the figures
(:mod:`simulation.report.figures`) are embedded in the page (:mod:`simulation.report.template`)
and also written as PNG and SVG files in ``out_dir/figures``. Files are written to a
temporary name and renamed, so a reader never sees a half-written report.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from ..labels import LANGS
from ..store import StoreError
from .strings import t

__all__ = ["ReportError", "write_report"]


class ReportError(StoreError):
    """The report cannot be written (output folder not writable, disk full): a one-line
    message, handled by the command line like a database problem (exit code 2)."""


def _atomic_write(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` through a temporary file in the same folder and
    ``os.replace``, so that ``path`` is either the old file or the whole new one."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_report(store: Any, comparison_id: int | None, lang: str, out_dir: Path) -> Path:
    """Write the report of comparison ``comparison_id`` (the latest when None) in ``lang``
    ("fr" or "en") as ``out_dir/report_<id>_<lang>.html``, with its figures as PNG and SVG
    in ``out_dir/figures``; returns the HTML path. Raises
    :class:`~simulation.store.StoreError` when the comparison is missing and
    :class:`ReportError` when the files cannot be written."""
    from .. import __version__
    from ..store import code_version
    from .data import gather
    from .figures import FIGURES, render
    from .template import page

    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, got {lang!r}")
    data = gather(store, comparison_id)
    out_dir = Path(out_dir)
    fig_dir = out_dir / "figures"
    cid = data.comparison_id
    try:
        fig_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ReportError(f"cannot write the report in {e.filename or out_dir}: "
                          f"{e.strerror or e}") from None
    figures: dict[str, tuple[str, bytes]] = {}
    rendered: list[tuple[str, bytes, bytes]] = []
    for stem, make, title_key in FIGURES:
        fig = make(data, lang)
        if fig is None:
            continue
        png, svg = render(fig)
        figures[stem] = (t(lang, title_key), svg)
        rendered.append((f"report_{cid}_{lang}_{stem}", png, svg))
    html_text = page(data, lang, figures, __version__, code_version())
    path = out_dir / f"report_{cid}_{lang}.html"
    try:
        for name, png, svg in rendered:
            _atomic_write(fig_dir / f"{name}.png", png)
            _atomic_write(fig_dir / f"{name}.svg", svg)
        _atomic_write(path, html_text.encode("utf-8"))
    except OSError as e:
        where = e.filename or out_dir
        raise ReportError(f"cannot write the report in {where}: {e.strerror or e}") from None
    return path
