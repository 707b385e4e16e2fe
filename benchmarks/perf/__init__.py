"""Performance benchmarks: throughput and ratios against plain baselines."""
