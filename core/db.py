"""Database connection hygiene for async code."""

from asgiref.sync import sync_to_async
from django.db import connections


def close_idle_connections() -> None:
    """Hand this thread's connections back to their pool, never inside a transaction.

    Code that runs outside Django's request cycle (ASGI layers, start-up, work done after the
    answer) calls it when done: nothing else would hand its connection back to the pool.
    SQLite has no pool: its connections stay open. Closing one would only cost a reconnect at
    the next query, and closing the database's last one runs a WAL checkpoint (an fsync).
    """
    for connection in connections.all(initialized_only=True):
        if connection.vendor != "sqlite" and not connection.in_atomic_block:
            connection.close()


async def release_db_connections() -> None:
    """Hand the request's connections back before a wait that needs no database.

    A request otherwise keeps its connection until it ends: a few dozen uploads waiting on a
    provider (or queued for a password hash or image decoding) would hold every connection
    while others time out waiting for one. With the pool, getting one back is cheap. Without
    one (SQLite) there is nothing to hand back, and no thread hop is spent finding that out.
    """
    if connections["default"].vendor != "sqlite":
        await sync_to_async(close_idle_connections)()
