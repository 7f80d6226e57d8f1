"""The console behind a TLS-terminating reverse proxy (nginx, HAProxy, Caddy).

A browser that reached the node over HTTPS must get its session cookie marked
``Secure``: either the request itself came over TLS, or it came from a proxy the admin
declared in ``console.trusted_proxies`` (addresses or CIDRs) and that proxy says the
browser used HTTPS (``X-Forwarded-Proto: https`` or ``Forwarded: proto=https``).
The same headers from any other peer are ignored: they change nothing, neither the
cookie nor the client address the login rate limit counts (which, behind a trusted
proxy, is the browser's address from ``X-Forwarded-For`` / ``Forwarded: for=``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from aiohttp import web

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``["10.0.0.5", "192.168.1.0/24", "::1"]`` → networks; ``ValueError`` names a bad one."""
    networks = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(str(entry).strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"{entry!r} is not an address or a network (write e.g. 10.0.0.5 or 10.0.0.0/24)"
            ) from None
    return tuple(networks)


class TrustedProxies:
    """Which peers may say how the browser reached them, and what they say."""

    def __init__(self, entries: Iterable[str] = ()) -> None:
        self.networks = parse_networks(entries)

    def trusts(self, address: str | None) -> bool:
        if not address or not self.networks:
            return False
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            return False
        if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self.networks)

    def secure(self, request: web.Request) -> bool:
        """The browser reached us over HTTPS (directly, or through a trusted proxy)."""
        if request.secure:
            return True
        if not self.trusts(request.remote):
            return False
        # the nearest proxy appends last: its word is the one that counts
        forwarded = request.forwarded
        if forwarded and "proto" in forwarded[-1]:
            return forwarded[-1]["proto"].strip().lower() == "https"
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.rsplit(",", 1)[-1].strip().lower() == "https"

    def client(self, request: web.Request) -> str:
        """The browser's address: the peer's, or behind trusted proxies the nearest
        address in the forwarding chain that is not one of them."""
        peer = request.remote or "?"
        if not self.trusts(peer):
            return peer
        chain = [str(item["for"]) for item in request.forwarded if item.get("for")]
        if not chain:
            header = request.headers.get("X-Forwarded-For", "")
            chain = [part.strip() for part in header.split(",") if part.strip()]
        for address in reversed(chain):
            address = _bare(address)
            if not self.trusts(address):
                return address
        return _bare(chain[0]) if chain else peer


def _bare(address: str) -> str:
    """``[2001:db8::1]:4711`` / ``192.0.2.1:80`` / ``"[::1]"`` → the address alone."""
    address = address.strip().strip('"')
    if address.startswith("["):
        return address[1:].split("]", 1)[0]
    if address.count(":") == 1:
        return address.split(":", 1)[0]
    return address
