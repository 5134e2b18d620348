"""Builds the production adapters from the settings, for the entry points."""

from __future__ import annotations

from collections.abc import Container
from datetime import date

from relance.adapters.calendars import closed_days
from relance.adapters.links import DebtorRef, make_link_token, portal_url
from relance.adapters.settings import Settings, link_secret
from relance.domain.parties import Creditor, Debtor


def closed_for(creditor: Creditor) -> Container[date]:
    """Public holidays of the creditor's country (and subdivision)."""
    return closed_days(creditor.country, creditor.subdivision)


def link_maker(settings: Settings):
    """A function that gives a debtor's fresh personal portal link."""

    def link_for(debtor: Debtor) -> str:
        ref = DebtorRef(debtor.creditor_id, debtor.debtor_id, debtor.link_version)
        return portal_url(settings.portal_base_url, make_link_token(link_secret(settings), ref))

    return link_for
