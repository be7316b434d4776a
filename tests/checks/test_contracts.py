"""One contract suite over every registered check (see audit.testing)."""

from __future__ import annotations

import pytest

from audit.registry import all_checks
from audit.testing import (
    assert_declares_artifacts,
    assert_params_round_trip,
    assert_skips_without_needs,
    contract_datasets,
    run_contract_case,
)

CHECKS = all_checks()
DATASETS = contract_datasets()


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_params_round_trip_and_pickle(name: str) -> None:
    assert_params_round_trip(CHECKS[name])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_skipped_when_a_need_is_missing(name: str) -> None:
    assert_skips_without_needs(CHECKS[name])


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("name", sorted(CHECKS))
def test_contract_on_dataset(name: str, dataset: str) -> None:
    run_contract_case(CHECKS[name], DATASETS[dataset])


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_declares_the_artifacts_it_reads(name: str) -> None:
    for data in DATASETS.values():
        assert_declares_artifacts(CHECKS[name], data)
