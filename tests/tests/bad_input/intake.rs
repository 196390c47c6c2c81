//! Bad input to intake: the rows of the table for its RPCs.

use super::*;

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels) {
    use Code::{InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let report_case =
        |auth, message| call!(IntakeClient, ch.intake, report_case, auth, message);
    let status = |auth, code: &str| {
        let message = GetCaseStatusRequest {
            tracking_code: code.to_owned(),
        };
        call!(IntakeClient, ch.intake, get_case_status, auth, message)
    };
    let rpc = "intake.ReportCase";
    let bad = |change: fn(&mut ReportCaseRequest)| {
        let mut message = report("bad-input/report");
        change(&mut message);
        message
    };
    t.row(rpc, "a member on the hotline channel", InvalidArgument,
        "channel: a special grid member reports on the special_member channel",
        report_case(ZHAO_LEI, report("bad-input/member-hotline")));
    t.row(rpc, "the special-member channel from an operator", InvalidArgument,
        "channel: the special_member channel is for special grid members",
        report_case(OPERATOR, bad(|r| r.channel = ReportChannel::SpecialMember as i32)));
    t.row(rpc, "a member no community enrolled", PermissionDenied,
        "member ghost-member is not enrolled by any community",
        report_case(GHOST_MEMBER, bad(|r| r.channel = ReportChannel::SpecialMember as i32)));
    t.row(rpc, "a member named by an operator", PermissionDenied,
        "member_id: only the QR gateway reports for a member",
        report_case(OPERATOR, bad(|r| {
            r.channel = ReportChannel::SpecialMember as i32;
            r.member_id = "sf-zhao-lei".into();
        })));
    t.row(rpc, "a member named on the QR channel", InvalidArgument,
        "member_id: a member's report is on the special_member channel",
        report_case(GATEWAY, bad(|r| {
            r.channel = ReportChannel::QrCode as i32;
            r.member_id = "sf-zhao-lei".into();
        })));
    t.row(rpc, "a malformed member id from the gateway", InvalidArgument, "member_id: ",
        report_case(GATEWAY, bad(|r| {
            r.channel = ReportChannel::SpecialMember as i32;
            r.member_id = "Zhao Lei".into();
        })));
    t.row(rpc, "a member the gateway names that no community enrolled", PermissionDenied,
        "member ghost-member is not enrolled by any community",
        report_case(GATEWAY, bad(|r| {
            r.channel = ReportChannel::SpecialMember as i32;
            r.member_id = "ghost-member".into();
        })));
    t.row(rpc, "empty client_request_id", InvalidArgument, "client_request_id: must not be empty",
        report_case(OPERATOR, bad(|r| r.client_request_id.clear())));
    t.row(rpc, "client_request_id of 129 characters", InvalidArgument,
        "client_request_id: 129 characters, at most 128",
        report_case(OPERATOR, bad(|r| r.client_request_id = "r".repeat(129))));
    t.row(rpc, "channel unspecified", InvalidArgument, "channel: must be set",
        report_case(OPERATOR, bad(|r| r.channel = ReportChannel::Unspecified as i32)));
    t.row(rpc, "channel out of the enum", InvalidArgument, "channel: 42 is not a known channel",
        report_case(OPERATOR, bad(|r| r.channel = 42)));
    t.row(rpc, "location missing", InvalidArgument, "location: required",
        report_case(OPERATOR, bad(|r| r.location = None)));
    t.row(rpc, "location empty", InvalidArgument,
        "location: needs a grid code, an address or coordinates",
        report_case(OPERATOR, bad(|r| r.location = Some(Location::default()))));
    t.row(rpc, "malformed grid code", InvalidArgument, "location.grid_code: district must be",
        report_case(OPERATOR, bad(|r| location(r).grid_code = "33-01".into())));
    t.row(rpc, "unknown grid", InvalidArgument,
        "location.grid_code: 330102-009-001-001 is not a known grid",
        report_case(OPERATOR, bad(|r| location(r).grid_code = UNKNOWN_GRID.into())));
    t.row(rpc, "latitude out of range", InvalidArgument,
        "location.coordinates: latitude 91 is outside -90 to 90",
        report_case(OPERATOR, bad(|r| location(r).coordinates = Some(point(91.0, 120.16)))));
    t.row(rpc, "address of 201 characters", InvalidArgument,
        "location.address: 201 characters, at most 200",
        report_case(OPERATOR, bad(|r| location(r).address = chars(201))));
    t.row(rpc, "blank description", InvalidArgument, "description: must not be empty",
        report_case(OPERATOR, bad(|r| r.description = "  ".into())));
    t.row(rpc, "description of 2001 characters", InvalidArgument,
        "description: 2001 characters, at most 2000",
        report_case(OPERATOR, bad(|r| r.description = chars(2001))));
    t.row(rpc, "reporter name of 51 characters", InvalidArgument,
        "reporter.name: 51 characters, at most 50",
        report_case(OPERATOR, bad(|r| r.reporter.as_mut().unwrap().name = chars(51))));
    t.row(rpc, "malformed phone", InvalidArgument, "reporter.phone:",
        report_case(OPERATOR, bad(|r| r.reporter.as_mut().unwrap().phone = "12345".into())));
    t.row(rpc, "malformed category", InvalidArgument, "category_code: must look like BJ-01-02",
        report_case(OPERATOR, bad(|r| r.category_code = "XX-1".into())));
    t.row(rpc, "unknown category", InvalidArgument,
        "category_code: BJ-99-99 is not in the category catalogue",
        report_case(OPERATOR, bad(|r| r.category_code = UNKNOWN_CATEGORY.into())));
    t.row(rpc, "media link not http", InvalidArgument,
        "media_urls[1]: must start with http:// or https://",
        report_case(OPERATOR, bad(|r| r.media_urls = vec![PHOTO.into(), "ftp://a.cn/b".into()])));
    t.row(rpc, "21 media links", InvalidArgument, "media_urls: 21 links, at most 20",
        report_case(OPERATOR, bad(|r| r.media_urls = vec![PHOTO.into(); 21])));
    t.row(rpc, "grid-worker channel without the worker", InvalidArgument,
        "reported_by_worker: required for the grid_worker channel",
        report_case(LIN_MING, bad(|r| r.channel = ReportChannel::GridWorker as i32)));
    t.row(rpc, "malformed worker id", InvalidArgument, "reported_by_worker:",
        report_case(OPERATOR, bad(|r| r.reported_by_worker = "Bad Id".into())));
    t.row(rpc, "unknown grid worker", InvalidArgument,
        "reported_by_worker: nobody-here is not a known grid worker",
        report_case(OPERATOR, bad(|r| r.reported_by_worker = "nobody-here".into())));
    t.row(rpc, "grid worker reporting as another", PermissionDenied,
        "reported_by_worker: grid worker lin-ming may not report as chen-lijuan",
        report_case(LIN_MING, bad(|r| {
            r.channel = ReportChannel::GridWorker as i32;
            r.reported_by_worker = "chen-lijuan".into();
        })));
    t.row(rpc, "department role", PermissionDenied, "role department may not call ReportCase",
        report_case(GAS, bad(|_| {})));
    t.row(rpc, "supervisor role", PermissionDenied, "role supervisor may not call ReportCase",
        report_case(SUPERVISOR, bad(|_| {})));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        report_case(Auth::NoToken, bad(|_| {})));
    t.row(rpc, "unknown token", Unauthenticated, "unknown bearer token",
        report_case(UNKNOWN_TOKEN, bad(|_| {})));
    t.row(rpc, "not a bearer header", Unauthenticated, "malformed authorization header",
        report_case(NOT_BEARER, bad(|_| {})));

    let rpc = "intake.GetCaseStatus";
    t.row(rpc, "empty tracking code", InvalidArgument, "tracking_code: must be 8 symbols",
        status(OPERATOR, ""));
    t.row(rpc, "symbol outside the alphabet", InvalidArgument,
        "tracking_code: '0' is not a tracking code symbol",
        status(OPERATOR, "ABCD-EFG0"));
    t.row(rpc, "unknown tracking code", NotFound, "tracking_code: no case has code 2345-6789",
        status(GATEWAY, UNKNOWN_TRACKING_CODE));
    t.row(rpc, "department role", PermissionDenied, "role department may not call GetCaseStatus",
        status(WATER, UNKNOWN_TRACKING_CODE));
    t.row(rpc, "no token", Unauthenticated, "missing bearer token",
        status(Auth::NoToken, UNKNOWN_TRACKING_CODE));
}
