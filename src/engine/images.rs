//! The image steps of a run: `build` through the Docker engine (context honouring
//! `.dockerignore`, OCI labels with the git SHA), `tag`, and `push` to ECR (repository
//! created and given a lifecycle policy when asked, a fresh authorization token for every
//! push) or to any registry; the pushed digest becomes the image value, so `register`
//! pins `repository@sha256:…`.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::event::Event;
use super::runner::Runner;
use crate::aws::AwsError;
use crate::docker::{BuildError, DockerEngine, DockerError, RegistryAuth, context_tar};
use crate::eval::{Repository, Value};

/// Why an image step failed, named by the step (`build app`, `push app`).
#[derive(Debug, thiserror::Error)]
pub(super) enum ImageError {
    #[error("`build {step}`: cannot read the context `{}`: {reason}", context.display())]
    Context { step: String, context: PathBuf, reason: String },
    /// The whole build output follows: the failing step's own lines may be far from its end.
    #[error("`build {step}`: {error}\n{}", error.log.join("\n"))]
    Build { step: String, error: BuildError },
    #[error("`{kind} {step}`: {source}")]
    Docker { kind: &'static str, step: String, source: DockerError },
    #[error("`tag {step}`: `{tag}` is not a valid tag: {reason}")]
    InvalidTag { step: String, tag: String, reason: String },
    #[error("`{kind} {step}`: `build {step}` did not run")]
    NotBuilt { kind: &'static str, step: String },
    #[error("`push {step}` has no tags: add `tag {step} {{ tags = [...] }}`")]
    NoTags { step: String },
    #[error("`push {step}`: no ECR client")]
    NoEcrClient { step: String },
    #[error("`push {step}`: {source}")]
    Ecr { step: String, source: AwsError },
    #[error(
        "`push {step}`: ECR repository `{repository}` does not exist; \
         set `create = true` in `ecr(…)`"
    )]
    NoRepository { step: String, repository: String },
}

impl Runner<'_> {
    async fn engine(&mut self) -> Result<DockerEngine, DockerError> {
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
    ) -> Result<String, ImageError> {
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
        let context = context_tar(&context_dir, &dockerfile).map_err(|e| ImageError::Context {
            step: name.to_owned(),
            context: context_dir.clone(),
            reason: e.to_string(),
        })?;
        let mut labels = map("labels");
        if let Some(git) = &self.workspace.git {
            labels.insert("org.opencontainers.image.revision".to_owned(), git.version());
        }
        labels.insert(
            "org.opencontainers.image.source".to_owned(),
            context_dir.display().to_string(),
        );
        let engine = self.engine().await.map_err(|source| ImageError::Docker {
            kind: "build",
            step: name.to_owned(),
            source,
        })?;
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
            .map_err(|error| ImageError::Build { step: name.to_owned(), error })?;
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

    pub(super) fn tag(&mut self, name: &str, tags: &[Value]) -> Result<String, ImageError> {
        let tags: Vec<String> = tags.iter().filter_map(Value::text).collect();
        for tag in &tags {
            crate::check::TextFormat::DockerTag.check(tag).map_err(|reason| {
                ImageError::InvalidTag { step: name.to_owned(), tag: tag.clone(), reason: reason.0 }
            })?;
        }
        let entry = self
            .images
            .get_mut(name)
            .ok_or_else(|| ImageError::NotBuilt { kind: "tag", step: name.to_owned() })?;
        entry.1.clone_from(&tags);
        Ok(format!("{} tags", tags.len()))
    }

    pub(super) async fn push(&mut self, name: &str, to: &Repository) -> Result<String, ImageError> {
        let docker = |source| ImageError::Docker { kind: "push", step: name.to_owned(), source };
        let (image_id, mut tags) = self
            .images
            .get(name)
            .cloned()
            .ok_or_else(|| ImageError::NotBuilt { kind: "push", step: name.to_owned() })?;
        if tags.is_empty() {
            let git = (self.workspace.git.as_ref())
                .ok_or_else(|| ImageError::NoTags { step: name.to_owned() })?;
            tags.push(git.version());
        }
        let (repository, auth) = match to {
            Repository::Registry { name: repository } => (
                repository.clone(),
                crate::docker::registry_credentials(repository).map_err(docker)?,
            ),
            Repository::Ecr { name: repository, create, keep, scan_on_push, immutable } => {
                self.ecr_repository(name, repository, *create, *keep, *scan_on_push, *immutable)
                    .await?
            }
        };
        let engine = self.engine().await.map_err(docker)?;
        let mut digest = String::new();
        for tag in &tags {
            engine.tag(&image_id, &repository, tag).await.map_err(docker)?;
            digest = engine.push(&repository, tag, auth.as_ref()).await.map_err(docker)?;
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
    ) -> Result<(String, Option<RegistryAuth>), ImageError> {
        let ecr = (self.options.ecr.clone())
            .ok_or_else(|| ImageError::NoEcrClient { step: step.to_owned() })?;
        let failed = |source: AwsError| ImageError::Ecr { step: step.to_owned(), source };
        let uri = match ecr.repository_uri(repository).await.map_err(failed)? {
            Some(uri) => uri,
            None if create => {
                ecr.create_repository(repository, scan_on_push, immutable).await.map_err(failed)?
            }
            None => {
                return Err(ImageError::NoRepository {
                    step: step.to_owned(),
                    repository: repository.to_owned(),
                });
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
