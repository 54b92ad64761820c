"""Shared helpers for the benchmark scripts (not product code, not tests)."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomli_w

from kommo_xero.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def summary_ms(values: list[float]) -> str:
    return (
        f"p50 {percentile(values, 50) * 1000:7.2f} ms  p99 {percentile(values, 99) * 1000:7.2f} ms"
        f"  mean {statistics.fmean(values) * 1000:7.2f} ms  (n={len(values)})"
    )


def write_settings(settings: Settings, path: Path) -> Path:
    """Write settings as the TOML a user would have (secrets included, for the sandbox only)."""
    data: dict[str, Any] = settings.model_dump(mode="json", exclude_none=True)
    for section in ("kommo", "xero"):
        for key in list(data[section]):
            secret = getattr(getattr(settings, section), key)
            if hasattr(secret, "get_secret_value"):
                data[section][key] = secret.get_secret_value()
    path.write_text(tomli_w.dumps(data))
    return path


def start_serve(config: Path, port: int, *, cpu: int | None = None) -> subprocess.Popen[bytes]:
    """`kommo-xero serve` as a separate process, optionally pinned to one CPU core."""

    def pin() -> None:
        if cpu is not None:
            os.sched_setaffinity(0, {cpu})

    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("kommo-xero")),
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
        ],
        preexec_fn=pin,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return process


def wait_until(predicate: Callable[[], Any], timeout: float, interval: float = 0.2) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(interval)
    raise TimeoutError(f"not reached within {timeout}s")
