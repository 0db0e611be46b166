"""What every table's import shares: the source, the secret, the report, and which of the old
service's users are here (so rows of users who were not imported are skipped, with the reason)."""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from takeover.envelope import Envelope
from takeover.report import Report, TableReport
from takeover.source import Row, Source

BATCH_SIZE = 500


@dataclass
class Context:
    source: Source
    envelope: Envelope
    report: Report
    progress: Callable[[str], None]
    batch_size: int = BATCH_SIZE
    # Every user id of the source → whether that user is here and not deleted (None: not here).
    users: dict[str, bool | None] = field(default_factory=dict)

    def user_problem(self, user_id: str | None) -> str | None:
        """Why a row of this user cannot come along, or None when it can."""
        if user_id is None or user_id not in self.users:
            return "its user does not exist in the old service (dangling id)"
        state = self.users[user_id]
        if state is None:
            return "its user was not imported"
        if state is False:
            return "its user is deleted"
        return None

    def each_batch(self, table: str, sql: str, handle: Callable[[TableReport, list[Row]], None], *, name: str | None = None) -> TableReport:
        """`handle` every batch of `sql` in a transaction of its own, with progress on long tables."""
        report = self.report.table(name or table)
        if not self.source.has_table(table):
            report.skip_in_bulk("the table is not in the source")
            return report
        total = self.source.count(table)
        for rows in self.source.batches(sql, self.batch_size):
            report.read += len(rows)
            with transaction.atomic():
                handle(report, rows)
            if total > self.batch_size:
                self.progress(f"  {report.table}: {report.read} of {total}")
        return report
