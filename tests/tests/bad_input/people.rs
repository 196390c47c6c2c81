//! Bad input to the People service (members and points, served by evaluation): the rows of
//! the table for its RPCs.

use gridcase_proto::people::v1::people_client::PeopleClient;
use gridcase_proto::people::v1::{
    AccountOwner, CancelOrderRequest, CompleteOrderRequest, ConfirmOrderRequest,
    DispatchOrderRequest, EnrolMemberRequest, ExchangePointsRequest, GetAccountRequest,
    GetOrderRequest, ListMembersRequest, ListOrdersRequest, ListServicesRequest,
    ListShopItemsRequest, MemberKind, OrderActionRequest, PlaceOrderRequest,
};

use super::*;

fn owner(member_id: &str, resident_phone: &str) -> Option<AccountOwner> {
    Some(AccountOwner {
        member_id: member_id.to_owned(),
        resident_phone: resident_phone.to_owned(),
        reporter_of_case: String::new(),
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

/// A valid order of 助老陪诊 in grid A of 涌金.
fn order() -> PlaceOrderRequest {
    PlaceOrderRequest {
        request_id: "bad-input-order".into(),
        service_code: "escort".into(),
        grid_code: GRID_A.into(),
        resident_phone: "13900000002".into(),
        details: "下周二上午要去医院复查眼睛，家里没人陪，想请志愿者陪一趟".into(),
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
        "may not read community 330102-001-001", list(QINGBO, "330102-001-001"));
    t.row(rpc, "a community of another street", PermissionDenied,
        "may not read community 330102-002-001", list(LIULANG, "330102-002-001"));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call ListMembers",
        list(OPERATOR, "330102-001-001"));

    let rpc = "people.GetAccount";
    t.row(rpc, "no owner", InvalidArgument, "owner: required", account(YONGJIN, None));
    t.row(rpc, "an owner naming no one", InvalidArgument,
        "owner: name exactly one of member_id, resident_phone and reporter_of_case", account(YONGJIN, owner("", "")));
    t.row(rpc, "an owner naming two", InvalidArgument,
        "owner: name exactly one of member_id, resident_phone and reporter_of_case",
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
    let of_case = |case: &str| Some(AccountOwner {
        member_id: String::new(),
        resident_phone: String::new(),
        reporter_of_case: case.to_owned(),
    });
    t.row(rpc, "malformed case id", InvalidArgument, "owner.reporter_of_case: ",
        account(GATEWAY, of_case("case-1")));
    t.row(rpc, "a case nobody reported", NotFound, "owner.reporter_of_case: no case",
        account(GATEWAY, of_case(UNKNOWN_CASE)));
    t.row(rpc, "the gateway naming a phone", PermissionDenied,
        "the QR gateway reads a case's reporter's account only",
        account(GATEWAY, owner("", "13900000001")));
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

    order_rows(t, ch);
}

#[rustfmt::skip]
fn order_rows(t: &mut Table, ch: &Channels) {
    use Code::{InvalidArgument, NotFound, PermissionDenied, Unauthenticated};
    let place = |auth, message| call!(PeopleClient, ch.evaluation, place_order, auth, message);
    let with = |change: fn(&mut PlaceOrderRequest)| {
        let mut message = order();
        change(&mut message);
        message
    };
    let rpc = "people.PlaceOrder";
    t.row(rpc, "missing request id", InvalidArgument, "request_id: must not be empty",
        place(OPERATOR, with(|r| r.request_id.clear())));
    t.row(rpc, "malformed service code", InvalidArgument, "service_code: ",
        place(OPERATOR, with(|r| r.service_code = "陪诊".into())));
    t.row(rpc, "a service not on the list", InvalidArgument,
        "service_code: massage is not a service of the list",
        place(OPERATOR, with(|r| r.service_code = "massage".into())));
    t.row(rpc, "unknown grid", InvalidArgument,
        "grid_code: 330102-009-001-001 is not a known grid or micro-grid",
        place(OPERATOR, with(|r| r.grid_code = UNKNOWN_GRID.into())));
    t.row(rpc, "a community, not a grid", InvalidArgument,
        "grid_code: 330102-001-001 is not a known grid or micro-grid",
        place(OPERATOR, with(|r| r.grid_code = "330102-001-001".into())));
    t.row(rpc, "no phone", InvalidArgument, "resident_phone: required",
        place(OPERATOR, with(|r| r.resident_phone.clear())));
    t.row(rpc, "malformed phone", InvalidArgument, "resident_phone: ",
        place(OPERATOR, with(|r| r.resident_phone = "139-0000".into())));
    t.row(rpc, "no details", InvalidArgument, "details: must not be empty",
        place(OPERATOR, with(|r| r.details = " ".into())));
    t.row(rpc, "details of 1001 characters", InvalidArgument, "details: 1001 characters, at most 1000",
        place(OPERATOR, with(|r| r.details = "陪".repeat(1001))));
    t.row(rpc, "another community's grid", PermissionDenied,
        "community 330102-001-002 takes orders of its own grids only",
        place(QINGBO, order()));
    t.row(rpc, "member role", PermissionDenied, "role member may not call PlaceOrder",
        place(ZHAO_LEI, order()));
    t.row(rpc, "no token", Unauthenticated, "", place(Auth::NoToken, order()));

    let rpc = "people.DispatchOrder";
    let dispatch = |auth, order_id: &str, member_id: &str| {
        let message = DispatchOrderRequest {
            request_id: "bad-input-dispatch".into(),
            order_id: order_id.into(),
            member_id: member_id.into(),
        };
        call!(PeopleClient, ch.evaluation, dispatch_order, auth, message)
    };
    t.row(rpc, "malformed order id", InvalidArgument, "order_id: ",
        dispatch(YONGJIN, "order-1", "he-guifang"));
    t.row(rpc, "malformed member id", InvalidArgument, "member_id: ",
        dispatch(YONGJIN, UNKNOWN_CASE, "He Guifang"));
    t.row(rpc, "an order nobody placed", NotFound, "order_id: no order 0123456789abcdef",
        dispatch(YONGJIN, UNKNOWN_CASE, "he-guifang"));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call DispatchOrder",
        dispatch(OPERATOR, UNKNOWN_CASE, "he-guifang"));

    let action = |order_id: &str| OrderActionRequest {
        request_id: "bad-input-accept".into(),
        order_id: order_id.into(),
    };
    let rpc = "people.AcceptOrder";
    let accept = |auth, message| call!(PeopleClient, ch.evaluation, accept_order, auth, message);
    t.row(rpc, "missing request id", InvalidArgument, "request_id: must not be empty",
        accept(ZHAO_LEI, OrderActionRequest { request_id: String::new(), ..action(UNKNOWN_CASE) }));
    t.row(rpc, "malformed order id", InvalidArgument, "order_id: ", accept(ZHAO_LEI, action("")));
    t.row(rpc, "an order nobody placed", NotFound, "order_id: no order", accept(ZHAO_LEI, action(UNKNOWN_CASE)));
    t.row(rpc, "community role", PermissionDenied, "role community may not call AcceptOrder",
        accept(YONGJIN, action(UNKNOWN_CASE)));

    let rpc = "people.CompleteOrder";
    let complete = |auth, note: &str| {
        let message = CompleteOrderRequest {
            request_id: "bad-input-complete".into(),
            order_id: UNKNOWN_CASE.into(),
            note: note.into(),
        };
        call!(PeopleClient, ch.evaluation, complete_order, auth, message)
    };
    t.row(rpc, "no note", InvalidArgument, "note: must not be empty", complete(ZHAO_LEI, ""));
    t.row(rpc, "an order nobody placed", NotFound, "order_id: no order",
        complete(ZHAO_LEI, "陪同看完病，药也取好了"));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call CompleteOrder",
        complete(LIN_MING, "陪同看完病，药也取好了"));

    let rpc = "people.ConfirmOrder";
    let confirmation = || ConfirmOrderRequest {
        request_id: "bad-input-confirm".into(),
        order_id: UNKNOWN_CASE.into(),
        resident_phone: "13900000002".into(),
        rating: 5,
        comment: "志愿者很细心，谢谢社区".into(),
    };
    let confirm = |auth, message| call!(PeopleClient, ch.evaluation, confirm_order, auth, message);
    t.row(rpc, "rating 0", InvalidArgument, "rating: must be 1 to 5",
        confirm(OPERATOR, ConfirmOrderRequest { rating: 0, ..confirmation() }));
    t.row(rpc, "rating 6", InvalidArgument, "rating: must be 1 to 5",
        confirm(OPERATOR, ConfirmOrderRequest { rating: 6, ..confirmation() }));
    t.row(rpc, "no phone", InvalidArgument, "resident_phone: required",
        confirm(OPERATOR, ConfirmOrderRequest { resident_phone: String::new(), ..confirmation() }));
    t.row(rpc, "comment of 1001 characters", InvalidArgument, "comment: 1001 characters, at most 1000",
        confirm(OPERATOR, ConfirmOrderRequest { comment: "好".repeat(1001), ..confirmation() }));
    t.row(rpc, "an order nobody placed", NotFound, "order_id: no order", confirm(OPERATOR, confirmation()));
    t.row(rpc, "member role", PermissionDenied, "role member may not call ConfirmOrder",
        confirm(ZHAO_LEI, confirmation()));

    let rpc = "people.CancelOrder";
    let cancel = |auth, reason: &str| {
        let message = CancelOrderRequest {
            request_id: "bad-input-cancel".into(),
            order_id: UNKNOWN_CASE.into(),
            reason: reason.into(),
        };
        call!(PeopleClient, ch.evaluation, cancel_order, auth, message)
    };
    t.row(rpc, "no reason", InvalidArgument, "reason: must not be empty", cancel(OPERATOR, "  "));
    t.row(rpc, "an order nobody placed", NotFound, "order_id: no order", cancel(OPERATOR, "家里人回来了，不用了"));
    t.row(rpc, "grid worker role", PermissionDenied, "role grid_worker may not call CancelOrder",
        cancel(LIN_MING, "家里人回来了，不用了"));

    let rpc = "people.GetOrder";
    let get = |auth, order_id: &str| {
        let message = GetOrderRequest { order_id: order_id.into() };
        call!(PeopleClient, ch.evaluation, get_order, auth, message)
    };
    t.row(rpc, "malformed order id", InvalidArgument, "order_id: ", get(OPERATOR, "xyz"));
    t.row(rpc, "an order nobody placed", NotFound, "order_id: no order", get(OPERATOR, UNKNOWN_CASE));
    t.row(rpc, "department role", PermissionDenied, "role department may not call GetOrder",
        get(WATER, UNKNOWN_CASE));

    let rpc = "people.ListOrders";
    let list = |auth, community: &str| {
        let message = ListOrdersRequest { community_code: community.into() };
        call!(PeopleClient, ch.evaluation, list_orders, auth, message)
    };
    t.row(rpc, "no community from a supervisor", InvalidArgument, "community_code: name the community",
        list(SUPERVISOR, ""));
    t.row(rpc, "a grid, not a community", InvalidArgument,
        "community_code: 330102-001-001-001 is not a known community", list(SUPERVISOR, GRID_A));
    t.row(rpc, "another community's orders", PermissionDenied,
        "may not read community 330102-001-001", list(QINGBO, "330102-001-001"));
    t.row(rpc, "operator role", PermissionDenied, "role operator may not call ListOrders",
        list(OPERATOR, "330102-001-001"));

    let rpc = "people.ListServices";
    let services = |auth| call!(PeopleClient, ch.evaluation, list_services, auth, ListServicesRequest {});
    t.row(rpc, "department role", PermissionDenied, "role department may not call ListServices",
        services(WATER));
    t.row(rpc, "no token", Unauthenticated, "", services(Auth::NoToken));
}
