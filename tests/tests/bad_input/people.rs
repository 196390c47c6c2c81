//! Bad input to the People service (members and points, served by evaluation): the rows of
//! the table for its RPCs.

use gridcase_proto::people::v1::people_client::PeopleClient;
use gridcase_proto::people::v1::{
    AccountOwner, EnrolMemberRequest, ExchangePointsRequest, GetAccountRequest, ListMembersRequest,
    ListShopItemsRequest, MemberKind,
};

use super::*;

fn owner(member_id: &str, resident_phone: &str) -> Option<AccountOwner> {
    Some(AccountOwner {
        member_id: member_id.to_owned(),
        resident_phone: resident_phone.to_owned(),
    })
}

/// A valid enrolment of a courier by the 涌金 community.
fn enrolment() -> EnrolMemberRequest {
    EnrolMemberRequest {
        request_id: "bad-input-enrol".into(),
        member_id: "yt-he-bin".into(),
        kind: MemberKind::Courier as i32,
        name: "圆通 何斌".into(),
        grid_codes: vec![GRID_A.into(), GRID_B.into()],
    }
}

/// A valid exchange of 洗衣液一瓶 for a resident who has no points.
fn exchange() -> ExchangePointsRequest {
    ExchangePointsRequest {
        request_id: "bad-input-exchange".into(),
        owner: owner("", "13900000001"),
        item: "洗衣液一瓶".into(),
    }
}

#[rustfmt::skip]
pub(crate) fn rows(t: &mut Table, ch: &Channels) {
    use Code::{FailedPrecondition, InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let enrol = |auth, message| call!(PeopleClient, ch.evaluation, enrol_member, auth, message);
    let list = |auth, community: &str| {
        let message = ListMembersRequest { community_code: community.to_owned() };
        call!(PeopleClient, ch.evaluation, list_members, auth, message)
    };
    let account = |auth, owner| {
        let message = GetAccountRequest { owner };
        call!(PeopleClient, ch.evaluation, get_account, auth, message)
    };
    let shop = |auth| call!(PeopleClient, ch.evaluation, list_shop_items, auth, ListShopItemsRequest {});
    let spend = |auth, message| call!(PeopleClient, ch.evaluation, exchange_points, auth, message);
    let with = |change: fn(&mut EnrolMemberRequest)| {
        let mut message = enrolment();
        change(&mut message);
        message
    };

    let rpc = "people.EnrolMember";
    t.row(rpc, "missing request id", InvalidArgument, "request_id: must not be empty",
        enrol(YONGJIN, with(|r| r.request_id.clear())));
    t.row(rpc, "member id with capitals and a space", InvalidArgument, "member_id: ",
        enrol(YONGJIN, with(|r| r.member_id = "He Bin".into())));
    t.row(rpc, "member id missing", InvalidArgument, "member_id: 0 characters, must be 2 to 64",
        enrol(YONGJIN, with(|r| r.member_id.clear())));
    t.row(rpc, "kind unspecified", InvalidArgument, "kind: must be set",
        enrol(YONGJIN, with(|r| r.kind = MemberKind::Unspecified as i32)));
    t.row(rpc, "kind out of the enum", InvalidArgument, "kind: 42 is not a member kind",
        enrol(YONGJIN, with(|r| r.kind = 42)));
    t.row(rpc, "name missing", InvalidArgument, "name: must not be empty",
        enrol(YONGJIN, with(|r| r.name = "  ".into())));
    t.row(rpc, "name of 51 characters", InvalidArgument, "name: 51 characters, at most 50",
        enrol(YONGJIN, with(|r| r.name = "很".repeat(51))));
    t.row(rpc, "no grid", InvalidArgument, "grid_codes: a member serves at least one grid",
        enrol(YONGJIN, with(|r| r.grid_codes.clear())));
    t.row(rpc, "malformed grid code", InvalidArgument, "grid_codes[1]: ",
        enrol(YONGJIN, with(|r| r.grid_codes[1] = "33-01".into())));
    t.row(rpc, "unknown grid", InvalidArgument,
        "grid_codes[0]: 330102-009-001-001 is not a known grid",
        enrol(YONGJIN, with(|r| r.grid_codes[0] = UNKNOWN_GRID.into())));
    t.row(rpc, "a community, not a grid", InvalidArgument,
        "grid_codes[0]: 330102-001-001 is a community, not a grid or micro-grid",
        enrol(YONGJIN, with(|r| r.grid_codes[0] = "330102-001-001".into())));
    t.row(rpc, "grids of two communities", InvalidArgument,
        "grid_codes[1]: 330102-001-002-001 is not in community 330102-001-001",
        enrol(YONGJIN, with(|r| r.grid_codes[1] = "330102-001-002-001".into())));
    t.row(rpc, "a grid listed twice", InvalidArgument, "grid_codes[1]: 330102-001-001-001 is listed twice",
        enrol(YONGJIN, with(|r| r.grid_codes[1] = GRID_A.into())));
    t.row(rpc, "grids of another community", PermissionDenied,
        "community 330102-001-002 may enrol members of its own grids only",
        enrol(QINGBO, enrolment()));
    t.row(rpc, "id of a member of the reference data", FailedPrecondition,
        "member_id: sf-zhao-lei is already enrolled",
        enrol(YONGJIN, with(|r| r.member_id = "sf-zhao-lei".into())));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call EnrolMember",
        enrol(OPERATOR, enrolment()));
    t.row(rpc, "member role", PermissionDenied, "role member may not call EnrolMember",
        enrol(ZHAO_LEI, enrolment()));
    t.row(rpc, "no token", Unauthenticated, "", enrol(Auth::NoToken, enrolment()));

    let rpc = "people.ListMembers";
    t.row(rpc, "no community from a supervisor", InvalidArgument, "community_code: name the community",
        list(SUPERVISOR, ""));
    t.row(rpc, "malformed community", InvalidArgument, "community_code: ", list(SUPERVISOR, "33-01"));
    t.row(rpc, "a grid, not a community", InvalidArgument,
        "community_code: 330102-001-001-001 is not a known community", list(SUPERVISOR, GRID_A));
    t.row(rpc, "unknown community", InvalidArgument,
        "community_code: 330102-009-001 is not a known community", list(SUPERVISOR, "330102-009-001"));
    t.row(rpc, "another community's members", PermissionDenied,
        "may not list the members of 330102-001-001", list(QINGBO, "330102-001-001"));
    t.row(rpc, "a community of another street", PermissionDenied,
        "may not list the members of 330102-002-001", list(LIULANG, "330102-002-001"));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call ListMembers",
        list(OPERATOR, "330102-001-001"));

    let rpc = "people.GetAccount";
    t.row(rpc, "no owner", InvalidArgument, "owner: required", account(YONGJIN, None));
    t.row(rpc, "an owner naming no one", InvalidArgument,
        "owner: name exactly one of member_id and resident_phone", account(YONGJIN, owner("", "")));
    t.row(rpc, "an owner naming two", InvalidArgument,
        "owner: name exactly one of member_id and resident_phone",
        account(YONGJIN, owner("sf-zhao-lei", "13900000001")));
    t.row(rpc, "malformed member id", InvalidArgument, "owner.member_id: ",
        account(YONGJIN, owner("Zhao Lei", "")));
    t.row(rpc, "member nobody enrolled", NotFound,
        "owner.member_id: no member ghost-member is enrolled",
        account(YONGJIN, owner("ghost-member", "")));
    t.row(rpc, "malformed phone", InvalidArgument, "owner.resident_phone: ",
        account(YONGJIN, owner("", "12345")));
    t.row(rpc, "a member reading another's account", PermissionDenied,
        "member sf-zhao-lei may read their own account only",
        account(ZHAO_LEI, owner("mt-qian-xiaojun", "")));
    t.row(rpc, "a member reading a resident's account", PermissionDenied,
        "member sf-zhao-lei may read their own account only",
        account(ZHAO_LEI, owner("", "13900000001")));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call GetAccount",
        account(OPERATOR, owner("sf-zhao-lei", "")));

    let rpc = "people.ListShopItems";
    t.row(rpc, "department role", PermissionDenied, "role department may not call ListShopItems",
        shop(WATER));
    t.row(rpc, "no token", Unauthenticated, "", shop(Auth::NoToken));

    let rpc = "people.ExchangePoints";
    t.row(rpc, "missing request id", InvalidArgument, "request_id: must not be empty",
        spend(YONGJIN, ExchangePointsRequest { request_id: String::new(), ..exchange() }));
    t.row(rpc, "no item", InvalidArgument, "item: must not be empty",
        spend(YONGJIN, ExchangePointsRequest { item: " ".into(), ..exchange() }));
    t.row(rpc, "an item the shop does not have", InvalidArgument,
        "item: \"金条\" is not an item of the points shop",
        spend(YONGJIN, ExchangePointsRequest { item: "金条".into(), ..exchange() }));
    t.row(rpc, "no owner", InvalidArgument, "owner: required",
        spend(YONGJIN, ExchangePointsRequest { owner: None, ..exchange() }));
    t.row(rpc, "malformed phone", InvalidArgument, "owner.resident_phone: ",
        spend(YONGJIN, ExchangePointsRequest { owner: owner("", "138-1234"), ..exchange() }));
    t.row(rpc, "member nobody enrolled", NotFound, "no member ghost-member is enrolled",
        spend(YONGJIN, ExchangePointsRequest { owner: owner("ghost-member", ""), ..exchange() }));
    t.row(rpc, "a member of another community", PermissionDenied,
        "the member belongs to community 330102-001-001, not 330102-001-002",
        spend(QINGBO, ExchangePointsRequest { owner: owner("sf-zhao-lei", ""), ..exchange() }));
    t.row(rpc, "more points than the balance", FailedPrecondition,
        "points: the balance is 0, less than the 30 asked", spend(YONGJIN, exchange()));
    t.row(rpc, "administrator role", PermissionDenied, "role admin may not call ExchangePoints",
        spend(ADMIN, exchange()));
    t.row(rpc, "member role", PermissionDenied, "role member may not call ExchangePoints",
        spend(ZHAO_LEI, exchange()));
}
