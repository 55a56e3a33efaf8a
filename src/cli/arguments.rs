//! What the user typed: clap's view of the command line, before any validation.

use crate::error::Error;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// `ferry --version`: the version, the commit it was built from and the build date.
pub(crate) const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("FERRY_COMMIT"),
    " ",
    env!("FERRY_BUILD_DATE"),
    ")"
);

/// Ship containers to Amazon ECS from a Deployfile.
#[derive(Debug, Parser)]
#[command(name = "ferry", version = VERSION, about, long_about = None)]
pub(crate) struct Arguments {
    #[command(subcommand)]
    pub command: Command,
    /// Colour in what ferry prints: on a terminal without NO_COLOR (auto), always, never.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print only what matters: errors, warnings, failures and the verdict.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: every build line, each progress change as a line, each step's end.
    #[arg(short, long, global = true)]
    pub verbose: bool,
}

/// `--color`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Parse and check a Deployfile; report every error at once.
    Check(CheckArguments),
    /// Rewrite a Deployfile in the canonical layout, comments kept.
    Fmt(FmtArguments),
    /// Run the rolling-update scheduler alone on a virtual service and print the rollout.
    Simulate(SimulateArguments),
    /// Run the local ECS/ECR endpoint on 127.0.0.1 until interrupted.
    Local(LocalArguments),
    /// Deploy: run the pipeline's steps, verify the rollout, roll back on failure.
    Run(RunArguments),
    /// Show what `ferry run` would do, from read-only calls.
    Plan(PlanArguments),
    /// The language server, on standard input and output (for editors; docs/editors.md).
    Lsp,
    /// Explore the Deployfile interactively: evaluate expressions, add steps, plan (dry run).
    Repl(ReplArguments),
    /// Show the services the Deployfile updates: deployments and recent events.
    Status(StatusArguments),
    /// Roll a service back by hand and verify it runs the earlier revision.
    Rollback(RollbackArguments),
    /// Print the completion script of a shell (bash, zsh, fish, powershell, elvish).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page of ferry, or of one command, in roff (`ferry man | man -l -`).
    Man {
        /// The command (default: ferry itself).
        command: Option<String>,
    },
}

// Each flag of `ferry run` is a bool of its own.
#[allow(clippy::struct_excessive_bools)]
#[derive(Debug, clap::Args)]
pub(crate) struct RunArguments {
    #[command(flatten)]
    pub deployfile: DeployfileArguments,
    #[command(flatten)]
    pub target: TargetArguments,
    /// Do not ask for confirmation on a terminal.
    #[arg(long)]
    pub yes: bool,
    /// How to report the run (`--output` is another name for it).
    #[arg(
        long = "format",
        visible_alias = "output",
        value_name = "FORMAT",
        value_enum,
        default_value_t = Output::Human
    )]
    pub output: Output,
    /// Deploy a work tree with uncommitted changes (its version then ends in `-dirty`).
    #[arg(long)]
    pub allow_dirty: bool,
    /// Wait for another deployment of the service to finish instead of refusing.
    #[arg(long)]
    pub wait_for_lock: bool,
    /// A plan made by `ferry plan --out`: refuse when live state changed since, or the
    /// run would now do otherwise.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// Start a deployment even where a service already runs the revision (a service left
    /// FAILED by an earlier deployment, a re-pushed tag).
    #[arg(long)]
    pub redeploy: bool,
    /// Print sensitive values (what `env(…)` reads, `sensitive(…)`, names such as
    /// `*_TOKEN`) as they are instead of `(sensitive)`.
    #[arg(long)]
    pub show_values: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PlanArguments {
    #[command(flatten)]
    pub deployfile: DeployfileArguments,
    #[command(flatten)]
    pub target: TargetArguments,
    /// Also write the plan as JSON, for `ferry run --plan`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print the plan as text, or as the JSON `--out` writes.
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
    /// Plan as `ferry run --redeploy` would run.
    #[arg(long)]
    pub redeploy: bool,
    /// Print sensitive values (what `env(…)` reads, `sensitive(…)`, names such as
    /// `*_TOKEN`) as they are instead of `(sensitive)`.
    #[arg(long)]
    pub show_values: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ReplArguments {
    #[command(flatten)]
    pub deployfile: DeployfileArguments,
    #[command(flatten)]
    pub target: TargetArguments,
    /// Print sensitive values (what `env(…)` reads, `sensitive(…)`, names such as
    /// `*_TOKEN`) as they are instead of `(sensitive)`.
    #[arg(long)]
    pub show_values: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct StatusArguments {
    #[command(flatten)]
    pub deployfile: DeployfileArguments,
    #[command(flatten)]
    pub target: TargetArguments,
    /// Print the services as text, or as JSON (one object per service).
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}

/// `--format` of `plan` and `status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub(crate) struct RollbackArguments {
    #[command(flatten)]
    pub deployfile: DeployfileArguments,
    #[command(flatten)]
    pub target: TargetArguments,
    /// The service to roll back (default: the only one the Deployfile updates).
    #[arg(long)]
    pub service: Option<String>,
    /// The revision to go back to (`family:revision` or ARN; default: the deployment
    /// before the one in progress, or the ACTIVE revision before the current one).
    #[arg(long)]
    pub to: Option<String>,
    /// How long the service may take to settle.
    #[arg(long, default_value = "15m", value_parser = duration)]
    pub timeout: u64,
}

/// Which Deployfile, for which environment.
#[derive(Debug, clap::Args)]
pub(crate) struct DeployfileArguments {
    /// The Deployfile (default: `Deployfile`, looked up from the working directory upward).
    pub file: Option<PathBuf>,
    /// The environment (an `environment NAME` block); default: `defaults` alone.
    #[arg(long = "env")]
    pub environment: Option<String>,
}

/// Where to run, and the local ECS's settings.
#[derive(Clone, Debug, clap::Args)]
pub(crate) struct TargetArguments {
    /// Where to deploy: AWS (the credential chain; `AWS_ENDPOINT_URL*` honoured) or the
    /// local ECS, started in-process.
    #[arg(long, value_enum, default_value_t = TargetKind::Aws)]
    pub target: TargetKind,
    /// On AWS: the region, over the Deployfile's `region`, which is over `AWS_REGION` and
    /// the profile's region.
    #[arg(long)]
    pub region: Option<String>,
    /// On AWS: the profile of the AWS config files, over the Deployfile's `profile`, which
    /// is over `AWS_PROFILE`.
    #[arg(long)]
    pub profile: Option<String>,
    /// With `--target local`: how much faster than real time the local clock runs
    /// (default 60; 1 with `--runtime docker`).
    #[arg(long)]
    pub speed: Option<f64>,
    /// With `--target local`: virtual tasks, or real containers on the Docker engine.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Virtual)]
    pub runtime: RuntimeKind,
    /// With `--target local`: the state file (default `.ferry/local-state.json` beside
    /// the Deployfile), so successive runs see earlier revisions.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// With `--target local`: a fault file for the local ECS (docs/local.md).
    #[arg(long)]
    pub faults: Option<PathBuf>,
    /// With `--target local`: the Docker registry (`HOST:PORT`) behind the local ECR.
    #[arg(long)]
    pub registry: Option<String>,
    /// With `--target local`: tasks each cluster has room for (default: as the state file
    /// says, else unbounded); the predicted rollout counts it.
    #[arg(long)]
    pub capacity: Option<u32>,
}

/// Where a run goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TargetKind {
    Aws,
    Local,
}

/// What the local ECS's tasks are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuntimeKind {
    /// Timers from the fault file: no Docker needed, any speed.
    Virtual,
    /// Real containers on the machine's Docker engine (bollard), in real time.
    Docker,
}

impl From<RuntimeKind> for crate::local::Runtime {
    fn from(kind: RuntimeKind) -> Self {
        match kind {
            RuntimeKind::Virtual => crate::local::Runtime::Virtual,
            RuntimeKind::Docker => crate::local::Runtime::Docker,
        }
    }
}

/// How a run is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Output {
    /// Lines for people, on standard error.
    Human,
    /// One JSON event per line, on standard output (docs/events.md).
    Ndjson,
}

#[derive(Debug, clap::Args)]
pub(crate) struct LocalArguments {
    /// The port to listen on (default: a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Keep state in this file: read at start, written at exit.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// How much faster than real time the clock runs (1 with `--runtime docker`).
    #[arg(long, default_value_t = 1.0)]
    pub speed: f64,
    /// Virtual tasks, or real containers on the Docker engine.
    #[arg(long, value_enum, default_value_t = RuntimeKind::Virtual)]
    pub runtime: RuntimeKind,
    /// A fault file (JSON): task behaviour per image and API faults (docs/local.md).
    #[arg(long)]
    pub faults: Option<PathBuf>,
    /// A Docker registry (`HOST:PORT`) that the local ECR's repositories live in.
    #[arg(long)]
    pub registry: Option<String>,
    /// The password of the registry's user `AWS`, carried by ECR authorization tokens.
    #[arg(long, env = "FERRY_REGISTRY_PASSWORD", hide_env_values = true)]
    pub registry_password: Option<String>,
    /// Tasks each cluster has room for (default: unbounded).
    #[arg(long)]
    pub capacity: Option<u32>,
}

#[derive(Debug, clap::Args)]
pub(crate) struct SimulateArguments {
    /// The service's desired task count.
    #[arg(long)]
    pub desired: u32,
    /// minimumHealthyPercent, such as `100` or `100%`.
    #[arg(long, default_value = "100", value_parser = percent)]
    pub min_healthy: u32,
    /// maximumPercent, such as `200` or `200%`.
    #[arg(long, default_value = "200", value_parser = percent)]
    pub max: u32,
    /// Tasks the cluster has room for (default: unbounded).
    #[arg(long)]
    pub capacity: Option<u32>,
    /// A fault file (JSON) saying how tasks of images `old` and `new` behave (docs/local.md).
    #[arg(long)]
    pub faults: Option<PathBuf>,
    /// The deployment circuit breaker.
    #[arg(long, value_enum, default_value_t = CircuitBreakerMode::Off)]
    pub circuit_breaker: CircuitBreakerMode,
    /// The health-check grace period, such as `60s`.
    #[arg(long, default_value = "0s", value_parser = duration)]
    pub grace: u64,
    /// The load balancer's deregistration delay, such as `300s` (default: no load balancer).
    #[arg(long, default_value = "0s", value_parser = duration)]
    pub drain: u64,
    /// How to print the rollout.
    #[arg(long, value_enum, default_value_t = SimulateFormat::Human)]
    pub format: SimulateFormat,
}

/// `deploymentCircuitBreaker`, as one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum CircuitBreakerMode {
    Off,
    On,
    Rollback,
}

/// How `ferry simulate` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SimulateFormat {
    Human,
    Json,
}

fn percent(text: &str) -> Result<u32, Error> {
    let number = text.strip_suffix('%').unwrap_or(text);
    let value: u32 = number
        .parse()
        .map_err(|_| Error::usage(format!("`{text}` is not a percentage such as `100%`")))?;
    if value > 200 {
        return Err(Error::usage(format!("`{text}` is above 200%")));
    }
    Ok(value)
}

fn duration(text: &str) -> Result<u64, Error> {
    crate::syntax::parse_duration(text)
        .map_err(|_| Error::usage(format!("`{text}` is not a duration such as `60s`")))
}

#[derive(Debug, clap::Args)]
pub(crate) struct CheckArguments {
    /// The Deployfile (default: `Deployfile`, looked up from the working directory upward).
    pub file: Option<PathBuf>,
    /// How to print diagnostics.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,
    /// Fail (exit 2) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

#[derive(Debug, clap::Args)]
pub(crate) struct FmtArguments {
    /// The Deployfile (default: `Deployfile`, looked up from the working directory upward).
    pub file: Option<PathBuf>,
    /// Change nothing; exit 1 and show the difference when the file is not formatted.
    #[arg(long)]
    pub check: bool,
}

/// How diagnostics are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Rendered reports with the source, on standard error.
    Human,
    /// A JSON array of diagnostics, on standard output.
    Json,
    /// GitHub Actions workflow commands (`::error file=…`), on standard output.
    Github,
}
