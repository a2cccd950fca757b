"""The launch buttons the README shows: off by default, and a strict build with them on puts them on every chapter.

The README's section "Launch buttons: JupyterHub, Binder, Colab" gives the lines an instructor puts
into `_config.yml`. The test reads that YAML block from the README itself (so the lines it builds
with are the lines instructors copy), merges it into a copy of `_config.yml` the way the README
says, builds a copy of the book's sources strictly (`-W -n --keep-going`) with notebook execution
off (the buttons do not depend on outputs; the main strict build executes), and checks each
chapter page for a link to every configured service that opens that chapter's notebook from the
configured repository and branch.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml
from browser import book

from benchmarks.build_speed import copy_sources

README = book.ROOT / "README.md"
SECTION = "## Launch buttons: JupyterHub, Binder, Colab"
SERVICES = ("jupyterhub_url", "binderhub_url", "colab_url")


def readme_snippet(readme: str) -> str:
    """The one YAML block of the README's launch-buttons section."""
    assert SECTION in readme, f"the README has no section {SECTION!r}"
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, flags=re.S)
    assert len(blocks) == 1, f"the README's {SECTION!r} should hold one yaml block, not {len(blocks)}"
    return blocks[0]


def with_launch_buttons(config: dict, snippet: str) -> dict:
    """`config` with the snippet's top-level blocks in place of its own (what the README tells instructors)."""
    added = yaml.safe_load(snippet)
    assert isinstance(added, dict) and "launch_buttons" in added and "repository" in added, (
        "the README's snippet should set both repository: and launch_buttons:"
    )
    return {**config, **added}


def execution_off(config: dict) -> dict:
    return {**config, "execute": {**config.get("execute", {}), "execute_notebooks": "off"}}


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        href = dict(attrs).get("href")
        if tag == "a" and href:
            self.hrefs.append(href)


def links(page: Path) -> list[str]:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser.hrefs


def test_launch_buttons_are_off_by_default():
    """The committed configuration turns on no launch service: the course has no public URL of its own."""
    config = yaml.safe_load((book.ROOT / "_config.yml").read_text(encoding="utf-8"))
    launch = config.get("launch_buttons") or {}
    on = {key: launch[key] for key in (*SERVICES, "thebe") if launch.get(key)}
    assert not on, f"_config.yml turns on launch buttons by default: {on}"


def expected_targets(wanted: dict, notebook: str) -> dict[str, tuple[str, dict]]:
    """Service key -> (address, query) its button must open: `notebook` of the repository, at the branch.

    The addresses are the services' own: BinderHub's /v2/gh/ORG/REPO/REF?urlpath=, nbgitpuller's
    git-pull?repo=&branch=&urlpath= (it clones into a folder named after the repository), Colab's
    /github/ORG/REPO/blob/REF/PATH.
    """
    launch, repository = wanted["launch_buttons"], wanted["repository"]
    missing = [key for key in SERVICES if not launch.get(key)]
    assert not missing, f"the README's snippet should show every service it names; it does not set {missing}"
    hub, binder, colab = (launch[key].rstrip("/") for key in SERVICES)
    url, branch = repository["url"].rstrip("/"), repository.get("branch", "main")
    org, repo = url.split("/")[-2:]
    interface = launch.get("notebook_interface", "classic")
    ui = {"jupyterlab": "lab/tree", "classic": "tree"}.get(interface)
    assert ui, f"notebook_interface is jupyterlab or classic (Jupyter Book 1), not {interface!r}"
    return {
        "jupyterhub_url": (
            f"{hub}/hub/user-redirect/git-pull",
            {"repo": url, "branch": branch, "urlpath": f"{ui}/{repo}/{notebook}"},
        ),
        "binderhub_url": (f"{binder}/v2/gh/{org}/{repo}/{branch}", {"urlpath": f"{ui}/{notebook}"}),
        "colab_url": (f"{colab}/github/{org}/{repo}/blob/{branch}/{notebook}", {}),
    }


def target(href: str) -> tuple[str, dict]:
    parts = urlsplit(href)
    return f"{parts.scheme}://{parts.netloc}{unquote(parts.path)}", {k: v[0] for k, v in parse_qs(parts.query).items()}


def build_problems(log: str) -> str:
    """The warnings and errors of a failed build, else its last lines."""
    said = [line for line in log.splitlines() if re.search(r"WARNING|ERROR|Error|Exception", line)]
    return "\n".join(said[-20:]) or log[-3000:]


def test_the_readme_snippet_builds_strictly_and_puts_launch_buttons_on_every_chapter(tmp_path):
    snippet = readme_snippet(README.read_text(encoding="utf-8"))
    wanted = yaml.safe_load(snippet)
    chapters = book.chapters()
    expected = {slug: expected_targets(wanted, f"chapters/{slug}/{slug}.ipynb") for slug in chapters}
    src = copy_sources(tmp_path)
    config = execution_off(with_launch_buttons(yaml.safe_load((src / "_config.yml").read_text()), snippet))
    (src / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    done = book.jupyter_book("build", str(src), "-W", "-n", "--keep-going", "--path-output", str(tmp_path / "out"))
    assert done.returncode == 0, "the strict build with the README's launch buttons failed:\n" + build_problems(
        done.stdout + done.stderr
    )

    html = tmp_path / "out" / "_build" / "html"
    for slug in chapters:
        assert (book.ROOT / "chapters" / slug / f"{slug}.ipynb").is_file()
        hrefs = links(html / "chapters" / slug / f"{slug}.html")
        for key, (address, query) in expected[slug].items():
            service = wanted["launch_buttons"][key].rstrip("/")
            found = [h for h in hrefs if h.startswith(service + "/")]
            assert len(found) == 1, f"{slug}: {len(found)} links to {key} {service}, expected one launch button"
            assert target(found[0]) == (address, query), (
                f"{slug}: the {key} button opens {found[0]}, not {address} with {query}"
            )
    services = tuple(wanted["launch_buttons"][key] for key in SERVICES)
    assert not [h for h in links(html / "exercises.html") if h.startswith(services)], (
        "a page that is not a notebook has launch buttons"
    )


@pytest.mark.parametrize(
    ("mistake", "snippet"),
    [
        ("no launch_buttons block", "repository:\n  url: https://github.com/o/r\n"),
        ("no repository block", "launch_buttons:\n  colab_url: https://colab.research.google.com\n"),
    ],
)
def test_a_snippet_without_both_blocks_is_refused(mistake, snippet):
    with pytest.raises(AssertionError, match="both repository: and launch_buttons:"):
        with_launch_buttons({}, snippet)


def test_the_readme_section_must_hold_exactly_one_yaml_block():
    with pytest.raises(AssertionError, match="no section"):
        readme_snippet("# README\n\n## Something else\n")
    two = f"{SECTION}\n\n```yaml\na: 1\n```\n\n```yaml\nb: 2\n```\n\n## Next\n"
    with pytest.raises(AssertionError, match="one yaml block, not 2"):
        readme_snippet(two)
    one = f"{SECTION}\n\n```yaml\na: 1\n```\n\n## Next\n\n```yaml\nb: 2\n```\n"
    assert readme_snippet(one) == "a: 1\n"
