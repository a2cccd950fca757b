"""Protocol: the frames a runner sends the grader over the result pipe.

A frame is four bytes of length (big-endian) and then
``marshal.dumps((nonce, kind, data))``. The runner sends, in order: for each
cell it runs, ``start`` (the cell's index) and ``end`` (index, outcome dict);
then ``done``. ``tampered`` (a reason) ends a run early; ``failed`` (a reason)
says that the runner's own harness broke. The nonce is random per run and
known only to the grader and the runner's closures, so a frame that student
code forges, or any other byte on the pipe, is recognised as tampering.
"""

from __future__ import annotations

import marshal

MAX_FRAME = 1 << 20
MESSAGE_LIMIT = 500  # characters of a message from student code (an exception, a reason)
KINDS = ("start", "end", "tampered", "done", "failed")


class Forged(Exception):
    """Something on the result pipe is not a frame of this run: tampering."""


def sender(fd: int, nonce: str):
    """The runner's ``send(kind, data)``; call it through the runner's private globals (see guards.privately)."""
    import marshal
    import os

    dumps, write = marshal.dumps, os.write

    def send(kind, data=None):
        frame = dumps((nonce, kind, data))
        frame = len(frame).to_bytes(4, "big") + frame
        while frame:
            frame = frame[write(fd, frame) :]

    return send


class Reader:
    """The grader's side: bytes in, well-formed (kind, data) messages out."""

    def __init__(self, nonce: str) -> None:
        self.nonce = nonce
        self.buffer = b""

    def feed(self, chunk: bytes) -> list[tuple[str, object]]:
        """The messages completed by ``chunk``; Forged when a frame is not one of this run's."""
        self.buffer += chunk
        messages = []
        while len(self.buffer) >= 4:
            size = int.from_bytes(self.buffer[:4], "big")
            if size > MAX_FRAME:
                self.buffer = b""
                raise Forged("garbage on the grader's result channel")
            if len(self.buffer) < 4 + size:
                break
            frame, self.buffer = self.buffer[4 : 4 + size], self.buffer[4 + size :]
            try:
                message = marshal.loads(frame)
                ok = type(message) is tuple and len(message) == 3 and message[0] == self.nonce
            except Exception:
                ok = False
            if not ok or message[1] not in KINDS or not _well_formed(message[1], message[2]):
                raise Forged("a forged message on the grader's result channel")
            messages.append((message[1], message[2]))
        return messages


def _well_formed(kind: str, data) -> bool:
    if kind == "start":
        return type(data) is int
    if kind == "end":
        return type(data) is tuple and len(data) == 2 and type(data[0]) is int and type(data[1]) is dict
    return kind == "done" or isinstance(data, str)
