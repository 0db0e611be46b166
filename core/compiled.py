"""The statements the hot paths run on every request, compiled to SQL once per process.

Django builds and compiles a queryset afresh on every call: on the benchmark machine that is about
0.3 ms of CPU for a one-row lookup by key, against 0.04 ms for the round trip itself, and a token
check or a Bearer request asks the same question each time. A `CompiledQuery` is written as an
ordinary queryset with named slots where each call's values go; the first call compiles it (for
the connection's own database), later calls only bind the values. Rows come back through the
compiler's own converters, so a SQLite datetime is as aware as through the ORM, and `instances`
builds model instances the way the ORM's iterator does (`Model.from_db`).

Slots take strings only (our ids and hashes): a slot's marker must pass the field's own
preparation unchanged. `row_insert` and `row_update` do the same for the rows a sign-in, a token
rotation or a vault access writes: the statement is Django's, built once; the values are prepared
by their fields on every call; `write_all` sends the writes of one act together. Where an act's
writes follow from what its own statement finds (a refresh token's rotation), `columns`,
`row_insert_select` and `instances_of` help build that statement from the models' names and read
its rows back as the ORM would.
"""

import functools
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.models import signals, sql
from django.db.transaction import TransactionManagementError

from core.rls import SETTING

_MARKER = "\x00slot:{}\x00"  # a NUL cannot occur in a real value: PostgreSQL text refuses it


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Per parameter: the slot it takes its value from, or None and the constant compiled in.
    bindings: list[tuple[str | None, Any]]
    converters: dict[int, tuple[list[Any], Any]]
    locks: bool  # SELECT … FOR UPDATE: only inside a transaction, as the ORM insists


class CompiledQuery:
    def __init__(self, build: Callable[..., "models.QuerySet[Any]"], *slots: str) -> None:
        """`build(*markers)` returns the queryset, one marker per slot in `slots` order."""
        self._build = build
        self._slots = slots
        self._compiled: dict[str, _Compiled] = {}  # by database vendor

    def _compile(self, vendor: str) -> _Compiled:
        markers = {_MARKER.format(name): name for name in self._slots}
        queryset = self._build(*markers)
        compiler = queryset.query.get_compiler(using=DEFAULT_DB_ALIAS)
        sql, params = compiler.as_sql()
        bindings: list[tuple[str | None, Any]] = [
            (markers[value], None) if isinstance(value, str) and value in markers else (None, value) for value in params
        ]
        if {slot for slot, _ in bindings if slot} != set(self._slots):
            raise ValueError("a slot did not reach the compiled SQL as itself; slots take strings only")
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        compiled = _Compiled(sql=sql, bindings=bindings, converters=converters, locks=queryset.query.select_for_update)
        self._compiled[vendor] = compiled
        return compiled

    def rows(self, along: Sequence["Write"] = (), *, acting_as: str | None = None, **values: str) -> list[tuple[Any, ...]]:
        """The query's rows; `along`: writes of the caller's transaction that go with it, on
        PostgreSQL in the same statement (one round trip), elsewhere before it. `acting_as`: the
        read alone, as that user under row-level security (`_acting_read`), needing no transaction."""
        connection = connections[DEFAULT_DB_ALIAS]
        compiled = self._compiled.get(connection.vendor) or self._compile(connection.vendor)
        if acting_as is not None and (compiled.locks or along):
            raise ValueError("a read acting as a user runs alone: no lock, no writes along")
        if (compiled.locks or along) and connection.get_autocommit():
            # The writes must stand or fall with what the caller makes of the rows.
            raise TransactionManagementError("select_for_update and writes along a read need a transaction.")
        statement, params = compiled.sql, [values[slot] if slot else constant for slot, constant in compiled.bindings]
        keyed: list[Write] = []
        combined = bool(along) and connection.vendor == "postgresql" and all(write.sql for write in along)
        if combined:
            statement, params, keyed = _read_along(along, statement, params)
        elif along:  # SQLite, or an instance saved through the ORM
            write_all(*along)
        if acting_as is not None and connection.vendor == "postgresql":
            statement, params = _acting_read(acting_as, statement, params)
        with connection.cursor() as cursor:
            cursor.execute(statement, params)
            fetched = cursor.fetchall()
        if keyed:  # each row: the keys, the flag (NULL when the read found nothing), the read's row
            fetched = [row[1:] for row in _keys_taken(fetched, keyed) if row[0] is not None]
        if combined:
            _written(along)
        return _converted(fetched, compiled.converters, connection)

    def first(self, along: Sequence["Write"] = (), *, acting_as: str | None = None, **values: str) -> tuple[Any, ...] | None:
        found = self.rows(along, acting_as=acting_as, **values)
        return found[0] if found else None


@functools.cache  # asked per row by `instances`; a model's fields do not change while it runs
def field_names(model: type[models.Model], via: str = "") -> tuple[str, ...]:
    """The columns `instances` expects of `model`, in the model's own order; `via` is the lookup
    path from the queried model ("user__")."""
    return tuple(f"{via}{field.attname}" for field in model._meta.concrete_fields)


def columns(model: type[models.Model], alias: str) -> str:
    """`field_names(model)` as the SQL of a hand-built statement: each column under `alias`."""
    quote = connections[DEFAULT_DB_ALIAS].ops.quote_name
    return ", ".join(f"{alias}.{quote(cast(str, field.column))}" for field in model._meta.concrete_fields)


def instances_of(statement: str, params: Sequence[Any], *kinds: type[models.Model]) -> list[list[Any]]:
    """Run a hand-built statement whose rows hold each kind's `columns` in turn: per row, the
    model instances, every value through its field's converters as the ORM reads it."""
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        fetched = cursor.fetchall()
    return [instances(row, *kinds) for row in _converted(fetched, _field_converters(kinds, connection.vendor), connection)]


@functools.cache
def _field_converters(kinds: tuple[type[models.Model], ...], vendor: str) -> dict[int, tuple[list[Any], Any]]:
    """By position in a row of `kinds`' columns, as a compiler's `get_converters` gives them."""
    connection = connections[DEFAULT_DB_ALIAS]
    cols = [field.get_col(field.model._meta.db_table) for kind in kinds for field in kind._meta.concrete_fields]
    converters = {}
    for position, col in enumerate(cols):
        if functions := connection.ops.get_db_converters(col) + col.get_db_converters(connection):
            converters[position] = (functions, col)
    return converters


def _converted(fetched: Sequence[Sequence[Any]], converters: dict[int, tuple[list[Any], Any]], connection: Any) -> list[tuple[Any, ...]]:
    if not converters:
        return [tuple(row) for row in fetched]
    converted = []
    for row in fetched:
        cells = list(row)
        for position, (functions, expression) in converters.items():
            for function in functions:
                cells[position] = function(cells[position], expression, connection)
        converted.append(tuple(cells))
    return converted


def instances(row: Sequence[Any], *kinds: type[models.Model]) -> list[Any]:
    """Model instances, as the ORM makes them (`Model.from_db`), from a compiled row that holds
    each kind's `field_names` one after the other."""
    made, start = [], 0
    for kind in kinds:
        names = field_names(kind)
        made.append(kind.from_db(DEFAULT_DB_ALIAS, names, row[start : start + len(names)]))
        start += len(names)
    return made


# --- writes -------------------------------------------------------------------------------------
# The rows every sign-in, token rotation and vault access appends or touches: through the ORM an
# INSERT costs 0.21 ms of CPU here, as SQL 0.07 ms. The SQL is built once per model (and set of
# columns) and database vendor; each value is prepared by its own field, as `save()` prepares it.


@dataclass(frozen=True)
class _Insert:
    sql: str
    fields: list["models.Field[Any, Any]"]
    returning: list["models.Field[Any, Any]"]


_inserts: dict[tuple[type[models.Model], str], _Insert] = {}
_updates: dict[tuple[type[models.Model], tuple[str, ...], str], tuple[str, list[tuple[str, Any]]]] = {}


def _has_receivers(model: type[models.Model]) -> bool:
    # Where a signal receiver listens, the ORM's own save keeps its promise to call it.
    return signals.pre_save.has_listeners(model) or signals.post_save.has_listeners(model)


def _insert_for(model: type[models.Model]) -> _Insert:
    connection = connections[DEFAULT_DB_ALIAS]
    key = (model, connection.vendor)
    if key not in _inserts:
        meta = model._meta
        returning = list(meta.db_returning_fields)
        fields = [field for field in meta.local_concrete_fields if field not in returning]
        query = sql.InsertQuery(model)
        query.insert_values(fields, [model()])  # a template row: only the statement is kept
        compiler = query.get_compiler(using=DEFAULT_DB_ALIAS)
        compiler.returning_fields = returning
        [(statement, _)] = compiler.as_sql()
        _inserts[key] = _Insert(sql=statement, fields=fields, returning=returning)
    return _inserts[key]


@dataclass(frozen=True)
class Write:
    """One INSERT or UPDATE with its values bound, for `write_all`. No SQL: the instance is saved
    through the ORM (its model has a save signal receiver)."""

    sql: str
    params: list[Any]
    # An INSERT whose key the database makes: the instance that takes it from RETURNING.
    inserted: models.Model | None = None
    returning: tuple["models.Field[Any, Any]", ...] = ()


def row_insert(instance: models.Model) -> Write:
    """The INSERT of a new instance, as `save(force_insert=True)` prepares its values."""
    insert = _insert_for(type(instance))
    if _orm_saves(instance, insert):
        return Write("", [], instance)
    return Write(insert.sql, _insert_values(insert, instance), instance, tuple(insert.returning))


def _orm_saves(instance: models.Model, insert: _Insert) -> bool:
    """A model with a signal receiver, or a key set by hand where the database makes one: the
    ORM's own save inserts it, not the statement built once."""
    return _has_receivers(type(instance)) or any(getattr(instance, field.attname) is not None for field in insert.returning)


def _insert_values(insert: _Insert, instance: models.Model, *but: str) -> list[Any]:
    connection = connections[DEFAULT_DB_ALIAS]
    return [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in insert.fields if field.name not in but]


def row_insert_select(instance: models.Model, source: str, **taken: str) -> Write:
    """`row_insert(instance)` once for each row of `source`, a part of the same statement's WITH
    (INSERT … SELECT … FROM source): each field named in `taken` gets that column of the row, a
    value the statement only learns as it runs; the others are the instance's, prepared as
    `row_insert` prepares them. No key comes back."""
    model = type(instance)
    insert = _insert_for(model)
    if _orm_saves(instance, insert):
        raise ValueError(f"{model._meta.label}: only a row whose key the database makes, with no save signal receiver")
    statement = _insert_select_sql(model, source, tuple(taken.items()), connections[DEFAULT_DB_ALIAS].vendor)
    return Write(statement, _insert_values(insert, instance, *taken))


@functools.cache  # a rotation asks for the same statement every time
def _insert_select_sql(model: type[models.Model], source: str, taken: tuple[tuple[str, str], ...], vendor: str) -> str:
    quote, columns_of = connections[DEFAULT_DB_ALIAS].ops.quote_name, dict(taken)
    fields = _insert_for(model).fields
    names = ", ".join(quote(cast(str, field.column)) for field in fields)
    selected = ", ".join(f"{source}.{quote(columns_of[field.name])}" if field.name in columns_of else "%s" for field in fields)
    return f"INSERT INTO {quote(model._meta.db_table)} ({names}) SELECT {selected} FROM {source}"  # noqa: S608 - names from the model; values are bound


# --- acting as a user in one statement -----------------------------------------------------------
# `acting_as` (core/rls.py) is a transaction: BEGIN, the setting, the work, COMMIT. A key fetch or a
# mission grant needs one read and one write; with the setting made inside each statement they need
# no transaction, and under load those three round trips were a sixth of their CPU. A statement
# acting as a user starts with a part (`ACTING`) that makes the setting and returns the user's id;
# every part that meets a policy runs on that part's row, so only once the setting is made (a
# policy's `current_setting` is evaluated where its table is scanned, not in the statement's
# order). Run alone (autocommit), the statement is its own transaction and the setting ends with
# it. Were a part ever to run before the setting, its policy would see none and fail closed: a
# read finds nothing, a write is refused.
ACTING = "acting"


def _acting_part(user_id: str) -> tuple[str, list[Any]]:
    if not user_id:
        raise ValueError("row-level security needs a user id; refusing to run without one")
    return f"{ACTING} AS MATERIALIZED (SELECT set_config(%s, %s, true) AS user_id)", [SETTING, user_id]


def _acting_read(user_id: str, read: str, params: list[Any]) -> tuple[str, list[Any]]:
    """`read` acting as `user_id`."""
    part, part_params = _acting_part(user_id)
    return _acting_read_sql(part, read), [*part_params, *params]


@functools.cache  # a compiled read is wrapped the same way on every call
def _acting_read_sql(part: str, read: str) -> str:
    """A LATERAL subquery that names the acting row, and that the planner may not merge into the
    join (OFFSET 0), runs for that row once it is made."""
    return (
        f"WITH {part} SELECT r.* FROM {ACTING} CROSS JOIN LATERAL"  # noqa: S608 - Django's own SQL; values are bound
        f" (SELECT q.* FROM ({read}) q WHERE {ACTING}.user_id IS NOT NULL OFFSET 0) r"
    )


def row_insert_acting(instance: models.Model) -> Write:
    """`row_insert(instance)` of a row-level-secured row, for `write_all(acting_as=...)`: on
    PostgreSQL it is inserted once for the acting row (INSERT … SELECT … FROM it), so its policy
    checks it once the setting is made, and refuses it if it is not the acting user's."""
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        return row_insert(instance)
    return row_insert_select(instance, ACTING)


def row_update(model: type[models.Model], pk: Any, **values: Any) -> Write:
    """`model.objects.filter(pk=pk).update(**values)` (which sends no signals either) as a Write."""
    connection = connections[DEFAULT_DB_ALIAS]
    key = (model, tuple(values), connection.vendor)
    if key not in _updates:
        query = cast(sql.UpdateQuery, model._default_manager.filter(pk=pk).query.chain(sql.UpdateQuery))
        query.add_update_values(values)
        statement, params = query.get_compiler(using=DEFAULT_DB_ALIAS).as_sql()
        if len(params) != len(values) + 1:
            raise ValueError(f"the UPDATE of {model._meta.label} does not take one parameter per value and the key")
        _updates[key] = (statement, [(name, model._meta.get_field(name)) for name in values])
    statement, fields = _updates[key]
    bound = [field.get_db_prep_save(values[name], connection) for name, field in fields]
    bound.append(model._meta.pk.get_db_prep_value(pk, connection))
    return Write(statement, bound)


def _keys_taken(rows: Sequence[Sequence[Any]], keyed: Sequence[Write]) -> list[Sequence[Any]]:
    """The keys the database made, at the start of each row, go to their instances in the order
    of `keyed`; the rest of each row is returned."""
    if not rows:
        raise ValueError("an INSERT returned no key")
    cells = iter(rows[0])
    for write in keyed:
        for field in write.returning:
            setattr(write.inserted, field.attname, next(cells))
    taken = sum(len(write.returning) for write in keyed)
    return [row[taken:] for row in rows]


def _run(sql: str, params: Sequence[Any], keyed: Sequence[Write]) -> int:
    """One statement; the keys the database made go to their instances, in the order of `keyed`."""
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        if keyed:
            row = cursor.fetchone()
            _keys_taken([row] if row else [], keyed)
        return int(cursor.rowcount)  # after the fetch: SQLite counts a RETURNING row once it is read


def _with(writes: Sequence[Write]) -> tuple[list[str], str]:
    """Each write as a data-modifying WITH part (executed once, whether read or not), and the
    parts that return keys the database made, for one row of them (their cross product)."""
    parts = [f"w{index} AS ({write.sql})" for index, write in enumerate(writes)]
    return parts, ", ".join(f"w{index}" for index, write in enumerate(writes) if write.returning)


def _combined(writes: Sequence[Write], acting_as: str | None = None) -> tuple[str, list[Any], list[Write]]:
    """Several writes as one PostgreSQL statement, after the acting part if it acts as a user;
    the keys the database made come in one row."""
    parts, sources = _with(writes)
    params = [value for write in writes for value in write.params]
    if acting_as is not None:
        part, part_params = _acting_part(acting_as)
        parts, params = [part, *parts], [*part_params, *params]
    # Without keys to read back, the last write is the statement itself.
    statement = f"WITH {', '.join(parts)} SELECT * FROM {sources}" if sources else f"WITH {', '.join(parts[:-1])} {writes[-1].sql}"  # noqa: S608 - Django's own SQL; values are bound
    return statement, params, [write for write in writes if write.returning]


def _read_along(writes: Sequence[Write], read: str, params: list[Any]) -> tuple[str, list[Any], list[Write]]:
    """The writes and a read as one PostgreSQL statement. The read sees the snapshot the writes
    start from, not their rows. With keys made, each row is the keys, a flag and the read's row
    (a LEFT JOIN: the keys come back even when the read finds nothing; the flag is NULL then)."""
    parts, sources = _with(writes)
    if sources:
        parts.append(f"r AS ({read})")
        statement = f"WITH {', '.join(parts)} SELECT * FROM (SELECT * FROM {sources}) k LEFT JOIN (SELECT true, r.* FROM r) r ON true"  # noqa: S608 - as above
    else:
        statement = f"WITH {', '.join(parts)} {read}"
    keyed = [write for write in writes if write.returning]
    return statement, [value for write in writes for value in write.params] + params, keyed


def write_all(*writes: Write, acting_as: str | None = None) -> None:
    """Run the writes: on PostgreSQL in one statement, one round trip instead of one each (a
    sign-in's session, tokens and event, say). Its parts run on one snapshot and see none of each
    other's changes, so they must touch distinct rows and no part may depend on another's effect
    (the foreign keys are checked at commit). All or nothing: one statement is by itself, more
    (SQLite, or an instance saved through the ORM) run in a transaction, so a caller with nothing
    else to write needs none of its own (a BEGIN and a COMMIT: two round trips). `acting_as`: the
    statement acts as that user (`row_insert_acting` makes its row-level-secured rows); instances
    saved through the ORM follow it then, in its transaction."""
    saved = [write.inserted for write in writes if not write.sql and write.inserted is not None]
    statements = [write for write in writes if write.sql]
    postgres = connections[DEFAULT_DB_ALIAS].vendor == "postgresql"
    if acting_as is not None and not statements:
        raise ValueError("writes acting as a user need a statement to act in")
    acting = acting_as if postgres else None
    combined = postgres and (len(statements) > 1 or acting is not None)
    statements_sent = len(saved) + (1 if combined else len(statements))
    # Acting as a user, the ORM's saves follow the statement that makes the setting they may need.
    before, after = (saved, []) if acting is None else ([], saved)
    with transaction.atomic(using=DEFAULT_DB_ALIAS, savepoint=False) if statements_sent > 1 else nullcontext():
        for instance in before:
            instance.save(force_insert=True)
        if combined:
            _run(*_combined(statements, acting))
        else:
            for write in statements:
                _run(write.sql, write.params, [write] if write.returning else [])
        for instance in after:
            instance.save(force_insert=True)
    _written(statements)


def _written(writes: Sequence[Write]) -> None:
    """The inserted instances are saved now, as the ORM marks them after a save."""
    for write in writes:
        if write.inserted is not None:
            write.inserted._state.adding = False
            write.inserted._state.db = DEFAULT_DB_ALIAS


def row_insert_or_lock(instance: models.Model) -> None:
    """INSERT a new row or, where one with its key exists, lock that row for the transaction (as
    `SELECT … FOR UPDATE` does) and change nothing: one statement, where a locking read that
    missed, the INSERT and the read again were three. Callers with one key queue on the row: one
    inserts, the others wait for its commit, then lock it in turn. Nothing is read back: a
    statement after this one sees the row as the lock's last holder left it."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.get_autocommit():
        raise TransactionManagementError("a row lock needs a transaction.")
    write = row_insert(instance)
    if not write.sql or write.returning:
        raise ValueError(f"{type(instance)._meta.label}: only a row whose key the caller gives, with no save signal receiver")
    key = connection.ops.quote_name(cast(str, type(instance)._meta.pk.column))
    # DO UPDATE locks the row it meets (FOR UPDATE, since it names the key); WHERE false writes nothing.
    _run(f"{write.sql} ON CONFLICT ({key}) DO UPDATE SET {key} = EXCLUDED.{key} WHERE false", write.params, [])


def insert_row[M: models.Model](instance: M) -> M:
    """Save a new instance, as `save(force_insert=True)` does, with the INSERT built once."""
    write_all(row_insert(instance))
    return instance
