"""The one writer of the benchmarks' results files (``bench/results/*.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_results(path: Path | str, results: Any, *, echo: bool = True) -> Path:
    """Write ``results`` as indented UTF-8 JSON (non-ASCII kept as is, a final newline) to
    ``path``, making its folder if needed, and print the same JSON unless ``echo`` is false.

    Returns
    -------
    Path
        ``path`` as a :class:`~pathlib.Path`.
    """
    path = Path(path)
    text = json.dumps(results, indent=2, ensure_ascii=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text + "\n", encoding="utf-8")
    if echo:
        print(text)
    return path
