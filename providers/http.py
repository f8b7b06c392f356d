"""The one place that builds the HTTP client provider drivers share, and sends through it.

One `httpx.AsyncClient` per process keeps connections to each provider warm. Every exchange
goes through `send()`, which reads the answer under a size cap and turns transport failures into
the `network` failure code, so drivers only ever see a status, headers and bytes.

Known trap: httpcore (<= 1.0.9) leaks a pool slot when a request is cancelled while it waits
for a connection (encode/httpcore#1093). The connection limit therefore sits above the
provider concurrency limits, so requests never wait; and should slots leak anyway, a few pool
timeouts in a row retire the client and the next request gets a fresh one.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, urljoin, urlsplit

import httpx
import structlog
from django.conf import settings

from providers.base import BAD_RESPONSE, NETWORK, ProviderError

log = structlog.get_logger(__name__)

POOL_TIMEOUTS_BEFORE_REBUILD = 3
# Redirects followed when fetching a link a provider handed over, each one checked again.
MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Reply:
    status_code: int
    headers: httpx.Headers
    body: bytes = field(repr=False)


@dataclass(eq=False)
class _Pool:
    client: httpx.AsyncClient
    loop: asyncio.AbstractEventLoop
    in_flight: int = 0
    pool_timeouts: int = 0
    retired: bool = False


def timeout_within(seconds: float) -> httpx.Timeout:
    """The client's timeouts, none longer than `seconds` (what is left of a job's window)."""
    cap = max(seconds, 0.01)
    read = min(settings.PROVIDER_HTTP_READ_TIMEOUT_SECONDS, cap)
    return httpx.Timeout(
        connect=min(settings.PROVIDER_HTTP_CONNECT_TIMEOUT_SECONDS, cap),
        read=read,
        write=read,
        pool=min(settings.PROVIDER_HTTP_POOL_TIMEOUT_SECONDS, cap),
    )


def _new_client() -> httpx.AsyncClient:
    return httpx.AsyncClient(
        limits=httpx.Limits(
            max_connections=settings.PROVIDER_HTTP_MAX_CONNECTIONS,
            max_keepalive_connections=20,
        ),
        timeout=timeout_within(float("inf")),
        headers={"User-Agent": "PhotoChanger"},
    )


class _SharedClient:
    def __init__(self) -> None:
        self._pool: _Pool | None = None
        self._closing: set[asyncio.Task] = set()

    def _current(self) -> _Pool:
        # A client belongs to the event loop that opened its connections. uvicorn runs one loop
        # per process; tests and async_to_sync run several, which each get their own client.
        loop = asyncio.get_running_loop()
        if self._pool is None or self._pool.loop is not loop or self._pool.retired:
            self._pool = _Pool(_new_client(), loop)
        return self._pool

    async def send(
        self, method: str, url: str, *, max_bytes: int, timeouts: httpx.Timeout, **kwargs
    ) -> Reply:
        pool = self._current()
        pool.in_flight += 1
        try:
            # Leaving the stream context closes the response: a cancelled or oversized exchange
            # drops its connection instead of returning it to the pool half-read.
            async with pool.client.stream(method, url, timeout=timeouts, **kwargs) as response:
                body = await _read_capped(response, max_bytes)
        except httpx.PoolTimeout as error:
            self._count_pool_timeout(pool)
            raise ProviderError(NETWORK, "no free connection to the provider") from error
        except httpx.TimeoutException as error:
            raise ProviderError(NETWORK, f"provider timed out ({type(error).__name__})") from error
        except httpx.RequestError as error:
            raise ProviderError(
                NETWORK, f"provider unreachable ({type(error).__name__})"
            ) from error
        finally:
            pool.in_flight -= 1
            if pool.retired and pool.in_flight == 0:
                self._close_later(pool.client)
        pool.pool_timeouts = 0
        return Reply(response.status_code, response.headers, body)

    def _count_pool_timeout(self, pool: _Pool) -> None:
        pool.pool_timeouts += 1
        if pool.pool_timeouts >= POOL_TIMEOUTS_BEFORE_REBUILD and not pool.retired:
            # In-flight requests finish on the old client; it closes after the last of them.
            log.warning("providers.http.client_rebuilt", pool_timeouts=pool.pool_timeouts)
            pool.retired = True

    def _close_later(self, client: httpx.AsyncClient) -> None:
        task = asyncio.get_running_loop().create_task(client.aclose())
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def aclose(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None and pool.loop is asyncio.get_running_loop():
            await pool.client.aclose()
        if self._closing:
            await asyncio.gather(*self._closing, return_exceptions=True)


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(max_bytes: int) -> ProviderError:
    return ProviderError(BAD_RESPONSE, f"provider answer is larger than {max_bytes} bytes")


_shared = _SharedClient()


async def send(
    method: str, url: str, *, max_bytes: int, timeouts: httpx.Timeout, **kwargs
) -> Reply:
    """One exchange with a provider: its reply, or ProviderError(NETWORK | BAD_RESPONSE).

    `timeouts` are httpx's per-phase limits (see timeout_within); `kwargs` go to httpx
    (`headers`, `content`, `data`, `follow_redirects`).
    """
    return await _shared.send(method, url, max_bytes=max_bytes, timeouts=timeouts, **kwargs)


async def close_client() -> None:
    """Close the shared client; the ASGI lifespan calls it at shutdown."""
    await _shared.aclose()


async def fetch_link(
    url: str,
    *,
    trusted_origin: str,
    public_hosts: Iterable[str],
    max_bytes: int,
    timeouts: httpx.Timeout,
) -> Reply:
    """GET a link a provider's answer pointed to (a result image), redirects re-checked per hop.

    A link may lead only to `trusted_origin` (the provider's configured API host) or to a host
    named in `public_hosts` that resolves to public addresses alone: a hostile or forged answer
    must not make the server fetch its own /metrics, its network or a cloud metadata address.
    Known limit: a listed host's name is resolved again by the client, so its DNS is trusted.
    """
    for _ in range(MAX_REDIRECTS + 1):
        await _check_link(url, trusted_origin, {host.lower() for host in public_hosts})
        reply = await send("GET", url, max_bytes=max_bytes, timeouts=timeouts)
        location = reply.headers.get("Location", "")
        if reply.status_code not in _REDIRECTS or not location:
            return reply
        url = urljoin(url, location)
    raise ProviderError(BAD_RESPONSE, f"more than {MAX_REDIRECTS} redirects")


async def _check_link(url: str, trusted_origin: str, public_hosts: set[str]) -> None:
    link = urlsplit(url)
    if link.scheme not in _DEFAULT_PORTS or not link.hostname:
        raise ProviderError(BAD_RESPONSE, "the link is not an http(s) URL")
    if _origin(link) == _origin(urlsplit(trusted_origin)):
        return
    if link.hostname.lower() not in public_hosts:
        raise ProviderError(BAD_RESPONSE, f"the link points to a host not allowed: {link.hostname}")
    addresses = await _resolve(link.hostname, _origin(link)[2])
    if not addresses or not all(_is_public(address) for address in addresses):
        raise ProviderError(BAD_RESPONSE, f"{link.hostname} resolves to a non-public address")


def _origin(link: SplitResult) -> tuple[str, str, int | None]:
    try:
        port = link.port or _DEFAULT_PORTS.get(link.scheme)
    except ValueError:  # a port that is not a number
        port = None
    return link.scheme, (link.hostname or "").lower(), port


async def _resolve(host: str, port: int | None) -> list[str]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise ProviderError(NETWORK, f"cannot resolve {host}") from error
    return [str(info[4][0]) for info in infos]


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # IPv6 scope ids: fe80::1%eth0
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_reserved
        or ip.is_multicast
        or ip.is_unspecified
    )
