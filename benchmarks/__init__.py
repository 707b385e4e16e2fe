"""Built-in task suites (one folder each, with task.yaml and the data this project generates) and perf benchmarks."""
