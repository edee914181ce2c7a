"""The tutorial's steps, one small plugin module per piece variant.

These modules live in the repository's top-level ``plugins/`` folder and
install as ``mnistlab.plugins``. Each implements the one hook of the piece it
fills; the stage table (``mnistlab/stages.py``) says which stage uses which.
"""
