"""Which URLs a webhook may point at. http(s) only; in production the host must resolve to
public addresses only, so a webhook cannot be used to reach the service's own network (SSRF).
The check runs at registration and again before every attempt (DNS can change in between)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator

from inspection.services import DomainError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 500
_syntax = URLValidator(schemes=["http", "https"])


class InvalidWebhookUrl(DomainError):
    code = "invalid_webhook_url"


class UnresolvableHost(InvalidWebhookUrl):
    """The host does not resolve now: refused at registration, retried at delivery."""


def validate_webhook_url(url: str) -> str:
    """The URL, if it may be registered; raises InvalidWebhookUrl."""
    check_syntax(url)
    check_target(url)
    return url


def check_syntax(url: str) -> None:
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"The webhook URL is longer than {MAX_URL_LENGTH} characters.")
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        raise InvalidWebhookUrl("The webhook URL must start with http:// or https://.")
    try:
        _syntax(url)
    except ValidationError:
        raise InvalidWebhookUrl("The webhook URL is not a valid URL.") from None


def check_target(url: str) -> None:
    """Refuse a host that resolves to a private, loopback or link-local address, unless
    WEBHOOK_ALLOW_PRIVATE_TARGETS says so."""
    if settings.WEBHOOK_ALLOW_PRIVATE_TARGETS:
        return
    host = urlsplit(url).hostname or ""
    blocked = [str(address) for address in resolve(host) if not is_public(address)]
    if blocked:
        raise InvalidWebhookUrl(
            f"The webhook host {host} resolves to a non-public address ({blocked[0]})."
        )


def resolve(host: str) -> list[IPAddress]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        raise UnresolvableHost(f"The webhook host {host} does not resolve.") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast only (no private, loopback, link-local, shared, reserved,
    multicast or unspecified address; an IPv4-mapped IPv6 address counts as its IPv4 one)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast
