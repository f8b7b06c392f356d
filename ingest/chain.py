"""A slot's provider chain: each provider in turn, while the booth's window still fits it.

The slot's own provider goes first, then its fallbacks. A provider that refuses the photo,
fails or is overloaded hands over to the next one, as long as the rest of the window can hold a
typical attempt of it (measured per provider from recent calls, never below a floor). A provider
in a cooldown (shared by every worker through `ProviderState`) is skipped without a call. Each
attempt is recorded on the job; which one produced the result too.
"""

import time
from dataclasses import dataclass, field
from typing import Any

import structlog
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from core.runtime import RuntimeSettings
from ingest.calls import call_provider, driver_for, publish_inputs
from ingest.errors import IngestError
from ingest.limits import claim_provider_seat
from ingest.models import JobHistory, ProviderState
from providers.base import ImageInput, ProviderJob, ProviderResult, TemplateImage
from slots.models import ProviderConfig

log = structlog.get_logger(__name__)

# What hands over to the next provider. A timeout does only when this attempt was cut short
# to leave room for the next one, never when the whole window is spent.
FALLBACK_REASONS = frozenset(
    {
        "quota",
        "provider_5xx",
        "network",
        "safety_blocked",
        "bad_response",
        "provider_unconfigured",
        "provider_busy",
        "timeout",
    }
)

# An attempt cut short leaves the next provider its typical time, less the moments spent
# between the two: that still counts as fitting.
FIT_SLACK = 0.75


@dataclass
class Attempts:
    """The record of a job's provider calls, kept on the job whatever the outcome."""

    entries: list[dict[str, Any]] = field(default_factory=list)

    def add(self, config: ProviderConfig, outcome: str, started: float | None = None) -> None:
        ms = int((time.monotonic() - started) * 1000) if started is not None else 0
        self.entries.append(
            {
                "provider": config.provider,
                "operation": config.operation,
                "outcome": outcome,
                "ms": ms,
            }
        )


@dataclass(frozen=True)
class ChainRun:
    job: JobHistory
    config: RuntimeSettings
    chain: list[ProviderConfig]
    photo: ImageInput
    # The print's W:H, for providers that can answer in a given aspect ratio.
    aspect_ratio: str
    templates: tuple[TemplateImage, ...]
    # time.monotonic() at which the booth's window closes, and at which the chain must stop.
    deadline: float
    stop_at: float
    public_base_url: str
    attempts: Attempts


async def run_chain(run: ChainRun) -> tuple[ProviderResult, ProviderConfig]:
    """The first answer a provider of the chain gives, or the last provider's failure."""
    typical, cooling = await _provider_states({config.provider for config in run.chain})
    failure = IngestError("timeout", "no result within the sync window")
    for index, link in enumerate(run.chain):
        if link.provider in cooling:
            run.attempts.add(link, "cooldown")
            failure = IngestError("provider_5xx", f"{link.provider} is cooling down after failures")
            continue
        remaining = run.stop_at - time.monotonic()
        if index and remaining < typical.get(link.provider, _floor()) * FIT_SLACK:
            run.attempts.add(link, "no_time")
            break
        # Cut this attempt short when the next provider would not fit after it; with no room for
        # both, this one gets the time that is left.
        reserve = _reserve(run.chain[index + 1 :], cooling, typical)
        cut_at = run.stop_at - reserve if remaining > reserve else run.stop_at
        try:
            return await _attempt(run, link, index, cut_at), link
        except IngestError as error:
            failure = error
            if error.reason not in FALLBACK_REASONS or time.monotonic() >= run.deadline:
                raise
    raise failure


async def _attempt(run: ChainRun, link: ProviderConfig, index: int, cut_at: float):
    started = time.monotonic()
    try:
        driver = driver_for(link.provider, run.config)
        if index and link.provider != run.job.provider:
            await claim_provider_seat(run.job, run.config, link.provider)
        photo, templates = run.photo, run.templates
        if driver.needs_public_urls:
            photo, templates = await publish_inputs(run.job, photo, templates, run.public_base_url)
        result = await call_provider(driver, _provider_job(run, link, photo, templates, cut_at))
    except IngestError as error:
        run.attempts.add(link, error.reason, started)
        log.warning("ingest.attempt_failed", job_id=str(run.job.job_id), provider=link.provider)
        await sync_to_async(ProviderState.objects.note_failure)(
            link.provider, error.reason, error.retry_after
        )
        raise
    elapsed_ms = int((time.monotonic() - started) * 1000)
    run.attempts.add(link, "done", started)
    await sync_to_async(ProviderState.objects.note_success)(link.provider, elapsed_ms)
    return result


def _provider_job(
    run: ChainRun,
    link: ProviderConfig,
    photo: ImageInput,
    templates: tuple[TemplateImage, ...],
    deadline: float,
) -> ProviderJob:
    return ProviderJob(
        job_id=str(run.job.job_id),
        slot_id=run.job.slot_id,
        operation=link.operation,
        settings=link.settings,
        photo=photo,
        templates=templates,
        api_key=run.config.api_key(link.provider),
        deadline=deadline,
        aspect_ratio=run.aspect_ratio,
    )


def _floor() -> float:
    return settings.FALLBACK_MIN_ATTEMPT_SECONDS


def _reserve(rest: list[ProviderConfig], cooling: set[str], typical: dict[str, float]) -> float:
    """Time to keep for the next provider that will be tried (0 when there is none)."""
    usable = [link for link in rest if link.provider not in cooling]
    return typical.get(usable[0].provider, _floor()) if usable else 0.0


@sync_to_async
def _provider_states(providers: set[str]) -> tuple[dict[str, float], set[str]]:
    """How long each provider typically takes (at least the floor), and which cool down now."""
    typical, cooling, now = {}, set(), timezone.now()
    for state in ProviderState.objects.filter(provider__in=providers):
        if state.typical_ms is not None:
            typical[state.provider] = max(_floor(), state.typical_ms / 1000)
        if state.is_cooling_down(now):
            cooling.add(state.provider)
    return typical, cooling
