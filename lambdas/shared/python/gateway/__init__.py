"""Runtime glue shared by the API functions: AWS clients, settings, HTTP and route helpers, logs and metrics."""
