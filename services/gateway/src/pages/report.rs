//! The report form of a QR code's place and its submission through intake.

use std::time::Instant;

use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use gridcase_domain::{PersonName, Phone};
use gridcase_proto::common::v1 as common;
use gridcase_proto::intake::v1::{Channel, ReportCaseRequest, Reporter};
use tonic::Code;

use super::{now_s, place, workers_block, Place, MAX_ADDRESS_CHARS, MAX_DESCRIPTION_CHARS};
use crate::app::{too_many, AppState, Gateway};
use crate::html::{escape, page, PageError};
use crate::keys::TokenError;
use crate::media::Stored;

// --- the report form ---

pub(super) async fn report_form(
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
    member_code: String,
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
<p class="hint">留下手机号反映有效、问题解决后可得积分，到社区积分超市兑换。</p>
<label for="member_code">会员码 <span class="hint">（特殊网格员、志愿者填写社区发的会员码，反映记在您名下；居民不用填）</span></label>
<input type="text" id="member_code" name="member_code" maxlength="80" value="{member_code}" autocomplete="off" autocapitalize="none" spellcheck="false">
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
        member_code = escape(&values.member_code),
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
            "member_code" => values.member_code = text("会员码")?,
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
    member: Option<gridcase_domain::MemberId>,
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
    let member = match values.member_code.as_str() {
        "" => None,
        code => Some(
            gateway
                .keys
                .member_of_code(code)
                .ok_or_else(|| Refusal::bad("会员码：无法识别，请核对社区发给您的会员码"))?,
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
        member,
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
        ("member_id", "会员码"),
    ];
    for (field, label) in labels {
        if let Some(rest) = message.strip_prefix(field) {
            let reason = rest.split_once(": ").map_or(rest, |(_, r)| r);
            return format!("{label}：{reason}");
        }
    }
    message.to_owned()
}

pub(super) async fn submit_report(
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
        // A member's report, by the member code, is their own (the special-member channel).
        channel: if checked.member.is_some() {
            Channel::SpecialMember as i32
        } else {
            Channel::QrCode as i32
        },
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
        member_id: checked
            .member
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
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
