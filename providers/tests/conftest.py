import asyncio

import pytest
from PIL import Image
from skimage import data

from providers.http import close_client
from providers.tests.fakes import FakeGemini, FakeMediaHost, FakeTurbotext


@pytest.fixture
def run():
    """Run a coroutine on a fresh event loop, closing the shared provider client afterwards."""

    def run(coroutine):
        async def main():
            try:
                return await coroutine
            finally:
                await close_client()

        return asyncio.run(main())

    return run


@pytest.fixture
def fake_gemini(settings):
    with FakeGemini() as fake:
        settings.GEMINI_BASE_URL = fake.url
        yield fake


@pytest.fixture
def fake_turbotext(settings):
    with FakeTurbotext() as fake:
        settings.TURBOTEXT_BASE_URL = fake.url
        settings.TURBOTEXT_POLL_SECONDS = 0.01
        yield fake


@pytest.fixture
def media_host():
    with FakeMediaHost() as host:
        yield host


@pytest.fixture(scope="session")
def portrait() -> Image.Image:
    """A real studio portrait (NASA's Eileen Collins, 512×512, shipped with scikit-image): the
    person in front of a plain grey backdrop, a flag on the left and a shuttle model on the
    right."""
    return Image.fromarray(data.astronaut())
