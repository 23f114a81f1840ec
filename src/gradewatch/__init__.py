"""gradewatch: watch a student's grades and notify on every new or changed grade."""

__version__ = "0.1.0"
