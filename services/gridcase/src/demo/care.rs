//! The community's own work beside the day's cases: service orders (群众点单、社区派单、
//! 党员接单) that residents place through the hotline, the community dispatches to a volunteer
//! or party member, who completes them and the resident rates; and care visits (敲门行动) to
//! households of the 涌金 community's ledger, some of them overdue. Both are printed as the
//! services read them back: the community's orders, and the community's visit plan with the
//! board's count of overdue visits.

use gridcase::table::Table;
use gridcase_proto::people::v1::{self as people_pb, CareKind};
use gridcase_proto::query::v1 as query_pb;

use super::cast::{member_key, office_key, worker_key, OPERATOR};
use super::day::{now_ms, sleep_ms, status_error, Day};

/// The community of the ledger's households and of most orders.
const COMMUNITY: &str = "330102-001-001";

const DAY_MS: i64 = 86_400_000;

/// How an order ends.
enum Outcome {
    /// The resident confirms it, with a rating and what they said.
    Confirmed(u32, &'static str),
    /// The resident withdraws it before it is done.
    Cancelled(&'static str),
}

/// One order of the day: service, grid, the resident's phone and words, the member the
/// community gives it to, what the member says when done, and how it ends.
struct OrderPlan {
    service: &'static str,
    grid: &'static str,
    phone: &'static str,
    words: &'static str,
    member: &'static str,
    done: &'static str,
    outcome: Outcome,
}

const ORDERS: [OrderPlan; 4] = [
    OrderPlan {
        service: "escort",
        grid: "330102-001-001-001",
        phone: "13805710432",
        words: "我腿脚不好，周四上午要去市一医院复查，孩子都在外地，想请人陪我去一趟",
        member: "xu-lanying",
        done: "陪李阿姨做完检查，取了药送到家，医生说下个月再复查",
        outcome: Outcome::Confirmed(5, "小徐一直陪着排队拿药，谢谢社区"),
    },
    OrderPlan {
        service: "errands",
        grid: "330102-001-001-002",
        phone: "13605712218",
        words: "老伴住院了我走不开，麻烦帮忙去药店买一盒降压药，再带两斤鸡蛋",
        member: "xu-lanying",
        done: "药和鸡蛋都送到了，小票放在袋子里",
        outcome: Outcome::Confirmed(4, "东西都买对了，就是比说好的晚了半天"),
    },
    OrderPlan {
        service: "repair",
        grid: "330102-001-002-001",
        phone: "13905719876",
        words: "家里热水器打不着火了，我一个人住不会弄，想请人上门看看",
        member: "gao-zhiqiang",
        done: "燃气阀门没开到位，已调好，教了阿姨看指示灯",
        outcome: Outcome::Confirmed(5, "高师傅人很好，修好了还教我怎么看"),
    },
    OrderPlan {
        service: "haircut",
        grid: "330102-001-001-001",
        phone: "13757104411",
        words: "我家老头子躺在床上好几个月了，头发太长，能不能请人上门剪一下",
        member: "xu-lanying",
        done: "",
        outcome: Outcome::Cancelled("女儿周末回来带他去理发店了，不用麻烦了"),
    },
];

/// A household of the 涌金 ledger: kind, grid, name, phone, days since the ledger's last
/// visit, and who visits today (a grid worker or a member, by id) with what note (none: nobody
/// goes today).
struct HouseholdPlan {
    kind: CareKind,
    grid: &'static str,
    name: &'static str,
    phone: &'static str,
    last_visited_days_ago: i64,
    visit: Option<(&'static str, &'static str)>,
}

const HOUSEHOLDS: [HouseholdPlan; 5] = [
    HouseholdPlan {
        kind: CareKind::ElderlyAlone,
        grid: "330102-001-001-001",
        name: "王秀英",
        phone: "13957100101",
        last_visited_days_ago: 5,
        visit: Some((
            "lin-ming",
            "王阿姨血压稳定，冰箱里菜不多了，给她女儿打了电话让周末送点来",
        )),
    },
    HouseholdPlan {
        kind: CareKind::Disabled,
        grid: "330102-001-001-001",
        name: "周建国",
        phone: "13957100102",
        last_visited_days_ago: 16,
        visit: Some((
            "chen-lijuan",
            "周叔叔轮椅刹车松了，帮他拧紧了，提醒他按时吃药",
        )),
    },
    HouseholdPlan {
        kind: CareKind::LowIncome,
        grid: "330102-001-001-002",
        name: "刘桂兰",
        phone: "13957100103",
        last_visited_days_ago: 20,
        visit: None,
    },
    HouseholdPlan {
        kind: CareKind::LeftBehindChild,
        grid: "330102-001-001-002",
        name: "陈小宇",
        phone: "13957100104",
        last_visited_days_ago: 16,
        visit: None,
    },
    HouseholdPlan {
        kind: CareKind::ElderlyAlone,
        grid: "330102-001-001-002",
        name: "孙玉珍",
        phone: "13957100105",
        last_visited_days_ago: 6,
        visit: Some((
            "xu-lanying",
            "孙奶奶说最近睡得不好，陪她聊了一会儿，帮她把一周的药分好了",
        )),
    },
];

impl Day {
    /// Places, dispatches and completes the day's orders and prints the community's list.
    pub(super) async fn run_orders(&self) -> anyhow::Result<()> {
        let fail = |doing: &'static str| move |s: tonic::Status| status_error(doing, &s);
        for (index, plan) in ORDERS.iter().enumerate() {
            let request_id = |step: &str| format!("demo-{}-order-{index}-{step}", self.run);
            let placed = self
                .api
                .people(OPERATOR)
                .place_order(people_pb::PlaceOrderRequest {
                    request_id: request_id("place"),
                    service_code: plan.service.to_owned(),
                    grid_code: plan.grid.to_owned(),
                    resident_phone: plan.phone.to_owned(),
                    details: plan.words.to_owned(),
                })
                .await
                .map_err(fail("placing a service order"))?
                .into_inner();
            let order = placed.order.map(|o| o.order_id).unwrap_or_default();
            let action = |step: &str| people_pb::OrderActionRequest {
                request_id: request_id(step),
                order_id: order.clone(),
            };
            let community = gridcase_domain::GridCode::parse(plan.grid)
                .ok()
                .and_then(|g| g.at_level(gridcase_domain::GridLevel::Community))
                .map(|c| c.to_string())
                .unwrap_or_default();
            let office = office_key("community", &community);
            if let Outcome::Cancelled(reason) = plan.outcome {
                self.api
                    .people(&office)
                    .cancel_order(people_pb::CancelOrderRequest {
                        request_id: request_id("cancel"),
                        order_id: order.clone(),
                        reason: reason.to_owned(),
                    })
                    .await
                    .map_err(fail("cancelling a service order"))?;
                continue;
            }
            self.api
                .people(&office)
                .dispatch_order(people_pb::DispatchOrderRequest {
                    request_id: request_id("dispatch"),
                    order_id: order.clone(),
                    member_id: plan.member.to_owned(),
                })
                .await
                .map_err(fail("dispatching a service order"))?;
            let mut member = self.api.people(&member_key(plan.member));
            member
                .accept_order(action("accept"))
                .await
                .map_err(fail("accepting a service order"))?;
            member
                .complete_order(people_pb::CompleteOrderRequest {
                    request_id: request_id("complete"),
                    order_id: order.clone(),
                    note: plan.done.to_owned(),
                })
                .await
                .map_err(fail("completing a service order"))?;
            if let Outcome::Confirmed(rating, comment) = plan.outcome {
                self.api
                    .people(OPERATOR)
                    .confirm_order(people_pb::ConfirmOrderRequest {
                        request_id: request_id("confirm"),
                        order_id: order.clone(),
                        resident_phone: plan.phone.to_owned(),
                        rating,
                        comment: comment.to_owned(),
                    })
                    .await
                    .map_err(fail("confirming a service order"))?;
            }
        }
        // The communities' lists, read back once the model has every order.
        let mut table = Table::new(&[
            "service",
            "community",
            "member",
            "status",
            "rating",
            "dispatched late",
        ]);
        for community in [COMMUNITY, "330102-001-002"] {
            let office = office_key("community", community);
            let started = std::time::Instant::now();
            let orders = loop {
                let orders = self
                    .api
                    .people(&office)
                    .list_orders(people_pb::ListOrdersRequest::default())
                    .await
                    .map_err(fail("listing service orders"))?
                    .into_inner()
                    .orders;
                let expected = ORDERS
                    .iter()
                    .filter(|o| o.grid.starts_with(community))
                    .count();
                let settled = orders
                    .iter()
                    .filter(|o| {
                        o.status == people_pb::OrderStatus::Confirmed as i32
                            || o.status == people_pb::OrderStatus::Cancelled as i32
                    })
                    .count();
                if settled >= expected || started.elapsed().as_secs() >= 10 {
                    break orders;
                }
                sleep_ms(100).await;
            };
            for order in orders.iter().rev() {
                let status = people_pb::OrderStatus::try_from(order.status)
                    .map(|s| {
                        s.as_str_name()
                            .trim_start_matches("ORDER_STATUS_")
                            .to_lowercase()
                    })
                    .unwrap_or_default();
                table.row(vec![
                    order.service_name.clone(),
                    self.area_name(&order.community_code),
                    if order.member_id.is_empty() {
                        "—".to_owned()
                    } else {
                        order.member_id.clone()
                    },
                    status,
                    if order.rating == 0 {
                        "—".to_owned()
                    } else {
                        format!("{}/5", order.rating)
                    },
                    if order.dispatch_overdue { "yes" } else { "no" }.to_owned(),
                ]);
            }
        }
        println!();
        println!(
            "service orders (群众点单、社区派单、党员接单) — placed on the hotline, dispatched by \
             the community, completed by a volunteer or party member, rated by the resident"
        );
        println!("{}", table.render());
        Ok(())
    }

    /// Puts the 涌金 ledger's households under care, makes the day's visits, and prints the
    /// community's visit plan and the board's count of overdue visits.
    pub(super) async fn run_visits(&self) -> anyhow::Result<()> {
        let fail = |doing: &'static str| move |s: tonic::Status| status_error(doing, &s);
        let office = office_key("community", COMMUNITY);
        let now = now_ms();
        let mut visits = 0;
        for (index, plan) in HOUSEHOLDS.iter().enumerate() {
            let enrolled = self
                .api
                .care(&office)
                .enrol_household(people_pb::EnrolHouseholdRequest {
                    request_id: format!("demo-{}-ledger-{index}", self.run),
                    kind: plan.kind as i32,
                    grid_code: plan.grid.to_owned(),
                    name: plan.name.to_owned(),
                    phone: plan.phone.to_owned(),
                    last_visited_at_ms: now - plan.last_visited_days_ago * DAY_MS,
                })
                .await
                .map_err(fail("putting a household under care"))?
                .into_inner();
            if let Some((who, note)) = plan.visit {
                let caller = match gridcase_domain::MemberId::parse(who) {
                    Ok(id) if self.reference.member(&id).is_some() => member_key(who),
                    _ => worker_key(who),
                };
                self.api
                    .care(&caller)
                    .record_visit(people_pb::RecordVisitRequest {
                        request_id: format!("demo-{}-visit-{index}", self.run),
                        household_id: enrolled.household_id,
                        note: note.to_owned(),
                        visited_at_ms: 0,
                        problem: None,
                    })
                    .await
                    .map_err(fail("recording a care visit"))?;
                visits += 1;
            }
        }
        let started = std::time::Instant::now();
        let plan = loop {
            let plan = self
                .api
                .query_as(&office)
                .visit_plan(query_pb::VisitPlanRequest::default())
                .await
                .map_err(fail("reading the visit plan"))?
                .into_inner();
            let recorded: u32 = plan.households.iter().map(|h| h.visits).sum();
            if recorded as usize >= visits || started.elapsed().as_secs() >= 10 {
                break plan;
            }
            sleep_ms(100).await;
        };
        let mut table = Table::new(&[
            "household",
            "kind",
            "grid",
            "last visit",
            "by",
            "next due",
            "overdue",
        ]);
        let days = |ms: i64| {
            let days = (ms - now) as f64 / DAY_MS as f64;
            if days.abs() < 0.5 {
                "today".to_owned()
            } else if days >= 0.0 {
                format!("in {days:.0} d")
            } else {
                format!("{:.0} d ago", -days)
            }
        };
        for household in &plan.households {
            table.row(vec![
                household.name_masked.clone(),
                household.kind_label.clone(),
                self.area_name(&household.grid_code),
                days(household.last_visit_at_ms),
                if household.last_visitor.is_empty() {
                    "ledger".to_owned()
                } else {
                    household.last_visitor.clone()
                },
                days(household.next_due_ms),
                if household.overdue { "yes" } else { "no" }.to_owned(),
            ]);
        }
        let board = self
            .api
            .query()
            .board(query_pb::BoardRequest {})
            .await
            .map_err(fail("reading the board"))?
            .into_inner();
        let (households, overdue) = board
            .communities
            .iter()
            .find(|c| c.grid_code == COMMUNITY)
            .map_or((0, 0), |c| (c.households_under_care, c.visits_overdue));
        println!();
        println!(
            "care visits (敲门行动) — {}'s visit plan, names masked; the board counts {households} \
             households under care and {overdue} overdue",
            self.area_name(COMMUNITY)
        );
        println!("{}", table.render());
        Ok(())
    }
}
