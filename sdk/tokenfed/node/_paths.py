"""Where each endpoint of a node lives: below the path of its entity id (API-003)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Paths"]


@dataclass(frozen=True)
class Paths:
    """The endpoint paths of a node whose entity id is ``entity_id``."""

    entity_id: str
    base: str

    def _at(self, tail: str) -> str:
        return self.base.rstrip("/") + tail

    @property
    def configuration(self) -> str:
        return self._at("/.well-known/openid-federation")

    @property
    def healthz(self) -> str:
        return self._at("/healthz")

    @property
    def fetch(self) -> str:
        return self._at("/federation/fetch")

    @property
    def list(self) -> str:
        return self._at("/federation/list")

    @property
    def historical(self) -> str:
        return self._at("/federation/historical-keys")

    @property
    def rate_card(self) -> str:
        return self._at("/rate-card")

    @property
    def metering(self) -> str:
        return self._at("/metering")

    @property
    def entitlements(self) -> str:
        return self._at("/entitlements")

    @property
    def receipts(self) -> str:
        return self._at("/receipts")

    @property
    def totals(self) -> str:
        return self._at("/totals")

    @property
    def exchange_rates(self) -> str:
        return self._at("/exchange-rates")

    def url(self, path: str) -> str:
        """The https URL of ``path`` under the entity id's origin."""
        origin = (
            self.entity_id[: len(self.entity_id) - len(self.base)]
            if self.base
            else (self.entity_id)
        )
        return origin + path
