//! Credentials for `registry(…)`, where Docker keeps them: `FERRY_REGISTRY_USERNAME` and
//! `FERRY_REGISTRY_PASSWORD` first; then the Docker config file (`$DOCKER_CONFIG/
//! config.json`, else `~/.docker/config.json`): a credential helper for the registry's host
//! (`credHelpers`), the default store (`credsStore`), or the `auths` entry. Helpers speak
//! Docker's protocol: `docker-credential-NAME get`, the host on standard input, JSON
//! `{ServerURL, Username, Secret}` on standard output. No credentials: an anonymous push.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use serde_json::Value;

use super::{DockerError, RegistryAuth};

/// Where the config file says a host's credentials are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// In the file itself (`auths`).
    Stored(RegistryAuth),
    /// With a credential helper: `docker-credential-NAME`.
    Helper(String),
    None,
}

/// `https://host/v1/` and `host` name the same registry.
fn host_of(key: &str) -> &str {
    let key = key.strip_prefix("https://").or_else(|| key.strip_prefix("http://")).unwrap_or(key);
    key.split('/').next().unwrap_or(key)
}

/// Reads a Docker config file's text for `host`; the error names what is wrong.
pub fn lookup(text: &str, host: &str) -> Result<Lookup, DockerError> {
    let broken = DockerError::Credentials;
    let config: Value = serde_json::from_str(text).map_err(|error| broken(error.to_string()))?;
    if let Some(helper) = config
        .get("credHelpers")
        .and_then(Value::as_object)
        .and_then(|helpers| helpers.iter().find(|(key, _)| host_of(key) == host))
        .and_then(|(_, name)| name.as_str())
    {
        return Ok(Lookup::Helper(helper.to_owned()));
    }
    if let Some(store) = config.get("credsStore").and_then(Value::as_str).filter(|s| !s.is_empty())
    {
        return Ok(Lookup::Helper(store.to_owned()));
    }
    let Some((_, entry)) = config
        .get("auths")
        .and_then(Value::as_object)
        .and_then(|auths| auths.iter().find(|(key, _)| host_of(key) == host))
    else {
        return Ok(Lookup::None);
    };
    let field = |name: &str| entry.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
    let (username, password) = if let Some(auth) = field("auth") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(auth)
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| {
                broken(format!("`auths.{host}.auth` is not base64 of `user:password`"))
            })?;
        let (user, password) = decoded.split_once(':').ok_or_else(|| {
            broken(format!("`auths.{host}.auth` holds no `:` between user and password"))
        })?;
        (user.to_owned(), password.to_owned())
    } else if let (Some(user), Some(password)) = (field("username"), field("password")) {
        (user.to_owned(), password.to_owned())
    } else {
        return Ok(Lookup::None);
    };
    Ok(Lookup::Stored(RegistryAuth { username, password, server: host.to_owned() }))
}

/// The Docker config file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn config_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|home| Path::new(&home).join(".docker").join("config.json"))
}

/// Asks `docker-credential-NAME` for `host`'s credentials; none when it has none.
fn ask_helper(name: &str, host: &str) -> Result<Option<RegistryAuth>, String> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| {
            format!(
                "the Docker config names credential helper `{program}`, which cannot run: {error}"
            )
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(host.as_bytes());
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("credential helper `{program}`: {error}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        // The protocol's answer for a host the helper knows nothing of.
        if stdout.contains("credentials not found") {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "credential helper `{program}` failed for {host}: {}",
            format!("{} {}", stdout.trim(), stderr.trim()).trim()
        ));
    }
    let answer: Value = serde_json::from_str(&stdout).map_err(|_| {
        format!("credential helper `{program}` did not answer with JSON for {host}")
    })?;
    let text = |key: &str| answer.get(key).and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Some(RegistryAuth {
        username: text("Username"),
        password: text("Secret"),
        server: host.to_owned(),
    }))
}

/// The credentials for pushing to `repository` (`host[:port]/name`).
pub(crate) fn registry_credentials(repository: &str) -> Result<Option<RegistryAuth>, DockerError> {
    let host = repository.split('/').next().unwrap_or_default().to_owned();
    if let (Ok(username), Ok(password)) =
        (std::env::var("FERRY_REGISTRY_USERNAME"), std::env::var("FERRY_REGISTRY_PASSWORD"))
    {
        return Ok(Some(RegistryAuth { username, password, server: host }));
    }
    let Some(path) = config_path() else { return Ok(None) };
    let text = match crate::regular_file::read_text(&path, 16 * 1024 * 1024) {
        Ok(text) => text,
        Err(crate::regular_file::FileProblem::NotFound) => return Ok(None),
        Err(error) => {
            return Err(DockerError::Credentials(format!(
                "cannot read the Docker config `{}`: {error}",
                path.display()
            )));
        }
    };
    match lookup(&text, &host).map_err(|error| {
        DockerError::Credentials(format!("the Docker config `{}`: {error}", path.display()))
    })? {
        Lookup::Stored(auth) => Ok(Some(auth)),
        Lookup::Helper(name) => ask_helper(&name, &host).map_err(DockerError::Credentials),
        Lookup::None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_come_before_the_store_and_the_file() {
        let config = r#"{
            "auths": {
                "https://registry.example.com/v1/": {"auth": "dXNlcjpwYXNz"},
                "other:5000": {}
            },
            "credHelpers": {"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}
        }"#;
        assert_eq!(
            lookup(config, "123456789012.dkr.ecr.eu-west-1.amazonaws.com"),
            Ok(Lookup::Helper("ecr-login".to_owned()))
        );
        let Ok(Lookup::Stored(auth)) = lookup(config, "registry.example.com") else {
            panic!("stored credentials expected")
        };
        assert_eq!((auth.username.as_str(), auth.password.as_str()), ("user", "pass"));
        assert!(!format!("{auth:?}").contains("pass\""), "Debug hides the password");
        assert_eq!(lookup(config, "other:5000"), Ok(Lookup::None));
        assert_eq!(lookup(config, "nowhere.example.com"), Ok(Lookup::None));
        let store = r#"{"auths": {"a.example.com": {}}, "credsStore": "desktop"}"#;
        assert_eq!(lookup(store, "a.example.com"), Ok(Lookup::Helper("desktop".to_owned())));
    }

    #[test]
    fn a_broken_config_says_what_is_wrong() {
        let error = lookup(r#"{"auths": {"h": {"auth": "%%%"}}}"#, "h").expect_err("bad");
        assert_eq!(error.to_string(), "`auths.h.auth` is not base64 of `user:password`");
        let error = lookup(r#"{"auths": {"h": {"auth": "bm9jb2xvbg=="}}}"#, "h").expect_err("bad");
        assert_eq!(error.to_string(), "`auths.h.auth` holds no `:` between user and password");
        let error = lookup("{", "h").expect_err("bad");
        assert!(error.to_string().contains("line 1 column 1"), "{error}");
        let plain = r#"{"auths": {"h:1": {"username": "u", "password": "p"}}}"#;
        assert!(matches!(lookup(plain, "h:1"), Ok(Lookup::Stored(_))));
    }
}
