"""Instructor tooling for the course: release the student notebooks, grade submissions.

``python -m autograder --help`` lists the commands; they run inside the course or with ``--course DIR``.
"""
