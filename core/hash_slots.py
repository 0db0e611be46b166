"""At most one memory-hard password hash per core, across all the worker processes of a host.

Four gunicorn workers on two cores that all verify an Argon2id hash at once time-slice four
19 MiB working sets through the caches of two cores: the machine then verifies fewer passwords
a second than with two at a time, and every sign-in waits longer. A slot is a kernel file lock
(`flock`) on one of N files, so a worker that dies while hashing gives its slot back with its
descriptors, and each call opens its own descriptors, so threads and forked children never
share a lock by accident.
"""

import fcntl
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cached_property
from pathlib import Path

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.001


class HashSlots:
    def __init__(self, count: int, directory: Path) -> None:
        self.count = count
        self.directory = directory

    @cached_property
    def _paths(self) -> list[Path] | None:
        """The slot files, or None where the directory is unusable (then hashing is not gated)."""
        try:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self.directory.stat().st_uid != os.getuid():
                # Someone else's directory: they could hold every slot and stall every sign-in.
                raise PermissionError(f"{self.directory} belongs to another user")
        except OSError as exc:
            logger.warning("password hashes run ungated: %s", exc)
            return None
        return [self.directory / str(number) for number in range(self.count)]

    @contextmanager
    def held(self) -> Iterator[None]:
        """Hold a slot for the block, waiting for one when all are busy. flock waits on one file
        only, so a waiter polls them all (a hash takes tens of milliseconds, a round of tries a
        few microseconds): it takes whichever is given back first."""
        paths = self._paths
        if paths is None:
            yield
            return
        first = os.getpid() % len(paths)  # workers start on different slots
        with ExitStack() as stack:
            descriptors = [_opened(path, stack) for path in paths[first:] + paths[:first]]
            while not any(map(_locked, descriptors)):
                time.sleep(POLL_SECONDS)
            yield  # closing the descriptors (the stack) gives the slot back


def _opened(path: Path, stack: ExitStack) -> int:
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    stack.callback(os.close, descriptor)
    return descriptor


def _locked(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _temporary_directory() -> Path:
    try:
        return Path(tempfile.gettempdir())
    except FileNotFoundError:  # no writable one (a read-only file system): the slots' mkdir fails too, ungated
        return Path("/tmp")  # noqa: S108 - only a path to try; nothing is written where it cannot be


PASSWORD_HASH_SLOTS = HashSlots(count=os.process_cpu_count() or 1, directory=_temporary_directory() / f"mana-auth-hash-slots-{os.getuid()}")
