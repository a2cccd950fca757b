"""Which chapter a notebook is: read from the notebook itself (metadata, else answer cells), never its name."""

from __future__ import annotations

import copy

import pytest

from autograder import notebooks as nbs

CHAPTERS = nbs.chapter_slugs()


@pytest.mark.parametrize("slug", CHAPTERS)
def test_release_is_known_by_its_metadata(slug):
    nb = nbs.read(nbs.release_path(slug))
    assert nb.metadata["course"]["chapter"] == slug
    assert nbs.chapter_of(nb) == slug


@pytest.mark.parametrize("slug", CHAPTERS)
def test_without_metadata_the_answer_cells_tell(slug):
    nb = nbs.read(nbs.release_path(slug))
    del nb.metadata["course"]
    assert nbs.chapter_of(nb) == slug


def test_answer_cells_win_over_metadata_copied_from_another_chapter():
    nb = nbs.read(nbs.release_path("02_momentum"))
    nb.metadata["course"]["chapter"] = "05_batch_norm"
    assert nbs.chapter_of(nb) == "02_momentum"


def test_metadata_alone_names_a_chapter_whose_answer_cells_are_gone():
    nb = nbs.read(nbs.release_path("03_adaptive_rates"))
    nb.cells = [c for c in nb.cells if not nbs.is_answer(c)]
    assert nbs.chapter_of(nb) == "03_adaptive_rates"


@pytest.mark.parametrize(
    "meta",
    [{}, {"course": "02_momentum"}, {"course": {"chapter": "99_unknown"}}, {"course": {"chapter": ["02_momentum"]}}],
)
def test_a_notebook_of_no_chapter_is_none(meta):
    nb = nbs.read(nbs.release_path("01_challenges"))
    other = copy.deepcopy(nb)
    other.cells = [c for c in other.cells if not nbs.is_answer(c)]
    other.metadata = meta
    assert nbs.chapter_of(other) is None
    assert nbs.chapter_of({"cells": "not a list", "metadata": []}) is None
