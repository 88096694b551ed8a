"""MLflow's own web UI over the fake: its static build, found at run time, and the GraphQL
endpoint its pages query."""
