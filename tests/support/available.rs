//! Whether the real parts a test needs are here: the Docker engine (with Debian's
//! busybox-static for the test images). A missing part skips the test with its reason;
//! under FERRY_REQUIRE_DOCKER=1 (CI) it fails instead.

/// Whether the Docker engine answers; the reason is printed when it does not.
pub(crate) fn docker_available() -> bool {
    let ok = std::process::Command::new("docker")
        .arg("info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && std::path::Path::new("/bin/busybox").is_file();
    if !ok {
        let reason = "no Docker engine or no /bin/busybox (Debian's busybox-static): run \
                      scripts/install-test-parts";
        assert!(
            std::env::var_os("FERRY_REQUIRE_DOCKER").is_none_or(|v| v != "1"),
            "FERRY_REQUIRE_DOCKER=1 but {reason}"
        );
        eprintln!("skipped: {reason}");
    }
    ok
}
