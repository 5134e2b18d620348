"""The guards_off plugin still finds every guard it disables: a refactor that moves a guard breaks this test,
not silently the acceptance check of issue #11."""

from __future__ import annotations

import pytest

from tests.reliability import guards_off


@pytest.mark.parametrize("name", sorted(guards_off.GUARDS))
def test_every_guard_the_plugin_disables_is_still_where_it_looks(monkeypatch, name):
    monkeypatch.setattr(guards_off, "APPLY", False)

    guards_off.GUARDS[name]()  # raises AssertionError when a rewritten text is no longer found exactly once
