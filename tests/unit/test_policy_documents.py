"""Policy as data (issue 5): policy documents are validated whole, every problem named by its path."""

from __future__ import annotations

import copy
import json
from datetime import time

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from relance.adapters.policies import load_packaged_policy, load_policy_file, read_yaml
from relance.domain.errors import InvalidPolicy, RelanceError, UnknownPolicy
from relance.domain.money import MINOR_DIGITS
from relance.domain.parties import PartyKind
from relance.domain.plans import (
    DEFAULT_PLAN_POLICY,
    LateFeesDuringPlan,
    PlanPolicy,
    PlanRules,
    plan_policy_of,
)
from relance.domain.policy import Channel, DunningPolicy, PolicyBook, PolicySegment, PolicyStep, StepCondition
from relance.domain.policy_documents import RISK_BANDS, load_policy_book, policy_to_document

from tests.conftest import REPO
from tests.unit.dunning_builders import LADDER

BUSINESS, CONSUMER = PartyKind.BUSINESS, PartyKind.CONSUMER


def a_document(**changes) -> dict:
    """A small valid policy document; keyword arguments replace top-level keys."""
    document = {
        "version": 1,
        "policy_id": "acme",
        "name": "Acme ladder",
        "sending_hours": {"start": "08:00", "end": "19:00"},
        "promise_grace_days": 3,
        "max_promise_days": 30,
        "formal_notice_deadline_days": 8,
        "steps": [
            {"id": "courtesy", "offset_days": -5, "channel": "email", "template": "courtesy"},
            {"id": "reminder_1", "offset_days": 1, "channel": "email", "template": "reminder_friendly"},
            {
                "id": "reminder_2",
                "offset_days": 8,
                "channel": "email",
                "template": "reminder_firm",
                "min_days_after_previous": 5,
            },
            {"id": "call", "offset_days": 15, "channel": "call_task", "template": "call_script"},
            {
                "id": "formal_notice",
                "offset_days": 30,
                "channel": "formal_notice",
                "template": "formal_notice",
                "required": True,
            },
            {
                "id": "agency",
                "offset_days": 45,
                "channel": "agency",
                "template": "agency_handoff",
                "min_days_after_previous": 15,
            },
        ],
    }
    document.update(copy.deepcopy(changes))
    return document


def with_step(document: dict, index: int, **fields) -> dict:
    document = copy.deepcopy(document)
    document["steps"][index].update(fields)
    return document


def a_segment(**changes) -> dict:
    segment = {
        "policy_id": "acme-b2c",
        "name": "Acme consumers",
        "debtor_kinds": ["consumer"],
        "extends": "default",
    }
    segment.update(changes)
    return segment


def problems_of(document) -> list[tuple[str, str]]:
    with pytest.raises(InvalidPolicy) as caught:
        load_policy_book(document)
    return list(caught.value.problems)


def paths_of(document) -> list[str]:
    return [path for path, _message in problems_of(document)]


# --- the packaged policies -----------------------------------------------------------------


@pytest.mark.parametrize("policy_id", ["fr-b2b", "uk-b2b"])
def test_each_packaged_policy_loads_under_its_own_id(policy_id):
    book = load_packaged_policy(policy_id)

    assert book.default.policy_id == policy_id
    assert book.segments


def test_the_french_default_ladder_is_the_domain_pack_reference_ladder():
    default = load_packaged_policy("fr-b2b").default

    assert [(s.step_id, s.offset_days, s.channel) for s in default.steps] == [
        ("courtesy", -5, Channel.EMAIL),
        ("reminder_1", 1, Channel.EMAIL),
        ("reminder_2", 8, Channel.EMAIL),
        ("call", 15, Channel.CALL_TASK),
        ("formal_notice", 30, Channel.FORMAL_NOTICE),
        ("agency", 45, Channel.AGENCY),
    ]
    assert default.steps == LADDER.steps  # the ladder the engine's tests run on
    assert default.formal_notice_deadline_days == 8
    assert default.step("formal_notice").required
    assert default.step("agency").offset_days == default.step("formal_notice").offset_days + 8 + 7


def test_a_consumer_gets_the_consumer_ladder_with_its_own_tone_and_the_formal_notice_still_required():
    book = load_packaged_policy("fr-b2b")

    policy = book.for_debtor(CONSUMER, None)

    assert policy.policy_id == "fr-b2c"
    assert policy.step("reminder_2").template == "reminder_firm_consumer"
    assert policy.step("call").template == "call_script_consumer"
    assert policy.step("formal_notice").template == "formal_notice_consumer"
    assert policy.step("formal_notice").required
    assert [s.offset_days for s in policy.steps] == [s.offset_days for s in book.default.steps]


def test_a_high_risk_business_debtor_gets_the_faster_ladder():
    book = load_packaged_policy("fr-b2b")

    policy = book.for_debtor(BUSINESS, "high")

    assert policy.policy_id == "fr-b2b-high-risk"
    assert [s.offset_days for s in policy.steps] == [-5, 1, 5, 8, 15, 30]
    assert policy.step("agency").min_days_after_previous >= policy.formal_notice_deadline_days


def test_a_high_risk_consumer_keeps_the_consumer_protections():
    policy = load_packaged_policy("fr-b2b").for_debtor(CONSUMER, "high")

    assert policy.policy_id == "fr-b2c"


@pytest.mark.parametrize("risk_band", [None, "low", "medium"])
def test_other_business_debtors_get_the_default_ladder(risk_band):
    policy = load_packaged_policy("fr-b2b").for_debtor(BUSINESS, risk_band)

    assert policy.policy_id == "fr-b2b"


def test_the_uk_ladder_sends_a_letter_before_action_as_its_required_formal_notice():
    default = load_packaged_policy("uk-b2b").default

    [notice] = [s for s in default.steps if s.channel is Channel.FORMAL_NOTICE]

    assert [s.template for s in default.steps] == [
        "courtesy",
        "reminder_friendly",
        "reminder_firm_uk",
        "call_script",
        "letter_before_action",
        "agency_handoff",
    ]
    assert notice.step_id == "letter_before_action" and notice.required
    assert default.step("agency").min_days_after_previous >= default.formal_notice_deadline_days


def test_a_uk_consumer_gets_a_letter_of_claim_with_a_30_day_deadline():
    policy = load_packaged_policy("uk-b2b").for_debtor(CONSUMER, None)

    assert policy.step("letter_before_action").template == "letter_of_claim"
    assert policy.formal_notice_deadline_days == 30
    assert policy.step("agency").min_days_after_previous >= 30


def test_an_unknown_packaged_policy_names_the_ones_that_exist():
    with pytest.raises(UnknownPolicy, match="fr-b2b, uk-b2b"):
        load_packaged_policy("de-b2b")


def test_a_policy_id_is_never_read_as_a_path():
    with pytest.raises(UnknownPolicy):
        load_packaged_policy("../data/policies/fr-b2b")


# --- reading a document ----------------------------------------------------------------------


def test_a_valid_document_gives_the_ladder_and_limits_it_describes():
    book = load_policy_book(
        a_document(sending_hours={"start": "09:30", "end": "18:00"}, promise_grace_days=5)
    )

    assert book.segments == ()
    assert book.default.sending_hours == (time(9, 30), time(18, 0))
    assert book.default.promise_grace_days == 5
    assert book.default.step("reminder_2") == PolicyStep("reminder_2", 8, Channel.EMAIL, "reminder_firm", 5)


def test_limits_left_out_take_the_policy_defaults():
    document = a_document()
    for key in ("sending_hours", "promise_grace_days", "max_promise_days", "formal_notice_deadline_days"):
        del document[key]

    default = load_policy_book(document).default

    assert (
        default.sending_hours,
        default.promise_grace_days,
        default.max_promise_days,
        default.formal_notice_deadline_days,
    ) == ((time(8), time(19)), 3, 30, 8)


def test_minimum_overdue_amounts_are_converted_exactly_to_minor_units():
    conditions = {
        "min_overdue": {"EUR": "50.00", "GBP": "0.5", "JPY": "5000"},
        "risk_bands": ["medium", "high"],
        "debtor_kinds": ["business"],
    }

    step = load_policy_book(with_step(a_document(), 3, conditions=conditions)).default.step("call")

    assert step.condition == StepCondition(
        {"EUR": 50_00, "GBP": 50, "JPY": 5000}, ("medium", "high"), (BUSINESS,)
    )


def test_an_offset_that_is_not_a_whole_number_is_rejected_with_its_path_and_value():
    problems = problems_of(with_step(a_document(), 3, offset_days="15j"))

    assert problems == [("steps[3].offset_days", 'expected a whole number of days, got "15j"')]


@pytest.mark.parametrize("offset", [-31, 366])
def test_offsets_outside_minus_30_to_365_days_are_rejected(offset):
    document = with_step(a_document(), 0, offset_days=offset)
    document["steps"] = document["steps"][:1]

    assert problems_of(document) == [
        ("steps[0].offset_days", f"expected between -30 and 365 days, got {offset}")
    ]


def test_steps_out_of_order_are_rejected_on_the_step_that_goes_back():
    problems = problems_of(with_step(a_document(), 2, offset_days=1))

    [(path, message)] = problems
    assert path == "steps[2].offset_days"
    assert '1 is not after 1, the offset of the previous step "reminder_1"' in message


def test_a_step_id_used_twice_is_rejected():
    problems = problems_of(with_step(a_document(), 3, id="reminder_2"))

    assert problems == [
        ("steps[3].id", 'step id "reminder_2" is already used by steps[2]; step ids must be unique')
    ]


def test_a_second_formal_notice_is_rejected():
    document = with_step(a_document(), 3, channel="formal_notice", required=True)

    [(path, message)] = problems_of(document)

    assert path == "steps[4].channel"
    assert 'a second formal_notice step (the first is "call")' in message


def test_a_formal_notice_that_is_not_required_is_rejected():
    document = with_step(a_document(), 4, required=False)

    [(path, message)] = problems_of(document)

    assert path == "steps[4].required"
    assert "must be `required: true`" in message


def test_an_agency_step_without_a_formal_notice_before_it_is_rejected():
    document = a_document()
    del document["steps"][4]

    [(path, message)] = problems_of(document)

    assert path == "steps[4].channel"
    assert "an agency step must come after the formal_notice step" in message


def test_an_agency_step_before_the_formal_notice_is_rejected():
    document = a_document()
    document["steps"][4:6] = [
        {
            "id": "agency",
            "offset_days": 30,
            "channel": "agency",
            "template": "agency_handoff",
            "min_days_after_previous": 15,
        },
        {
            "id": "formal_notice",
            "offset_days": 45,
            "channel": "formal_notice",
            "template": "formal_notice",
            "required": True,
        },
    ]

    assert paths_of(document) == ["steps[4].channel"]


def test_an_agency_step_must_wait_at_least_the_formal_notice_deadline():
    document = with_step(a_document(formal_notice_deadline_days=10), 5, min_days_after_previous=9)

    assert problems_of(document) == [
        (
            "steps[5].min_days_after_previous",
            "an agency step must wait at least the formal notice deadline "
            "(formal_notice_deadline_days: 10 days) after the previous step, got 9",
        )
    ]


@pytest.mark.parametrize(
    ("fields", "path", "expected"),
    [
        (
            {"channel": "sms"},
            "steps[1].channel",
            'expected one of email, call_task, letter, formal_notice, agency, got "sms"',
        ),
        (
            {"min_days_after_previous": -1},
            "steps[1].min_days_after_previous",
            "expected between 0 and 365 days, got -1",
        ),
        ({"required": "yes"}, "steps[1].required", 'expected true or false, got "yes"'),
        ({"template": "../secret"}, "steps[1].template", 'got "../secret"'),
        ({"id": "Reminder 1"}, "steps[1].id", 'got "Reminder 1"'),
    ],
)
def test_each_step_field_is_checked(fields, path, expected):
    [(found_path, message)] = problems_of(with_step(a_document(), 1, **fields))

    assert found_path == path
    assert expected in message


@pytest.mark.parametrize(
    ("conditions", "path", "expected"),
    [
        (
            {"min_overdue": {"EUR": 50.0}},
            "steps[1].conditions.min_overdue.EUR",
            'as a quoted decimal with a point, such as "50.00", got 50.0',
        ),
        ({"min_overdue": {"EUR": "50,00"}}, "steps[1].conditions.min_overdue.EUR", 'got "50,00"'),
        ({"min_overdue": {"EUR": "50.001"}}, "steps[1].conditions.min_overdue.EUR", "more than 2 decimals"),
        (
            {"min_overdue": {"eur": "50.00"}},
            "steps[1].conditions.min_overdue.eur",
            'unsupported currency "eur"',
        ),
        (
            {"risk_bands": ["critical"]},
            "steps[1].conditions.risk_bands[0]",
            'expected one of low, medium, high, got "critical"',
        ),
        ({"risk_bands": ["high", "high"]}, "steps[1].conditions.risk_bands[1]", '"high" is listed twice'),
        (
            {"debtor_kinds": ["company"]},
            "steps[1].conditions.debtor_kinds[0]",
            "expected one of business, consumer",
        ),
    ],
)
def test_each_condition_is_checked(conditions, path, expected):
    [(found_path, message)] = problems_of(with_step(a_document(), 1, conditions=conditions))

    assert found_path == path
    assert expected in message


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (a_document(promise_grace=3), "promise_grace"),
        (with_step(a_document(), 2, min_days_after_prev=5), "steps[2].min_days_after_prev"),
        (with_step(a_document(), 2, conditions={"min_overdues": {}}), "steps[2].conditions.min_overdues"),
        (a_document(segments=[a_segment(risk_band=["high"])]), "segments[0].risk_band"),
        (
            a_document(sending_hours={"start": "08:00", "end": "19:00", "zone": "Europe/Paris"}),
            "sending_hours.zone",
        ),
    ],
)
def test_an_unknown_key_is_an_error_so_a_typo_is_never_silent(document, path):
    [(found_path, message)] = problems_of(document)

    assert found_path == path
    assert message.startswith("unknown key; did you mean") or message.startswith("unknown key; expected")


def test_an_unknown_key_suggests_the_closest_one():
    assert problems_of(a_document(promise_grace=3)) == [
        (
            "promise_grace",
            "unknown key; did you mean 'promise_grace_days'? expected one of version, policy_id, "
            "name, sending_hours, promise_grace_days, max_promise_days, formal_notice_deadline_days, "
            "steps, segments, plans, alerts",
        ),
    ]


def test_missing_required_keys_are_each_reported():
    document = a_document()
    del document["name"]
    del document["steps"][2]["template"]

    assert paths_of(document) == ["name", "steps[2].template"]


@pytest.mark.parametrize("version", [2, "1", None])
def test_only_format_version_1_is_read(version):
    [(path, message)] = problems_of(a_document(version=version))

    assert path == "version"
    assert "this Relance reads version 1" in message


def test_an_unquoted_yaml_time_is_explained():
    document = read_yaml("start: 08:00\nend: 19:00\n", "test")

    [(path, message)] = problems_of(a_document(sending_hours=document))

    assert path == "sending_hours.end"
    assert "got the number 1140" in message and 'write "19:00"' in message


def test_sending_hours_must_end_after_they_start():
    assert paths_of(a_document(sending_hours={"start": "19:00", "end": "08:00"})) == ["sending_hours.end"]


def test_several_problems_are_reported_together_in_document_order():
    document = with_step(a_document(nmae="typo"), 1, channel="fax")
    document = with_step(document, 3, offset_days="15j")
    document["steps"][4]["required"] = False

    problems = problems_of(document)

    assert [path for path, _message in problems] == [
        "nmae",
        "steps[1].channel",
        "steps[3].offset_days",
        "steps[4].required",
    ]


def test_the_error_carries_a_stable_code_and_every_problem_in_its_message():
    with pytest.raises(InvalidPolicy) as caught:
        load_policy_book(with_step(a_document(), 1, channel="fax", offset_days="x"))

    error = caught.value
    assert isinstance(error, RelanceError) and error.code == "policy.invalid"
    assert (
        "2 problems" in str(error)
        and "steps[1].channel" in str(error)
        and "steps[1].offset_days" in str(error)
    )
    assert error.params["problems"] == [{"path": p, "message": m} for p, m in error.problems]


def test_a_name_must_fit_on_one_line():
    [(path, message)] = problems_of(a_document(name="Acme\nladder"))

    assert path == "name" and "on one line" in message


@pytest.mark.parametrize("document", [[], "steps: []", None])
def test_a_document_that_is_not_a_mapping_is_one_problem(document):
    [(path, message)] = problems_of(document)

    assert path == "(document)" and "expected a mapping" in message


# --- segments --------------------------------------------------------------------------------


def test_a_segment_extending_the_default_changes_only_what_it_overrides():
    segment = a_segment(
        overrides={"reminder_2": {"template": "reminder_firm_consumer"}},
        remove_steps=["courtesy"],
        promise_grace_days=7,
    )

    book = load_policy_book(a_document(segments=[segment]))

    consumer = book.for_debtor(CONSUMER, None)
    assert consumer.policy_id == "acme-b2c" and consumer.name == "Acme consumers"
    assert [s.step_id for s in consumer.steps] == [
        "reminder_1",
        "reminder_2",
        "call",
        "formal_notice",
        "agency",
    ]
    assert consumer.step("reminder_2") == PolicyStep(
        "reminder_2", 8, Channel.EMAIL, "reminder_firm_consumer", 5
    )
    assert consumer.promise_grace_days == 7 and consumer.max_promise_days == 30
    assert book.for_debtor(BUSINESS, None) == book.default


def test_a_segment_with_its_own_ladder_inherits_only_the_limits():
    steps = [
        {
            "id": "notice",
            "offset_days": 10,
            "channel": "formal_notice",
            "template": "formal_notice",
            "required": True,
        }
    ]
    segment = {"policy_id": "acme-risky", "name": "Risky", "risk_bands": ["high"], "steps": steps}

    book = load_policy_book(a_document(formal_notice_deadline_days=12, segments=[segment]))

    [only] = book.segments
    assert only == PolicySegment(
        DunningPolicy(
            "acme-risky",
            "Risky",
            (PolicyStep("notice", 10, Channel.FORMAL_NOTICE, "formal_notice", required=True),),
            formal_notice_deadline_days=12,
        ),
        risk_bands=("high",),
    )


def test_an_override_that_breaks_the_order_is_reported_on_the_segment():
    segment = a_segment(overrides={"reminder_2": {"offset_days": 20}})

    [(path, message)] = problems_of(a_document(segments=[segment]))

    assert path == "segments[0].extends.call.offset_days"
    assert '15 is not after 20, the offset of the previous step "reminder_2"' in message


def test_a_segment_deadline_longer_than_the_agency_wait_is_rejected():
    segment = a_segment(formal_notice_deadline_days=30)

    [(path, message)] = problems_of(a_document(segments=[segment]))

    assert path == "segments[0].extends.agency.min_days_after_previous"
    assert "(segments[0].formal_notice_deadline_days: 30 days)" in message


def test_removing_the_formal_notice_leaves_the_agency_step_without_one():
    [(path, _message)] = problems_of(a_document(segments=[a_segment(remove_steps=["formal_notice"])]))

    assert path == "segments[0].extends.agency.channel"


@pytest.mark.parametrize(
    ("segment", "path", "expected"),
    [
        (
            a_segment(overrides={"reminder_9": {"template": "x"}}),
            "segments[0].overrides.reminder_9",
            'no step "reminder_9" in the default ladder; its steps are courtesy, reminder_1, reminder_2, '
            "call, formal_notice, agency",
        ),
        (a_segment(overrides={"call": {"id": "phone"}}), "segments[0].overrides.call.id", "unknown key"),
        (a_segment(remove_steps=["courtesy", "courtesy"]), "segments[0].remove_steps[1]", "listed twice"),
        (
            a_segment(overrides={"call": {"template": "call_script_consumer"}}, remove_steps=["call"]),
            "segments[0].remove_steps[0]",
            'step "call" is both overridden and removed',
        ),
        (a_segment(extends="fr-b2b"), "segments[0].extends", 'expected "default"'),
        (a_segment(steps=[]), "segments[0].extends", "not both"),
        (
            {"policy_id": "acme-b2c", "name": "x", "debtor_kinds": ["consumer"]},
            "segments[0]",
            "needs its ladder",
        ),
        (a_segment(debtor_kinds=[]), "segments[0]", "must name debtor_kinds or risk_bands"),
        (a_segment(policy_id="acme"), "segments[0].policy_id", "already the id of policy_id"),
        (a_segment(debtor_kinds=["consumers"]), "segments[0].debtor_kinds[0]", 'got "consumers"'),
    ],
)
def test_each_segment_mistake_is_reported_with_its_path(segment, path, expected):
    [(found_path, message)] = problems_of(a_document(segments=[segment]))

    assert found_path == path
    assert expected in message


def test_a_segment_that_an_earlier_one_always_wins_over_is_rejected():
    consumers = a_segment()
    high_risk_consumers = a_segment(policy_id="acme-b2c-high", risk_bands=["high"])

    [(path, message)] = problems_of(a_document(segments=[consumers, high_risk_consumers]))

    assert path == "segments[1]"
    assert 'never used: every debtor it matches is already taken by segments[0] ("acme-b2c")' in message


def test_the_narrower_segment_first_is_accepted():
    consumers = a_segment()
    high_risk_consumers = a_segment(policy_id="acme-b2c-high", risk_bands=["high"])

    book = load_policy_book(a_document(segments=[high_risk_consumers, consumers]))

    assert book.for_debtor(CONSUMER, "high").policy_id == "acme-b2c-high"
    assert book.for_debtor(CONSUMER, "low").policy_id == "acme-b2c"


def test_a_broken_default_ladder_is_not_reported_again_for_each_extending_segment():
    document = with_step(a_document(segments=[a_segment()]), 2, offset_days="8j")

    assert paths_of(document) == ["steps[2].offset_days"]


# --- files -----------------------------------------------------------------------------------


def test_a_yaml_syntax_error_names_its_line(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\npolicy_id: acme\nsteps:\n  - id: courtesy\n    offset_days: [-5\n")

    with pytest.raises(InvalidPolicy) as caught:
        load_policy_file(path)

    [(where, message)] = caught.value.problems
    assert where.startswith("line 6") and message.startswith("not valid YAML")
    assert caught.value.source == str(path)


def test_a_key_repeated_in_yaml_is_an_error_instead_of_a_silent_overwrite(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\npolicy_id: acme\npolicy_id: other\n")

    with pytest.raises(InvalidPolicy) as caught:
        load_policy_file(path)

    [(where, message)] = caught.value.problems
    assert where == "line 3, column 1" and "'policy_id' appears twice" in message


def test_yaml_anchors_and_merge_keys_can_share_step_fields(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text(
        "version: 1\npolicy_id: acme\nname: Acme\nsteps:\n"
        "  - &mail {id: reminder_1, offset_days: 1, channel: email, template: reminder_friendly}\n"
        "  - {<<: *mail, id: reminder_2, offset_days: 8, template: reminder_firm}\n"
    )

    book = load_policy_file(path)

    assert [(s.step_id, s.template) for s in book.default.steps] == [
        ("reminder_1", "reminder_friendly"),
        ("reminder_2", "reminder_firm"),
    ]


def test_a_json_file_reads_like_the_yaml_one(tmp_path):
    path = tmp_path / "policy.json"
    path.write_text(json.dumps(a_document(segments=[a_segment()])))

    assert load_policy_file(path) == load_policy_book(a_document(segments=[a_segment()]))


def test_a_json_number_for_an_amount_is_shown_exactly_and_refused(tmp_path):
    path = tmp_path / "policy.json"
    text = json.dumps(with_step(a_document(), 1, conditions={"min_overdue": {"EUR": "__"}}))
    path.write_text(text.replace('"__"', "50.10"))

    with pytest.raises(InvalidPolicy) as caught:
        load_policy_file(path)

    [(where, message)] = caught.value.problems
    assert where == "steps[1].conditions.min_overdue.EUR" and message.endswith("got 50.10")


def test_a_file_with_another_extension_is_refused(tmp_path):
    path = tmp_path / "policy.txt"
    path.write_text("version: 1\n")

    with pytest.raises(InvalidPolicy, match=r"expected a \.yaml, \.yml or \.json file"):
        load_policy_file(path)


@pytest.mark.parametrize("language", ["fr", "en"])
def test_the_annotated_example_of_the_guide_is_a_valid_policy(language):
    guide = (REPO / "docs" / "guide" / f"policy.{language}.md").read_text(encoding="utf-8")
    example = guide.split("```yaml\n", 1)[1].split("```", 1)[0]

    book = read_yaml_book(example)

    assert book.default.policy_id == "acme-b2b"
    assert book.for_debtor(CONSUMER, None).policy_id == "acme-b2c"
    assert book.default.step("reminder_2").condition.min_overdue_minor == {"EUR": 50_00, "GBP": 40_00}


def read_yaml_book(text: str) -> PolicyBook:
    return load_policy_book(read_yaml(text, "guide"))


# --- round trip ------------------------------------------------------------------------------

_STEP_IDS = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)
_TEMPLATES = st.from_regex(r"[a-z][a-z0-9_]{0,15}", fullmatch=True)
_POLICY_IDS = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,15}", fullmatch=True)
_NAMES = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=30).filter(
    str.strip
)
_PLAIN_CHANNELS = [Channel.EMAIL, Channel.CALL_TASK, Channel.LETTER]


@st.composite
def step_conditions(draw) -> StepCondition:
    currencies = draw(st.lists(st.sampled_from(sorted(MINOR_DIGITS)), unique=True, max_size=3))
    return StepCondition(
        {currency: draw(st.integers(0, 10**12)) for currency in currencies},
        tuple(draw(st.lists(st.sampled_from(RISK_BANDS), unique=True))),
        tuple(draw(st.lists(st.sampled_from(list(PartyKind)), unique=True))),
    )


@st.composite
def policies(draw, policy_id: str) -> DunningPolicy:
    deadline = draw(st.integers(1, 90))
    count = draw(st.integers(1, 7))
    offsets = sorted(draw(st.lists(st.integers(-30, 365), min_size=count, max_size=count, unique=True)))
    ids = draw(st.lists(_STEP_IDS, min_size=count, max_size=count, unique=True))
    notice_at = draw(st.none() | st.integers(0, count - 1))
    steps = []
    for index, (step_id, offset) in enumerate(zip(ids, offsets, strict=True)):
        if index == notice_at:
            channel, required = Channel.FORMAL_NOTICE, True
        else:
            after_notice = notice_at is not None and index > notice_at
            channel = draw(st.sampled_from(_PLAIN_CHANNELS + ([Channel.AGENCY] if after_notice else [])))
            required = draw(st.booleans())
        spacing = draw(st.integers(deadline if channel is Channel.AGENCY else 0, 365))
        steps.append(
            PolicyStep(step_id, offset, channel, draw(_TEMPLATES), spacing, required, draw(step_conditions()))
        )
    start, end = sorted(draw(st.lists(st.integers(0, 24 * 60 - 1), min_size=2, max_size=2, unique=True)))
    return DunningPolicy(
        policy_id,
        draw(_NAMES),
        tuple(steps),
        (time(*divmod(start, 60)), time(*divmod(end, 60))),
        draw(st.integers(0, 60)),
        draw(st.integers(1, 365)),
        deadline,
    )


def _overlap(first: tuple, second: tuple, every: tuple) -> bool:
    return bool(set(first or every) & set(second or every))


@st.composite
def policy_books(draw) -> PolicyBook:
    ids = draw(st.lists(_POLICY_IDS, min_size=1, max_size=4, unique=True))
    segments: list[PolicySegment] = []
    for policy_id in ids[1:]:
        kinds = tuple(draw(st.lists(st.sampled_from(list(PartyKind)), unique=True)))
        bands = tuple(draw(st.lists(st.sampled_from(RISK_BANDS), unique=True, min_size=0 if kinds else 1)))
        # Disjoint segments: none can hide a later one (the first matching segment wins).
        if any(
            _overlap(kinds, s.debtor_kinds, tuple(PartyKind)) and _overlap(bands, s.risk_bands, RISK_BANDS)
            for s in segments
        ):
            continue
        segments.append(PolicySegment(draw(policies(policy_id)), kinds, bands))
    return PolicyBook(draw(policies(ids[0])), tuple(segments))


@given(book=policy_books())
def test_a_book_written_as_a_document_reads_back_the_same(book):
    assert load_policy_book(policy_to_document(book)) == book


@settings(deadline=None)  # PyYAML's pure-Python dumper is slow on the first examples
@given(book=policy_books())
def test_a_book_written_as_yaml_or_json_text_reads_back_the_same(book):
    document = policy_to_document(book)

    from_yaml = load_policy_book(
        read_yaml(yaml.safe_dump(document, allow_unicode=True, sort_keys=False), "test")
    )
    from_json = load_policy_book(json.loads(json.dumps(document, ensure_ascii=False)))

    assert from_yaml == book and from_json == book


@pytest.mark.parametrize("policy_id", ["fr-b2b", "uk-b2b"])
def test_each_packaged_policy_survives_the_round_trip(policy_id):
    book = load_packaged_policy(policy_id)

    assert load_policy_book(policy_to_document(book)) == book


# --- installment plans (issue 7) -------------------------------------------------------------


def test_a_document_without_plans_gets_the_default_plan_rules():
    book = load_policy_book(a_document())

    assert book.plans is None
    assert plan_policy_of(book) == DEFAULT_PLAN_POLICY
    assert "plans" not in policy_to_document(book)


def test_a_plans_section_gives_the_rules_per_risk_band_on_top_of_the_default():
    plans = {
        "default": {
            "max_duration_months": 6,
            "max_installments": 6,
            "min_installment": {"EUR": "100.00"},
            "min_down_payment_percent": "12.5",
            "max_total": {"EUR": "50000.00"},
            "late_fees": "waived",
            "allowed_after_formal_notice": True,
            "consumer_credit_exemption": True,
            "grace_days": 10,
        },
        "high": {"max_duration_days": 60, "max_installments": 2, "min_down_payment_percent": 30},
    }

    policy = plan_policy_of(load_policy_book(a_document(plans=plans)))

    assert policy.default == PlanRules(
        6, None, 6, {"EUR": 100_00}, 1_250, {"EUR": 50_000_00}, LateFeesDuringPlan.WAIVED, True, True, 10
    )
    high = policy.rules_for("high")
    assert (high.max_duration_months, high.max_duration_days, high.max_installments) == (None, 60, 2)
    assert high.min_down_payment_bp == 3_000
    assert high.min_installment_minor == {"EUR": 100_00} and high.grace_days == 10  # from the default
    assert policy.rules_for("low") == policy.default and policy.rules_for(None) == policy.default


@pytest.mark.parametrize(
    ("plans", "path", "expected"),
    [
        (
            {"default": {"max_installments": 40}},
            "plans.default.max_installments",
            "must be a whole number between 1 and 36, got 40",
        ),
        (
            {"default": {"max_installments": "6"}},
            "plans.default.max_installments",
            'must be a whole number between 1 and 36, got "6"',
        ),
        (
            {"high": {"max_duration_months": 0}},
            "plans.high.max_duration_months",
            "must be a whole number between 1 and 36, got 0",
        ),
        (
            {"default": {"max_duration_days": 2000}},
            "plans.default.max_duration_days",
            "must be a whole number between 1 and 1096, got 2000",
        ),
        (
            {"default": {"max_duration_days": 30, "max_duration_months": 1}},
            "plans.default",
            "give max_duration_months or max_duration_days, not both",
        ),
        (
            {"default": {"grace_days": 0}},
            "plans.default.grace_days",
            "must be a whole number between 1 and 60, got 0",
        ),
        (
            {"default": {"min_down_payment_percent": "120"}},
            "plans.default.min_down_payment_percent",
            "must be a percentage between 0 and 100",
        ),
        (
            {"default": {"min_down_payment_percent": 10.5}},
            "plans.default.min_down_payment_percent",
            "must be a percentage between 0 and 100",
        ),
        (
            {"default": {"min_down_payment_percent": "10.125"}},
            "plans.default.min_down_payment_percent",
            "at most 2 decimals",
        ),
        (
            {"default": {"min_installment": {"XYZ": "10.00"}}},
            "plans.default.min_installment.XYZ",
            "unsupported currency",
        ),
        ({"default": {"max_total": {"EUR": 500}}}, "plans.default.max_total.EUR", "as a quoted decimal"),
        (
            {"default": {"late_fees": "forgiven"}},
            "plans.default.late_fees",
            'expected one of waived, counted, frozen, got "forgiven"',
        ),
        (
            {"default": {"allowed_after_formal_notice": "no"}},
            "plans.default.allowed_after_formal_notice",
            'expected true or false, got "no"',
        ),
        (
            {"default": {"consumer_credit_exemption": None}},
            "plans.default.consumer_credit_exemption",
            "expected true or false",
        ),
        (
            {"default": {"max_instalments": 6}},
            "plans.default.max_instalments",
            "unknown key; did you mean 'max_installments'?",
        ),
        ({"very_high": {}}, "plans.very_high", "expected one of default, low, medium, high"),
        ({"default": []}, "plans.default", "expected a mapping of plan rules"),
        ([], "plans", "expected a mapping of plan rules by risk band"),
    ],
)
def test_each_plan_rule_is_checked_with_its_path(plans, path, expected):
    problems = problems_of(a_document(plans=plans))

    assert len(problems) == 1, problems
    assert problems[0][0] == path
    assert expected in problems[0][1]


def test_the_reminder_before_an_installment_defaults_to_3_days_and_0_turns_it_off():
    plans = {"default": {"reminder_days_before": 0}, "high": {"reminder_days_before": 30}, "low": {}}

    policy = plan_policy_of(load_policy_book(a_document(plans=plans)))
    unset = plan_policy_of(load_policy_book(a_document(plans={"default": {"grace_days": 5}})))

    assert unset.default.reminder_days_before == 3
    assert policy.default.reminder_days_before == 0
    assert policy.rules_for("high").reminder_days_before == 30
    assert policy.rules_for("low").reminder_days_before == 0  # a band inherits the default's
    assert policy_to_document(load_policy_book(a_document(plans=plans)))["plans"]["default"]["reminder_days_before"] == 0


@pytest.mark.parametrize("value", [-1, 31, "3", 2.5, None])
def test_reminder_days_before_outside_0_to_30_is_refused_naming_the_field(value):
    problems = problems_of(a_document(plans={"default": {"reminder_days_before": value}}))

    assert len(problems) == 1, problems
    path, message = problems[0]
    assert path == "plans.default.reminder_days_before"
    assert "must be a whole number between 0 and 30" in message


def test_every_plan_problem_is_reported_at_once():
    plans = {"default": {"max_installments": 0, "late_fees": "x"}, "high": {"grace_days": 99}}

    assert paths_of(a_document(plans=plans)) == [
        "plans.default.max_installments",
        "plans.default.late_fees",
        "plans.high.grace_days",
    ]


def test_a_misspelt_plans_section_is_suggested():
    (problem,) = problems_of(a_document(plan={"default": {}}))

    assert problem[0] == "plan" and "did you mean 'plans'?" in problem[1]


@pytest.mark.parametrize("policy_id", ["fr-b2b", "uk-b2b"])
def test_each_packaged_policy_has_plan_rules_a_credit_manager_would_choose(policy_id):
    policy = plan_policy_of(load_packaged_policy(policy_id))

    assert policy.default.max_duration_months == 6 and policy.default.max_installments == 6
    assert policy.default.min_down_payment_bp == 1_000
    assert policy.default.late_fees is LateFeesDuringPlan.FROZEN
    assert not policy.default.allowed_after_formal_notice and policy.default.consumer_credit_exemption
    assert policy.rules_for("high").max_installments == 3


_PLAN_CURRENCIES = st.lists(st.sampled_from(sorted(MINOR_DIGITS)), unique=True, max_size=3)


@st.composite
def plan_rules(draw) -> PlanRules:
    in_days = draw(st.booleans())
    return PlanRules(
        max_duration_months=None if in_days else draw(st.integers(1, 36)),
        max_duration_days=draw(st.integers(1, 1096)) if in_days else None,
        max_installments=draw(st.integers(1, 36)),
        min_installment_minor={c: draw(st.integers(0, 10**9)) for c in draw(_PLAN_CURRENCIES)},
        min_down_payment_bp=draw(st.integers(0, 10_000)),
        max_total_minor={c: draw(st.integers(0, 10**12)) for c in draw(_PLAN_CURRENCIES)},
        late_fees=draw(st.sampled_from(list(LateFeesDuringPlan))),
        allowed_after_formal_notice=draw(st.booleans()),
        consumer_credit_exemption=draw(st.booleans()),
        grace_days=draw(st.integers(1, 60)),
        reminder_days_before=draw(st.integers(0, 30)),
    )


@given(
    book=policy_books(),
    default=plan_rules(),
    bands=st.dictionaries(st.sampled_from(RISK_BANDS), plan_rules()),
)
def test_a_book_with_plan_rules_reads_back_the_same(book, default, bands):
    with_plans = PolicyBook(book.default, book.segments, PlanPolicy(default, bands))

    document = policy_to_document(with_plans)

    assert load_policy_book(document) == with_plans
    assert load_policy_book(json.loads(json.dumps(document))) == with_plans
