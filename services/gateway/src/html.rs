//! Server-rendered pages: escaping, the phone-first layout every page shares, and the error
//! page. Pages work without JavaScript; the one script (`/static/geo.js`) only offers the
//! phone's location.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML and XML alike — element content and quoted attribute values of the
/// pages, the posters' SVG and Open311's XML: `&`, `<`, `>`, `"` and `'` as references, and
/// the control characters XML 1.0 cannot carry (below U+0020 but tab, line feed and carriage
/// return, and U+FFFE/U+FFFF) dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// The stylesheet every page links (`/static/app.css`): one column, large touch targets.
pub const STYLESHEET: &str = r#"
* { box-sizing: border-box; }
body { margin: 0; font: 17px/1.5 -apple-system, "PingFang SC", "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; color: #1f2328; background: #f4f6f8; }
header { background: #c8102e; color: #fff; padding: 14px 16px; }
header h1 { font-size: 20px; margin: 0; }
header p { margin: 2px 0 0; font-size: 14px; opacity: .9; }
main { max-width: 640px; margin: 0 auto; padding: 12px 14px 32px; }
section { background: #fff; border-radius: 10px; padding: 14px; margin: 12px 0; box-shadow: 0 1px 2px rgba(0,0,0,.06); }
h2 { font-size: 18px; margin: 0 0 8px; }
label { display: block; font-weight: 600; margin: 12px 0 4px; }
.hint { color: #59636e; font-size: 14px; font-weight: normal; }
input[type=text], input[type=tel], select, textarea { width: 100%; font: inherit; padding: 10px; border: 1px solid #c9d1d9; border-radius: 8px; background: #fff; }
textarea { min-height: 120px; }
button, .button { display: block; width: 100%; margin-top: 16px; padding: 14px; font: inherit; font-weight: 700; color: #fff; background: #c8102e; border: 0; border-radius: 8px; text-align: center; text-decoration: none; }
.secondary { background: #fff; color: #c8102e; border: 1px solid #c8102e; }
.code { font: 700 28px/1.2 ui-monospace, monospace; letter-spacing: 2px; }
.status { display: inline-block; padding: 2px 10px; border-radius: 12px; background: #e7f3ff; color: #0b5cad; font-weight: 700; }
.error { background: #fff1f0; border-left: 4px solid #c8102e; }
dl { margin: 0; } dt { color: #59636e; font-size: 14px; margin-top: 8px; } dd { margin: 0; }
ol.stages { padding-left: 20px; margin: 0; } ol.stages li { margin: 4px 0; }
.photos img { width: 48%; margin: 1%; border-radius: 6px; }
table { width: 100%; border-collapse: collapse; font-size: 15px; } th, td { text-align: left; padding: 6px 4px; border-bottom: 1px solid #eaeef2; }
.choices label { display: inline-block; font-weight: normal; margin-right: 16px; }
footer { text-align: center; color: #59636e; font-size: 13px; padding: 16px; }
"#;

/// The script that offers the phone's location on the report form (`/static/geo.js`); the
/// form works the same without it.
pub const GEO_SCRIPT: &str = r#"
(function () {
  var button = document.getElementById('locate');
  if (!button || !navigator.geolocation) { return; }
  button.hidden = false;
  button.addEventListener('click', function () {
    button.textContent = '正在获取位置…';
    navigator.geolocation.getCurrentPosition(function (p) {
      document.getElementById('lat').value = p.coords.latitude.toFixed(6);
      document.getElementById('lon').value = p.coords.longitude.toFixed(6);
      button.textContent = '已附上当前位置';
    }, function () { button.textContent = '无法获取位置（可不填）'; });
  });
})();
"#;

/// A whole page: `title` in the header (with `subtitle` under it) and `body` as the content,
/// which the caller has escaped.
pub fn page(title: &str, subtitle: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<header><h1>{title}</h1><p>{subtitle}</p></header>
<main>
{body}
</main>
<footer>码上办 · 城市运行管理服务平台</footer>
</body>
</html>
"#,
        title = escape(title),
        subtitle = escape(subtitle),
    )
}

/// A page answered with an error status: what went wrong and what to do, in Chinese.
#[derive(Debug, Clone)]
pub struct PageError {
    /// The HTTP status.
    pub status: StatusCode,
    /// The headline, e.g. `页面不存在`.
    pub title: String,
    /// What happened and what the resident can do.
    pub message: String,
}

impl PageError {
    /// An error page.
    pub fn new(status: StatusCode, title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            status,
            title: title.into(),
            message: message.into(),
        }
    }

    /// 400: the form is not right; `message` names the field.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "提交的内容有误", message)
    }

    /// 404 with `message`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "没有找到", message)
    }

    /// 503: a service the page needs is down.
    pub fn unavailable(hotline: &str) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "系统繁忙",
            format!("系统暂时无法处理，请稍后再试；紧急情况请直接拨打 {hotline}。您填写的内容没有被提交。"),
        )
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let body = format!(
            "<section class=\"error\"><h2>{}</h2><p>{}</p></section>",
            escape(&self.title),
            escape(&self.message)
        );
        (self.status, Html(page(&self.title, "码上办", &body))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_drops_what_xml_cannot_carry() {
        assert_eq!(escape("路灯\u{0}坏了\u{7}\t\n"), "路灯坏了\t\n");
        assert_eq!(escape("]]>"), "]]&gt;");
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">'井盖' & 坑</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;井盖&#39; &amp; 坑&lt;/a&gt;"
        );
    }

    #[test]
    fn a_page_escapes_its_title() {
        let html = page("<b>", "副标题", "<p>ok</p>");
        assert!(html.contains("<title>&lt;b&gt;</title>"));
        assert!(html.contains("<p>ok</p>"));
        assert!(html.contains(r#"lang="zh-CN""#));
    }
}
