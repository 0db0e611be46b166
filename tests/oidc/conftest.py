"""The OpenID Connect provider's fixtures: registered clients, the provider on a live server, and a
browser of plain HTTP (a requests session) that signs in through the /login form and answers the
consent page as a person would, CSRF token included."""

import base64
import hashlib
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from oidc import keys
from oidc.models import Application
from oidc.services import ClientCreated, client_create
from tests.support import PASSWORD

CALLBACK = "https://rp.example/callback"
SIGNED_OUT = "https://rp.example/signed-out"
ALL_SCOPES = "openid email profile offline_access"


@pytest.fixture(autouse=True)
def _fresh_signing_keys() -> Iterator[None]:
    keys.clear_key_cache()  # keys made by an earlier test went with its database
    yield
    keys.clear_key_cache()


@dataclass(frozen=True)
class Client:
    client_id: str
    client_secret: str | None
    application: Application


def _register(name: str, *, public: bool) -> Client:
    created: ClientCreated = client_create(name=name, redirect_uris=[CALLBACK], post_logout_redirect_uris=[SIGNED_OUT], public=public)
    return Client(created.client_id, created.client_secret, Application.objects.get(client_id=created.client_id))


@pytest.fixture
def confidential(db: None) -> Client:
    return _register("Grafana", public=False)


@pytest.fixture
def public(db: None) -> Client:
    return _register("Notes app", public=True)


@pytest.fixture
def other_client(db: None) -> Client:
    return _register("Wiki", public=False)


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize_query(client: Client, *, scope: str = ALL_SCOPES, challenge: str | None = None, **extra: str) -> str:
    params = {"client_id": client.client_id, "response_type": "code", "scope": scope, "redirect_uri": CALLBACK, "state": "st-1"}
    params |= {"nonce": "n-1"} | ({"code_challenge": challenge, "code_challenge_method": "S256"} if challenge else {}) | extra
    return urlencode(params)


def query_of(location: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(location).query).items()}


class _Forms(HTMLParser):
    """The inputs of every form of a page, by form id."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: dict[str, dict[str, str]] = {}
        self._current: dict[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "form":
            self._current = self.forms.setdefault(named.get("id") or f"form-{len(self.forms)}", {})
        elif tag == "input" and self._current is not None and named.get("name"):
            self._current[str(named["name"])] = named.get("value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._current = None


def form_fields(html: str, form_id: str) -> dict[str, str]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms[form_id]


class Browser:
    """A person's browser: cookies kept, redirects looked at one by one (the client's callback is
    never fetched: it is not a real site)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        return self.session.get(url if url.startswith("http") else self.base + url, allow_redirects=False, timeout=10, **kwargs)

    def post(self, url: str, data: dict[str, str]) -> requests.Response:
        return self.session.post(url if url.startswith("http") else self.base + url, data=data, allow_redirects=False, timeout=10)

    def sign_in(self, email: str, password: str = PASSWORD, next_url: str = "/account") -> requests.Response:
        page = self.get(f"/login?{urlencode({'next': next_url})}")
        fields = form_fields(page.text, "password-login") | {"email": email, "password": password}
        return self.post("/login", fields)

    def authorize(self, url: str, email: str, password: str = PASSWORD) -> requests.Response:
        """Opens the authorization URL, signs in on /login when sent there, and returns the answer
        of the authorization endpoint after sign-in: the consent page, or a redirect."""
        response = self.get(url)
        if response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/login":
            next_url = query_of(response.headers["Location"])["next"]
            signed_in = self.sign_in(email, password, next_url)
            assert signed_in.status_code == 302, signed_in.text
            response = self.get(signed_in.headers["Location"])
        return response

    def consent(self, page: requests.Response, *, allow: bool = True) -> requests.Response:
        assert page.status_code == 200, page.text
        fields = form_fields(page.text, "consent-form")
        if allow:
            fields["allow"] = "on"
        return self.post(page.url, fields)


@pytest.fixture
def provider(live_server: Any, settings: Any) -> str:
    """The provider on a live server; its public origin (BASE_URL) is the server's."""
    settings.BASE_URL = str(live_server.url)
    return str(live_server.url)


@pytest.fixture
def web(provider: str) -> Iterator[Browser]:
    opened = Browser(provider)
    yield opened
    opened.session.close()
