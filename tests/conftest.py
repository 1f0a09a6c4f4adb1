"""The suite keeps validated scenarios (irqlab.scenario.cache) in a folder of
its own, never the user's cache; the commands it runs inherit it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from irqlab.scenario.cache import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def _scenario_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("scenario-cache")))
        yield
