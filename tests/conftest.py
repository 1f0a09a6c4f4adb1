"""The suite keeps validated scenarios (irqlab.scenario.cache) in a folder of
its own, never the user's cache; the commands it runs inherit it.  Each test
starts with SIGPIPE ignored, as Python sets it."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

from irqlab.scenario.cache import CACHE_ENV


@pytest.fixture(autouse=True, scope="session")
def _scenario_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CACHE_ENV, str(tmp_path_factory.mktemp("scenario-cache")))
        yield


@pytest.fixture(autouse=True)
def _sigpipe_ignored() -> Iterator[None]:
    """Python ignores SIGPIPE (a broken pipe is an OSError); ``vcdvcd`` sets it to
    the default action when imported, for the whole process, and a later EPIPE
    in pytest's own process (a sweep writing to a worker that died) then killed
    the suite with status 141."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    yield
