//! Bad input to supervision: the rows of the table for its RPCs.

use super::*;

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let urge = |auth, case: &str, note: String, request_id: &str| {
        let message = UrgeCaseRequest {
            case_id: case.to_owned(),
            note,
            request_id: request_id.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, urge_case, auth, message)
    };
    let approve = |auth, case: &str, request_id: &str| {
        let message = ApprovePostponementRequest {
            case_id: case.to_owned(),
            request_id: request_id.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, approve_postponement, auth, message)
    };
    let refuse = |auth, case: &str, reason: String, request_id: &str| {
        let message = RefusePostponementRequest {
            case_id: case.to_owned(),
            reason,
            request_id: request_id.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, refuse_postponement, auth, message)
    };
    let colour = |auth, case: &str| {
        let message = GetCaseColourRequest {
            case_id: case.to_owned(),
        };
        call!(SupervisionClient, ch.supervision, get_case_colour, auth, message)
    };
    let note = || "请尽快处理".to_owned();
    let id = "bad-input-supervision";

    let rpc = "supervision.UrgeCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        urge(SUPERVISOR, "abc", note(), id));
    t.row(rpc, "blank note", InvalidArgument, "note: must not be empty",
        urge(SUPERVISOR, &cases.dispatched, "  ".into(), id));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        urge(SUPERVISOR, &cases.dispatched, chars(1001), id));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        urge(SUPERVISOR, &cases.dispatched, note(), ""));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        urge(SUPERVISOR, UNKNOWN_CASE, note(), id));
    t.row(rpc, "case rejected", FailedPrecondition, "cannot urge: case is rejected, not open",
        urge(ADMIN, &cases.rejected, note(), id));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call UrgeCase",
        urge(OPERATOR, &cases.dispatched, note(), id));
    t.row(rpc, "department role", PermissionDenied, "role department may not call UrgeCase",
        urge(GAS, &cases.dispatched, note(), id));

    let rpc = "supervision.ApprovePostponement";
    t.row(rpc, "missing case id", InvalidArgument, "case_id: must be 32 hex digits, got 0",
        approve(SUPERVISOR, "", id));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "request_id: 129 characters, at most 128",
        approve(SUPERVISOR, &cases.accepted, &"r".repeat(129)));
    t.row(rpc, "never requested (accepted case)", FailedPrecondition,
        "cannot approve postponement: no postponement request is pending",
        approve(SUPERVISOR, &cases.accepted, id));
    t.row(rpc, "never requested (dispatched case)", FailedPrecondition,
        "cannot approve postponement: no postponement request is pending",
        approve(ADMIN, &cases.dispatched, id));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        approve(SUPERVISOR, UNKNOWN_CASE, id));
    t.row(rpc, "department role", PermissionDenied,
        "role department may not call ApprovePostponement",
        approve(WATER, &cases.accepted, id));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        approve(Auth::NoToken, &cases.accepted, id));

    let rpc = "supervision.RefusePostponement";
    let reason = || "理由不充分".to_owned();
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits, found 'g'",
        refuse(SUPERVISOR, &"g".repeat(32), reason(), id));
    t.row(rpc, "blank reason", InvalidArgument, "reason: must not be empty",
        refuse(SUPERVISOR, &cases.accepted, String::new(), id));
    t.row(rpc, "reason of 1001 characters", InvalidArgument,
        "reason: 1001 characters, at most 1000",
        refuse(SUPERVISOR, &cases.accepted, chars(1001), id));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        refuse(SUPERVISOR, &cases.accepted, reason(), ""));
    t.row(rpc, "never requested", FailedPrecondition,
        "cannot refuse postponement: no postponement request is pending",
        refuse(SUPERVISOR, &cases.accepted, reason(), id));
    t.row(rpc, "grid worker role", PermissionDenied,
        "role grid_worker may not call RefusePostponement",
        refuse(LIN_MING, &cases.accepted, reason(), id));

    let rpc = "supervision.GetCaseColour";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        colour(OPERATOR, "0123-4567"));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        colour(SUPERVISOR, UNKNOWN_CASE));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call GetCaseColour",
        colour(LIN_MING, &cases.dispatched));
    t.row(rpc, "department role", PermissionDenied, "role department may not call GetCaseColour",
        colour(GAS, &cases.dispatched));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        colour(UNKNOWN_TOKEN, &cases.dispatched));
}
