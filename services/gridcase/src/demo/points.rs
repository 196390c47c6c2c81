//! The people at the end of the day: the points shop (积分超市) — each community office looks up
//! the points of its special members and of the neighbourhood's regular callers and hands out
//! the dearest item each balance buys — with the points board read back from the People
//! service, then the grid workers' (优秀网格员) and the communities' rankings from the query
//! service.

use gridcase::table::Table;
use gridcase_domain::people::EarnReason;
use gridcase_domain::Phone;
use gridcase_proto::people::v1::{self as people_pb, AccountOwner};
use gridcase_proto::query::v1 as query_pb;

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
                    reporter_of_case: String::new(),
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
                    reporter_of_case: String::new(),
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
            "the points board (积分) — a valid report earns {}, a problem fixed {}, an order \
             completed {}, a member's care visit {}; each balance buys the dearest item it can",
            rules.points_for(EarnReason::ValidReport),
            rules.points_for(EarnReason::ReportFixed),
            rules.points_for(EarnReason::OrderCompleted),
            rules.points_for(EarnReason::CareVisit),
        );
        println!("{}", table.render());
        Ok(())
    }

    /// Prints the day's grid-worker ranking (优秀网格员, the first ten) and community ranking,
    /// read back from the query service.
    pub(super) async fn print_people_rankings(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> anyhow::Result<()> {
        let mut query = self.api.query();
        let workers = query
            .grid_worker_indicators(query_pb::PeriodRequest { from_ms, to_ms })
            .await
            .map_err(|s| status_error("reading the grid workers' indicators", &s))?
            .into_inner();
        let mut table = Table::new(&[
            "rank",
            "worker",
            "name",
            "grid",
            "found",
            "settled",
            "checks",
            "on time",
            "visits",
            "satisfied",
            "score",
        ]);
        let rate = gridcase::report::percent;
        for row in workers.workers.iter().filter(|w| w.rank > 0).take(10) {
            table.row(vec![
                row.rank.to_string(),
                row.worker_id.clone(),
                row.name.clone(),
                row.grid_name.clone(),
                row.found_on_patrol.to_string(),
                row.settled_in_grid.to_string(),
                row.checks.to_string(),
                rate(row.on_time_check_rate),
                row.visits.to_string(),
                rate(row.satisfaction_rate),
                format!("{:.3}", row.score),
            ]);
        }
        let unranked = workers.workers.iter().filter(|w| w.rank == 0).count();
        println!();
        println!(
            "the grid workers' ranking (优秀网格员) — the first ten; {unranked} with fewer than {} \
             finds, settlements, checks and visits are not ranked",
            workers.min_activity
        );
        println!("{}", table.render());

        let communities = query
            .area_indicators(query_pb::SettlementIndicatorsRequest {
                from_ms,
                to_ms,
                level: "community".to_owned(),
            })
            .await
            .map_err(|s| status_error("reading the communities' indicators", &s))?
            .into_inner();
        let mut table = Table::new(&[
            "rank",
            "community",
            "cases",
            "closed",
            "satisfied",
            "resolved",
            "in grid",
            "in community",
        ]);
        for row in &communities.areas {
            table.row(vec![
                gridcase::report::rank(row.rank),
                row.name.clone(),
                row.cases.to_string(),
                row.closed.to_string(),
                rate(row.satisfaction_rate),
                rate(row.resolution_rate),
                rate(row.grid_share),
                rate(row.community_share),
            ]);
        }
        println!();
        println!(
            "the communities' ranking — by residents' satisfaction, then the share settled in \
             the community (ranked with at least {} closed cases)",
            communities.min_closed
        );
        println!("{}", table.render());
        Ok(())
    }
}
