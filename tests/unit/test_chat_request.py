"""Request validation: bad chat requests get a 400 naming the offending parameter; good ones pass unchanged."""

import copy

import pytest
from gptoss.chat_request import parse_chat_request
from gptoss.errors import GatewayError


def body(**fields):
    """A minimal valid request, with overrides."""
    return {"model": "gpt-oss-20b", "messages": [{"role": "user", "content": "Hello"}], **fields}


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather for a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def rejected(request) -> GatewayError:
    with pytest.raises(GatewayError) as raised:
        parse_chat_request(request)
    assert raised.value.status == 400
    assert raised.value.type == "invalid_request_error"
    return raised.value


def test_a_full_valid_request_is_accepted_and_kept():
    # Given a request using most OpenAI chat features gpt-oss supports
    request = body(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "system", "content": [{"type": "text", "text": "Answer in English."}]},
            {"role": "user", "content": [{"type": "text", "text": "Weather in Paris?"}]},
            {
                "role": "assistant",
                "content": None,
                "reasoning_content": "I should call the tool.",
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
            {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
        ],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        stream=True,
        stream_options={"include_usage": True},
        temperature=2,
        top_p=0,
        max_tokens=10,
        max_completion_tokens=20,
        stop=["a", "b", "c", "d"],
        reasoning_effort="low",
        response_format={"type": "json_object"},
        seed=7,
        n=1,
        user="alice",
        parallel_tool_calls=False,
        metadata={"team": "search"},
        logprobs=True,
        top_logprobs=3,
        store=False,
        service_tier="auto",
        modalities=["text"],
    )
    # When it is validated
    parsed = parse_chat_request(copy.deepcopy(request))
    # Then it comes back unchanged
    assert parsed == request


def test_the_normalised_copy_drops_null_fields_and_does_not_alias_the_input():
    # Given a client that sends explicit nulls, as some SDKs do
    request = body(temperature=None, tools=None, stop=None, logit_bias={})
    # When validated
    parsed = parse_chat_request(request)
    # Then nulls count as "not given" (an empty logit_bias is kept: the backends do not send it), and the caller's
    # dict is untouched
    assert parsed == body(logit_bias={})
    parsed["messages"].append({"role": "user", "content": "x"})
    assert len(request["messages"]) == 1


@pytest.mark.parametrize(
    ("request_body", "param"),
    [
        ({"messages": [{"role": "user", "content": "hi"}]}, "model"),
        (body(model=42), "model"),
        (body(model=""), "model"),
        ({"model": "gpt-oss-20b"}, "messages"),
        (body(messages=[]), "messages"),
        (body(messages="hi"), "messages"),
        (body(messages=["hi"]), "messages[0]"),
        (body(messages=[{"content": "hi"}]), "messages[0].role"),
        (body(messages=[{"role": "user", "content": "a"}, {"role": "function", "content": "b"}]), "messages[1].role"),
        (body(messages=[{"role": "user"}]), "messages[0].content"),
        (body(messages=[{"role": "user", "content": 5}]), "messages[0].content"),
        (body(messages=[{"role": "system", "content": {"text": "x"}}]), "messages[0].content"),
        (body(messages=[{"role": "user", "content": [{"type": "text"}]}]), "messages[0].content[0].text"),
        (body(messages=[{"role": "user", "content": [{"type": "video"}]}]), "messages[0].content[0].type"),
        (body(messages=[{"role": "user", "content": ["hi"]}]), "messages[0].content[0]"),
        (body(messages=[{"role": "user", "content": "x", "name": 3}]), "messages[0].name"),
        (body(messages=[{"role": "assistant"}]), "messages[0].content"),
        (body(messages=[{"role": "tool", "content": "42"}]), "messages[0].tool_call_id"),
        (body(messages=[{"role": "tool", "content": "42", "tool_call_id": ""}]), "messages[0].tool_call_id"),
    ],
)
def test_malformed_messages_are_rejected_naming_the_param(request_body, param):
    # Given a request with one malformed part
    # When it is validated
    error = rejected(request_body)
    # Then the 400 points at that part
    assert error.param == param


@pytest.mark.parametrize(
    "part",
    [
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
    ],
)
def test_non_text_content_is_rejected_because_gpt_oss_is_text_only(part):
    # Given a user message mixing text and an image, audio or file
    request = body(messages=[{"role": "user", "content": [{"type": "text", "text": "What is this?"}, part]}])
    # When validated
    error = rejected(request)
    # Then the 400 names the offending part and says why
    assert error.param == "messages[0].content[1].type"
    assert "text-only" in error.message


@pytest.mark.parametrize(
    ("tool_call", "param"),
    [
        ("nope", "messages[1].tool_calls[0]"),
        ({"type": "function", "function": {"name": "f", "arguments": "{}"}}, "messages[1].tool_calls[0].id"),
        ({"id": "c", "type": "custom", "function": {"name": "f", "arguments": "{}"}}, "messages[1].tool_calls[0].type"),
        ({"id": "c", "type": "function"}, "messages[1].tool_calls[0].function"),
        ({"id": "c", "function": {"name": "bad name", "arguments": "{}"}}, "messages[1].tool_calls[0].function.name"),
        ({"id": "c", "function": {"name": "f", "arguments": {"a": 1}}}, "messages[1].tool_calls[0].function.arguments"),
    ],
)
def test_ill_formed_assistant_tool_calls_are_rejected(tool_call, param):
    # Given an assistant turn replaying a malformed tool call
    request = body(
        messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [tool_call]}]
    )
    # Then the 400 names the field inside the tool call
    assert rejected(request).param == param


def test_assistant_tool_calls_must_be_a_list():
    # Given an assistant turn whose tool_calls is an object, not a list
    # When it is validated
    request = body(messages=[{"role": "assistant", "content": "x", "tool_calls": {"id": "c"}}])
    # Then the 400 names messages[0].tool_calls
    assert rejected(request).param == "messages[0].tool_calls"


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"n": 2}, "n"),
        ({"n": 0}, "n"),
        ({"n": "1"}, "n"),
        ({"stream": "yes"}, "stream"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        ({"stream": False, "stream_options": {"include_usage": True}}, "stream_options"),
        ({"stream": True, "stream_options": "usage"}, "stream_options"),
        ({"stream": True, "stream_options": {"include_usage": "yes"}}, "stream_options"),
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"temperature": "hot"}, "temperature"),
        ({"temperature": True}, "temperature"),
        ({"top_p": 1.1}, "top_p"),
        ({"frequency_penalty": 3}, "frequency_penalty"),
        ({"presence_penalty": -3}, "presence_penalty"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": 1.5}, "max_tokens"),
        ({"max_completion_tokens": -1}, "max_completion_tokens"),
        ({"max_completion_tokens": "100"}, "max_completion_tokens"),
        ({"stop": 5}, "stop"),
        ({"stop": ["a", 1]}, "stop"),
        ({"stop": ["a", "b", "c", "d", "e"]}, "stop"),
        ({"stop": ""}, "stop"),
        ({"logit_bias": {"50256": -100}}, "logit_bias"),
        ({"reasoning_effort": "extreme"}, "reasoning_effort"),
        ({"reasoning_effort": 2}, "reasoning_effort"),
        ({"response_format": {"type": "xml"}}, "response_format"),
        ({"response_format": "json"}, "response_format"),
        ({"seed": "7"}, "seed"),
        ({"parallel_tool_calls": "yes"}, "parallel_tool_calls"),
        ({"top_logprobs": 50}, "top_logprobs"),
        ({"user": 12}, "user"),
        ({"functions": [{"name": "f"}]}, "functions"),
        ({"function_call": "auto"}, "function_call"),
        ({"audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"modalities": ["text", "audio"]}, "modalities"),
    ],
)
def test_bad_top_level_parameters_are_rejected_naming_the_param(fields, param):
    # Given a request with one bad top-level parameter
    # Then the 400 names exactly that parameter
    assert rejected(body(**fields)).param == param


def test_n_above_one_explains_the_limit():
    # Given a request for three choices
    # When it is validated
    # Then the 400 tells the client only n=1 is supported
    assert "n=1" in rejected(body(n=3)).message


def test_the_body_must_be_an_object():
    # Given a JSON array (or string) body
    # Then it is a 400 without a param
    assert rejected([{"role": "user"}]).param is None
    assert rejected("hello").param is None


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ({"type": "function"}, "tools"),
        (["get_weather"], "tools[0]"),
        ([{"type": "code_interpreter"}], "tools[0].type"),
        ([{"type": "function"}], "tools[0].function"),
        ([{"type": "function", "function": {"name": "get weather"}}], "tools[0].function.name"),
        ([{"type": "function", "function": {"name": "x" * 65}}], "tools[0].function.name"),
        ([WEATHER_TOOL, WEATHER_TOOL], "tools[1].function.name"),
        ([{"type": "function", "function": {"name": "f", "description": 1}}], "tools[0].function.description"),
        ([{"type": "function", "function": {"name": "f", "parameters": "{}"}}], "tools[0].function.parameters"),
        (
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}],
            "tools[0].function.parameters",
        ),
        (
            [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": []}}}],
            "tools[0].function.parameters.properties",
        ),
        ([{"type": "function", "function": {"name": "f", "strict": "yes"}}], "tools[0].function.strict"),
    ],
)
def test_bad_tools_are_rejected(tools, param):
    # Given a request offering a malformed tool list
    # When it is validated
    # Then the 400 names the offending part of `tools`
    assert rejected(body(tools=tools)).param == param


@pytest.mark.parametrize(
    ("fields", "param"),
    [
        ({"tool_choice": "sometimes", "tools": [WEATHER_TOOL]}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tool_choice": {"type": "function"}, "tools": [WEATHER_TOOL]}, "tool_choice"),
        (
            {"tool_choice": {"type": "function", "function": {"name": "other"}}, "tools": [WEATHER_TOOL]},
            "tool_choice.function.name",
        ),
        ({"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}, "tool_choice.function.name"),
    ],
)
def test_tool_choice_must_be_valid_and_name_an_offered_tool(fields, param):
    # Given a tool_choice that is unknown, lacks a name, or names a tool not offered
    # When it is validated
    # Then the 400 names the offending part of `tool_choice`
    assert rejected(body(**fields)).param == param


@pytest.mark.parametrize("choice", ["none", "auto", "required"])
def test_string_tool_choices_are_accepted_with_tools(choice):
    # Given tools offered with one of OpenAI's string tool choices
    # When it is validated
    # Then the choice is kept for the model
    assert parse_chat_request(body(tools=[WEATHER_TOOL], tool_choice=choice))["tool_choice"] == choice


def test_a_tool_without_parameters_is_accepted():
    # Given a no-argument function
    request = body(tools=[{"type": "function", "function": {"name": "now"}}])
    # Then it validates
    assert parse_chat_request(request)["tools"][0]["function"]["name"] == "now"


def assistant_calling(call):
    return [{"role": "user", "content": "hi"}, {"role": "assistant", "content": None, "tool_calls": [call]}]


def tool(**function):
    return {"type": "function", "function": {"name": "f", **function}}


@pytest.mark.parametrize(
    ("request_body", "param", "message"),
    [
        ("hello", None, "The request body must be a JSON object."),
        ({"model": "gpt-oss-20b"}, "messages", "Missing required parameter: 'messages'."),
        (body(model="   "), "model", "'model' must be a non-empty string."),
        (body(messages="hi"), "messages", "'messages' must be an array of message objects."),
        (body(messages=[]), "messages", "'messages' must contain at least one message."),
        (body(messages=["hi"]), "messages[0]", "Each message must be an object."),
        (body(messages=[{"content": "hi"}]), "messages[0].role", "Missing required parameter: 'role'."),
        (
            body(messages=[{"role": "function", "content": "b"}]),
            "messages[0].role",
            "Invalid role 'function'; expected one of system, developer, user, assistant, tool.",
        ),
        (body(messages=[{"role": "user", "content": "x", "name": 3}]), "messages[0].name", "'name' must be a string."),
        (
            body(messages=[{"role": "user"}]),
            "messages[0].content",
            "Missing required parameter: 'content' for a user message.",
        ),
        (
            body(messages=[{"role": "user", "content": 5}]),
            "messages[0].content",
            "'content' must be a string or an array of content parts.",
        ),
        (
            body(messages=[{"role": "user", "content": ["hi"]}]),
            "messages[0].content[0]",
            "Each content part must be an object.",
        ),
        (
            body(messages=[{"role": "user", "content": [{"type": "text"}]}]),
            "messages[0].content[0].text",
            "A text content part needs a string 'text' field.",
        ),
        (
            body(messages=[{"role": "user", "content": [{"type": "refusal", "refusal": "No."}]}]),
            "messages[0].content[0].type",
            "Invalid content part type 'refusal'; expected 'text'.",
        ),
        (
            body(messages=[{"role": "assistant", "content": [{"type": "video", "video": "x"}]}]),
            "messages[0].content[0].type",
            "Invalid content part type 'video'; expected 'text'.",
        ),
        (
            body(messages=[{"role": "user", "content": [{"type": ["text"], "text": "x"}]}]),
            "messages[0].content[0].type",
            "Invalid content part type ['text']; expected 'text'.",
        ),
        (
            body(messages=[{"role": "assistant", "content": "x", "reasoning_content": 5}]),
            "messages[0].reasoning_content",
            "'reasoning_content' must be a string.",
        ),
        (
            body(messages=[{"role": "assistant", "content": None, "refusal": ["No."]}]),
            "messages[0].refusal",
            "'refusal' must be a string.",
        ),
        (
            body(messages=[{"role": "assistant"}]),
            "messages[0].content",
            "An assistant message needs 'content' or 'tool_calls'.",
        ),
        (
            body(messages=[{"role": "assistant", "content": "x", "tool_calls": {"id": "c"}}]),
            "messages[0].tool_calls",
            "'tool_calls' must be an array.",
        ),
        (body(messages=assistant_calling("nope")), "messages[1].tool_calls[0]", "Each tool call must be an object."),
        (
            body(messages=assistant_calling({"id": "", "function": {"name": "f", "arguments": "{}"}})),
            "messages[1].tool_calls[0].id",
            "A tool call needs a non-empty string 'id'.",
        ),
        (
            body(messages=assistant_calling({"id": "c", "type": "custom", "function": {"name": "f", "arguments": ""}})),
            "messages[1].tool_calls[0].type",
            "Only tool calls of type 'function' are supported.",
        ),
        (
            body(messages=assistant_calling({"id": "c"})),
            "messages[1].tool_calls[0].function",
            "A tool call needs a 'function' object.",
        ),
        (
            body(messages=assistant_calling({"id": "c", "function": {"name": "a b", "arguments": "{}"}})),
            "messages[1].tool_calls[0].function.name",
            "A tool call's function name must match ^[a-zA-Z0-9_-]{1,64}$.",
        ),
        (
            body(messages=assistant_calling({"id": "c", "function": {"name": "f", "arguments": {}}})),
            "messages[1].tool_calls[0].function.arguments",
            "A tool call's 'arguments' must be a JSON-encoded string.",
        ),
        (
            body(messages=[{"role": "tool", "content": "42", "tool_call_id": ""}]),
            "messages[0].tool_call_id",
            "A tool message needs a non-empty string 'tool_call_id'.",
        ),
        (
            body(stream_options={"include_usage": True}),
            "stream_options",
            "'stream_options' is only allowed when 'stream' is true.",
        ),
        (body(tools={"type": "function"}), "tools", "'tools' must be an array."),
        (body(tools=["get_weather"]), "tools[0]", "Each tool must be an object."),
        (body(tools=[{"type": "code_interpreter"}]), "tools[0].type", "Only tools of type 'function' are supported."),
        (body(tools=[{"type": "function"}]), "tools[0].function", "A tool needs a 'function' object."),
        (
            body(tools=[tool(name="get weather")]),
            "tools[0].function.name",
            "A function name must match ^[a-zA-Z0-9_-]{1,64}$.",
        ),
        (body(tools=[tool(), tool()]), "tools[1].function.name", "Duplicate function name 'f'."),
        (
            body(tools=[tool(description=1)]),
            "tools[0].function.description",
            "A function description must be a string.",
        ),
        (
            body(tools=[tool(parameters="{}")]),
            "tools[0].function.parameters",
            "Function parameters must be a JSON Schema object.",
        ),
        (
            body(tools=[tool(parameters={"type": "array"})]),
            "tools[0].function.parameters",
            "Function parameters must be a JSON Schema with type 'object'.",
        ),
        (
            body(tools=[tool(parameters={"properties": []})]),
            "tools[0].function.parameters.properties",
            "'properties' must be an object.",
        ),
        (body(tools=[tool(strict="yes")]), "tools[0].function.strict", "'strict' must be a boolean."),
        (
            body(tool_choice="sometimes"),
            "tool_choice",
            "Invalid tool_choice 'sometimes'; expected none, auto, required or a function.",
        ),
        (body(tool_choice="required"), "tool_choice", "tool_choice 'required' needs at least one tool in 'tools'."),
        (
            body(tool_choice=["auto"], tools=[WEATHER_TOOL]),
            "tool_choice",
            "tool_choice must be a string or {'type': 'function', 'function': {'name': ...}}.",
        ),
        (
            body(tool_choice={"type": "custom", "function": {"name": "get_weather"}}, tools=[WEATHER_TOOL]),
            "tool_choice",
            "tool_choice must be a string or {'type': 'function', 'function': {'name': ...}}.",
        ),
        (
            body(tool_choice={"type": "function", "function": {"name": "other"}}, tools=[WEATHER_TOOL]),
            "tool_choice.function.name",
            "tool_choice names a function not in 'tools': 'other'.",
        ),
        (
            body(response_format={"type": "xml"}),
            "response_format",
            "'response_format' must be an object with type text, json_object or json_schema.",
        ),
        (body(top_logprobs=2), "top_logprobs", "'top_logprobs' requires 'logprobs' to be true."),
    ],
)
def test_each_rejection_names_the_param_and_says_what_to_fix(request_body, param, message):
    # Given a request that breaks one rule
    # When it is validated
    error = rejected(request_body)
    # Then the client's 400 names the offending parameter and says what a valid one looks like
    assert (error.param, error.message) == (param, message)


def test_a_parameters_schema_without_a_type_is_an_object_schema():
    # Given a tool whose parameters schema leaves out "type" (JSON Schema allows it; many clients do)
    request = body(tools=[tool(parameters={"properties": {"city": {"type": "string"}}})])
    # Then it is accepted as sent
    assert parse_chat_request(request)["tools"] == request["tools"]


def test_the_validated_copy_shares_nothing_with_the_callers_body():
    # Given a validated request
    request = body(messages=[{"role": "user", "content": [{"type": "text", "text": "Hello"}]}])
    parsed = parse_chat_request(request)
    # When the copy's nested message is changed (as a backend that rewrites messages might)
    parsed["messages"][0]["content"][0]["text"] = "changed"
    # Then the caller's body still says what the caller sent
    assert request["messages"][0]["content"][0]["text"] == "Hello"
