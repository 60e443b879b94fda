"""What ``deid batch`` shows while it runs and when it ends.

On a terminal a live bar (count, images/s, ETA, counts by status); in a log or a
pipe a plain line every few seconds, since a line per image buries everything else
in a clinic-sized batch; nothing with ``--quiet``. At the end a table of counts by
status and the slowest stages. Only PHI-free text is shown: counts, statuses,
stage names, and output names, which the batch has already vetted.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

PLAIN_EVERY_S = 10.0
STATUSES = ("clean", "redacted", "needs_review", "failed")


class _Item(Protocol):
    status: str
    resumed: bool


class _StageTime(Protocol):
    total_ms: float
    images: int
    mean_ms: float
    max_ms: float


@dataclass
class Tally:
    """Running counts and rate; resumed images count as done but not toward the rate
    (they take no time and would make the ETA of the rest look too short)."""

    total: int = 0
    done: int = 0
    resumed: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    started: float = field(default_factory=time.monotonic)

    def add(self, done: int, total: int, item: _Item) -> None:
        self.done, self.total = done, total
        self.resumed += item.resumed
        self.statuses[item.status] += 1

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        worked = self.done - self.resumed
        return worked / elapsed if elapsed > 0 and worked > 0 else 0.0

    @property
    def eta_s(self) -> float | None:
        rate = self.rate
        return (self.total - self.done) / rate if rate > 0 else None

    def counts_text(self) -> str:
        return " ".join(f"{s}={self.statuses[s]}" for s in _ordered(self.statuses))

    def line(self) -> str:
        eta = "?" if self.eta_s is None else _duration(self.eta_s)
        return f"[{self.done}/{self.total}] {self.rate:.2f} img/s, ETA {eta}; {self.counts_text()}"


class Progress:
    """The ``progress`` callback of ``run_batch``, drawn as the output allows.

    Use as a context manager: the live bar owns the terminal until it is closed.
    """

    def __init__(
        self, stream: TextIO | None = None, *, quiet: bool = False, every_s: float = PLAIN_EVERY_S
    ) -> None:
        self.stream = stream or sys.stderr
        self.quiet, self.every_s = quiet, every_s
        self.tally = Tally()
        self._live: Any = None
        self._bar: Any = None
        self._last_line = 0.0
        self._shown = 0
        self.live = not quiet and _is_terminal(self.stream)

    def __enter__(self) -> Progress:
        if self.live:
            self._start_live()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
        elif not self.quiet and self.tally.done != self._shown:
            self._print(self.tally.line())  # where an interrupted batch stopped

    def __call__(self, done: int, total: int, item: _Item) -> None:
        self.tally.add(done, total, item)
        if self.quiet:
            return
        if self._live is not None:
            self._live.update(self._bar, total=total, completed=done,
                              counts=self.tally.counts_text(), rate=self.tally.rate)  # fmt: skip
            return
        now = time.monotonic()
        if now - self._last_line >= self.every_s or done == total:
            self._last_line, self._shown = now, done
            self._print(self.tally.line())

    def note(self, text: str) -> None:
        """A one-off message (stopping, resuming), above the bar on a terminal."""
        if self.quiet:
            return
        if self._live is not None:
            self._live.console.print(text, markup=False, highlight=False)
        else:
            self._print(text)

    def _print(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()

    def _start_live(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        console = Console(file=self.stream)
        self._live = RichProgress(
            TextColumn("deid batch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.2f} img/s"), TextColumn("ETA"),
            TimeRemainingColumn(), TextColumn("{task.fields[counts]}"),
            console=console, transient=False, refresh_per_second=4,
        )  # fmt: skip
        self._bar = self._live.add_task("batch", total=None, counts="", rate=0.0)
        self._live.start()


def final_table(
    counts: Mapping[str, int],
    stages: Mapping[str, _StageTime],
    *,
    wall_s: float,
    processed: int,
    slowest: int = 3,
) -> str:
    """Counts by status and the slowest stages (by total time), as aligned text."""
    lines = ["status          images"]
    lines += [f"{s:<15} {counts[s]:>6}" for s in _ordered(counts)]
    lines.append(f"{'total':<15} {sum(counts.values()):>6}")
    rate = processed / wall_s if wall_s > 0 else 0.0
    lines.append(f"processed {processed} in {_duration(wall_s)} ({rate:.2f} img/s)")
    if stages:
        lines += ["", "slowest stages  total     mean/img  max"]
        for name, t in list(stages.items())[:slowest]:
            lines.append(f"{name:<15} {_duration(t.total_ms / 1000):<9} "
                         f"{t.mean_ms / 1000:>6.2f} s  {t.max_ms / 1000:.2f} s")  # fmt: skip
    return "\n".join(lines)


def _ordered(counts: Mapping[str, int]) -> list[str]:
    return [s for s in STATUSES if counts.get(s)] + sorted(set(counts) - set(STATUSES))


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _is_terminal(stream: TextIO) -> bool:
    isatty: Callable[[], bool] | None = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except (OSError, ValueError):
        return False


__all__ = ["PLAIN_EVERY_S", "Progress", "Tally", "final_table"]
