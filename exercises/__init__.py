"""Interview-prep exercises on the mechanisms reflog implements.

Each exercise is a folder with a prompt (README.md), the code a learner edits
(starter.py), a reference adapter over reflog's own implementation
(reference.py), and tests that run against whichever implementation is chosen.
"""
