"""`python -m local.emulator --port 8089 [--chunk-delay 0.02]`: serve the Bedrock emulator in the foreground."""

import argparse

import uvicorn

from local.emulator.server import create_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m local.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8089)
    parser.add_argument("--chunk-delay", type=float, default=0.02, help="seconds between stream events")
    parser.add_argument("--job-polls-per-state", type=int, default=1, help="Get calls per batch-job state")
    parser.add_argument("--job-seconds-per-state", type=float, default=None, help="advance batch jobs by time")
    args = parser.parse_args(argv)
    print(f"Bedrock emulator on http://{args.host}:{args.port} (AWS_ENDPOINT_URL_BEDROCK_RUNTIME / _BEDROCK)")
    app = create_app(
        chunk_delay=args.chunk_delay,
        job_polls_per_state=args.job_polls_per_state,
        job_seconds_per_state=args.job_seconds_per_state,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
