"""benchmarks/ holds benchmarks only; `make bench` runs them, `make test` does not."""
