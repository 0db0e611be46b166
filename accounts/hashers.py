from django.contrib.auth.hashers import Argon2PasswordHasher


class OwaspArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2id with the OWASP parameters (m=19 MiB, t=2, p=1).

    Django's defaults spend 100 MiB across 8 lanes; on the small hosts this service runs on that
    buys little extra cost for an attacker and a lot of latency for every sign-in.
    """

    time_cost = 2
    memory_cost = 19 * 1024
    parallelism = 1
