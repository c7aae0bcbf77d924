# Copyright 2026 face_recognition maintainers
#
# Licensed under the Apache License, Version 2.0 (the "License");
# you may not use this file except in compliance with the License.
# You may obtain a copy of the License at
#
#     http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS,
# WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
# See the License for the specific language governing permissions and
# limitations under the License.

"""
Logging of the nodes.

Bad input without flooding (``RepeatLimitedLog``), and the core's ``logging`` records
routed to the ROS logger (console, /rosout, log file).
"""

from __future__ import annotations

import logging
import re
import threading
import time

import rclpy

_VALUES = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"|\[[^\]\n]*\]"
                     r'|[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?|\b(?:nan|inf)\b')


def problem_kind(text: str) -> str:
    """
    Return the kind of problem a log message tells.

    That is its text without the values in it (numbers, quoted strings, bracketed lists).
    'image is 3x0 pixels' and 'image is 640x0 pixels' are one kind: a publisher sending
    ever other sizes must not flood the log.
    """
    return _VALUES.sub('#', text)


class RepeatLimitedLog:
    """
    Logs each kind of problem at once, and the same kind again at most every ``period_s``.

    A repeat comes at most every ``period_s`` seconds as the latest message of that kind,
    with the number of repeats in between.

    A camera sending an unsupported encoding at 30 Hz must not flood the log, but a
    different problem (a truncated frame after a bad encoding) must not be hidden by the
    throttle of the first, as rclpy's per-call-site throttling would do. The kind is
    ``problem_kind(text)`` unless the caller names it (``kind=``).
    """

    def __init__(self, logger, period_s: float = 5.0, max_messages: int = 100):
        self._logger = logger
        self._period_s = period_s
        self._max_messages = max_messages
        self._last: dict[str, list] = {}  # kind -> [time logged, repeats since]
        self._lock = threading.Lock()

    def error(self, text: str, kind: str | None = None) -> None:
        line = self._line(text, kind)
        if line is not None:
            self._logger.error(line)

    def warning(self, text: str, kind: str | None = None) -> None:
        # Its own call of the logger: rclpy raises when one line logs at two severities
        # ("Logger severity cannot be changed between calls"), which killed the thread
        # that logged a warning and then an error through one shared line.
        line = self._line(text, kind)
        if line is not None:
            self._logger.warning(line)

    def _line(self, text: str, kind: str | None) -> str | None:
        """Return the line to log now, or None while this kind of problem is held back."""
        now = time.monotonic()
        key = problem_kind(text) if kind is None else kind
        with self._lock:
            entry = self._last.get(key)
            if entry is not None and now - entry[0] < self._period_s:
                entry[1] += 1
                return None
            repeats = entry[1] if entry is not None else 0
            if len(self._last) >= self._max_messages:
                self._last.clear()
            self._last[key] = [now, 0]
        return f'{text} (and {repeats} more times)' if repeats else text


class _RosLogHandler(logging.Handler):
    """
    Sends the core's ``logging`` records to the ROS logger (console, /rosout, log file).

    Warnings and errors go through a ``RepeatLimitedLog``: the core warns once per bad box
    it drops, and a publisher sending a thousand bad boxes per frame must not write a
    thousand lines per frame.
    """

    def __init__(self, logger_name: str, period_s: float = 5.0):
        super().__init__()
        self._logger = rclpy.logging.get_logger(logger_name)
        self._problems = RepeatLimitedLog(self._logger, period_s=period_s)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = self.format(record)
            if record.levelno >= logging.ERROR:
                self._problems.error(message)
            elif record.levelno >= logging.WARNING:
                self._problems.warning(message)
            elif record.levelno >= logging.INFO:
                self._logger.info(message)
            else:
                self._logger.debug(message)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)


def route_core_logging(logger_name: str = 'face_recognition_ros') -> None:
    """Forward ``logging`` records of face_recognition_ros (INFO and up) to the ROS logger."""
    package_logger = logging.getLogger('face_recognition_ros')
    if not any(isinstance(h, _RosLogHandler) for h in package_logger.handlers):
        package_logger.addHandler(_RosLogHandler(logger_name))
        package_logger.setLevel(logging.INFO)
        package_logger.propagate = False
