"""Old flat module paths of the built-in checks still import, with a DeprecationWarning."""

from __future__ import annotations

import importlib
import sys

import pytest

from checks._moved import MOVED


@pytest.mark.parametrize("old", ["checks.label_noise", "checks._probe", "checks.leakage"])
def test_an_old_path_gives_the_new_module_with_a_warning(old: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match=MOVED[old]):
        module = importlib.import_module(old)
    assert module is importlib.import_module(MOVED[old])


def test_family_packages_keep_the_old_names_of_their_checks() -> None:
    from checks.bias import GroupLabelDisparity
    from checks.duplication import NearDuplicates
    from checks.labels import LabelIssuesCheck

    assert {c.name for c in (GroupLabelDisparity, NearDuplicates, LabelIssuesCheck)} == {
        "group_label_disparity", "near_duplicates", "label_issues"}


def test_every_old_path_points_at_a_module() -> None:
    for new in MOVED.values():
        importlib.import_module(new)
