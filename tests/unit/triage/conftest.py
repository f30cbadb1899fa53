from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.triage.corpus import write_corpus

GOLDEN = Path(__file__).parent / "golden"


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[int, Path]:
    return write_corpus(tmp_path_factory.mktemp("corpus"))
