"""The plan pages: propose a plan (preview, send), follow one's plans; always the session debtor's own."""

from __future__ import annotations

from datetime import date

import pytest
from tests.portal.account_fakes import account_services_for
from tests.portal.portal_world import (
    DEBTOR_A,
    DEBTOR_B,
    NOW,
    TEST_CONFIG,
    World,
    csrf_token_in,
    eur,
    page_of,
)

from relance.domain.formatting import format_day, format_money
from relance.domain.plans import PlanState
from relance.services.plans import ScheduleTerms, propose_plan
from relance_portal import create_app

FIRST_ON = date(2026, 12, 15)


@pytest.fixture
def account(world: World):
    return account_services_for(world)


@pytest.fixture
def app(world, account):
    services, _store, _documents = account
    return create_app({**TEST_CONFIG, "ACCOUNT_SERVICES": services}, world.services())


@pytest.fixture
def store(account):
    return account[1]


def sign_in(client, world: World, debtor=DEBTOR_A, verified: bool = True):
    response = client.get(world.link_for(debtor))
    assert response.status_code == 303
    if verified:
        with client.session_transaction() as session:
            session["code_verified_at"] = NOW.isoformat()
    return client


def post_plan(client, **fields):
    token = csrf_token_in(page_of(client.get("/account/plan")))
    data = {"csrf_token": token, "currency": "EUR", "first_on": FIRST_ON.isoformat(), "reason": "", **fields}
    return client.post("/account/plan", data=data)


def text(html: str) -> str:
    """The page with the spaces Babel uses inside numbers made plain."""
    return html.replace("\u202f", " ").replace("\u00a0", " ").replace("&nbsp;", " ")


def plain(value: str) -> str:
    return text(value)


def test_the_form_ticks_the_overdue_invoices_of_one_currency(client, world):
    html = page_of(sign_in(client, world, verified=False).get("/account/plan"))

    assert 'value="FA-2026-0101" checked' in html  # overdue
    assert 'value="FA-2026-0140">' in html  # not yet due: offered, not ticked
    assert "FA-2026-0150" not in html  # GBP: another plan
    assert 'href="/account/plan?currency=GBP"' in html
    assert '<option value="6"' in html and '<option value="7"' not in html  # the policy's maximum


def test_the_preview_in_french_adds_up_to_the_debt_with_the_remainder_on_the_last_installment(client, world,
                                                                                              store):
    response = post_plan(sign_in(client, world), invoice="FA-2026-0101", count="3", down_payment="")

    html = text(page_of(response))
    assert response.status_code == 200
    assert html.count(plain(format_money(eur(3_333_33), "fr"))) == 2
    assert plain(format_money(eur(3_333_34), "fr")) in html
    assert plain(format_money(eur(10_000_00), "fr")) in html  # the total
    assert "15 décembre 2026" in html and "15 février 2027" in html
    assert "Envoyer ma proposition" in html
    assert store.plans == {}  # a preview stores nothing


def test_the_preview_in_english_reads_an_english_down_payment(client, world):
    response = post_plan(sign_in(client, world, DEBTOR_B), invoice="FB-2026-0777", count="2",
                         down_payment="100.00")

    html = text(page_of(response))
    assert response.status_code == 200
    assert "€100.00" in html and "€449.99" in html and "€450.00" in html and "€999.99" in html
    assert "15 December 2026" in html and "15 January 2027" in html
    assert "Send my proposal" in html


def test_a_proposal_inside_the_rules_is_accepted_at_once_and_the_summary_shows_the_next_installment(
        client, world, store):
    debtor = sign_in(client, world)
    response = post_plan(debtor, invoice="FA-2026-0101", count="3", down_payment="1 000,00", action="send")

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account/plans")
    [stored] = store.plans.values()
    assert stored.plan.state is PlanState.ACCEPTED
    assert store.invoices[("cred-atelier", "debtor-a", "FA-2026-0101")].in_plan
    plans_page = text(page_of(debtor.get("/account/plans")))
    assert "Votre échéancier est accepté" in plans_page
    summary = text(page_of(debtor.get("/account")))
    assert "Prochaine échéance" in summary
    assert plain(format_money(eur(1_000_00), "fr")) in summary  # the down payment, due today
    assert format_day(date(2026, 11, 23), "fr", "long") in summary


def test_a_proposal_outside_the_rules_says_finance_reviews_it_and_names_the_broken_rule(client, world, store):
    debtor = sign_in(client, world)

    preview = text(page_of(post_plan(debtor, invoice="FA-2026-0101", count="3")))
    assert "examinée par leur service comptable" in preview
    assert "Un acompte d’au moins 1 000,00 € est attendu" in preview

    response = post_plan(debtor, invoice="FA-2026-0101", count="3", action="send")
    assert response.status_code == 303
    [stored] = store.plans.values()
    assert stored.plan.state is PlanState.PROPOSED
    plans_page = text(page_of(debtor.get("/account/plans")))
    assert "transmise au service comptable" in plans_page
    assert "Retirer ma proposition" in plans_page


@pytest.mark.parametrize(("field", "fields"), [
    ("down_payment", {"down_payment": "mille euros"}),
    ("down_payment", {"down_payment": "12 000,00"}),  # more than the debt
    ("count", {"count": "7"}),  # the policy allows 6
    ("first_on", {"first_on": "2026-11-01"}),
    ("invoice", {"invoice": "FB-2026-0777"}),  # another debtor's invoice is no choice
])
def test_a_bad_field_is_refused_next_to_it_and_nothing_is_stored(client, world, store, field, fields):
    data = {"invoice": "FA-2026-0101", "count": "3", "action": "send", **fields}

    response = post_plan(sign_in(client, world), **data)

    html = page_of(response)
    assert response.status_code == 400
    assert f'id="{field}-error"' in html
    assert 'class="error-summary"' in html
    assert store.plans == {}


def test_another_debtors_plan_is_not_found(client, world, account):
    services, store, _documents = account
    theirs = propose_plan("cred-atelier", "debtor-b", None, ScheduleTerms(3, FIRST_ON), "", NOW, store,
                          services.policies, services.closed_days)
    debtor = sign_in(client, world)
    token = csrf_token_in(page_of(debtor.get("/account/plan")))

    for path in (f"/account/plans/{theirs.plan.plan_id}/withdraw", f"/account/plans/{theirs.plan.plan_id}/answer"):
        assert debtor.post(path, data={"csrf_token": token, "answer": "accept"}).status_code == 404
    assert store.plans[("cred-atelier", "debtor-b", theirs.plan.plan_id)].plan.state is PlanState.PROPOSED


def test_the_debtor_withdraws_a_proposal_still_waiting(client, world, account):
    services, store, _documents = account
    mine = propose_plan("cred-atelier", "debtor-a", ["FA-2026-0101"], ScheduleTerms(3, FIRST_ON), "", NOW, store,
                        services.policies, services.closed_days)
    debtor = sign_in(client, world)
    token = csrf_token_in(page_of(debtor.get("/account/plans")))

    response = debtor.post(f"/account/plans/{mine.plan.plan_id}/withdraw", data={"csrf_token": token})

    assert response.status_code == 303
    assert store.plans[("cred-atelier", "debtor-a", mine.plan.plan_id)].plan.state is PlanState.WITHDRAWN


def test_sending_without_the_one_time_code_goes_to_verify_first(client, world, store):
    response = post_plan(sign_in(client, world, verified=False), invoice="FA-2026-0101", count="3", action="send")

    assert response.status_code == 303
    assert "/account/verify" in response.headers["Location"]
    assert store.plans == {}


def test_the_debtor_accepts_finances_counter(client, world, account):
    from relance.services.plans import decide_plan

    services, store, _documents = account
    mine = propose_plan("cred-atelier", "debtor-a", ["FA-2026-0101"], ScheduleTerms(3, FIRST_ON), "", NOW, store,
                        services.policies, services.closed_days)
    decide_plan("cred-atelier", "debtor-a", mine.plan.plan_id, "counter", "finance@atelier", "Avec acompte", NOW,
                store, services.policies, services.closed_days,
                counter=ScheduleTerms(2, FIRST_ON, eur(2_000_00)))
    debtor = sign_in(client, world)
    html = text(page_of(debtor.get("/account/plans")))
    assert "Le service comptable propose un autre échéancier" in html
    assert plain(format_money(eur(4_000_00), "fr")) in html
    token = csrf_token_in(html)

    response = debtor.post(f"/account/plans/{mine.plan.plan_id}/answer", data={"csrf_token": token,
                                                                               "answer": "accept"})

    assert response.status_code == 303
    assert store.plans[("cred-atelier", "debtor-a", mine.plan.plan_id)].plan.state is PlanState.ACCEPTED
    assert "Vous avez accepté l’échéancier" in text(page_of(debtor.get("/account/plans")))


# --- custom dates ------------------------------------------------------------------------------------

CUSTOM_DATES = (date(2026, 12, 15), date(2027, 1, 20), date(2027, 3, 10))  # weekdays, inside 6 months


def custom(*days: date | str) -> dict[str, str]:
    """The form fields of a custom schedule: `every` and one `date_<n>` per day, as the browser sends them."""
    return {"every": "custom", **{f"date_{n}": str(day) for n, day in enumerate(days, 1)}}


def schedule_rows(html: str) -> int:
    """How many lines (down payment included) the preview's schedule table has."""
    preview = html[html.index('class="plan-preview"'):]
    return preview[:preview.index("</tbody>")].count('<th scope="row">')


def test_the_form_offers_monthly_by_default_or_one_labelled_date_per_allowed_installment(client, world):
    html = page_of(sign_in(client, world, verified=False).get("/account/plan"))

    assert 'id="every-monthly" name="every" value="monthly" checked' in html
    assert 'id="every-custom" name="every" value="custom">' in html
    assert "<legend>Quand les échéances tombent-elles\u202f?</legend>" in html
    assert '<label for="date_6">Date de l’échéance 6</label>' in html  # the policy's maximum
    assert 'id="date_7"' not in html
    assert 'type="date" id="date_1" name="date_1" value="" min="2026-11-23"' in html


def test_custom_dates_give_a_preview_with_exactly_those_dates_adding_up_to_the_debt(client, world, store):
    response = post_plan(sign_in(client, world), invoice="FA-2026-0101", down_payment="1 000,00",
                         **custom(*CUSTOM_DATES))

    html = text(page_of(response))
    assert response.status_code == 200
    for day in CUSTOM_DATES:
        assert format_day(day, "fr", "long") in html
    assert schedule_rows(html) == 1 + len(CUSTOM_DATES)  # the down payment, then one line per date
    assert "15 janvier 2027" not in html  # not the monthly schedule
    assert html.count(plain(format_money(eur(3_000_00), "fr"))) == 3
    assert plain(format_money(eur(10_000_00), "fr")) in html  # the total is the debt
    assert "elle sera acceptée dès son envoi" in html
    assert 'id="every-custom" name="every" value="custom" checked' in html  # kept for the send step
    assert 'value="2027-03-10"' in html
    assert store.plans == {}


def test_custom_dates_are_sent_and_the_confirmation_shows_them_in_english(client, world, store):
    debtor = sign_in(client, world)

    response = post_plan(debtor, invoice="FA-2026-0101", down_payment="1 000,00", action="send",
                         **custom(*CUSTOM_DATES))

    assert response.status_code == 303
    [stored] = store.plans.values()
    assert stored.plan.state is PlanState.ACCEPTED
    assert [i.due_on for i in stored.plan.schedule] == list(CUSTOM_DATES)
    assert stored.plan.schedule.total == eur(10_000_00)
    plans_page = text(page_of(debtor.get("/account/plans?lang=en")))
    assert "15 December 2026" in plans_page and "20 January 2027" in plans_page and "10 March 2027" in plans_page


def test_a_custom_date_on_a_weekend_moves_to_the_next_business_day_and_the_preview_says_so(client, world):
    saturday, monday = date(2026, 12, 19), date(2026, 12, 21)

    response = post_plan(sign_in(client, world), invoice="FA-2026-0101", down_payment="1 000,00",
                         **custom(saturday, date(2027, 1, 20)))

    html = text(page_of(response))
    assert response.status_code == 200
    assert "ne sont pas des jours ouvrés" in html
    assert f"Échéance 1 : le {format_day(saturday, 'fr', 'long')} devient le {format_day(monday, 'fr', 'long')}." \
        in html


def test_a_custom_schedule_outside_the_rules_goes_to_finance_with_the_breach_listed(client, world, store):
    debtor = sign_in(client, world)
    too_late = (date(2026, 12, 15), date(2027, 8, 16))  # the policy allows 6 months, to 23 May 2027

    preview = text(page_of(post_plan(debtor, invoice="FA-2026-0101", down_payment="1 000,00",
                                     **custom(*too_late))))
    response = post_plan(debtor, invoice="FA-2026-0101", down_payment="1 000,00", action="send",
                         **custom(*too_late))

    assert "examinée par leur service comptable" in preview
    assert f"La dernière échéance tombe après le {format_day(date(2027, 5, 23), 'fr', 'long')}." in preview
    assert response.status_code == 303
    [stored] = store.plans.values()
    assert stored.plan.state is PlanState.PROPOSED
    assert [b.rule.value for b in stored.plan.evaluation.broken_rules] == ["max_duration"]
    assert [i.due_on for i in stored.plan.schedule] == list(too_late)
    assert store.audit[-1]["broken_rules"] == ["max_duration"]


@pytest.mark.parametrize(("field", "fields", "message"), [
    ("date_2", custom("2026-12-15", "2026-11-01"), "Cette date est antérieure à aujourd’hui"),
    ("date_2", custom("2027-01-15", "2026-12-15"), "Cette date doit suivre celle de l’échéance 1"),
    ("date_2", custom("2026-12-15", "2026-12-15"), "Cette date est déjà celle de l’échéance 1."),
    ("date_1", custom("15/12/2026", "2027-01-15"), "Saisissez une date"),
    ("date_2", custom("2026-12-19", "2026-12-21"),  # a Saturday and the Monday it moves to
     "Reportées au jour ouvré suivant, cette date et la précédente tombent toutes deux le 21 décembre 2026."),
    ("dates", custom(), "Indiquez au moins 2 dates"),
    ("dates", custom("2026-12-15"), "Indiquez au moins 2 dates"),  # one date is a promise to pay, not a plan
    ("every", {"every": "weekly"}, "Choisissez chaque mois ou vos propres dates."),
])
def test_a_bad_custom_date_is_refused_on_its_field_and_nothing_is_stored(client, world, store, field, fields,
                                                                        message):
    data = {"invoice": "FA-2026-0101", "down_payment": "1 000,00", "action": "send", **fields}

    response = post_plan(sign_in(client, world), **data)

    html = page_of(response)
    assert response.status_code == 400
    assert f'id="{field}-error" class="field-error">{message}' in text(html)
    assert 'class="error-summary"' in html
    if field.startswith("date_"):
        assert f'id="{field}" name="{field}" value="{fields[field]}" min="2026-11-23" ' \
               f'aria-describedby="{field}-error" aria-invalid="true"' in html
    if field == "dates":
        assert 'aria-describedby="dates-hint dates-error"' in html and 'href="#date_1"' in html
    assert store.plans == {}


def test_the_monthly_choice_ignores_the_date_fields(client, world):
    fields = {**custom("not a date", "2026-11-01"), "every": "monthly"}

    response = post_plan(sign_in(client, world), invoice="FA-2026-0101", count="3", **fields)

    html = text(page_of(response))
    assert response.status_code == 200
    assert "15 décembre 2026" in html and "15 janvier 2027" in html and "15 février 2027" in html
    assert "ne sont pas des jours ouvrés" not in html
