import re

from django.contrib.staticfiles import finders
from rest_framework.test import APIClient


def test_schema_is_openapi_3_and_documents_health(api: APIClient) -> None:
    response = api.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/health" in schema["paths"]
    assert "/health/" not in schema["paths"]  # the trailing-slash twin is documented once


def test_docs_page_works_offline(api: APIClient) -> None:
    response = api.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets
    assert not [asset for asset in assets if asset.startswith(("http:", "https:", "//"))]
    for asset in (asset for asset in assets if asset.startswith("/static/")):
        assert finders.find(asset.removeprefix("/static/")), asset
