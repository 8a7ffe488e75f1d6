"""pyproject.toml declares its licence the way setuptools ≥ 77 wants (PEP 639), so installs print no warning."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())


def test_the_licence_is_an_spdx_expression_and_no_classifier_repeats_it():
    project = PYPROJECT["project"]
    assert project["license"] == "Apache-2.0"  # a table ({text = …}) is deprecated and warns on every build
    assert not [c for c in project.get("classifiers", []) if c.startswith("License ::")]


def test_the_build_backend_understands_spdx_licences():
    [setuptools] = [r for r in PYPROJECT["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = re.fullmatch(r"setuptools>=(\d+)(\.\d+)*", setuptools)
    assert minimum and int(minimum.group(1)) >= 77, setuptools


def test_the_sms_sdk_is_pinned():
    pinned = {r.split("==")[0]: r for r in PYPROJECT["project"]["dependencies"]}
    assert "==" in pinned["tencentcloud-sdk-python-sms"] and "==" in pinned["tencentcloud-sdk-python-common"]
