from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from media.models import MediaObject
from media.tests.factories import MediaObjectFactory

pytestmark = pytest.mark.django_db
LIST = "/admin/media/mediaobject/"


def test_expired_filter_lists_expired_files_not_yet_deleted(admin_client):
    expired = MediaObjectFactory(
        kind=MediaObject.Kind.RESULT, expires_at=timezone.now() - timedelta(minutes=1)
    )
    MediaObjectFactory(kind=MediaObject.Kind.RESULT, expires_at=timezone.now() + timedelta(hours=1))
    MediaObjectFactory()

    shown = admin_client.get(LIST, {"expired": "yes"}).context["cl"].result_list

    assert list(shown) == [expired]


def test_delete_files_now_removes_files_and_marks_rows(admin_client):
    result = MediaObjectFactory(kind=MediaObject.Kind.RESULT)

    admin_client.post(LIST, {"action": "delete_files_now", "_selected_action": [str(result.pk)]})

    result.refresh_from_db()
    assert result.cleaned_at is not None
    assert not default_storage.exists(result.path)


def test_delete_files_now_leaves_templates_to_their_slot(admin_client):
    template = MediaObjectFactory()

    response = admin_client.post(
        LIST, {"action": "delete_files_now", "_selected_action": [str(template.pk)]}, follow=True
    )

    template.refresh_from_db()
    assert template.cleaned_at is None
    assert default_storage.exists(template.path)
    assert "странице слота" in response.content.decode()


def test_media_rows_cannot_be_edited(admin_client):
    media = MediaObjectFactory()

    assert admin_client.post(f"{LIST}{media.pk}/change/", {"kind": "result"}).status_code == 403
