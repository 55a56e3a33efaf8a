//! Rules the text of some strings must follow (Docker tags, ECR repository names, AWS
//! regions, …), checked before anything runs.

pub(crate) use crate::aws_names::RuleBroken;

/// A rule for the text of a string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    /// A 12-digit AWS account id.
    AccountId,
    /// A Docker tag: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
    DockerTag,
    /// An ECR repository name.
    EcrRepository,
    /// A variable name for `env("…")`.
    EnvVarName,
    /// `family` or `family:revision`.
    FamilyRevision,
    /// An `http://` or `https://` URL.
    HttpUrl,
    /// What an HTTP gate asks: a URL, or a path (`/health`) asked of each task.
    GateUrl,
    /// A host gates may reach: `name`, an address, `*.domain`, `host:port` or a URL.
    GateHost,
    /// `os/arch` or `os/arch/variant`.
    Platform,
    /// An AWS region name such as `eu-west-1`.
    Region,
    /// `host[:port]/name` on any registry.
    RegistryRepository,
    /// An ECS name (service, cluster, family): up to 255 letters, digits, `-` and `_`.
    ResourceName,
    /// A relative path to a `.rhai` file.
    ScriptPath,
    /// A task's CPU: units (`256`) or vCPUs (`0.5 vCPU`).
    Cpu,
    /// A task's memory: MiB (`512`) or `1 GB`, `512 MB`.
    Memory,
}

impl TextFormat {
    /// Checks a whole string; the error says what is wrong.
    pub fn check(self, text: &str) -> Result<(), RuleBroken> {
        match self {
            TextFormat::AccountId => (text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit()))
                .then_some(())
                .ok_or_else(|| "an account id is 12 digits".into()),
            TextFormat::DockerTag => docker_tag(text),
            TextFormat::EcrRepository => crate::aws_names::ecr_repository(text),
            TextFormat::EnvVarName => {
                let mut chars = text.chars();
                let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
                (first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_'))
                    .then_some(())
                    .ok_or_else(|| {
                        "a variable name is a letter or `_`, then letters, digits or `_`".into()
                    })
            }
            TextFormat::FamilyRevision => {
                let (family, revision) = text.split_once(':').unwrap_or((text, "1"));
                resource_name(family)?;
                revision
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .map(|_| ())
                    .ok_or_else(|| "a revision is a whole number from 1".into())
            }
            TextFormat::HttpUrl => {
                let rest = text
                    .strip_prefix("http://")
                    .or_else(|| text.strip_prefix("https://"))
                    .ok_or_else(|| {
                    RuleBroken::from("a URL starts with `http://` or `https://`")
                })?;
                if rest.is_empty() || rest.starts_with('/') {
                    Err("the URL has no host".into())
                } else {
                    Ok(())
                }
            }
            TextFormat::GateUrl => match text.strip_prefix('/') {
                Some(_) if text.contains(char::is_whitespace) => {
                    Err(RuleBroken::from("a path holds no blanks"))
                }
                Some(_) => Ok(()),
                None => TextFormat::HttpUrl.check(text).map_err(|_| {
                    RuleBroken::from(
                        "a gate asks a URL (`https://…`) or a path of each task (`/health`)",
                    )
                }),
            },
            TextFormat::GateHost => {
                if text.starts_with("http://") || text.starts_with("https://") {
                    return TextFormat::HttpUrl.check(text);
                }
                let name = text.strip_prefix("*.").unwrap_or(text);
                if name.is_empty() {
                    Err("write a host name or address, such as `status.example.com`".into())
                } else if let Some(c) =
                    name.chars().find(|c| c.is_whitespace() || "/*@?#".contains(*c))
                {
                    Err(RuleBroken(format!(
                        "a host cannot hold `{}`; write `name`, `*.domain` or `host:port`",
                        c.escape_debug()
                    )))
                } else {
                    Ok(())
                }
            }
            TextFormat::Platform => platform(text),
            TextFormat::Region => {
                let parts: Vec<&str> = text.split('-').collect();
                let ok = parts.len() >= 3
                    && parts[..parts.len() - 1]
                        .iter()
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
                    && parts[parts.len() - 1].parse::<u8>().is_ok();
                ok.then_some(()).ok_or_else(|| "a region looks like `eu-west-1`".into())
            }
            TextFormat::RegistryRepository => {
                let (host, name) = text
                    .split_once('/')
                    .ok_or_else(|| RuleBroken::from("write `host[:port]/name`"))?;
                if host.is_empty() || host.contains(char::is_whitespace) {
                    return Err("the registry host is empty or holds blanks".into());
                }
                crate::aws_names::ecr_repository(name).map_err(|reason| {
                    RuleBroken(reason.0.replace("an ECR repository", "a repository"))
                })
            }
            TextFormat::ResourceName => resource_name(text),
            TextFormat::ScriptPath => {
                if text.starts_with('/') {
                    Err("a script path is relative to the Deployfile".into())
                } else if !std::path::Path::new(text)
                    .extension()
                    .is_some_and(|ext| ext.eq_ignore_ascii_case("rhai"))
                {
                    Err("a gate script is a `.rhai` file".into())
                } else {
                    Ok(())
                }
            }
            TextFormat::Cpu => {
                size(text, &["vcpu"], "CPU is units or vCPUs, such as `\"256\"` or `\"0.5 vCPU\"`")
            }
            TextFormat::Memory => {
                size(text, &["gb", "mb"], "memory is MiB or GB, such as `\"512\"` or `\"2 GB\"`")
            }
        }
    }

    /// Checks the literal pieces of an interpolated string, where the whole text is known
    /// only at run time. Only tags have a rule that applies to every piece.
    pub fn check_piece(self, piece: &str) -> Result<(), RuleBroken> {
        match self {
            TextFormat::DockerTag => match piece.chars().find(|c| !tag_char(*c)) {
                Some(c) => Err(RuleBroken(format!("a tag cannot hold `{}`", c.escape_debug()))),
                None if piece.len() > 128 => Err("a tag has at most 128 characters".into()),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

fn tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')
}

fn docker_tag(text: &str) -> Result<(), RuleBroken> {
    let Some(first) = text.chars().next() else {
        return Err("a tag cannot be empty".into());
    };
    if first == '.' || first == '-' {
        return Err(RuleBroken(format!("a tag cannot start with `{first}`")));
    }
    TextFormat::DockerTag.check_piece(text)
}

fn resource_name(text: &str) -> Result<(), RuleBroken> {
    let ok = (1..=255).contains(&text.len())
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then_some(()).ok_or_else(|| "a name is 1 to 255 letters, digits, `-` or `_`".into())
}

fn platform(text: &str) -> Result<(), RuleBroken> {
    const OSES: [&str; 2] = ["linux", "windows"];
    const ARCHES: [&str; 8] =
        ["amd64", "arm64", "arm", "386", "ppc64le", "s390x", "riscv64", "mips64le"];
    let parts: Vec<&str> = text.split('/').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|part| part.is_empty()) {
        return Err("a platform is `os/arch` or `os/arch/variant`, such as `linux/amd64`".into());
    }
    if !OSES.contains(&parts[0]) {
        return Err(RuleBroken(format!(
            "unknown operating system `{}`; ECS runs `linux` or `windows`",
            parts[0]
        )));
    }
    if !ARCHES.contains(&parts[1]) {
        return Err(RuleBroken(format!("unknown architecture `{}`", parts[1])));
    }
    Ok(())
}

fn size(text: &str, units: &[&str], rule: &str) -> Result<(), RuleBroken> {
    let lower = text.trim().to_ascii_lowercase();
    let number = units.iter().find_map(|unit| lower.strip_suffix(unit)).unwrap_or(&lower).trim();
    let ok = number.parse::<f64>().is_ok_and(|n| n > 0.0 && n.is_finite());
    ok.then_some(()).ok_or_else(|| rule.into())
}

#[cfg(test)]
mod tests {
    use super::TextFormat::{self, *};

    macro_rules! formats {
        ($($format:ident: $text:literal => $ok:literal;)*) => {
            #[test]
            fn text_formats() {
                $(assert_eq!(
                    TextFormat::$format.check($text).is_ok(),
                    $ok,
                    "{:?} {:?}",
                    $format,
                    $text
                );)*
            }
        };
    }

    formats! {
        AccountId: "123456789012" => true;
        AccountId: "12345" => false;
        DockerTag: "v1.2.3" => true;
        DockerTag: "latest" => true;
        DockerTag: ".hidden" => false;
        DockerTag: "a/b" => false;
        DockerTag: "" => false;
        EcrRepository: "acme/web" => true;
        EcrRepository: "Acme/web" => false;
        EcrRepository: "acme//web" => false;
        EcrRepository: "a" => false;
        EcrRepository: "web-app_v2.x" => true;
        EnvVarName: "VERSION" => true;
        EnvVarName: "1X" => false;
        FamilyRevision: "web" => true;
        FamilyRevision: "web:12" => true;
        FamilyRevision: "web:0" => false;
        GateUrl: "/health" => true;
        GateUrl: "https://web.example.com/health" => true;
        GateUrl: "health" => false;
        GateUrl: "/a b" => false;
        GateHost: "status.example.com" => true;
        GateHost: "*.internal.example.com" => true;
        GateHost: "10.0.0.7:8080" => true;
        GateHost: "https://hooks.example.com/x" => true;
        GateHost: "https:/hooks.example.com" => false;
        GateHost: "*." => false;
        GateHost: "a b" => false;
        GateHost: "user@host" => false;
        HttpUrl: "https://example.com/health" => true;
        HttpUrl: "ftp://x" => false;
        HttpUrl: "http:///x" => false;
        Platform: "linux/amd64" => true;
        Platform: "linux/arm64/v8" => true;
        Platform: "darwin/arm64" => false;
        Platform: "amd64" => false;
        Platform: "linux/arm64/" => false;
        Region: "eu-west-1" => true;
        Region: "us-gov-west-1" => true;
        Region: "europe" => false;
        RegistryRepository: "localhost:5000/web" => true;
        RegistryRepository: "web" => false;
        ResourceName: "web_service-2" => true;
        ResourceName: "web service" => false;
        ScriptPath: "gates/version.rhai" => true;
        ScriptPath: "/etc/passwd" => false;
        ScriptPath: "gates/version.js" => false;
        Cpu: "256" => true;
        Cpu: "0.5 vCPU" => true;
        Cpu: "1 GB" => false;
        Cpu: "0" => false;
        Memory: "2 GB" => true;
        Memory: "512 mbgb" => false;
        Memory: "lots" => false;
    }
}
