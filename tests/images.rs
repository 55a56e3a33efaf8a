//! Images end to end with a real Docker engine and a real registry: build a `FROM scratch`
//! image holding Debian's static busybox, tag it, push it through the local ECR (the
//! registry is Debian's docker-registry), register it pinned by digest, deploy and verify
//! that the tasks run that digest. Without Docker these skip, unless `FERRY_REQUIRE_DOCKER=1`.

use base64::Engine as _;
use serde_json::Value;

use crate::support::available::docker_available;
use crate::support::registry::Registry;
use crate::support::test::Test;

fn project(dockerfile: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let app = dir.path().join("app");
    std::fs::create_dir(&app).expect("mkdir");
    std::fs::copy("/bin/busybox", app.join("busybox")).expect("busybox");
    std::fs::write(app.join("Dockerfile"), dockerfile).expect("Dockerfile");
    std::fs::write(app.join(".dockerignore"), "secret.txt\n").expect(".dockerignore");
    std::fs::write(app.join("secret.txt"), "never in the image").expect("secret");
    dir
}

const DEPLOYFILE: &str = r#"defaults {
  cluster = "images"
}

build app {
  context = "app"
  labels  = { team = "web" }
}

tag app {
  tags = ["v1", "stable"]
}

push app {
  to = ecr("acme/web", create = true, keep = 5)
}

register web_task {
  family = "web"
  container "app" {
    image = app
  }
}

update web {
  task_definition = web_task
  create          = true
  desired         = 2
  circuit_breaker = rollback
}

verify web {
  timeout = 10m
}
"#;

fn run(dir: &std::path::Path, registry: &str) -> (i32, Vec<Value>, String) {
    run_with(dir, registry, "1")
}

/// A run with `DOCKER_BUILDKIT` set (`0` asks for the classic builder).
fn run_with(dir: &std::path::Path, registry: &str, buildkit: &str) -> (i32, Vec<Value>, String) {
    let ran = Test::new()
        .env("DOCKER_BUILDKIT", buildkit)
        .args([
            "run",
            "--target",
            "local",
            "--speed",
            "600",
            "--output",
            "ndjson",
            "--registry",
            registry,
        ])
        .current_dir(dir)
        .run();
    let events = ran.events();
    (ran.code, events, ran.stderr)
}

#[test]
fn build_tag_push_register_and_deploy_pinned_by_digest() {
    if !docker_available() {
        return;
    }
    let Some(registry) = Registry::start(None) else { return };
    let dir = project(
        "FROM scratch\nCOPY busybox /bin/busybox\nCOPY secret.txt /secret.txt\n\
         ENTRYPOINT [\"/bin/busybox\"]\n",
    );
    // `.dockerignore` leaves secret.txt out of the context: that build must fail, and say where.
    std::fs::write(dir.path().join("Deployfile"), DEPLOYFILE).expect("write");
    let (code, events, stderr) = run(dir.path(), &registry.address);
    assert_eq!(code, 2, "{events:#?}\n{stderr}");
    let reason = events.last().and_then(|e| e["reason"].as_str()).unwrap_or_default().to_owned();
    assert!(reason.contains("the build failed at `COPY secret.txt /secret.txt`"), "{reason}");
    // The classic builder names the same instruction.
    let (code, events, stderr) = run_with(dir.path(), &registry.address, "0");
    assert_eq!(code, 2, "{events:#?}\n{stderr}");
    let reason = events.last().and_then(|e| e["reason"].as_str()).unwrap_or_default().to_owned();
    assert!(reason.contains("the build failed at `COPY secret.txt /secret.txt`"), "{reason}");

    std::fs::write(
        dir.path().join("app/Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\"]\n\
         CMD [\"httpd\", \"-f\", \"-p\", \"8080\"]\n",
    )
    .expect("write");
    let (code, events, stderr) = run(dir.path(), &registry.address);
    assert_eq!(code, 0, "{events:#?}\n{stderr}");
    let built = events.iter().find(|e| e["event"] == "image_built").expect("built");
    assert_eq!(built["builder"], "BuildKit", "this engine offers BuildKit");
    // The build streamed its progress, step lines marked.
    assert!(
        events.iter().any(|e| e["event"] == "build_output"
            && e["instruction"] == true
            && e["line"].as_str().is_some_and(|l| l.contains("COPY busybox /bin/busybox"))),
        "{events:#?}"
    );
    let pushed = events.iter().find(|e| e["event"] == "image_pushed").expect("pushed");
    let digest = pushed["digest"].as_str().expect("digest").to_owned();
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
    assert_eq!(pushed["repository"], format!("{}/acme/web", registry.address));
    assert_eq!(pushed["tags"], serde_json::json!(["v1", "stable"]));
    // The registry holds the manifest under both tags, with that digest.
    for tag in ["v1", "stable"] {
        let (status, headers, _) = registry.request(
            "HEAD",
            &format!("/v2/acme/web/manifests/{tag}"),
            &[(
                "Accept",
                "application/vnd.docker.distribution.manifest.v2+json, \
                 application/vnd.oci.image.manifest.v1+json",
            )],
            b"",
        );
        assert_eq!(status, 200, "{tag}");
        assert!(
            headers.iter().any(|(n, v)| n == "docker-content-digest" && *v == digest),
            "{tag}: {headers:?}"
        );
    }
    let started = events.iter().find(|e| e["event"] == "deployment_started").expect("deployed");
    assert!(started["task_definition"].as_str().is_some_and(|td| td.ends_with("web:1")));
    assert!(events.iter().any(|e| e["event"] == "completed"), "{events:#?}");
    assert_eq!(events.last().expect("last")["verdict"], "success");
}

const PUSH_ONLY: &str = r#"build app {
  context = "app"
}

tag app {
  tags = ["v1"]
}

push app {
  to = registry("REGISTRY/acme/web")
}
"#;

/// A push to a registry that wants a password: none, then from the Docker config file's
/// `auths`, then from a credential helper (a real program speaking Docker's protocol).
#[test]
fn registry_credentials_come_from_the_docker_config_and_its_helpers() {
    if !docker_available() {
        return;
    }
    let password = "s3cret-registry-password";
    let Some(registry) = Registry::start(Some(password)) else { return };
    let dir = project("FROM scratch\nCOPY busybox /bin/busybox\nENTRYPOINT [\"/bin/busybox\"]\n");
    std::fs::write(dir.path().join("Deployfile"), PUSH_ONLY.replace("REGISTRY", &registry.address))
        .expect("write");
    let config = tempfile::tempdir().expect("config dir");
    let bin = tempfile::tempdir().expect("bin dir");
    let path = format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default());
    let push = || {
        Test::new()
            .args(["run", "--output", "ndjson"])
            .env("DOCKER_CONFIG", config.path())
            .env("PATH", &path)
            .current_dir(dir.path())
            .run()
    };

    let ran = push();
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("no basic auth credentials"), "{}", ran.stdout);

    let auth = base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"));
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths": {{"http://{}": {{"auth": "{auth}"}}}}}}"#, registry.address),
    )
    .expect("config");
    let ran = push();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("\"image_pushed\""), "{}", ran.stdout);

    let helper = bin.path().join("docker-credential-ferrytest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread host\n\
             [ \"$host\" = {address} ] || \
             {{ echo 'credentials not found in native keychain'; exit 1; }}\n\
             echo '{{\"ServerURL\":\"{address}\",\"Username\":\"AWS\",\
             \"Secret\":\"{password}\"}}'\n",
            address = registry.address
        ),
    )
    .expect("helper");
    std::fs::set_permissions(&helper, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"auths": {{}}, "credHelpers": {{"{}": "ferrytest"}}}}"#, registry.address),
    )
    .expect("config");
    let ran = push();
    assert_eq!(ran.code, 0, "{}\n{}", ran.stdout, ran.stderr);
    assert!(!ran.stdout.contains(password) && !ran.stderr.contains(password));

    // A helper that cannot run is named.
    std::fs::write(
        config.path().join("config.json"),
        format!(r#"{{"credHelpers": {{"{}": "absent"}}}}"#, registry.address),
    )
    .expect("config");
    let ran = push();
    assert_eq!(ran.code, 2, "{}\n{}", ran.stdout, ran.stderr);
    assert!(ran.stdout.contains("credential helper `docker-credential-absent`"), "{}", ran.stdout);
}
