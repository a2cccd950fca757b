"""Instructor tooling for the course: release the student notebooks, grade submissions.

``python -m autograder --help`` lists the commands; they run inside the course or with ``--course DIR``.
"""

import sys as _sys

# nbformat imports jsonschema, and jsonschema imports ``rfc3987_syntax`` whenever it is installed
# (jupyter-events, a dependency of the Jupyter server, installs it) only to check two string
# formats ("iri", "iri-reference") no notebook schema uses; that module compiles 38 lark grammars
# as it is imported: about 2 s of every `python -m autograder` on the 2-core machine, 0.3 s
# without it. Marked missing, its import raises ImportError, which jsonschema expects and handles
# (it then skips those two formats). book/build.py does the same for the book build.
_sys.modules.setdefault("rfc3987_syntax", None)
