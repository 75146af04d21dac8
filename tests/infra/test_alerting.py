"""Someone is told when the gateway breaks: every alarm notifies a topic the stack owns, when it fires and clears."""

from __future__ import annotations

from typing import Any

from tests.infra.synthesis import Synth, shipped_context, synthesize


def the_topic(synth: Synth) -> tuple[str, dict[str, Any]]:
    [(topic_id, topic)] = synth.of_type("AWS::SNS::Topic").items()
    return topic_id, topic["Properties"]


def test_every_alarm_notifies_the_stacks_topic_when_it_fires_and_when_it_clears(synth: Synth) -> None:
    # Given the stack's alarm topic and its alarms
    topic_id, _ = the_topic(synth)
    alarms = synth.of_type("AWS::CloudWatch::Alarm")
    assert alarms
    # Then each alarm sends both its ALARM and its OK transition to the topic, and nothing else
    for alarm_id, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == [{"Ref": topic_id}], alarm_id
        assert props["OKActions"] == [{"Ref": topic_id}], alarm_id
        assert props.get("ActionsEnabled", True) is True


def test_a_stack_output_names_the_topic(synth: Synth) -> None:
    topic_id, _ = the_topic(synth)
    assert synth.outputs["AlarmTopicArn"]["Value"] == {"Ref": topic_id}


def test_the_topic_is_encrypted_with_a_key_cloudwatch_alarms_may_use_and_refuses_plain_http(synth: Synth) -> None:
    # Given the topic, its key and its policy
    topic_id, topic = the_topic(synth)
    key_id = topic["KmsMasterKeyId"]["Fn::GetAtt"][0]
    key = synth.resources[key_id]["Properties"]
    [policy] = [
        p["Properties"]
        for p in synth.of_type("AWS::SNS::TopicPolicy").values()
        if {"Ref": topic_id} in p["Properties"]["Topics"]
    ]
    # Then the key rotates and lets CloudWatch alarms of this account (only) encrypt notifications with it
    assert key["EnableKeyRotation"] is True
    [cloudwatch] = [s for s in key["KeyPolicy"]["Statement"] if s.get("Sid") == "CloudWatchAlarmsPublish"]
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    assert cloudwatch["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    # And publishing without TLS is denied to everyone
    [deny] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert deny["Principal"] in ("*", {"AWS": "*"})


def test_no_subscription_is_made_up_and_a_configured_email_is_subscribed(synth: Synth, tmp_path: Any) -> None:
    # Given the shipped config (no alarm_email), then the topic has no subscription
    assert synth.of_type("AWS::SNS::Subscription") == {}
    # When a team sets observability.alarm_email
    gptoss = dict(shipped_context()["gptoss"])
    gptoss["observability"] = {**gptoss["observability"], "alarm_email": "oncall@example.com"}
    with_email = synthesize(tmp_path, gptoss=gptoss)
    # Then that address is subscribed to the topic by email
    topic_id, _ = the_topic(with_email)
    [subscription] = [s["Properties"] for s in with_email.of_type("AWS::SNS::Subscription").values()]
    assert subscription == {"Protocol": "email", "Endpoint": "oncall@example.com", "TopicArn": {"Ref": topic_id}}
