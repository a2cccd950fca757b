"""The book's own code: the Sphinx extensions Jupyter Book loads from ``_config.yml``.

frames.py      the demos' frames as files fetched when a demo is opened, and palette PNG figures
execution.py   the book's notebook runs in autograder.execution's HeadlessClient (no stall)
_static/       the book's CSS and JavaScript (course.css: layout; a11y.js: accessibility fixes)

They sit here, beside the book's other files, not in ``autograder/`` (the grader).
"""
