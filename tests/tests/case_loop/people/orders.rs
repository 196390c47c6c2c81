//! A service order (群众点单、社区派单、党员接单) from the resident's order to their rating.

use super::*;

/// points.toml's order_completed.
const ORDER_COMPLETED: u64 = 10;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_order_goes_from_the_residents_order_to_their_rating_and_the_member_earns_points()
{
    let city = start_people_city().await;
    let services = city
        .people(YONGJIN_COMMUNITY)
        .list_services(ListServicesRequest {})
        .await
        .unwrap()
        .into_inner()
        .services;
    let escort = services.iter().find(|s| s.code == "escort").unwrap();
    assert_eq!(
        (escort.name.as_str(), escort.dispatch_within_hours),
        ("助老陪诊", 8)
    );

    // 群众点单: the hotline takes Mrs Li's order; the retry of the same request is the same order.
    let phone = "13805710432";
    let place = PlaceOrderRequest {
        request_id: "hotline-order-0001".to_owned(),
        service_code: "escort".to_owned(),
        grid_code: YONGJIN_GRID_1.to_owned(),
        resident_phone: phone.to_owned(),
        details: "我腿脚不好，周四上午要去市一医院复查，孩子都在外地，想请人陪我去一趟".to_owned(),
    };
    let placed = city
        .people(OPERATOR)
        .place_order(place.clone())
        .await
        .unwrap()
        .into_inner();
    let again = city
        .people(OPERATOR)
        .place_order(place)
        .await
        .unwrap()
        .into_inner();
    assert!(!placed.repeated && again.repeated);
    let order = placed.order.unwrap();
    assert_eq!(again.order.unwrap().order_id, order.order_id);
    assert_eq!(order.status, OrderStatus::Placed as i32);
    assert_eq!(order.community_code, YONGJIN_COMMUNITY);
    assert_eq!(order.dispatch_due_ms - order.placed_at_ms, 8 * 3_600_000);
    assert_eq!(order.complete_due_ms - order.placed_at_ms, 72 * 3_600_000);
    assert!(!order.dispatch_overdue);
    let id = order.order_id.clone();

    // 社区派单: to a volunteer of the community, not to a building head, and not by another
    // community's office.
    let dispatch = |member: &str| DispatchOrderRequest {
        request_id: format!("dispatch-{member}"),
        order_id: id.clone(),
        member_id: member.to_owned(),
    };
    let refused = city
        .people(YONGJIN_COMMUNITY)
        .dispatch_order(dispatch("he-guifang"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused
        .message()
        .contains("orders go to party members and volunteers"));
    let refused = city
        .people("330102-001-002")
        .dispatch_order(dispatch("xu-lanying"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "{refused:?}");
    let dispatched = city
        .people(YONGJIN_COMMUNITY)
        .dispatch_order(dispatch("xu-lanying"))
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(dispatched.status, OrderStatus::Dispatched as i32);
    assert_eq!(dispatched.member_id, "xu-lanying");

    // 党员接单: only the member it is given to takes it on and completes it.
    let action = |request_id: &str| OrderActionRequest {
        request_id: request_id.to_owned(),
        order_id: id.clone(),
    };
    let refused = city
        .people("he-guifang")
        .accept_order(action("accept-1"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        refused.message(),
        "member_id: the order is given to xu-lanying, not he-guifang"
    );
    let complete = CompleteOrderRequest {
        request_id: "complete-1".to_owned(),
        order_id: id.clone(),
        note: "陪李阿姨做完检查，取了药送到家，医生说下个月再复查".to_owned(),
    };
    let refused = city
        .people("xu-lanying")
        .complete_order(complete.clone())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert!(refused
        .message()
        .contains("only an accepted order can be completed"));
    city.people("xu-lanying")
        .accept_order(action("accept-1"))
        .await
        .unwrap();
    let completed = city
        .people("xu-lanying")
        .complete_order(complete)
        .await
        .unwrap()
        .into_inner()
        .order
        .unwrap();
    assert_eq!(completed.status, OrderStatus::Completed as i32);
    assert!(!completed.completion_overdue);

    // The resident confirms and rates, with the phone she ordered with; the volunteer earns
    // points for it, once.
    let confirm = |phone: &str| ConfirmOrderRequest {
        request_id: "confirm-1".to_owned(),
        order_id: id.clone(),
        resident_phone: phone.to_owned(),
        rating: 5,
        comment: "小许人很好，一直陪着排队拿药，谢谢社区".to_owned(),
    };
    let refused = city
        .people(OPERATOR)
        .confirm_order(confirm("13905710000"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    assert_eq!(
        refused.message(),
        "resident_phone: is not the phone the order was placed with"
    );
    let confirmed = city
        .people(OPERATOR)
        .confirm_order(confirm(phone))
        .await
        .unwrap()
        .into_inner();
    let again = city
        .people(OPERATOR)
        .confirm_order(confirm(phone))
        .await
        .unwrap()
        .into_inner();
    assert!(!confirmed.repeated && again.repeated);
    let confirmed = confirmed.order.unwrap();
    assert_eq!(
        (confirmed.status, confirmed.rating),
        (OrderStatus::Confirmed as i32, 5)
    );
    let account = wait_balance(&city, member("xu-lanying"), ORDER_COMPLETED).await;
    let entries: Vec<(&str, i64, &str)> = account
        .entries
        .iter()
        .map(|e| (e.reason.as_str(), e.points, e.order_id.as_str()))
        .collect();
    assert_eq!(entries, [("order_completed", 10, id.as_str())]);

    // Confirmed is final; and the community's list shows the order with its rating.
    let refused = city
        .people(YONGJIN_COMMUNITY)
        .cancel_order(CancelOrderRequest {
            request_id: "cancel-1".to_owned(),
            order_id: id.clone(),
            reason: "居民说不用了".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::FailedPrecondition, "{refused:?}");
    let listed = wait_until("the order in the community's list", WAIT, || {
        let mut people = city.people(YONGJIN_COMMUNITY);
        async move {
            let orders = people
                .list_orders(ListOrdersRequest::default())
                .await
                .unwrap()
                .into_inner()
                .orders;
            orders
                .into_iter()
                .find(|o| o.status == OrderStatus::Confirmed as i32)
        }
    })
    .await;
    assert_eq!(listed.order_id, id);
    assert_eq!(
        (
            listed.member_id.as_str(),
            listed.rating,
            listed.service_name.as_str()
        ),
        ("xu-lanying", 5, "助老陪诊")
    );
}
