"""Malformed-request generation and two-sided sending for tests/test_bad_input_differential.py."""
