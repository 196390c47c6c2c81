//! Bad input to evaluation: the rows of the table for its RPCs.

use super::*;

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let rate_department =
        |auth, message| call!(EvaluationClient, ch.evaluation, rate_department, auth, message);
    let verify = |auth, case: &str, passed, note: String, request_id: &str| {
        let message = VerifyCaseRequest {
            case_id: case.to_owned(),
            passed,
            note,
            request_id: request_id.to_owned(),
        };
        call!(EvaluationClient, ch.evaluation, verify_case, auth, message)
    };
    let rate = |auth, message| call!(EvaluationClient, ch.evaluation, record_rating, auth, message);
    let close = |auth, case: &str, request_id: &str| {
        let message = CloseCaseRequest {
            case_id: case.to_owned(),
            request_id: request_id.to_owned(),
        };
        call!(EvaluationClient, ch.evaluation, close_case, auth, message)
    };
    let indicators = |auth, from_ms, to_ms| {
        let message = DepartmentIndicatorsRequest { from_ms, to_ms };
        call!(EvaluationClient, ch.evaluation, department_indicators, auth, message)
    };
    let rating = |case: &str| RecordRatingRequest {
        case_id: case.to_owned(),
        resolved: true,
        satisfied: true,
        score: 5,
        comment: "处理得很及时".into(),
        request_id: "bad-input-rating".into(),
    };
    // lin-ming rating the water company: well formed, refused for the case or the caller.
    let department_rating = |case: &str| RateDepartmentRequest {
        request_id: "bad-input-department-rating".into(),
        case_id: case.to_owned(),
        department_code: "water".into(),
        timeliness: 5,
        attitude: 4,
        result: 3,
        note: "回复及时，处理彻底，居民认可".into(),
    };
    let id = "bad-input-evaluation";
    let accepted = cases.accepted.as_str();
    let dispatched = cases.dispatched.as_str();
    let remark = || "井盖已更换".to_owned();

    let rpc = "evaluation.VerifyCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        verify(LIN_MING, "xyz", true, remark(), id));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        verify(LIN_MING, &cases.accepted, true, remark(), ""));
    t.row(rpc, "failed without saying what is wrong", InvalidArgument, "note: must not be empty",
        verify(LIN_MING, &cases.accepted, false, String::new(), id));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        verify(LIN_MING, &cases.accepted, true, chars(1001), id));
    t.row(rpc, "case not resolved", FailedPrecondition,
        "cannot verify: case is accepted, not resolved",
        verify(LIN_MING, &cases.accepted, true, remark(), id));
    t.row(rpc, "failing a case not resolved", FailedPrecondition,
        "cannot fail verification: case is dispatched, not resolved",
        verify(LIN_MING, &cases.dispatched, false, "井盖仍然缺失".into(), id));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        verify(LIN_MING, UNKNOWN_CASE, true, remark(), id));
    t.row(rpc, "grid worker the city does not know", PermissionDenied,
        "ghost-worker is not a known grid worker",
        verify(GHOST, &cases.accepted, true, remark(), id));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call VerifyCase",
        verify(OPERATOR, &cases.accepted, true, remark(), id));
    t.row(rpc, "department role", PermissionDenied, "role department may not call VerifyCase",
        verify(WATER, &cases.accepted, true, remark(), id));

    let rpc = "evaluation.RecordRating";
    t.row(rpc, "score 0", InvalidArgument, "score: must be 1 to 5, got 0",
        rate(GATEWAY, RecordRatingRequest { score: 0, ..rating(accepted) }));
    t.row(rpc, "score 6", InvalidArgument, "score: must be 1 to 5, got 6",
        rate(GATEWAY, RecordRatingRequest { score: 6, ..rating(accepted) }));
    t.row(rpc, "score 256 (does not fit a byte)", InvalidArgument, "score: must be 1 to 5, got 256",
        rate(GATEWAY, RecordRatingRequest { score: 256, ..rating(accepted) }));
    t.row(rpc, "comment of 1001 characters", InvalidArgument,
        "comment: 1001 characters, at most 1000",
        rate(OPERATOR, RecordRatingRequest { comment: chars(1001), ..rating(accepted) }));
    t.row(rpc, "missing request id", InvalidArgument,
        "request_id: must not be empty",
        rate(GATEWAY, RecordRatingRequest { request_id: String::new(), ..rating(accepted) }));
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        rate(GATEWAY, rating("K7M4-2QXP")));
    t.row(rpc, "case not verified", FailedPrecondition,
        "cannot record satisfaction: case is accepted, not verified",
        rate(GATEWAY, rating(accepted)));
    t.row(rpc, "unresolved rating of a case not verified", FailedPrecondition,
        "cannot record satisfaction: case is dispatched, not verified",
        rate(OPERATOR, RecordRatingRequest { resolved: false, score: 1, ..rating(dispatched) }));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        rate(GATEWAY, rating(UNKNOWN_CASE)));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call RecordRating",
        rate(LIN_MING, rating(accepted)));
    t.row(rpc, "department role", PermissionDenied, "role department may not call RecordRating",
        rate(WATER, rating(accepted)));

    let rpc = "evaluation.CloseCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        close(OPERATOR, "closed", id));
    t.row(rpc, "request id of 129 characters", InvalidArgument,
        "request_id: 129 characters, at most 128",
        close(OPERATOR, &cases.accepted, &"r".repeat(129)));
    t.row(rpc, "case not verified", FailedPrecondition,
        "cannot close: case is accepted, not verified",
        close(OPERATOR, &cases.accepted, id));
    t.row(rpc, "case rejected", FailedPrecondition, "cannot close: case is rejected, not verified",
        close(SUPERVISOR, &cases.rejected, id));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        close(ADMIN, UNKNOWN_CASE, id));
    t.row(rpc, "department role", PermissionDenied, "role department may not call CloseCase",
        close(GAS, &cases.dispatched, id));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call CloseCase",
        close(GATEWAY, &cases.accepted, id));

    let rpc = "evaluation.RateDepartment";
    t.row(rpc, "missing request id", InvalidArgument, "request_id: must not be empty",
        rate_department(LIN_MING, RateDepartmentRequest { request_id: "  ".into(), ..department_rating(accepted) }));
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        rate_department(LIN_MING, department_rating("K7M4-2QXP")));
    t.row(rpc, "missing department", InvalidArgument, "department_code: 0 characters, must be 2 to",
        rate_department(LIN_MING, RateDepartmentRequest { department_code: String::new(), ..department_rating(accepted) }));
    t.row(rpc, "department code in capitals", InvalidArgument,
        "department_code: must start with a lowercase letter",
        rate_department(LIN_MING, RateDepartmentRequest { department_code: "Water".into(), ..department_rating(accepted) }));
    t.row(rpc, "unknown department", InvalidArgument,
        "department_code: fire_brigade is not a known department",
        rate_department(LIN_MING, RateDepartmentRequest { department_code: "fire_brigade".into(), ..department_rating(accepted) }));
    t.row(rpc, "timeliness 0", InvalidArgument, "timeliness: must be 1 to 5, got 0",
        rate_department(LIN_MING, RateDepartmentRequest { timeliness: 0, ..department_rating(accepted) }));
    t.row(rpc, "attitude 6", InvalidArgument, "attitude: must be 1 to 5, got 6",
        rate_department(LIN_MING, RateDepartmentRequest { attitude: 6, ..department_rating(accepted) }));
    t.row(rpc, "result 256 (does not fit a byte)", InvalidArgument, "result: must be 1 to 5, got 256",
        rate_department(LIN_MING, RateDepartmentRequest { result: 256, ..department_rating(accepted) }));
    t.row(rpc, "note of 1001 characters", InvalidArgument, "note: 1001 characters, at most 1000",
        rate_department(LIN_MING, RateDepartmentRequest { note: chars(1001), ..department_rating(accepted) }));
    t.row(rpc, "case not closed", FailedPrecondition,
        "cannot rate the department: case is accepted, not closed",
        rate_department(LIN_MING, department_rating(accepted)));
    t.row(rpc, "case rejected", FailedPrecondition,
        "cannot rate the department: case is rejected, not closed",
        rate_department(CHEN_LIJUAN, department_rating(&cases.rejected)));
    t.row(rpc, "unknown case", NotFound, "case does not exist",
        rate_department(LIN_MING, department_rating(UNKNOWN_CASE)));
    t.row(rpc, "grid worker the city does not know", PermissionDenied,
        "ghost-worker is not a known grid worker",
        rate_department(GHOST, department_rating(accepted)));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call RateDepartment",
        rate_department(OPERATOR, department_rating(accepted)));
    t.row(rpc, "admin role (the grid's word, given by no one else)", PermissionDenied,
        "role admin may not call RateDepartment",
        rate_department(ADMIN, department_rating(accepted)));
    t.row(rpc, "department rating itself", PermissionDenied,
        "role department may not call RateDepartment",
        rate_department(WATER, department_rating(accepted)));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        rate_department(Auth::NoToken, department_rating(accepted)));

    let rpc = "evaluation.DepartmentIndicators";
    let day_ms = 86_400_000;
    t.row(rpc, "empty period", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, day_ms, day_ms));
    t.row(rpc, "period ending before it starts", InvalidArgument, "to_ms: must be after from_ms",
        indicators(ADMIN, 2 * day_ms, day_ms));
    t.row(rpc, "no period given", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, 0, 0));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call DepartmentIndicators",
        indicators(OPERATOR, 0, day_ms));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        indicators(Auth::NoToken, 0, day_ms));
}
