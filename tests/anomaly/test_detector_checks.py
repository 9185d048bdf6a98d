"""One contract, tested once, for every registered detector: each check of ``detector_checks.CHECKS``
on each detector of ``anomaly.registry.DETECTORS``, all sharing one fit per detector."""

from __future__ import annotations

import pytest
from detector_checks import CHECKS, TINY_PARAMS

from anomaly.registry import DETECTORS


def test_every_registered_detector_has_a_tiny_setting():
    assert sorted(TINY_PARAMS) == sorted(DETECTORS)


@pytest.mark.parametrize("check", CHECKS, ids=lambda check: check.__name__.removeprefix("check_"))
@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_detector_check(name, check, tmp_path):
    check(name, tmp_path)
