"""The seeding step, run as `python -m bench.seed` with the server's environment before gunicorn
starts: verified users straight through the ORM, one session pair and an initialised vault per
load connection, and the time of one password verification with the production hasher.

Nothing here is part of a measured scenario; it writes what the load generator needs as JSON.
"""

import argparse
import json
import multiprocessing
import os
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

VERIFY_ROUNDS = 15
PARALLEL_WARMUP_S = 0.5


def seed(*, users: int, slots: int, bound_seconds: float) -> dict[str, Any]:
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
    hashing = hash_timing(password, encoded, bound_seconds)
    return {"password": password, "emails": emails, "bearer": bearer, "refresh": refresh, "hash": hashing}


def _verifications_for(password: str, encoded: str, seconds: float) -> int:
    from django.contrib.auth.hashers import check_password

    deadline, done = time.perf_counter() + seconds, 0
    while time.perf_counter() < deadline:
        check_password(password, encoded)
        done += 1
    return done


def parallel_verifications_per_second(password: str, encoded: str, seconds: float) -> float:
    """What the machine allows: one process per core verifying at once for `seconds`, with the
    default allocator (the login's real limit; memory bandwidth makes it less than cores ÷ one)."""
    from django.db import connections

    connections.close_all()  # the forked children must not share this process's connection
    processes = os.process_cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(processes) as pool:
        pool.starmap(_verifications_for, [(password, encoded, PARALLEL_WARMUP_S)] * processes)
        started = time.perf_counter()
        counts = pool.starmap(_verifications_for, [(password, encoded, seconds)] * processes)
        elapsed = time.perf_counter() - started
    return sum(counts) / elapsed


def hash_timing(password: str, encoded: str, bound_seconds: float) -> dict[str, Any]:
    """One verification as login runs it (check_password with the configured hasher), timed on an
    idle machine, and the throughput of all cores verifying at once: the login's bound."""
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
    return {
        "hasher": f"{algorithm} {variant} {parameters}",
        "verify_s": statistics.median(samples),
        "samples_s": samples,
        "parallel_rps": parallel_verifications_per_second(password, encoded, bound_seconds),
        "processes": os.process_cpu_count() or 1,
    }


def bound_only(seconds: float) -> dict[str, Any]:
    """The hash bound again, with a hash of its own: measured right before the login scenario."""
    from django.contrib.auth.hashers import make_password

    password = secrets.token_urlsafe(16)
    return {"parallel_rps": parallel_verifications_per_second(password, make_password(password), seconds)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, help="required unless --bound-only")
    parser.add_argument("--slots", type=int, help="load connections that need their own sessions; required unless --bound-only")
    parser.add_argument("--bound-seconds", type=float, default=3.0, help="how long all cores verify at once for the bound")
    parser.add_argument("--bound-only", action="store_true", help="seed nothing, only measure the hash bound")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    if not args.bound_only and (args.users is None or args.slots is None):
        parser.error("--users and --slots are required to seed")

    import django

    django.setup()
    if args.bound_only:
        figures = bound_only(args.bound_seconds)
    else:
        figures = seed(users=args.users, slots=args.slots, bound_seconds=args.bound_seconds)
    args.out.write_text(json.dumps(figures))


if __name__ == "__main__":
    main()
