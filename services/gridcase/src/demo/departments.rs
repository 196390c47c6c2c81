//! The departments' systems, simulated: each reads its durable JetStream consumer, decodes the
//! protobuf work orders and accepts, reports progress and resolves with a note and a photo —
//! and, by its own temperament, sometimes returns a case that is not its business, asks for a
//! postponement or runs late. The grid workers' app reads the orders for grid workers the same
//! way.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use gridcase::rng::Rng;
use gridcase_proto::dispatch::v1::{self as dispatch_pb, WorkOrder};
use gridcase_proto::supervision::v1 as supervision_pb;
use prost::Message as _;

use super::behaviour::{
    resolve_note, Temperament, POSTPONE_REASONS, PROGRESS_NOTES, RETURN_REASONS,
};
use super::cast::{department_key, office_key, worker_key};
use super::day::{now_ms, sleep_ms, sleep_until_ms, Day};
use super::ledger::Tracked;
use gridcase_domain::GridCode;

/// Work orders come this close to a deadline before a late or slow department waits for it:
/// further off (real deadlines), it works on time.
const LATE_HORIZON_MS: i64 = 15_000;
/// Failed pulls of work orders in a row that make an error.
const MAX_FAILED_PULLS: u32 = 10;

/// Who a work order was for.
#[derive(Debug, Clone)]
pub(super) enum Handler {
    Department(String),
    Worker(String),
    /// A community office, by grid code.
    Community(String),
    /// A street office, by grid code.
    Street(String),
}

impl Handler {
    /// The handler an order is addressed to.
    fn of(order: &WorkOrder) -> Handler {
        if !order.grid_worker.is_empty() {
            Handler::Worker(order.grid_worker.clone())
        } else if !order.community.is_empty() {
            Handler::Community(order.community.clone())
        } else if !order.street.is_empty() {
            Handler::Street(order.street.clone())
        } else {
            Handler::Department(order.department.clone())
        }
    }

    /// The handler a notice names (`by`, `handler`): a department code, `worker:<id>`,
    /// `community:<code>` or `street:<code>`.
    fn named(name: &str) -> Option<Handler> {
        let handler = match name.split_once(':') {
            None if !name.is_empty() => Handler::Department(name.to_owned()),
            Some(("worker", id)) => Handler::Worker(id.to_owned()),
            Some(("community", code)) => Handler::Community(code.to_owned()),
            Some(("street", code)) => Handler::Street(code.to_owned()),
            _ => return None,
        };
        Some(handler)
    }

    pub(super) fn actor(&self, case_id: &str, request_id: String) -> dispatch_pb::Actor {
        let mut actor = dispatch_pb::Actor {
            case_id: case_id.to_owned(),
            request_id,
            ..Default::default()
        };
        match self {
            Handler::Department(code) => actor.department.clone_from(code),
            Handler::Worker(id) => actor.grid_worker.clone_from(id),
            Handler::Community(code) => actor.community.clone_from(code),
            Handler::Street(code) => actor.street.clone_from(code),
        }
        actor
    }

    pub(super) fn who(&self) -> String {
        match self {
            Handler::Department(code) => department_key(code),
            Handler::Worker(id) => worker_key(id),
            Handler::Community(code) => office_key("community", code),
            Handler::Street(code) => office_key("street", code),
        }
    }

    fn name(&self) -> String {
        match self {
            Handler::Department(code) => code.clone(),
            Handler::Worker(id) => format!("grid worker {id}"),
            Handler::Community(code) => format!("community {code}"),
            Handler::Street(code) => format!("street {code}"),
        }
    }

    /// True for the grid worker, community and street: they make the call on a case.
    fn decides(&self) -> bool {
        !matches!(self, Handler::Department(_))
    }
}

/// What a handler of the grid hierarchy does with a case waiting on it.
enum Call {
    Settle,
    Push(String),
    HandUp,
    /// Blow the whistle (社区吹哨): the lead and the participants must report in.
    Whistle(String, Vec<String>),
}

/// How a department paces a first dispatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pace {
    OnTime,
    /// Signs for it after the warning point, before the deadline.
    Slow,
    /// Signs for it after the accept deadline.
    LateAccept,
    /// Resolves it after the resolve deadline.
    LateResolve,
}

impl Day {
    /// Reads work orders from `consumer` for `reader` (a department, the grid workers' app or
    /// the offices' app) and handles each on a task of its own.
    pub(super) async fn read_work_orders(
        self: Arc<Self>,
        consumer: jetstream::consumer::Consumer<pull::Config>,
        reader: String,
    ) {
        let reader = reader.as_str();
        let mut seen: HashSet<String> = HashSet::new();
        // A pull can time out on a busy machine and the next one succeeds: only a run of
        // failures is an error.
        let mut failed_pulls = 0;
        loop {
            let batch = consumer
                .fetch()
                .max_messages(64)
                .expires(Duration::from_millis(500))
                .messages()
                .await;
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(e) => {
                    failed_pulls += 1;
                    if failed_pulls == MAX_FAILED_PULLS {
                        self.fail(format_args!("{reader}: fetching work orders: {e}"));
                    }
                    sleep_ms(500).await;
                    continue;
                }
            };
            while let Some(message) = batch.next().await {
                let message = match message {
                    Ok(message) => {
                        failed_pulls = 0;
                        message
                    }
                    Err(e) => {
                        failed_pulls += 1;
                        if failed_pulls == MAX_FAILED_PULLS {
                            self.fail(format_args!("{reader}: receiving work orders: {e}"));
                        }
                        break;
                    }
                };
                if gridcase_bus::headers::is_notice(message.headers.as_ref()) {
                    let notice = dispatch_pb::Notice::decode(message.payload.as_ref());
                    if let Err(e) = message.ack().await {
                        self.fail(format_args!("{reader}: acknowledging a notice: {e}"));
                    }
                    match notice {
                        Ok(notice) if seen.insert(notice.notice_id.clone()) => {
                            self.received(reader, &notice);
                        }
                        Ok(_) => {}
                        Err(e) => self.fail(format_args!("{reader}: undecodable notice: {e}")),
                    }
                    continue;
                }
                let order = WorkOrder::decode(message.payload.as_ref());
                if let Err(e) = message.ack().await {
                    self.fail(format_args!("{reader}: acknowledging a work order: {e}"));
                }
                let order = match order {
                    Ok(order) => order,
                    Err(e) => {
                        self.fail(format_args!("{reader}: undecodable work order: {e}"));
                        continue;
                    }
                };
                // A redelivered copy carries the same id; a participant's copy of a joint
                // case is for the consultation: it reports in (报到), and the lead acts.
                if !seen.insert(order.work_order_id.clone()) {
                    continue;
                }
                if order.for_consultation {
                    let day = Arc::clone(&self);
                    self.spawn(async move { day.report_in(order).await });
                    continue;
                }
                let handler = Handler::of(&order);
                if order.report_in_deadline_ms > 0 {
                    // The lead of a joint consultation reports in too.
                    let day = Arc::clone(&self);
                    let call = order.clone();
                    self.spawn(async move { day.report_in(call).await });
                }
                let day = Arc::clone(&self);
                self.spawn(async move { day.handle_order(handler, order).await });
            }
        }
    }

    /// Counts a notice for the summary, tells of the ones a person acts on (an urge, an
    /// escalation reaching a leader), and sets the verifier to work on a verification task.
    fn received(self: &Arc<Self>, reader: &str, notice: &dispatch_pb::Notice) {
        *self
            .notices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((notice.kind, notice.for_leader))
            .or_default() += 1;
        let kind = notice.kind();
        if kind == dispatch_pb::NoticeKind::VerificationTask {
            let Some(resolver) = Handler::named(&notice.by) else {
                return self.fail(format_args!(
                    "{reader}: a verification task resolved by {:?}",
                    notice.by
                ));
            };
            let verifier = match GridCode::parse(&notice.recipient) {
                Ok(community) => (
                    office_key("community", &notice.recipient),
                    format!("community {community}"),
                ),
                Err(_) => (worker_key(&notice.recipient), notice.recipient.clone()),
            };
            let day = Arc::clone(self);
            let case_id = notice.case_id.clone();
            self.spawn(async move { day.verify(case_id, resolver, verifier).await });
            return;
        }
        if kind == dispatch_pb::NoticeKind::Urge
            || (kind == dispatch_pb::NoticeKind::Escalation && notice.for_leader)
        {
            self.say(format_args!(
                "{reader}: notice to {} on {}: {}",
                notice.recipient, notice.tracking_code, notice.summary
            ));
        }
    }

    async fn handle_order(self: Arc<Self>, handler: Handler, order: WorkOrder) {
        // The report's reply may still be on its way when a quick work order arrives.
        let mut case = None;
        for _ in 0..100 {
            case = self.ledger.update(&order.case_id, |case| {
                case.orders += 1;
                let rework = std::mem::take(&mut case.rework_pending);
                (case.clone(), rework)
            });
            if case.is_some() {
                break;
            }
            sleep_ms(50).await;
        }
        // Not one of the day's cases (an earlier run's, on an attached system): left alone.
        let Some((case, rework)) = case else { return };
        let step = format!("order{}", case.orders);
        let mut rng = self.rng(&case, &step);
        let dispatch = self.api.dispatch(&handler.who());
        let who = handler.name();
        let act = |name: &str| {
            handler.actor(
                &case.case_id,
                self.request_id(&case, &format!("{step}-{name}")),
            )
        };

        if rework {
            sleep_ms(rng.millis(300, 1200)).await;
            let note = format!("{}（返工）", self.resolution_note(&handler, &order));
            self.resolve(&handler, &case, &order, act("resolve"), note)
                .await;
            return;
        }
        if handler.decides() {
            return self.make_the_call(handler, case, order, &mut rng).await;
        }
        let first = case.returned_by.is_empty() && !case.reopened;
        let temperament = match &handler {
            Handler::Department(code) => Temperament::of(code),
            _ => Temperament::of("grid worker"),
        };
        if let Handler::Department(code) = &handler {
            if first && rng.chance(temperament.returns) {
                sleep_ms(rng.millis(200, 800)).await;
                let request = dispatch_pb::ReturnRequest {
                    actor: Some(act("return")),
                    reason: rng.pick(RETURN_REASONS).to_string(),
                };
                // Noted before the call: the operator may meet the case in the manual queue
                // before the reply arrives, and must not send it back here.
                self.ledger
                    .update(&case.case_id, |c| c.returned_by.push(code.clone()));
                match dispatch.clone().r#return(request).await {
                    Ok(_) => {
                        self.ledger.count(|c| c.returned += 1);
                        self.say(format_args!(
                            "returned   {} {} by {code}: not its business (退单)",
                            case.tracking_code, order.category_name
                        ));
                    }
                    Err(status) => {
                        self.ledger.update(&case.case_id, |c| {
                            c.returned_by.retain(|returned| returned != code);
                        });
                        self.failed(
                            format_args!("{who} returning {}", case.tracking_code),
                            &status,
                        );
                    }
                }
                return;
            }
        }

        let now = now_ms();
        let pace = if first && matches!(handler, Handler::Department(_)) {
            choose_pace(&mut rng, &temperament, &order, now)
        } else {
            Pace::OnTime
        };
        let accept_at = match pace {
            Pace::LateAccept => order.accept_deadline_ms + rng.millis(300, 1000) as i64,
            Pace::Slow => {
                case.reported_at_ms
                    + ((order.accept_deadline_ms - case.reported_at_ms) as f64 * 0.9) as i64
            }
            Pace::OnTime | Pace::LateResolve => {
                now + capped(rng.millis(150, 700), order.accept_deadline_ms - now, 0.5)
            }
        };
        match pace {
            Pace::LateAccept | Pace::LateResolve => self.ledger.count(|c| c.late += 1),
            Pace::Slow => self.ledger.count(|c| c.slow += 1),
            Pace::OnTime => {}
        }
        if pace == Pace::LateAccept {
            self.say(format_args!(
                "late       {} {}: {who} lets the accept deadline pass",
                case.tracking_code, order.category_name
            ));
        }
        sleep_until_ms(accept_at).await;
        let accepted = dispatch
            .clone()
            .accept(dispatch_pb::AcceptRequest {
                actor: Some(act("accept")),
            })
            .await;
        if let Err(status) = accepted {
            return self.failed(
                format_args!("{who} accepting {}", case.tracking_code),
                &status,
            );
        }
        self.ledger.count(|c| c.accepted += 1);

        if rng.chance(0.6) {
            sleep_ms(rng.millis(100, 400)).await;
            let request = dispatch_pb::ReportProgressRequest {
                actor: Some(act("progress")),
                note: rng.pick(PROGRESS_NOTES).to_string(),
            };
            if let Err(status) = dispatch.clone().report_progress(request).await {
                return self.failed(
                    format_args!("{who} reporting progress on {}", case.tracking_code),
                    &status,
                );
            }
        }

        let mut resolve_deadline = order.resolve_deadline_ms;
        if first
            && matches!(handler, Handler::Department(_))
            && pace == Pace::OnTime
            && resolve_deadline > now_ms()
            && rng.chance(temperament.postpones)
        {
            if let Some(until) = self.postpone(&handler, &case, &order, &mut rng).await {
                resolve_deadline = until;
            }
        }
        let now = now_ms();
        let resolve_at = if pace == Pace::LateResolve {
            self.say(format_args!(
                "late       {} {}: {who} lets the resolve deadline pass",
                case.tracking_code, order.category_name
            ));
            resolve_deadline + rng.millis(300, 1000) as i64
        } else {
            now + capped(rng.millis(300, 1500), resolve_deadline - now, 0.6)
        };
        sleep_until_ms(resolve_at).await;
        let note = self.resolution_note(&handler, &order);
        self.resolve(&handler, &case, &order, act("resolve"), note)
            .await;
    }

    fn resolution_note(&self, handler: &Handler, order: &WorkOrder) -> String {
        match handler {
            Handler::Department(code) => resolve_note(code, &order.category_name),
            Handler::Worker(_) => format!("{}：网格员已现场处置，已整改到位", order.category_name),
            Handler::Community(_) => format!(
                "{}：社区已召集物业、楼栋长和当事人协调处理，已落实到位",
                order.category_name
            ),
            Handler::Street(_) => format!(
                "{}：街道已牵头约谈相关单位，问题已解决",
                order.category_name
            ),
        }
    }

    /// The grid worker's (or the office's) call on a case waiting on it: mostly what the
    /// catalogue suggests — settle a small matter, push a department's to it, hand a
    /// community's up — and now and then the other way, as people on the spot do.
    async fn make_the_call(
        self: Arc<Self>,
        handler: Handler,
        case: Tracked,
        order: WorkOrder,
        rng: &mut Rng,
    ) {
        let department = order.suggested_department.clone();
        // The departments of the category's joint group, for a whistle.
        let group = gridcase_domain::CategoryCode::parse(&order.category_code)
            .ok()
            .and_then(|code| self.reference.category(&code))
            .and_then(|category| match &category.owner {
                gridcase_config::Owner::JointGroup(group) => self.reference.joint_group(group),
                gridcase_config::Owner::Department(_) => None,
            })
            .map(|group| {
                (
                    group.lead.to_string(),
                    group.participants.iter().map(ToString::to_string).collect(),
                )
            });
        let whistle = matches!(handler, Handler::Community(_) | Handler::Street(_))
            && group.is_some()
            && (order.suggestion == "consult" || rng.chance(0.5));
        let call = match (&handler, order.suggestion.as_str()) {
            // Ownership unclear among departments: the community or street calls them all
            // to report in (社区吹哨、部门报到).
            _ if whistle => {
                let (lead, participants) = group.unwrap_or_default();
                Call::Whistle(lead, participants)
            }
            (Handler::Street(_), _) if !department.is_empty() && rng.chance(0.7) => {
                Call::Push(department)
            }
            (Handler::Street(_), _) => Call::Settle,
            (Handler::Worker(_), "settle") => Call::Settle,
            // Ownership unclear on the spot: the worker asks the community to step in, above
            // all for a matter of several departments.
            (Handler::Worker(_), "consult") if rng.chance(0.5) => Call::HandUp,
            (Handler::Worker(_), _) if rng.chance(0.15) => Call::HandUp,
            (Handler::Worker(_), "hand_up") => Call::HandUp,
            // The community settles its own matters and, by mediation, half of what comes up
            // to it; now and then it needs the street.
            (Handler::Community(_), "settle" | "hand_up") => Call::Settle,
            (Handler::Community(_), _) if rng.chance(0.5) => Call::Settle,
            (Handler::Community(_), _) if rng.chance(0.3) => Call::HandUp,
            (_, _) if !department.is_empty() => Call::Push(department),
            (Handler::Community(_), _) => Call::Settle,
            _ => Call::HandUp,
        };
        let who = handler.name();
        let act = |name: &str| {
            handler.actor(
                &case.case_id,
                self.request_id(&case, &format!("order{}-{name}", case.orders)),
            )
        };
        sleep_ms(rng.millis(150, 700)).await;
        let dispatch = self.api.dispatch(&handler.who());
        let (department, up, reason, line) = match call {
            Call::Settle => {
                if let Err(status) = dispatch
                    .clone()
                    .accept(dispatch_pb::AcceptRequest {
                        actor: Some(act("accept")),
                    })
                    .await
                {
                    return self.failed(
                        format_args!("{who} accepting {}", case.tracking_code),
                        &status,
                    );
                }
                self.ledger.count(|c| c.accepted += 1);
                match handler {
                    Handler::Worker(_) => self.ledger.count(|c| c.self_handled += 1),
                    _ => self.ledger.count(|c| c.settled_by_offices += 1),
                }
                sleep_ms(rng.millis(300, 1200)).await;
                let note = self.resolution_note(&handler, &order);
                return self
                    .resolve(&handler, &case, &order, act("resolve"), note)
                    .await;
            }
            Call::Push(department) => {
                let reason = format!(
                    "{}属{department}职责，现场已拍照取证，点对点推送办理",
                    order.category_name
                );
                let line = format!("pushes it to {department} (直通)");
                (department, false, reason, line)
            }
            Call::Whistle(lead, participants) => {
                let request = dispatch_pb::WhistleRequest {
                    actor: Some(act("whistle")),
                    lead: lead.clone(),
                    participants: participants.clone(),
                    report_in_minutes: 0,
                    reason: format!(
                        "{}涉及{}等多个部门，权属交叉，社区吹哨，请各部门限时到场报到、提出处置意见",
                        order.category_name, lead
                    ),
                };
                match dispatch.clone().whistle(request).await {
                    Ok(_) => {
                        self.ledger.count(|c| c.whistles += 1);
                        self.say(format_args!(
                            "whistle    {} {}: {who} calls {lead} to lead, {} to report in (吹哨报到)",
                            case.tracking_code,
                            order.category_name,
                            participants.join(", ")
                        ));
                    }
                    Err(status) => self.failed(
                        format_args!("{who} blowing the whistle on {}", case.tracking_code),
                        &status,
                    ),
                }
                return;
            }
            Call::HandUp => {
                let (reason, line) = match handler {
                    Handler::Worker(_) => (
                        format!(
                            "{}涉及多方、权属不清，网格协调不了，请社区出面会商",
                            order.category_name
                        ),
                        "hands it up to the community".to_owned(),
                    ),
                    _ => (
                        format!("{}社区协调未果，报请街道统筹解决", order.category_name),
                        "hands it up to the street".to_owned(),
                    ),
                };
                (String::new(), true, reason, line)
            }
        };
        let request = dispatch_pb::ReferRequest {
            actor: Some(act("refer")),
            department,
            participants: Vec::new(),
            up,
            reason,
        };
        match dispatch.clone().refer(request).await {
            Ok(_) => {
                self.ledger.count(|c| c.referred += 1);
                self.say(format_args!(
                    "referred   {} {}: {who} {line}",
                    case.tracking_code, order.category_name
                ));
            }
            Err(status) => {
                self.failed(
                    format_args!("{who} referring {}", case.tracking_code),
                    &status,
                );
            }
        }
    }

    /// A department called by a whistle reports in with its opinion: most at once, a slow one
    /// after the deadline.
    async fn report_in(self: Arc<Self>, order: WorkOrder) {
        if order.report_in_deadline_ms == 0 {
            return;
        }
        let department = order.recipient.clone();
        let Some(case) = self.ledger.get(&order.case_id) else {
            return;
        };
        let mut rng = self.rng(&case, &format!("report-in-{department}"));
        let temperament = Temperament::of(&department);
        let late = rng.chance(temperament.late);
        if late {
            sleep_until_ms(order.report_in_deadline_ms + 500).await;
        } else {
            sleep_ms(rng.millis(200, 900)).await;
        }
        let handler = Handler::Department(department.clone());
        let request = dispatch_pb::ReportInRequest {
            actor: Some(handler.actor(
                &case.case_id,
                self.request_id(&case, &format!("report-in-{}", order.work_order_id)),
            )),
            opinion: format!(
                "{department}已报到：派员到现场核实{}，按职责配合{}处置",
                order.category_name, order.department
            ),
        };
        match self.api.dispatch(&handler.who()).report_in(request).await {
            Ok(_) => {
                self.ledger.count(|c| {
                    c.reported_in += 1;
                    c.reported_in_late += usize::from(late);
                });
            }
            // A case returned or re-routed meanwhile calls nobody any more (the lead may have
            // sent it back before the others reported in).
            Err(status)
                if status.code() == tonic::Code::FailedPrecondition
                    || status.message().contains("not called to report in") => {}
            Err(status) => self.failed(
                format_args!("{department} reporting in on {}", case.tracking_code),
                &status,
            ),
        }
    }

    /// Asks for more time and has the supervisor decide; the new deadline if approved.
    async fn postpone(
        &self,
        handler: &Handler,
        case: &Tracked,
        order: &WorkOrder,
        rng: &mut Rng,
    ) -> Option<i64> {
        let span = (order.resolve_deadline_ms - case.reported_at_ms).max(1000);
        let until = order.resolve_deadline_ms + span / 2;
        let request = dispatch_pb::RequestPostponementRequest {
            actor: Some(handler.actor(&case.case_id, self.request_id(case, "postpone"))),
            until_ms: until,
            reason: rng.pick(POSTPONE_REASONS).to_string(),
        };
        if let Err(status) = self
            .api
            .dispatch(&handler.who())
            .request_postponement(request)
            .await
        {
            self.failed(
                format_args!("asking to postpone {}", case.tracking_code),
                &status,
            );
            return None;
        }
        self.ledger.count(|c| c.postponements += 1);
        sleep_ms(rng.millis(200, 600)).await;
        let approve = rng.chance(0.75);
        let mut supervision = self.api.supervision();
        let decided = if approve {
            supervision
                .approve_postponement(supervision_pb::ApprovePostponementRequest {
                    case_id: case.case_id.clone(),
                    request_id: self.request_id(case, "approve"),
                })
                .await
        } else {
            supervision
                .refuse_postponement(supervision_pb::RefusePostponementRequest {
                    case_id: case.case_id.clone(),
                    reason: "延期理由不充分，请按原时限办结".to_owned(),
                    request_id: self.request_id(case, "refuse"),
                })
                .await
        };
        match decided {
            Ok(_) => {
                self.say(format_args!(
                    "postponed  {} {}: the supervisor {} (延期)",
                    case.tracking_code,
                    order.category_name,
                    if approve { "approves" } else { "refuses" }
                ));
                approve.then_some(until)
            }
            Err(status) => {
                self.failed(
                    format_args!("deciding the postponement of {}", case.tracking_code),
                    &status,
                );
                None
            }
        }
    }

    async fn resolve(
        self: &Arc<Self>,
        handler: &Handler,
        case: &Tracked,
        order: &WorkOrder,
        actor: dispatch_pb::Actor,
        note: String,
    ) {
        let request = dispatch_pb::ResolveRequest {
            actor: Some(actor),
            note,
            evidence_urls: vec![format!(
                "https://media.example.cn/evidence/{}/{}.jpg",
                self.run, order.work_order_id
            )],
        };
        if let Err(status) = self.api.dispatch(&handler.who()).resolve(request).await {
            return self.failed(format_args!("resolving {}", case.tracking_code), &status);
        }
        // The on-site check comes as a task on the verifier's subject (see `received`).
        self.ledger.count(|c| c.resolved += 1);
    }
}

/// How a department paces a first dispatch, by its temperament and the deadlines in reach.
fn choose_pace(rng: &mut Rng, temperament: &Temperament, order: &WorkOrder, now: i64) -> Pace {
    let in_reach = |deadline: i64| deadline > now && deadline - now < LATE_HORIZON_MS;
    let draw = rng.unit();
    if draw < temperament.late {
        if in_reach(order.resolve_deadline_ms) && rng.chance(0.5) {
            return Pace::LateResolve;
        }
        if in_reach(order.accept_deadline_ms) {
            return Pace::LateAccept;
        }
        if in_reach(order.resolve_deadline_ms) {
            return Pace::LateResolve;
        }
    } else if draw < temperament.late + temperament.slow && in_reach(order.accept_deadline_ms) {
        return Pace::Slow;
    }
    Pace::OnTime
}

/// `wanted` milliseconds, but at most `fraction` of `left` (when `left` is positive).
fn capped(wanted: u64, left: i64, fraction: f64) -> i64 {
    let wanted = i64::try_from(wanted).unwrap_or(i64::MAX);
    if left > 0 {
        wanted.min((left as f64 * fraction) as i64)
    } else {
        wanted
    }
}
