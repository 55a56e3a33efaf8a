use serde_json::json;

use super::*;

fn ecs(operation: &str, body: Value) -> Result<Value, ApiError> {
    Model::of(Service::Ecs).read_request(operation, body)
}

fn ecr(operation: &str, body: Value) -> Result<Value, ApiError> {
    Model::of(Service::Ecr).read_request(operation, body)
}

#[test]
fn every_shape_a_model_names_is_in_it() {
    for service in [Service::Ecs, Service::Ecr] {
        let model = Model::of(service);
        let references = model.shapes.values().flat_map(|shape| {
            shape.members.values().chain(&shape.member).chain(&shape.key).chain(&shape.value)
        });
        let operations = model.operations.values().flat_map(|op| op.input.iter().chain(&op.output));
        for reference in references.chain(operations) {
            assert!(model.shape(&reference.shape).is_some(), "{service:?}: {}", reference.shape);
        }
    }
}

#[test]
fn wrong_json_types_are_serialization_errors_in_aws_words() {
    let cases = [
        (
            json!({"service": "s", "deploymentConfiguration":
                {"deploymentCircuitBreaker": {"enable": "yes", "rollback": true}}}),
            "STRING_VALUE can not be converted to a Boolean",
        ),
        (
            json!({"family": "f", "containerDefinitions": [{"name": "a", "memory": "x"}]}),
            "STRING_VALUE can not be converted to an Integer",
        ),
        (json!({"service": 7}), "NUMBER_VALUE can not be converted to a String"),
        (json!({"service": "s", "desiredCount": 3_000_000_000_i64}), ""),
        (json!({"service": "s", "loadBalancers": {"a": 1}}), "Expected list or null"),
        (json!({"service": "s", "deploymentConfiguration": "x"}), "Expected null"),
        (json!({"service": ["s"]}), "Start of list found where not expected"),
    ];
    for (body, message) in cases {
        let operation =
            if body.get("family").is_some() { "RegisterTaskDefinition" } else { "UpdateService" };
        let error = ecs(operation, body.clone()).expect_err("refused");
        assert_eq!(error.kind, "SerializationException", "{body}");
        if !message.is_empty() {
            assert_eq!(error.message, message, "{body}");
        }
    }
    let error = ecr(
        "CreateRepository",
        json!({"repositoryName": "web",
        "imageScanningConfiguration": {"scanOnPush": "true"}}),
    )
    .expect_err("a string is not a boolean");
    assert_eq!(error.message, "STRING_VALUE can not be converted to a Boolean");
}

#[test]
fn broken_constraints_are_invalid_parameters_naming_each_place() {
    let error = ecs(
        "UpdateService",
        json!({"service": "s", "deploymentConfiguration": {"deploymentCircuitBreaker":
            {"rollback": true}}}),
    )
    .expect_err("enable is required");
    assert_eq!(error.kind, "InvalidParameterException");
    assert_eq!(
        error.message,
        "1 validation error detected: Value null at \
         'deploymentConfiguration.deploymentCircuitBreaker.enable' failed to satisfy \
         constraint: Member must not be null"
    );
    let error = ecs("CreateService", json!({"serviceName": "s", "launchType": "BANANA"}))
        .expect_err("not a launch type");
    assert_eq!(
        error.message,
        "1 validation error detected: Value 'BANANA' at 'launchType' failed to satisfy \
         constraint: Member must satisfy enum value set: [EC2, FARGATE, EXTERNAL, \
         MANAGED_INSTANCES]"
    );
    let error = ecs(
        "RegisterTaskDefinition",
        json!({"family": "f", "containerDefinitions": [{"name": "a"},
            {"name": "b", "portMappings": [{"protocol": "sctp"}]}], "networkMode": "mesh"}),
    )
    .expect_err("two bad enums");
    assert!(error.message.starts_with("2 validation errors detected: "), "{}", error.message);
    assert!(
        error.message.contains("at 'containerDefinitions.2.member.portMappings.1.member.protocol'")
    );
    assert!(error.message.contains("at 'networkMode'"), "{}", error.message);
    let error =
        ecs("RegisterTaskDefinition", json!({"containerDefinitions": []})).expect_err("family");
    assert!(error.message.contains("Value null at 'family'"), "{}", error.message);
}

#[test]
fn ecr_says_invalid_parameter_at_its_place() {
    let error = ecr("CreateRepository", json!({"repositoryName": "Web"})).expect_err("pattern");
    assert_eq!(error.kind, "InvalidParameterException");
    assert!(
        error.message.starts_with(
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must \
             satisfy regular expression pattern: "
        ),
        "{}",
        error.message
    );
    assert!(ecr("DescribeRepositories", json!({"maxResults": 1000})).is_ok());
    let error = ecr("DescribeRepositories", json!({"maxResults": 1001})).expect_err("range");
    assert_eq!(
        error.message,
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have \
         value less than or equal to 1000'"
    );
    for mutability in ["MUTABLE", "IMMUTABLE", "IMMUTABLE_WITH_EXCLUSION", "MUTABLE_WITH_EXCLUSION"]
    {
        let body = json!({"repositoryName": "web", "imageTagMutability": mutability,
            "tags": [{"Key": "team", "Value": "web"}]});
        assert!(ecr("CreateRepository", body).is_ok(), "{mutability}");
    }
}

#[test]
fn valid_requests_pass_without_the_members_aws_does_not_read() {
    let read = ecs(
        "UpdateService",
        json!({"service": "s", "cluster": "c", "desiredCount": 3,
        "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100,
            "deploymentCircuitBreaker": {"enable": true, "rollback": true, "later": 1}},
        "somethingNew": {"x": 1}, "taskDefinition": null}),
    )
    .expect("valid");
    assert_eq!(
        read,
        json!({"service": "s", "cluster": "c", "desiredCount": 3, "taskDefinition": null,
            "deploymentConfiguration": {"maximumPercent": 200, "minimumHealthyPercent": 100,
                "deploymentCircuitBreaker": {"enable": true, "rollback": true}}})
    );
    let read = ecs(
        "RegisterTaskDefinition",
        json!({"family": "f", "containerDefinitions":
        [{"name": "a", "dockerLabels": {"any": "label"}, "futureMember": 1}]}),
    )
    .expect("valid");
    assert_eq!(
        read["containerDefinitions"],
        json!([{"name": "a", "dockerLabels": {"any": "label"}}])
    );
    assert_eq!(ecs("NoSuchOperation", json!({"x": 1})).expect("as it is"), json!({"x": 1}));
}

#[test]
fn answers_outside_the_model_are_found() {
    let model = Model::of(Service::Ecs);
    let answer = json!({"services": [{"serviceName": "s", "status": "ACTIVE",
        "desiredCount": "3", "launchType": "BANANA", "createdAt": "2026-01-01",
        "colour": "red", "deployments": [{"id": "d", "rolloutState": null}]}],
        "failures": []});
    let found = model.check_answer("DescribeServices", &answer);
    assert_eq!(
        found,
        vec![
            "services[0].colour: a member Service does not have",
            "services[0].createdAt: a string where the model has a timestamp",
            "services[0].deployments[0].rolloutState: null",
            "services[0].desiredCount: a string where the model has an integer",
            "services[0].launchType: 'BANANA' is not one of LaunchType",
        ]
    );
    let good = json!({"services": [{"serviceName": "s", "createdAt": 1.5e9,
        "deployments": [{"id": "d", "rolloutState": "COMPLETED"}]}]});
    assert!(model.check_answer("DescribeServices", &good).is_empty());
    assert!(!model.check_answer("NoSuchOperation", &json!({})).is_empty());
}
