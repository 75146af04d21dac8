"""Runtime glue shared by the API functions: AWS clients, settings, HTTP helpers, logs and metrics."""
