"""The seeding step, run as `python -m bench.seed` with the server's environment before gunicorn
starts: verified users straight through the ORM, one session pair and an initialised vault per
load connection, and the time of one password verification with the production hasher.

Nothing here is part of a measured scenario; it writes what the load generator needs as JSON.
"""

import argparse
import json
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

VERIFY_ROUNDS = 15


def seed(*, users: int, slots: int) -> dict[str, Any]:
    from django.contrib.auth.hashers import make_password

    from accounts.models import User
    from accounts.services.tokens import session_start
    from core.origin import NO_ORIGIN
    from vault.services import vault_init

    password = secrets.token_urlsafe(16)
    # One Argon2id hash shared by every user: seeding a thousand users must not cost a thousand hashes.
    encoded = make_password(password)
    emails = [f"bench-{index:05d}@example.com" for index in range(users)]
    User.objects.bulk_create(
        [User(email=email, password=encoded, email_verified=True, name=f"Bench {index}") for index, email in enumerate(emails)],
        batch_size=500,
    )
    people = list(User.objects.filter(email__in=emails[:slots]).order_by("email"))
    for person in people:
        vault_init(actor=person, origin=NO_ORIGIN)
    bearer: list[dict[str, str]] = []
    refresh: list[dict[str, str]] = []
    for slot in range(slots):
        person = people[slot % len(people)]
        # Separate sessions, so the refresh chains never touch the session behind the Bearer tokens.
        for target in (bearer, refresh):
            pair = session_start(user=person, origin=NO_ORIGIN, method="password")
            target.append({"email": person.email, "accessToken": pair.access_token, "refreshToken": pair.refresh_token})
    return {"password": password, "emails": emails, "bearer": bearer, "refresh": refresh, "hash": hash_timing(password, encoded)}


def hash_timing(password: str, encoded: str) -> dict[str, Any]:
    """One verification as login runs it (check_password with the configured hasher), timed on an idle machine."""
    from django.contrib.auth.hashers import check_password

    check_password(password, encoded)  # the first call loads the argon2 library
    samples = []
    for _ in range(VERIFY_ROUNDS):
        started = time.perf_counter()
        matched = check_password(password, encoded)
        samples.append(time.perf_counter() - started)
        if not matched:
            raise RuntimeError("the seeded password does not verify against its own hash")
    # encoded is "argon2$argon2id$v=19$m=…,t=…,p=…$salt$hash"
    algorithm, variant, _, parameters = encoded.split("$")[:4]
    return {"hasher": f"{algorithm} {variant} {parameters}", "verify_s": statistics.median(samples), "samples_s": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, required=True)
    parser.add_argument("--slots", type=int, required=True, help="load connections that need their own sessions")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import django

    django.setup()
    args.out.write_text(json.dumps(seed(users=args.users, slots=args.slots)))


if __name__ == "__main__":
    main()
