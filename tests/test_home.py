"""The home page links the API docs and the admin."""

from django.test import Client


def test_home_page_links_docs_and_admin(client: Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/api/v1/docs/"' in body
    assert 'href="/admin/"' in body
