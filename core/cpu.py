"""The bounded pool that runs CPU-heavy work (image decoding, encoding, inference).

Nothing CPU-bound runs on the event loop. The pool is as wide as IMAGE_WORKERS, so at most that
many images are processed at once per worker process: that bounds both CPU contention and the
memory spent on pixels under load.
"""

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from django.conf import settings

T = TypeVar("T")
_executor: ThreadPoolExecutor | None = None


async def run_cpu(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    return await submit_cpu(function, *args, **kwargs)


def submit_cpu(function: Callable[..., T], *args: Any, **kwargs: Any) -> "asyncio.Future[T]":
    """Start `function` on the pool; the future is not a task, so a loop that stops and
    cancels its tasks does not cancel the work, and an awaiter may wait for it to end."""
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(settings.IMAGE_WORKERS, thread_name_prefix="images")
    loop = asyncio.get_running_loop()
    return loop.run_in_executor(_executor, partial(function, *args, **kwargs))
