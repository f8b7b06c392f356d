"""Result links in a provider's answer are fetched only from where the provider lives.

A hostile or forged Turbotext answer must not make the server fetch from itself (its /metrics),
its network or a cloud metadata address, directly or through a redirect.
"""

import httpx
import pytest

from providers import http
from providers.base import ProviderError
from providers.tests.factories import ImageInputFactory, ProviderJobFactory, TemplateImageFactory
from providers.tests.fakes import (
    Answer,
    FakeMediaHost,
    FakeTurbotext,
    TurbotextScenario,
    jpeg_bytes,
    json_answer,
    png_bytes,
)
from providers.turbotext import TurbotextDriver

driver = TurbotextDriver()


class MovingTurbotext(FakeTurbotext):
    """Its download link answers with a redirect to `moves_to` (a path or a whole URL)."""

    moves_to: str | None = None

    def _file(self, path: str) -> Answer:
        if path == "/download.php" and self.moves_to:
            return Answer(status=302, headers=(("Location", self.moves_to),))
        return super()._file(path)


@pytest.fixture
def turbotext(settings):
    with MovingTurbotext() as fake:
        settings.TURBOTEXT_BASE_URL = fake.url
        settings.TURBOTEXT_POLL_SECONDS = 0.01
        yield fake


@pytest.fixture
def victim():
    """Another server on 127.0.0.1, standing for PhotoChanger's own /metrics or a LAN host."""
    with FakeMediaHost() as host:
        yield host


@pytest.fixture
def job(media_host):
    photo, template = jpeg_bytes(), png_bytes((320, 240))
    return ProviderJobFactory(
        operation="style_transfer",
        photo=ImageInputFactory(data=photo, url=media_host.publish(photo, "image/jpeg")),
        templates=(
            TemplateImageFactory(
                role="style", data=template, url=media_host.publish(template, "image/png")
            ),
        ),
        api_key=FakeTurbotext.api_key,
    )


def done_with_link(link: str) -> TurbotextScenario:
    return TurbotextScenario(
        done=json_answer({"success": True, "error": "", "data": {}, "uploaded_image": link})
    )


def failure(run, coroutine) -> ProviderError:
    with pytest.raises(ProviderError) as caught:
        run(coroutine)
    return caught.value


def test_the_result_is_fetched_from_turbotexts_own_host(run, turbotext, job):
    result = run(driver.process(job))

    assert result.data == turbotext.result_image


@pytest.mark.parametrize(
    "link",
    [
        "{victim}/metrics",
        "{victim}/../metrics",
        "http://turbotext.example@{victim_hostport}/metrics",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{victim_port}/metrics",
        "http://localhost:{victim_port}/metrics",
        "http://0.0.0.0:{victim_port}/metrics",
    ],
    ids=["loopback", "dot-dot", "userinfo-trick", "metadata", "ipv6-loopback", "localhost", "zero"],
)
def test_a_link_to_another_host_is_refused_with_bad_response(run, turbotext, victim, job, link):
    victim_hostport = victim.url.removeprefix("http://")
    turbotext.scenario = done_with_link(
        link.format(
            victim=victim.url,
            victim_hostport=victim_hostport,
            victim_port=victim_hostport.rsplit(":", 1)[1],
        )
    )

    assert failure(run, driver.process(job)).code == "bad_response"
    assert victim.received == []


def test_a_redirect_to_another_host_is_refused(run, turbotext, victim, job):
    turbotext.moves_to = f"{victim.url}/metrics"

    assert failure(run, driver.process(job)).code == "bad_response"
    assert victim.received == []


def test_a_redirect_on_turbotexts_own_host_is_followed(run, turbotext, job):
    turbotext.moves_to = "/image/moved.png"

    assert run(driver.process(job)).data == turbotext.result_image


def test_a_redirect_loop_stops_after_a_few_hops(run, turbotext, job):
    turbotext.moves_to = "/download.php"

    detail = failure(run, driver.process(job)).detail

    assert "redirects" in detail
    downloads = [r for r in turbotext.received if r.path.startswith("/download.php")]
    assert len(downloads) == http.MAX_REDIRECTS + 1


def test_a_listed_host_that_resolves_to_loopback_is_refused(run, turbotext, victim, job, settings):
    settings.PROVIDER_RESULT_HOSTS = ["localhost"]
    port = victim.url.rsplit(":", 1)[1]
    turbotext.scenario = done_with_link(f"http://localhost:{port}/metrics")

    assert "non-public" in failure(run, driver.process(job)).detail
    assert victim.received == []


@pytest.fixture
def public_cdn(monkeypatch):
    """cdn.example resolves to `addresses`; the client answers without touching the network."""
    answers = {"addresses": ["93.184.216.34"]}
    fetched = []

    async def resolve(host, port):
        return answers["addresses"]

    def handler(request: httpx.Request) -> httpx.Response:
        fetched.append(str(request.url))
        return httpx.Response(200, content=png_bytes((64, 64)))

    monkeypatch.setattr(http, "_resolve", resolve)
    transport = httpx.MockTransport(handler)
    monkeypatch.setattr(http, "_new_client", lambda: httpx.AsyncClient(transport=transport))
    answers["fetched"] = fetched
    return answers


def fetch(url: str, **kwargs):
    return http.fetch_link(
        url,
        trusted_origin=kwargs.pop("trusted_origin", "https://www.turbotext.ru"),
        public_hosts=kwargs.pop("public_hosts", ["cdn.example"]),
        max_bytes=1024 * 1024,
        timeouts=http.timeout_within(5),
    )


def test_a_listed_host_with_public_addresses_is_fetched(run, public_cdn):
    reply = run(fetch("https://cdn.example/results/1.png"))

    assert reply.status_code == 200
    assert public_cdn["fetched"] == ["https://cdn.example/results/1.png"]


def test_a_listed_host_with_one_private_address_is_refused(run, public_cdn):
    public_cdn["addresses"] = ["93.184.216.34", "10.0.0.8"]

    assert failure(run, fetch("https://cdn.example/results/1.png")).code == "bad_response"
    assert public_cdn["fetched"] == []


def test_an_unlisted_host_is_refused_before_any_lookup(run, public_cdn):
    assert failure(run, fetch("https://elsewhere.example/1.png")).code == "bad_response"
    assert public_cdn["fetched"] == []


@pytest.mark.parametrize(
    "link",
    [
        "https://www.turbotext.ru:8443/download.php",
        "http://www.turbotext.ru/download.php",
        "ftp://www.turbotext.ru/download.php",
        "https:///download.php",
    ],
    ids=["other-port", "other-scheme", "ftp", "no-host"],
)
def test_the_providers_origin_means_scheme_host_and_port(run, public_cdn, link):
    assert failure(run, fetch(link)).code == "bad_response"


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104
        "240.0.0.1",
        "224.0.0.1",
        "198.18.0.1",
        "::1",
        "fe80::1%eth0",
        "fc00::1",
        "::ffff:127.0.0.1",
        "::",
    ],
)
def test_non_public_addresses_are_recognised(address):
    assert not http._is_public(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_are_recognised(address):
    assert http._is_public(address)
