use serde_json::json;

use super::*;
use crate::local::model::Service;

fn elbv2() -> &'static Model {
    Model::of(Service::Elbv2)
}

#[test]
fn a_form_is_read_into_its_input_shape() {
    let body = b"Action=CreateTargetGroup&Version=2015-12-01&Name=web&Protocol=HTTP&Port=8080\
        &VpcId=vpc-1&TargetType=ip&HealthCheckEnabled=true&HealthCheckPath=%2Fhealth\
        &Matcher.HttpCode=200-299&Tags.member.1.Key=team&Tags.member.1.Value=web\
        &Tags.member.2.Key=env&Tags.member.2.Value=prod";
    let form = Form::parse(body);
    assert_eq!(form.action, "CreateTargetGroup");
    let read = elbv2().read_form(&form).expect("valid");
    assert_eq!(
        read,
        json!({"Name": "web", "Protocol": "HTTP", "Port": 8080, "VpcId": "vpc-1",
            "TargetType": "ip", "HealthCheckEnabled": true, "HealthCheckPath": "/health",
            "Matcher": {"HttpCode": "200-299"},
            "Tags": [{"Key": "team", "Value": "web"}, {"Key": "env", "Value": "prod"}]})
    );
}

#[test]
fn bad_values_and_actions_are_refused_in_the_services_words() {
    let form = Form::parse(b"Action=CreateTargetGroup&Name=web&Port=http");
    let error = elbv2().read_form(&form).expect_err("not a number");
    assert_eq!(error.kind, "ValidationError");
    assert!(error.message.contains("at 'Port' failed to satisfy constraint"), "{}", error.message);
    let form = Form::parse(b"Action=CreateTargetGroup&Name=web&Protocol=SMTP");
    let error = elbv2().read_form(&form).expect_err("not a protocol");
    assert_eq!(error.kind, "ValidationError");
    assert!(error.message.contains("Member must satisfy enum value set"), "{}", error.message);
    let form = Form::parse(b"Action=RegisterTargets&Targets.member.1.Port=80");
    let error = elbv2().read_form(&form).expect_err("two members missing");
    assert!(error.message.starts_with("2 validation errors detected"), "{}", error.message);
    assert!(error.message.contains("'Targets.1.member.Id'"), "{}", error.message);
    let error = elbv2().read_form(&Form::parse(b"Action=Teleport")).expect_err("no such action");
    assert_eq!(error.kind, "InvalidAction");
}

#[test]
fn an_empty_list_is_its_name_alone() {
    let form = Form::parse(b"Action=DescribeLoadBalancers&Names=");
    assert_eq!(elbv2().read_form(&form).expect("valid"), json!({"Names": []}));
}

#[test]
fn answers_and_errors_are_the_query_protocols_xml() {
    let answer = json!({"TargetHealthDescriptions": [{
        "Target": {"Id": "10.0.0.1", "Port": 80},
        "TargetHealth": {"State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
            "Description": "Health checks failed with these codes: [500] & more"}}]});
    let xml = elbv2().answer_xml("DescribeTargetHealth", &answer, "rid", "urn:x");
    assert_eq!(
        xml,
        "<DescribeTargetHealthResponse xmlns=\"urn:x\"><DescribeTargetHealthResult>\
         <TargetHealthDescriptions><member><Target><Id>10.0.0.1</Id><Port>80</Port></Target>\
         <TargetHealth><Description>Health checks failed with these codes: [500] &amp; more\
         </Description><Reason>Target.ResponseCodeMismatch</Reason><State>unhealthy</State>\
         </TargetHealth></member></TargetHealthDescriptions></DescribeTargetHealthResult>\
         <ResponseMetadata><RequestId>rid</RequestId></ResponseMetadata>\
         </DescribeTargetHealthResponse>"
    );
    let error = ApiError::with_kind("TargetGroupNotFound", "One or more target groups not found");
    assert_eq!(
        error_xml(&error, "rid", "urn:x"),
        "<ErrorResponse xmlns=\"urn:x\"><Error><Type>Sender</Type><Code>TargetGroupNotFound\
         </Code><Message>One or more target groups not found</Message></Error>\
         <RequestId>rid</RequestId></ErrorResponse>"
    );
}

#[test]
fn timestamps_are_iso_8601_in_utc() {
    assert_eq!(iso8601(0.0), "1970-01-01T00:00:00.000Z");
    assert_eq!(iso8601(1_796_223_845.25), "2026-12-02T15:04:05.250Z");
    assert_eq!(iso8601(951_782_400.0), "2000-02-29T00:00:00.000Z");
}
