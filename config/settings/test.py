"""Settings for the test suite: base.py with the test database from DATABASE_URL (PostgreSQL in
CI, SQLite otherwise) and a cache that each test starts empty."""

import os
import uuid

from .base import *  # noqa: F403
from .base import CACHES, REDIS_URL

DEBUG = False
# Inline: a test's open transaction is invisible to a pool thread's own connection. The thread
# path has transactional tests of its own (tests/mail/test_security_mail.py).
MAIL_DELIVERY = "inline"

if REDIS_URL:
    # A prefix of its own so parallel runs and a developer's server never share rate-limit keys.
    # A child process of a test passes the parent's prefix on to share its buckets.
    CACHES["default"]["KEY_PREFIX"] = os.environ.get("MANA_TEST_CACHE_PREFIX") or f"mana-auth-test-{uuid.uuid4().hex[:8]}"
