"""MLflow's own web UI over the fake: its static build, found at run time, and the GraphQL
endpoint its pages query."""

#: The MLflow version whose UI build fakeflow is made for (here so that the command line can
#: name it without importing the build machinery).
EXPECTED_VERSION = "3.17.2"
