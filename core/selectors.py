from django.core.cache import cache
from django.db import connection


def dependencies_ready() -> None:
    """Raise unless the database and the cache both answer."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set("health:ready", "1", timeout=5)
    if cache.get("health:ready") != "1":
        raise ConnectionError("cache did not keep a value")
