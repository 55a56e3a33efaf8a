"""A BLUE_GREEN deployment through AWS's own clients: the AWS CLI creates a service with
the BLUE_GREEN strategy behind a production and a test listener rule, deploys a good
revision, then a crashing one, while boto3 reads DescribeServiceDeployments and the rules
without pause. ECS's refusals of a wrong advanced configuration are checked on the way.

    python blue_green.py ENDPOINT_URL

Prints one JSON summary on standard output: the deviations, and for each deployment the
lifecycle stages in the order they were seen, its final status and reason, and the rules'
weights at each stage.
"""

import contextlib
import io
import json
import sys
import time

import boto3
import botocore.config
from awscli.clidriver import create_clidriver

URL = sys.argv[1]
summary = {"deviations": [], "deployments": []}


def client(service):
    return boto3.client(
        service, endpoint_url=URL, region_name="us-east-1", aws_access_key_id="test",
        aws_secret_access_key="test", config=botocore.config.Config(retries={"max_attempts": 1}))


def cli(*args):
    """One AWS CLI command in this process; its JSON."""
    driver = create_clidriver()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = driver.main(["--endpoint-url", URL, "--region", "us-east-1", "--output",
                            "json", *args])
    if code != 0:
        summary["deviations"].append(f"aws {' '.join(args)}: exit {code}")
        return {}
    return json.loads(out.getvalue() or "{}")


def refused(saying, method, **params):
    try:
        method(**params)
    except Exception as error:  # noqa: BLE001 — the code and words are what is compared
        got = getattr(error, "response", {}).get("Error", {})
        if got.get("Code") != "InvalidParameterException" or saying not in got.get("Message", ""):
            summary["deviations"].append(f"{method.__name__}: {got or error}, not {saying!r}")
        return
    summary["deviations"].append(f"{method.__name__}({params}): not refused ({saying!r})")


elb = client("elbv2")
ecs = client("ecs")

lb_arn = elb.create_load_balancer(Name="web", Subnets=["subnet-a", "subnet-b"])[
    "LoadBalancers"][0]["LoadBalancerArn"]


def group(name):
    return elb.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId="vpc-1", TargetType="ip",
        HealthCheckIntervalSeconds=5, HealthCheckTimeoutSeconds=2,
        HealthyThresholdCount=2)["TargetGroups"][0][
        "TargetGroupArn"]


blue, green = group("blue"), group("green")
elb.modify_target_group_attributes(TargetGroupArn=blue, Attributes=[
    {"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])
elb.modify_target_group_attributes(TargetGroupArn=green, Attributes=[
    {"Key": "deregistration_delay.timeout_seconds", "Value": "5"}])


def default_rule(port, forward):
    listener = elb.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=port,
                                   DefaultActions=[{"Type": "forward", "ForwardConfig": {
                                       "TargetGroups": forward}}])["Listeners"][0]
    rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    return rules[0]["RuleArn"]


# Production on blue with green at weight 0; the test listener on green.
production = default_rule(80, [{"TargetGroupArn": blue, "Weight": 100},
                               {"TargetGroupArn": green, "Weight": 0}])
test = default_rule(8080, [{"TargetGroupArn": green, "Weight": 100}])


def weights(rule):
    found = elb.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"][0]
    groups = found.get("ForwardConfig", {}).get("TargetGroups", [])
    return {("blue" if g["TargetGroupArn"] == blue else "green"): g.get("Weight")
            for g in groups}


ecs.create_cluster(clusterName="bg")


def revision(image):
    return ecs.register_task_definition(
        family="web", networkMode="awsvpc", requiresCompatibilities=["FARGATE"], cpu="256",
        memory="512", containerDefinitions=[{"name": "web", "image": image, "essential": True,
                                             "portMappings": [{"containerPort": 8080}]}],
    )["taskDefinition"]["taskDefinitionArn"]


v1, v2, bad = revision("web:1"), revision("web:2"), revision("web:crash")
role = "arn:aws:iam::000000000000:role/ecs-infrastructure"
advanced = {"alternateTargetGroupArn": green, "productionListenerRule": production,
            "testListenerRule": test, "roleArn": role}
network = {"awsvpcConfiguration": {"subnets": ["subnet-a"]}}


def balancers(**change):
    config = {**advanced, **change}
    return [{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080,
             "advancedConfiguration": {k: v for k, v in config.items() if v is not None}}]


strategy = {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1,
            "deploymentCircuitBreaker": {"enable": True, "rollback": True}}
common = {"cluster": "bg", "serviceName": "web", "taskDefinition": v1, "desiredCount": 2,
          "launchType": "FARGATE", "networkConfiguration": network}
refused("bakeTimeInMinutes is required", ecs.create_service, **common,
        deploymentConfiguration={"strategy": "BLUE_GREEN"}, loadBalancers=balancers())
refused("advancedConfiguration field is required for all loadBalancers", ecs.create_service,
        **common, deploymentConfiguration=strategy,
        loadBalancers=[{"targetGroupArn": blue, "containerName": "web", "containerPort": 8080}])
refused(f"Duplicate targetGroupArn found: {blue}", ecs.create_service, **common,
        deploymentConfiguration=strategy, loadBalancers=balancers(alternateTargetGroupArn=blue))
refused("cannot be used as both production and test listener rules", ecs.create_service,
        **common, deploymentConfiguration=strategy, loadBalancers=balancers(testListenerRule=production))
refused("advancedConfiguration.roleArn is required", ecs.create_service, **common,
        deploymentConfiguration=strategy, loadBalancers=balancers(roleArn=None))
refused("bakeTimeInMinutes must be between 0 and 1440", ecs.create_service, **common,
        deploymentConfiguration={**strategy, "bakeTimeInMinutes": 1441},
        loadBalancers=balancers())

cli("ecs", "create-service", "--cluster", "bg", "--service-name", "web", "--task-definition", v1,
    "--desired-count", "2", "--launch-type", "FARGATE",
    "--network-configuration", json.dumps(network),
    "--deployment-configuration", json.dumps(strategy),
    "--load-balancers", json.dumps(balancers()))


def watch(arn, limit_s=120):
    """Every lifecycle stage of service deployment `arn` as it is seen, with the rules'
    weights then, until it ends."""
    seen, started = [], time.monotonic()
    while time.monotonic() - started < limit_s:
        found = ecs.describe_service_deployments(serviceDeploymentArns=[arn])
        deployment = found["serviceDeployments"][0]
        stage = deployment.get("lifecycleStage")
        if stage and (not seen or seen[-1]["stage"] != stage):
            seen.append({"stage": stage, "production": weights(production),
                         "test": weights(test), "status": deployment["status"]})
        if deployment["status"] in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED",
                                    "STOPPED"):
            return seen, deployment
        time.sleep(0.05)
    summary["deviations"].append(f"{arn} did not end within {limit_s} s")
    return seen, {}


def settle(limit_s=120):
    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        service = ecs.describe_services(cluster="bg", services=["web"])["services"][0]
        if all(d["rolloutState"] == "COMPLETED" for d in service["deployments"]) and \
                len(service["deployments"]) == 1:
            return
        time.sleep(0.1)
    summary["deviations"].append("the service did not settle")


settle()
for image, arn in (("web:2", v2), ("web:crash", bad)):
    answer = cli("ecs", "update-service", "--cluster", "bg", "--service", "web",
                 "--task-definition", arn)
    current = answer.get("service", {}).get("currentServiceDeployment", "")
    seen, final = watch(current)
    record = cli("ecs", "describe-service-deployments", "--service-deployment-arns", current)
    final = record.get("serviceDeployments", [final])[0]
    tasks = ecs.list_tasks(cluster="bg", serviceName="web")["taskArns"]
    described = ecs.describe_tasks(cluster="bg", tasks=tasks)["tasks"] if tasks else []
    summary["deployments"].append({
        "image": image, "stages": seen, "status": final.get("status"),
        "reason": final.get("statusReason"), "rollback": final.get("rollback", {}).get("reason"),
        "breaker": final.get("deploymentCircuitBreaker"),
        "production_after": weights(production), "test_after": weights(test),
        "running_after": sorted(t["taskDefinitionArn"].rsplit(":", 1)[-1] for t in described
                                if t["lastStatus"] == "RUNNING"),
    })
    settle()

# A PAUSE hook at POST_TEST_TRAFFIC_SHIFT: held with test traffic on the new revision
# and production on the old, until the CLI continues it.
v3 = revision("web:3")
refused("Invalid lifecycle stage provided for Pause Hook", ecs.update_service, cluster="bg",
        service="web", deploymentConfiguration={**strategy, "lifecycleHooks": [
            {"targetType": "PAUSE", "lifecycleStages": ["TEST_TRAFFIC_SHIFT"]}]})
paused = {**strategy, "lifecycleHooks": [
    {"targetType": "PAUSE", "lifecycleStages": ["POST_TEST_TRAFFIC_SHIFT"],
     "timeoutConfiguration": {"timeoutInMinutes": 60, "action": "ROLLBACK"}}]}
answer = cli("ecs", "update-service", "--cluster", "bg", "--service", "web", "--task-definition",
             v3, "--deployment-configuration", json.dumps(paused))
current = answer.get("service", {}).get("currentServiceDeployment", "")
hold, started = None, time.monotonic()
while time.monotonic() - started < 60 and hold is None:
    deployment = ecs.describe_service_deployments(serviceDeploymentArns=[current])[
        "serviceDeployments"][0]
    awaiting = [h for h in deployment.get("lifecycleHookDetails", [])
                if h["status"] == "AWAITING_ACTION"]
    if awaiting:
        hold = {"stage": deployment.get("lifecycleStage"), "hook": awaiting[0],
                "production": weights(production), "test": weights(test)}
    time.sleep(0.05)
if hold is None:
    summary["deviations"].append("the PAUSE hook never awaited action")
else:
    refused("Provided hookId is either completed", ecs.continue_service_deployment,
            serviceDeploymentArn=current, hookId="ecs-pause-0000")
    time.sleep(1.0)
    still = ecs.describe_service_deployments(serviceDeploymentArns=[current])[
        "serviceDeployments"][0]
    hold["held_stage"] = still.get("lifecycleStage")
    cli("ecs", "continue-service-deployment", "--service-deployment-arn", current, "--hook-id",
        hold["hook"]["hookId"], "--action", "CONTINUE")
    seen, final = watch(current)
    hold["after"] = [s["stage"] for s in seen]
    hold["status"] = final.get("status")
    hold["hooks_after"] = [h["status"] for h in final.get("lifecycleHookDetails", [])]
summary["paused"] = hold

print(json.dumps(summary, default=str))
