//! Bad input to dispatch: the rows of the table for its RPCs.

use super::*;

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let accept = |auth, actor| {
        call!(DispatchClient, ch.dispatch, accept, auth, AcceptRequest { actor })
    };
    let give_back = |auth, actor, reason: String| {
        let message = ReturnRequest { actor, reason };
        call!(DispatchClient, ch.dispatch, r#return, auth, message)
    };
    let progress = |auth, actor, note: String| {
        let message = ReportProgressRequest { actor, note };
        call!(DispatchClient, ch.dispatch, report_progress, auth, message)
    };
    let postpone = |auth, actor, until_ms, reason: String| {
        let message = RequestPostponementRequest {
            actor,
            until_ms,
            reason,
        };
        call!(DispatchClient, ch.dispatch, request_postponement, auth, message)
    };
    let resolve = |auth, actor, note: String, evidence_urls: Vec<String>| {
        let message = ResolveRequest {
            actor,
            note,
            evidence_urls,
        };
        call!(DispatchClient, ch.dispatch, resolve, auth, message)
    };
    let refer = |auth, actor, department: &str, participants: &[&str], up: bool, reason: &str| {
        let message = ReferRequest {
            actor,
            department: department.to_owned(),
            participants: participants.iter().map(|p| (*p).to_owned()).collect(),
            up,
            reason: reason.to_owned(),
        };
        call!(DispatchClient, ch.dispatch, refer, auth, message)
    };
    let office = |case: &str, community: &str, street: &str| {
        Some(Actor {
            case_id: case.to_owned(),
            community: community.to_owned(),
            street: street.to_owned(),
            request_id: "bad-input-request".to_owned(),
            ..Actor::default()
        })
    };
    let gas_case = cases.dispatched.as_str();
    let worker_case = cases.with_worker.as_str();
    let lin_ming = || actor(worker_case, "", "lin-ming", "bad-input-request");
    let water_case = cases.accepted.as_str();
    let a_month_later = || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis();
        i64::try_from(now).unwrap() + 30 * 24 * 3_600_000
    };
    let note = || "已派人到现场处理".to_owned();

    let rpc = "dispatch.Accept";
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        accept(GAS, None));
    t.row(rpc, "malformed case id", InvalidArgument, "actor.case_id: must be 32 hex digits",
        accept(GAS, by("gas", "not-a-case")));
    t.row(rpc, "no handler named", InvalidArgument,
        "actor: needs a department, grid_worker, community or street",
        accept(GAS, actor(gas_case, "", "", "bad-input-request")));
    t.row(rpc, "both department and worker", InvalidArgument,
        "actor: give one of department, grid_worker, community or street, not department and grid_worker",
        accept(GAS, actor(gas_case, "gas", "lin-ming", "bad-input-request")));
    t.row(rpc, "malformed department", InvalidArgument,
        "actor.department: must start with a lowercase letter",
        accept(GAS, by("Gas", gas_case)));
    t.row(rpc, "unknown department", InvalidArgument,
        "actor.department: nobody is not a known department",
        accept(GAS, by("nobody", gas_case)));
    t.row(rpc, "unknown grid worker", InvalidArgument,
        "actor.grid_worker: ghost-worker is not a known grid worker",
        accept(GHOST, actor(gas_case, "", "ghost-worker", "bad-input-request")));
    t.row(rpc, "missing request id", InvalidArgument,
        "actor.request_id: must not be empty",
        accept(GAS, actor(gas_case, "gas", "", "")));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "actor.request_id: 129 characters, at most 128",
        accept(GAS, actor(gas_case, "gas", "", &"r".repeat(129))));
    t.row(rpc, "department acting for another", PermissionDenied,
        "actor: department:gas:clerk-1 may not act for department:water",
        accept(GAS, by("water", water_case)));
    t.row(rpc, "grid worker acting for a department", PermissionDenied,
        "actor: grid_worker:lin-ming may not act for department:gas",
        accept(LIN_MING, by("gas", gas_case)));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        accept(GAS, by("gas", UNKNOWN_CASE)));
    t.row(rpc, "case dispatched to someone else", PermissionDenied,
        "cannot accept: department water is not the assignee (department gas is)",
        accept(WATER, by("water", gas_case)));
    t.row(rpc, "case not dispatched at all", FailedPrecondition,
        "cannot accept: case is reported, not dispatched",
        accept(GAS, by("gas", &cases.manual)));
    t.row(rpc, "case already accepted", FailedPrecondition,
        "cannot accept: case already accepted by department water",
        accept(WATER, by("water", water_case)));
    t.row(rpc, "case rejected", FailedPrecondition,
        "cannot accept: case is rejected, not dispatched",
        accept(GAS, by("gas", &cases.rejected)));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call Accept",
        accept(OPERATOR, by("gas", gas_case)));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        accept(Auth::NoToken, by("gas", gas_case)));

    let rpc = "dispatch.Return";
    let reason = || "不属于本单位职责".to_owned();
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        give_back(GAS, None, reason()));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        give_back(GAS, by("gas", gas_case), "\n".into()));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        give_back(GAS, by("gas", gas_case), chars(1001)));
    t.row(rpc, "case dispatched to someone else", PermissionDenied,
        "cannot return: department water is not the assignee",
        give_back(WATER, by("water", gas_case), reason()));
    t.row(rpc, "case awaiting triage", FailedPrecondition,
        "cannot return: case is reported, not dispatched or accepted",
        give_back(GAS, by("gas", &cases.manual), reason()));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        give_back(GAS, by("gas", UNKNOWN_CASE), reason()));
    t.row(rpc, "supervisor role", PermissionDenied, "role supervisor may not call Return",
        give_back(SUPERVISOR, by("gas", gas_case), reason()));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        give_back(UNKNOWN_TOKEN, by("gas", gas_case), reason()));

    let rpc = "dispatch.Refer";
    let why = "权属不清，需要协调";
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        refer(LIN_MING, None, "urban_mgmt", &[], false, why));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        refer(LIN_MING, lin_ming(), "urban_mgmt", &[], false, " "));
    t.row(rpc, "neither a department nor up", InvalidArgument,
        "department: needs a department to push the case to, or up",
        refer(LIN_MING, lin_ming(), "", &[], false, why));
    t.row(rpc, "both a department and up", InvalidArgument, "up: give a department or up, not both",
        refer(LIN_MING, lin_ming(), "urban_mgmt", &[], true, why));
    t.row(rpc, "unknown department", InvalidArgument, "department: nobody is not a known department",
        refer(LIN_MING, lin_ming(), "nobody", &[], false, why));
    t.row(rpc, "consultation without a lead", InvalidArgument,
        "participants: a joint consultation needs its lead department, not up",
        refer(LIN_MING, lin_ming(), "", &["housing"], true, why));
    t.row(rpc, "lead also a participant", InvalidArgument,
        "participants: lead department housing must not also be a participant",
        refer(LIN_MING, lin_ming(), "housing", &["housing"], false, why));
    t.row(rpc, "unknown participant", InvalidArgument,
        "participants[1]: nobody is not a known department",
        refer(LIN_MING, lin_ming(), "housing", &["urban_mgmt", "nobody"], false, why));
    t.row(rpc, "another worker's case", PermissionDenied,
        "cannot refer: worker chen-lijuan is not the assignee (worker lin-ming is)",
        refer(CHEN_LIJUAN, actor(worker_case, "", "chen-lijuan", "r"), "urban_mgmt", &[], false, why));
    t.row(rpc, "worker acting as another", PermissionDenied,
        "actor: grid_worker:chen-lijuan may not act for grid_worker:lin-ming",
        refer(CHEN_LIJUAN, lin_ming(), "urban_mgmt", &[], false, why));
    t.row(rpc, "another grid's community", PermissionDenied,
        "actor: community:330102-001-002:secretary-1 may not act for community:330102-001-001",
        refer(QINGBO, office(worker_case, "330102-001-001", ""), "urban_mgmt", &[], false, why));
    t.row(rpc, "a tier above the case's handler", PermissionDenied,
        "cannot refer: community 330102-001-001 is not the assignee (worker lin-ming is)",
        refer(YONGJIN, office(worker_case, "330102-001-001", ""), "urban_mgmt", &[], false, why));
    t.row(rpc, "street code as a community", InvalidArgument,
        "actor.community: 330102-001 is a street code, not a community code",
        refer(YONGJIN, office(worker_case, "330102-001", ""), "urban_mgmt", &[], false, why));
    t.row(rpc, "unknown street", InvalidArgument, "actor.street: 330102-009 is not a known street",
        refer(LIULANG, office(worker_case, "", "330102-009"), "urban_mgmt", &[], false, why));
    t.row(rpc, "a department refers", FailedPrecondition,
        "cannot refer: department gas is a department; a department returns a case",
        refer(GAS, by("gas", gas_case), "water", &[], false, why));
    t.row(rpc, "a department hands up", InvalidArgument,
        "up: a department does not hand cases up",
        refer(GAS, by("gas", gas_case), "", &[], true, why));
    t.row(rpc, "case awaiting triage", FailedPrecondition,
        "cannot refer: case is reported, not dispatched or accepted",
        refer(LIN_MING, actor(&cases.manual, "", "lin-ming", "r"), "urban_mgmt", &[], false, why));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        refer(LIN_MING, actor(UNKNOWN_CASE, "", "lin-ming", "r"), "urban_mgmt", &[], false, why));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call Refer",
        refer(OPERATOR, lin_ming(), "urban_mgmt", &[], false, why));

    let whistle = |auth, actor, lead: &str, participants: &[&str], minutes: u32, reason: &str| {
        let message = WhistleRequest {
            actor,
            lead: lead.to_owned(),
            participants: participants.iter().map(|p| (*p).to_owned()).collect(),
            report_in_minutes: minutes,
            reason: reason.to_owned(),
        };
        call!(DispatchClient, ch.dispatch, whistle, auth, message)
    };
    let yongjin = || office(worker_case, "330102-001-001", "");
    let why = "外墙瓷砖脱落，住建牵头，城管配合";
    let rpc = "dispatch.Whistle";
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        whistle(YONGJIN, None, "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "no lead", InvalidArgument, "lead: a whistle names the department that leads",
        whistle(YONGJIN, yongjin(), "", &["urban_mgmt"], 0, why));
    t.row(rpc, "whistle without departments besides the lead", InvalidArgument,
        "participants: a whistle calls at least one department besides the lead",
        whistle(YONGJIN, yongjin(), "housing", &[], 0, why));
    t.row(rpc, "unknown lead", InvalidArgument, "lead: nobody is not a known department",
        whistle(YONGJIN, yongjin(), "nobody", &["urban_mgmt"], 0, why));
    t.row(rpc, "unknown participant", InvalidArgument,
        "participants[0]: nobody is not a known department",
        whistle(YONGJIN, yongjin(), "housing", &["nobody"], 0, why));
    t.row(rpc, "lead called twice", InvalidArgument,
        "participants: lead department housing must not also be a participant",
        whistle(YONGJIN, yongjin(), "housing", &["housing"], 0, why));
    t.row(rpc, "two minutes to report in", InvalidArgument,
        "report_in_minutes: must be 0 (the policy's time) or 5 to 1440 minutes, got 2",
        whistle(YONGJIN, yongjin(), "housing", &["urban_mgmt"], 2, why));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        whistle(YONGJIN, yongjin(), "housing", &["urban_mgmt"], 0, " "));
    t.row(rpc, "wrong tier: a grid worker", PermissionDenied,
        "role grid_worker may not call Whistle",
        whistle(LIN_MING, lin_ming(), "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "wrong tier: a department", PermissionDenied, "role department may not call Whistle",
        whistle(GAS, by("gas", gas_case), "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "a case not waiting on the community", PermissionDenied,
        "cannot blow the whistle: community 330102-001-001 is not the assignee (worker lin-ming is)",
        whistle(YONGJIN, yongjin(), "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "another grid's community", PermissionDenied,
        "actor: community:330102-001-002:secretary-1 may not act for community:330102-001-001",
        whistle(QINGBO, yongjin(), "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "case awaiting triage", FailedPrecondition,
        "cannot blow the whistle: case is reported, not dispatched or accepted",
        whistle(YONGJIN, office(&cases.manual, "330102-001-001", ""), "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        whistle(LIULANG, office(UNKNOWN_CASE, "", "330102-001"), "housing", &["urban_mgmt"], 0, why));
    let leader = |case: &str, grid: &str| {
        Some(Actor {
            case_id: case.to_owned(),
            grid_leader: grid.to_owned(),
            request_id: "bad-input-request".to_owned(),
            ..Actor::default()
        })
    };
    t.row(rpc, "grid leader of another grid", PermissionDenied,
        "actor: grid_leader:330102-001-001-001:wang-yan may not act for grid_leader:330102-001-001-002",
        whistle(WANG_YAN, leader(worker_case, "330102-001-001-002"), "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "grid leader on a case not waiting on a worker", PermissionDenied,
        "cannot blow the whistle: the case is not waiting on a grid worker of grid 330102-001-001-001",
        whistle(WANG_YAN, leader(gas_case, "330102-001-001-001"), "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "grid leader given with a community", InvalidArgument,
        "actor: give grid_leader or community, not both",
        whistle(WANG_YAN, Some(Actor { community: "330102-001-001".to_owned(), ..leader(worker_case, "330102-001-001-001").unwrap() }),
            "housing", &["urban_mgmt"], 0, why));
    t.row(rpc, "community code as a grid leader's", InvalidArgument,
        "actor.grid_leader: 330102-001-001 is a community code, not a grid code",
        whistle(WANG_YAN, leader(worker_case, "330102-001-001"), "housing", &["urban_mgmt"], 0, why));

    let report_in = |auth, actor, opinion: &str| {
        let message = ReportInRequest {
            actor,
            opinion: opinion.to_owned(),
        };
        call!(DispatchClient, ch.dispatch, report_in, auth, message)
    };
    let joint = cases.joint.as_str();
    let opinion = "已到现场，明天出整改意见";
    let rpc = "dispatch.ReportIn";
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        report_in(ECOLOGY, None, opinion));
    t.row(rpc, "blank opinion", InvalidArgument, "opinion: must not be empty",
        report_in(ECOLOGY, by("ecology_env", joint), ""));
    t.row(rpc, "opinion of 1001 characters", InvalidArgument,
        "opinion: 1001 characters, at most 1000",
        report_in(ECOLOGY, by("ecology_env", joint), &chars(1001)));
    t.row(rpc, "report in twice", FailedPrecondition,
        "cannot report in: ecology_env already reported in",
        report_in(ECOLOGY, by("ecology_env", joint), opinion));
    t.row(rpc, "a department not called", PermissionDenied,
        "cannot report in: gas is not called to report in on this case",
        report_in(GAS, by("gas", joint), opinion));
    t.row(rpc, "a case nobody is called on", PermissionDenied,
        "cannot report in: gas is not called to report in on this case",
        report_in(GAS, by("gas", gas_case), opinion));
    t.row(rpc, "department acting for another", PermissionDenied,
        "actor: department:gas:clerk-1 may not act for department:ecology_env",
        report_in(GAS, by("ecology_env", joint), opinion));
    t.row(rpc, "community office", PermissionDenied, "role community may not call ReportIn",
        report_in(YONGJIN, office(joint, "330102-001-001", ""), opinion));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        report_in(GAS, by("gas", UNKNOWN_CASE), opinion));

    let rpc = "dispatch.ReportProgress";
    t.row(rpc, "blank note", InvalidArgument, "note: must not be empty",
        progress(WATER, by("water", water_case), String::new()));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        progress(WATER, by("water", water_case), chars(1001)));
    t.row(rpc, "before accepting", FailedPrecondition,
        "cannot report progress: case is dispatched, not accepted",
        progress(GAS, by("gas", gas_case), note()));
    t.row(rpc, "case accepted by someone else", PermissionDenied,
        "cannot report progress: department gas is not the assignee (department water is)",
        progress(GAS, by("gas", water_case), note()));
    t.row(rpc, "admin role", PermissionDenied, "role admin may not call ReportProgress",
        progress(ADMIN, by("water", water_case), note()));

    let rpc = "dispatch.RequestPostponement";
    t.row(rpc, "until_ms missing", InvalidArgument, "until_ms: must be a time after the Unix epoch",
        postpone(WATER, by("water", water_case), 0, reason()));
    t.row(rpc, "until_ms negative", InvalidArgument,
        "until_ms: must be a time after the Unix epoch",
        postpone(WATER, by("water", water_case), -86_400_000, reason()));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        postpone(WATER, by("water", water_case), a_month_later(), String::new()));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        postpone(WATER, by("water", water_case), a_month_later(), chars(1001)));
    t.row(rpc, "until not after the resolve deadline", FailedPrecondition,
        "is not after the resolve deadline",
        postpone(WATER, by("water", water_case), 1_000, reason()));
    t.row(rpc, "before accepting", FailedPrecondition,
        "cannot request postponement: case is dispatched, not accepted",
        postpone(GAS, by("gas", gas_case), a_month_later(), reason()));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call RequestPostponement",
        postpone(GATEWAY, by("water", water_case), a_month_later(), reason()));

    let rpc = "dispatch.Resolve";
    let photo = || vec!["https://media.example.cn/done.jpg".to_owned()];
    t.row(rpc, "actor missing", InvalidArgument, "actor: is required",
        resolve(WATER, None, note(), photo()));
    t.row(rpc, "blank note", InvalidArgument, "note: must not be empty",
        resolve(WATER, by("water", water_case), " ".into(), photo()));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        resolve(WATER, by("water", water_case), chars(1001), photo()));
    t.row(rpc, "evidence link not http", InvalidArgument,
        "evidence_urls[0]: must start with http:// or https://",
        resolve(WATER, by("water", water_case), note(), vec!["file:///tmp/done.jpg".into()]));
    t.row(rpc, "21 evidence links", InvalidArgument, "evidence_urls: at most 20 links, got 21",
        resolve(WATER, by("water", water_case), note(), vec![photo().remove(0); 21]));
    t.row(rpc, "before accepting", FailedPrecondition,
        "cannot resolve: case is dispatched, not accepted",
        resolve(GAS, by("gas", gas_case), note(), photo()));
    t.row(rpc, "case awaiting triage", FailedPrecondition,
        "cannot resolve: case is reported, not accepted",
        resolve(WATER, by("water", &cases.manual), note(), photo()));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        resolve(WATER, by("water", UNKNOWN_CASE), note(), photo()));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        resolve(NOT_BEARER, by("water", water_case), note(), photo()));
}
