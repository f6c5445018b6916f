"""Employee scope: reads that see one employee's rows only, enforced by PostgreSQL.

`employee_scope(employee_id)` runs its block in a read-only transaction (a savepoint when
one is open already) in which `crewcall.employee` names the employee: the row-level
security policies of core/migrations/0004_employee_scope.py then hide every other
employee's rows from every query, whatever filter it forgot. The block always ends with a
rollback: that is what undoes the setting (a released savepoint would keep it until the
outer transaction ends) and the read-only mode, so a connection never leaves the block
scoped or read-only, even after an exception. A write inside fails loudly (read-only)
instead of vanishing with the rollback: a scope is for reads.

Setting the scope only ever narrows what is visible, so no caller can gain by it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection, transaction

SETTING = "crewcall.employee"


@contextlib.contextmanager
def employee_scope(employee_id: int) -> Iterator[None]:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, str(int(employee_id))])
        try:
            yield
        finally:
            transaction.set_rollback(True)
