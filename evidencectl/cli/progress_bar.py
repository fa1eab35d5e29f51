"""The progress bar of a long command (deposit, verify, report) on a terminal's stderr, drawn by rich:

    hashing  case1/录音-0412.wav  ━━━━━━━━━━━━━━━━━━╺━━━━━━━━━━  62%  1.3/2.1 GB  310.2 MB/s  0:00:03 left

The library reports through :class:`evidencectl.progress.Progress`; this draws it. rich is imported when a
bar is drawn, never for a command whose stderr is not a terminal.
"""

from __future__ import annotations

import unicodedata
from types import TracebackType
from typing import Any

from ..progress import Progress

NAME_WIDTH = 32
"""Room for the file name: the end of a long name is kept (it is the part that tells files apart)."""


def short_name(name: str, width: int = NAME_WIDTH) -> str:
    """``name`` fit for one cell of a bar: control and format characters dropped (a file name is the
    adversary's: it must not move the cursor), the start cut with '…' when it is too long."""
    clean = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    return clean if len(clean) <= width else "…" + clean[-(width - 1) :]


class TerminalProgress(Progress):
    """A rich progress bar: label, file at hand, bar, percentage, bytes done of the total, speed, time left.

    Until :meth:`begin` gives a total, and after :meth:`phase` starts a step without one, it shows a
    spinner and the bytes done.
    """

    def __init__(self, label: str, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            TextColumn("{task.fields[name]}", markup=False, style="bold"),
            BarColumn(bar_width=None),
            TaskProgressColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(elapsed_when_finished=True),
            console=console,
            transient=True,
            expand=True,
        )
        self._task = self._bar.add_task(label, total=None, name="")

    def __enter__(self) -> TerminalProgress:
        self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.stop()

    def __call__(self, n: int) -> None:
        """``n`` more bytes done."""
        self._bar.advance(self._task, n)

    def begin(self, total_bytes: int | None, items: int) -> None:
        """Set the total (bytes) the percentage and the time left are measured against."""
        self._bar.update(self._task, total=total_bytes, name=f"{items:,} file(s)")

    def item(self, name: str) -> None:
        """Show the file now being read."""
        self._bar.update(self._task, name=short_name(name))

    def phase(self, label: str) -> None:
        """A step without bytes: the bar is complete, the label says what is being done."""
        task = self._bar.tasks[0]
        self._bar.update(self._task, description=label, name="", total=task.total or task.completed or 1)


class StageProgress(Progress):
    """The progress of a command made of named steps (a web capture): the subject (its URL), a bar over the
    steps, "3/8", the step at hand, the bytes hashed so far and the time taken.

    ``stages`` are the labels the library reports through :meth:`phase`, in order; :meth:`begin` (the
    deposit starting to hash) is the step ``hashing``. A label not in ``stages`` is shown without moving on.
    """

    def __init__(self, subject: str, stages: tuple[str, ...], console: Any) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._stages = stages
        self._bytes = 0
        self._bar = Progress(
            SpinnerColumn(),
            TextColumn("{task.fields[subject]}", markup=False, style="bold"),
            BarColumn(bar_width=20),
            MofNCompleteColumn(),
            TextColumn("{task.description}", markup=False),
            TextColumn("{task.fields[done]}", markup=False),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self._task = self._bar.add_task("", total=len(stages), subject=short_name(subject, 48), done="")

    def __enter__(self) -> StageProgress:
        self._bar.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None) -> None:
        self._bar.stop()

    def __call__(self, n: int) -> None:
        """``n`` more bytes hashed: shown beside the step."""
        from rich.filesize import decimal

        self._bytes += n
        self._bar.update(self._task, done=decimal(self._bytes))

    def begin(self, total_bytes: int | None, items: int) -> None:
        """The deposit of the capture starts hashing its ``items`` files."""
        self.phase("hashing")

    def phase(self, label: str) -> None:
        """Step ``label`` starts: the bar counts the steps before it as done."""
        done = self._stages.index(label) if label in self._stages else None
        self._bar.update(self._task, description=label, done="")
        if done is not None:
            self._bar.update(self._task, completed=done)
        # Drawn now, not at the next tick: a step shorter than a tick (hashing a small capture) is still seen.
        self._bar.refresh()
