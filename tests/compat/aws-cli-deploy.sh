#!/usr/bin/env bash
# Deploys IMAGE as service `web` (3 tasks) of cluster `compat` with the AWS CLI alone:
# register, create or update, then watch our deployment until it is done.
# Exit 0 when it completed on our task definition, 1 when ECS failed it, 2 on time-out.
set -euo pipefail
image=$1
aws ecs create-cluster --cluster-name compat >/dev/null
td=$(aws ecs register-task-definition --family web \
  --container-definitions "[{\"name\":\"app\",\"image\":\"$image\",\"essential\":true}]" \
  --query taskDefinition.taskDefinitionArn --output text)
status=$(aws ecs describe-services --cluster compat --services web --query 'services[0].status' --output text)
if [ "$status" = ACTIVE ]; then
  aws ecs update-service --cluster compat --service web --task-definition "$td" >/dev/null
else
  aws ecs create-service --cluster compat --service-name web --task-definition "$td" --desired-count 3 \
    --deployment-configuration 'deploymentCircuitBreaker={enable=true,rollback=false},maximumPercent=200,minimumHealthyPercent=100' \
    >/dev/null
fi
for _ in $(seq 1 240); do
  state=$(aws ecs describe-services --cluster compat --services web \
    --query "services[0].deployments[?status=='PRIMARY'] | [0].[taskDefinition,rolloutState]" --output text)
  case "$state" in
    "$td"*COMPLETED)
      aws ecs wait services-stable --cluster compat --services web
      echo "deployed $td: $(aws ecs describe-services --cluster compat --services web --query 'services[0].runningCount' --output text) running"
      exit 0;;
    *FAILED)
      echo "deployment failed: $state" >&2
      exit 1;;
  esac
  sleep 0.25
done
echo "timed out waiting for $td" >&2
exit 2
