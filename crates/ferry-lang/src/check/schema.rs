//! What each block may hold: its fields with their types, ranges and docs, and its
//! nested blocks. The checker, the docs, the REPL and the language server read these tables.

use super::ValueType as T;
use super::text_format::TextFormat as F;
use crate::syntax::StepKind;

/// A field of a block.
#[derive(Debug)]
pub struct FieldSpec {
    pub name: &'static str,
    pub ty: T,
    pub required: bool,
    /// Inclusive bounds in the value's unit (a number, a percentage, or milliseconds);
    /// for a list, the bounds of each element.
    pub range: Option<(i64, i64)>,
    /// Inclusive bounds on the length of a list.
    pub count: Option<(usize, usize)>,
    /// A rule the text of a string (or of each string of a list) must follow.
    pub format: Option<F>,
    /// One line for docs and hover.
    pub doc: &'static str,
    /// How the field is written, for help lines.
    pub example: &'static str,
}

/// A nested block a block may hold.
#[derive(Debug)]
pub struct NestedSpec {
    pub kind: &'static str,
    pub label: LabelSpec,
    /// Whether the block may appear more than once.
    pub repeat: bool,
    pub body: NestedBody,
    pub doc: &'static str,
    pub example: &'static str,
}

/// What stands between a nested block's kind and its body.
#[derive(Debug, PartialEq, Eq)]
pub enum LabelSpec {
    None,
    /// A plain string, unique among the blocks of this kind (`container "web"`).
    Name,
    /// A call of one of these functions (`gate http("…")`).
    Call(&'static [&'static str]),
}

/// The schema of a nested block's body.
#[derive(Debug)]
pub enum NestedBody {
    Fixed(&'static BlockSpec),
    /// Chosen by the function of the label (`http` or `script`).
    ByCall(&'static [(&'static str, &'static BlockSpec)]),
}

/// The schema of a block.
#[derive(Debug)]
pub struct BlockSpec {
    /// The block in words, "a `build` step".
    pub what: &'static str,
    pub fields: &'static [FieldSpec],
    pub blocks: &'static [NestedSpec],
    /// Whether fields beyond `fields` are allowed (parameters of a script gate).
    pub open: bool,
}

impl BlockSpec {
    #[must_use]
    pub fn field(&self, name: &str) -> Option<&'static FieldSpec> {
        self.fields.iter().find(|field| field.name == name)
    }

    #[must_use]
    pub fn block(&self, kind: &str) -> Option<&'static NestedSpec> {
        self.blocks.iter().find(|block| block.kind == kind)
    }
}

/// The body schema of a step kind.
#[must_use]
pub fn step(kind: StepKind) -> &'static BlockSpec {
    match kind {
        StepKind::Build => &BUILD,
        StepKind::Tag => &TAG,
        StepKind::Push => &PUSH,
        StepKind::Register => &REGISTER,
        StepKind::Update => &UPDATE,
        StepKind::Verify => &VERIFY,
        StepKind::Rollback => &ROLLBACK,
    }
}

/// The fields every environment has; `defaults` and `environment NAME` share them.
pub static SETTINGS: BlockSpec = BlockSpec {
    what: "an environment",
    fields: &[
        field("region", T::String, "the AWS region", "region = \"eu-west-1\"").format(F::Region),
        field("cluster", T::String, "the ECS cluster", "cluster = \"prod\"")
            .format(F::ResourceName),
        field(
            "account",
            T::String,
            "the AWS account id; ferry refuses to run against another",
            "account = \"123456789012\"",
        )
        .format(F::AccountId),
        field(
            "profile",
            T::String,
            "the AWS profile of the shared config files",
            "profile = \"deploy\"",
        ),
        field(
            "vars",
            T::Map(&T::Any),
            "values the steps read as `vars.NAME`",
            "vars = { desired = 2 }",
        ),
    ],
    blocks: &[],
    open: false,
};

const MS: i64 = 1;
const SECOND: i64 = 1_000 * MS;
const MAX: i64 = i64::MAX;

static BUILD: BlockSpec = BlockSpec {
    what: "a `build` step",
    fields: &[
        field(
            "context",
            T::String,
            "the build context directory, relative to the Deployfile (default `.`)",
            "context = \".\"",
        ),
        field(
            "dockerfile",
            T::String,
            "the Dockerfile, relative to the context (default `Dockerfile`)",
            "dockerfile = \"Dockerfile\"",
        ),
        field("platform", T::String, "the target platform", "platform = \"linux/amd64\"")
            .format(F::Platform),
        field("args", T::Map(&T::String), "build arguments", "args = { APP_VERSION = git.sha }"),
        field(
            "target",
            T::String,
            "the stage of a multi-stage Dockerfile to build",
            "target = \"runtime\"",
        ),
        field(
            "labels",
            T::Map(&T::String),
            "image labels, beside the OCI ones ferry sets",
            "labels = { team = \"web\" }",
        ),
    ],
    blocks: &[],
    open: false,
};

static TAG: BlockSpec = BlockSpec {
    what: "a `tag` step",
    fields: &[field("tags", T::List(&T::String), "the tags the image gets", "tags = [git.sha]")
        .required()
        .count(1, 1000)
        .format(F::DockerTag)],
    blocks: &[],
    open: false,
};

static PUSH: BlockSpec = BlockSpec {
    what: "a `push` step",
    fields: &[
        field("to", T::Repository, "where the image goes", "to = ecr(\"acme/web\")").required()
    ],
    blocks: &[],
    open: false,
};

static REGISTER: BlockSpec = BlockSpec {
    what: "a `register` step",
    fields: &[
        field(
            "from",
            T::TaskDefinitionSource,
            "the task definition to start from",
            "from = service(\"web\")",
        ),
        field(
            "family",
            T::String,
            "the task-definition family (default: that of `from`)",
            "family = \"web\"",
        )
        .format(F::ResourceName),
        field("cpu", T::Size, "task CPU units or vCPUs", "cpu = 256").range(1, MAX).format(F::Cpu),
        field("memory", T::Size, "task memory in MiB or GB", "memory = 512")
            .range(1, MAX)
            .format(F::Memory),
        field(
            "network_mode",
            T::Enum(&["awsvpc", "bridge", "host", "none"]),
            "the network mode",
            "network_mode = awsvpc",
        ),
        field(
            "requires",
            T::List(&T::Enum(&["ec2", "fargate", "external", "managed_instances"])),
            "the launch types it must be compatible with",
            "requires = [fargate]",
        ),
        field(
            "execution_role",
            T::String,
            "the role ECS uses to pull images and read secrets",
            "execution_role = \"arn:aws:iam::123456789012:role/ecsTaskExecutionRole\"",
        ),
        field(
            "task_role",
            T::String,
            "the role the containers run as",
            "task_role = \"arn:aws:iam::123456789012:role/web\"",
        ),
        field(
            "cpu_architecture",
            T::Enum(&["x86_64", "arm64"]),
            "the CPU architecture",
            "cpu_architecture = arm64",
        ),
        field(
            "keep",
            T::Integer,
            "revisions to keep after success; older ones are deregistered",
            "keep = 10",
        )
        .range(1, 1000),
        field("tags", T::Map(&T::String), "tags of the new revision", "tags = { team = \"web\" }"),
    ],
    blocks: &[NestedSpec {
        kind: "container",
        label: LabelSpec::Name,
        repeat: true,
        body: NestedBody::Fixed(&CONTAINER),
        doc: "a container definition to change or add, by container name",
        example: "container \"web\" { image = app }",
    }],
    open: false,
};

static CONTAINER: BlockSpec = BlockSpec {
    what: "a `container` block",
    fields: &[
        field(
            "image",
            T::Image,
            "the image: a `build` step (pinned by digest) or a reference string",
            "image = app",
        ),
        field(
            "environment",
            T::Map(&T::String),
            "environment variables, merged over the current ones",
            "environment = { APP_VERSION = git.sha }",
        ),
        field(
            "secrets",
            T::Map(&T::String),
            "secrets as `valueFrom` ARNs, merged over the current ones",
            "secrets = { DB_PASSWORD = \"arn:aws:secretsmanager:…\" }",
        ),
        field(
            "command",
            T::List(&T::String),
            "the command",
            "command = [\"serve\", \"--port\", \"8080\"]",
        ),
        field(
            "entry_point",
            T::List(&T::String),
            "the entry point",
            "entry_point = [\"/bin/app\"]",
        ),
        field("cpu", T::Integer, "CPU units reserved for the container", "cpu = 256")
            .range(0, 10_240 * 4),
        field("memory", T::Integer, "hard memory limit in MiB", "memory = 512").range(6, MAX),
        field(
            "memory_reservation",
            T::Integer,
            "soft memory limit in MiB",
            "memory_reservation = 256",
        )
        .range(6, MAX),
        field(
            "essential",
            T::Bool,
            "whether the task stops when this container stops",
            "essential = true",
        ),
        field("ports", T::List(&T::Integer), "container ports to map", "ports = [8080]")
            .range(1, 65_535),
        field(
            "stop_timeout",
            T::Duration,
            "time between SIGTERM and SIGKILL",
            "stop_timeout = 30s",
        )
        .range(0, 120 * SECOND),
    ],
    blocks: &[NestedSpec {
        kind: "health_check",
        label: LabelSpec::None,
        repeat: false,
        body: NestedBody::Fixed(&HEALTH_CHECK),
        doc: "the container health check ECS runs",
        example: "health_check { command = [\"CMD-SHELL\", \
                  \"wget -q -O- localhost:8080/health\"] }",
    }],
    open: false,
};

static HEALTH_CHECK: BlockSpec = BlockSpec {
    what: "a `health_check` block",
    fields: &[
        field(
            "command",
            T::List(&T::String),
            "`[\"CMD\", …]` or `[\"CMD-SHELL\", \"…\"]`",
            "command = [\"CMD-SHELL\", \"curl -f localhost/health\"]",
        )
        .required(),
        field(
            "interval",
            T::Duration,
            "time between checks (5s to 300s, default 30s)",
            "interval = 30s",
        )
        .range(5 * SECOND, 300 * SECOND),
        field(
            "timeout",
            T::Duration,
            "time a check may take (2s to 60s, default 5s)",
            "timeout = 5s",
        )
        .range(2 * SECOND, 60 * SECOND),
        field(
            "retries",
            T::Integer,
            "failures before unhealthy (1 to 10, default 3)",
            "retries = 3",
        )
        .range(1, 10),
        field(
            "start_period",
            T::Duration,
            "time before failures count (0s to 300s)",
            "start_period = 60s",
        )
        .range(0, 300 * SECOND),
    ],
    blocks: &[],
    open: false,
};

static UPDATE: BlockSpec = BlockSpec {
    what: "an `update` step",
    fields: &[
        field(
            "service",
            T::String,
            "the ECS service (default: the step's name)",
            "service = \"web\"",
        )
        .format(F::ResourceName),
        field(
            "cluster",
            T::String,
            "the cluster (default: the environment's)",
            "cluster = \"prod\"",
        )
        .format(F::ResourceName),
        field(
            "task_definition",
            T::TaskDefinition,
            "the `register` step whose revision to deploy",
            "task_definition = web_task",
        )
        .required(),
        field(
            "desired",
            T::Integer,
            "the desired task count (default: keep the service's)",
            "desired = 2",
        )
        .range(0, 5_000),
        field(
            "min_healthy",
            T::Percentage,
            "minimumHealthyPercent (default 100%)",
            "min_healthy = 100%",
        )
        .range(0, 100),
        field("max", T::Percentage, "maximumPercent (default 200%)", "max = 200%").range(0, 200),
        field("grace", T::Duration, "health-check grace period", "grace = 60s")
            .range(0, 2_147_483_647 * SECOND),
        field(
            "circuit_breaker",
            T::Enum(&["rollback", "on", "off"]),
            "the deployment circuit breaker",
            "circuit_breaker = rollback",
        ),
        field(
            "breaker_count",
            T::Integer,
            "the circuit breaker trips after this many failed tasks (`thresholdConfiguration` \
             COUNT; default: 50% of desired, 3 to 200)",
            "breaker_count = 5",
        )
        .range(1, 1_000_000),
        field(
            "breaker_percent",
            T::Percentage,
            "the circuit breaker trips after this share of desired fails (BOUNDED_PERCENT: \
             ECS keeps it within 3 to 200 tasks; default 50%)",
            "breaker_percent = 25%",
        )
        .range(1, 100),
        field(
            "breaker_unbounded",
            T::Bool,
            "with `breaker_percent`: no 3..200 bounds (UNBOUNDED_PERCENT)",
            "breaker_unbounded = true",
        ),
        field(
            "breaker_reset_on_healthy",
            T::Bool,
            "the breaker's count restarts when a task turns healthy (`resetOnHealthyTask`, \
             default true): only consecutive failures count",
            "breaker_reset_on_healthy = false",
        ),
        field(
            "strategy",
            T::Enum(&["rolling", "blue_green", "linear", "canary"]),
            "how ECS deploys: `rolling` (default), or `blue_green` — the new revision in full \
             on the alternate target groups, test then production traffic moved to it, both \
             kept through `bake`; `linear` and `canary` move production traffic in steps \
             (docs/strategies.md)",
            "strategy = blue_green",
        ),
        field(
            "bake",
            T::Duration,
            "of a `blue_green`, `linear` or `canary` update: how long ECS keeps the old \
             revision running once production traffic has moved (whole minutes, 0m to 1440m)",
            "bake = 10m",
        )
        .range(0, 1_440 * 60 * SECOND),
        field(
            "canary_percent",
            T::Percentage,
            "of a `canary` update: the share of production traffic moved first (ECS's \
             default 5%)",
            "canary_percent = 10%",
        )
        .range(1, 100),
        field(
            "canary_bake",
            T::Duration,
            "of a `canary` update: how long the canary share runs before the rest moves \
             (whole minutes; ECS's default 10m)",
            "canary_bake = 5m",
        )
        .range(0, 1_440 * 60 * SECOND),
        field(
            "step_percent",
            T::Percentage,
            "of a `linear` update: the share of production traffic each step moves (ECS's \
             default 10%)",
            "step_percent = 20%",
        )
        .range(3, 100),
        field(
            "step_bake",
            T::Duration,
            "of a `linear` update: the wait between two steps (whole minutes; ECS's default \
             6m)",
            "step_bake = 2m",
        )
        .range(0, 1_440 * 60 * SECOND),
        field("create", T::Bool, "create the service (and cluster) when missing", "create = true"),
        field("force", T::Bool, "start a deployment even when nothing changed", "force = true"),
        field(
            "launch_type",
            T::Enum(&["fargate", "ec2", "external"]),
            "the launch type, when creating",
            "launch_type = fargate",
        ),
        field(
            "platform_version",
            T::String,
            "the Fargate platform version",
            "platform_version = \"LATEST\"",
        ),
    ],
    blocks: &[
        NestedSpec {
            kind: "network",
            label: LabelSpec::None,
            repeat: false,
            body: NestedBody::Fixed(&NETWORK),
            doc: "the awsvpc network configuration",
            example: "network { subnets = [\"subnet-0abc\"] }",
        },
        NestedSpec {
            kind: "alarms",
            label: LabelSpec::None,
            repeat: false,
            body: NestedBody::Fixed(&ALARMS),
            doc: "CloudWatch alarms that fail the deployment when one goes into ALARM",
            example: "alarms { names = [\"web-5xx\"] }",
        },
        NestedSpec {
            kind: "early_success",
            label: LabelSpec::None,
            repeat: false,
            body: NestedBody::Fixed(&EARLY_SUCCESS),
            doc: "of a rolling update: success once a share of the desired count is healthy",
            example: "early_success { healthy = 75%, cleanup = deferred }",
        },
        NestedSpec {
            kind: "lifecycle_hook",
            label: LabelSpec::None,
            repeat: true,
            body: NestedBody::Fixed(&LIFECYCLE_HOOK),
            doc: "a lifecycle hook of the deployment: a Lambda function or a PAUSE at its stages",
            example: "lifecycle_hook { lambda = \"arn:aws:lambda:…\", \
                      role = \"arn:aws:iam::…\", stages = [post_scale_up] }",
        },
        NestedSpec {
            kind: "load_balancer",
            label: LabelSpec::None,
            repeat: true,
            body: NestedBody::Fixed(&LOAD_BALANCER),
            doc: "a target group the service registers its tasks with",
            example: "load_balancer { target_group = \"arn:…\", \
                      container = \"web\", port = 8080 }",
        },
    ],
    open: false,
};

static NETWORK: BlockSpec = BlockSpec {
    what: "a `network` block",
    fields: &[
        field("subnets", T::List(&T::String), "the subnets", "subnets = [\"subnet-0abc\"]")
            .required()
            .count(1, 16),
        field(
            "security_groups",
            T::List(&T::String),
            "the security groups",
            "security_groups = [\"sg-0abc\"]",
        )
        .count(0, 5),
        field("public_ip", T::Bool, "assign a public IP", "public_ip = false"),
    ],
    blocks: &[],
    open: false,
};

static EARLY_SUCCESS: BlockSpec = BlockSpec {
    what: "an `early_success` block",
    fields: &[
        field(
            "healthy",
            T::Percentage,
            "the share of the desired count of new tasks healthy for ECS to call the \
             deployment successful (at least `min_healthy`); the rest starts on",
            "healthy = 75%",
        )
        .range(0, 100),
        field(
            "cleanup",
            T::Enum(&["blocking", "deferred"]),
            "`blocking` (default): the old revision is removed before success; `deferred`: \
             after, in the background",
            "cleanup = deferred",
        ),
        field("enable", T::Bool, "`false` turns early success off", "enable = false"),
    ],
    blocks: &[],
    open: false,
};

/// The stages a lifecycle hook may run at (ECS's `DeploymentLifecycleHookStage`).
pub(crate) const HOOK_STAGES: &[&str] = &[
    "reconcile_service",
    "pre_scale_up",
    "post_scale_up",
    "test_traffic_shift",
    "post_test_traffic_shift",
    "pre_production_traffic_shift",
    "production_traffic_shift",
    "post_production_traffic_shift",
];

static LIFECYCLE_HOOK: BlockSpec = BlockSpec {
    what: "a `lifecycle_hook` block",
    fields: &[
        field(
            "lambda",
            T::String,
            "the Lambda function ECS invokes (its ARN); or `pause = true`",
            "lambda = \"arn:aws:lambda:eu-west-1:123456789012:function:smoke\"",
        ),
        field(
            "role",
            T::String,
            "with `lambda`: the IAM role ECS invokes it with",
            "role = \"arn:aws:iam::123456789012:role/ecsHooks\"",
        ),
        field(
            "pause",
            T::Bool,
            "a PAUSE hook: the deployment waits at the stage until someone continues it \
             (ContinueServiceDeployment) or the timeout",
            "pause = true",
        ),
        field(
            "stages",
            T::List(&T::Enum(HOOK_STAGES)),
            "the lifecycle stages it runs at",
            "stages = [post_scale_up, post_test_traffic_shift]",
        )
        .required()
        .count(1, 8),
        field(
            "timeout",
            T::Duration,
            "how long ECS waits for it (whole minutes, 1m to 14 days; default 1440m)",
            "timeout = 30m",
        )
        .range(60 * SECOND, 20_160 * 60 * SECOND),
        field(
            "on_timeout",
            T::Enum(&["rollback", "continue"]),
            "what ECS does when the timeout runs out (default rollback)",
            "on_timeout = rollback",
        ),
    ],
    blocks: &[],
    open: false,
};

static ALARMS: BlockSpec = BlockSpec {
    what: "an `alarms` block",
    fields: &[
        field(
            "names",
            T::List(&T::String),
            "the CloudWatch alarm names ECS watches during the deployment (`[]`: none)",
            "names = [\"web-5xx\", \"web-latency\"]",
        )
        .required()
        .count(0, 10),
        field(
            "rollback",
            T::Bool,
            "roll back to the last completed deployment when one goes into ALARM (default \
             true)",
            "rollback = true",
        ),
    ],
    blocks: &[],
    open: false,
};

static LOAD_BALANCER: BlockSpec = BlockSpec {
    what: "a `load_balancer` block",
    fields: &[
        field(
            "target_group",
            T::String,
            "the target group ARN",
            "target_group = \"arn:aws:elasticloadbalancing:…\"",
        )
        .required(),
        field("container", T::String, "the container that receives traffic", "container = \"web\"")
            .required(),
        field("port", T::Integer, "its port", "port = 8080").required().range(1, 65_535),
        field(
            "alternate_target_group",
            T::String,
            "of a staged update (`blue_green`, `linear`, `canary`): the other target group, \
             which each new revision's tasks register in by turns",
            "alternate_target_group = \"arn:aws:elasticloadbalancing:…:targetgroup/web-2/…\"",
        ),
        field(
            "production_listener_rule",
            T::String,
            "of a staged update: the listener rule whose weights ECS moves to the new \
             revision",
            "production_listener_rule = \"arn:aws:elasticloadbalancing:…:listener-rule/…\"",
        ),
        field(
            "test_listener_rule",
            T::String,
            "of a staged update: the listener rule that sends test traffic to the new \
             revision first",
            "test_listener_rule = \"arn:aws:elasticloadbalancing:…:listener-rule/…\"",
        ),
        field(
            "role",
            T::String,
            "of a staged update: the IAM role ECS changes the rules with",
            "role = \"arn:aws:iam::123456789012:role/ecsInfrastructure\"",
        ),
    ],
    blocks: &[],
    open: false,
};

static VERIFY: BlockSpec = BlockSpec {
    what: "a `verify` step",
    fields: &[
        field(
            "timeout",
            T::Duration,
            "how long the rollout may take (default 30m)",
            "timeout = 15m",
        )
        .range(SECOND, MAX),
        field(
            "fail_fast",
            T::Integer,
            "stop after this many failed tasks of our deployment",
            "fail_fast = 2",
        )
        .range(1, 1_000),
        field(
            "until",
            T::Enum(&["serving", "traffic_shifted", "completed"]),
            "`serving`: new tasks healthy; `traffic_shifted`: production traffic on them (of a \
             blue/green update; a rolling one: `completed`); `completed`: old tasks gone too",
            "until = completed",
        ),
        field("bake", T::Duration, "time the gates keep passing after the rollout", "bake = 2m")
            .range(0, MAX),
        field(
            "allow_hosts",
            T::List(&T::String),
            "hosts gates may reach besides the URLs of this step and its tasks",
            "allow_hosts = [\"status.example.com\", \"*.internal.example.com\"]",
        )
        .count(0, 100)
        .format(F::GateHost),
        field(
            "allow_link_local",
            T::Bool,
            "let gates reach link-local and instance-metadata addresses (169.254.0.0/16)",
            "allow_link_local = false",
        ),
    ],
    blocks: &[NestedSpec {
        kind: "gate",
        label: LabelSpec::Call(&["http", "script", "probe"]),
        repeat: true,
        body: NestedBody::ByCall(&[
            ("http", &HTTP_GATE),
            ("script", &SCRIPT_GATE),
            ("probe", &PROBE_GATE),
        ]),
        doc: "a health gate the rollout must pass",
        example: "gate http(\"https://web.example.com/health\") { status = 200 }",
    }],
    open: false,
};

static HTTP_GATE: BlockSpec = BlockSpec {
    what: "an `http` gate",
    fields: &[
        field("status", T::Integer, "the status code that passes (default 200)", "status = 200")
            .range(100, 599),
        field("body_contains", T::String, "text the body must hold", "body_contains = \"ok\""),
        field("max_latency", T::Duration, "the slowest answer that passes", "max_latency = 500ms")
            .range(1, MAX),
        field("every", T::Duration, "time between attempts (default 10s)", "every = 10s")
            .range(1, MAX),
        field("pass", T::Integer, "consecutive passes needed (default 1)", "pass = 3")
            .range(1, 1_000),
        field("within", T::Duration, "the gate's own deadline", "within = 5m").range(1, MAX),
        TRAFFIC,
    ],
    blocks: &[],
    open: false,
};

static PROBE_GATE: BlockSpec = BlockSpec {
    what: "a `probe` gate",
    fields: &[
        field(
            "status",
            T::Integer,
            "the status code that counts as served (default 200)",
            "status = 200",
        )
        .range(100, 599),
        field("every", T::Duration, "time between requests (default 1s)", "every = 1s")
            .range(100, MAX),
        field("timeout", T::Duration, "how long one request may take (default 2s)", "timeout = 2s")
            .range(1, MAX),
        field("max_errors", T::Integer, "failed requests allowed (default 0)", "max_errors = 0")
            .range(0, 1_000_000),
        field(
            "max_error_rate",
            T::Percentage,
            "the share of failed requests allowed at the verdict",
            "max_error_rate = 1%",
        )
        .range(0, 100),
    ],
    blocks: &[],
    open: false,
};

static SCRIPT_GATE: BlockSpec = BlockSpec {
    what: "a `script` gate",
    fields: &[
        field("every", T::Duration, "time between attempts (default 10s)", "every = 10s")
            .range(1, MAX),
        field("pass", T::Integer, "consecutive passes needed (default 1)", "pass = 3")
            .range(1, 1_000),
        field("within", T::Duration, "the gate's own deadline", "within = 5m").range(1, MAX),
        TRAFFIC,
    ],
    blocks: &[],
    open: true,
};

/// When a gate of a blue/green update runs (docs/strategies.md).
const TRAFFIC: FieldSpec = field(
    "traffic",
    T::Enum(&["production", "test"]),
    "of a `blue_green` update: `test` runs the gate while only test traffic reaches the new \
     revision, ferry holding the deployment with a PAUSE hook; `production` (default) once \
     production traffic is on it",
    "traffic = test",
);

static ROLLBACK: BlockSpec = BlockSpec {
    what: "a `rollback` step",
    fields: &[field(
        "timeout",
        T::Duration,
        "how long the rollback may take to verify (default 15m)",
        "timeout = 10m",
    )
    .range(SECOND, MAX)],
    blocks: &[],
    open: false,
};

const fn field(name: &'static str, ty: T, doc: &'static str, example: &'static str) -> FieldSpec {
    FieldSpec { name, ty, required: false, range: None, count: None, format: None, doc, example }
}

impl FieldSpec {
    const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    const fn range(mut self, min: i64, max: i64) -> Self {
        self.range = Some((min, max));
        self
    }

    const fn count(mut self, min: usize, max: usize) -> Self {
        self.count = Some((min, max));
        self
    }

    const fn format(mut self, format: F) -> Self {
        self.format = Some(format);
        self
    }
}

/// A built-in function.
#[derive(Debug)]
pub struct FunctionSpec {
    pub name: &'static str,
    /// Parameters in positional order; every one may also be given by name.
    pub params: &'static [ParamSpec],
    pub returns: T,
    pub doc: &'static str,
}

/// A parameter of a built-in function.
#[derive(Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub ty: T,
    pub required: bool,
    pub range: Option<(i64, i64)>,
    pub format: Option<F>,
}

const fn param(name: &'static str, ty: T, required: bool) -> ParamSpec {
    ParamSpec { name, ty, required, range: None, format: None }
}

/// The built-in functions.
pub static FUNCTIONS: &[FunctionSpec] = &[
    FunctionSpec {
        name: "env",
        params: &[
            ParamSpec { format: Some(F::EnvVarName), ..param("name", T::String, true) },
            param("default", T::String, false),
        ],
        returns: T::String,
        doc: "an environment variable of the process running ferry; \
              an error when unset without a default",
    },
    FunctionSpec {
        name: "sensitive",
        params: &[param("value", T::String, true)],
        returns: T::String,
        doc: "the value, printed as `(sensitive)` by plan, run and the REPL unless `--show-values`",
    },
    FunctionSpec {
        name: "ecr",
        params: &[
            ParamSpec { format: Some(F::EcrRepository), ..param("name", T::String, true) },
            param("create", T::Bool, false),
            ParamSpec { range: Some((1, 1000)), ..param("keep", T::Integer, false) },
            param("scan_on_push", T::Bool, false),
            param("immutable", T::Bool, false),
        ],
        returns: T::Repository,
        doc: "an ECR repository of the environment's account and region",
    },
    FunctionSpec {
        name: "registry",
        params: &[ParamSpec {
            format: Some(F::RegistryRepository),
            ..param("name", T::String, true)
        }],
        returns: T::Repository,
        doc: "a repository on any registry, `host[:port]/name`",
    },
    FunctionSpec {
        name: "service",
        params: &[
            ParamSpec { format: Some(F::ResourceName), ..param("name", T::String, true) },
            ParamSpec { format: Some(F::ResourceName), ..param("cluster", T::String, false) },
        ],
        returns: T::TaskDefinitionSource,
        doc: "the task definition a service runs now",
    },
    FunctionSpec {
        name: "family",
        params: &[ParamSpec { format: Some(F::FamilyRevision), ..param("name", T::String, true) }],
        returns: T::TaskDefinitionSource,
        doc: "the latest ACTIVE revision of a family (`\"web\"`) or one revision (`\"web:12\"`)",
    },
    FunctionSpec {
        name: "file",
        params: &[param("path", T::String, true)],
        returns: T::TaskDefinitionSource,
        doc: "a task definition in a JSON file, relative to the Deployfile",
    },
    FunctionSpec {
        name: "http",
        params: &[ParamSpec { format: Some(F::GateUrl), ..param("url", T::String, true) }],
        returns: T::Gate,
        doc: "a gate that requests a URL",
    },
    FunctionSpec {
        name: "probe",
        params: &[ParamSpec { format: Some(F::HttpUrl), ..param("url", T::String, true) }],
        returns: T::Gate,
        doc: "a gate that requests a URL every second from the update to the verdict",
    },
    FunctionSpec {
        name: "script",
        params: &[ParamSpec { format: Some(F::ScriptPath), ..param("path", T::String, true) }],
        returns: T::Gate,
        doc: "a gate written in rhai, relative to the Deployfile",
    },
];

#[must_use]
pub fn function(name: &str) -> Option<&'static FunctionSpec> {
    FUNCTIONS.iter().find(|function| function.name == name)
}

/// An attribute of a namespace or step (`git.sha`, `app.digest`).
#[derive(Debug)]
pub struct AttributeSpec {
    pub name: &'static str,
    pub ty: T,
    pub doc: &'static str,
}

const fn attribute(name: &'static str, ty: T, doc: &'static str) -> AttributeSpec {
    AttributeSpec { name, ty, doc }
}

pub static GIT: &[AttributeSpec] = &[
    attribute("sha", T::String, "the full commit SHA of HEAD"),
    attribute("short_sha", T::String, "the first 12 characters of the SHA"),
    attribute("branch", T::String, "the checked-out branch, empty when detached"),
    attribute("dirty", T::Bool, "whether the work tree has uncommitted changes"),
];

pub static ENV: &[AttributeSpec] = &[
    attribute("name", T::String, "the environment chosen with `--env` (`default` without one)"),
    attribute("region", T::String, "the environment's region"),
    attribute("cluster", T::String, "the environment's cluster"),
    attribute("account", T::String, "the environment's account id"),
    attribute("profile", T::String, "the environment's AWS profile"),
];

pub static IMAGE: &[AttributeSpec] = &[
    attribute("uri", T::String, "`repository@sha256:…` once pushed, the local id before"),
    attribute("digest", T::String, "the pushed manifest digest, `sha256:…`"),
    attribute("repository", T::String, "the repository URI"),
    attribute("tags", T::List(&T::String), "the tags"),
];

pub static TASK_DEFINITION: &[AttributeSpec] = &[
    attribute("arn", T::String, "the revision's ARN"),
    attribute("family", T::String, "the family"),
    attribute("revision", T::Integer, "the revision number"),
    attribute("containers", T::Any, "the container definitions"),
];

pub static DEPLOYMENT: &[AttributeSpec] = &[
    attribute("service", T::String, "the service name"),
    attribute("cluster", T::String, "the cluster name"),
    attribute("deployment_id", T::String, "our deployment's id, `ecs-svc/…`"),
    attribute("task_definition", T::TaskDefinition, "the revision deployed"),
];

/// Namespaces that are not steps; no step may take these names.
pub const NAMESPACES: [&str; 3] = ["git", "env", "vars"];
