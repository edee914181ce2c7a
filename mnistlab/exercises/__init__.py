"""Exercises: write the plugin a stage swaps in, and have it checked against the stage's own.

``mnistlab exercise`` lists them and writes a stub; ``mnistlab check FILE
--stage STAGE`` (or :func:`mnistlab.check`) runs the stage with the learner's
plugin in place of its own and compares the two runs batch by batch.
"""
