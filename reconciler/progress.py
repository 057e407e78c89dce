"""Progress on stderr, part of the CLI's edge (it prints only through the console the CLI hands it):
a live display of what each step is doing on a terminal; otherwise one plain line per event, a
repeated "waiting…" at most every two seconds per address."""

from __future__ import annotations

import re
import threading
import time
from types import TracebackType

from rich.console import Console, Group
from rich.control import strip_control_codes
from rich.live import Live
from rich.text import Text

REPEAT_SECONDS = 2.0


class ProgressView:
    def __init__(self, console: Console) -> None:
        self.console = console
        self.lock = threading.RLock()
        self.active: dict[str, tuple[str, float]] = {}  # address → (message, since)
        self.printed: dict[str, tuple[str, float]] = {}  # address → (message shape, when)
        self.live: Live | None = None

    def __enter__(self) -> ProgressView:
        self.resume()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        self.pause()

    def resume(self) -> None:
        if self.console.is_terminal and self.live is None:
            self.live = Live(get_renderable=self._render, console=self.console, refresh_per_second=8, transient=True)
            self.live.start()

    def pause(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _render(self) -> Group:
        now = time.monotonic()
        with self.lock:
            lines = [
                Text(f"  … {address}: {message} [{now - since:.0f}s]", style="cyan")
                for address, (message, since) in self.active.items()
            ]
        return Group(*lines)

    def __call__(self, address: str, message: str) -> None:
        with self.lock:
            since = self.active.get(address, (message, time.monotonic()))[1]
            self.active[address] = (message, since)
            if self.live is None:
                self._plain(address, message)

    def _plain(self, address: str, message: str) -> None:
        shape = re.sub(r"\d+", "#", message)
        last_shape, when = self.printed.get(address, ("", 0.0))
        now = time.monotonic()
        if shape != last_shape or now - when >= REPEAT_SECONDS:
            self.printed[address] = (shape, now)
            self._print(f"{address}: {message}", "cyan")

    def finished(self, address: str, message: str) -> None:
        with self.lock:
            self.active.pop(address, None)
            self.printed.pop(address, None)
            self._print(f"{address}: {message}")

    def say(self, message: str) -> None:
        with self.lock:
            self._print(message, "yellow")

    def _print(self, line: str, style: str = "") -> None:
        """One line, as rich prints it. Where that is plain text (not a terminal, no colours, no
        live display, no tab to expand by rich's cell widths), written as such: rich's render of a
        line cost ~0.4 M instructions, 3 % of a cold apply's for its three lines per container."""
        if self.live is None and "\t" not in line and not self.console.is_terminal and self.console.color_system is None:
            self.console.file.write(strip_control_codes(line) + "\n")
            self.console.file.flush()
        else:
            self.console.print(Text(line, style=style))
