"""Benchmarks behind ``qiup bench``; each prints a table with ratios to a same-run baseline."""
