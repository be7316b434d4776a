"""Speed, memory and detection-accuracy benchmarks (run by hand, not as timed tests)."""
