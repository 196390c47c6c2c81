//! Public community boards (`GET /board/<street or community code>`): for every community of
//! the area, this month's and last month's figures — cases reported, closed, closed on time,
//! satisfaction, the commonest categories and each department's on-time rate — as query's
//! `PublicBoard` counts them, by calendar month in China time (UTC+8).
//!
//! Only counts and the names of categories, departments and places are shown: no reporter,
//! no phone, no resident's words. The rendered page is kept for [`BOARD_TTL`] per area, so
//! however often a board is viewed query is asked at most about once a minute per area
//! (twice, for the two months) and intake never feels it.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gridcase_config::ReferenceData;
use gridcase_domain::{GridCode, GridLevel};
use gridcase_proto::query::v1::{CommunityFigures, PublicBoardReply, PublicBoardRequest};

use crate::app::AppState;
use crate::clock::LocalTime;
use crate::html::{escape, page, PageError};

/// How long a rendered board is served before query is asked again.
pub const BOARD_TTL: Duration = Duration::from_secs(60);

/// The most areas whose boards are kept at once (the city's streets and communities fit
/// many times over; codes that are not areas are never cached).
pub const MAX_CACHED_AREAS: usize = 256;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// Rendered boards by area, each with when it was rendered. Bounded by
/// [`BoardCache::capacity`]: past it, expired entries and then the oldest are dropped.
#[derive(Debug)]
pub struct BoardCache {
    ttl: Duration,
    capacity: usize,
    pages: Mutex<HashMap<GridCode, (Instant, Arc<str>)>>,
    /// Held while a board is fetched from query, so a burst of views of an expired board
    /// asks query once (the others wait and find the fresh page) and the gateway never has
    /// more than one board request in flight.
    refreshing: tokio::sync::Mutex<()>,
}

impl BoardCache {
    /// An empty cache keeping pages for `ttl`, at most `capacity` of them.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            pages: Mutex::new(HashMap::new()),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// How many areas it holds at most.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The page of `area` rendered less than the TTL before `now`, if any.
    pub fn get(&self, area: &GridCode, now: Instant) -> Option<Arc<str>> {
        let pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        let (at, page) = pages.get(area)?;
        (now.saturating_duration_since(*at) < self.ttl).then(|| Arc::clone(page))
    }

    /// Keeps `page` as `area`'s, rendered at `now`.
    pub fn put(&self, area: GridCode, page: Arc<str>, now: Instant) {
        let mut pages = self.pages.lock().unwrap_or_else(|e| e.into_inner());
        if pages.len() >= self.capacity && !pages.contains_key(&area) {
            pages.retain(|_, (at, _)| now.saturating_duration_since(*at) < self.ttl);
            if pages.len() >= self.capacity {
                if let Some(oldest) = pages.iter().min_by_key(|(_, (at, _))| *at).map(|(c, _)| *c) {
                    pages.remove(&oldest);
                }
            }
        }
        pages.insert(area, (now, page));
    }

    /// How many pages it holds.
    pub fn len(&self) -> usize {
        self.pages.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// True if it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One calendar month in the city's local time (the calendar's UTC offset, Beijing time in
/// the sample city): `[from_ms, to_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Month {
    /// The year.
    pub year: u16,
    /// The month, 1 to 12.
    pub month: u8,
    /// Its first instant, ms since the Unix epoch.
    pub from_ms: i64,
    /// The first instant of the next month.
    pub to_ms: i64,
    /// The local time's offset from UTC, in minutes.
    pub offset_minutes: i32,
}

impl Month {
    /// The month containing `at_ms` (ms since the Unix epoch) at `offset_minutes` east of UTC.
    pub fn containing(at_ms: i64, offset_minutes: i32) -> Option<Self> {
        let local = LocalTime::at(at_ms, offset_minutes)?;
        let from_ms = local.month_start_ms();
        // 32 days after a month's first day always falls in the next month.
        let to_ms = LocalTime::at(from_ms + 32 * DAY_MS, offset_minutes)?.month_start_ms();
        Some(Self {
            year: local.date.year(),
            month: local.date.month(),
            from_ms,
            to_ms,
            offset_minutes,
        })
    }

    /// The month before this one.
    pub fn previous(self) -> Option<Self> {
        Self::containing(self.from_ms - 1, self.offset_minutes)
    }

    /// e.g. `2026年11月`.
    pub fn label(self) -> String {
        format!("{}年{}月", self.year, self.month)
    }
}

/// The board routes, keeping pages for [`BOARD_TTL`].
pub fn routes() -> Router<AppState> {
    routes_with_ttl(BOARD_TTL)
}

/// The board routes, keeping pages for `ttl` (a cache of its own per router).
pub fn routes_with_ttl(ttl: Duration) -> Router<AppState> {
    let cache = Arc::new(BoardCache::new(ttl, MAX_CACHED_AREAS));
    Router::new().route(
        "/board/{area}",
        get(
            move |State(gateway): State<AppState>, UrlPath(area): UrlPath<String>| {
                let cache = Arc::clone(&cache);
                async move { board(gateway, &cache, &area).await }
            },
        ),
    )
}

/// The street or community `text` names, if it has a board.
pub fn board_area<'a>(
    reference: &'a ReferenceData,
    text: &str,
) -> Option<&'a gridcase_config::GridArea> {
    let code = GridCode::parse(text).ok()?;
    reference
        .grid(&code)
        .filter(|area| matches!(area.level(), GridLevel::Street | GridLevel::Community))
}

async fn board(gateway: AppState, cache: &BoardCache, area: &str) -> Response {
    let Some(area) = board_area(&gateway.reference, area) else {
        return PageError::not_found("没有这个街道或社区的公示栏。请检查链接中的街道或社区编号。")
            .into_response();
    };
    let code = area.code;
    if let Some(page) = cache.get(&code, Instant::now()) {
        return html(page);
    }
    let _refreshing = cache.refreshing.lock().await;
    if let Some(page) = cache.get(&code, Instant::now()) {
        return html(page);
    }
    let now_ms = gridcase_runtime::now().as_millis();
    let offset = gateway.reference.calendar().utc_offset_minutes();
    let Some((this, last)) =
        Month::containing(now_ms, offset).and_then(|m| Some((m, m.previous()?)))
    else {
        return PageError::unavailable(&gateway.settings.hotline).into_response();
    };
    let ask = |month: Month| {
        let mut query = gateway.backend.query.clone();
        let request = PublicBoardRequest {
            area_code: code.to_string(),
            from_ms: month.from_ms,
            to_ms: month.to_ms,
        };
        async move { query.public_board(request).await.map(|r| r.into_inner()) }
    };
    let (now_reply, last_reply) = tokio::join!(ask(this), ask(last));
    let (now_reply, last_reply) = match (now_reply, last_reply) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(status), _) | (_, Err(status)) => {
            tracing::warn!(area = %code, %status, "query's PublicBoard failed");
            return PageError::unavailable(&gateway.settings.hotline).into_response();
        }
    };
    let text: Arc<str> = render(
        &gateway.reference,
        &gateway.settings.city,
        &area.name,
        [(this, &now_reply), (last, &last_reply)],
    )
    .into();
    cache.put(code, Arc::clone(&text), Instant::now());
    html(text)
}

fn html(page: Arc<str>) -> Response {
    (
        [(header::CACHE_CONTROL, "public, max-age=60")],
        Html(page.to_string()),
    )
        .into_response()
}

/// `part` of `whole` as a whole percentage, e.g. `67%`; `—` when `whole` is 0.
pub fn percent(part: u64, whole: u64) -> String {
    if whole == 0 {
        return "—".to_owned();
    }
    format!("{}%", (part * 100 + whole / 2) / whole)
}

/// The board page of area `area_name` from the replies of this month and last month.
pub fn render(
    reference: &ReferenceData,
    city: &str,
    area_name: &str,
    months: [(Month, &PublicBoardReply); 2],
) -> String {
    let category_names: HashMap<String, &str> = reference
        .categories()
        .map(|c| (c.code.to_string(), c.name.as_str()))
        .collect();
    let department_names: HashMap<String, &str> = reference
        .departments()
        .map(|d| (d.code.to_string(), d.name.as_str()))
        .collect();
    let [(this, this_reply), (last, last_reply)] = months;
    let mut body = format!(
        "<section><p>{area}各社区{this}和{last}的办件情况：群众反映了多少问题，办结了多少、\
         是否按时，群众是否满意。只统计数字，不公开任何个人信息。</p>\
         <p class=\"hint\">按北京时间自然月统计，每分钟更新。</p></section>\n",
        area = escape(area_name),
        this = this.label(),
        last = last.label(),
    );
    let last_by_code: HashMap<&str, &CommunityFigures> = last_reply
        .communities
        .iter()
        .map(|c| (c.community_code.as_str(), c))
        .collect();
    let empty = CommunityFigures::default();
    for now in &this_reply.communities {
        let before = last_by_code
            .get(now.community_code.as_str())
            .copied()
            .unwrap_or(&empty);
        let name = GridCode::parse(&now.community_code)
            .ok()
            .and_then(|code| reference.grid(&code))
            .map_or("社区", |area| area.name.as_str());
        let columns = [now, before];
        let row = |label: &str, cell: &dyn Fn(&CommunityFigures) -> String| {
            let mut row = format!("<tr><th>{label}</th>");
            for figures in columns {
                let _ = write!(row, "<td>{}</td>", cell(figures));
            }
            row.push_str("</tr>\n");
            row
        };
        let _ = write!(
            body,
            "<section id=\"c-{code}\"><h2>{name}</h2>\n<table>\n\
             <tr><th></th><th>本月（{this_month}月）</th><th>上月（{last_month}月）</th></tr>\n",
            code = escape(&now.community_code),
            name = escape(name),
            this_month = this.month,
            last_month = last.month,
        );
        body.push_str(&row("反映问题", &|f| f.reported.to_string()));
        body.push_str(&row("已办结", &|f| f.closed.to_string()));
        body.push_str(&row("按时办结", &|f| {
            format!(
                "{}（{}）",
                f.closed_on_time,
                percent(f.closed_on_time, f.closed)
            )
        }));
        body.push_str(&row("群众满意", &|f| {
            if f.ratings == 0 {
                "暂无评价".to_owned()
            } else {
                format!(
                    "{}/{}（{}）",
                    f.satisfied,
                    f.ratings,
                    percent(f.satisfied, f.ratings)
                )
            }
        }));
        body.push_str("</table>\n<h3>常见问题</h3>\n");
        for (label, figures) in [("本月", now), ("上月", before)] {
            let listed: Vec<String> = figures
                .top_categories
                .iter()
                .map(|c| {
                    let name = category_names
                        .get(&c.category)
                        .copied()
                        .unwrap_or("其他问题");
                    format!("{} {} 件", escape(name), c.cases)
                })
                .collect();
            let _ = writeln!(
                body,
                "<p>{label}：{}</p>",
                if listed.is_empty() {
                    "暂无".to_owned()
                } else {
                    listed.join("、")
                }
            );
        }
        body.push_str("<h3>部门按时办结率</h3>\n");
        for (label, figures) in [("本月", now), ("上月", before)] {
            if figures.departments.is_empty() {
                let _ = writeln!(body, "<p>{label}：暂无到期办件</p>");
                continue;
            }
            let _ = writeln!(body, "<p>{label}：</p>\n<ul>");
            for department in &figures.departments {
                let name = department_names
                    .get(&department.department)
                    .copied()
                    .unwrap_or("承办部门");
                let _ = writeln!(
                    body,
                    "<li>{} 按时 {}/{}（{}）</li>",
                    escape(name),
                    department.on_time,
                    department.due,
                    percent(department.on_time, department.due)
                );
            }
            body.push_str("</ul>\n");
        }
        body.push_str("</section>\n");
    }
    page(
        &format!("{area_name} · 社区办件公示"),
        &format!("{city} · 码上办"),
        &body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridcase_proto::query::v1::{CategoryCount, DepartmentPunctuality};

    #[test]
    fn months_are_calendar_months_in_china_time() {
        // 2026-11-30 16:30 UTC is 2026-12-01 00:30 in China.
        let december = Month::containing(1_796_056_200_000, 480).unwrap();
        assert_eq!((december.year, december.month), (2026, 12));
        // 2026-12-01 00:00 +08:00 = 2026-11-30 16:00 UTC.
        assert_eq!(december.from_ms, 1_796_054_400_000);
        let november = december.previous().unwrap();
        assert_eq!((november.year, november.month), (2026, 11));
        assert_eq!(november.to_ms, december.from_ms);
        assert_eq!(november.label(), "2026年11月");
        let january = Month::containing(december.to_ms, 480).unwrap();
        assert_eq!((january.year, january.month), (2027, 1));
        assert_eq!(january.previous(), Some(december));
    }

    #[test]
    fn percentages_round_and_survive_nothing() {
        assert_eq!(percent(2, 3), "67%");
        assert_eq!(percent(1, 1), "100%");
        assert_eq!(percent(0, 0), "—");
    }

    #[test]
    fn the_cache_keeps_pages_for_its_ttl_and_stays_bounded() {
        let cache = BoardCache::new(Duration::from_secs(60), 2);
        let start = Instant::now();
        let a = GridCode::parse("330102-001").unwrap();
        let b = GridCode::parse("330102-002").unwrap();
        let c = GridCode::parse("330102-003").unwrap();
        cache.put(a, "a".into(), start);
        assert_eq!(
            cache.get(&a, start + Duration::from_secs(59)).as_deref(),
            Some("a")
        );
        assert_eq!(cache.get(&a, start + Duration::from_secs(60)), None);
        cache.put(b, "b".into(), start + Duration::from_secs(1));
        cache.put(c, "c".into(), start + Duration::from_secs(2));
        assert_eq!(cache.len(), 2);
        assert_eq!(
            cache.get(&a, start + Duration::from_secs(2)),
            None,
            "oldest dropped"
        );
        assert!(cache.get(&c, start + Duration::from_secs(2)).is_some());
    }

    #[test]
    fn a_board_names_categories_and_departments_and_counts() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        let reference = ReferenceData::load(&dir).unwrap();
        let this = Month::containing(1_796_056_200_000, 480).unwrap();
        let last = this.previous().unwrap();
        let now = PublicBoardReply {
            communities: vec![CommunityFigures {
                community_code: "330102-001-001".to_owned(),
                reported: 3,
                closed: 2,
                closed_on_time: 1,
                ratings: 2,
                satisfied: 2,
                top_categories: vec![CategoryCount {
                    category: "BJ-01-07".to_owned(),
                    cases: 2,
                }],
                departments: vec![DepartmentPunctuality {
                    department: "urban_mgmt".to_owned(),
                    due: 2,
                    on_time: 1,
                }],
            }],
            caught_up_to: 9,
        };
        let html = render(
            &reference,
            "清河区",
            "柳浪街道",
            [(this, &now), (last, &PublicBoardReply::default())],
        );
        for text in [
            "涌金社区",
            "<tr><th>反映问题</th><td>3</td><td>0</td></tr>",
            "<tr><th>按时办结</th><td>1（50%）</td><td>0（—）</td></tr>",
            "<td>2/2（100%）</td><td>暂无评价</td>",
            "路灯 2 件",
            "清河区城市管理局（综合行政执法局） 按时 1/2（50%）",
            "本月（12月）",
            "上月（11月）",
        ] {
            assert!(html.contains(text), "{text}\n{html}");
        }
    }
}
