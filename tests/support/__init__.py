"""Helpers shared by fakeflow's own tests."""
