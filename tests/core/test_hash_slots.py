"""The host's password-hash slots (core/hash_slots.py), held by real processes with real kernel locks."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest
from django.contrib.auth.hashers import check_password, make_password

from accounts import hashers
from core import hash_slots
from core.hash_slots import HashSlots
from tests.support import REPO

WAIT = 10.0

# A holder is a process of its own (not a fork of this multi-threaded test process): it takes a slot
# with the real HashSlots, says so, and keeps it until its stdin closes.
HOLDER = """
import sys
import tempfile
from pathlib import Path
from core import hash_slots
from core.hash_slots import HashSlots
with HashSlots(count=int(sys.argv[1]), directory=Path(sys.argv[2])).held():
    print("holding", flush=True)
    sys.stdin.read()
"""


@contextmanager
def holding(slots: HashSlots) -> Iterator[subprocess.Popen[str]]:
    holder = subprocess.Popen(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", HOLDER, str(slots.count), str(slots.directory)],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == "holding\n", "the holder never got a slot"
        yield holder
    finally:
        holder.kill()
        holder.wait(WAIT)


def released(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    holder.wait(WAIT)


def done_in_thread(work: Callable[[], object]) -> threading.Event:
    """Runs `work` in a thread; the event is set once it has returned a true value."""
    done = threading.Event()

    def run() -> None:
        if work():
            done.set()

    threading.Thread(target=run, daemon=True).start()
    return done


def taken(slots: HashSlots) -> threading.Event:
    def take() -> bool:
        with slots.held():
            return True

    return done_in_thread(take)


def test_a_free_slot_is_taken_while_another_process_holds_the_other(tmp_path: Path) -> None:
    slots = HashSlots(count=2, directory=tmp_path / "slots")
    with holding(slots):
        assert taken(slots).wait(WAIT)


def test_with_every_slot_held_a_hash_waits_until_one_is_given_back(tmp_path: Path) -> None:
    slots = HashSlots(count=2, directory=tmp_path / "slots")
    with holding(slots), holding(slots) as second:
        waiting = taken(slots)
        assert not waiting.wait(0.5)
        released(second)
        assert waiting.wait(WAIT)


def test_a_process_killed_while_hashing_gives_its_slot_back(tmp_path: Path) -> None:
    slots = HashSlots(count=1, directory=tmp_path / "slots")
    with holding(slots) as holder:
        waiting = taken(slots)
        assert not waiting.wait(0.5)
        holder.send_signal(signal.SIGKILL)
        assert waiting.wait(WAIT)


def test_threads_of_one_process_do_not_share_a_slot(tmp_path: Path) -> None:
    slots = HashSlots(count=1, directory=tmp_path / "slots")
    release = threading.Event()

    def hold() -> bool:
        with slots.held():
            return release.wait(WAIT)

    with slots.held():
        waiting = done_in_thread(hold)
        assert not waiting.wait(0.5)
    release.set()
    assert waiting.wait(WAIT)


def _ungated(slots: HashSlots) -> None:
    with slots.held(), slots.held():  # nested: would wait for ever if the one slot were a real lock
        pass


def test_an_unusable_slot_directory_leaves_hashing_ungated(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    in_the_way = tmp_path / "slots"
    in_the_way.write_text("")  # a file where the directory should be
    _ungated(HashSlots(count=1, directory=in_the_way))
    assert "password hashes run ungated" in caplog.text


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the directory to another user; CI runs as root")
def test_a_slot_directory_of_another_user_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Whoever owns the directory could hold every slot and stall every sign-in."""
    directory = tmp_path / "slots"
    directory.mkdir()
    os.chown(directory, 65534, 65534)  # nobody
    _ungated(HashSlots(count=1, directory=directory))
    assert "belongs to another user" in caplog.text
    assert list(directory.iterdir()) == []


def test_the_password_hashers_hash_in_a_slot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Argon2id and the old service's scrypt both wait for a slot: with the only one held elsewhere,
    a verification finishes only after it is given back."""
    slots = HashSlots(count=1, directory=tmp_path / "slots")
    monkeypatch.setattr(hashers, "PASSWORD_HASH_SLOTS", slots)
    scrypt = hashers.BetterAuthScryptPasswordHasher()
    for encoded in (make_password("a passphrase"), scrypt.encode("a passphrase", scrypt.salt())):
        with holding(slots) as holder:
            verified = done_in_thread(partial(check_password, "a passphrase", encoded))
            assert not verified.wait(0.5)
            released(holder)
            assert verified.wait(WAIT)


def test_without_a_writable_temporary_directory_the_service_still_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """tempfile finds no usable directory on a read-only file system: the import must not fail;
    the slots' directory then cannot be made and hashing runs ungated."""

    def none_usable() -> str:
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(tempfile, "gettempdir", none_usable)
    assert hash_slots._temporary_directory() == Path("/tmp")  # noqa: S108
