"""Bedrock emulator: bedrock-runtime and the bedrock batch control plane over real HTTP, for boto3 with endpoint_url."""
