//! A real browser for the tests of pages people see: Debian's headless `chromium` driven
//! through `chromedriver` over the W3C WebDriver protocol, at a phone's viewport, with a fresh
//! profile and no network beyond this machine. The client speaks the few WebDriver commands
//! the tests need (navigate, find, type, click, read, run a script, screenshot) as JSON over
//! HTTP.
//!
//! When chromium or chromedriver cannot be found the test fails and says how to install them
//! (`deploy/scripts/ensure-chromium.sh`, which `deploy/scripts/test.sh` runs); it never skips.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

/// The element key of the W3C WebDriver protocol.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// How long one WebDriver command may take.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// A phone's viewport: CSS pixels wide and high.
pub const PHONE: (u32, u32) = (390, 844);

fn find_binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path).chain([PathBuf::from("/usr/bin")]) {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

/// chromedriver running on a free port, and one browser session in it.
#[derive(Debug)]
pub struct Browser {
    http: reqwest::Client,
    session: String,
    base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// An element of the page, as WebDriver names it.
#[derive(Debug, Clone)]
pub struct Element(String);

impl Browser {
    /// Starts chromedriver and a headless Chromium at a phone's viewport; panics with the
    /// install command if either is missing.
    pub async fn start() -> Self {
        let install = "install them with `apt-get install -y chromium chromium-driver` \
                       (deploy/scripts/ensure-chromium.sh does this)";
        let chromium = find_binary(&["chromium", "chromium-browser"])
            .unwrap_or_else(|| panic!("the browser tests need Debian's chromium: {install}"));
        let chromedriver = find_binary(&["chromedriver"])
            .unwrap_or_else(|| panic!("the browser tests need chromedriver: {install}"));
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port for chromedriver");
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display()));
        let http = reqwest::Client::builder()
            .timeout(COMMAND_TIMEOUT)
            .build()
            .expect("an HTTP client");
        let base = format!("http://127.0.0.1:{port}");
        crate::wait_until_ready(&http, &format!("{base}/status")).await;
        let profile = tempfile::tempdir().expect("a profile directory");
        let (width, height) = PHONE;
        let capabilities = json!({
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": [
                            "--headless=new",
                            "--no-sandbox",
                            "--disable-gpu",
                            "--disable-dev-shm-usage",
                            "--disable-background-networking",
                            "--disable-component-update",
                            "--disable-sync",
                            "--no-first-run",
                            "--lang=zh-CN",
                            format!("--user-data-dir={}", profile.path().display()),
                        ],
                        "mobileEmulation": {
                            "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0 },
                            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36"
                        }
                    }
                }
            }
        });
        let reply: Value = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .await
            .expect("creating a browser session")
            .json()
            .await
            .expect("the session reply");
        let session = reply["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver refused the session: {reply}"))
            .to_owned();
        Self {
            http,
            session,
            base,
            driver,
            _profile: profile,
        }
    }

    async fn command(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/session/{}{path}", self.base, self.session);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply: Value = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"));
        if reply["value"]["error"].is_string() {
            panic!("WebDriver {path}: {}", reply["value"]);
        }
        reply["value"].clone()
    }

    /// Opens `url`.
    pub async fn go(&self, url: &str) {
        self.command(reqwest::Method::POST, "/url", Some(json!({ "url": url })))
            .await;
    }

    /// The current URL.
    pub async fn url(&self) -> String {
        let value = self.command(reqwest::Method::GET, "/url", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The page's HTML as the browser has it now.
    pub async fn source(&self) -> String {
        let value = self.command(reqwest::Method::GET, "/source", None).await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// The first element matching the CSS `selector`; panics if there is none.
    pub async fn find(&self, selector: &str) -> Element {
        let value = self
            .command(
                reqwest::Method::POST,
                "/element",
                Some(json!({ "using": "css selector", "value": selector })),
            )
            .await;
        Element(
            value[ELEMENT]
                .as_str()
                .unwrap_or_else(|| panic!("no element {selector}: {value}"))
                .to_owned(),
        )
    }

    /// Types `text` into `element` (a file input takes a file's path).
    pub async fn type_into(&self, element: &Element, text: &str) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/value", element.0),
            Some(json!({ "text": text })),
        )
        .await;
    }

    /// Clicks `element`.
    pub async fn click(&self, element: &Element) {
        self.command(
            reqwest::Method::POST,
            &format!("/element/{}/click", element.0),
            Some(json!({})),
        )
        .await;
    }

    /// The visible text of `element`.
    pub async fn text(&self, element: &Element) -> String {
        let value = self
            .command(
                reqwest::Method::GET,
                &format!("/element/{}/text", element.0),
                None,
            )
            .await;
        value.as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` in the page and returns what it returns.
    pub async fn run(&self, script: &str) -> Value {
        self.command(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    /// Saves a screenshot of the whole page (beyond the viewport) as PNG at `path`.
    pub async fn screenshot(&self, path: &Path) {
        let params = json!({
            "cmd": "Page.captureScreenshot",
            "params": { "format": "png", "captureBeyondViewport": true },
        });
        let value = self
            .command(reqwest::Method::POST, "/goog/cdp/execute", Some(params))
            .await;
        let png = base64_decode(value["data"].as_str().unwrap_or_default());
        assert!(!png.is_empty(), "no screenshot: {value}");
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("the screenshot directory");
        }
        std::fs::write(path, png).expect("writing the screenshot");
    }

    /// Ends the session and stops chromedriver.
    pub async fn quit(mut self) {
        let url = format!("{}/session/{}", self.base, self.session);
        let _ = self.http.delete(url).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}

/// Decodes standard base64 (WebDriver's screenshots); invalid symbols are skipped.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0);
    for symbol in text.bytes().filter_map(value) {
        buffer = (buffer << 6) | u32::from(symbol);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

/// Where a test's screenshots go: `$GRIDCASE_SCREENSHOTS`, else `target/screenshots` of the
/// workspace.
pub fn screenshot_dir() -> PathBuf {
    std::env::var_os("GRIDCASE_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots"))
}

/// A solid-colour PNG of `width` × `height` pixels (RGB), as a phone's camera would give a
/// photo: a real image a browser displays, built without an image library (the pixels are
/// stored uncompressed in deflate's stored blocks).
pub fn png(width: u32, height: u32, rgb: [u8; 3]) -> Vec<u8> {
    // Each row: filter type 0 (none), then the pixels.
    let row: Vec<u8> = std::iter::once(0)
        .chain(rgb.into_iter().cycle().take(3 * width as usize))
        .collect();
    let raw = row.repeat(height as usize);
    let mut zlib = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (index, block) in blocks.iter().enumerate() {
        zlib.push(u8::from(index + 1 == blocks.len()));
        let len = u16::try_from(block.len()).expect("a stored block is at most 65535 bytes");
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    let (mut a, mut b) = (1u32, 0u32);
    for byte in &raw {
        a = (a + u32::from(*byte)) % 65_521;
        b = (b + a) % 65_521;
    }
    zlib.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let chunk = |kind: &[u8], data: &[u8]| {
        let mut out = u32::try_from(data.len())
            .unwrap_or(0)
            .to_be_bytes()
            .to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
        out
    };
    let mut header = width.to_be_bytes().to_vec();
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(chunk(b"IHDR", &header));
    png.extend(chunk(b"IDAT", &zlib));
    png.extend(chunk(b"IEND", &[]));
    png
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_padding_and_all_symbols() {
        assert_eq!(base64_decode("aGVsbG8="), b"hello");
        assert_eq!(base64_decode("+/8="), [0xfb, 0xff]);
    }

    #[test]
    fn a_png_has_its_signature_size_and_end() {
        let image = png(3, 2, [200, 30, 40]);
        assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert_eq!(&image[16..24], &[0, 0, 0, 3, 0, 0, 0, 2]);
        assert!(image.ends_with(&[0xAE, 0x42, 0x60, 0x82]), "IEND's CRC");
    }
}
