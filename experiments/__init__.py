"""The seeds' experiments as commands (`plant experiment ...`): each one a design of runs,
cached cell by cell on disk so that an interrupted run resumes, and a report (Markdown
tables, PNG figures, raw CSV) generated from what was run."""
