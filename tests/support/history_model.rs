//! The generator and oracle of the model-based history test (tests/histories.rs) and of the
//! soak (tests/soak.rs): random service histories from a seed, and a model of what the
//! service should look like after each step.

use std::fmt;

pub(crate) const FAULTS: &str = r#"{"images": [
  {"match": "*:crash-*", "crash_after": "5s", "exit_code": 3},
  {"match": "*:sick-*", "never_healthy": true, "unhealthy_after": "60s"},
  {"match": "*:slow-*", "start": "2m"},
  {"match": "*:dark-*", "lb_never_healthy": true}
], "alarms": [{"name": "web-5xx", "match": "*:alarm-*", "after": "20s"}]}"#;

/// A small, seedable generator (SplitMix64): the same seed, the same history.
pub(crate) struct Random(pub(crate) u64);

impl Random {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }

    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What an image does on the local ECS (the fault file above).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Good,
    Slow,
    Crash,
    Sick,
    /// Runs and passes its container health check, but never answers its load
    /// balancer's: a failure only behind one.
    Dark,
    /// Runs well, but CloudWatch alarm `web-5xx` (which every Deployfile declares) goes
    /// into ALARM 20 s into its deployment: ECS rolls it back, rolling or staged.
    Alarm,
}

impl Kind {
    pub(crate) fn image(self, version: u32) -> String {
        match self {
            Kind::Good => format!("acme/web:{version}"),
            Kind::Slow => format!("acme/web:slow-{version}"),
            Kind::Crash => format!("acme/web:crash-{version}"),
            Kind::Sick => format!("acme/web:sick-{version}"),
            Kind::Dark => format!("acme/web:dark-{version}"),
            Kind::Alarm => format!("acme/web:alarm-{version}"),
        }
    }

    /// Whether a deployment of it fails, on a service behind a load balancer (`balanced`)
    /// or not.
    pub(crate) fn fails(self, balanced: bool) -> bool {
        matches!(self, Kind::Crash | Kind::Sick | Kind::Alarm) || (self == Kind::Dark && balanced)
    }
}

/// What the Deployfile declares of the service (none: the live value is kept).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Declared {
    pub(crate) desired: Option<u32>,
    pub(crate) min: Option<u32>,
    pub(crate) max: Option<u32>,
    pub(crate) grace: Option<u32>,
    pub(crate) breaker: Option<&'static str>,
}

/// One step of a history.
#[derive(Clone, Debug)]
pub(crate) enum Action {
    /// `ferry run` with a new image, the declared settings as they are.
    Deploy { kind: Kind, version: u32 },
    /// The settings change; the image stays the one the service runs.
    Settings(Declared),
    /// The Deployfile switches to `file("td.json")` holding this image.
    FileEdit { version: u32, kind: Kind },
    /// The same Deployfile again.
    Rerun,
    /// The Deployfile's `API_TOKEN` changes (a secret rotated): a new revision, the same
    /// image.
    RotateSecret,
    /// Another client forces a new deployment while ours of `version` rolls out.
    Intruder { version: u32 },
    /// Another client stops a task of the previous revision as ours of `version` starts:
    /// ECS replaces it with its own revision; the verdict stays the rollout's.
    OldTaskDies { version: u32 },
    /// `ferry rollback` by hand.
    ManualRollback,
    /// `desired = 0`, then `desired = 3`.
    ScaleToZeroAndBack,
    /// Another tool sets desired 1, min 100 %, max 100 % (a deployment cannot progress);
    /// the Deployfile stops declaring them.
    OtherToolStuck,
    /// ferry is interrupted mid-rollout of `version`, then run again.
    Interrupted { version: u32 },
    /// Before the first deploy: the service goes behind a load balancer (an `ip` target
    /// group checked every 30 s, a 10 s deregistration delay), awsvpc.
    Balance,
    /// Before the first deploy: the service deploys by one of ECS's staged strategies —
    /// blue/green, linear (50 % a step, a minute apart) or canary (20 % for a minute) —
    /// with a bake of 1 minute, behind two such groups, a production and a test listener
    /// rule; `verify` waits until completed.
    Staged(Staged),
}

/// ECS's staged strategies as a history deploys them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Staged {
    BlueGreen,
    Linear,
    Canary,
}

impl Staged {
    /// The `update` lines that choose it.
    pub(crate) fn lines(self) -> &'static str {
        match self {
            Staged::BlueGreen => "  strategy = blue_green\n  bake = 1m\n",
            Staged::Linear => {
                "  strategy = linear\n  bake = 1m\n  step_percent = 50%\n  step_bake = 1m\n"
            }
            Staged::Canary => {
                "  strategy = canary\n  bake = 1m\n  canary_percent = 20%\n  canary_bake = 1m\n"
            }
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Action::Deploy { kind, version } => write!(f, "deploy {}", kind.image(*version)),
            Action::Settings(d) => write!(
                f,
                "settings desired={:?} min={:?} max={:?} grace={:?} breaker={:?}",
                d.desired, d.min, d.max, d.grace, d.breaker
            ),
            Action::FileEdit { version, kind } => write!(f, "file() with {}", kind.image(*version)),
            Action::Rerun => f.write_str("run again"),
            Action::RotateSecret => f.write_str("rotate API_TOKEN, run again"),
            Action::Intruder { version } => {
                write!(
                    f,
                    "deploy acme/web:slow-{version}; another client forces a deployment mid-rollout"
                )
            }
            Action::OldTaskDies { version } => write!(
                f,
                "deploy acme/web:slow-{version}; another client stops an old task mid-rollout"
            ),
            Action::ManualRollback => f.write_str("ferry rollback"),
            Action::ScaleToZeroAndBack => f.write_str("scale to 0 and back to 3"),
            Action::OtherToolStuck => f.write_str("another tool: desired 1, min 100%, max 100%"),
            Action::Interrupted { version } => {
                write!(f, "deploy acme/web:slow-{version}, interrupted, run again")
            }
            Action::Balance => f.write_str("behind a load balancer (ip target group, 10 s drain)"),
            Action::Staged(staged) => write!(
                f,
                "{} behind two ip target groups (10 s drain), bake 1m",
                match staged {
                    Staged::BlueGreen => "blue/green",
                    Staged::Linear => "linear, 50% a step every 1m,",
                    Staged::Canary => "canary, 20% for 1m,",
                }
            ),
        }
    }
}

/// A random history: a first good deploy that creates the service, then `steps - 1`.
pub(crate) fn history(seed: u64, steps: usize) -> Vec<Action> {
    let mut random = Random(seed);
    let mut version = 1;
    let mut actions = vec![Action::Deploy { kind: Kind::Good, version }];
    // Two histories in five run behind a load balancer from the start; half of those
    // deploy by a staged strategy (blue/green, linear or canary).
    if random.chance(40) {
        let first = if random.chance(50) {
            Action::Staged(random.pick(&[Staged::BlueGreen, Staged::Linear, Staged::Canary]))
        } else {
            Action::Balance
        };
        actions.insert(0, first);
    }
    while actions.len() < steps {
        version += 1;
        let action = match random.below(100) {
            0..=13 => Action::Deploy { kind: Kind::Good, version },
            14..=17 => Action::Deploy { kind: Kind::Dark, version },
            18..=21 => Action::RotateSecret,
            22..=29 => Action::Deploy { kind: Kind::Slow, version },
            30..=35 => Action::Deploy { kind: Kind::Crash, version },
            36..=39 => Action::Deploy { kind: Kind::Alarm, version },
            40..=45 => Action::Deploy { kind: Kind::Sick, version },
            46..=57 => Action::Settings(Declared {
                desired: random.chance(80).then(|| random.pick(&[1, 2, 3, 4])),
                min: None,
                max: None,
                grace: random.chance(50).then(|| random.pick(&[0, 30, 60, 120])),
                breaker: random.chance(50).then(|| random.pick(&["rollback", "on", "off"])),
            })
            .with_bounds(&mut random),
            58..=65 => Action::FileEdit {
                version: if random.chance(30) { version - 1 } else { version },
                kind: Kind::Good,
            },
            66..=68 => Action::Rerun,
            69..=70 => Action::OldTaskDies { version },
            71..=76 => Action::Intruder { version },
            77..=83 => Action::ManualRollback,
            84..=88 => Action::ScaleToZeroAndBack,
            89..=93 => Action::OtherToolStuck,
            _ => Action::Interrupted { version },
        };
        actions.push(action);
    }
    actions
}

impl Action {
    /// Settings sometimes declare min/max too, including a pair that cannot progress.
    pub(crate) fn with_bounds(self, random: &mut Random) -> Self {
        let Action::Settings(mut declared) = self else { return self };
        if random.chance(60) {
            let (min, max) = random.pick(&[(100, 200), (50, 200), (100, 150), (0, 100), (50, 100)]);
            declared.min = Some(min);
            declared.max = Some(max);
        }
        Action::Settings(declared)
    }
}

/// The live settings the oracle expects of the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Live {
    pub(crate) desired: u32,
    pub(crate) min: u32,
    pub(crate) max: u32,
    pub(crate) grace: u32,
    pub(crate) breaker: &'static str,
}

/// The oracle: what the service should look like, and what each step should do.
#[derive(Clone, Debug)]
pub(crate) struct Model {
    pub(crate) exists: bool,
    /// The image and secret generation of each revision of family `web`, revision 1
    /// first.
    pub(crate) contents: Vec<(String, u32)>,
    /// The revision the service runs (1-based).
    pub(crate) running: usize,
    /// Revisions whose deployment completed, in order (a rollback completes its target).
    pub(crate) completions: Vec<usize>,
    pub(crate) live: Live,
    pub(crate) declared: Declared,
    /// The image the Deployfile names, and whether through `file(…)`.
    pub(crate) image: String,
    pub(crate) file: bool,
    /// The generation of the `API_TOKEN` the Deployfile declares (`secret()`).
    pub(crate) secret: u32,
    /// The target group the service is behind, if any.
    pub(crate) balanced: Option<String>,
    /// Of a staged service: its groups and listener rules (`balanced` is the first).
    pub(crate) blue_green: Option<super::blue_green::BlueGreen>,
    /// Of a staged service: its strategy.
    pub(crate) staged: Staged,
    /// Of a staged service: the URL its gate on test traffic asks (always 200).
    pub(crate) test_gate: Option<String>,
}

/// What the oracle expects of one run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Expected {
    pub(crate) code: u8,
    /// `register` / `reuse N` / none (refused, or no service yet to compare).
    pub(crate) register: Option<String>,
    /// `create`, `deploy`, `settings`, `nothing`, `refuse`, `resume`.
    pub(crate) update: &'static str,
}

impl Model {
    pub(crate) fn new() -> Self {
        Self {
            exists: false,
            contents: Vec::new(),
            running: 0,
            completions: Vec::new(),
            live: Live { desired: 0, min: 100, max: 200, grace: 0, breaker: "off" },
            declared: Declared { desired: Some(3), ..Declared::default() },
            image: String::new(),
            file: false,
            secret: 1,
            balanced: None,
            blue_green: None,
            staged: Staged::BlueGreen,
            test_gate: None,
        }
    }

    /// The value of `API_TOKEN` the Deployfile declares now.
    pub(crate) fn secret(&self) -> String {
        format!("{SECRET}-{}", self.secret)
    }

    pub(crate) fn effective(&self) -> Live {
        Live {
            desired: self.declared.desired.unwrap_or(self.live.desired),
            min: self.declared.min.unwrap_or(self.live.min),
            max: self.declared.max.unwrap_or(self.live.max),
            grace: self.declared.grace.unwrap_or(self.live.grace),
            breaker: self.declared.breaker.unwrap_or(self.live.breaker),
        }
    }

    /// ECS's arithmetic (reference §1.1, §1.3), independent of ferry's simulation: with
    /// `d` tasks running, a deployment can neither start nor stop one.
    pub(crate) fn stuck(settings: &Live) -> bool {
        let d = settings.desired;
        d > 0 && d * settings.max / 100 <= d && (d * settings.min).div_ceil(100) >= d
    }

    /// Whether a deployment of this service cannot progress: min and max bind a rolling
    /// deployment only — a blue/green one starts the new revision in full beside the old.
    pub(crate) fn cannot_progress(&self, settings: &Live) -> bool {
        self.blue_green.is_none() && Self::stuck(settings)
    }

    /// The revision the run resolves to: reuse the running one, else the family's latest,
    /// else a new one (`None`).
    pub(crate) fn resolve(&self, image: &str) -> Option<usize> {
        let wanted = (image.to_owned(), self.secret);
        if self.running > 0 && self.contents[self.running - 1] == wanted {
            return Some(self.running);
        }
        (self.contents.last() == Some(&wanted)).then_some(self.contents.len())
    }

    /// Expects one run of the Deployfile with `image` of `kind`, and moves the model on.
    /// `superseded`: another client forces a deployment of ours mid-rollout.
    pub(crate) fn run(&mut self, image: &str, kind: Kind, superseded: bool) -> Expected {
        image.clone_into(&mut self.image);
        let effective = self.effective();
        if !self.exists {
            self.contents.push((image.to_owned(), self.secret));
            self.exists = true;
            self.running = self.contents.len();
            self.live = Live { desired: self.declared.desired.unwrap_or(1), ..effective };
            self.completions.push(self.running);
            return Expected { code: 0, register: Some("register".to_owned()), update: "create" };
        }
        let reused = self.resolve(image);
        let register = Some(reused.map_or_else(|| "register".to_owned(), |n| format!("reuse {n}")));
        let deploys = reused != Some(self.running);
        let settings = effective != self.live;
        if deploys && self.cannot_progress(&effective) {
            return Expected { code: 2, register, update: "refuse" };
        }
        if !deploys {
            self.live = effective;
            return Expected {
                code: 0,
                register,
                update: if settings { "settings" } else { "nothing" },
            };
        }
        let revision = reused.unwrap_or_else(|| {
            self.contents.push((image.to_owned(), self.secret));
            self.contents.len()
        });
        self.live = effective;
        if superseded && self.test_gate.is_some() && self.blue_green.is_some() {
            // The other client's deployment is held by ferry's PAUSE hook (the service's,
            // for the gates on test traffic) until its timeout, then rolled back: the
            // revision that ran runs on.
            self.completions.push(self.running);
            return Expected { code: 3, register, update: "deploy" };
        }
        if superseded {
            // The other client's deployment of our revision runs on and completes.
            self.running = revision;
            self.completions.push(revision);
            return Expected { code: 3, register, update: "deploy" };
        }
        if kind.fails(self.balanced.is_some()) && effective.desired > 0 {
            // Rolled back to the last revision whose deployment completed: the one that ran.
            self.completions.push(self.running);
            return Expected { code: 1, register, update: "deploy" };
        }
        self.running = revision;
        self.completions.push(revision);
        Expected { code: 0, register, update: "deploy" }
    }

    /// `ferry rollback`: the newest completed revision other than the running one, unless
    /// that deployment could not progress.
    pub(crate) fn rollback(&mut self) -> Option<usize> {
        if self.cannot_progress(&self.live) {
            return None;
        }
        let target = self.completions.iter().rev().copied().find(|r| *r != self.running)?;
        self.running = target;
        self.completions.push(target);
        Some(target)
    }
}

/// The Deployfile of the model's current declaration and image.
pub(crate) fn deployfile(model: &Model) -> String {
    let (mode, ports) = if model.balanced.is_some() {
        ("  network_mode = \"awsvpc\"\n", "    ports = [8080]\n")
    } else {
        ("", "")
    };
    let register = if model.file {
        "  from = file(\"td.json\")\n".to_owned()
    } else {
        format!(
            "  family = \"web\"\n{mode}  container \"app\" {{\n    image = \"{}\"\n{ports}    \
             environment = {{ API_TOKEN = \"{}\" }}\n    health_check {{\n      \
             command = [\"CMD\", \"true\"]\n    }}\n  }}\n",
            model.image,
            model.secret()
        )
    };
    let d = model.declared;
    let mut update = String::new();
    for (key, value) in [
        ("desired", d.desired.map(|n| n.to_string())),
        ("min_healthy", d.min.map(|n| format!("{n}%"))),
        ("max", d.max.map(|n| format!("{n}%"))),
        ("grace", d.grace.map(|n| format!("{n}s"))),
        ("circuit_breaker", d.breaker.map(str::to_owned)),
    ] {
        if let Some(value) = value {
            update = format!("{update}  {key} = {value}\n");
        }
    }
    // Every history watches one alarm: an `alarm` image sets it off.
    update.push_str("  alarms {\n    names = [\"web-5xx\"]\n  }\n");
    if let Some(group) = &model.balanced {
        let advanced = model.blue_green.as_ref().map_or_else(String::new, |bg| {
            format!(
                "    alternate_target_group   = \"{}\"\n    production_listener_rule = \"{}\"\n    \
                 test_listener_rule       = \"{}\"\n    role = \"{BLUE_GREEN_ROLE}\"\n",
                bg.green, bg.production_rule, bg.test_rule
            )
        });
        if model.blue_green.is_some() {
            update = format!("{update}{}", model.staged.lines());
        }
        update = format!(
            "{update}  network {{\n    subnets = [\"subnet-a\"]\n  }}\n  load_balancer {{\n    \
             target_group = \"{group}\"\n{advanced}    container    = \"app\"\n    \
             port         = 8080\n  }}\n"
        );
    }
    let mut until =
        if model.blue_green.is_some() { "  until     = completed\n" } else { "" }.to_owned();
    if let Some(url) = model.test_gate.as_ref().filter(|_| model.blue_green.is_some()) {
        until = format!(
            "{until}  gate http(\"{url}\") {{\n    status  = 200\n    traffic = test\n  }}\n"
        );
    }
    format!(
        "defaults {{\n  cluster = \"c\"\n}}\n\nregister web_task {{\n{register}}}\n\n\
         update web {{\n  task_definition = web_task\n  create          = true\n{update}}}\n\n\
         verify web {{\n  timeout   = 30m\n  fail_fast = 2\n{until}}}\n\n\
         on failure {{\n  rollback web\n}}\n"
    )
}

/// The role a blue/green service's load balancers name (the local ECS does not assume it).
const BLUE_GREEN_ROLE: &str = "arn:aws:iam::000000000000:role/ecsInfrastructure";

/// A secret every revision carries (`API_TOKEN`): no event of any run may show it.
pub(crate) const SECRET: &str = "histories-s3cr3t-token";

/// The revision as `file(…)` reads it: the same as the Deployfile's `register` block.
pub(crate) fn task_definition_file(image: &str, secret: &str, balanced: bool) -> String {
    let (mode, ports) = if balanced {
        (
            "\"networkMode\": \"awsvpc\", ",
            "\"portMappings\": [{\"containerPort\": 8080, \"protocol\": \"tcp\"}], ",
        )
    } else {
        ("", "")
    };
    format!(
        "{{\"family\": \"web\", {mode}\
         \"containerDefinitions\": [{{\"name\": \"app\", \"image\": \"{image}\", {ports}\
         \"environment\": [{{\"name\": \"API_TOKEN\", \"value\": \"{secret}\"}}], \
         \"healthCheck\": {{\"command\": [\"CMD\", \"true\"]}}}}]}}"
    )
}

pub(crate) fn kind_of(image: &str) -> Kind {
    if image.contains(":crash-") {
        Kind::Crash
    } else if image.contains(":sick-") {
        Kind::Sick
    } else if image.contains(":slow-") {
        Kind::Slow
    } else if image.contains(":dark-") {
        Kind::Dark
    } else if image.contains(":alarm-") {
        Kind::Alarm
    } else {
        Kind::Good
    }
}

/// A number from the environment (`FERRY_HISTORIES=400`), or `default`.
pub(crate) fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
