"""The failure file's text, in the toolkit's words (training-contract.md §7):

    ExecuteUserScriptError:
    ExitCode 1
    ErrorMessage "ValueError: boom"
    Command "/usr/bin/python3 train.py --epochs 3"

FailureReason keeps 1024 characters, so the message is the one line that says what went wrong
rather than the whole stderr, and each part is bounded.
"""

from __future__ import annotations

import re
import signal

MESSAGE_LIMIT = 480
COMMAND_LIMIT = 320
# The last line of an uncaught exception's report (``ValueError: boom``, ``pkg.mod.Error``,
# ``KeyboardInterrupt``) when the ``Traceback`` header itself fell out of the tail.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b(:|$)")
_TRACEBACK = "Traceback (most recent call last):"


def error_line(stderr_lines: list[str]) -> str:
    """The line of a child's stderr that says what went wrong."""
    lines = [line.rstrip() for line in stderr_lines if line.strip()]
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].startswith(_TRACEBACK):
            # The frames are indented; the first unindented line after them names the exception.
            for line in lines[i + 1:]:
                if not line[:1].isspace():
                    return line.strip()
            break
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line.strip()):
            return line.strip()
    return lines[-1].strip() if lines else ""


def describe_exit(exit_code: int, stderr_lines: list[str]) -> str:
    line = error_line(stderr_lines)
    if line or exit_code >= 0:
        return line
    try:
        return f"The process was killed by {signal.Signals(-exit_code).name}"
    except ValueError:
        return f"The process was killed by signal {-exit_code}"


def _bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def failure_text(kind: str, exit_code: int, message: str, cmd: list[str]) -> str:
    return (f"{kind}:\nExitCode {exit_code}\n"
            f'ErrorMessage "{_bounded(message, MESSAGE_LIMIT)}"\n'
            f'Command "{_bounded(" ".join(cmd), COMMAND_LIMIT)}"')


def tail_message(stderr_lines: list[str], limit: int = MESSAGE_LIMIT) -> str:
    """The end of a tool's stderr (pip's ``ERROR: ...`` lines), as much as fits."""
    kept: list[str] = []
    size = 0
    for line in reversed([line.rstrip() for line in stderr_lines if line.strip()]):
        if kept and size + len(line) + 1 > limit:
            break
        kept.insert(0, line)
        size += len(line) + 1
    return "\n".join(kept)
