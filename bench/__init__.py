"""GenLab benchmarks: ``python -m bench NAME``; figures go into bench/README.md."""
