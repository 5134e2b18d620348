"""The evidence bundle download: every reader of the creditor may take it, nobody else sees it."""

from __future__ import annotations

import io
import zipfile

from relance.domain.audit_chain import canonical

from tests.backoffice.backoffice_world import OTHER_CREDITOR, OUTSIDER, VIEWER
from tests.backoffice.conftest import sign_in


def test_a_viewer_downloads_the_debtors_bundle_as_an_attachment_and_the_export_is_audited(client, world):
    debtor = world.seed_debtor("d-1", "Boulangerie Martin SARL")
    sign_in(client, VIEWER)

    response = client.get("/debtors/d-1/evidence.zip")

    assert response.status_code == 200
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="evidence-d-1-')
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = set(archive.namelist())
        invoices = archive.read("invoices.csv").decode("utf-8-sig")
    assert {"README.txt", "invoices.csv", "late_fees.txt", "audit.jsonl", "SHA256SUMS"} <= names
    assert "F-d-1-1" in invoices and "F-d-1-2" in invoices
    exported = [e for e in world.store.audit_of(debtor.creditor_id, "d-1") if e["action"] == "evidence_exported"]
    assert [e["actor"] for e in exported] == [f"finance:{VIEWER}"]
    assert "Boulangerie" not in canonical(exported[0]).decode()


def test_the_debtor_page_links_to_the_bundle(client, world):
    world.seed_debtor("d-1", "Boulangerie Martin SARL")
    sign_in(client, VIEWER)

    page = client.get("/debtors/d-1?lang=en").get_data(as_text=True)

    assert 'href="/debtors/d-1/evidence.zip"' in page
    assert "Download the evidence bundle (ZIP)" in page


def test_another_creditors_debtor_is_not_found(client, world):
    world.seed_debtor("d-9", "Client d'un autre SARL", creditor=OTHER_CREDITOR)
    sign_in(client, VIEWER)

    response = client.get("/debtors/d-9/evidence.zip")

    assert response.status_code == 404
    assert response.mimetype != "application/zip"


def test_an_outsider_cannot_take_this_creditors_bundle(client, world):
    world.seed_debtor("d-1", "Boulangerie Martin SARL")
    sign_in(client, OUTSIDER)

    response = client.get("/debtors/d-1/evidence.zip")

    assert response.status_code == 404


def test_signed_out_the_bundle_redirects_to_sign_in(client, world):
    world.seed_debtor("d-1", "Boulangerie Martin SARL")

    response = client.get("/debtors/d-1/evidence.zip")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
