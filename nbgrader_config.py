"""nbgrader settings: the repository root is the course root.

nbgrader reads this file from the current folder, so run its commands from the
repository root. Its commands then follow the course's rules (see
autograder/nbgrader_bridge.py and README, "Using nbgrader / JupyterHub"):

- `generate_assignment SLUG` runs the course's release (`python -m autograder
  release SLUG`, which writes chapters/SLUG/) and hands nbgrader the same bytes;
- `autograde` puts the hidden tests back from the gradebook without warnings;
- `generate_feedback` and `generate_solution` never show a hidden test;
- `zip_collect SLUG` collects a Canvas download (README, "Using nbgrader / JupyterHub");
- everything nbgrader writes by itself goes under autograder/_nbgrader/
  (ignored by git), created here so a fresh clone needs no manual step;
- `solutions/<chapter>/mistakes.py` (wrong answers with their explanations)
  and `misconceptions.json` (the names of those mistakes, for summary.html)
  are never copied anywhere;
- `nbgrader update` refuses to rewrite the course's own notebooks.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent  # absolute, wherever nbgrader is started from
WORK = ROOT / "autograder" / "_nbgrader"
WORK.mkdir(parents=True, exist_ok=True)
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor  # noqa: E402
from nbgrader import preprocessors as nbg  # noqa: E402

from autograder import nbgrader_bridge as course  # noqa: E402 (needs ROOT on sys.path)

course.prepare_environment()
course.refuse_unsafe_commands(ROOT)
c = get_config()  # noqa: F821 (nbgrader injects get_config)

c.CourseDirectory.root = str(ROOT)
c.CourseDirectory.course_id = course.COURSE_ID
c.CourseDirectory.source_directory = "solutions"
# nbgrader's own copy of the release, which it may wipe and rewrite as it likes;
# generate_assignment fills it with the bytes the course's release wrote to chapters/.
c.CourseDirectory.release_directory = "autograder/_nbgrader/release"
c.CourseDirectory.submitted_directory = "autograder/_nbgrader/submitted"
c.CourseDirectory.autograded_directory = "autograder/_nbgrader/autograded"
c.CourseDirectory.feedback_directory = "autograder/_nbgrader/feedback"
c.CourseDirectory.solution_directory = "autograder/_nbgrader/solution"
c.CourseDirectory.source_with_tests_directory = "autograder/_nbgrader/source_with_tests"
c.CourseDirectory.db_url = f"sqlite:///{WORK / 'gradebook.db'}"
# Never copied into a release, a submission's grading folder, feedback or the exchange.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "mistakes.py",
    "misconceptions.json",
]

# A local exchange, for one machine. On a JupyterHub, point this at the shared
# exchange folder (nbgrader's default is /srv/nbgrader/exchange).
c.Exchange.root = str(WORK / "exchange")
c.Exchange.cache = str(WORK / "cache")
# Relative: nbgrader joins it to the course root itself (an absolute path would be doubled).
c.ZipCollectApp.downloaded_directory = "autograder/_nbgrader/downloaded"
# A Canvas "Download Submissions" zip, put in downloaded/<chapter>/archive/, collected by
# `nbgrader zip_collect <chapter>`: each student's last notebook of the chapter, whatever its name.
c.ZipCollectApp.collector_plugin = course.CourseCollector
c.FileNameCollectorPlugin.named_regexp = course.CANVAS_REGEXP
# On ExportPlugin, the class `nbgrader export --to FILE` sets, so the command line still wins
# (set on CsvExportPlugin, the more specific class, it would silently override --to).
c.ExportPlugin.to = str(WORK / "grades.csv")

c.GenerateAssignment.preprocessors = [course.CourseRelease]
c.GenerateAssignment.exporter_class = course.CourseNotebookExporter
c.Autograde.sanitize_preprocessors = [
    nbg.ClearOutput,
    nbg.DeduplicateIds,
    nbg.OverwriteKernelspec,
    course.RestoreHiddenTests,
    nbg.CheckCellMetadata,
]
c.GenerateFeedback.preprocessors = [course.HideHiddenTests, nbg.GetGrades, CSSHTMLHeaderPreprocessor]
c.GenerateSolution.preprocessors = [
    course.StudentSolution,
    nbg.IncludeHeaderFooter,
    nbg.LockCells,
    nbg.ClearOutput,
    nbg.ClearMarkScheme,
    nbg.Execute,
]
