"""Traffic through AWS's own clients: boto3 and the AWS CLI create a load balancer, a
target group and a listener (and a weighted rule) on the local ECS, attach a service to
them, and roll it out twice, while DescribeTargetHealth is read without pause. Every raw
XML answer of Elastic Load Balancing v2 is checked against botocore's service model
(elements the shape names, list members, numbers, booleans, enums); every error must be
one the operation's model lists.

    python traffic.py ENDPOINT_URL

Prints one JSON summary on standard output: the deviations, the operations called, and
each target's states in the order DescribeTargetHealth showed them.
"""

import contextlib
import io
import json
import sys
import time
import xml.etree.ElementTree as ET

import boto3
import botocore.config
from awscli.clidriver import create_clidriver

URL = sys.argv[1]
COMMON_ERRORS = {"Throttling", "InvalidAction", "ValidationError", "InternalFailure"}
summary = {"answers": 0, "values": 0, "operations": set(), "deviations": [], "errors": 0}


def local(tag):
    return tag.rsplit("}", 1)[-1]


def check_xml(shape, element, path, out):
    """An XML element against its botocore shape."""
    summary["values"] += 1
    kind = shape.type_name
    if kind == "structure":
        for child in element:
            name = local(child.tag)
            if name not in shape.members:
                out.append(f"{path}.{name}: not a member of {shape.name}")
                continue
            check_xml(shape.members[name], child, f"{path}.{name}", out)
    elif kind == "list":
        for index, child in enumerate(element):
            if local(child.tag) != "member":
                out.append(f"{path}[{index}]: <{local(child.tag)}> is not <member>")
            check_xml(shape.member, child, f"{path}[{index}]", out)
    elif kind in ("integer", "long"):
        try:
            int(element.text or "")
        except ValueError:
            out.append(f"{path}: {element.text!r} is not an integer")
    elif kind == "boolean":
        if element.text not in ("true", "false"):
            out.append(f"{path}: {element.text!r} is not a boolean")
    elif kind == "string" and shape.enum and element.text not in shape.enum:
        out.append(f"{path}: {element.text!r} is not one of {shape.name}")


def after_call(http_response, model, **_):
    service = model.service_model.service_name
    if service != "elasticloadbalancing" and service != "elbv2":
        return
    summary["answers"] += 1
    summary["operations"].add(f"elbv2:{model.name}")
    where = f"elbv2 {model.name}"
    found = []
    try:
        root = ET.fromstring(http_response.content)
    except ET.ParseError as error:
        summary["deviations"].append(f"{where}: not XML: {error}")
        return
    if http_response.status_code >= 400:
        summary["errors"] += 1
        code = root.find("{*}Error/{*}Code")
        code = code.text if code is not None else None
        listed = {shape.metadata.get("error", {}).get("code", shape.name)
                  for shape in model.error_shapes}
        if code not in listed and code not in COMMON_ERRORS:
            found.append(f"error {code!r} is not one {model.name} answers")
    else:
        if local(root.tag) != f"{model.name}Response":
            found.append(f"the answer is <{local(root.tag)}>")
        result = root.find(f"{{*}}{model.name}Result")
        if model.output_shape is not None and result is not None:
            check_xml(model.output_shape, result, "answer", found)
        if root.find("{*}ResponseMetadata/{*}RequestId") is None:
            found.append("no RequestId")
    summary["deviations"].extend(f"{where}: {f}" for f in found)


def client(service):
    made = boto3.client(
        service, endpoint_url=URL, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=botocore.config.Config(retries={"max_attempts": 1}))
    made.meta.events.register("after-call", after_call)
    return made


def cli(*args):
    """One AWS CLI command in this process (its answers pass the same check); its JSON."""
    driver = create_clidriver()
    driver.session.register("after-call", after_call)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = driver.main(["--endpoint-url", URL, "--region", "us-east-1", "--output",
                            "json", *args])
    if code != 0:
        summary["deviations"].append(f"aws {' '.join(args)}: exit {code}")
        return {}
    return json.loads(out.getvalue() or "{}")


def refused(code, method, saying="", **params):
    try:
        method(**params)
    except Exception as error:  # noqa: BLE001 — the code is what is compared
        got = getattr(error, "response", {}).get("Error", {})
        if got.get("Code") != code or saying not in got.get("Message", ""):
            summary["deviations"].append(f"{method.__name__}: {got or error}, not {code}")
        return
    summary["deviations"].append(f"{method.__name__}({params}): not refused with {code}")


elb = client("elbv2")
ecs = client("ecs")

# The load balancer, by the CLI; the rest by boto3.
lb = cli("elbv2", "create-load-balancer", "--name", "web", "--subnets", "subnet-a",
         "subnet-b")["LoadBalancers"][0]
lb_arn = lb["LoadBalancerArn"]
tg = elb.create_target_group(
    Name="web", Protocol="HTTP", Port=8080, VpcId="vpc-1", TargetType="ip",
    HealthCheckPath="/health", HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
    HealthyThresholdCount=2, Tags=[{"Key": "team", "Value": "web"}])["TargetGroups"][0]
tg_arn = tg["TargetGroupArn"]
canary = elb.create_target_group(Name="web-canary", Protocol="HTTP", Port=8080,
                                 VpcId="vpc-1", TargetType="ip")["TargetGroups"][0]
elb.modify_target_group_attributes(TargetGroupArn=tg_arn, Attributes=[
    {"Key": "deregistration_delay.timeout_seconds", "Value": "30"}])
refused("InvalidConfigurationRequest", elb.modify_target_group_attributes,
        TargetGroupArn=tg_arn, Attributes=[{"Key": "no.such", "Value": "1"}])
refused("TargetGroupNotFound", elb.describe_target_groups, Names=["nothing-here"])
listener = cli("elbv2", "create-listener", "--load-balancer-arn", lb_arn, "--protocol", "HTTP",
               "--port", "80", "--default-actions",
               f"Type=forward,TargetGroupArn={tg_arn}")["Listeners"][0]
refused("DuplicateListener", elb.create_listener, LoadBalancerArn=lb_arn, Port=80,
        Protocol="HTTP", DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
rule = elb.create_rule(
    ListenerArn=listener["ListenerArn"], Priority=10,
    Conditions=[{"Field": "path-pattern", "Values": ["/beta/*"]}],
    Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [
        {"TargetGroupArn": tg_arn, "Weight": 90},
        {"TargetGroupArn": canary["TargetGroupArn"], "Weight": 10}]}}])["Rules"][0]
elb.modify_rule(RuleArn=rule["RuleArn"], Actions=[{"Type": "forward", "ForwardConfig": {
    "TargetGroups": [{"TargetGroupArn": tg_arn, "Weight": 50},
                     {"TargetGroupArn": canary["TargetGroupArn"], "Weight": 50}]}}])
rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
if [r["Priority"] for r in rules] != ["10", "default"]:
    summary["deviations"].append(f"rules: {[r['Priority'] for r in rules]}")
refused("OperationNotPermitted", elb.delete_rule, RuleArn=rules[1]["RuleArn"])
refused("ResourceInUse", elb.delete_target_group, TargetGroupArn=canary["TargetGroupArn"])
elb.delete_rule(RuleArn=rule["RuleArn"])
elb.delete_target_group(TargetGroupArn=canary["TargetGroupArn"])
described = elb.describe_target_groups(LoadBalancerArn=lb_arn)["TargetGroups"]
if [g["TargetGroupArn"] for g in described] != [tg_arn]:
    summary["deviations"].append(f"groups of the load balancer: {described}")
elb.modify_listener(ListenerArn=listener["ListenerArn"],
                    DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
elb.describe_listeners(LoadBalancerArn=lb_arn)
elb.describe_load_balancers(Names=["web"])
elb.describe_target_group_attributes(TargetGroupArn=tg_arn)
elb.modify_target_group(TargetGroupArn=tg_arn, HealthCheckPath="/ready")
elb.add_tags(ResourceArns=[lb_arn], Tags=[{"Key": "env", "Value": "test"}])
elb.remove_tags(ResourceArns=[lb_arn], TagKeys=["env"])
elb.describe_tags(ResourceArns=[lb_arn, tg_arn])
elb.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "10.9.9.9"}])
elb.deregister_targets(TargetGroupArn=tg_arn, Targets=[{"Id": "10.9.9.9"}])
refused("InvalidTarget", elb.register_targets, TargetGroupArn=tg_arn,
        Targets=[{"Id": "i-0123456789abcdef0"}])

# A service behind it, rolled out twice; every target's states as they were seen.
ecs.create_cluster(clusterName="traffic")


def revision(image):
    return ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "web", "image": image, "essential": True,
                                             "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]


balancers = [{"targetGroupArn": tg_arn, "containerName": "web", "containerPort": 8080}]
network = {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}
refused("InvalidParameterException", ecs.create_service,
        saying="The container web did not have a container port 9999 defined.",
        cluster="traffic", serviceName="web",
        taskDefinition=revision("web:1"), desiredCount=2, launchType="FARGATE",
        networkConfiguration=network,
        loadBalancers=[{**balancers[0], "containerPort": 9999}])
ecs.create_service(cluster="traffic", serviceName="web", taskDefinition=revision("web:1"),
                   desiredCount=2, launchType="FARGATE", networkConfiguration=network,
                   loadBalancers=balancers)
seen = {}


def watch(until_revision, deadline_s=60):
    """Reads target health until the service's rollout of `until_revision` completed."""
    end = time.time() + deadline_s
    for _ in range(20_000):
        health = elb.describe_target_health(TargetGroupArn=tg_arn)["TargetHealthDescriptions"]
        for target in health:
            states = seen.setdefault(target["Target"]["Id"], [])
            state = target["TargetHealth"]["State"]
            if not states or states[-1] != state:
                states.append(state)
        ids = {t["Target"]["Id"] for t in health}
        for target_id, states in seen.items():
            if target_id not in ids and states[-1] != "gone":
                states.append("gone")
        service = ecs.describe_services(cluster="traffic", services=["web"])["services"][0]
        done = [d for d in service["deployments"] if d["status"] == "PRIMARY"
                and d["taskDefinition"] == until_revision and d["rolloutState"] == "COMPLETED"]
        if done and len(service["deployments"]) == 1 and len(health) == 2 and all(
                t["TargetHealth"]["State"] == "healthy" for t in health) or time.time() > end:
            return service
    return None


first = ecs.describe_services(cluster="traffic", services=["web"])["services"][0]
watch(first["taskDefinition"])
second = revision("web:2")
ecs.update_service(cluster="traffic", service="web", taskDefinition=second)
service = watch(second)
summary["events"] = [e["message"] for e in reversed(service["events"])] if service else []
summary["targets"] = seen
elb.delete_listener(ListenerArn=listener["ListenerArn"])
elb.delete_load_balancer(LoadBalancerArn=lb_arn)
refused("LoadBalancerNotFound", elb.describe_load_balancers, Names=["web"])
elb.delete_load_balancer(LoadBalancerArn=lb_arn)  # already gone: not an error, as on AWS
summary["operations"] = sorted(summary["operations"])
print(json.dumps(summary))
sys.exit(1 if summary["deviations"] else 0)
