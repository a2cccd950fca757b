"""What a rebuild takes from the stores beside the build instead of doing again (book/rebuild.py)."""

import pytest
from jinja2 import DictLoader
from jinja2.sandbox import SandboxedEnvironment
from sphinx import highlighting
from sphinx.highlighting import PygmentsBridge

from book import rebuild

CODE = "def step(w, g, lr=0.1):\n    return w - lr * g  # gradient descent\n"


class App:
    """What keep_highlighting reads of Sphinx's application: its count of warnings."""

    _warncount = 0


def must_not_highlight(*args, **kwargs):
    raise AssertionError("Pygments ran for a block the store holds")


def test_a_block_highlighted_before_comes_from_the_store_byte_for_byte(tmp_path, monkeypatch):
    store = tmp_path / "store"
    plain = PygmentsBridge("html", "sphinx").highlight_block(CODE, "python", location="page.md:3")
    bridge = PygmentsBridge("html", "sphinx")
    rebuild.keep_highlighting(App(), bridge, store)
    first = bridge.highlight_block(CODE, "python", location="page.md:3")
    assert first == plain and len(list(store.glob("*.json"))) == 1, "stored, and the same HTML as without the store"

    with monkeypatch.context() as patch:
        patch.setattr(highlighting, "highlight", must_not_highlight)
        again = PygmentsBridge("html", "sphinx")  # the next build: a new process, a new bridge
        rebuild.keep_highlighting(App(), again, store)
        assert again.highlight_block(CODE, "python", location="other.md:9") == first, "the location is no part of it"
        for other in [
            lambda: again.highlight_block(CODE + "x = 1\n", "python"),  # another block
            lambda: again.highlight_block(CODE, "ipython3"),  # another language
            lambda: again.highlight_block(CODE, "python", linenos=True),  # another option
        ]:
            with pytest.raises(AssertionError, match="Pygments ran"):
                other()
        styled = PygmentsBridge("html", "friendly")  # another style: another key
        rebuild.keep_highlighting(App(), styled, store)
        with pytest.raises(AssertionError, match="Pygments ran"):
            styled.highlight_block(CODE, "python")

    for entry in store.glob("*.json"):
        entry.write_text('{"key": "trunc', encoding="utf-8")  # a write cut short is a miss, not an error
    fresh = PygmentsBridge("html", "sphinx")
    rebuild.keep_highlighting(App(), fresh, store)
    assert fresh.highlight_block(CODE, "python") == first


def test_a_block_whose_highlighting_warned_is_not_stored(tmp_path, monkeypatch):
    app, store = App(), tmp_path / "store"
    bridge = PygmentsBridge("html", "sphinx")
    highlight = bridge.highlight_block

    def warns(*args, **kwargs):
        app._warncount += 1  # as Sphinx's logging does for "Lexing literal_block ... resulted in an error"
        return highlight(*args, **kwargs)

    monkeypatch.setattr(bridge, "highlight_block", warns)
    rebuild.keep_highlighting(app, bridge, store)
    bridge.highlight_block("x = (", "python")
    assert not list(store.glob("*.json")), "the next build must warn again, so nothing is kept"


def test_the_highlighter_key_is_the_same_in_every_process_and_follows_the_versions(monkeypatch):
    key = rebuild.highlighter_key(PygmentsBridge("html", "sphinx"))
    assert "0x" not in key, "no address of an object in the key: it would differ in every build"
    assert key == rebuild.highlighter_key(PygmentsBridge("html", "sphinx"))
    monkeypatch.setattr(rebuild, "versions", lambda *a: {"pygments": "0.0"})
    assert rebuild.highlighter_key(PygmentsBridge("html", "sphinx")) != key, "a new Pygments highlights anew"


def environment(**options):
    return SandboxedEnvironment(
        loader=DictLoader({"page.html": "{% for i in items %}<li>{{ i }}</li>{% endfor %}"}), **options
    )


def test_templates_are_compiled_once_into_the_bytecode_store(tmp_path, monkeypatch):
    store = tmp_path / "jinja"
    first = environment()
    rebuild.keep_templates(first, store)
    assert first.get_template("page.html").render(items=[1, 2]) == "<li>1</li><li>2</li>"
    [folder] = [p for p in store.iterdir() if p.is_dir()]
    assert list(folder.iterdir()), "the compiled template is stored"

    second = environment()  # the next build's
    rebuild.keep_templates(second, store)
    monkeypatch.setattr(second, "compile", must_not_highlight)
    assert second.get_template("page.html").render(items=[3]) == "<li>3</li>", "the stored code, not compiled again"

    trimmed = environment(trim_blocks=True)  # compiled to other code: another folder, the old one goes
    rebuild.keep_templates(trimmed, store)
    assert [p.name for p in store.iterdir()] == [rebuild.jinja_key(trimmed)] != [folder.name]
    assert "0x" not in rebuild.jinja_key(trimmed)


EXIT = """
import atexit, sys, threading, time
from book.build import exit_now
atexit.register(lambda: open(sys.argv[1], "w").write("atexit ran"))
print("printed, not yet flushed", end="")
if sys.argv[3] == "thread":
    threading.Thread(target=time.sleep, args=(0.2,)).start()
exit_now(None if sys.argv[2] == "None" else int(sys.argv[2]) if sys.argv[2].isdigit() else sys.argv[2])
"""


@pytest.mark.parametrize(
    "code, status, thread",
    [("None", 0, ""), ("0", 0, ""), ("3", 3, ""), ("the build failed", 1, ""), ("4", 4, "thread")],
)
def test_the_build_command_exits_at_once_with_its_status_its_output_and_atexit(tmp_path, code, status, thread):
    import subprocess
    import sys

    from autograder import notebooks as nbs

    ran = tmp_path / "ran"
    done = subprocess.run(
        [sys.executable, "-c", EXIT, str(ran), code, thread], capture_output=True, text=True, cwd=nbs.ROOT
    )
    assert done.returncode == status, done.stderr
    assert done.stdout == "printed, not yet flushed", "the output is flushed before the process ends"
    assert ran.read_text() == "atexit ran", "what must run at exit runs (logging's flush, temporary folders)"
    assert ("the build failed" in done.stderr) == (code == "the build failed"), "a message goes to stderr"
