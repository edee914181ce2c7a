"""Exercises: write the plugin a stage swaps in, and have it checked against the stage's own.

``mnistlab exercise`` lists them and writes a stub; ``mnistlab check FILE
--stage STAGE`` (or :func:`mnistlab.check`) runs the stage with the learner's
plugin in place of its own and compares the two runs batch by batch. The
docs' exercise pages are made from the same data, through the names below.
"""

from mnistlab.exercises.api import check, stub_text
from mnistlab.exercises.catalog import Exercise, exercises, get_exercise

__all__ = ["Exercise", "check", "exercises", "get_exercise", "stub_text"]
