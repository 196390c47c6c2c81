//! Bad input to triage: the rows of the table for its RPCs.

use super::*;

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let list = |auth, grid_code: &str, limit| {
        let message = ListManualQueueRequest {
            grid_code: grid_code.to_owned(),
            limit,
        };
        call!(TriageClient, ch.triage, list_manual_queue, auth, message)
    };
    let triage = |auth, message| call!(TriageClient, ch.triage, triage_case, auth, message);
    let reject = |auth, case: &str, reason: String, request_id: &str| {
        let message = RejectCaseRequest {
            case_id: case.to_owned(),
            reason,
            request_id: request_id.to_owned(),
        };
        call!(TriageClient, ch.triage, reject_case, auth, message)
    };
    let manual = |category: &str, route: Option<Route>| TriageCaseRequest {
        case_id: cases.manual.clone(),
        category_code: category.to_owned(),
        route,
        request_id: "bad-input-triage".into(),
        ..Default::default()
    };
    let gas = || manual(GAS_CATEGORY, None);
    let department = |code: &str| Some(Route::Department(code.to_owned()));
    let self_handle = |worker: &str| Some(Route::SelfHandleWorker(worker.to_owned()));
    let joint = |lead: &str, participants: &[&str]| {
        Some(Route::Joint(JointRoute {
            lead: lead.to_owned(),
            participants: participants.iter().map(|p| (*p).to_owned()).collect(),
        }))
    };

    let rpc = "triage.ListManualQueue";
    t.row(rpc, "limit 501", InvalidArgument, "limit: must be 1 to 500, got 501",
        list(OPERATOR, "", 501));
    t.row(rpc, "malformed grid code", InvalidArgument, "grid_code: district must be",
        list(OPERATOR, "33-01", 0));
    t.row(rpc, "unknown grid", InvalidArgument, "grid_code: 330102-009 is not a known grid",
        list(SUPERVISOR, "330102-009", 0));
    t.row(rpc, "department role", PermissionDenied, "role department may not call ListManualQueue",
        list(GAS, "", 0));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        list(Auth::NoToken, "", 0));

    let rpc = "triage.TriageCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        triage(OPERATOR, TriageCaseRequest { case_id: "case-7".into(), ..gas() }));
    t.row(rpc, "missing case id", InvalidArgument, "case_id: must be 32 hex digits, got 0",
        triage(OPERATOR, TriageCaseRequest { case_id: String::new(), ..gas() }));
    t.row(rpc, "missing category", InvalidArgument, "category_code: must look like BJ-01-02",
        triage(OPERATOR, manual("", None)));
    t.row(rpc, "unknown category", InvalidArgument,
        "category_code: BJ-99-99 is not in the catalogue",
        triage(OPERATOR, manual(UNKNOWN_CATEGORY, None)));
    t.row(rpc, "unknown priority", InvalidArgument, "priority: \"critical\" is not one of",
        triage(OPERATOR, TriageCaseRequest { priority: "critical".into(), ..gas() }));
    t.row(rpc, "unknown department", InvalidArgument, "route.department: no department nobody",
        triage(OPERATOR, manual(GAS_CATEGORY, department("nobody"))));
    t.row(rpc, "malformed department", InvalidArgument,
        "route.department: must start with a lowercase letter",
        triage(OPERATOR, manual(GAS_CATEGORY, department("Gas"))));
    t.row(rpc, "unknown self-handling worker", InvalidArgument,
        "route.self_handle_worker: no grid worker nobody-here",
        triage(OPERATOR, manual(SELF_HANDLE_CATEGORY, self_handle("nobody-here"))));
    t.row(rpc, "self-handling a category that forbids it", InvalidArgument,
        "route.self_handle_worker: category BJ-01-05 may not be self-handled",
        triage(OPERATOR, manual(GAS_CATEGORY, self_handle("lin-ming"))));
    t.row(rpc, "joint route without participants", InvalidArgument,
        "route.joint.participants: a joint route needs at least one participant",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("gas", &[]))));
    t.row(rpc, "joint lead also a participant", InvalidArgument,
        "route.joint.participants: lead department gas must not also be a participant",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("gas", &["water", "gas"]))));
    t.row(rpc, "joint unknown lead", InvalidArgument, "route.joint.lead: no department nobody",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("nobody", &["water"]))));
    t.row(rpc, "joint unknown participant", InvalidArgument,
        "route.joint.participants: no department nobody",
        triage(OPERATOR, manual(GAS_CATEGORY, joint("gas", &["nobody"]))));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        triage(OPERATOR, TriageCaseRequest { request_id: String::new(), ..gas() }));
    t.row(rpc, "unknown case", NotFound, "case_id: no case 0123456789abcdef",
        triage(OPERATOR, TriageCaseRequest { case_id: UNKNOWN_CASE.into(), ..gas() }));
    t.row(rpc, "case already dispatched", FailedPrecondition,
        "cannot triage: case is dispatched, not reported",
        triage(OPERATOR, TriageCaseRequest { case_id: cases.dispatched.clone(), ..gas() }));
    t.row(rpc, "case rejected", FailedPrecondition, "cannot triage: case is rejected, not reported",
        triage(ADMIN, TriageCaseRequest { case_id: cases.rejected.clone(), ..gas() }));
    t.row(rpc, "supervisor role", PermissionDenied, "role supervisor may not call TriageCase",
        triage(SUPERVISOR, gas()));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call TriageCase",
        triage(LIN_MING, gas()));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        triage(UNKNOWN_TOKEN, gas()));

    let rpc = "triage.RejectCase";
    let reason = || "不属于受理范围".to_owned();
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        reject(OPERATOR, "12345", reason(), "bad-input-reject"));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        reject(OPERATOR, &cases.manual, " ".into(), "bad-input-reject"));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        reject(OPERATOR, &cases.manual, chars(1001), "bad-input-reject"));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "request_id: 129 characters, at most 128",
        reject(OPERATOR, &cases.manual, reason(), &"r".repeat(129)));
    t.row(rpc, "unknown case", NotFound, "case_id: no case 0123456789abcdef",
        reject(OPERATOR, UNKNOWN_CASE, reason(), "bad-input-reject"));
    t.row(rpc, "case already accepted", FailedPrecondition,
        "cannot reject: case is accepted, not reported",
        reject(OPERATOR, &cases.accepted, reason(), "bad-input-reject"));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call RejectCase",
        reject(GATEWAY, &cases.manual, reason(), "bad-input-reject"));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        reject(NOT_BEARER, &cases.manual, reason(), "bad-input-reject"));
}
