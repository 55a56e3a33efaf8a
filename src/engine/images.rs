//! The image steps of a run: `build` through the Docker engine (context honouring
//! `.dockerignore`, OCI labels with the git SHA), `tag`, and `push` to ECR (repository
//! created and given a lifecycle policy when asked, a fresh authorization token for every
//! push) or to any registry; the pushed digest becomes the image value, so `register`
//! pins `repository@sha256:…`.

use std::collections::{BTreeMap, HashMap};

use crate::aws::AwsError;

use super::event::Event;
use super::runner::Runner;
use crate::docker::{DockerEngine, RegistryAuth, context_tar};
use crate::eval::{Repository, Value};

impl Runner<'_> {
    async fn engine(&mut self) -> Result<DockerEngine, String> {
        if let Some(engine) = &self.docker {
            return Ok(engine.clone());
        }
        let engine = DockerEngine::connect().await?;
        self.docker = Some(engine.clone());
        Ok(engine)
    }

    pub(super) async fn build(
        &mut self,
        name: &str,
        fields: &BTreeMap<String, Value>,
    ) -> Result<String, String> {
        let text = |key: &str| fields.get(key).and_then(Value::text);
        let map = |key: &str| -> HashMap<String, String> {
            match fields.get(key) {
                Some(Value::Map(map)) => {
                    map.iter().filter_map(|(k, v)| v.text().map(|t| (k.clone(), t))).collect()
                }
                _ => HashMap::new(),
            }
        };
        let context_dir =
            self.options.base_dir.join(text("context").unwrap_or_else(|| ".".to_owned()));
        let dockerfile = text("dockerfile").unwrap_or_else(|| "Dockerfile".to_owned());
        let context = context_tar(&context_dir, &dockerfile).map_err(|e| {
            format!("`build {name}`: cannot read the context `{}`: {e}", context_dir.display())
        })?;
        let mut labels = map("labels");
        if let Some(git) = &self.workspace.git {
            labels.insert("org.opencontainers.image.revision".to_owned(), git.version());
        }
        labels.insert(
            "org.opencontainers.image.source".to_owned(),
            context_dir.display().to_string(),
        );
        let engine = self.engine().await.map_err(|e| format!("`build {name}`: {e}"))?;
        let sink = &mut *self.sink;
        let mut progress = |line: &str, instruction: bool| {
            sink.event(&Event::BuildOutput {
                step: name.to_owned(),
                line: line.to_owned(),
                instruction,
            });
        };
        let (args, target, platform) = (map("args"), text("target"), text("platform"));
        let request = crate::docker::BuildRequest {
            dockerfile: &dockerfile,
            args: &args,
            labels: &labels,
            target: target.as_deref(),
            platform: platform.as_deref(),
        };
        let built = engine
            .build(context, &request, &mut progress)
            .await
            // The whole output: the failing step's own lines may be far from its end.
            .map_err(|error| format!("`build {name}`: {error}\n{}", error.log.join("\n")))?;
        self.emit(&Event::ImageBuilt {
            step: name.to_owned(),
            image_id: built.image_id.clone(),
            builder: built.builder.clone(),
        });
        self.images.insert(name.to_owned(), (built.image_id, Vec::new()));
        self.outputs
            .insert(name.to_owned(), Value::Image { step: name.to_owned(), reference: None });
        Ok("built".to_owned())
    }

    pub(super) fn tag(&mut self, name: &str, tags: &[Value]) -> Result<String, String> {
        let tags: Vec<String> = tags.iter().filter_map(Value::text).collect();
        for tag in &tags {
            crate::check::TextFormat::DockerTag
                .check(tag)
                .map_err(|reason| format!("`tag {name}`: `{tag}` is not a valid tag: {reason}"))?;
        }
        let entry = self
            .images
            .get_mut(name)
            .ok_or_else(|| format!("`tag {name}`: `build {name}` did not run"))?;
        entry.1.clone_from(&tags);
        Ok(format!("{} tags", tags.len()))
    }

    pub(super) async fn push(&mut self, name: &str, to: &Repository) -> Result<String, String> {
        let (image_id, mut tags) = self
            .images
            .get(name)
            .cloned()
            .ok_or_else(|| format!("`push {name}`: `build {name}` did not run"))?;
        if tags.is_empty() {
            let git = self.workspace.git.as_ref().ok_or_else(|| {
                format!("`push {name}` has no tags: add `tag {name} {{ tags = [...] }}`")
            })?;
            tags.push(git.version());
        }
        let (repository, auth) = match to {
            Repository::Registry { name: repository } => (
                repository.clone(),
                crate::docker::registry_credentials(repository)
                    .map_err(|e| format!("`push {name}`: {e}"))?,
            ),
            Repository::Ecr { name: repository, create, keep, scan_on_push, immutable } => {
                self.ecr_repository(name, repository, *create, *keep, *scan_on_push, *immutable)
                    .await?
            }
        };
        let engine = self.engine().await.map_err(|e| format!("`push {name}`: {e}"))?;
        let mut digest = String::new();
        for tag in &tags {
            engine
                .tag(&image_id, &repository, tag)
                .await
                .map_err(|e| format!("`push {name}`: {e}"))?;
            digest = engine
                .push(&repository, tag, auth.as_ref())
                .await
                .map_err(|e| format!("`push {name}`: {e}"))?;
        }
        let reference = format!("{repository}@{digest}");
        self.emit(&Event::ImagePushed {
            step: name.to_owned(),
            repository: repository.clone(),
            tags: tags.clone(),
            digest: digest.clone(),
        });
        self.outputs.insert(
            name.to_owned(),
            Value::Image { step: name.to_owned(), reference: Some(reference) },
        );
        Ok("pushed".to_owned())
    }

    /// The ECR repository's URI (created and given a lifecycle policy when asked) and a
    /// fresh authorization token: tokens last 12 hours, a long build must not use a stale one.
    async fn ecr_repository(
        &mut self,
        step: &str,
        repository: &str,
        create: bool,
        keep: Option<u32>,
        scan_on_push: bool,
        immutable: bool,
    ) -> Result<(String, Option<RegistryAuth>), String> {
        let ecr =
            self.options.ecr.clone().ok_or_else(|| format!("`push {step}`: no ECR client"))?;
        let failed = |error: AwsError| format!("`push {step}`: {error}");
        let uri = match ecr.repository_uri(repository).await.map_err(failed)? {
            Some(uri) => uri,
            None if create => {
                ecr.create_repository(repository, scan_on_push, immutable).await.map_err(failed)?
            }
            None => {
                return Err(format!(
                    "`push {step}`: ECR repository `{repository}` does not exist; \
                     set `create = true` in `ecr(…)`"
                ));
            }
        };
        if let Some(keep) = keep {
            ecr.keep_newest(repository, keep).await.map_err(failed)?;
        }
        let login = ecr.login().await.map_err(failed)?;
        let auth = RegistryAuth {
            username: login.username,
            password: login.password,
            server: login.server,
        };
        Ok((uri, Some(auth)))
    }
}

/// What an image step would do, for the plan; nothing is built or pushed by a plan.
pub(super) fn image_action(step: &crate::eval::PlannedStep) -> String {
    use crate::eval::PlannedStep;
    match step {
        PlannedStep::Build { fields, .. } => {
            let text = |key: &str, default: &str| {
                fields.get(key).and_then(Value::text).unwrap_or_else(|| default.to_owned())
            };
            let platform =
                fields.get("platform").and_then(Value::text).map(|p| format!(" for {p}"));
            format!(
                "build `{}` from context `{}`{} (not built by a plan)",
                text("dockerfile", "Dockerfile"),
                text("context", "."),
                platform.unwrap_or_default()
            )
        }
        PlannedStep::Tag { tags, .. } => {
            let tags: Vec<String> = tags.iter().map(ToString::to_string).collect();
            format!("tag the image {}", tags.join(", "))
        }
        PlannedStep::Push { to, .. } => match to {
            Repository::Ecr { name, create, .. } => format!(
                "push to ECR repository `{name}`{} and pin the digest",
                if *create { " (created when missing)" } else { "" }
            ),
            Repository::Registry { name } => format!("push to `{name}` and pin the digest"),
        },
        _ => String::new(),
    }
}
