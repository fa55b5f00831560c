"""The home page links the API docs and the admin."""

from django.contrib.auth.models import User
from django.test import Client


def test_home_page_links_docs_and_admin(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/api/v1/docs/"' in body
    assert 'href="/admin/"' in body


def test_the_admin_link_is_shown_to_staff_only(client: Client, reviewer: User) -> None:
    from django.contrib.auth import get_user_model

    client.force_login(reviewer)
    nav = client.get("/review/").content.decode().split("</nav>", 1)[0]
    assert 'href="/admin/"' not in nav
    staff = get_user_model().objects.create_user("sam", is_staff=True)
    client.force_login(staff)
    nav = client.get("/review/").content.decode().split("</nav>", 1)[0]
    assert 'href="/admin/"' in nav
