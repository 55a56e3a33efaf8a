"""The contract suite: boto3 and the AWS CLI (botocore underneath both, as published by
AWS) run a broad sequence of ECS, ECR and STS calls against an endpoint, and every answer
— each raw JSON body as it came off the wire — is checked against botocore's own service
model: no member the model does not name, no value of the wrong type, no string outside
its enum, no null, the output's required members present, and every error a type the
operation's model lists (or one AWS sends for every operation).

    python contract.py ENDPOINT_URL IMAGE_REPOSITORY IMAGE_TAG

The operations the endpoint implements come in FERRY_CONTRACT_OPERATIONS (a JSON list of
"service:Operation"), for AWS's documented examples (botocore's examples-1.json) of them.
Prints one JSON summary on standard output; exits 1 when anything deviates.
"""

import contextlib
import io
import json
import os
import sys
import time

import boto3
import botocore.config
import botocore.session
from awscli.clidriver import create_clidriver

URL, REPOSITORY, TAG = sys.argv[1], sys.argv[2], sys.argv[3]
# Errors AWS may answer to any operation, whatever its model lists.
COMMON_ERRORS = {
    "ThrottlingException", "UnknownOperationException", "SerializationException",
    "AccessDeniedException", "ServerException", "InternalFailure", "ServiceUnavailable",
}

summary = {"calls": 0, "answers": 0, "values": 0, "errors": 0, "operations": set(),
           "cli_commands": 0, "examples": 0, "examples_answered": 0,
           "examples_not_implemented": [], "examples_refused": [], "deviations": []}


def check(shape, value, path, out):
    summary["values"] += 1
    if value is None:
        out.append(f"{path}: null")
        return
    if getattr(shape, "is_document_type", False):
        return
    kind = shape.type_name
    if kind == "structure":
        if not isinstance(value, dict):
            out.append(f"{path}: {type(value).__name__} where {shape.name} is a structure")
            return
        for name in getattr(shape, "required_members", []):
            if name not in value:
                out.append(f"{path}.{name}: required by {shape.name}, missing")
        for name, inner in value.items():
            member = shape.members.get(name)
            if member is None:
                out.append(f"{path}.{name}: {shape.name} has no such member")
            else:
                check(member, inner, f"{path}.{name}", out)
    elif kind == "list":
        if not isinstance(value, list):
            out.append(f"{path}: {type(value).__name__} where {shape.name} is a list")
            return
        for index, item in enumerate(value):
            check(shape.member, item, f"{path}[{index}]", out)
    elif kind == "map":
        if not isinstance(value, dict):
            out.append(f"{path}: {type(value).__name__} where {shape.name} is a map")
            return
        for key, item in value.items():
            check(shape.key, key, f"{path}<key>", out)
            check(shape.value, item, f"{path}.{key}", out)
    elif kind == "string":
        if not isinstance(value, str):
            out.append(f"{path}: {type(value).__name__} where {shape.name} is a string")
        elif shape.enum and value not in shape.enum:
            out.append(f"{path}: '{value}' is not in {shape.name}'s enum")
    elif kind in ("integer", "long"):
        if isinstance(value, bool) or not isinstance(value, int):
            out.append(f"{path}: {value!r} where {shape.name} is an {kind}")
    elif kind in ("double", "float"):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: {value!r} where {shape.name} is a {kind}")
    elif kind == "boolean":
        if not isinstance(value, bool):
            out.append(f"{path}: {value!r} where {shape.name} is a boolean")
    elif kind == "timestamp":
        # The JSON protocol sends epoch seconds.
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            out.append(f"{path}: {value!r} where {shape.name} is a timestamp (epoch seconds)")
    elif kind == "blob":
        if not isinstance(value, str):
            out.append(f"{path}: {value!r} where {shape.name} is a blob (base64)")


def after_call(http_response, model, **_):
    """Every answer, as its bytes came: checked against the operation's model."""
    summary["answers"] += 1
    summary["operations"].add(f"{model.service_model.service_name}:{model.name}")
    where = f"{model.service_model.service_name} {model.name}"
    found = []
    if model.service_model.protocol != "json":
        return  # STS answers in XML (the query protocol); botocore parses it strictly.
    try:
        body = json.loads(http_response.content or b"{}")
    except ValueError as error:
        summary["deviations"].append(f"{where}: not JSON: {error}")
        return
    if http_response.status_code >= 400:
        summary["errors"] += 1
        code = str(body.get("__type", "")).split("#")[-1]
        listed = {shape.name for shape in model.error_shapes}
        if code not in listed and code not in COMMON_ERRORS:
            found.append(f"error {code!r} is not one {model.name} answers")
        if not isinstance(body.get("message", body.get("Message")), str):
            found.append("an error without a message")
    elif model.output_shape is not None:
        check(model.output_shape, body, "answer", found)
    elif body:
        found.append(f"{model.name} has no output, answered {body}")
    summary["deviations"].extend(f"{where}: {f}" for f in found)


def client(service, validate=True):
    made = boto3.client(
        service, endpoint_url=URL, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test",
        config=botocore.config.Config(parameter_validation=validate,
                                      retries={"max_attempts": 1}))
    made.meta.events.register("after-call", after_call)
    return made


def call(method, expect_error=None, **params):
    summary["calls"] += 1
    try:
        answer = method(**params)
    except Exception as error:  # noqa: BLE001 — the code is what is compared
        code = getattr(error, "response", {}).get("Error", {}).get("Code")
        if expect_error and code == expect_error:
            return None
        summary["deviations"].append(f"{method.__name__}({params}): {code or error}")
        return None
    if expect_error:
        summary["deviations"].append(f"{method.__name__}({params}): no {expect_error}")
    return answer


def cli(*args):
    """One AWS CLI command, in this process so its answers pass through the same check."""
    driver = create_clidriver()
    driver.session.register("after-call", after_call)
    summary["cli_commands"] += 1
    with contextlib.redirect_stdout(io.StringIO()):
        code = driver.main(["--endpoint-url", URL, "--region", "us-east-1", "--output",
                            "json", *args])
    if code != 0:
        summary["deviations"].append(f"aws {' '.join(args)}: exit {code}")


def ecs_sequence():
    ecs = client("ecs")
    raw = client("ecs", validate=False)
    call(ecs.create_cluster, clusterName="contract", tags=[{"key": "team", "value": "web"}])
    call(ecs.create_cluster, clusterName="spare")
    call(ecs.describe_clusters, clusters=["contract", "missing"], include=["TAGS"])
    call(ecs.list_clusters, maxResults=1)
    container = {
        "name": "app", "image": "busybox:1", "essential": True, "memory": 128, "cpu": 64,
        "portMappings": [{"containerPort": 8080, "protocol": "tcp", "name": "http"}],
        "environment": [{"name": "MODE", "value": "prod"}],
        "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 10, "timeout": 5,
                        "retries": 3, "startPeriod": 5},
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/a"}},
        "linuxParameters": {"initProcessEnabled": True},
        "stopTimeout": 10,
        "dockerLabels": {"team": "web"},
    }
    first = call(ecs.register_task_definition, family="web", networkMode="awsvpc",
                 requiresCompatibilities=["FARGATE"], cpu="256", memory="512",
                 containerDefinitions=[container], tags=[{"key": "a", "value": "b"}])
    second = call(ecs.register_task_definition, family="web",
                  containerDefinitions=[dict(container, image="busybox:2")])
    call(ecs.register_task_definition, family="worker",
         containerDefinitions=[{"name": "w", "image": "busybox:1", "memory": 64}])
    call(ecs.describe_task_definition, taskDefinition="web", include=["TAGS"])
    call(ecs.describe_task_definition, taskDefinition="nope:1", expect_error="ClientException")
    call(ecs.list_task_definitions, familyPrefix="web", sort="DESC")
    call(ecs.list_task_definition_families, familyPrefix="w", status="ACTIVE")
    first_arn = first["taskDefinition"]["taskDefinitionArn"]
    second_arn = second["taskDefinition"]["taskDefinitionArn"]
    network = {"awsvpcConfiguration": {"subnets": ["subnet-1"], "securityGroups": ["sg-1"],
                                       "assignPublicIp": "DISABLED"}}
    call(ecs.create_service, cluster="contract", serviceName="web", taskDefinition=first_arn,
         desiredCount=2, launchType="FARGATE", networkConfiguration=network,
         deploymentConfiguration={"maximumPercent": 200, "minimumHealthyPercent": 100,
                                  "deploymentCircuitBreaker": {"enable": True,
                                                               "rollback": True}},
         healthCheckGracePeriodSeconds=0, propagateTags="SERVICE",
         enableECSManagedTags=True, tags=[{"key": "svc", "value": "web"}])
    for n in range(11):
        call(ecs.create_service, cluster="spare", serviceName=f"idle{n:02}",
             taskDefinition="worker", desiredCount=0)
    call(ecs.describe_services, cluster="contract", services=["web", "missing"],
         include=["TAGS"])
    call(ecs.list_services, cluster="spare")
    call(ecs.list_services, cluster="contract", launchType="FARGATE", maxResults=100)
    call(ecs.list_container_instances, cluster="contract")
    for _ in range(60):
        services = call(ecs.describe_services, cluster="contract", services=["web"])
        if services and services["services"][0]["runningCount"] == 2:
            break
        time.sleep(0.5)
    updated = call(ecs.update_service, cluster="contract", service="web",
                   taskDefinition=second_arn, networkConfiguration=network)
    tasks = call(ecs.list_tasks, cluster="contract", serviceName="web")
    if tasks and tasks["taskArns"]:
        call(ecs.describe_tasks, cluster="contract", tasks=tasks["taskArns"] + ["missing"],
             include=["TAGS"])
    deployments = call(ecs.list_service_deployments, cluster="contract", service="web")
    arns = [d["serviceDeploymentArn"] for d in (deployments or {}).get("serviceDeployments", [])]
    if arns:
        described = call(ecs.describe_service_deployments, serviceDeploymentArns=arns)
        revisions = [r["arn"] for d in (described or {}).get("serviceDeployments", [])
                     for r in [d.get("targetServiceRevision", {})] if r.get("arn")]
        if revisions:
            call(ecs.describe_service_revisions, serviceRevisionArns=revisions)
    current = (updated or {}).get("service", {}).get("deployments", [{}])[0].get("id")
    for _ in range(120):
        services = call(ecs.describe_services, cluster="contract", services=["web"])
        primary = services["services"][0]["deployments"][0] if services else {}
        if primary.get("rolloutState") == "COMPLETED":
            break
        time.sleep(0.5)
    call(ecs.update_service, cluster="contract", service="web", forceNewDeployment=True)
    deployments = call(ecs.list_service_deployments, cluster="contract", service="web",
                       status=["IN_PROGRESS"])
    for deployment in (deployments or {}).get("serviceDeployments", []):
        call(ecs.stop_service_deployment, serviceDeploymentArn=deployment["serviceDeploymentArn"],
             stopType="ROLLBACK")
    tasks = call(ecs.list_tasks, cluster="contract", serviceName="web", desiredStatus="RUNNING")
    if tasks and tasks["taskArns"]:
        call(ecs.stop_task, cluster="contract", task=tasks["taskArns"][0], reason="contract")
    call(ecs.list_tasks, cluster="contract", desiredStatus="STOPPED")
    cluster_arn = call(ecs.describe_clusters, clusters=["contract"])["clusters"][0]["clusterArn"]
    call(ecs.tag_resource, resourceArn=cluster_arn, tags=[{"key": "more", "value": "x"}])
    call(ecs.untag_resource, resourceArn=cluster_arn, tagKeys=["team"])
    call(ecs.list_tags_for_resource, resourceArn=cluster_arn)
    call(ecs.deregister_task_definition, taskDefinition="worker:1")
    call(ecs.list_task_definition_families, status="INACTIVE")
    call(ecs.delete_task_definitions, taskDefinitions=["worker:1"])
    call(ecs.update_service, cluster="contract", service="web", desiredCount=0)
    call(ecs.delete_service, cluster="contract", service="web")
    call(ecs.delete_service, cluster="spare", service="idle00", force=True)
    # Refusals: each error must be one the operation's model lists.
    call(ecs.describe_services, cluster="nope", services=["web"],
         expect_error="ClusterNotFoundException")
    call(ecs.update_service, cluster="spare", service="nope",
         expect_error="ServiceNotFoundException")
    call(raw.create_service, cluster="spare", serviceName="x", taskDefinition="worker",
         desiredCount=1, launchType="BANANA", expect_error="InvalidParameterException")
    call(raw.update_service, cluster="spare", service="idle01",
         deploymentConfiguration={"deploymentCircuitBreaker": {"enable": "yes",
                                                               "rollback": True}},
         expect_error="SerializationException")


def ecr_sequence():
    ecr = client("ecr")
    raw = client("ecr", validate=False)
    call(ecr.create_repository, repositoryName="contract/web",
         imageTagMutability="IMMUTABLE_WITH_EXCLUSION",
         imageTagMutabilityExclusionFilters=[{"filterType": "WILDCARD", "filter": "latest"}],
         imageScanningConfiguration={"scanOnPush": True},
         tags=[{"Key": "team", "Value": "web"}])
    call(ecr.create_repository, repositoryName="contract/web",
         expect_error="RepositoryAlreadyExistsException")
    # The repository an image was pushed to before (the registry behind the local ECR).
    call(ecr.create_repository, repositoryName=REPOSITORY)
    call(ecr.describe_repositories, maxResults=1000)
    call(ecr.get_authorization_token)
    policy = json.dumps({"rules": [{"rulePriority": 1, "selection": {
        "tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30},
        "action": {"type": "expire"}}]})
    call(ecr.put_lifecycle_policy, repositoryName=REPOSITORY, lifecyclePolicyText=policy)
    call(ecr.get_lifecycle_policy, repositoryName=REPOSITORY)
    call(ecr.describe_images, repositoryName=REPOSITORY)
    call(ecr.list_images, repositoryName=REPOSITORY, filter={"tagStatus": "TAGGED"})
    got = call(ecr.batch_get_image, repositoryName=REPOSITORY,
               imageIds=[{"imageTag": TAG}, {"imageTag": "missing"}])
    manifest = got["images"][0]["imageManifest"] if got and got["images"] else None
    if manifest:
        call(ecr.put_image, repositoryName=REPOSITORY, imageManifest=manifest, imageTag="copy")
        call(ecr.put_image, repositoryName=REPOSITORY, imageManifest=manifest, imageTag=TAG,
             expect_error="ImageAlreadyExistsException")
        call(ecr.batch_delete_image, repositoryName=REPOSITORY,
             imageIds=[{"imageTag": "copy"}, {"imageTag": "missing"}])
    call(ecr.describe_images, repositoryName=REPOSITORY, imageIds=[{"imageTag": "missing"}],
         expect_error="ImageNotFoundException")
    arn = call(ecr.describe_repositories, repositoryNames=["contract/web"])[
        "repositories"][0]["repositoryArn"]
    call(ecr.tag_resource, resourceArn=arn, tags=[{"Key": "more", "Value": "x"}])
    call(ecr.untag_resource, resourceArn=arn, tagKeys=["team"])
    call(ecr.list_tags_for_resource, resourceArn=arn)
    call(ecr.delete_repository, repositoryName="contract/web")
    call(ecr.delete_repository, repositoryName="contract/web",
         expect_error="RepositoryNotFoundException")
    call(raw.describe_repositories, maxResults=1001, expect_error="InvalidParameterException")
    call(raw.create_repository, repositoryName="x",
         imageScanningConfiguration={"scanOnPush": "true"}, expect_error="SerializationException")


def examples_sequence():
    """AWS's documented examples (botocore's examples-1.json) of the operations the
    endpoint implements, sent as written once the resources they name exist: none may be
    refused as malformed (a wrong type or a broken constraint), and each answer is
    checked like every other."""
    import botocore
    data = os.path.join(os.path.dirname(botocore.__file__), "data")
    ecs = client("ecs", validate=False)
    ecr = client("ecr", validate=False)
    # What the examples name: the default cluster, and the families they deploy.
    call(ecs.create_cluster, clusterName="default")
    for family in ("hello_world", "amazon-ecs-sample", "console-sample-app-static"):
        call(ecs.register_task_definition, family=family,
             containerDefinitions=[{"name": "simple-app", "image": "busybox", "memory": 64}])
    call(ecs.create_service, cluster="default", serviceName="my-http-service",
         taskDefinition="hello_world", desiredCount=1)
    implemented = {
        "ecs": {m.split(":")[1] for m in IMPLEMENTED if m.startswith("ecs:")},
        "ecr": {m.split(":")[1] for m in IMPLEMENTED if m.startswith("ecr:")},
    }
    order = {"CreateCluster": 0, "RegisterTaskDefinition": 1, "CreateService": 2,
             "CreateRepository": 0, "DeleteRepository": 9, "DeleteService": 9}
    for service, version, made in (("ecs", "2014-11-13", ecs), ("ecr", "2015-09-21", ecr)):
        with open(os.path.join(data, service, version, "examples-1.json")) as source:
            examples = json.load(source)["examples"]
        for operation in sorted(examples, key=lambda op: order.get(op, 5)):
            for example in examples[operation]:
                if operation not in implemented[service]:
                    summary["examples_not_implemented"].append(f"{service}:{operation}")
                    continue
                method = getattr(made, botocore.xform_name(operation))
                summary["examples"] += 1
                summary["calls"] += 1
                try:
                    method(**example.get("input", {}))
                    summary["examples_answered"] += 1
                except Exception as error:  # noqa: BLE001 — the code is what is judged
                    answer = getattr(error, "response", {}).get("Error", {})
                    code, message = answer.get("Code"), answer.get("Message", "")
                    malformed = code == "SerializationException" or (
                        code == "InvalidParameterException"
                        and ("validation error" in message or "failed to satisfy" in message))
                    summary["examples_refused"].append(f"{service}:{operation}: {code}")
                    if malformed or code is None:
                        summary["deviations"].append(
                            f"documented example {service}:{operation} refused: {code} "
                            f"{message or error}")


# The operations the endpoint answers (tests/contract.rs holds the same list).
IMPLEMENTED = set(json.loads(os.environ.get("FERRY_CONTRACT_OPERATIONS", "[]")))


def cli_sequence():
    cli("sts", "get-caller-identity")
    cli("ecs", "list-clusters")
    cli("ecs", "list-services", "--cluster", "spare")  # pages through every nextToken
    cli("ecs", "list-task-definitions")
    cli("ecs", "list-task-definition-families")
    cli("ecs", "describe-clusters", "--clusters", "contract", "spare")
    cli("ecs", "describe-services", "--cluster", "spare", "--services", "idle01", "idle02")
    cli("ecs", "wait", "services-stable", "--cluster", "spare", "--services", "idle01")
    cli("ecs", "list-container-instances", "--cluster", "spare")
    cli("ecr", "describe-repositories")
    cli("ecr", "list-images", "--repository-name", REPOSITORY)
    cli("ecr", "describe-images", "--repository-name", REPOSITORY)


def self_test():
    """The check finds what it is there to find, or the suite cannot fail."""
    model = botocore.session.get_session()
    operation = model.get_service_model("ecs").operation_model("DescribeServices")
    found = []
    check(operation.output_shape, {"services": [{"serviceName": "s", "colour": "red",
          "launchType": "BANANA", "desiredCount": "3", "createdAt": "2026-01-01",
          "deployments": [{"rolloutState": None}]}]}, "answer", found)
    if len(found) != 5:
        sys.exit(f"the model check is broken: found {found}")
    summary["values"] = 0


self_test()
client("sts").get_caller_identity()
summary["calls"] += 1
for sequence in (ecs_sequence, ecr_sequence, examples_sequence, cli_sequence):
    try:
        sequence()
    except Exception as error:  # noqa: BLE001 — an answer the sequence could not go on from
        summary["deviations"].append(f"{sequence.__name__} stopped: {error!r}")
summary["operations"] = sorted(summary["operations"])
print(json.dumps(summary))
sys.exit(1 if summary["deviations"] else 0)
