//! After a crash, what the world looks like; and an incident's report.

use tokio::sync::mpsc;

use super::Backends;
use crate::clock::now;
use crate::core::msg::Msg;
use crate::report::Report;
use crate::room::Reader;

/// The outcome a person gives an interrupted change, after checking the
/// real state.
pub(super) struct Resolution {
    pub intent: i64,
    pub scope: String,
    pub incident: Option<i64>,
    pub by: String,
    pub text: String,
}

/// Record how an interrupted change ended, as its service's driver: under
/// the lease's fence (a free lease is taken; a driver that is gone is
/// taken over only by a person's `yes`), and once — an intent has one
/// outcome, and one already written (by whoever resolved it first) stands.
/// Refused: the changes come back, still unresolved, with the reason.
pub(super) async fn acknowledge(b: Backends, r: Resolution, tx: mpsc::Sender<Msg>) {
    let Some(journal) = b.journal.clone() else {
        return;
    };
    let service = r.scope.split('/').next().unwrap_or(&r.scope).to_string();
    let written = match b.fence(&service).await {
        Ok(fence) => {
            let mut e = crate::room::Entry::new(now(), "outcome", &r.scope, r.text.clone(), &r.by);
            e.level = "good".into();
            e.reference = Some(r.intent);
            e.incident = r.incident;
            journal
                .append_fenced(e, fence)
                .await
                .map_err(|e| e.to_string())
        }
        Err(why) => Err(why),
    };
    if let Err(why) = written {
        let _ = tx
            .send(super::failed(
                format!("resolve interrupted change {}", r.intent),
                why,
            ))
            .await;
        super::room::interrupted(&journal.place, &service, &tx).await;
    }
}

/// Read what an interrupted action may have changed: the service's traffic
/// split and, for an environment, the revision it runs. A message or a
/// command cannot be read back: the operator is told what to ask instead.
pub(super) async fn check_real(
    b: Backends,
    intent: i64,
    scope: String,
    work: String,
    tx: mpsc::Sender<Msg>,
) {
    let unreadable = match work.as_str() {
        "notify" => {
            Some("a message cannot be read back: ask in the incident channel whether it arrived")
        }
        "page" => Some(
            "whether the page reached the pager is not known: look at the incident in PagerDuty or Opsgenie (E pages again)",
        ),
        "status-page" => {
            Some("whether the status page changed is not known: look at the public page itself")
        }
        "command" | "smoke-commands" => {
            Some("backstop cannot tell whether the command finished: check what it does by hand")
        }
        _ => None,
    };
    if let Some(text) = unreadable {
        let _ = tx
            .send(Msg::RealState {
                intent,
                text: text.into(),
                at: now(),
            })
            .await;
        return;
    }
    let mut parts = scope.splitn(2, '/');
    let service = parts.next().unwrap_or_default().to_string();
    let env = parts.next().map(str::to_string);
    let mut found = Vec::new();
    if let Some(h) = b.traffic.get(&service) {
        match h.provider.read().await {
            Ok(w) => {
                let split: Vec<String> =
                    w.0.iter()
                        .zip(w.percents())
                        .map(|(e, p)| format!("{} {p} %", e.env))
                        .collect();
                found.push(format!(
                    "traffic of {service} ({}): {}",
                    h.provider.kind(),
                    split.join(" · ")
                ));
            }
            Err(e) => found.push(format!(
                "traffic of {service} cannot be read: {}",
                e.message
            )),
        }
    }
    if let Some(d) = b.deploy.get(&service) {
        let envs: Vec<String> = match &env {
            Some(e) => vec![e.clone()],
            None => b
                .services
                .iter()
                .find(|s| s.name == service)
                .map(|s| s.envs.iter().map(|(n, _)| n.clone()).collect())
                .unwrap_or_default(),
        };
        for e in envs {
            match d.state(&e).await {
                Ok(s) => found.push(s),
                Err(err) => found.push(format!("{service}/{e} cannot be read: {err}")),
            }
        }
    }
    if found.is_empty() {
        found.push(format!(
            "backstop has no provider for {service} in this configuration: check it by hand"
        ));
    }
    let _ = tx
        .send(Msg::RealState {
            intent,
            text: found.join("; "),
            at: now(),
        })
        .await;
}

/// Write incident `id`'s report (Markdown) into the reports directory.
pub(super) async fn export(b: Backends, id: i64, tx: mpsc::Sender<Msg>) {
    let (Some(journal), Some(dir)) = (b.journal.clone(), b.reports.clone()) else {
        let _ = tx
            .send(super::failed(
                format!("export the report of incident {id}"),
                "no journal to read it from",
            ))
            .await;
        return;
    };
    // Rows appended a moment ago must be in: wait for the writer first.
    journal.flush().await;
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
        let reader = Reader::at(&journal.place)?;
        let report = Report::load(&reader, Some(id))?;
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("incident-{id}.md"));
        std::fs::write(&path, report.markdown())?;
        Ok(path.display().to_string())
    })
    .await;
    let msg = match result {
        Ok(Ok(path)) => Msg::ReportWritten {
            incident: id,
            path,
            at: now(),
        },
        Ok(Err(e)) => super::failed(
            format!("export the report of incident {id}"),
            format!("{e:#}"),
        ),
        Err(e) => super::failed(format!("export the report of incident {id}"), e.to_string()),
    };
    let _ = tx.send(msg).await;
}

/// Read the drills scored in the journal, for the console's trend view.
pub(super) async fn read_drills(b: Backends, tx: mpsc::Sender<Msg>) {
    let Some(journal) = b.journal.clone() else {
        let _ = tx
            .send(Msg::DrillsRead {
                result: Err("no journal to read the drills from".into()),
                at: now(),
            })
            .await;
        return;
    };
    // A drill scored a moment ago must be in.
    journal.flush().await;
    let result = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
        let reader = Reader::open(&journal.path)?;
        Ok(crate::report::drill_points(&reader.drills()?))
    })
    .await;
    let result = match result {
        Ok(Ok(points)) => Ok(points),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(e) => Err(e.to_string()),
    };
    let _ = tx.send(Msg::DrillsRead { result, at: now() }).await;
}

/// Journal a drill's score (`backstop report --drills` lists them) and write
/// its report, Markdown and JSON, into the reports directory.
pub(super) async fn drill_report(
    b: Backends,
    score: crate::core::drill::Score,
    title: String,
    steps: Vec<(crate::core::time::Ts, String)>,
    started: crate::core::time::Ts,
    tx: mpsc::Sender<Msg>,
) {
    let verdict = if score.held { "held" } else { "NOT held" };
    if let Some(j) = &b.journal {
        let mut e = crate::room::Entry::new(
            now(),
            "drill",
            &score.scenario,
            format!("drill {}: expectation {verdict}", score.scenario),
            "backstop",
        );
        e.level = if score.held { "good" } else { "bad" }.into();
        e.data = serde_json::to_value(&score).ok();
        let _ = j.append_durable(e).await;
    }
    let Some(dir) = b.reports.clone() else {
        let _ = tx
            .send(Msg::DrillReported {
                result: Err("no reports directory".into()),
                at: now(),
            })
            .await;
        return;
    };
    let mut md = crate::report::drill_markdown(&score, &title, &steps, started);
    // The team's trend, this drill included (it was journaled above): the
    // report says whether the team is getting faster, not only this time.
    if let Some(j) = b.journal.clone() {
        let path = j.path.clone();
        let trend = tokio::task::spawn_blocking(move || -> anyhow::Result<String> {
            let rows = Reader::open(&path)?.drills()?;
            Ok(crate::report::drill_trend_markdown(
                &crate::report::drill_points(&rows),
            ))
        })
        .await;
        match trend {
            Ok(Ok(t)) => md.push_str(&t),
            Ok(Err(e)) => tracing::warn!("the drill report has no trend: {e:#}"),
            Err(e) => tracing::warn!("the drill report has no trend: {e}"),
        }
    }
    let json = serde_json::to_string_pretty(&score).unwrap_or_default();
    let stem = format!(
        "drill-{}-{}",
        score.scenario,
        started.rfc3339().replace(':', "")
    );
    let result = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(format!("{stem}.md")), md)?;
        std::fs::write(dir.join(format!("{stem}.json")), json)?;
        Ok(dir.join(format!("{stem}.md")).display().to_string())
    })
    .await;
    let result = match result {
        Ok(Ok(path)) => Ok(path),
        Ok(Err(e)) => Err(e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let _ = tx.send(Msg::DrillReported { result, at: now() }).await;
}
