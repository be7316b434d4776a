"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = REPO_ROOT / "sample_data"


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """../shared/datasets (or $FT_AUDIT_SHARED_DATASETS); tests using it skip when absent."""
    from benchmarks.common import shared_datasets_dir

    folder = shared_datasets_dir()
    if folder is None:
        pytest.skip("shared datasets folder not available")
    return folder


@pytest.fixture(scope="session")
def sample_data() -> Path:
    return SAMPLE_DATA
