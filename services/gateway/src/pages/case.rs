//! The case page — public, or the reporter's private one — and the rating from it.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, Redirect};
use axum::Form;
use gridcase_domain::people::EarnReason;
use gridcase_domain::{GridCode, TrackingCode};
use gridcase_proto::common::v1::CaseStatus;
use gridcase_proto::evaluation::v1::RecordRatingRequest;
use gridcase_proto::people::v1::{AccountOwner, GetAccountRequest};
use gridcase_proto::query::v1::{PublicCase, PublicCasesRequest};
use serde::Deserialize;
use tonic::Code;

use super::{now_s, workers_block, MAX_COMMENT_CHARS};
use crate::app::{AppState, Gateway};
use crate::clock;
use crate::html::{escape, page, PageError};

// --- the case page ---

#[derive(Debug, Deserialize)]
pub(super) struct CaseQuery {
    /// The private key, if the reporter's link.
    k: Option<String>,
    /// Set right after the report was submitted.
    new: Option<String>,
    /// Set right after a rating was recorded.
    rated: Option<String>,
}

/// The stage in plain Chinese.
fn stage_label(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Unspecified => "未知",
        CaseStatus::Reported | CaseStatus::Triaged => "已受理",
        CaseStatus::Dispatched => "已派遣",
        CaseStatus::Accepted => "处理中",
        CaseStatus::Resolved => "已办结待核查",
        CaseStatus::Verified => "已办结待评价",
        CaseStatus::Closed => "已关闭",
        CaseStatus::Merged => "已合并",
        CaseStatus::Rejected => "不予受理",
    }
}

/// What happened at each status, as the timeline says it.
fn stage_event(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Unspecified => "",
        CaseStatus::Reported => "收到反映，已受理",
        CaseStatus::Triaged => "分类并确定承办单位",
        CaseStatus::Dispatched => "派遣至承办单位",
        CaseStatus::Accepted => "承办单位签收，开始处理",
        CaseStatus::Resolved => "承办单位办结，待网格员现场核查",
        CaseStatus::Verified => "网格员现场核查通过，待您评价",
        CaseStatus::Closed => "办结关闭",
        CaseStatus::Merged => "与同一问题的其他反映合并办理",
        CaseStatus::Rejected => "不予受理",
    }
}

fn tracking_code(code: &str) -> Option<String> {
    TrackingCode::parse(code).ok().map(|c| c.to_string())
}

async fn public_case(gateway: &Gateway, code: &str) -> Result<Option<PublicCase>, PageError> {
    let mut query = gateway.backend.query.clone();
    let request = PublicCasesRequest {
        tracking_codes: vec![code.to_owned()],
        ..Default::default()
    };
    match query.public_cases(request).await {
        Ok(reply) => Ok(reply.into_inner().cases.into_iter().next()),
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "query refused a case lookup");
            Err(PageError::unavailable(&gateway.settings.hotline))
        }
    }
}

pub(super) async fn case_page(
    State(gateway): State<AppState>,
    Path(code): Path<String>,
    Query(params): Query<CaseQuery>,
) -> Result<Html<String>, PageError> {
    let not_found = || {
        PageError::not_found(format!(
            "没有找到受理编号 {code}。请核对编号（8 位，形如 ABCD-EFGH），或拨打 {} 查询。",
            gateway.settings.hotline
        ))
    };
    let code = tracking_code(&code).ok_or_else(not_found)?;
    let private = params
        .k
        .as_deref()
        .is_some_and(|k| gateway.keys.is_private_key(&code, k));
    let case = public_case(&gateway, &code).await?;
    let mut body = String::new();
    if private && params.new.is_some() {
        body.push_str(&format!(
            r#"<section><h2>提交成功</h2>
<p>受理编号</p><p class="code" id="tracking-code">{code}</p>
<p>请收藏本页或记下编号。本页链接只发给您本人，可随时查看办理进度，办结后在这里评价。</p>
<p class="hint">拨打 {hotline} 时报上受理编号也可查询。</p></section>"#,
            hotline = escape(&gateway.settings.hotline),
        ));
    }
    if private && params.rated.is_some() {
        body.push_str("<section><h2>感谢您的评价</h2><p>您的意见已记录。</p></section>");
    }
    let Some(case) = case else {
        if private {
            body.push_str(
                "<section><p>您的反映已收到，正在登记，请稍后刷新本页查看进度。</p></section>",
            );
            return Ok(Html(page("码上办 · 办理进度", &code, &body)));
        }
        return Err(not_found());
    };
    body.push_str(&case_sections(
        &gateway,
        &case,
        private,
        params.k.as_deref(),
    ));
    if private {
        body.push_str(&points_section(&gateway, &case.case_id).await);
    }
    Ok(Html(page("码上办 · 办理进度", &code, &body)))
}

/// The reporter's points (积分) on their private page: the balance of the account their report
/// credits, and its latest changes. Nothing for a reporter who left no phone, or while the
/// points cannot be read (the page shows the case regardless).
async fn points_section(gateway: &Gateway, case_id: &str) -> String {
    let mut people = gateway.backend.people.clone();
    let request = GetAccountRequest {
        owner: Some(AccountOwner {
            member_id: String::new(),
            resident_phone: String::new(),
            reporter_of_case: case_id.to_owned(),
        }),
    };
    let account = match people.get_account(request).await {
        Ok(reply) => reply.into_inner(),
        Err(status) => {
            if status.code() != Code::NotFound {
                tracing::warn!(code = ?status.code(), message = status.message(), "the reporter's points could not be read");
            }
            return String::new();
        }
    };
    let reference = &gateway.reference;
    let entries: String = account
        .entries
        .iter()
        .rev()
        .take(5)
        .map(|entry| {
            let what = match entry.reason.as_str() {
                "exchange" => format!("兑换 {}", escape(&entry.item)),
                reason => EarnReason::ALL
                    .into_iter()
                    .find(|r| r.as_str() == reason)
                    .map_or_else(|| escape(reason), |r| r.label().to_owned()),
            };
            format!(
                "<li>{} {what} <b>{:+}</b></li>",
                clock::display(reference, entry.at_ms),
                entry.points
            )
        })
        .collect();
    format!(
        "<section id=\"points\"><h2>我的积分</h2><p>当前积分 <strong id=\"points-balance\">{}</strong> 分，可到社区积分超市兑换日用品。</p><ul class=\"points\">{entries}</ul></section>",
        account.balance
    )
}

fn case_sections(gateway: &Gateway, case: &PublicCase, private: bool, key: Option<&str>) -> String {
    let reference = &gateway.reference;
    let status = case.status();
    let mut html = format!(
        "<section><h2>当前状态：<span class=\"status\" id=\"status\">{}</span></h2><dl>",
        stage_label(status)
    );
    let category = gridcase_domain::CategoryCode::parse(&case.category)
        .ok()
        .and_then(|c| reference.category(&c));
    if let Some(category) = category {
        html.push_str(&format!(
            "<dt>问题类别</dt><dd>{} · {}</dd>",
            escape(&category.major_name),
            escape(&category.name)
        ));
    }
    let grid = GridCode::parse(&case.grid_code).ok();
    if let Some(area) = grid.as_ref().and_then(|g| reference.grid(g)) {
        html.push_str(&format!("<dt>地点</dt><dd>{}</dd>", escape(&area.name)));
    }
    let department = gridcase_domain::DepartmentCode::parse(&case.department)
        .ok()
        .and_then(|d| reference.department(&d));
    if let Some(department) = department {
        html.push_str(&format!(
            "<dt>承办单位</dt><dd id=\"department\">{}</dd>",
            escape(&department.name)
        ));
    }
    if !case.worker.is_empty() {
        let worker = gridcase_domain::WorkerId::parse(&case.worker)
            .ok()
            .and_then(|w| reference.worker(&w));
        if let Some(worker) = worker {
            html.push_str(&format!(
                "<dt>承办人</dt><dd>网格员 {} 现场处置</dd>",
                escape(worker.name.as_str())
            ));
        }
    }
    let in_hand = matches!(
        status,
        CaseStatus::Reported | CaseStatus::Triaged | CaseStatus::Dispatched | CaseStatus::Accepted
    );
    if in_hand && case.expected_at_ms > 0 {
        html.push_str(&format!(
            "<dt>承诺办结时间</dt><dd>{}</dd>",
            clock::display(reference, case.expected_at_ms)
        ));
    }
    if !case.merged_into.is_empty() {
        html.push_str(&format!(
            "<dt>合并办理</dt><dd>与受理编号 <a href=\"/c/{0}\">{0}</a> 的反映是同一问题，合并办理。</dd>",
            escape(&case.merged_into)
        ));
    }
    if !case.rejection_reason.is_empty() {
        html.push_str(&format!(
            "<dt>不予受理原因</dt><dd>{}</dd>",
            escape(&case.rejection_reason)
        ));
    }
    html.push_str("</dl>");
    if let Some(grid) = &grid {
        html.push_str(&workers_block(gateway, grid));
    }
    html.push_str("</section>");

    if !case.resolution_note.is_empty() {
        html.push_str(&format!(
            "<section><h2>办理结果</h2><p id=\"resolution\">{}</p>{}</section>",
            escape(&case.resolution_note),
            photos(gateway, &case.evidence_urls, "办理后照片")
        ));
    }

    let stages: String = case
        .stages
        .iter()
        .map(|s| {
            format!(
                "<li>{} {}</li>",
                clock::display(reference, s.at_ms),
                stage_event(s.status())
            )
        })
        .collect();
    html.push_str(&format!(
        "<section><h2>办理过程</h2><ol class=\"stages\">{stages}</ol></section>"
    ));

    if private {
        html.push_str(&format!(
            "<section><h2>您反映的问题</h2><p id=\"description\">{}</p>{}</section>",
            escape(&case.description),
            photos(gateway, &case.media_urls, "您上传的照片")
        ));
        if status == CaseStatus::Verified && case.rating_score == 0 {
            html.push_str(&rating_form(
                gateway,
                &case.tracking_code,
                key.unwrap_or_default(),
            ));
        } else if case.rating_score > 0 {
            html.push_str(&format!(
                "<section><h2>您的评价</h2><p>{} 分</p></section>",
                case.rating_score
            ));
        }
    }
    html
}

/// The photos among `urls` this gateway stores, as images; others as links.
fn photos(gateway: &Gateway, urls: &[String], label: &str) -> String {
    if urls.is_empty() {
        return String::new();
    }
    let items: String = urls
        .iter()
        .map(|url| {
            let ours = url
                .strip_prefix(gateway.settings.public_base_url.as_str())
                .filter(|path| path.starts_with("/media/"));
            (url, ours)
        })
        .map(|(url, ours)| match ours {
            // The page's CSP allows this site's images only: show ours by their path.
            Some(path) => format!("<img src=\"{}\" alt=\"{}\">", escape(path), escape(label)),
            None => format!("<a href=\"{0}\" rel=\"noreferrer\">{0}</a> ", escape(url)),
        })
        .collect();
    format!(
        "<div class=\"photos\" aria-label=\"{}\">{items}</div>",
        escape(label)
    )
}

fn rating_form(gateway: &Gateway, code: &str, key: &str) -> String {
    let token = gateway.keys.form_token(&format!("rate:{code}"), now_s());
    let scores: String = (1..=5)
        .rev()
        .map(|n| {
            let checked = if n == 5 { " checked" } else { "" };
            format!("<label><input type=\"radio\" name=\"score\" value=\"{n}\"{checked}> {n} 分</label>")
        })
        .collect();
    format!(
        r#"<section><h2>满意度评价</h2>
<form method="post" action="/c/{code}/rating">
<input type="hidden" name="token" value="{token}">
<input type="hidden" name="k" value="{key}">
<label>问题解决了吗？</label>
<div class="choices"><label><input type="radio" name="resolved" value="yes" checked> 解决了</label><label><input type="radio" name="resolved" value="no"> 没有解决</label></div>
<label>对办理满意吗？</label>
<div class="choices"><label><input type="radio" name="satisfied" value="yes" checked> 满意</label><label><input type="radio" name="satisfied" value="no"> 不满意</label></div>
<label>打分</label>
<div class="choices">{scores}</div>
<label for="comment">想说的话 <span class="hint">（可选）</span></label>
<textarea id="comment" name="comment" maxlength="{MAX_COMMENT_CHARS}"></textarea>
<button type="submit" id="rate">提交评价</button>
<p class="hint">选择“没有解决”，问题将重新交办。</p>
</form></section>"#,
        code = escape(code),
        token = escape(&token),
        key = escape(key),
    )
}

// --- the rating ---

#[derive(Debug, Deserialize)]
pub(super) struct RatingForm {
    token: String,
    k: String,
    resolved: Option<String>,
    satisfied: Option<String>,
    score: Option<String>,
    #[serde(default)]
    comment: String,
}

fn yes_no(label: &str, value: Option<&str>) -> Result<bool, PageError> {
    match value {
        Some("yes") => Ok(true),
        Some("no") => Ok(false),
        _ => Err(PageError::bad_request(format!("{label}：请选择"))),
    }
}

pub(super) async fn submit_rating(
    State(gateway): State<AppState>,
    Path(code): Path<String>,
    Form(form): Form<RatingForm>,
) -> Result<Redirect, PageError> {
    let forbidden = || {
        PageError::new(
            StatusCode::FORBIDDEN,
            "无法评价",
            "只有反映人可以评价，请从提交后收到的专属链接进入。",
        )
    };
    let code = tracking_code(&code).ok_or_else(forbidden)?;
    if !gateway.keys.is_private_key(&code, &form.k) {
        return Err(forbidden());
    }
    let nonce = gateway
        .keys
        .check_form_token(&format!("rate:{code}"), &form.token, now_s())
        .map_err(|_| {
            PageError::new(
                StatusCode::FORBIDDEN,
                "页面已失效",
                "评价页面打开太久或来源无法确认，请返回专属链接重新评价。",
            )
        })?;
    let resolved = yes_no("问题是否解决", form.resolved.as_deref())?;
    let satisfied = yes_no("是否满意", form.satisfied.as_deref())?;
    let score: u32 = form
        .score
        .as_deref()
        .and_then(|s| s.parse().ok())
        .filter(|s| (1..=5).contains(s))
        .ok_or_else(|| PageError::bad_request("打分：请选择 1 到 5 分"))?;
    let comment = form.comment.trim().to_owned();
    if comment.chars().count() > MAX_COMMENT_CHARS {
        return Err(PageError::bad_request(format!(
            "想说的话：最多 {MAX_COMMENT_CHARS} 个字"
        )));
    }
    let case = public_case(&gateway, &code).await?.ok_or_else(forbidden)?;
    let mut evaluation = gateway.backend.evaluation.clone();
    let request = RecordRatingRequest {
        case_id: case.case_id,
        resolved,
        satisfied,
        score,
        comment,
        request_id: format!("rate:{nonce}"),
    };
    match evaluation.record_rating(request).await {
        Ok(_) => Ok(Redirect::to(&format!(
            "/c/{code}?k={}&rated=1",
            gateway.keys.private_key(&code)
        ))),
        Err(status) if status.code() == Code::FailedPrecondition => Err(PageError::new(
            StatusCode::CONFLICT,
            "现在不能评价",
            "这个问题还没有办结核查，或者已经评价过了。请返回办理进度页面查看。",
        )),
        Err(status) if status.code() == Code::InvalidArgument => {
            Err(PageError::bad_request(status.message().to_owned()))
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "evaluation refused a rating");
            Err(PageError::unavailable(&gateway.settings.hotline))
        }
    }
}
