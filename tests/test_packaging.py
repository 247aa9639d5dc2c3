"""What a user gets from the package's metadata and the repository's first files (issue 12)."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def test_the_license_the_metadata_names_is_shipped():
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text and "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_no_project_address_is_made_up():
    # The project has no public home yet: no URLs rather than invented ones.
    assert "urls" not in PROJECT


def test_the_readme_names_a_real_flow_cylc():
    readme = (ROOT / "README.md").read_text()
    assert "path/to/flow.cylc" not in readme
    assert "examples/seed-cylc/flow.cylc" in readme
    assert (ROOT / "examples" / "seed-cylc" / "flow.cylc").is_file()
