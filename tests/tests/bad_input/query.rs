//! Bad input to query: the rows of the table for its RPCs.

use gridcase_proto::query::v1::{GetHouseholdContactRequest, VisitPlanRequest};

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

    let inbox = |auth, handler: &str, page_size: u32, page_token: &str| {
        let message = ListInboxRequest {
            handler: handler.to_owned(),
            page_size,
            page_token: page_token.to_owned(),
        };
        call!(QueryClient, ch.query, list_inbox, auth, message)
    };
    let rpc = "query.ListInbox";
    t.row(rpc, "operator names no handler", InvalidArgument,
        "handler: operator has no inbox of its own",
        inbox(OPERATOR, "", 0, ""));
    t.row(rpc, "malformed handler", InvalidArgument, "handler: \"lin-ming\" is not grid_worker:<id>",
        inbox(SUPERVISOR, "lin-ming", 0, ""));
    t.row(rpc, "unknown grid worker", InvalidArgument,
        "handler: ghost-worker is not a known grid worker",
        inbox(SUPERVISOR, "grid_worker:ghost-worker", 0, ""));
    t.row(rpc, "a street code as a community", InvalidArgument,
        "handler: 330102-001 is not a known community",
        inbox(SUPERVISOR, "community:330102-001", 0, ""));
    t.row(rpc, "another worker's inbox", PermissionDenied,
        "handler: grid_worker:chen-lijuan may read its own inbox only, not grid_worker:lin-ming",
        inbox(CHEN_LIJUAN, "grid_worker:lin-ming", 0, ""));
    t.row(rpc, "another community's inbox", PermissionDenied,
        "handler: community:330102-001-002 may read its own inbox only",
        inbox(QINGBO, "community:330102-001-001", 0, ""));
    t.row(rpc, "page of 201", InvalidArgument, "page_size: must be 1 to 200",
        inbox(LIN_MING, "", 201, ""));
    t.row(rpc, "forged page token", InvalidArgument, "page_token: not a token from a previous reply",
        inbox(LIN_MING, "", 0, "not-a-token"));
    t.row(rpc, "gateway role", PermissionDenied, "role gateway may not call ListInbox",
        inbox(GATEWAY, "grid_worker:lin-ming", 0, ""));

    let settlement = |auth, from_ms, to_ms, level: &str| {
        let message = SettlementIndicatorsRequest { from_ms, to_ms, level: level.to_owned() };
        call!(QueryClient, ch.query, settlement_indicators, auth, message)
    };
    let rpc = "query.SettlementIndicators";
    t.row(rpc, "period ending before it starts", InvalidArgument,
        "to_ms: the period must end after it starts",
        settlement(SUPERVISOR, day_ms, 0, "community"));
    t.row(rpc, "empty period", InvalidArgument, "to_ms: the period must end after it starts",
        settlement(SUPERVISOR, day_ms, day_ms, "grid"));
    t.row(rpc, "unknown level", InvalidArgument, "level: \"district\" is not grid, community or street",
        settlement(SUPERVISOR, 0, day_ms, "district"));
    t.row(rpc, "no level", InvalidArgument, "level: \"\" is not grid, community or street",
        settlement(OPERATOR, 0, day_ms, ""));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call SettlementIndicators",
        settlement(LIN_MING, 0, day_ms, "grid"));

    let workers = |auth, from_ms, to_ms| {
        let message = PeriodRequest { from_ms, to_ms };
        call!(QueryClient, ch.query, grid_worker_indicators, auth, message)
    };
    let rpc = "query.GridWorkerIndicators";
    t.row(rpc, "period ending before it starts", InvalidArgument,
        "to_ms: the period must end after it starts", workers(SUPERVISOR, day_ms, 0));
    t.row(rpc, "empty period", InvalidArgument, "to_ms: the period must end after it starts",
        workers(YONGJIN, day_ms, day_ms));
    t.row(rpc, "department role", PermissionDenied,
        "role department may not call GridWorkerIndicators", workers(GAS, 0, day_ms));
    t.row(rpc, "grid worker role", PermissionDenied,
        "role grid_worker may not call GridWorkerIndicators", workers(LIN_MING, 0, day_ms));

    let areas = |auth, from_ms, to_ms, level: &str| {
        let message = SettlementIndicatorsRequest { from_ms, to_ms, level: level.to_owned() };
        call!(QueryClient, ch.query, area_indicators, auth, message)
    };
    let rpc = "query.AreaIndicators";
    t.row(rpc, "period ending before it starts", InvalidArgument,
        "to_ms: the period must end after it starts", areas(SUPERVISOR, day_ms, 0, "community"));
    t.row(rpc, "grid level", InvalidArgument, "level: \"grid\" is not community or street",
        areas(SUPERVISOR, 0, day_ms, "grid"));
    t.row(rpc, "no level", InvalidArgument, "level: \"\" is not community or street",
        areas(LIULANG, 0, day_ms, ""));
    t.row(rpc, "member role", PermissionDenied, "role member may not call AreaIndicators",
        areas(ZHAO_LEI, 0, day_ms, "community"));

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

    let contact = |auth, case: &str, purpose: &str| {
        let message = GetReporterContactRequest {
            case_id: case.to_owned(),
            purpose: purpose.to_owned(),
        };
        call!(QueryClient, ch.query, get_reporter_contact, auth, message)
    };
    let rpc = "query.GetReporterContact";
    t.row(rpc, "malformed case id", InvalidArgument, "case_id: must be 32 hex digits",
        contact(OPERATOR, "case-1", "回访"));
    t.row(rpc, "no purpose", InvalidArgument, "purpose: say why the contact is needed",
        contact(OPERATOR, &cases.dispatched, " "));
    t.row(rpc, "purpose of 201 characters", InvalidArgument,
        "purpose: at most 200 characters, got 201",
        contact(OPERATOR, &cases.dispatched, &"问".repeat(201)));
    t.row(rpc, "unknown case", NotFound, "case 0123456789abcdef0123456789abcdef is not known",
        contact(OPERATOR, UNKNOWN_CASE, "回访"));
    t.row(rpc, "grid worker of another case", PermissionDenied,
        "is not dispatched to grid worker lin-ming",
        contact(LIN_MING, &cases.dispatched, "回访"));
    t.row(rpc, "supervisor role", PermissionDenied,
        "role supervisor may not call GetReporterContact",
        contact(SUPERVISOR, &cases.dispatched, "回访"));
    t.row(rpc, "department role", PermissionDenied,
        "role department may not call GetReporterContact",
        contact(GAS, &cases.dispatched, "回访"));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        contact(Auth::NoToken, &cases.dispatched, "回访"));

    let plan = |auth, worker: &str, area: &str| {
        let message = VisitPlanRequest { worker_id: worker.to_owned(), area_code: area.to_owned() };
        call!(QueryClient, ch.query, visit_plan, auth, message)
    };
    let rpc = "query.VisitPlan";
    t.row(rpc, "both a worker and an area", InvalidArgument, "area_code: name a grid worker or an area, not both",
        plan(SUPERVISOR, "lin-ming", GRID_A));
    t.row(rpc, "neither, from a supervisor", InvalidArgument, "worker_id: name a grid worker or an area",
        plan(SUPERVISOR, "", ""));
    t.row(rpc, "malformed worker id", InvalidArgument, "worker_id: ", plan(SUPERVISOR, "Lin Ming", ""));
    t.row(rpc, "unknown grid worker", InvalidArgument, "worker_id: ghost-worker is not a known grid worker",
        plan(SUPERVISOR, "ghost-worker", ""));
    t.row(rpc, "unknown area", InvalidArgument, "area_code: 330102-009-001-001 is not a known street, community or grid",
        plan(SUPERVISOR, "", UNKNOWN_GRID));
    t.row(rpc, "a grid worker reading another's plan", PermissionDenied, "may not read this visit plan",
        plan(LIN_MING, "yu-gang", ""));
    t.row(rpc, "a community reading another's area", PermissionDenied, "may not read this visit plan",
        plan(QINGBO, "", "330102-001-001"));
    t.row(rpc, "department role", PermissionDenied, "role department may not call VisitPlan",
        plan(GAS, "", GRID_A));

    let household = |auth, id: &str, purpose: &str| {
        let message = GetHouseholdContactRequest { household_id: id.to_owned(), purpose: purpose.to_owned() };
        call!(QueryClient, ch.query, get_household_contact, auth, message)
    };
    let rpc = "query.GetHouseholdContact";
    t.row(rpc, "malformed household id", InvalidArgument, "household_id: ", household(LIN_MING, "wang", "上门走访"));
    t.row(rpc, "no purpose", InvalidArgument, "purpose: say why the contact is needed",
        household(LIN_MING, UNKNOWN_CASE, ""));
    t.row(rpc, "a household nobody enrolled", NotFound, "household_id: no household",
        household(LIN_MING, UNKNOWN_CASE, "上门走访"));
    t.row(rpc, "supervisor role", PermissionDenied, "role supervisor may not call GetHouseholdContact",
        household(SUPERVISOR, UNKNOWN_CASE, "上门走访"));

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

    let public = |auth, message| call!(QueryClient, ch.query, public_cases, auth, message);
    let rpc = "query.PublicCases";
    t.row(rpc, "malformed tracking code", InvalidArgument,
        "tracking_codes: must be 8 symbols",
        public(GATEWAY, PublicCasesRequest { tracking_codes: vec!["12-34".into()], ..Default::default() }));
    t.row(rpc, "tracking code with a 0", InvalidArgument,
        "tracking_codes: '0' is not a tracking code symbol",
        public(GATEWAY, PublicCasesRequest { tracking_codes: vec!["2345-6780".into()], ..Default::default() }));
    t.row(rpc, "1001 tracking codes", InvalidArgument, "tracking_codes: at most 1000 codes, got 1001",
        public(GATEWAY, PublicCasesRequest {
            tracking_codes: vec![UNKNOWN_TRACKING_CODE.into(); 1001], ..Default::default()
        }));
    t.row(rpc, "unknown category", InvalidArgument,
        "category: \"BJ-99-99\" is not a known category",
        public(GATEWAY, PublicCasesRequest { category: UNKNOWN_CATEGORY.into(), ..Default::default() }));
    t.row(rpc, "reversed period", InvalidArgument, "reported_to_ms: must be after reported_from_ms",
        public(OPERATOR, PublicCasesRequest {
            reported_from_ms: day_ms, reported_to_ms: 1, ..Default::default()
        }));
    t.row(rpc, "unknown state", InvalidArgument, "state: unknown public state 7",
        public(GATEWAY, PublicCasesRequest { state: 7, ..Default::default() }));
    t.row(rpc, "limit 1001", InvalidArgument, "limit: must be 1 to 1000",
        public(GATEWAY, PublicCasesRequest { limit: 1001, ..Default::default() }));
    t.row(rpc, "department role", PermissionDenied, "role department may not call PublicCases",
        public(GAS, PublicCasesRequest::default()));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        public(Auth::NoToken, PublicCasesRequest::default()));

    let public_board = |auth, area: &str, from_ms, to_ms| {
        let message = PublicBoardRequest { area_code: area.to_owned(), from_ms, to_ms };
        call!(QueryClient, ch.query, public_board, auth, message)
    };
    let rpc = "query.PublicBoard";
    t.row(rpc, "malformed area", InvalidArgument, "area_code: district must be",
        public_board(GATEWAY, "33-01", 0, day_ms));
    t.row(rpc, "a grid, not a street or community", InvalidArgument,
        "area_code: \"330102-001-001-001\" is not a known street or community",
        public_board(GATEWAY, GRID_A, 0, day_ms));
    t.row(rpc, "unknown street", InvalidArgument,
        "area_code: \"330102-009\" is not a known street or community",
        public_board(GATEWAY, "330102-009", 0, day_ms));
    t.row(rpc, "empty period", InvalidArgument, "to_ms: must be after from_ms",
        public_board(GATEWAY, "330102-001", day_ms, day_ms));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call PublicBoard",
        public_board(LIN_MING, "330102-001", 0, day_ms));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        public_board(Auth::NoToken, "330102-001", 0, day_ms));
}
