//! The first contact with AWS going wrong, as a user meets it: no credentials, a profile
//! that is not defined, a misspelt region, an endpoint out of reach, every attempt
//! throttled. Each is the real binary against the real SDK chain (configured through the
//! environment, in an empty home), says what stood in the way and what to do next, shows
//! no SDK dump, and exits 2: nothing was written.

use std::path::Path;

use crate::support::test::{Ran, Test};

/// `ferry COMMAND pipelines/hello.deploy` in an empty home with `env`, and the SDK's
/// instance-metadata lookup off (it would wait for a host that is not here).
fn ferry(command: &str, home: &Path, env: &[(&str, &str)], extra: &[&str]) -> Ran {
    let file = crate::support::test::root().join("pipelines/hello.deploy");
    let mut test = Test::new()
        .args([command])
        .args([file.as_os_str()])
        .args(extra)
        .env("HOME", home)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("FERRY_AWS_TIMEOUT", "5s");
    for (key, value) in env {
        test = test.env(key, value);
    }
    test.run()
}

/// A loopback URL nothing listens on: a port bound, then closed.
fn closed_endpoint() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("a");
    format!("http://127.0.0.1:{}", port.port())
}

/// Static keys, a region, and calls sent to `endpoint`.
fn keys_to(endpoint: &str) -> [(&str, &str); 4] {
    [
        ("AWS_ACCESS_KEY_ID", "x"),
        ("AWS_SECRET_ACCESS_KEY", "y"),
        ("AWS_REGION", "eu-west-1"),
        ("AWS_ENDPOINT_URL", endpoint),
    ]
}

/// What every one of them shares: exit 2, one `error:` line and a `help:` line, no
/// `Debug` dump of the SDK's types.
#[track_caller]
fn refused(ran: &Ran) -> &str {
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    for dump in ["DispatchFailure", "ConnectorError", "Some(", "{ source"] {
        assert!(!ran.stderr.contains(dump), "an SDK dump: {}", ran.stderr);
    }
    assert!(ran.stderr.contains("help: "), "no next step: {}", ran.stderr);
    &ran.stderr
}

#[test]
fn no_credentials_names_the_chain_and_the_local_target() {
    let home = tempfile::tempdir().expect("home");
    for command in ["plan", "status"] {
        let ran = ferry(command, home.path(), &[("AWS_REGION", "eu-west-1")], &[]);
        let text = refused(&ran);
        assert!(text.contains("NoCredentials: no credentials found: tried "), "{text}");
        assert!(text.contains("Environment") && text.contains("Profile"), "{text}");
        assert!(text.contains("AWS_PROFILE") && text.contains("--target local"), "{text}");
    }
    // A run writes nothing and says so.
    let ran =
        ferry("run", home.path(), &[("AWS_REGION", "eu-west-1")], &["--yes", "--allow-dirty"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("NoCredentials"), "{}", ran.stderr);
    assert!(ran.stderr.contains("nothing was changed"), "{}", ran.stderr);
    assert!(!ran.stderr.contains("try again"), "{}", ran.stderr);
}

#[test]
fn a_profile_that_is_not_defined_is_named() {
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".aws")).expect("dir");
    std::fs::write(
        home.path().join(".aws/config"),
        "[profile deploy]\nregion = eu-west-1\naws_access_key_id = x\naws_secret_access_key = y\n",
    )
    .expect("config");
    // By the environment, and by the flag over a Deployfile that names none.
    for (env, extra) in [
        (vec![("AWS_PROFILE", "deplyo")], vec![]),
        (vec![("AWS_REGION", "eu-west-1")], vec!["--profile", "deplyo"]),
    ] {
        let ran = ferry("plan", home.path(), &env, &extra);
        let text = refused(&ran);
        assert!(text.contains("UnknownProfile"), "{text}");
        assert!(text.contains("`deplyo`"), "{text}");
        assert!(text.contains("list-profiles"), "{text}");
    }
}

/// `--profile` gives the profile's credentials over keys in the environment (as the AWS
/// CLI's flag does): with a profile that holds none, the call has no credentials, where
/// without the flag the environment's keys reach the (closed) endpoint.
#[test]
fn the_profile_flag_beats_keys_in_the_environment() {
    let home = tempfile::tempdir().expect("home");
    std::fs::create_dir_all(home.path().join(".aws")).expect("dir");
    std::fs::write(home.path().join(".aws/config"), "[profile bare]\nregion = eu-west-1\n")
        .expect("config");
    let endpoint = closed_endpoint();
    let env = keys_to(&endpoint);
    let keys = ferry("plan", home.path(), &env, &[]);
    assert!(refused(&keys).contains("EndpointUnreachable"), "{}", keys.stderr);
    let profile = ferry("plan", home.path(), &env, &["--profile", "bare"]);
    let text = refused(&profile);
    assert!(text.contains("NoCredentials") || text.contains("CredentialsRefused"), "{text}");
}

#[test]
fn a_misspelt_region_gets_the_region_it_meant() {
    let home = tempfile::tempdir().expect("home");
    let keys = [("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y")];
    // By the environment, and by the flag over the environment.
    let by_env = ferry("plan", home.path(), &[keys[0], keys[1], ("AWS_REGION", "eu-wset-1")], &[]);
    let by_flag = ferry(
        "plan",
        home.path(),
        &[keys[0], keys[1], ("AWS_REGION", "eu-west-1")],
        &["--region", "eu-wset-1"],
    );
    for ran in [by_env, by_flag] {
        let text = refused(&ran);
        assert!(text.contains("UnknownRegion: `eu-wset-1` is not a region AWS lists"), "{text}");
        assert!(text.contains("did you mean `eu-west-1`? Set `--region`"), "{text}");
    }
    // No region anywhere.
    let ran = ferry("plan", home.path(), &keys, &[]);
    let text = refused(&ran);
    assert!(text.contains("NoRegion: no region is set"), "{text}");
    assert!(text.contains("`--region`") && !text.contains("try again"), "{text}");
    // Not a region's shape at all: refused before any call.
    let ran = ferry("plan", home.path(), &keys, &["--region", "eu west 1"]);
    assert_eq!(ran.code, 2, "{}", ran.stderr);
    assert!(ran.stderr.contains("`--region eu west 1`: a region looks like"), "{}", ran.stderr);
}

#[test]
fn an_endpoint_out_of_reach_is_said_so() {
    let home = tempfile::tempdir().expect("home");
    let endpoint = closed_endpoint();
    let env = keys_to(&endpoint);
    let ran = ferry("plan", home.path(), &env, &[]);
    let text = refused(&ran);
    assert!(text.contains("EndpointUnreachable"), "{text}");
    assert!(text.to_ascii_lowercase().contains("connection refused"), "{text}");
    assert!(text.contains("AWS_ENDPOINT_URL"), "{text}");
}

#[test]
fn every_attempt_throttled_is_said_with_its_next_step() {
    let dir = tempfile::tempdir().expect("dir");
    let faults = dir.path().join("faults.json");
    std::fs::write(&faults, r#"{"api": {"throttle": 1}}"#).expect("faults");
    let faults = faults.display().to_string();
    let state = dir.path().join("local.json").display().to_string();
    let local = ["--target", "local", "--state", &state, "--faults", &faults];
    let ran = ferry("plan", dir.path(), &[], &local);
    let text = refused(&ran);
    assert!(text.contains("ThrottlingException"), "{text}");
    assert!(text.contains("AWS throttled every attempt"), "{text}");
}

/// The regions ferry knows are botocore's, partition by partition (its `partitions.json`,
/// the data the SDKs generate their endpoint rules from), without the `*-global` names.
#[test]
fn the_known_regions_are_botocores() {
    let Some(python) = crate::support::moto::python_tool("python") else { return };
    let script = "import json, botocore, os\n\
                  path = os.path.join(os.path.dirname(botocore.__file__), 'data', \
                  'partitions.json')\n\
                  for p in json.load(open(path))['partitions']:\n    \
                  for r in p['regions']:\n        \
                  print(r)\n";
    let output = std::process::Command::new(python).args(["-c", script]).output().expect("py");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let mut botocore: Vec<String> = String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .filter(|r| !r.ends_with("-global"))
        .map(str::to_owned)
        .collect();
    botocore.sort();
    let ours: Vec<String> = ferry::aws_names::REGIONS.iter().map(|r| (*r).to_owned()).collect();
    assert_eq!(ours, botocore, "update ferry_lang::aws_names::REGIONS from botocore");
}

/// On AWS (here the local ECS behind `AWS_ENDPOINT_URL`, so the SDK's own chain decides
/// the region), the plan names the region it read, `--region` is over `AWS_REGION`, and a
/// run with a plan made in another region refuses it before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_names_its_region_and_another_region_refuses_it() {
    let endpoint = crate::support::local_ecs::Start::real_time().speed(600.0).start().await;
    let url = endpoint.server.url().to_owned();
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().to_owned();
    let plan = dir.path().join("plan.json").display().to_string();
    let ran = tokio::task::spawn_blocking(move || {
        let env = [
            ("AWS_ACCESS_KEY_ID", "x"),
            ("AWS_SECRET_ACCESS_KEY", "y"),
            ("AWS_REGION", "eu-west-1"),
            ("AWS_ENDPOINT_URL", url.as_str()),
        ];
        let saved = ferry("plan", &home, &env, &["--out", &plan]);
        let flagged = ferry("plan", &home, &env, &["--region", "eu-central-1"]);
        let elsewhere = ferry("run", &home, &env, &["--plan", &plan, "--region", "us-east-2"]);
        let same = ferry("run", &home, &env, &["--plan", &plan, "--yes", "--allow-dirty"]);
        [saved, flagged, elsewhere, same]
    })
    .await
    .expect("ferry ran");
    let [saved, flagged, elsewhere, same] = ran;
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert!(
        saved.stdout.contains("on aws (account 000000000000, region eu-west-1, "),
        "{}",
        saved.stdout
    );
    assert_eq!(flagged.code, 0, "{}", flagged.stderr);
    assert!(flagged.stdout.contains(", region eu-central-1, "), "{}", flagged.stdout);
    assert_eq!(elsewhere.code, 2, "{}", elsewhere.stderr);
    assert!(
        elsewhere.stderr.contains(
            "the plan was made in region `eu-west-1`, not `us-east-2`; nothing was changed"
        ),
        "{}",
        elsewhere.stderr
    );
    // In its own region the plan holds and the run deploys.
    assert_eq!(same.code, 0, "{}", same.stderr);
}

/// The account comes from STS as moto (an independent server) answers GetCallerIdentity,
/// is held in the plan, and a run with another account's credentials (the local ECS's)
/// refuses the plan before any write.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_plan_names_its_account_and_another_account_refuses_it() {
    let Some(moto) = crate::support::moto::Moto::start() else { return };
    let endpoint = crate::support::local_ecs::Start::real_time().speed(600.0).start().await;
    let local = endpoint.server.url().to_owned();
    let moto_url = moto.url();
    let dir = tempfile::tempdir().expect("dir");
    let home = dir.path().to_owned();
    let plan = dir.path().join("plan.json").display().to_string();
    let [saved, elsewhere] = tokio::task::spawn_blocking(move || {
        let saved = ferry("plan", &home, &keys_to(&moto_url), &["--out", &plan]);
        let elsewhere = ferry("run", &home, &keys_to(&local), &["--plan", &plan, "--yes"]);
        [saved, elsewhere]
    })
    .await
    .expect("ferry ran");
    assert_eq!(saved.code, 0, "{}", saved.stderr);
    assert!(
        saved.stdout.contains("on aws (account 123456789012, region eu-west-1, "),
        "{}",
        saved.stdout
    );
    let stderr = refused(&elsewhere);
    assert!(
        stderr.contains(
            "the plan was made in account 123456789012, not 000000000000; nothing was changed"
        ),
        "{stderr}"
    );
    drop(moto);
}
