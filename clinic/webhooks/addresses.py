"""Where a webhook may be sent: the server-side request forgery guard.

A webhook makes the clinic's server send requests to an address an admin typed. Left open,
that reaches what only the server can reach: the database, a cloud metadata service
(169.254.169.254), an admin panel on the private network. So, unless the configuration
allows private addresses (tests, a developer's machine; never production):

- only ``https`` in production (``http`` too elsewhere), no user name or password in the URL;
- the host must resolve to public unicast addresses only: private, loopback, link-local,
  multicast, reserved and unspecified ones are refused (IPv4-mapped IPv6 included);
- the check is made when the URL is saved *and* at every delivery, and the delivery connects
  to the very address that was checked, so a name that resolves to a public address at
  registration and to 127.0.0.1 later (DNS rebinding) is refused then.

Redirects are never followed (a redirect is a failed delivery).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import SplitResult, urlsplit

from ..errors import Invalid

MAX_URL_LENGTH = 500

# getaddrinfo's shape: the resolver is a parameter so that tests can stand in for DNS.
Resolver = Callable[..., Sequence[tuple[Any, ...]]]


@dataclass(frozen=True, slots=True)
class AddressPolicy:
    https_only: bool = True
    allow_private: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: where to connect (``address``) and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str  # with the query string
    address: str


class AddressRefused(Invalid):
    """The URL or the address it resolves to is not allowed."""


class HostNotFound(AddressRefused):
    """The URL's host does not resolve (now)."""


def check_url(url: str, policy: AddressPolicy) -> SplitResult:
    """The URL's own rules (no resolution); ``AddressRefused`` says what is wrong."""
    url = (url or "").strip()
    if not url:
        raise AddressRefused(fields={"url": "Enter the receiver's URL."})
    if len(url) > MAX_URL_LENGTH:
        raise AddressRefused(fields={"url": f"Keep the URL under {MAX_URL_LENGTH} characters."})
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError when out of range)
    except ValueError:
        raise AddressRefused(fields={"url": "That is not a valid URL."}) from None
    allowed = ("https",) if policy.https_only else ("https", "http")
    if parts.scheme not in allowed:
        raise AddressRefused(
            fields={
                "url": "The URL must start with https://."
                if policy.https_only
                else "The URL must start with https:// or http://."
            }
        )
    if not parts.hostname:
        raise AddressRefused(fields={"url": "The URL must name a host."})
    if parts.username is not None or parts.password is not None:
        raise AddressRefused(
            fields={"url": "Put no user name or password in the URL: the signature proves "
                    "the sender."}
        )  # fmt: skip
    if parts.fragment:
        raise AddressRefused(fields={"url": "Remove the #fragment from the URL."})
    if any(ord(character) < 33 for character in url):
        raise AddressRefused(fields={"url": "The URL may not contain spaces."})
    if not policy.allow_private:
        literal = _ip_literal(parts.hostname)
        if literal is not None:
            _require_public(literal)
        elif parts.hostname.lower() == "localhost" or parts.hostname.lower().endswith(".localhost"):
            raise AddressRefused(fields={"url": _PRIVATE})
    return parts


_PRIVATE = (
    "That address is on a private, loopback, link-local or multicast network; webhooks "
    "go to public addresses only."
)


def _ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not (
        address.is_multicast
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_unspecified
    )


def _require_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    if not is_public(address):
        raise AddressRefused(fields={"url": _PRIVATE})


def resolve(url: str, policy: AddressPolicy, *, resolver: Resolver = socket.getaddrinfo) -> Target:
    """Check the URL, resolve its host and check every address it resolves to; the target
    connects to the first one. A name that does not resolve raises ``AddressRefused``."""
    parts = check_url(url, policy)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        found = resolver(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise HostNotFound(fields={"url": f"The host {host} could not be found."}) from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    if not addresses:
        raise HostNotFound(fields={"url": f"The host {host} could not be found."})
    if not policy.allow_private:
        # Every one: a name with one public and one private address is refused outright.
        for address in addresses:
            _require_public(address)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, host, port, path, str(addresses[0]))


def check_registration(
    url: str, policy: AddressPolicy, *, resolver: Resolver = socket.getaddrinfo
) -> str:
    """The URL to save. Its host is resolved now to refuse a private address early; a name
    that does not resolve (yet) is accepted: every delivery resolves and checks again."""
    url = (url or "").strip()
    try:
        resolve(url, policy, resolver=resolver)
    except HostNotFound:
        pass
    return url
