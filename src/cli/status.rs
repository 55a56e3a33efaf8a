//! `ferry status`: the services a Deployfile updates, as ECS sees them now. Read-only; on
//! the local ECS, its state file is left as it was.

use super::output::{failed, stdout};
use super::prepare::{connect, prepare, runtime};
use super::{ExitStatus, ReportFormat, StatusArguments};
use crate::aws::{Clients, Ecs};
use crate::engine::{services, status_text, targets_text};

pub(super) fn run(arguments: &StatusArguments) -> ExitStatus {
    let result = prepare(&arguments.deployfile).and_then(|prepared| {
        runtime()?.block_on(async {
            let (target, local, _) =
                connect(&arguments.target, &prepared.settings, &prepared.source.path, true).await?;
            let ecs = Ecs::new(&Clients::new(&target).await);
            let mut out = String::new();
            let mut json = Vec::new();
            for (_, cluster, service) in
                services(&prepared.file, &prepared.settings, &prepared.workspace)
            {
                let view = ecs.service(&cluster, &service).await?;
                // Behind load balancers: each target group's targets and their health.
                let mut groups = Vec::new();
                let mut targets = String::new();
                if let Some(links) = view.as_ref().map(|v| &v.load_balancers)
                    && !links.is_empty()
                {
                    groups = ecs.group_health(links).await?;
                    let tasks = ecs.service_tasks(&cluster, &service).await?;
                    targets = targets_text(&groups, &tasks);
                }
                // Of a blue/green service: where its current deployment stands, and
                // whether a PAUSE hook holds it.
                let staged = match view.as_ref() {
                    Some(v) if v.strategy.is_staged() => match &v.current_service_deployment {
                        Some(arn) => ecs.service_deployment(arn).await?,
                        None => None,
                    },
                    _ => None,
                };
                out.push_str(&status_text(
                    &cluster,
                    &service,
                    view.as_ref(),
                    staged.as_ref(),
                    &targets,
                ));
                json.push(serde_json::json!({
                    "cluster": cluster,
                    "service": service,
                    "exists": view.is_some(),
                    "view": view,
                    "service_deployment": staged,
                    "target_groups": groups,
                }));
            }
            drop(local);
            if arguments.format == ReportFormat::Json {
                let text = serde_json::to_string_pretty(&json).unwrap_or_default();
                return Ok::<_, crate::error::Error>(text + "\n");
            }
            Ok(out)
        })
    });
    match result {
        Ok(text) if text.is_empty() => {
            stdout("the Deployfile updates no service\n");
            ExitStatus::Success
        }
        Ok(text) => {
            stdout(&text);
            ExitStatus::Success
        }
        Err(error) => failed(error),
    }
}
