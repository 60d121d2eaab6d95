"""Developer kit: the fixture renderer, accuracy scoring and the benchmarks. Not imported by the product."""
