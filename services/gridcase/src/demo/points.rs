//! The month-end points shop (积分超市): each community office looks up the points of its
//! special members and of the neighbourhood's regular callers, hands out the dearest item each
//! balance buys, and the demo prints the points board read back from the People service.

use gridcase::table::Table;
use gridcase_domain::Phone;
use gridcase_proto::people::v1::{self as people_pb, AccountOwner};

use super::cast::office_key;
use super::day::{status_error, Day};
use super::plan::REGULAR_CALLERS;

/// The community whose shop the regular callers go to: 涌金社区, where most of them live.
const REGULARS_COMMUNITY: &str = "330102-001-001";

/// One account on the board.
struct Holder {
    /// How the board names them: a member's name, or a caller's masked phone.
    shown: String,
    kind: &'static str,
    community: String,
    owner: AccountOwner,
}

/// Waits (up to ten seconds) until the points feed has credited every event of the day.
pub(super) async fn wait_for_points(js: &async_nats::jetstream::Context) {
    let started = std::time::Instant::now();
    while started.elapsed() < std::time::Duration::from_secs(10) {
        let consumer = js
            .get_consumer_from_stream::<async_nats::jetstream::consumer::pull::Config, _, _>(
                gridcase_evaluation::people::credit::DURABLE,
                gridcase_bus::subjects::EVENTS_STREAM,
            )
            .await;
        if let Ok(mut consumer) = consumer {
            if let Ok(info) = consumer.info().await {
                if info.num_pending == 0 && info.num_ack_pending == 0 {
                    return;
                }
            }
        }
        super::day::sleep_ms(100).await;
    }
}

impl Day {
    /// Runs the shop for every member and regular caller, and prints the board.
    pub(super) async fn print_points(&self) -> anyhow::Result<()> {
        let mut holders: Vec<Holder> = self
            .reference
            .members()
            .map(|member| Holder {
                shown: member.name.to_string(),
                kind: member.kind.label(),
                community: member.community.to_string(),
                owner: AccountOwner {
                    member_id: member.id.to_string(),
                    resident_phone: String::new(),
                },
            })
            .collect();
        for (name, phone) in REGULAR_CALLERS {
            let masked = Phone::parse(phone).map_or_else(|_| String::new(), |p| p.masked());
            holders.push(Holder {
                shown: format!("{name} {masked}"),
                kind: "居民",
                community: REGULARS_COMMUNITY.to_owned(),
                owner: AccountOwner {
                    member_id: String::new(),
                    resident_phone: (*phone).to_owned(),
                },
            });
        }
        let mut items: Vec<(String, u32)> = self
            .reference
            .points()
            .shop
            .iter()
            .map(|(name, points)| (name.clone(), *points))
            .collect();
        items.sort_by_key(|(_, points)| std::cmp::Reverse(*points));
        let mut table = Table::new(&[
            "holder",
            "kind",
            "community",
            "earned",
            "exchanged",
            "balance",
            "item",
        ]);
        for holder in holders {
            let office = office_key("community", &holder.community);
            let mut people = self.api.people(&office);
            let account = people
                .get_account(people_pb::GetAccountRequest {
                    owner: Some(holder.owner.clone()),
                })
                .await
                .map_err(|s| status_error("reading a points account", &s))?
                .into_inner();
            let affordable = items
                .iter()
                .find(|(_, price)| u64::from(*price) <= account.balance);
            let (account, item) = match affordable {
                Some((item, _)) => {
                    let exchanged = people
                        .exchange_points(people_pb::ExchangePointsRequest {
                            request_id: format!("demo-{}-shop-{}", self.run, account.account_id),
                            owner: Some(holder.owner.clone()),
                            item: item.clone(),
                        })
                        .await
                        .map_err(|s| status_error("exchanging points", &s))?
                        .into_inner();
                    (exchanged.account.unwrap_or(account), item.clone())
                }
                None => (account, "—".to_owned()),
            };
            table.row(vec![
                holder.shown,
                holder.kind.to_owned(),
                self.area_name(&holder.community),
                account.earned.to_string(),
                account.spent.to_string(),
                account.balance.to_string(),
                item,
            ]);
        }
        let rules = self.reference.points();
        println!();
        println!(
            "the points board (积分) — a valid report earns {}, a problem fixed {}; each balance \
             buys the dearest item it can",
            rules.points_for(gridcase_domain::people::EarnReason::ValidReport),
            rules.points_for(gridcase_domain::people::EarnReason::ReportFixed),
        );
        println!("{}", table.render());
        Ok(())
    }
}
