"""A worker's memory: what it built at start-up kept out of the collector's way, and what a burst
of sign-ins held given back once the burst is over.

Argon2id takes 19 MiB for every verification. glibc keeps the freed block for the next one, so a
sign-in does not map and fault in 19 MiB afresh (that cost a third of the machine's hashing
throughput), but a worker then holds the block for good. `heap_trim_when_idle` trims the heap
(`malloc_trim`) a few seconds after the last hash: while sign-ins keep coming nothing changes, and
the first one after a pause faults the block in once.
"""

import ctypes
import gc
import os
import threading
import time
from collections.abc import Callable

from django.urls import get_resolver

IDLE_SECONDS = 5.0


def heap_freeze_after_start() -> None:
    """What a worker builds at start-up lives as long as the worker, yet each full pass of the
    cyclic garbage collector walks all of it (about 250,000 objects: 150-270 ms on the benchmark
    machine, a stall of the request in flight). Frozen, it is left out of every pass."""
    _ = get_resolver().url_patterns  # the views and all they import load now, not at the first request
    gc.collect()
    gc.freeze()


def _libc_malloc_trim() -> Callable[[int], int] | None:
    try:
        trim = ctypes.CDLL(None).malloc_trim  # glibc; musl and other C libraries have none
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return trim


_malloc_trim = _libc_malloc_trim()
_lock = threading.Lock()
_deadline = 0.0
_waiting_in = 0  # the process whose trim thread is waiting (0: none; a forked worker has none of its own)


def heap_trim_when_idle() -> None:
    """Trim the heap IDLE_SECONDS after the last call; every call moves that moment on."""
    global _deadline, _waiting_in
    if _malloc_trim is None:
        return
    with _lock:
        _deadline = time.monotonic() + IDLE_SECONDS
        if _waiting_in != os.getpid():
            _waiting_in = os.getpid()
            threading.Thread(target=_trim_after_deadline, args=(_malloc_trim,), name="heap-trim", daemon=True).start()


def _trim_after_deadline(trim: Callable[[int], int]) -> None:
    global _waiting_in
    while True:
        with _lock:
            remaining = _deadline - time.monotonic()
            if remaining <= 0:
                _waiting_in = 0
                break
        time.sleep(remaining)
    trim(0)
