"""Other products' APIs over the same state: each dialect maps paths, headers, error shapes and
field names onto the stores in fakeflow/state, never a second copy of MLflow's rules."""
