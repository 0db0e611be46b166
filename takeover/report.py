"""What an import did, table by table: rows read, imported, already here, skipped and why.
Ids and counts only: no value of a row is ever written here."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

# Reasons shared by many rows (expired sessions, transient tables) are counted, not listed.
LISTED_SKIPS_MAX = 50


@dataclass
class TableReport:
    table: str
    read: int = 0
    imported: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    skipped_in_bulk: Counter[str] = field(default_factory=Counter)

    def skip(self, row_id: object, reason: str) -> None:
        self.skipped.append((str(row_id), reason))

    def skip_in_bulk(self, reason: str, count: int = 1) -> None:
        self.skipped_in_bulk[reason] += count

    @property
    def skipped_count(self) -> int:
        return len(self.skipped) + sum(self.skipped_in_bulk.values())

    def lines(self) -> list[str]:
        lines = [f"{self.table}: read {self.read}, imported {self.imported}, unchanged {self.unchanged}, skipped {self.skipped_count}"]
        lines += [f"  skipped {row_id}: {reason}" for row_id, reason in self.skipped[:LISTED_SKIPS_MAX]]
        if len(self.skipped) > LISTED_SKIPS_MAX:
            lines.append(f"  … and {len(self.skipped) - LISTED_SKIPS_MAX} more skipped rows")
        lines += [f"  skipped {count}: {reason}" for reason, count in sorted(self.skipped_in_bulk.items())]
        return lines


@dataclass
class Report:
    dry_run: bool
    tables: list[TableReport] = field(default_factory=list)

    def table(self, name: str) -> TableReport:
        report = TableReport(name)
        self.tables.append(report)
        return report

    @property
    def imported(self) -> int:
        return sum(table.imported for table in self.tables)

    def summary(self) -> str:
        if self.dry_run:
            return f"Dry run: {self.imported} rows would be imported; nothing was written."
        if self.imported == 0:
            return "Nothing changed: every row of the old service is here already."
        return f"Imported {self.imported} rows from the old service."

    def write(self, out: Callable[[str], None]) -> None:
        for table in self.tables:
            for line in table.lines():
                out(line)
        out(self.summary())
