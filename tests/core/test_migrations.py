"""An existing database upgrades with a plain `migrate`: the outbox model moved from accounts to
mail, and its table and rows stay where they were."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from mail.models import OutboxMessage

# The schema as it was before the outbox moved: the mail app did not exist.
BEFORE_THE_MOVE: list[tuple[str, str | None]] = [("mail", None)]
LAST_BEFORE_THE_MOVE = ("accounts", "0003_usersettings")


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh one sees what is applied now


@pytest.mark.django_db(transaction=True)
def test_a_populated_database_from_before_the_move_upgrades_with_its_rows() -> None:
    old = _migrate(BEFORE_THE_MOVE)
    assert ("accounts", "0004_outbox_moves_to_mail") not in old.loader.applied_migrations
    applied = set(old.loader.applied_migrations)
    graph = old.loader.graph
    # The state of what is applied now: the applied migrations no applied one builds on.
    past_nodes = [node for node in applied if not any(child.key in applied for child in graph.node_map[node].children)]
    assert LAST_BEFORE_THE_MOVE in past_nodes
    past = old.loader.project_state(past_nodes).apps
    user = past.get_model("accounts", "User").objects.create(id="u-1", email="old@example.com", password="!")
    past.get_model("accounts", "OutboxMessage").objects.create(
        user_id=user.id, recipient="old@example.com", subject="Hallo", template="verify_email", body_wrapped="kw1:env-v1:x"
    )
    content_types = past.get_model("contenttypes", "ContentType").objects
    content_types.filter(app_label="mail").delete()
    content_types.get_or_create(app_label="accounts", model="outboxmessage")

    upgraded = _migrate(graph.leaf_nodes())

    assert not upgraded.migration_plan(upgraded.loader.graph.leaf_nodes())
    [message] = OutboxMessage.objects.all()
    assert (message.user_id, message.recipient, message.subject, message.template) == ("u-1", "old@example.com", "Hallo", "verify_email")
    assert OutboxMessage._meta.db_table == "accounts_outboxmessage"
    now = upgraded.loader.project_state().apps
    assert list(now.get_model("contenttypes", "ContentType").objects.filter(model="outboxmessage").values_list("app_label", flat=True)) == [
        "mail"
    ]
