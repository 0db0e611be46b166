"""The clock of services that expire things (DESIGN.md rule 10): tests move it instead of sleeping."""

import time


def timestamp() -> float:
    return time.time()
