#!/bin/sh
# The image's entry point.
#   web  (default)  migrate, create staff users, reset the metrics folder, `manage.py serve`
#   cron            run `manage.py cleanup_media` every CLEANUP_INTERVAL_SECONDS (900)
#   anything else   run it as given, e.g. `docker compose run --rm app python manage.py shell`
set -eu

# One-shot commands run without PROMETHEUS_MULTIPROC_DIR: their metric files would otherwise
# stay in the folder and be added to every scrape until the next start.
oneshot() {
    env -u PROMETHEUS_MULTIPROC_DIR python manage.py "$@"
}

case "${1:-web}" in
web)
    oneshot migrate --noinput
    if [ -f "${RUNTIME_CREDENTIALS_FILE:-secrets/runtime_credentials.json}" ]; then
        oneshot create_staff_from_secrets
    fi
    oneshot bootstrap
    # Before the workers start: /metrics sums every file in the folder.
    python manage.py reset_metrics
    # uvicorn with the limits in settings (HOST, PORT, WORKERS, SERVER_*); system checks first.
    exec python manage.py serve
    ;;
cron)
    interval="${CLEANUP_INTERVAL_SECONDS:-900}"
    echo "cleanup_media every ${interval} s, aligned to the clock; --orphans once a day"
    # `docker stop` must not wait out a 15-minute sleep: sleep in the background, wait for it.
    trap 'exit 0' TERM INT
    swept_on=""
    while true; do
        sleep $((interval - $(date +%s) % interval)) &
        wait $!
        # The orphan sweep lists the whole storage: the first run of each day does it.
        today="$(date -u +%F)"
        if [ "$today" != "$swept_on" ]; then
            sweep="--orphans"
            swept_on="$today"
        else
            sweep=""
        fi
        # A failed run is logged by the command; the next one retries what is left.
        oneshot cleanup_media $sweep || true
    done
    ;;
*)
    exec "$@"
    ;;
esac
