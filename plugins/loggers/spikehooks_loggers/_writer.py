"""A background thread that does a logger's writes, so training never waits on a disk or a server.

The training thread hands over finished values (plain dicts and array
copies); the writer thread calls the logger's write methods in order.  A
write that raises is noted, not raised: the training thread turns the notes
into warnings at its next hook (:meth:`Writer.report`) and when the run ends
(:meth:`Writer.finish`), so warnings come from the training thread, where
the user's warning filters apply.
"""

from __future__ import annotations

import queue
import re
import threading
import time
from collections.abc import Callable
from typing import Any


class Writer:
    """Calls queued functions one after another in one daemon thread.

    Parameters
    ----------
    name : str
        The thread's name (for debuggers and ``threading.enumerate``).
    on_error : callable (what, exception) -> None
        Called in the writer thread when a queued call raises.
    """

    def __init__(self, name: str, on_error: Callable[[str, BaseException], None]):
        self._queue: queue.Queue[Any] = queue.Queue()
        #: CPU seconds the writer thread spent in queued calls so far, by task
        #: (``what`` with numbers replaced by ``N``: ``"write epoch N"``).
        self.cpu_s: dict[str, float] = {}
        self._on_error = on_error
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, what: str, function: Callable[..., Any], *args: Any) -> None:
        """Queue ``function(*args)``; ``what`` says what it does, for the warning."""
        self._queue.put((what, function, args))

    def finish(self) -> None:
        """Wait until every queued call is done, then end the thread."""
        self._queue.put(None)
        self._thread.join()

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            what, function, args = item
            start = time.thread_time()
            try:
                function(*args)
            except Exception as exc:  # a lost log entry must never end the run
                try:
                    self._on_error(what, exc)
                except Exception:  # noting it failed too: the thread must still go on
                    pass
            finally:
                task = re.sub(r"\d+", "N", what)
                self.cpu_s[task] = self.cpu_s.get(task, 0.0) + time.thread_time() - start
