"""The documentation site: a real `mkdocs build --strict` in a subprocess, and what it holds."""

from __future__ import annotations

import ast
import html
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "mkdocs.yml"
HOOK = ROOT / "docs" / "hooks" / "graphs.py"
MERMAID = re.compile(r'<pre class="mermaid"><code>(.*?)</code></pre>', re.S)


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def text_of(page: str) -> str:
    """A built page's text, without tags, entities or runs of white space."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    done = mkdocs_build(CONFIG, out)
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stdout}\n{done.stderr}"
    return out


def nav_pages() -> list[str]:
    from mkdocs.config import load_config

    found: list[str] = []

    def walk(item: object) -> None:
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            for value in item.values():
                walk(value)
        elif isinstance(item, list):
            for value in item:
                walk(value)

    walk(load_config(str(CONFIG))["nav"])
    return found


def built(site: Path, page: str) -> Path:
    """Where `use_directory_urls` puts a page: a.md -> a/index.html, x/index.md -> x/index.html."""
    stem = page.removesuffix(".md")
    return site / ("index.html" if stem == "index" else f"{stem.removesuffix('/index')}/index.html")


def test_strict_build_reports_no_warnings(site: Path) -> None:
    # The fixture asserted success; --strict turns any warning into a failure.
    assert (site / "index.html").is_file()
    assert (site / "sitemap.xml").is_file()


def test_every_page_of_the_nav_is_built_from_its_source(site: Path) -> None:
    pages = nav_pages()
    for wanted in (
        "index.md",
        "concepts.md",
        "decorators.md",
        "graph-strings.md",
        "migrating-from-loop.md",
        "deploying.md",
        "cylc-compatibility.md",
        "benchmarks.md",
        "cli.md",
        "api/index.md",
    ):
        assert wanted in pages, f"{wanted} is missing from the nav"
    for page in pages:
        out = built(site, page)
        assert out.is_file(), f"{page} was not built at {out}"
        source = (ROOT / "docs" / page).read_text(encoding="utf-8")
        heading = next(line[2:].strip() for line in source.splitlines() if line.startswith("# "))
        assert heading in text_of(out.read_text(encoding="utf-8")), f"{page}: no '{heading}'"


def test_every_markdown_page_is_in_the_nav() -> None:
    pages = set(nav_pages())
    sources = {
        p.relative_to(ROOT / "docs").as_posix()
        for p in (ROOT / "docs").rglob("*.md")
        if "hooks" not in p.parts
    }
    assert sources <= pages, f"pages left out of the nav: {sorted(sources - pages)}"


@pytest.mark.parametrize(
    ("page", "name"),
    [
        ("api/decorators", "cycle"),
        ("api/decorators", "previous"),
        ("api/decorators", "build_workflow"),
        ("api/flow", "cyclic_flow"),
        ("api/flow", "stop_cycling"),
        ("api/graphstring", "from_graph"),
        ("api/flowcylc", "load_flow_cylc"),
        ("api/model", "Workflow"),
        ("api/clock", "wall_clock"),
        ("api/render", "picture"),
        ("api/errors", "CycleError"),
    ],
)
def test_api_reference_renders_the_docstrings(site: Path, page: str, name: str) -> None:
    module = docstring_home(name)
    page_html = (site / page / "index.html").read_text(encoding="utf-8")
    assert f'id="{module}.{name}"' in page_html, f"no heading for {name} on {page}"
    # The docstring's first paragraph, as Markdown renders its ``code`` spans.
    first = docstring(module, name).split("\n\n")[0].replace("``", "")
    first = re.sub(r":[a-z]+:`~?([\w.]+)`", lambda m: m[1].split(".")[-1], first)
    # Compared without white space: tags around code spans leave spaces of their own.
    assert "".join(first.split()) in "".join(text_of(page_html).split())


def docstring_home(name: str) -> str:
    """The module that defines a public name (read from the package, without importing Prefect)."""
    import prefect_cycles

    lazy = prefect_cycles._LAZY.get(name)
    return f"prefect_cycles.{lazy}" if lazy else getattr(prefect_cycles, name).__module__


def docstring(module: str, name: str) -> str:
    """A top-level function's or class's docstring, read from its source file."""
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)) and node.name == name:
            return ast.get_docstring(node) or ""
    raise AssertionError(f"{name} is not defined at the top of {path}")


def test_api_reference_shows_no_sphinx_roles(site: Path) -> None:
    for page in (site / "api").rglob("index.html"):
        text = text_of(page.read_text(encoding="utf-8"))
        assert not re.search(r":(func|class|meth|mod):", text), f"raw role in {page}"


def command(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "prefect_cycles", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout.strip("\n")


def test_the_seed_picture_is_the_commands_mermaid_output(site: Path) -> None:
    page = (site / "index.html").read_text(encoding="utf-8")
    blocks = [html.unescape(b) for b in MERMAID.findall(page)]
    expected = command("graph", "examples/seed.py:seed", "1", "4", "--format", "mermaid")
    assert expected in [b.strip("\n") for b in blocks]
    # The seed's instances: prep at 1, foo and bar at each of the points 1..4.
    assert expected.count('"prep"') == 1
    assert expected.count('"foo"') == expected.count('"bar"') == 4
    for point in "1234":
        assert f'"{point}"' in expected
    assert "prefect-cycles graph examples/seed.py:seed 1 4 --format mermaid" in text_of(page)


@pytest.mark.parametrize(
    ("page", "source"),
    [
        ("decorators", "examples/carry_result.py:running_total"),
        ("graph-strings", "tests/data/flowcylc/forecast"),
        ("cli", "tests/data/flowcylc/seed --collapsed"),
    ],
)
def test_other_pictures_are_drawn(site: Path, page: str, source: str) -> None:
    built_page = (site / page / "index.html").read_text(encoding="utf-8")
    assert MERMAID.search(built_page), f"no mermaid picture on {page}"
    assert f"prefect-cycles graph {source}" in text_of(built_page)


def test_the_command_line_page_holds_the_real_help(site: Path) -> None:
    page = text_of((site / "cli" / "index.html").read_text(encoding="utf-8"))
    for args in ((), ("graph",), ("points",), ("run",), ("validate",)):
        usage = command(*args, "--help").splitlines()[0]
        assert " ".join(usage.split()) in page


def test_the_site_links_no_web_fonts(site: Path) -> None:
    for page in site.rglob("*.html"):
        assert "fonts.googleapis.com" not in page.read_text(encoding="utf-8"), page


@pytest.mark.parametrize(
    ("marker", "message"),
    [
        ("<!-- prefect-cycles graph no/such/flow.cylc -->", "no/such/flow.cylc --format mermaid"),
        ("<!-- prefect-cycles graf examples/seed.py:seed -->", "malformed marker"),
    ],
)
def test_a_picture_that_cannot_be_drawn_fails_the_build(
    tmp_path: Path, marker: str, message: str
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(f"# Broken\n\n{marker}\n")
    config = tmp_path / "mkdocs.yml"
    config.write_text(
        textwrap.dedent(
            f"""\
            site_name: broken
            hooks:
              - {HOOK}
            """
        )
    )
    done = mkdocs_build(config, tmp_path / "site")
    assert done.returncode != 0
    assert message in done.stderr
    assert not (tmp_path / "site" / "index.html").exists()


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def test_the_pictures_draw_offline_in_a_real_browser(site: Path) -> None:
    """Headless Chromium, with every host name unresolvable, draws the seed picture.

    Material replaces a ``<pre class="mermaid">`` with a ``<div class="mermaid">``
    holding the drawn SVG (in a closed shadow root) once mermaid.js runs; without
    it the page keeps the raw source. The site serves its own copy, so no CDN is needed.
    """
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install Chromium (.ci/run does, with apt-get)")
        pytest.skip("needs a headless Chromium (apt install chromium)")
    assert (site / "javascripts" / "mermaid.min.js").is_file()
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # offline: no CDN can answer
            "--virtual-time-budget=30000",
            "--dump-dom",
            (site / "index.html").as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    dom = done.stdout
    assert "</html>" in dom, done.stderr[-2000:]
    # Material strips the class from the <pre> first; without mermaid.js the source stays in it.
    assert not MERMAID.search(dom) and '<pre class="">' not in dom, "the picture stayed source"
    assert '<div class="mermaid">' in dom
