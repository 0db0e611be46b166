"""A worker's memory (core/memory.py): the start-up heap frozen; Argon2id's 19 MiB block kept while
sign-ins come, given back once they stop."""

import platform
import subprocess
import sys
from pathlib import Path

from tests.support import REPO, clean_env, production_env

# In a process of its own: the test run's heap would blur the figures.
SCRIPT = """
import time
import django
django.setup()
from django.contrib.auth.hashers import check_password, make_password
from core import memory
memory.IDLE_SECONDS = 0.3

def rss_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS")) / 1024

start = rss_mb()
encoded = make_password("a passphrase")
for _ in range(3):
    assert check_password("a passphrase", encoded)
busy = rss_mb()
time.sleep(1.5)
idle = rss_mb()
assert check_password("a passphrase", encoded)  # the first hash after the pause still verifies
print(memory._malloc_trim is not None, round(busy - start, 1), round(busy - idle, 1))
"""


def test_the_hash_block_is_kept_while_hashing_and_given_back_when_idle() -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", SCRIPT],
        cwd=REPO,
        env=clean_env(DJANGO_SETTINGS_MODULE="config.settings.base"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    trims, held, returned = result.stdout.split()
    assert trims == str(platform.libc_ver()[0] == "glibc")
    if trims == "True":
        assert float(held) >= 15  # one 19 MiB block stays between hashes: no re-faulting per sign-in
        assert float(returned) >= 15  # and goes back once the hashing has stopped


# What a gunicorn worker does when it loads the application (config/wsgi.py).
WORKER_START = """
import gc
import sys
import config.wsgi
print(gc.get_freeze_count(), "passkeys.api" in sys.modules)
"""


def test_a_worker_loads_every_view_at_start_and_keeps_that_heap_out_of_the_collectors_passes(tmp_path: Path) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", WORKER_START],
        cwd=REPO,
        env=production_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    frozen, views_loaded = result.stdout.split()
    assert views_loaded == "True"  # the URLconf was loaded before the freeze, not at the first request
    assert int(frozen) > 100_000  # Django, DRF and the service's modules, not a handful of objects
