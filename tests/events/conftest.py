"""Fixtures of the events tests."""

import pytest

from imdsctl.events.state import State


@pytest.fixture
def state(tmp_path):
    """A watch's state in a private directory of the test's own, opened (and closed after)."""
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    opened = State.open(str(directory / "events.json"))
    yield opened
    opened.close()
