"""Counters the hardening tests fill and the end of the run prints (tests/conftest.py)."""

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Figures:
    operations: set[str] = field(default_factory=set)
    cases: int = 0
    server_errors: int = 0
    schema_violations: int = 0
    faults: list[str] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)

    def record_case(self, operation: str, status: int) -> None:
        self.operations.add(operation)
        self.cases += 1
        self.statuses[status] += 1
        if status >= 500:
            self.server_errors += 1

    def lines(self) -> list[str]:
        return [
            f"operations fuzzed: {len(self.operations)}",
            f"cases sent: {self.cases} (by status: {dict(sorted(self.statuses.items()))})",
            f"5xx seen: {self.server_errors}",
            f"schema violations: {self.schema_violations}",
            f"faults injected and survived: {len(self.faults)} ({', '.join(self.faults) or 'none'})",
        ]


FIGURES = Figures()
