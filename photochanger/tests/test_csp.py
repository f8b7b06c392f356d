"""The Content-Security-Policy: on every page, and nothing inline for it to forbid."""

import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Inline code the policy forbids: <script> without src, <style> blocks, style= and on*= attributes.
INLINE = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style\b|\sstyle=|\son[a-z]+=", re.IGNORECASE)


def test_no_template_has_inline_script_style_or_event_handler():
    offenders = {
        str(path.relative_to(TEMPLATES)): INLINE.findall(path.read_text())
        for path in TEMPLATES.rglob("*.html")
    }

    assert {name: found for name, found in offenders.items() if found} == {}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/admin/login/", "/healthz/live", "/api/slots"])
def test_every_answer_carries_the_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]

    assert "default-src 'self'" in policy
    assert "script-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy


@pytest.mark.django_db
def test_only_the_api_docs_allow_inline_styles(staff_client):
    policy = staff_client.get("/api/docs/")["Content-Security-Policy"]

    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy + ";"
