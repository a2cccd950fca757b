"""nbgrader settings: the repository root is the course root.

The course's own tooling (`python -m autograder`) does not need nbgrader's
database; these settings make nbgrader's commands (`nbgrader generate_assignment`,
`nbgrader validate`, the Jupyter extensions) agree with the layout.
"""

c = get_config()  # noqa: F821 (nbgrader injects get_config)

c.CourseDirectory.root = "."
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "chapters"
# Everything nbgrader writes on its own goes under autograder/_nbgrader/ (ignored by git).
c.CourseDirectory.submitted_directory = "autograder/_nbgrader/submitted"
c.CourseDirectory.autograded_directory = "autograder/_nbgrader/autograded"
c.CourseDirectory.feedback_directory = "autograder/_nbgrader/feedback"
c.CourseDirectory.solution_directory = "autograder/_nbgrader/solution"
c.CourseDirectory.db_url = "sqlite:///autograder/_nbgrader/gradebook.db"
c.CourseDirectory.source_with_tests_directory = "autograder/_nbgrader/source_with_tests"
