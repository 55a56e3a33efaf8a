//! `cargo bench --bench images`: images and the docker runtime, for docs/benchmarks.md.
//! Needs the Docker engine, the `docker` command, Debian's `docker-registry` and
//! `/bin/busybox` (scripts/install-test-parts); says what is missing otherwise.
//!
//! 1. build + push of the example app (pipelines/web/) to a registry on loopback:
//!    `ferry run` of a build/tag/push Deployfile against `docker build` + `docker push` on
//!    the same context, whole process, once with one file changed each time and once with
//!    nothing changed;
//! 2. `ferry run pipelines/web.deploy --target local --runtime docker` again when nothing
//!    changed (build from cache, push of known layers, same revision, no deployment).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn ok(command: &mut Command) -> bool {
    command.stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok_and(|s| s.success())
}

fn run(command: &mut Command) {
    let output = command.output().expect("runs");
    assert!(
        output.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn git(dir: &Path, args: &[&str]) {
    run(Command::new("git")
        .args(["-c", "user.name=b", "-c", "user.email=b@example.com"])
        .args(args)
        .current_dir(dir));
}

fn stats(mut times: Vec<Duration>) -> String {
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    format!(
        "median {:.0} ms (min {:.0}, max {:.0}, {} runs)",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() - 1]),
        times.len()
    )
}

fn median(times: &[Duration]) -> f64 {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2].as_secs_f64()
}

fn main() {
    let ferry = env!("CARGO_BIN_EXE_ferry");
    let present = ok(Command::new("docker").arg("info"))
        && ok(Command::new("sh").args(["-c", "command -v docker-registry"]))
        && Path::new("/bin/busybox").is_file();
    if !present {
        eprintln!(
            "skipped: needs the Docker engine and CLI, docker-registry and /bin/busybox \
             (scripts/install-test-parts)"
        );
        return;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().canonicalize().expect("dir");
    copy_dir(&root.join("pipelines/web"), &project.join("web"));
    std::fs::copy("/bin/busybox", project.join("web/busybox")).expect("busybox");
    std::fs::copy(root.join("pipelines/web.deploy"), project.join("web.deploy")).expect("copy");

    let port =
        std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("a").port();
    let address = format!("127.0.0.1:{port}");
    let config = project.join("registry.yml");
    std::fs::write(
        &config,
        format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
             http:\n  addr: {address}\n",
            project.join("registry").display()
        ),
    )
    .expect("config");
    let mut registry = Command::new("docker-registry")
        .arg("serve")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("registry");
    let started = Instant::now();
    while std::net::TcpStream::connect(&address).is_err() && started.elapsed().as_secs() < 10 {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(
        project.join("push.deploy"),
        format!(
            "build app {{\n  context = \"web\"\n}}\n\ntag app {{\n  tags = [\"ferry\"]\n}}\n\n\
             push app {{\n  to = registry(\"{address}/bench/ferry\")\n}}\n"
        ),
    )
    .expect("push.deploy");
    git(&project, &["init", "-q"]);
    std::fs::write(project.join(".gitignore"), ".ferry/\nregistry/\nregistry.yml\n")
        .expect("ignore");
    git(&project, &["add", "-A"]);
    git(&project, &["commit", "-q", "-m", "bench"]);

    // `buildkit`: "1" (ferry's default where the engine offers it) or "0" (classic).
    let ferry_push = |buildkit: &str| {
        let started = Instant::now();
        run(Command::new(ferry)
            .args(["run", "push.deploy", "--allow-dirty", "--output", "ndjson"])
            .env("DOCKER_BUILDKIT", buildkit)
            .current_dir(&project));
        started.elapsed()
    };
    let docker_push = || {
        let image = format!("{address}/bench/docker:docker");
        let started = Instant::now();
        run(Command::new("docker")
            .args(["build", "-q", "-t", &image, "web"])
            .current_dir(&project));
        run(Command::new("docker").args(["push", "-q", &image]).current_dir(&project));
        started.elapsed()
    };
    // Warm the caches and the registry once.
    ferry_push("1");
    ferry_push("0");
    docker_push();
    // Stamps differ from every earlier bench run too: the engine's build cache outlives it.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let mut changed: [Vec<Duration>; 3] = Default::default();
    let mut same: [Vec<Duration>; 3] = Default::default();
    for run in 0..RUNS {
        // One file changed: a new top layer to build and push, the same for each.
        for (i, who) in ["ferry-buildkit", "ferry-classic", "docker"].iter().enumerate() {
            std::fs::write(project.join("web/www/stamp"), format!("{who} {nonce} {run}\n"))
                .expect("stamp");
            changed[i].push(match i {
                0 => ferry_push("1"),
                1 => ferry_push("0"),
                _ => docker_push(),
            });
        }
    }
    for _ in 0..RUNS {
        // Each builds the context its last run built: nothing changed for any.
        for (i, who) in ["ferry-buildkit", "ferry-classic", "docker"].iter().enumerate() {
            std::fs::write(project.join("web/www/stamp"), format!("{who} {nonce} {}\n", RUNS - 1))
                .expect("stamp");
            same[i].push(match i {
                0 => ferry_push("1"),
                1 => ferry_push("0"),
                _ => docker_push(),
            });
        }
    }
    for (title, times) in [("one file changed", &changed), ("nothing changed", &same)] {
        println!("build + push, {title}: ferry (BuildKit) {}", stats(times[0].clone()));
        println!(
            "build + push, {title}: ferry (classic, DOCKER_BUILDKIT=0) {}",
            stats(times[1].clone())
        );
        println!(
            "build + push, {title}: docker build + docker push (classic) {}",
            stats(times[2].clone())
        );
        println!(
            "  ratio ferry / docker: BuildKit {:.2}, classic {:.2}",
            median(&times[0]) / median(&times[2]),
            median(&times[1]) / median(&times[2])
        );
    }

    // The whole pipeline on real containers, then again with nothing changed.
    std::fs::remove_file(project.join("web/www/stamp")).expect("rm stamp");
    let deploy = || {
        let started = Instant::now();
        run(Command::new(ferry)
            .args([
                "run",
                "web.deploy",
                "--env",
                "local",
                "--target",
                "local",
                "--runtime",
                "docker",
            ])
            .args(["--registry", &address, "--allow-dirty", "--output", "ndjson"])
            .current_dir(&project));
        started.elapsed()
    };
    let first = deploy();
    let again: Vec<Duration> = (0..RUNS).map(|_| deploy()).collect();
    println!("web.deploy on --runtime docker, first deploy: {:.1} s", first.as_secs_f64());
    println!("web.deploy on --runtime docker, nothing changed: {}", stats(again));

    let state = project.join(".ferry/local-state.json").display().to_string();
    let _ = Command::new("sh")
        .args([
            "-c",
            &format!(
                "docker rm -f $(docker ps -aq --filter label=dev.ferry.local={state}) \
                 >/dev/null 2>&1"
            ),
        ])
        .status();
    let _ = registry.kill();
    let _ = registry.wait();
}
