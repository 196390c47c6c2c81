//! Notices: what supervision decided about a case — an urge (督办), a postponement granted or
//! refused, a deadline warned of or breached, a rung of the escalation ladder — turned into
//! protobuf `Notice`s for the people who answer for it, published next to the work orders; and
//! the on-site check of a resolution (核查), a task for the grid worker of the case's grid.
//!
//! The handler the case waits on gets each on its work-order subject; the leader of the area a
//! case climbs to gets the escalation on their own subject (`leader.<person id>`). A notice is
//! built from the recorded event and the case as it stood right after it, so a redelivered
//! event builds the same notices with the same ids, which JetStream drops as duplicates.

use gridcase_casestore::TimelineEntry;
use gridcase_config::{Calendar, ReferenceData};
use gridcase_domain::event::{DeadlineBreached, DeadlineWarned};
use gridcase_domain::{Assignee, CaseId, CaseState, DeadlineStage, Event, Timestamp};
use gridcase_proto::dispatch::v1 as pb;

use crate::workorder::{recipient, subject_for, WorkOrderError};
use gridcase_rules::Verifier;

/// The notices the event at `timeline[index]` of `case` calls for, each with its subject:
/// none for an event that is not a supervision decision, or one whose addressee is unknown (a
/// warning of the triage deadline, which the operators' board shows).
pub fn build(
    case: CaseId,
    timeline: &[TimelineEntry],
    index: usize,
    reference: &ReferenceData,
) -> Result<Vec<(String, pb::Notice)>, WorkOrderError> {
    let upto = timeline
        .get(..=index)
        .ok_or_else(|| WorkOrderError::Incomplete {
            case,
            reason: "event not in the timeline".to_owned(),
        })?;
    let entry = &upto[index];
    let state = CaseState::from_events(upto.iter().map(|entry| &entry.event));
    let calendar = reference.calendar();
    let category_code = state
        .category
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    let base = pb::Notice {
        case_id: case.to_string(),
        tracking_code: state
            .tracking_code
            .map(|code| code.to_string())
            .unwrap_or_default(),
        category_name: state
            .category
            .as_ref()
            .and_then(|code| reference.category(code))
            .map(|category| category.name.clone())
            .unwrap_or_default(),
        category_code,
        handler: state
            .assignee
            .as_ref()
            .map(handler_name)
            .unwrap_or_default(),
        at_ms: entry.recorded_at_ms,
        ..pb::Notice::default()
    };
    let notice = match &entry.event {
        Event::CaseUrged(urged) => pb::Notice {
            kind: pb::NoticeKind::Urge as i32,
            summary: format!("督办：{}", urged.note.as_str()),
            by: urged.by.to_string(),
            note: urged.note.as_str().to_owned(),
            ..base
        },
        Event::PostponementApproved(approved) => pb::Notice {
            kind: pb::NoticeKind::PostponementApproved as i32,
            summary: format!(
                "延期申请已批准：办结期限延至 {}",
                local_time(calendar, approved.until)
            ),
            by: approved.by.to_string(),
            until_ms: approved.until.as_millis(),
            ..base
        },
        Event::PostponementRefused(refused) => pb::Notice {
            kind: pb::NoticeKind::PostponementRefused as i32,
            summary: format!("延期申请未获批准，原期限不变：{}", refused.reason.as_str()),
            by: refused.by.to_string(),
            note: refused.reason.as_str().to_owned(),
            ..base
        },
        Event::DeadlineWarned(DeadlineWarned { stage, deadline })
        | Event::DeadlineBreached(DeadlineBreached { stage, deadline }) => {
            let warning = matches!(entry.event, Event::DeadlineWarned(_));
            let at = local_time(calendar, *deadline);
            let (kind, summary) = match (warning, stage) {
                // The operators' board shows a triage deadline: nobody to notify.
                (_, DeadlineStage::Triage) => return Ok(Vec::new()),
                (true, DeadlineStage::ReportIn) => (
                    pb::NoticeKind::DeadlineWarning,
                    format!("报到预警：请于 {at} 前报到并提出意见"),
                ),
                (false, DeadlineStage::ReportIn) => (
                    pb::NoticeKind::DeadlineBreach,
                    format!("报到超时：未在 {at} 前报到，已计入部门考核"),
                ),
                (true, _) => (
                    pb::NoticeKind::DeadlineWarning,
                    format!("预警：{}期限 {at} 将到", stage_name(*stage)),
                ),
                (false, _) => (
                    pb::NoticeKind::DeadlineBreach,
                    format!("超时：{}期限 {at} 已过", stage_name(*stage)),
                ),
            };
            let notice = pb::Notice {
                kind: kind as i32,
                summary,
                stage: stage.as_str().to_owned(),
                deadline_ms: deadline.as_millis(),
                ..base
            };
            // A report-in deadline concerns the departments still to report in, not the lead.
            if *stage == DeadlineStage::ReportIn {
                return Ok(to_pending(case, entry, &state, &notice));
            }
            notice
        }
        Event::CaseEscalated(escalated) => {
            let rung = reference
                .escalation_step(escalated.level)
                .map(|step| step.name.clone())
                .unwrap_or_else(|| format!("第{}级督办", escalated.level));
            let area = reference.grid(&escalated.to);
            let area_name = area.map_or_else(|| escalated.to.to_string(), |a| a.name.clone());
            let notice = pb::Notice {
                kind: pb::NoticeKind::Escalation as i32,
                summary: format!("{rung}：案件已升级至{area_name}（第{}级）", escalated.level),
                escalation_level: u32::from(escalated.level),
                rung,
                escalated_to: escalated.to.to_string(),
                escalated_to_name: area_name,
                ..base
            };
            let mut notices = Vec::new();
            if let Some(leader) = area.map(|area| &area.leader) {
                let id = leader.id.to_string();
                notices.push((
                    gridcase_bus::subjects::leader_dispatch(&id),
                    pb::Notice {
                        notice_id: format!("{case}-{}-leader-{id}", entry.version),
                        recipient: id,
                        for_leader: true,
                        ..notice.clone()
                    },
                ));
            }
            notices.extend(to_handler(case, entry, &state, notice));
            return Ok(notices);
        }
        Event::CaseResolved(resolved) => {
            let Some(verifier) = gridcase_rules::verifier(reference, &state, &resolved.by) else {
                return Ok(Vec::new());
            };
            let (subject, recipient) = match verifier {
                Verifier::Worker(worker) => (
                    gridcase_bus::subjects::worker_dispatch(worker.as_str()),
                    worker.to_string(),
                ),
                Verifier::Community(code) => {
                    (subject_for(&Assignee::Community(code)), code.to_string())
                }
            };
            let location = upto.iter().find_map(|entry| match &entry.event {
                Event::CaseReported(reported) => Some((&reported.location).into()),
                _ => None,
            });
            let notice = pb::Notice {
                notice_id: format!("{case}-{}-{recipient}", entry.version),
                kind: pb::NoticeKind::VerificationTask as i32,
                summary: format!("核查任务：{}", resolved.note.as_str()),
                by: handler_name(&resolved.by),
                note: resolved.note.as_str().to_owned(),
                media_urls: resolved
                    .evidence
                    .iter()
                    .map(|url| url.as_str().to_owned())
                    .collect(),
                location,
                recipient,
                ..base
            };
            return Ok(vec![(subject, notice)]);
        }
        _ => return Ok(Vec::new()),
    };
    Ok(to_handler(case, entry, &state, notice)
        .into_iter()
        .collect())
}

/// `notice` addressed to the handler the case waits on, if anyone handles it.
fn to_handler(
    case: CaseId,
    entry: &TimelineEntry,
    state: &CaseState,
    notice: pb::Notice,
) -> Option<(String, pb::Notice)> {
    let assignee = state.assignee.as_ref()?;
    let recipient = recipient(assignee);
    Some((
        subject_for(assignee),
        pb::Notice {
            notice_id: format!("{case}-{}-{recipient}", entry.version),
            recipient,
            ..notice
        },
    ))
}

/// `notice` addressed to each department called to report in that has not yet.
fn to_pending(
    case: CaseId,
    entry: &TimelineEntry,
    state: &CaseState,
    notice: &pb::Notice,
) -> Vec<(String, pb::Notice)> {
    let Some(called) = &state.report_in else {
        return Vec::new();
    };
    called
        .pending()
        .map(|department| {
            let recipient = department.to_string();
            (
                gridcase_bus::subjects::dispatch(&recipient),
                pb::Notice {
                    notice_id: format!("{case}-{}-{recipient}", entry.version),
                    recipient,
                    ..notice.clone()
                },
            )
        })
        .collect()
}

/// `urban_mgmt`, `worker:lin-ming`, `community:330102-001-001` or `street:330102-001`.
fn handler_name(assignee: &Assignee) -> String {
    match assignee {
        Assignee::Department(code) => code.to_string(),
        Assignee::Worker(worker) => format!("worker:{worker}"),
        Assignee::Community(code) => format!("community:{code}"),
        Assignee::Street(code) => format!("street:{code}"),
    }
}

/// The deadline's name as a clerk says it.
fn stage_name(stage: DeadlineStage) -> &'static str {
    match stage {
        DeadlineStage::Accept => "签收",
        DeadlineStage::Resolve => "办结",
        DeadlineStage::Close => "结案",
        DeadlineStage::Triage => "分拨",
        DeadlineStage::ReportIn => "报到",
    }
}

/// `at` as local wall-clock time to the minute, e.g. `2026-12-01 14:30`.
fn local_time(calendar: &Calendar, at: Timestamp) -> String {
    const MINUTE_MS: i64 = 60_000;
    let local_ms = at
        .as_millis()
        .saturating_add(i64::from(calendar.utc_offset_minutes()) * MINUTE_MS);
    let minute = local_ms.rem_euclid(24 * 60 * MINUTE_MS) / MINUTE_MS;
    match calendar.local_date(at) {
        Some(date) => format!("{date} {:02}:{:02}", minute / 60, minute % 60),
        None => at.as_millis().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_domain::event::{CaseEscalated, CaseUrged};
    use gridcase_domain::{GridCode, Note, WorkerId};

    fn entry(event: Event, version: u64) -> TimelineEntry {
        TimelineEntry {
            event,
            position: version,
            version,
            recorded_at_ms: 1_764_570_600_000 + i64::try_from(version).unwrap(),
            actor: None,
            event_id: u128::from(version),
        }
    }

    #[test]
    fn local_time_is_in_the_calendars_zone() {
        let reference = gridcase_config::ReferenceData::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/config"
        )))
        .unwrap();
        // 2025-12-01 06:30 UTC is 14:30 in Beijing.
        assert_eq!(
            local_time(
                reference.calendar(),
                Timestamp::from_millis(1_764_570_600_000)
            ),
            "2025-12-01 14:30"
        );
        let case = CaseId::from_u128(7);
        let urge = entry(
            Event::CaseUrged(CaseUrged {
                by: WorkerId::parse("supervisor-01").unwrap(),
                note: Note::parse("居民第三次来电").unwrap(),
            }),
            1,
        );
        // Nobody handles the case yet: nobody to tell.
        assert!(build(case, &[urge], 0, &reference).unwrap().is_empty());
        let escalated = entry(
            Event::CaseEscalated(CaseEscalated {
                level: 2,
                to: GridCode::parse("330102-001-001").unwrap(),
                at: None,
            }),
            1,
        );
        let notices = build(case, &[escalated], 0, &reference).unwrap();
        let [(subject, notice)] = notices.as_slice() else {
            panic!("only the leader hears of it: {notices:?}")
        };
        assert_eq!(subject, "gridcase.v1.dispatch.leader.zhu-yaqin");
        assert_eq!(notice.notice_id, format!("{case}-1-leader-zhu-yaqin"));
        assert_eq!(notice.rung, "社区督办");
        assert_eq!(notice.summary, "社区督办：案件已升级至涌金社区（第2级）");
        assert!(notice.for_leader);
    }
}
