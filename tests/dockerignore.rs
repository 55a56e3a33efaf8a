//! `.dockerignore` against the real engine. One context exercises Docker's rules: an
//! exception under an excluded directory, `**`, a root-anchored `/build`, a `[a-c]` class,
//! `?`, comments and blank lines, a file re-included two levels below an excluded directory,
//! two of Docker's quirks, and the Dockerfile and `.dockerignore` themselves excluded. It is
//! built by `docker build` with the classic builder, which reads the directory itself (the
//! reference), and by ferry, which sends its own tar, with the classic builder and with
//! BuildKit; the files in the images (kind, mode, path) are compared with each other and
//! with the list written here. Without Docker these skip, unless `FERRY_REQUIRE_DOCKER=1`.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Command;

use crate::support::available::docker_available;
use crate::support::test::Test;

const DOCKERIGNORE: &str = "\
# the build files: Docker sends them all the same, and the engine leaves them out of COPY
Dockerfile
.dockerignore

logs
!logs/keep.txt
**/*.tmp
/build
data/[a-c].csv
v?.txt
docs
!docs/guide/intro.md
# Docker's walker: `cache/data` stays out although `!cache` comes after it
cache/data
!cache
# the directory stays, empty
out/**
";

/// The context's files besides the Dockerfile, `.dockerignore`, `run.sh` (mode 755) and
/// `link` (a symlink to `app.txt`).
const FILES: &[&str] = &[
    "app.txt",
    "logs/keep.txt",
    "logs/today.log",
    "notes.tmp",
    "src/main.rs",
    "src/cache/x.tmp",
    "src/build/gen.rs",
    "build/out.bin",
    "data/a.csv",
    "data/b.csv",
    "data/d.csv",
    "v1.txt",
    "v2.txt",
    "v10.txt",
    "docs/readme.md",
    "docs/guide/intro.md",
    "docs/guide/other.md",
    "cache/keep",
    "cache/data/blob",
    "out/x",
];

/// What `COPY . /ctx/` puts in the image, as `docker build` does it. `logs/`, `docs/` and
/// `docs/guide/` are not in the context (they are excluded, and walked only for their
/// exceptions): the engine creates them.
const IN_THE_IMAGE: &[&str] = &[
    "d755 cache/",
    "d755 data/",
    "d755 docs/",
    "d755 docs/guide/",
    "d755 logs/",
    "d755 out/",
    "d755 src/",
    "d755 src/build/",
    "d755 src/cache/",
    "f644 app.txt",
    "f644 cache/keep",
    "f644 data/d.csv",
    "f644 docs/guide/intro.md",
    "f644 logs/keep.txt",
    "f644 src/build/gen.rs",
    "f644 src/main.rs",
    "f644 v10.txt",
    "f755 run.sh",
    "l777 link -> app.txt",
];

/// What ferry's tar holds: the Dockerfile and `.dockerignore` are sent although excluded
/// (as docker-cli sends them: the engine reads them, and its classic builder then drops
/// them), and no entry for the directories walked only for their exceptions.
const SENT: &[&str] = &[
    "d755 cache/",
    "d755 data/",
    "d755 out/",
    "d755 src/",
    "d755 src/build/",
    "d755 src/cache/",
    "f644 .dockerignore",
    "f644 Dockerfile",
    "f644 app.txt",
    "f644 cache/keep",
    "f644 data/d.csv",
    "f644 docs/guide/intro.md",
    "f644 logs/keep.txt",
    "f644 src/build/gen.rs",
    "f644 src/main.rs",
    "f644 v10.txt",
    "f755 run.sh",
    "l777 link -> app.txt",
];

/// The project: a Deployfile building `app/`, the context above.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("Deployfile"), "build app {\n  context = \"app\"\n}\n")
        .expect("Deployfile");
    let app = dir.path().join("app");
    let mut files = vec![("Dockerfile", "FROM scratch\nCOPY . /ctx/\n", 0o644)];
    files.push((".dockerignore", DOCKERIGNORE, 0o644));
    files.push(("run.sh", "#!/bin/sh\n", 0o755));
    files.extend(FILES.iter().map(|file| (*file, *file, 0o644)));
    for (file, text, mode) in files {
        let path = app.join(file);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
        // Every directory 755, whatever the umask.
        for dir in path.ancestors().skip(1).take_while(|dir| dir.starts_with(&app)) {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        }
    }
    std::os::unix::fs::symlink("app.txt", app.join("link")).expect("symlink");
    dir
}

/// Containers and images a test made, removed when it ends, even when it fails.
#[derive(Default)]
struct Cleanup(Vec<(&'static str, String)>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        for (command, id) in self.0.iter().rev() {
            let _ = Command::new("docker").args([*command, "-f", id.as_str()]).output();
        }
    }
}

/// `docker ARGS` with `env`; its standard output. It must succeed.
fn docker(args: &[&str], env: &[(&str, &str)]) -> Vec<u8> {
    let output = Command::new("docker")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("the docker command runs");
    assert!(
        output.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The entries of a tar archive below `prefix`, sorted: `d755 dir/`, `f644 file`,
/// `l777 link -> target`.
fn listing(archive: &[u8], prefix: &str) -> Vec<String> {
    let mut archive = tar::Archive::new(archive);
    let mut lines = Vec::new();
    for entry in archive.entries().expect("a tar archive") {
        let entry = entry.expect("an entry");
        let path = entry.path().expect("a path").to_string_lossy().into_owned();
        let path = path.strip_prefix(prefix).unwrap_or(&path).trim_end_matches('/').to_owned();
        if path.is_empty() || format!("{path}/") == prefix {
            continue;
        }
        let mode = entry.header().mode().expect("a mode") & 0o777;
        lines.push(match entry.header().entry_type() {
            tar::EntryType::Directory => format!("d{mode:o} {path}/"),
            tar::EntryType::Symlink => {
                let target = entry.link_name().expect("a link").expect("a target");
                format!("l{mode:o} {path} -> {}", target.display())
            }
            _ => format!("f{mode:o} {path}"),
        });
    }
    lines.sort();
    lines
}

/// What an image holds under `/ctx`, read through a container that never runs.
fn image_files(cleanup: &mut Cleanup, image: &str) -> Vec<String> {
    let created = docker(&["create", image, "never-run"], &[]);
    let container = String::from_utf8_lossy(&created).trim().to_owned();
    cleanup.0.push(("rm", container.clone()));
    listing(&docker(&["cp", &format!("{container}:/ctx"), "-"], &[]), "ctx/")
}

/// `ferry run` of the project with `DOCKER_BUILDKIT` set: the image and the builder it says.
fn ferry_build(cleanup: &mut Cleanup, project: &Path, buildkit: &str) -> (String, String) {
    let ran = Test::new()
        .env("DOCKER_BUILDKIT", buildkit)
        .args(["run", "--output", "ndjson"])
        .current_dir(project)
        .run();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    let events = ran.events();
    let built = events.iter().find(|e| e["event"] == "image_built").expect("image_built");
    let image = built["image_id"].as_str().expect("image_id").to_owned();
    cleanup.0.push(("rmi", image.clone()));
    (image, built["builder"].as_str().expect("builder").to_owned())
}

#[test]
fn ferry_sends_the_context_docker_build_sends() {
    if !docker_available() {
        return;
    }
    let project = project();
    let app = project.path().join("app");
    let mut cleanup = Cleanup::default();

    let sent = ferry::docker::context_tar(&app, "Dockerfile").expect("the context");
    assert_eq!(listing(&sent, ""), SENT);

    // The reference: `docker build` reads the directory itself (classic builder, as this
    // machine's `docker` has no buildx).
    let built = docker(
        &["build", "--quiet", app.to_str().expect("UTF-8 path")],
        &[("DOCKER_BUILDKIT", "0")],
    );
    let reference = String::from_utf8_lossy(&built).trim().to_owned();
    cleanup.0.push(("rmi", reference.clone()));
    assert_eq!(image_files(&mut cleanup, &reference), IN_THE_IMAGE, "docker build");

    // ferry's tar, through the classic builder: the same files.
    let (classic, builder) = ferry_build(&mut cleanup, project.path(), "0");
    assert_eq!(builder, "classic builder; DOCKER_BUILDKIT=0");
    assert_eq!(image_files(&mut cleanup, &classic), IN_THE_IMAGE, "ferry, classic builder");

    // Through BuildKit, an uploaded context is taken as it is (BuildKit applies
    // `.dockerignore` only to a context it reads from the client's directory), so the
    // Dockerfile and `.dockerignore`, which ferry must send, stay in what `COPY .` sees.
    let (buildkit, builder) = ferry_build(&mut cleanup, project.path(), "1");
    let mut expected: Vec<&str> = IN_THE_IMAGE.to_vec();
    if builder == "BuildKit" {
        expected.extend(["f644 .dockerignore", "f644 Dockerfile"]);
        expected.sort_unstable();
    }
    assert_eq!(image_files(&mut cleanup, &buildkit), expected, "ferry, {builder}");
}
