//! Bad input to query: the rows of the table for its RPCs.

use super::*;

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels, cases: &Cases) {
    use Code::{InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let get = |auth, case: &str| {
        let message = GetCaseRequest {
            case_id: case.to_owned(),
        };
        call!(QueryClient, ch.query, get_case, auth, message)
    };
    let list = |auth, message| call!(QueryClient, ch.query, list_cases, auth, message);
    let board = |auth| call!(QueryClient, ch.query, board, auth, BoardRequest {});
    let indicators = |auth, from_ms, to_ms| {
        let message = DepartmentIndicatorsRequest { from_ms, to_ms };
        call!(QueryClient, ch.query, department_indicators, auth, message)
    };
    let day_ms = 86_400_000;

    let rpc = "query.GetCase";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        get(SUPERVISOR, "case-1"));
    t.row(rpc, "missing case id", InvalidArgument, "case_id: must be 32 hex digits, got 0",
        get(OPERATOR, ""));
    t.row(rpc, "unknown case", NotFound, "case 0123456789abcdef0123456789abcdef is not known",
        get(SUPERVISOR, UNKNOWN_CASE));
    t.row(rpc, "department role", PermissionDenied, "role department may not call GetCase",
        get(GAS, &cases.dispatched));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call GetCase",
        get(LIN_MING, &cases.dispatched));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        get(Auth::NoToken, &cases.dispatched));

    let rpc = "query.ListCases";
    t.row(rpc, "page size 201", InvalidArgument, "page_size: must be 1 to 200",
        list(SUPERVISOR, ListCasesRequest { page_size: 201, ..Default::default() }));
    t.row(rpc, "page size u32::MAX", InvalidArgument, "page_size: must be 1 to 200",
        list(SUPERVISOR, ListCasesRequest { page_size: u32::MAX, ..Default::default() }));
    t.row(rpc, "page token not from a reply", InvalidArgument,
        "page_token: not a token from a previous reply",
        list(OPERATOR, ListCasesRequest { page_token: "page-2".into(), ..Default::default() }));
    t.row(rpc, "unknown status", InvalidArgument, "status: unknown case status 42",
        list(OPERATOR, ListCasesRequest { status: 42, ..Default::default() }));
    t.row(rpc, "malformed grid code", InvalidArgument, "grid_code: district must be",
        list(SUPERVISOR, ListCasesRequest { grid_code: "33-01".into(), ..Default::default() }));
    t.row(rpc, "unknown grid", InvalidArgument, "grid_code: \"330102-009\" is not a known grid",
        list(SUPERVISOR, ListCasesRequest { grid_code: "330102-009".into(), ..Default::default() }));
    t.row(rpc, "unknown colour", InvalidArgument, "colour: \"purple\" is not green, yellow or red",
        list(SUPERVISOR, ListCasesRequest { colour: "purple".into(), ..Default::default() }));
    t.row(rpc, "unknown department", InvalidArgument,
        "department: \"nobody\" is not a known department",
        list(SUPERVISOR, ListCasesRequest { department: "nobody".into(), ..Default::default() }));
    t.row(rpc, "malformed department", InvalidArgument,
        "department: must start with a lowercase letter",
        list(SUPERVISOR, ListCasesRequest { department: "Gas".into(), ..Default::default() }));
    t.row(rpc, "unknown category", InvalidArgument,
        "category: \"BJ-99-99\" is not a known category",
        list(ADMIN, ListCasesRequest { category: UNKNOWN_CATEGORY.into(), ..Default::default() }));
    t.row(rpc, "malformed category", InvalidArgument, "category: must look like BJ-01-02",
        list(ADMIN, ListCasesRequest { category: "BJ-1".into(), ..Default::default() }));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call ListCases",
        list(GATEWAY, ListCasesRequest::default()));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        list(UNKNOWN_TOKEN, ListCasesRequest::default()));

    let rpc = "query.Board";
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call Board",
        board(LIN_MING));
    t.row(rpc, "department role", PermissionDenied, "role department may not call Board",
        board(WATER));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        board(Auth::NoToken));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        board(NOT_BEARER));

    let rpc = "query.DepartmentIndicators";
    t.row(rpc, "empty period", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, day_ms, day_ms));
    t.row(rpc, "reversed period", InvalidArgument, "to_ms: must be after from_ms",
        indicators(SUPERVISOR, day_ms, 0));
    t.row(rpc, "operator role", PermissionDenied,
        "role operator may not call DepartmentIndicators", indicators(OPERATOR, 0, day_ms));
    t.row(rpc, "department role", PermissionDenied,
        "role department may not call DepartmentIndicators", indicators(GAS, 0, day_ms));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        indicators(Auth::NoToken, 0, day_ms));
}
