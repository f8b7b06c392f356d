"""Which storage holds the media files: the local disk, or an S3-compatible bucket when set.

Read by `photochanger/settings.py` while settings load, so it imports nothing from Django.
Nothing here raises on a bad value: `media/checks.py` reports the problems with hints, so
`manage.py check` (and `migrate`, which runs the checks) stops a deployment that would fail
at its first upload.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

LOCAL_BACKEND = "media.storage.LocalMediaStorage"
S3_BACKEND = "media.storage.S3MediaStorage"
# STORAGE_URL query parameters → S3MediaStorage options.
URL_OPTIONS = {
    "endpoint_url": "endpoint_url",
    "region": "region_name",
    "addressing_style": "addressing_style",
}
ADDRESSING_STYLES = ("auto", "path", "virtual")
EXAMPLE_URL = "s3://photochanger?endpoint_url=https://s3.example.com&region=eu-central-1"


@dataclass(frozen=True)
class Problem:
    id: str
    message: str
    hint: str


def parse_storage_url(url: str) -> tuple[dict[str, str], list[Problem]]:
    """The S3 options `s3://bucket[/prefix]?endpoint_url=…&region=…&addressing_style=…` names."""
    parts = urlsplit(url)
    problems = []
    if parts.scheme != "s3":
        problems.append(
            Problem("media.E001", "STORAGE_URL must start with s3://", f"e.g. {EXAMPLE_URL}")
        )
    if "@" in parts.netloc:
        problems.append(
            Problem(
                "media.E002",
                "STORAGE_URL must not carry credentials",
                "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY instead; URLs end up in logs",
            )
        )
    options = {"bucket_name": parts.netloc.rsplit("@", 1)[-1], "location": parts.path.strip("/")}
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        if key in URL_OPTIONS:
            options[URL_OPTIONS[key]] = values[-1]
        else:
            problems.append(
                Problem(
                    "media.E003",
                    f"STORAGE_URL has an unknown option {key!r}",
                    f"known options: {', '.join(URL_OPTIONS)}",
                )
            )
    return options, problems


def media_storage(
    *, url: str, bucket: str, endpoint_url: str, region: str, addressing_style: str, **credentials
) -> dict:
    """The STORAGES["default"] entry: the local disk unless STORAGE_URL or a bucket is set.

    STORAGE_URL's values win over the separate AWS_* variables; those fill in what it leaves out.
    """
    if not url and not bucket:
        return {"BACKEND": LOCAL_BACKEND}
    separate = {
        "bucket_name": bucket,
        "endpoint_url": endpoint_url,
        "region_name": region,
        "addressing_style": addressing_style,
        **credentials,
    }
    from_url = {k: v for k, v in parse_storage_url(url)[0].items() if v} if url else {}
    options = {k: v for k, v in {**separate, **from_url}.items() if v}
    return {"BACKEND": S3_BACKEND, "OPTIONS": options}


def option_problems(options: dict[str, str]) -> list[Problem]:
    """What is wrong with the options of an S3 storage, whichever variables set them."""
    problems = []
    if not options.get("bucket_name"):
        problems.append(
            Problem(
                "media.E004",
                "the S3 storage has no bucket",
                f"name it in STORAGE_URL ({EXAMPLE_URL}) or AWS_STORAGE_BUCKET_NAME",
            )
        )
    endpoint = urlsplit(options.get("endpoint_url", ""))
    if endpoint.geturl() and (endpoint.scheme not in ("http", "https") or not endpoint.hostname):
        problems.append(
            Problem(
                "media.E005",
                f"the S3 endpoint {endpoint.geturl()!r} is not an http(s) URL",
                "write it with its scheme, e.g. https://s3.example.com or http://minio:9000",
            )
        )
    style = options.get("addressing_style", "")
    if style and style not in ADDRESSING_STYLES:
        problems.append(
            Problem(
                "media.E006",
                f"unknown S3 addressing style {style!r}",
                f"one of {', '.join(ADDRESSING_STYLES)}; MinIO and most self-hosted servers "
                "need path",
            )
        )
    if bool(options.get("access_key")) != bool(options.get("secret_key")):
        problems.append(
            Problem(
                "media.E007",
                "only one of AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is set",
                "set both, or neither to use the machine's own AWS credentials",
            )
        )
    return problems
