"""Benchmarks: `python -m bench` runs every `bench/bench_*.py` module's `main()`, each printing its own figures."""
