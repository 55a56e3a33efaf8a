//! A real Docker registry for tests: Debian's `docker-registry` on a loopback port with
//! its storage in a temporary directory, optionally behind htpasswd authentication
//! (user `AWS`, as ECR tokens carry). Absent binary: the caller skips, unless
//! `FERRY_REQUIRE_REGISTRY=1`.

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub(crate) struct Registry {
    pub(crate) address: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tool(name: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Registry {
    /// Starts a registry; with `password`, user `AWS` must give it.
    pub(crate) fn start(password: Option<&str>) -> Option<Registry> {
        if !tool("docker-registry") || (password.is_some() && !tool("htpasswd")) {
            let reason = "Debian's docker-registry (and htpasswd) are not installed: run \
                          scripts/install-test-parts";
            assert!(
                std::env::var_os("FERRY_REQUIRE_REGISTRY").is_none_or(|v| v != "1"),
                "FERRY_REQUIRE_REGISTRY=1 but {reason}"
            );
            eprintln!("skipped: {reason}");
            return None;
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("bind")
            .local_addr()
            .expect("addr")
            .port();
        let address = format!("127.0.0.1:{port}");
        let mut auth = String::new();
        if let Some(password) = password {
            let file = dir.path().join("htpasswd");
            let output = Command::new("htpasswd")
                .args(["-Bbn", "AWS", password])
                .output()
                .expect("htpasswd");
            std::fs::write(&file, output.stdout).expect("write htpasswd");
            auth = format!(
                "auth:\n  htpasswd:\n    realm: ferry-test\n    path: {}\n",
                file.display()
            );
        }
        let config = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\n  \
             delete:\n    enabled: true\nhttp:\n  addr: {address}\n{auth}",
            dir.path().join("data").display()
        );
        let config_path = dir.path().join("config.yml");
        std::fs::write(&config_path, config).expect("write config");
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("docker-registry starts");
        let started = Instant::now();
        while std::net::TcpStream::connect(&address).is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "the registry did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Some(Registry { address, child, _dir: dir })
    }

    /// One HTTP/1.1 request; returns status, headers (lowercase names) and body.
    pub(crate) fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u16, Vec<(String, String)>, Vec<u8>) {
        let mut stream = std::net::TcpStream::connect(&self.address).expect("connect");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.address,
            body.len()
        );
        for (name, value) in headers {
            let _ = write!(head, "{name}: {value}\r\n");
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).expect("write");
        stream.write_all(body).expect("write body");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).expect("read");
        let split = response.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
        let head = String::from_utf8_lossy(&response[..split]).into_owned();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("status");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        (status, headers, response[split..].to_vec())
    }

    /// Pushes a tiny image (one layer) as `repository:tag` through the v2 API; returns the
    /// manifest digest and the manifest.
    pub(crate) fn push_image(
        &self,
        repository: &str,
        tag: &str,
        auth: Option<&str>,
        layer: &[u8],
    ) -> (String, String) {
        let authorization = auth.map(|password| {
            use base64::Engine as _;
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
            )
        });
        let headers = |extra: &[(&'static str, String)]| {
            let mut all: Vec<(&str, String)> = extra.to_vec();
            if let Some(value) = &authorization {
                all.push(("Authorization", value.clone()));
            }
            all
        };
        let blob = |content: &[u8]| -> String {
            let digest = format!("sha256:{:x}", Sha256::digest(content));
            let owned = headers(&[]);
            let borrowed: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let (status, response_headers, _) =
                self.request("POST", &format!("/v2/{repository}/blobs/uploads/"), &borrowed, b"");
            assert_eq!(status, 202, "start upload");
            let location = response_headers
                .iter()
                .find(|(n, _)| n == "location")
                .map(|(_, v)| v.clone())
                .expect("location");
            let location = location
                .split_once(&self.address)
                .map_or(location.clone(), |(_, rest)| rest.to_owned());
            let separator = if location.contains('?') { '&' } else { '?' };
            let owned = headers(&[("Content-Type", "application/octet-stream".to_owned())]);
            let borrowed: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
            let (status, _, _) = self.request(
                "PUT",
                &format!("{location}{separator}digest={digest}"),
                &borrowed,
                content,
            );
            assert_eq!(status, 201, "finish upload");
            digest
        };
        let config = b"{\"architecture\":\"amd64\",\"os\":\"linux\",\
                       \"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]},\"config\":{}}";
        let config_digest = blob(config);
        let layer_digest = blob(layer);
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": config.len(),
                "digest": config_digest
            },
            "layers": [{
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": layer.len(),
                "digest": layer_digest
            }]
        })
        .to_string();
        let owned = headers(&[(
            "Content-Type",
            "application/vnd.docker.distribution.manifest.v2+json".to_owned(),
        )]);
        let borrowed: Vec<(&str, &str)> = owned.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let (status, response_headers, body) = self.request(
            "PUT",
            &format!("/v2/{repository}/manifests/{tag}"),
            &borrowed,
            manifest.as_bytes(),
        );
        assert_eq!(status, 201, "manifest: {}", String::from_utf8_lossy(&body));
        let digest = response_headers
            .iter()
            .find(|(n, _)| n == "docker-content-digest")
            .map(|(_, v)| v.clone())
            .expect("digest");
        (digest, manifest)
    }
}
