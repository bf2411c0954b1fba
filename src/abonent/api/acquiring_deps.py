"""Dependencies of the acquiring surfaces: the settings and the configured provider."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from abonent.config import Settings
from abonent.payments.acquiring import service as cards
from abonent.payments.acquiring.provider import AcquiringProvider


def app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def provider_of(request: Request) -> AcquiringProvider:
    """The configured provider, built once per app. ``app.state.acquiring_transport`` (tests)
    routes the sandbox's webhook into the app in process instead of over the network."""
    state = request.app.state
    provider: AcquiringProvider | None = getattr(state, "acquiring_provider", None)
    if provider is None:
        provider = cards.build_provider(
            state.db, app_settings(request), transport=getattr(state, "acquiring_transport", None)
        )
        state.acquiring_provider = provider
    return provider


Provider = Annotated[AcquiringProvider, Depends(provider_of)]
AppSettings = Annotated[Settings, Depends(app_settings)]
