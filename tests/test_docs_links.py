"""The README and docs/ point at things that exist, and the README's test command is CI's.

The README is the front door and docs/ holds the rest: a page moved or a heading renamed
breaks links that nobody clicks until a newcomer does, so every relative link, anchor and
picture is checked here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def outside_code_blocks(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def anchors(page: Path) -> set[str]:
    """GitHub's heading ids: lower case, punctuation dropped, spaces as hyphens."""
    ids = set()
    for line in outside_code_blocks(page.read_text()):
        if match := re.match(r"#{1,6} (.+)", line):
            ids.add(re.sub(r"[^\w\- ]", "", match[1].strip().lower()).replace(" ", "-"))
    return ids


def relative_links(page: Path) -> list[str]:
    found = LINK.findall("\n".join(outside_code_blocks(page.read_text())))
    return [link for link in found if not re.match(r"[a-z]+:", link)]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page):
    broken = []
    for link in relative_links(page):
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link} (no such file)")
        elif anchor and target.suffix == ".md" and anchor not in anchors(target):
            broken.append(f"{link} (no such heading)")
    assert not broken, f"{page.name}: " + ", ".join(broken)


def test_every_docs_page_links_to_code_and_is_linked_from_the_readme():
    readme_links = set(relative_links(ROOT / "README.md"))
    for page in PAGES[1:]:
        code = [link for link in relative_links(page) if link.startswith("../")]
        assert code, f"{page.name} links to no code file"
        name = f"docs/{page.name}"
        assert any(link.partition("#")[0] == name for link in readme_links), name


def test_every_screenshot_is_shown_on_a_page():
    shown = {
        (page.parent / link).resolve()
        for page in PAGES
        for link in relative_links(page)
        if link.endswith(".png")
    }
    for picture in sorted((ROOT / "docs").glob("*.png")):
        assert picture.resolve() in shown, picture.name


def test_ci_runs_the_test_command_the_readme_gives():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Running the tests", 1)[1].split("\n## ", 1)[0]
    assert re.search(r"^make test\s", section, re.M), "README: Running the tests shows make test"
    assert re.search(r"^make test-fast\s", section, re.M), "README shows make test-fast"
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test(\s|$)", ci, re.M), ".ci/run runs make test"
