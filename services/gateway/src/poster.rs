//! Printable posters: an A4 SVG per grid and micro-grid with the QR code of its 码上办 page
//! (`{public_base_url}/q/<code>`), the place, the grid workers who answer for it (亮身份), the
//! hotline and one line on how to use it.
//!
//! The SVG is drawn in millimetres (`viewBox="0 0 210 297"`), the QR code as vector modules
//! with its quiet zone, so it prints sharp at any size. It uses presentation attributes only,
//! no `<style>`, so it shows under the gateway's content security policy too. Chinese text
//! names common CJK fonts with fallbacks, and the document says it is in Chinese
//! (`xml:lang`) so renderers fall back to a CJK font rather than drawing boxes.
//!
//! Served at `GET /posters/<code>.svg`; `gridcase posters --out DIR` writes them all with
//! [`write_all`].

use std::fmt::Write as _;
use std::path::Path;

use axum::extract::{Path as UrlPath, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use gridcase_config::{GridArea, ReferenceData};
use gridcase_domain::{GridCode, GridLevel};
use qrcode::{Color, EcLevel, QrCode};

use crate::app::AppState;
use crate::html::{escape, PageError};
use crate::settings::GatewaySettings;

/// The page width, in millimetres (A4 portrait).
pub const WIDTH_MM: u32 = 210;
/// The page height, in millimetres (A4 portrait).
pub const HEIGHT_MM: u32 = 297;
/// The quiet zone around the QR code, in modules (the standard's minimum).
pub const QUIET_ZONE: usize = 4;
/// The side of the QR code with its quiet zone, in millimetres.
pub const QR_SIDE_MM: u32 = 118;
/// The poster's headline.
pub const TITLE: &str = "码上办 · 扫码反映身边问题";
/// How a resident uses the poster.
pub const HOW_TO: &str = "用手机扫描二维码，写下问题、拍张照片，就能提交并随时查看办理进度";

/// The fonts text is set in: common Chinese fonts on Linux, macOS and Windows, then any sans.
const FONTS: &str =
    "'Noto Sans CJK SC', 'Source Han Sans SC', 'PingFang SC', 'Microsoft YaHei', 'SimHei', \
     'WenQuanYi Micro Hei', sans-serif";
/// The red of the header, as on the pages.
const RED: &str = "#c8102e";

/// Why no poster could be drawn.
#[derive(Debug, thiserror::Error)]
pub enum PosterError {
    /// The code is not a listed grid or micro-grid.
    #[error("{0:?} is not a grid or micro-grid of the reference data")]
    NoPoster(String),
    /// The URL does not fit in a QR code (only with an absurdly long public base URL).
    #[error("the QR code of {url}: {reason}")]
    Qr {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

/// True if areas at `level` get posters: grids and micro-grids, where residents live.
pub fn has_poster(level: GridLevel) -> bool {
    matches!(level, GridLevel::Grid | GridLevel::MicroGrid)
}

/// The address a poster's QR code points at: the 码上办 page of `code`.
pub fn qr_url(settings: &GatewaySettings, code: &GridCode) -> String {
    settings.public_url(&format!("/q/{code}"))
}

/// The grid or micro-grid `code` names, if it gets a poster.
pub fn poster_area<'a>(reference: &'a ReferenceData, code: &str) -> Option<&'a GridArea> {
    let code = GridCode::parse(code).ok()?;
    reference
        .grid(&code)
        .filter(|area| has_poster(area.level()))
}

/// The names from the street down to `area`, e.g. `["柳浪街道", "涌金社区", "涌金社区第一网格"]`.
pub fn place_names(reference: &ReferenceData, area: &GridArea) -> Vec<String> {
    let mut codes = area.code.ancestors();
    codes.reverse();
    codes
        .iter()
        .filter(|code| code.level() >= GridLevel::Street)
        .filter_map(|code| reference.grid(code))
        .map(|a| a.name.clone())
        .chain(std::iter::once(area.name.clone()))
        .collect()
}

/// The poster of grid or micro-grid `code`.
pub fn render(
    reference: &ReferenceData,
    settings: &GatewaySettings,
    code: &str,
) -> Result<String, PosterError> {
    let area =
        poster_area(reference, code).ok_or_else(|| PosterError::NoPoster(code.to_owned()))?;
    let url = qr_url(settings, &area.code);
    // Level Q (25 % recoverable): posters outdoors get scratched, faded and stuck over.
    let qr = QrCode::with_error_correction_level(url.as_bytes(), EcLevel::Q).map_err(|e| {
        PosterError::Qr {
            url: url.clone(),
            reason: e.to_string(),
        }
    })?;
    let mut svg = String::with_capacity(16 * 1024);
    let places = place_names(reference, area);
    let _ = write!(
        svg,
        r##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" xml:lang="zh-CN" width="{WIDTH_MM}mm" height="{HEIGHT_MM}mm" viewBox="0 0 {WIDTH_MM} {HEIGHT_MM}" font-family="{fonts}">
<title>{title}</title>
<rect width="{WIDTH_MM}" height="{HEIGHT_MM}" fill="#ffffff"/>
<rect width="{WIDTH_MM}" height="44" fill="{RED}"/>
<text x="105" y="23" text-anchor="middle" font-size="12.5" font-weight="700" fill="#ffffff">{headline}</text>
<text x="105" y="36" text-anchor="middle" font-size="6" fill="#ffffff">{city} · 城市运行管理服务平台</text>
"##,
        fonts = escape(FONTS),
        title = escape(&format!("{TITLE} — {}", places.join(" › "))),
        headline = escape(TITLE),
        city = escape(&settings.city),
    );
    // The place on two lines: street › community, then grid (› micro-grid).
    let split = places.len().min(2);
    for (line, (names, y)) in [(&places[..split], 58), (&places[split..], 68)]
        .into_iter()
        .enumerate()
    {
        if names.is_empty() {
            continue;
        }
        let weight = if line == 1 { "700" } else { "400" };
        let _ = writeln!(
            svg,
            r##"<text x="105" y="{y}" text-anchor="middle" font-size="7" font-weight="{weight}" fill="#1f2328">{}</text>"##,
            escape(&names.join(" › "))
        );
    }
    draw_qr(
        &mut svg,
        &qr,
        (f64::from(WIDTH_MM) - f64::from(QR_SIDE_MM)) / 2.0,
        74.0,
    );
    let _ = write!(
        svg,
        r##"<text x="105" y="199" text-anchor="middle" font-size="4" fill="#59636e">编号 {code}</text>
<text x="105" y="211" text-anchor="middle" font-size="5.2" fill="#1f2328">{how}</text>
"##,
        code = escape(&area.code.to_string()),
        how = escape(HOW_TO),
    );
    draw_workers(&mut svg, reference, area);
    let _ = write!(
        svg,
        r##"<text x="105" y="280" text-anchor="middle" font-size="7" font-weight="700" fill="{RED}">服务热线 {hotline}</text>
<text x="105" y="289" text-anchor="middle" font-size="4" fill="#59636e">涉及人身安全的紧急情况，请直接拨打 110、119、120</text>
</svg>
"##,
        hotline = escape(&settings.hotline),
    );
    Ok(svg)
}

/// The QR code at (`x`, `y`) mm, [`QR_SIDE_MM`] wide with its quiet zone: a nested `<svg>`
/// whose viewBox is in modules (the quiet zone at negative coordinates) and one path of
/// horizontal runs of dark modules, `M<x> <y>h<run>v1h-<run>z`.
fn draw_qr(svg: &mut String, qr: &QrCode, x: f64, y: f64) {
    let width = qr.width();
    let colors = qr.to_colors();
    let side = width + 2 * QUIET_ZONE;
    let _ = write!(
        svg,
        r##"<svg class="qr" x="{x}" y="{y}" width="{QR_SIDE_MM}" height="{QR_SIDE_MM}" viewBox="-{QUIET_ZONE} -{QUIET_ZONE} {side} {side}" shape-rendering="crispEdges">
<rect x="-{QUIET_ZONE}" y="-{QUIET_ZONE}" width="{side}" height="{side}" fill="#ffffff"/>
<path fill="#000000" d=""##
    );
    for (row, modules) in colors.chunks(width).enumerate() {
        let mut column = 0;
        while column < width {
            if modules[column] != Color::Dark {
                column += 1;
                continue;
            }
            let start = column;
            while column < width && modules[column] == Color::Dark {
                column += 1;
            }
            let run = column - start;
            let _ = write!(svg, "M{start} {row}h{run}v1h-{run}z");
        }
    }
    svg.push_str("\"/>\n</svg>\n");
}

/// The grid workers' names and work phones in a framed box (亮身份), or the hotline alone if
/// the reference data names none.
fn draw_workers(svg: &mut String, reference: &ReferenceData, area: &GridArea) {
    let workers = reference.workers_of(&area.code);
    let shown = workers.len().clamp(1, 3);
    let height = 16 + 8 * shown;
    let _ = writeln!(
        svg,
        r##"<rect x="22" y="220" width="166" height="{height}" rx="3" fill="#fff7f7" stroke="{RED}" stroke-width="0.5"/>
<text x="105" y="229" text-anchor="middle" font-size="5" font-weight="700" fill="{RED}">亮身份 · 本网格网格员</text>"##
    );
    if workers.is_empty() {
        let _ = writeln!(
            svg,
            r##"<text x="105" y="239" text-anchor="middle" font-size="6" fill="#1f2328">请拨打下方服务热线</text>"##
        );
    }
    for (i, person) in workers.iter().take(3).enumerate() {
        let y = 239 + 8 * i;
        let _ = writeln!(
            svg,
            r##"<text x="105" y="{y}" text-anchor="middle" font-size="6" fill="#1f2328">网格员 {name}　工作电话 {phone}</text>"##,
            name = escape(person.name.as_str()),
            phone = escape(person.phone.as_str()),
        );
    }
}

/// Every area that gets a poster, parents before children.
pub fn poster_areas(reference: &ReferenceData) -> impl Iterator<Item = &GridArea> {
    reference.grids().filter(|area| has_poster(area.level()))
}

/// Writes `<code>.svg` for every grid and micro-grid into `dir` (created if missing) and
/// returns how many it wrote.
pub fn write_all(
    reference: &ReferenceData,
    settings: &GatewaySettings,
    dir: &Path,
) -> anyhow::Result<usize> {
    use anyhow::Context as _;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = 0;
    for area in poster_areas(reference) {
        let code = area.code.to_string();
        let svg = render(reference, settings, &code)?;
        let path = dir.join(format!("{code}.svg"));
        std::fs::write(&path, svg).with_context(|| format!("writing {}", path.display()))?;
        written += 1;
    }
    Ok(written)
}

/// The poster route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/posters/{file}", get(poster))
}

/// `GET /posters/<code>.svg`.
async fn poster(State(gateway): State<AppState>, UrlPath(file): UrlPath<String>) -> Response {
    let not_found = || {
        PageError::not_found(
            "没有这张海报。海报按网格和微网格编号提供，例如 /posters/330102-001-001-001.svg。",
        )
        .into_response()
    };
    let Some(code) = file.strip_suffix(".svg") else {
        return not_found();
    };
    match render(&gateway.reference, &gateway.settings, code) {
        Ok(svg) => (
            [
                (header::CONTENT_TYPE, "image/svg+xml; charset=utf-8"),
                (header::CACHE_CONTROL, "public, max-age=300"),
            ],
            svg,
        )
            .into_response(),
        Err(PosterError::NoPoster(_)) => not_found(),
        Err(error) => {
            tracing::error!(%error, "drawing a poster");
            PageError::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "海报生成失败",
                "这张海报暂时无法生成，请联系管理员。",
            )
            .into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (ReferenceData, GatewaySettings) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy/config");
        let reference = ReferenceData::load(&dir).unwrap();
        let mut settings = GatewaySettings::load(&dir).unwrap();
        settings.public_base_url = "https://12345.example.gov.cn".to_owned();
        (reference, settings)
    }

    /// The value of attribute `name` of the first element starting with `open` after `from`.
    fn attribute<'a>(svg: &'a str, open: &str, name: &str) -> &'a str {
        let element = &svg[svg.find(open).unwrap()..];
        let element = &element[..element.find('>').unwrap()];
        let start = element.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let rest = &element[start..];
        &rest[..rest.find('"').unwrap()]
    }

    /// Reads the QR code back from the SVG's own elements — the module viewBox and the path of
    /// runs — into a picture at 6 pixels a module, and decodes it with rqrr.
    fn decode(svg: &str) -> String {
        let qr = &svg[svg.find("<svg class=\"qr\"").unwrap()..];
        let view: Vec<i64> = attribute(qr, "<svg", "viewBox")
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        let (origin, side) = (view[0], usize::try_from(view[2]).unwrap());
        let mut dark = vec![false; side * side];
        let d = attribute(qr, "<path", "d");
        for run in d.split('M').filter(|s| !s.is_empty()) {
            let (x, rest) = run.split_once(' ').unwrap();
            let (y, rest) = rest.split_once('h').unwrap();
            let (len, _) = rest.split_once('v').unwrap();
            let x = usize::try_from(x.parse::<i64>().unwrap() - origin).unwrap();
            let y = usize::try_from(y.parse::<i64>().unwrap() - origin).unwrap();
            for dx in 0..len.parse::<usize>().unwrap() {
                dark[y * side + x + dx] = true;
            }
        }
        let scale = 6;
        let pixels = side * scale;
        let mut image = rqrr::PreparedImage::prepare_from_greyscale(pixels, pixels, |x, y| {
            if dark[(y / scale) * side + x / scale] {
                0
            } else {
                255
            }
        });
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one QR code");
        grids[0].decode().unwrap().1
    }

    #[test]
    fn a_grid_poster_decodes_to_its_page_and_names_its_workers() {
        let (reference, settings) = sample();
        let svg = render(&reference, &settings, "330102-001-001-001").unwrap();
        assert_eq!(
            decode(&svg),
            "https://12345.example.gov.cn/q/330102-001-001-001"
        );
        assert!(svg.contains(r#"viewBox="0 0 210 297""#));
        for text in [
            TITLE,
            HOW_TO,
            "柳浪街道 › 涌金社区",
            "涌金社区第一网格",
            "林明",
            "18747589100",
            "陈丽娟",
            "15812638336",
            "服务热线 12345",
            "清河区",
            "Noto Sans CJK SC",
        ] {
            assert!(svg.contains(&escape(text)), "{text}");
        }
        assert!(!svg.contains("<style"), "presentation attributes only");
    }

    #[test]
    fn a_micro_grid_poster_names_its_grid_and_borrows_its_workers() {
        let (reference, settings) = sample();
        let svg = render(&reference, &settings, "330102-001-001-001-01").unwrap();
        assert_eq!(
            decode(&svg),
            "https://12345.example.gov.cn/q/330102-001-001-001-01"
        );
        assert!(svg.contains("涌金社区第一网格 › 涌金苑1—4幢"));
        assert!(svg.contains("林明"));
    }

    #[test]
    fn only_grids_and_micro_grids_get_posters() {
        let (reference, settings) = sample();
        for code in [
            "330102-001-001",
            "330102-001",
            "330102",
            "330102-009-001-001",
            "x",
        ] {
            assert!(
                matches!(
                    render(&reference, &settings, code),
                    Err(PosterError::NoPoster(_))
                ),
                "{code}"
            );
        }
        let count = poster_areas(&reference).count();
        assert!(count > 14, "{count}");
    }

    #[test]
    fn write_all_writes_one_file_per_poster() {
        let (reference, settings) = sample();
        let dir = tempfile::tempdir().unwrap();
        let written = write_all(&reference, &settings, dir.path()).unwrap();
        assert_eq!(written, poster_areas(&reference).count());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), written);
        assert!(dir.path().join("330102-001-001-001-01.svg").is_file());
    }
}
