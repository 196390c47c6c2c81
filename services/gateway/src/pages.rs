//! 码上办, the resident's pages:
//!
//! - `GET /q/<place>`: the report form of the grid or micro-grid a QR code stands for, with
//!   the place and its grid workers (亮身份) shown; `POST /q/<place>` records the case through
//!   intake (channel QR code, the place filled in) and sends the reporter to the private page.
//! - `GET /c/<tracking code>`: the case as the public may see it; with the private key (`?k=`)
//!   also what the reporter wrote, and the rating form once the case is checked on site.
//! - `POST /c/<tracking code>/rating`: the rating (满意度回访), from the private page only.
//! - `GET /media/<hash>.<ext>`: a stored photo.

use std::time::Instant;

use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use gridcase_config::GridArea;
use gridcase_domain::{GridCode, GridLevel, PersonName, Phone, TrackingCode};
use gridcase_proto::common::v1::{self as common, CaseStatus};
use gridcase_proto::evaluation::v1::RecordRatingRequest;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use gridcase_proto::query::v1::{PublicCase, PublicCasesRequest};
use serde::Deserialize;
use tonic::Code;

use crate::app::{too_many, AppState, Gateway};
use crate::clock;
use crate::html::{escape, page, PageError};
use crate::keys::TokenError;
use crate::media::Stored;

/// The longest description intake accepts, in characters.
const MAX_DESCRIPTION_CHARS: usize = 2000;
/// The longest place note (地点说明), in characters.
const MAX_ADDRESS_CHARS: usize = 200;
/// The longest rating comment, in characters.
const MAX_COMMENT_CHARS: usize = 1000;

/// The routes of the resident's pages.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/q/{place}", get(report_form).post(submit_report))
        .route("/c/{code}", get(case_page))
        .route("/c/{code}/rating", post(submit_rating))
        .route("/media/{name}", get(media))
}

/// Unix seconds now.
fn now_s() -> i64 {
    gridcase_runtime::now().as_millis() / 1000
}

// --- the place a QR code stands for ---

/// A grid or micro-grid with the names of the areas above it.
struct Place<'a> {
    area: &'a GridArea,
    /// Street › community › grid (› micro-grid).
    path: Vec<&'a str>,
}

fn place<'a>(gateway: &'a Gateway, code: &str) -> Result<Place<'a>, PageError> {
    let unknown = || {
        PageError::not_found(format!(
            "没有找到编号为 {code} 的网格。二维码可能已经更换，请联系网格员，或拨打 {} 反映问题。",
            gateway.settings.hotline
        ))
    };
    let grid = GridCode::parse(code).map_err(|_| unknown())?;
    let area = gateway.reference.grid(&grid).ok_or_else(unknown)?;
    if area.level() < GridLevel::Grid {
        return Err(unknown());
    }
    let path = [
        GridLevel::Street,
        GridLevel::Community,
        GridLevel::Grid,
        GridLevel::MicroGrid,
    ]
    .into_iter()
    .filter_map(|level| grid.at_level(level))
    .filter_map(|code| gateway.reference.grid(&code))
    .map(|a| a.name.as_str())
    .collect();
    Ok(Place { area, path })
}

/// The 亮身份 block: who looks after `grid` and how to reach them.
fn workers_block(gateway: &Gateway, grid: &GridCode) -> String {
    let workers = gateway.reference.workers_of(grid);
    if workers.is_empty() {
        return String::new();
    }
    let rows: String = workers
        .iter()
        .map(|w| {
            format!(
                "<dd>{} · <a href=\"tel:{phone}\">{phone}</a></dd>",
                escape(w.name.as_str()),
                phone = escape(w.phone.as_str())
            )
        })
        .collect();
    format!("<dl><dt>网格员（亮身份）</dt>{rows}</dl>")
}

// --- the report form ---

async fn report_form(
    State(gateway): State<AppState>,
    Path(code): Path<String>,
) -> Result<Html<String>, PageError> {
    let place = place(&gateway, &code)?;
    let token = gateway.keys.form_token(&format!("qr:{code}"), now_s());
    Ok(Html(form_page(
        &gateway,
        &place,
        &token,
        &FormValues::default(),
        None,
    )))
}

/// What the resident typed, echoed back when the form is refused so nothing is lost.
#[derive(Debug, Default)]
struct FormValues {
    description: String,
    category: String,
    address: String,
    lat: String,
    lon: String,
    name: String,
    phone: String,
}

fn category_options(gateway: &Gateway, chosen: &str) -> String {
    let mut groups: Vec<(&str, Vec<&gridcase_config::Category>)> = Vec::new();
    for category in gateway.reference.categories() {
        match groups
            .iter_mut()
            .find(|(major, _)| *major == category.major_name)
        {
            Some((_, members)) => members.push(category),
            None => groups.push((&category.major_name, vec![category])),
        }
    }
    let mut html = String::from("<option value=\"\">不确定，由工作人员判断</option>");
    for (major, members) in groups {
        html.push_str(&format!("<optgroup label=\"{}\">", escape(major)));
        for category in members {
            let code = category.code.to_string();
            let selected = if code == chosen { " selected" } else { "" };
            html.push_str(&format!(
                "<option value=\"{code}\"{selected}>{}</option>",
                escape(&category.name)
            ));
        }
        html.push_str("</optgroup>");
    }
    html
}

fn form_page(
    gateway: &Gateway,
    place: &Place<'_>,
    token: &str,
    values: &FormValues,
    error: Option<&str>,
) -> String {
    let code = place.area.code.to_string();
    let limits = &gateway.settings.limits;
    let error = error
        .map(|e| {
            format!(
                "<section class=\"error\" role=\"alert\"><p>{}</p></section>",
                escape(e)
            )
        })
        .unwrap_or_default();
    let body = format!(
        r#"{error}<section>
<h2>{place_path}</h2>
{workers}
</section>
<form method="post" action="/q/{code}" enctype="multipart/form-data">
<input type="hidden" name="token" value="{token}">
<section>
<label for="description">遇到了什么问题？<span class="hint">（必填）</span></label>
<textarea id="description" name="description" required maxlength="{max_description}" placeholder="比如：3栋门口的井盖不见了，晚上很危险">{description}</textarea>
<label for="address">具体位置 <span class="hint">（可选，如“5栋2单元门口”）</span></label>
<input type="text" id="address" name="address" maxlength="{max_address}" value="{address}">
<input type="hidden" id="lat" name="lat" value="{lat}">
<input type="hidden" id="lon" name="lon" value="{lon}">
<button type="button" id="locate" class="secondary" hidden>附上我现在的位置</button>
<label for="category">问题类别 <span class="hint">（可选）</span></label>
<select id="category" name="category">{categories}</select>
<label for="photo">照片 <span class="hint">（可选，最多 {photos} 张，每张不超过 {photo_mb} MB）</span></label>
<input type="file" id="photo" name="photo" accept="image/jpeg,image/png,image/webp,image/heic,image/heif" multiple>
</section>
<section>
<h2>联系方式 <span class="hint">（可选，留下后工作人员可回访您；不会公开）</span></h2>
<label for="name">称呼</label>
<input type="text" id="name" name="name" maxlength="50" value="{name}" autocomplete="name">
<label for="phone">手机号</label>
<input type="tel" id="phone" name="phone" maxlength="20" value="{phone}" autocomplete="tel">
</section>
<button type="submit" id="submit">提交</button>
</form>
<p class="hint">紧急情况（火灾、燃气泄漏、有人被困）请直接拨打 119、110 或 {hotline}。</p>
<script src="/static/geo.js" defer></script>"#,
        place_path = escape(&place.path.join(" › ")),
        workers = workers_block(gateway, &place.area.code),
        token = escape(token),
        max_description = MAX_DESCRIPTION_CHARS,
        max_address = MAX_ADDRESS_CHARS,
        description = escape(&values.description),
        address = escape(&values.address),
        lat = escape(&values.lat),
        lon = escape(&values.lon),
        categories = category_options(gateway, &values.category),
        photos = limits.photos,
        photo_mb = limits.photo_bytes.div_ceil(1024 * 1024),
        name = escape(&values.name),
        phone = escape(&values.phone),
        hotline = escape(&gateway.settings.hotline),
    );
    page("码上办 · 反映问题", &gateway.settings.city, &body)
}

// --- submitting a report ---

/// A refused form: the status, what to say, and whether to show the form again with what the
/// resident typed.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn bad(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

/// Reads one text field, refusing bytes that are not UTF-8.
fn utf8(label: &str, bytes: &[u8]) -> Result<String, Refusal> {
    String::from_utf8(bytes.to_vec())
        .map(|s| s.trim().to_owned())
        .map_err(|_| Refusal::bad(format!("{label}：内容不是有效的 UTF-8 文字")))
}

/// The form as submitted: the text fields and the photos' bytes.
struct Submitted {
    token: String,
    values: FormValues,
    photos: Vec<Vec<u8>>,
}

async fn read_form(gateway: &Gateway, mut multipart: Multipart) -> Result<Submitted, Refusal> {
    let limits = &gateway.settings.limits;
    let mut token = String::new();
    let mut values = FormValues::default();
    let mut photos = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => {
                return Err(Refusal {
                    status: e.status(),
                    message: format!("表单无法读取（{}），请重新填写后提交", e.body_text()),
                })
            }
        };
        let name = field.name().unwrap_or_default().to_owned();
        let has_file = field.file_name().is_some_and(|f| !f.is_empty());
        let bytes = field.bytes().await.map_err(|e| Refusal {
            status: e.status(),
            message: format!("表单无法读取（{}），照片可能太大", e.body_text()),
        })?;
        let text = |label: &str| utf8(label, &bytes);
        match name.as_str() {
            "token" => token = text("表单编号")?,
            "description" => values.description = text("问题描述")?,
            "category" => values.category = text("问题类别")?,
            "address" => values.address = text("具体位置")?,
            "lat" => values.lat = text("位置")?,
            "lon" => values.lon = text("位置")?,
            "name" => values.name = text("称呼")?,
            "phone" => values.phone = text("手机号")?,
            "photo" if has_file || !bytes.is_empty() => {
                if bytes.is_empty() {
                    continue;
                }
                if photos.len() == limits.photos {
                    return Err(Refusal::bad(format!("照片：最多上传 {} 张", limits.photos)));
                }
                if bytes.len() > limits.photo_bytes {
                    return Err(Refusal {
                        status: StatusCode::PAYLOAD_TOO_LARGE,
                        message: format!(
                            "照片：每张不能超过 {} MB，请压缩后再上传",
                            limits.photo_bytes.div_ceil(1024 * 1024)
                        ),
                    });
                }
                photos.push(bytes.to_vec());
            }
            _ => {}
        }
    }
    Ok(Submitted {
        token,
        values,
        photos,
    })
}

/// The checked report, ready for intake.
struct Checked {
    description: String,
    category: String,
    address: String,
    coordinates: Option<common::Coordinates>,
    reporter: Option<Reporter>,
    phone: Option<String>,
}

fn check(gateway: &Gateway, values: &FormValues) -> Result<Checked, Refusal> {
    let description_chars = values.description.chars().count();
    if description_chars == 0 {
        return Err(Refusal::bad("问题描述：请写下遇到了什么问题"));
    }
    if description_chars > MAX_DESCRIPTION_CHARS {
        return Err(Refusal::bad(format!(
            "问题描述：最多 {MAX_DESCRIPTION_CHARS} 个字，现在有 {description_chars} 个字"
        )));
    }
    if values.address.chars().count() > MAX_ADDRESS_CHARS {
        return Err(Refusal::bad(format!(
            "具体位置：最多 {MAX_ADDRESS_CHARS} 个字"
        )));
    }
    if !values.category.is_empty() {
        let known = gridcase_domain::CategoryCode::parse(&values.category)
            .ok()
            .and_then(|c| gateway.reference.category(&c));
        if known.is_none() {
            return Err(Refusal::bad("问题类别：请从列表中选择"));
        }
    }
    let coordinates = match (values.lat.as_str(), values.lon.as_str()) {
        ("", "") => None,
        (lat, lon) => {
            let parsed = lat.parse::<f64>().ok().zip(lon.parse::<f64>().ok());
            match parsed {
                Some((lat, lon)) if gridcase_domain::Coordinates::new(lat, lon).is_ok() => {
                    Some(common::Coordinates { lat, lon })
                }
                _ => return Err(Refusal::bad("位置：无法识别，请重新获取位置或不附位置")),
            }
        }
    };
    if !values.name.is_empty() && PersonName::parse(&values.name).is_err() {
        return Err(Refusal::bad("称呼：最多 50 个字"));
    }
    let phone = match values.phone.as_str() {
        "" => None,
        text => Some(
            Phone::parse(text)
                .map_err(|_| Refusal::bad("手机号：请填写 11 位手机号或带区号的座机号"))?
                .as_str()
                .to_owned(),
        ),
    };
    let reporter = (!values.name.is_empty() || phone.is_some()).then(|| Reporter {
        name: values.name.clone(),
        phone: phone.clone().unwrap_or_default(),
    });
    Ok(Checked {
        description: values.description.clone(),
        category: values.category.clone(),
        address: values.address.clone(),
        coordinates,
        reporter,
        phone,
    })
}

/// The Chinese name of an intake field, for a refusal the gateway did not foresee.
fn field_label(message: &str) -> String {
    let labels = [
        ("description", "问题描述"),
        ("reporter.name", "称呼"),
        ("reporter.phone", "手机号"),
        ("category_code", "问题类别"),
        ("location", "位置"),
        ("media_urls", "照片"),
    ];
    for (field, label) in labels {
        if let Some(rest) = message.strip_prefix(field) {
            let reason = rest.split_once(": ").map_or(rest, |(_, r)| r);
            return format!("{label}：{reason}");
        }
    }
    message.to_owned()
}

async fn submit_report(
    State(gateway): State<AppState>,
    Path(code): Path<String>,
    multipart: Multipart,
) -> Response {
    let place = match place(&gateway, &code) {
        Ok(place) => place,
        Err(error) => return error.into_response(),
    };
    let submitted = match read_form(&gateway, multipart).await {
        Ok(submitted) => submitted,
        Err(refusal) => {
            return PageError::new(refusal.status, "提交的内容有误", refusal.message)
                .into_response()
        }
    };
    let purpose = format!("qr:{code}");
    // A page that was not issued here (or too long ago) is not accepted: a new form is shown
    // with what the resident typed, to submit again.
    let nonce = match gateway
        .keys
        .check_form_token(&purpose, &submitted.token, now_s())
    {
        Ok(nonce) => nonce,
        Err(error) => {
            let token = gateway.keys.form_token(&purpose, now_s());
            let message = match error {
                TokenError::Expired => "页面打开太久已失效，内容已为您保留，请再次提交。",
                TokenError::Forged => "表单来源无法确认，内容已为您保留，请在本页再次提交。",
            };
            let html = form_page(&gateway, &place, &token, &submitted.values, Some(message));
            return (StatusCode::FORBIDDEN, Html(html)).into_response();
        }
    };
    let refuse = |refusal: Refusal| {
        let html = form_page(
            &gateway,
            &place,
            &submitted.token,
            &submitted.values,
            Some(&refusal.message),
        );
        (refusal.status, Html(html)).into_response()
    };
    let checked = match check(&gateway, &submitted.values) {
        Ok(checked) => checked,
        Err(refusal) => return refuse(refusal),
    };
    if let Some(phone) = &checked.phone {
        if let Err(wait) = gateway.per_phone.check(phone, Instant::now()) {
            tracing::warn!("reports from one phone rate limited");
            return too_many("/q/", wait.as_secs().max(1));
        }
    }
    let mut stored: Vec<Stored> = Vec::new();
    for photo in &submitted.photos {
        match gateway.media.store(photo) {
            Ok(photo) => stored.push(photo),
            Err(crate::media::MediaError::Io(error)) => {
                tracing::error!(%error, "storing a photo");
                return PageError::unavailable(&gateway.settings.hotline).into_response();
            }
            Err(error) => {
                let status = match error {
                    crate::media::MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    _ => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                };
                return refuse(Refusal {
                    status,
                    message: format!("照片：{error}"),
                });
            }
        }
    }
    let request = ReportCaseRequest {
        client_request_id: format!("qr:{nonce}"),
        channel: Channel::QrCode as i32,
        reporter: checked.reporter,
        location: Some(common::Location {
            grid_code: code.clone(),
            address: checked.address,
            coordinates: checked.coordinates,
        }),
        description: checked.description,
        category_code: checked.category,
        media_urls: stored
            .iter()
            .map(|p| gateway.settings.public_url(&format!("/media/{}", p.name)))
            .collect(),
        reported_by_worker: String::new(),
    };
    let mut intake = gateway.backend.intake.clone();
    match intake.report_case(request).await {
        Ok(reply) => {
            let reply = reply.into_inner();
            tracing::info!(
                case = %reply.case_id,
                repeated = reply.already_reported,
                "reported through a QR page"
            );
            let key = gateway.keys.private_key(&reply.tracking_code);
            Redirect::to(&format!("/c/{}?k={key}&new=1", reply.tracking_code)).into_response()
        }
        Err(status) if status.code() == Code::InvalidArgument => {
            refuse(Refusal::bad(field_label(status.message())))
        }
        Err(status) => {
            tracing::warn!(code = ?status.code(), message = status.message(), "intake refused a QR report");
            PageError::unavailable(&gateway.settings.hotline).into_response()
        }
    }
}

// --- the case page ---

#[derive(Debug, Deserialize)]
struct CaseQuery {
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

async fn case_page(
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
    Ok(Html(page("码上办 · 办理进度", &code, &body)))
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
            photos(&case.evidence_urls, "办理后照片")
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
            photos(&case.media_urls, "您上传的照片")
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
fn photos(urls: &[String], label: &str) -> String {
    if urls.is_empty() {
        return String::new();
    }
    let items: String = urls
        .iter()
        .map(|url| match url.find("/media/") {
            // The page's CSP allows this site's images only: show ours by their path.
            Some(at) => format!(
                "<img src=\"{}\" alt=\"{}\">",
                escape(&url[at..]),
                escape(label)
            ),
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
struct RatingForm {
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

async fn submit_rating(
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

// --- photos ---

/// A stored photo, cached for good (its name is its hash).
async fn media(State(gateway): State<AppState>, Path(name): Path<String>) -> Response {
    match gateway.media.read(&name) {
        Some((bytes, kind)) => (
            [
                (header::CONTENT_TYPE, kind.mime()),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        None => PageError::not_found("这张照片不存在。").into_response(),
    }
}
