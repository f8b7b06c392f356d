import uuid
from datetime import datetime, timedelta

from django.db import IntegrityError, connection, models, transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from slots.models import Slot


class JobQuerySet(models.QuerySet["JobHistory"]):
    def overdue(self, now: datetime | None = None, grace_seconds: int = 30) -> "JobQuerySet":
        """Jobs still `processing` well past their deadline: their worker is gone."""
        cutoff = (now or timezone.now()) - timedelta(seconds=grace_seconds)
        return self.filter(status=JobHistory.Status.PROCESSING, deadline_at__lt=cutoff)

    def with_live_result(self, now: datetime | None = None) -> "JobQuerySet":
        return self.filter(_live_result(now))

    def reusable(self, now: datetime | None = None) -> "JobQuerySet":
        """Jobs whose outcome a later upload may take: still running, or with a live result.

        One filter, not two querysets or-ed together: combining querysets costs more Python
        than the query itself, and this one runs for every upload.
        """
        return self.filter(Q(status=JobHistory.Status.PROCESSING) | _live_result(now))


def _live_result(now: datetime | None) -> Q:
    return Q(status=JobHistory.Status.DONE, result_expires_at__gt=now or timezone.now())


class JobHistory(models.Model):
    """One row per authenticated ingest or staff test run, always ending in a terminal state."""

    class Source(models.TextChoices):
        INGEST = "ingest", _("ingest")
        UI_TEST = "ui_test", _("тест из интерфейса")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("в обработке")
        DONE = "done", _("готово")
        TIMEOUT = "timeout", _("таймаут")
        FAILED = "failed", _("ошибка")

    class Fallback(models.TextChoices):
        NONE = "", _("первый провайдер цепочки")
        PROVIDER = "provider", _("запасной провайдер")
        ORIGINAL = "original", _("оригинал (все провайдеры отказали)")

    class HashCheck(models.TextChoices):
        MATCH = "match", _("совпал")
        MISMATCH = "mismatch", _("не совпал")
        UNRECOGNISED = "unrecognised", _("не похож на MD5/SHA")
        OFF = "off", _("не проверялся")

    job_id = models.UUIDField(
        _("идентификатор задачи"), primary_key=True, default=uuid.uuid4, editable=False
    )
    slot = models.ForeignKey(
        Slot, verbose_name=_("слот"), on_delete=models.PROTECT, related_name="jobs"
    )
    slot_version = models.PositiveIntegerField(_("версия слота"))
    source = models.CharField(_("источник"), max_length=8, choices=Source.choices)
    status = models.CharField(
        _("статус"), max_length=12, choices=Status.choices, default=Status.PROCESSING
    )
    provider = models.CharField(_("провайдер"), max_length=16)
    started_at = models.DateTimeField(_("начало"), default=timezone.now)
    deadline_at = models.DateTimeField(_("крайний срок"))
    finished_at = models.DateTimeField(_("окончание"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("длительность, мс"), null=True, blank=True)
    failure_reason = models.CharField(_("причина ошибки"), max_length=32, blank=True)
    result_path = models.CharField(_("путь результата"), max_length=255, blank=True)
    result_mime = models.CharField(_("MIME результата"), max_length=32, blank=True)
    result_expires_at = models.DateTimeField(_("результат доступен до"), null=True, blank=True)
    input_sha256 = models.CharField(_("SHA-256 входа"), max_length=64, blank=True)
    idempotency_key = models.CharField(_("ключ идемпотентности"), max_length=128, blank=True)
    hash_check = models.CharField(
        _("проверка hash"), max_length=12, choices=HashCheck.choices, default=HashCheck.OFF
    )
    metadata = models.JSONField(_("метаданные"), default=dict, blank=True)
    # Each provider tried, in order: {"provider", "operation", "outcome", "ms"}.
    attempts = models.JSONField(_("попытки"), default=list, blank=True)
    fallback = models.CharField(
        _("запасной вариант"), max_length=8, choices=Fallback.choices, default="", blank=True
    )
    warnings = models.JSONField(_("предупреждения"), default=list, blank=True)
    # The short code of the guest page /r/{code} (printed as a QR code on the photo).
    public_code = models.CharField(
        _("код гостевой ссылки"), max_length=16, unique=True, null=True, blank=True
    )

    objects = JobQuerySet.as_manager()

    class Meta:
        verbose_name = _("задача")
        verbose_name_plural = _("задачи")
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["slot", "started_at"], name="job_slot_started_idx"),
            # A slot's latest job of a status (its last result, its last success: the dashboard
            # and the stats ask for every slot). By job_status_started_idx, SQLite walked every
            # slot's jobs of that status for a slot without one: 250 ms a page at 60,000 jobs.
            models.Index(fields=["slot", "status", "started_at"], name="job_slot_status_idx"),
            models.Index(fields=["status", "started_at"], name="job_status_started_idx"),
            # Every upload looks for the latest job of its input or key: ending in started_at,
            # these indexes answer that in a few rows. Without it SQLite walks the slot's
            # whole history by job_slot_started_idx to skip a sort (12 ms at 20,000 jobs),
            # and with a bound key it cannot use an index limited to non-empty keys.
            models.Index(
                fields=["slot", "slot_version", "input_sha256", "started_at"],
                name="job_same_input_idx",
            ),
            models.Index(
                fields=["slot", "idempotency_key", "started_at"], name="job_idempotency_idx"
            ),
        ]
        constraints = [
            # Single flight across workers: only one running job per slot config and input.
            models.UniqueConstraint(
                fields=["slot", "slot_version", "input_sha256"],
                condition=Q(status="processing") & ~Q(input_sha256=""),
                name="job_single_flight",
            ),
            # An Idempotency-Key names one job per slot: concurrent first uses of a key insert
            # one row. A failed or timed-out job leaves the index, so a retry may run again.
            models.UniqueConstraint(
                fields=["slot", "idempotency_key"],
                condition=Q(status__in=["processing", "done"]) & ~Q(idempotency_key=""),
                name="job_idempotency_key_unique",
            ),
        ]

    def __str__(self) -> str:
        return str(self.job_id)

    @property
    def is_terminal(self) -> bool:
        return self.status != self.Status.PROCESSING

    def result_is_live(self, now: datetime | None = None) -> bool:
        return (
            self.status == self.Status.DONE
            and self.result_expires_at is not None
            and self.result_expires_at > (now or timezone.now())
        )


class LeaseQuerySet(models.QuerySet["ConcurrencyLease"]):
    def claim(self, *, scope: str, limit: int, job_id: uuid.UUID, expires_at: datetime) -> bool:
        """Take a free seat of `scope` for `job_id`, in one statement that holds across processes.

        Seats 0..limit-1 are rows; a seat is free when empty or when its holder's lease expired
        (a crashed worker never releases). SKIP LOCKED lets concurrent claimers pass each other
        on PostgreSQL; SQLite serialises writers, so the same statement is atomic there too.
        """
        # Seats are rows that stay once created: only a claim that finds none free checks
        # whether the limit has seats it never had (a raised limit, a new scope), and then
        # looks again, whoever made them: a claim racing the first ones of a new scope may
        # find none yet and see them made by another when it checks.
        if self._take_free_seat(scope, limit, job_id, expires_at):
            return True
        self._ensure_seats(scope, limit)
        return self._take_free_seat(scope, limit, job_id, expires_at)

    def _take_free_seat(
        self, scope: str, limit: int, job_id: uuid.UUID, expires_at: datetime
    ) -> bool:
        table = connection.ops.quote_name(ConcurrencyLease._meta.db_table)
        lock = (
            " FOR UPDATE SKIP LOCKED"
            if connection.features.has_select_for_update_skip_locked
            else ""
        )
        job_field = ConcurrencyLease._meta.get_field("job_id")
        time_field = ConcurrencyLease._meta.get_field("expires_at")
        now = timezone.now()
        sql = (
            f"UPDATE {table} SET job_id = %s, expires_at = %s WHERE id = ("  # noqa: S608
            f"SELECT id FROM {table} WHERE scope = %s AND seat < %s"
            " AND (job_id IS NULL OR expires_at < %s) ORDER BY seat LIMIT 1"
            f"{lock})"
        )
        params = [
            job_field.get_db_prep_value(job_id, connection),
            time_field.get_db_prep_value(expires_at, connection),
            scope,
            limit,
            time_field.get_db_prep_value(now, connection),
        ]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount == 1

    def _ensure_seats(self, scope: str, limit: int) -> None:
        """Create the seats `scope` lacks up to `limit`."""
        if not self.filter(scope=scope, seat=limit - 1).exists():
            self.bulk_create(
                [self.model(scope=scope, seat=seat) for seat in range(limit)],
                ignore_conflicts=True,
            )

    def release(self, job_id: uuid.UUID) -> int:
        return self.filter(job_id=job_id).update(job_id=None, expires_at=None)

    def seconds_until_free(self, scope: str, limit: int, grace_seconds: int) -> int:
        """An honest Retry-After: when the soonest holder of `scope` must be done."""
        soonest = (
            self.filter(scope=scope, seat__lt=limit, job_id__isnull=False)
            .order_by("expires_at")
            .values_list("expires_at", flat=True)
            .first()
        )
        if soonest is None:
            return 1
        remaining = (soonest - timezone.now()).total_seconds() - grace_seconds
        return max(1, int(remaining + 0.999))


class ConcurrencyLease(models.Model):
    """A seat of a concurrency limit (`slot:<id>` or `provider:<name>`) held by a running job."""

    scope = models.CharField(max_length=48)
    seat = models.PositiveSmallIntegerField()
    job_id = models.UUIDField(null=True, blank=True, db_index=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    objects = LeaseQuerySet.as_manager()

    class Meta:
        verbose_name = _("место в лимите параллельности")
        verbose_name_plural = _("места в лимитах параллельности")
        constraints = [models.UniqueConstraint(fields=["scope", "seat"], name="lease_seat_unique")]

    def __str__(self) -> str:
        return f"{self.scope}#{self.seat}"


# Failures that say the provider itself is in trouble (not this photo or this slot's settings).
PROVIDER_TROUBLE = frozenset({"quota", "provider_5xx", "network", "timeout"})
COOLDOWN_AFTER_FAILURES = 3
COOLDOWN_WINDOW = timedelta(minutes=1)
COOLDOWN = timedelta(minutes=1)


# The row type named as well as the model: `get` then answers with a ProviderState.
class ProviderStateQuerySet(models.QuerySet["ProviderState", "ProviderState"]):
    def cooling_down(self, now: datetime | None = None) -> "ProviderStateQuerySet":
        return self.filter(cooldown_until__gt=now or timezone.now())

    def note_success(self, provider: str, ms: int) -> None:
        """A call answered: the failure streak ends, the typical time moves towards `ms`.

        One statement once the provider has its row; the first answer creates it.
        """
        fields = {
            "consecutive_failures": 0,
            "first_failure_at": None,
            "cooldown_until": None,
            "typical_ms": Case(
                When(typical_ms__isnull=True, then=Value(ms)),
                default=(F("typical_ms") * 4 + ms) / 5,
            ),
        }
        if not self.filter(provider=provider).update(**fields):
            self.get_or_create(provider=provider)
            self.filter(provider=provider).update(**fields)

    def note_failure(self, provider: str, reason: str, retry_after: int | None = None) -> None:
        """Count a failure; several within a minute, or a 429 asking to wait, start a cooldown."""
        if reason not in PROVIDER_TROUBLE:
            return
        now = timezone.now()
        with transaction.atomic():
            self.get_or_create(provider=provider)
            state = self.select_for_update().get(provider=provider)
            state.count_failure(reason, now, retry_after)
            state.save()


class ProviderState(models.Model):
    """How a provider has been answering lately, shared by every worker.

    A provider failing again and again (or asking to wait, with a 429) is skipped without a
    call until `cooldown_until`; `typical_ms` (a moving average of successful calls) tells a
    fallback chain whether the next provider still fits in what is left of a booth's window.
    """

    provider = models.CharField(_("провайдер"), max_length=16, primary_key=True)
    consecutive_failures = models.PositiveIntegerField(_("ошибок подряд"), default=0)
    first_failure_at = models.DateTimeField(_("первая ошибка серии"), null=True, blank=True)
    last_failure_reason = models.CharField(_("последняя ошибка"), max_length=32, blank=True)
    last_failure_at = models.DateTimeField(_("время последней ошибки"), null=True, blank=True)
    cooldown_until = models.DateTimeField(_("пропускается до"), null=True, blank=True)
    typical_ms = models.PositiveIntegerField(_("обычное время ответа, мс"), null=True, blank=True)

    objects = ProviderStateQuerySet.as_manager()

    class Meta:
        verbose_name = _("состояние провайдера")
        verbose_name_plural = _("состояния провайдеров")

    def __str__(self) -> str:
        return self.provider

    def is_cooling_down(self, now: datetime) -> bool:
        return self.cooldown_until is not None and self.cooldown_until > now

    def count_failure(self, reason: str, now: datetime, retry_after: int | None) -> None:
        streak_started = self.first_failure_at
        if streak_started is None or now - streak_started > COOLDOWN_WINDOW:
            self.first_failure_at, self.consecutive_failures = now, 0
        self.consecutive_failures += 1
        self.last_failure_reason, self.last_failure_at = reason, now
        until = []
        if self.consecutive_failures >= COOLDOWN_AFTER_FAILURES:
            until.append(now + COOLDOWN)
        if reason == "quota" and retry_after:
            until.append(now + timedelta(seconds=retry_after))
        if until:
            self.cooldown_until = max([*until, self.cooldown_until or now])


class WrongPasswordQuerySet(models.QuerySet["WrongPasswordCount"]):
    # Old minutes are dropped as new ones are written: staff look at hours and days.
    RETENTION = timedelta(days=30)

    def record(self, *, slot_id: str, at: datetime | None = None) -> None:
        """Count one wrong ingest password for `slot_id` in its minute, safely across workers."""
        minute = (at or timezone.now()).replace(second=0, microsecond=0)
        same_minute = self.filter(slot_id=slot_id, minute=minute)
        if same_minute.update(count=F("count") + 1):
            return
        try:
            with transaction.atomic():
                self.create(slot_id=slot_id, minute=minute, count=1)
        except IntegrityError:  # another worker created the row between the two statements
            same_minute.update(count=F("count") + 1)
        else:
            self.filter(minute__lt=minute - self.RETENTION).delete()


class WrongPasswordCount(models.Model):
    """Wrong ingest passwords sent to a slot within one minute (they create no job)."""

    slot = models.ForeignKey(
        Slot, verbose_name=_("слот"), on_delete=models.CASCADE, related_name="+"
    )
    minute = models.DateTimeField(_("минута"))
    count = models.PositiveIntegerField(_("неверных паролей"), default=0)

    objects = WrongPasswordQuerySet.as_manager()

    class Meta:
        verbose_name = _("счётчик неверных паролей")
        verbose_name_plural = _("счётчики неверных паролей")
        constraints = [
            models.UniqueConstraint(fields=["slot", "minute"], name="wrong_password_minute_unique")
        ]
        indexes = [models.Index(fields=["minute"], name="wrong_password_minute_idx")]

    def __str__(self) -> str:
        return f"{self.slot_id} · {self.minute:%Y-%m-%d %H:%M} · {self.count}"


class IngestClientQuerySet(models.QuerySet["IngestClient"]):
    # A booth's address stays known this long after its last right password.
    KEPT = timedelta(days=90)

    def remember(self, *, address: str) -> None:
        now = timezone.now()
        if not self.filter(address=address).update(last_authenticated_at=now):
            try:
                with transaction.atomic():
                    self.create(address=address, last_authenticated_at=now)
            except IntegrityError:  # another worker recorded it meanwhile
                self.filter(address=address).update(last_authenticated_at=now)
            self.filter(last_authenticated_at__lt=now - self.KEPT).delete()

    async def aknown(self, address: str) -> bool:
        since = timezone.now() - self.KEPT
        return await self.filter(address=address, last_authenticated_at__gte=since).aexists()


class IngestClient(models.Model):
    """A client address that sent the right ingest password: a booth, whose password checks get
    a lane of their own (ingest.passwords)."""

    address = models.CharField(_("адрес"), max_length=45, unique=True)
    last_authenticated_at = models.DateTimeField(_("последний верный пароль"))

    objects = IngestClientQuerySet.as_manager()

    class Meta:
        verbose_name = _("адрес фотобудки")
        verbose_name_plural = _("адреса фотобудок")

    def __str__(self) -> str:
        return self.address
