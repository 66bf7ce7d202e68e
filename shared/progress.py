"""Progress for long-running commands: a live bar on a terminal, periodic lines in a log."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

LOG_EVERY_SECONDS = 5.0


class Tracker:
    """Counts work done; renders through rich or prints a line every few seconds."""

    def __init__(self, console: Console, progress: Progress | None, task: TaskID | None, label: str) -> None:
        self._console, self._progress, self._task, self._label = console, progress, task, label
        self.done = 0
        self._started = self._last_line = time.monotonic()

    def advance(self, n: int = 1, *, note: str = "") -> None:
        """Record n more units of work."""
        self.done += n
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, advance=n, note=note)
            return
        now = time.monotonic()
        if now - self._last_line >= LOG_EVERY_SECONDS:
            self._last_line = now
            rate = self.done / max(now - self._started, 1e-9)
            self._console.print(f"{self._label}: {self.done} ({rate:.0f}/s) {note}", highlight=False)


@contextmanager
def track(console: Console, label: str, total: int | None) -> Iterator[Tracker]:
    """A tracker for one phase of work; total None means open-ended."""
    if not console.is_terminal:
        tracker = Tracker(console, None, None, label)
        yield tracker
        console.print(f"{label}: {tracker.done} done", highlight=False)
        return
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
    ]
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(label, total=total, note="")
        yield Tracker(console, progress, task, label)
