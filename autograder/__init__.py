"""Instructor tooling for the course: release the student notebooks, grade submissions.

Run ``python -m autograder --help`` from the repository root.
"""
