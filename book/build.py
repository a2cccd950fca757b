"""``python -m book.build build . -W -n --keep-going``: the ``jupyter-book`` command, started faster.

jupyter-book imports jsonschema (to check ``_config.yml``), and so does nbformat. jsonschema
imports ``rfc3987_syntax`` whenever it is installed (jupyter-events, a Jupyter server
dependency, installs it), only to check the ``iri`` and ``iri-reference`` string formats, and
that module compiles 38 grammars with lark as it is imported: 2 to 10 s of every build on the
2-core machine, a third of a rebuild that executes nothing (README, "Build speed"). No schema
the build validates uses a format, and none is validated with a format checker, so this
command marks the module missing before anything imports jsonschema, then runs
``jupyter-book`` with the same arguments, in this process. ``jupyter-book`` itself still works
and builds the same book, only slower.
"""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> None:
    sys.modules.setdefault("rfc3987_syntax", None)  # an import of it now raises ImportError, which jsonschema expects
    from jupyter_book.cli.main import main as jupyter_book

    sys.argv = ["jupyter-book", *(sys.argv[1:] if argv is None else argv)]
    jupyter_book()


if __name__ == "__main__":
    main()
