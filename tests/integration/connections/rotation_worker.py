"""A worker process for the rotation test: many concurrent Xero calls for a while.

Usage: python rotation_worker.py CONFIG START_AT SECONDS CONCURRENCY
Prints one JSON line: {"ok": calls that succeeded, "errors": [messages]}.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from kommo_xero.bootstrap import build_xero
from kommo_xero.config import load_settings


async def main(config: str, start_at: float, seconds: float, concurrency: int) -> None:
    settings = load_settings(config)
    client = build_xero(settings)
    ok = 0
    errors: list[str] = []
    await asyncio.sleep(max(0.0, start_at - time.time()))
    stop = time.monotonic() + seconds

    async def loop() -> None:
        nonlocal ok
        while time.monotonic() < stop:
            try:
                await client.get_currencies()
                ok += 1
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(0.05)

    await asyncio.gather(*(loop() for _ in range(concurrency)))
    await client.close()
    print(json.dumps({"ok": ok, "errors": errors[:20]}))


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])))
