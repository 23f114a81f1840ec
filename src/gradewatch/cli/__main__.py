"""`python -m gradewatch.cli …`, as the tests and benchmarks run the command."""

from gradewatch.cli.root import main

main()
