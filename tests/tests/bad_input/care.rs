//! Bad input to the Care service (敲门行动, served by intake): the rows of the table for its
//! RPCs.

use gridcase_proto::people::v1::care_client::CareClient;
use gridcase_proto::people::v1::{
    CareKind, EnrolHouseholdRequest, RecordVisitRequest, ReleaseHouseholdRequest, VisitProblem,
};

use super::*;

/// A valid enrolment of an elderly woman living alone in grid A, by the 涌金 community.
fn enrolment() -> EnrolHouseholdRequest {
    EnrolHouseholdRequest {
        request_id: "bad-input-household".into(),
        kind: CareKind::ElderlyAlone as i32,
        grid_code: GRID_A.into(),
        name: "王秀英".into(),
        phone: "13957100101".into(),
        last_visited_at_ms: 0,
    }
}

/// A visit to a household nobody enrolled.
fn visit() -> RecordVisitRequest {
    RecordVisitRequest {
        request_id: "bad-input-visit".into(),
        household_id: UNKNOWN_CASE.into(),
        note: "老人在家，精神不错".into(),
        visited_at_ms: 0,
        problem: None,
    }
}

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels) {
    use Code::{InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let enrol = |auth, message| call!(CareClient, ch.intake, enrol_household, auth, message);
    let with = |change: fn(&mut EnrolHouseholdRequest)| {
        let mut message = enrolment();
        change(&mut message);
        message
    };
    let rpc = "people.EnrolHousehold";
    t.row(rpc, "missing request id", InvalidArgument, "request_id: must not be empty",
        enrol(YONGJIN, with(|r| r.request_id.clear())));
    t.row(rpc, "kind unspecified", InvalidArgument, "kind: must be set",
        enrol(YONGJIN, with(|r| r.kind = CareKind::Unspecified as i32)));
    t.row(rpc, "kind out of the enum", InvalidArgument, "kind: 9 is not a kind of household under care",
        enrol(YONGJIN, with(|r| r.kind = 9)));
    t.row(rpc, "unknown grid", InvalidArgument,
        "grid_code: 330102-009-001-001 is not a known grid or micro-grid",
        enrol(YONGJIN, with(|r| r.grid_code = UNKNOWN_GRID.into())));
    t.row(rpc, "a street, not a grid", InvalidArgument,
        "grid_code: 330102-001 is not a known grid or micro-grid",
        enrol(YONGJIN, with(|r| r.grid_code = "330102-001".into())));
    t.row(rpc, "no name", InvalidArgument, "name: must not be empty",
        enrol(YONGJIN, with(|r| r.name.clear())));
    t.row(rpc, "no phone", InvalidArgument, "phone: required",
        enrol(YONGJIN, with(|r| r.phone = " ".into())));
    t.row(rpc, "malformed phone", InvalidArgument, "phone: ",
        enrol(YONGJIN, with(|r| r.phone = "1395710".into())));
    t.row(rpc, "last visit in the future", InvalidArgument, "last_visited_at_ms: is in the future",
        enrol(YONGJIN, with(|r| r.last_visited_at_ms = i64::MAX)));
    t.row(rpc, "last visit two years back", InvalidArgument,
        "last_visited_at_ms: is more than 366 days back",
        enrol(YONGJIN, with(|r| r.last_visited_at_ms = 1_000)));
    t.row(rpc, "another community's grid", PermissionDenied,
        "community 330102-001-002 may act on its own grids only",
        enrol(QINGBO, enrolment()));
    t.row(rpc, "a grid worker of another grid", PermissionDenied,
        "grid worker lin-ming does not work grid 330102-001-001-002",
        enrol(LIN_MING, with(|r| r.grid_code = GRID_B.into())));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call EnrolHousehold",
        enrol(OPERATOR, enrolment()));
    t.row(rpc, "no token", Unauthenticated, "", enrol(Auth::NoToken, enrolment()));

    let record = |auth, message| call!(CareClient, ch.intake, record_visit, auth, message);
    let rpc = "people.RecordVisit";
    t.row(rpc, "missing request id", InvalidArgument, "request_id: must not be empty",
        record(LIN_MING, RecordVisitRequest { request_id: String::new(), ..visit() }));
    t.row(rpc, "malformed household id", InvalidArgument, "household_id: ",
        record(LIN_MING, RecordVisitRequest { household_id: "wang".into(), ..visit() }));
    t.row(rpc, "no note", InvalidArgument, "note: must not be empty",
        record(LIN_MING, RecordVisitRequest { note: String::new(), ..visit() }));
    t.row(rpc, "visited in the future", InvalidArgument, "visited_at_ms: is in the future",
        record(LIN_MING, RecordVisitRequest { visited_at_ms: i64::MAX, ..visit() }));
    t.row(rpc, "visited a month back", InvalidArgument, "visited_at_ms: is more than 7 days back",
        record(LIN_MING, RecordVisitRequest { visited_at_ms: 1_000, ..visit() }));
    t.row(rpc, "a problem with no description", InvalidArgument, "problem.description: must not be empty",
        record(LIN_MING, RecordVisitRequest {
            problem: Some(VisitProblem { description: " ".into(), category_code: String::new() }),
            ..visit()
        }));
    t.row(rpc, "a problem with a malformed category", InvalidArgument, "problem.category_code: ",
        record(LIN_MING, RecordVisitRequest {
            problem: Some(VisitProblem {
                description: "楼道灯坏了".into(),
                category_code: "灯".into(),
            }),
            ..visit()
        }));
    t.row(rpc, "a household nobody enrolled", NotFound, "household_id: no household",
        record(LIN_MING, visit()));
    t.row(rpc, "community role", PermissionDenied, "role community may not call RecordVisit",
        record(YONGJIN, visit()));
    t.row(rpc, "no token", Unauthenticated, "", record(Auth::NoToken, visit()));

    let release = |auth, reason: &str| {
        let message = ReleaseHouseholdRequest {
            request_id: "bad-input-release".into(),
            household_id: UNKNOWN_CASE.into(),
            reason: reason.into(),
        };
        call!(CareClient, ch.intake, release_household, auth, message)
    };
    let rpc = "people.ReleaseHousehold";
    t.row(rpc, "no reason", InvalidArgument, "reason: must not be empty", release(YONGJIN, ""));
    t.row(rpc, "a household nobody enrolled", NotFound, "household_id: no household",
        release(YONGJIN, "老人搬去女儿家住了"));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call ReleaseHousehold",
        release(LIN_MING, "老人搬去女儿家住了"));
}
