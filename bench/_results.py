"""Where the CPU benchmarks write their numbers: bench/results/<stem>-<hostname>.json."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any


def write_results(stem: str, out: Path | None, results: list[dict], **meta: Any) -> Path:
    """Write {"meta": ..., "results": ...} to `out` (default bench/results/STEM-HOST.json);
    the meta holds the host name and the date besides `meta`. Returns the path."""
    host = socket.gethostname()
    out = out or Path(__file__).parent / "results" / f"{stem}-{host}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    head = {"hostname": host, "date": time.strftime("%Y-%m-%d %H:%M:%S"), **meta}
    out.write_text(json.dumps({"meta": head, "results": results}, indent=2) + "\n")
    print(f"wrote {out}")
    return out
