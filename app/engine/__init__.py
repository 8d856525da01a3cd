"""Acquisition: sequences as validated data, run against the device contracts (no Qt)."""
