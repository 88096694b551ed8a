"""HTTP in front of the state machine: routing, MLflow's request parsing, JSON out."""
