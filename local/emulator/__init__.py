"""Bedrock emulator: bedrock-runtime and the bedrock batch control plane over real HTTP, for boto3 with endpoint_url.

Run it: `with EmulatorServer(port=0, chunk_delay=0.0) as emu: emu.url` (tests, in-process), or
`python -m local.emulator --port 8089 [--chunk-delay 0.02]`. Point boto3 at it with `endpoint_url=emu.url` or
`AWS_ENDPOINT_URL_BEDROCK_RUNTIME` / `AWS_ENDPOINT_URL_BEDROCK`. Models: openai.gpt-oss-20b-1:0 and
openai.gpt-oss-120b-1:0 (ids or foundation-model ARNs); anything else → ValidationException
"The provided model identifier is invalid.".

It refuses what real Bedrock refuses for gpt-oss, with Bedrock's wording (tests/functions/test_bedrock_conformance.py
replays each case of bedrock_conformance.json, a copy of shared/reference/bedrock-conformance.json):

| behaviour | source |
|---|---|
| Converse: `inferenceConfig.stopSequences` (even `[]`) refused | crewAIInc/crewAI#3317, langchain4j#3650 |
| InvokeModel: a top-level field outside gpt-oss's list → "unknown field" | BerriAI/litellm#13959, #14225 |
| InvokeModel: `reasoning_effort` not a string → "invalid type: map" | amazon-bedrock-client-for-mac#114 |
| Converse: replayed `reasoningText.signature` / `redactedContent` refused | aws-samples/bedrock-engineer#239 |
| Converse: first turn not `user` / roles not alternating refused | langgenius/dify#12340, Portkey-AI/gateway#748 |
| Converse: blank text block (message or system) refused | widely reported Converse rule (wording unverified) |
| Converse: `toolUseId` over 64 characters or outside `[a-zA-Z0-9_.:-]` refused | botocore bedrock-runtime model |
| Converse: `toolUse`/`toolResult` without `toolConfig` refused | Bedrock Converse API reference |
| InvokeModel: `stop` ends the answer before the first stop string (Converse does not take one) | Bedrock gpt-oss docs |

Directives, anywhere in the text of the last user message (model calls) or of an ApplyGuardrail content item:
- `[fault:<ExceptionName>]` → that Bedrock exception with its HTTP status (e.g. ThrottlingException 429).
- `[fault:context_length]` → ValidationException "Input is too long for requested model."
- `[fault:midstream]` / `[fault:midstream:<ExceptionName>]` → a stream starts, then a mid-stream exception event
  (modelStreamErrorException by default). Ignored by the non-streaming operations.
- `[fault-once:<ExceptionName or context_length>]` → fails only the first attempt of that exact request (same
  operation, model and body bytes), so a botocore retry succeeds.
- `[slow-first-token:<seconds>]` → delays the first stream event (or the whole response when not streaming).
- `[guardrail:block]` → when a guardrail is configured on the call, it intervenes (blocked message,
  stopReason guardrail_intervened / "amazon-bedrock-guardrailAction": "INTERVENED").
Batch records: `[fault:X]` in a record makes that record an error line; `[job:<Status>]` or `[job:<Status>:<fraction>]`
in the first record decides how the job ends (Completed, Failed, PartiallyCompleted, Stopped, Expired).

Admin routes: `POST /_emulator/faults {"fault": "ThrottlingException", "count": 3[, "operation": "ConverseStream"]}`
(unscoped faults hit the next model calls; scoped ones that operation, including control-plane operations and
ApplyGuardrail), `POST /_emulator/reset`, `GET /_emulator/calls`, `POST /_emulator/jobs/{jobId or ARN}/outcome
{"status": "Failed", "message": "...", "process_fraction": 0.5}`. `EmulatorServer.faults` / `.jobs` give the same
state directly.
"""
