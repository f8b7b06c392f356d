import re

import pytest

pytestmark = pytest.mark.django_db


def test_pages_load_scripts_and_styles_from_this_server_only(staff_client):
    for url in ("/", "/slots/slot-001/", "/settings/", "/stats/", "/login/"):
        assets = re.findall(
            r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', staff_client.get(url).text
        )
        assert assets and all(asset.startswith("/") for asset in assets), (url, assets)
