"""Progress: a bar with rate and ETA on a terminal, plain JSON lines otherwise (logs, CI, nohup)."""
from __future__ import annotations

import json
import sys
import time
from typing import Any


class Progress:
    def __init__(self, stream: Any = sys.stderr, force_json: bool = False):
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)()) and not force_json
        self.last = 0.0

    def event(self, **fields: Any) -> None:
        """One JSON line (on a terminal too, after the bar), for anything worth keeping."""
        if self.tty:
            self.stream.write("\r\033[K")
        self.stream.write(json.dumps(fields, separators=(",", ":")) + "\n")
        self.stream.flush()

    def step(self, epoch: int, epochs: int, done: int, total: int, started: float, loss: float, eta_s: float) -> None:
        now = time.time()
        if now - self.last < (0.5 if self.tty else 30) and done < total:
            return
        self.last = now
        rate = done / max(1e-9, now - started)
        if self.tty:
            width = 30
            filled = int(width * done / max(1, total))
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\repoch {epoch}/{epochs} [{bar}] {done}/{total} {rate:.0f} img/s loss {loss:.3f} ETA {_hms(eta_s)}"
            )
            self.stream.flush()
        else:
            self.event(event="progress", epoch=epoch, epochs=epochs, images=done, of=total,
                       imagesPerS=round(rate, 1), loss=round(loss, 4), etaS=round(eta_s))


def _hms(s: float) -> str:
    s = max(0, int(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
