//! Posters: the printable A4 SVG of a grid or micro-grid, as a print shop downloads it from the
//! running gateway, read back module by module and decoded like a phone's camera would.

use super::*;

/// The value of attribute `name` of the first element opening with `open` in `svg`.
fn attribute<'a>(svg: &'a str, open: &str, name: &str) -> &'a str {
    let element = &svg[svg
        .find(open)
        .unwrap_or_else(|| panic!("no {open} in the poster"))..];
    let element = &element[..element.find('>').unwrap()];
    let key = format!(" {name}=\"");
    let start = element
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} on {open}"))
        + key.len();
    let rest = &element[start..];
    &rest[..rest.find('"').unwrap()]
}

/// The QR code of a served poster as a bitmap of modules, quiet zone included: the nested
/// `<svg class="qr">` has its viewBox in modules and one path of dark runs
/// `M<x> <y>h<run>v1h-<run>z`.
fn modules(svg: &str) -> (usize, Vec<bool>) {
    let qr = &svg[svg.find("<svg class=\"qr\"").expect("the QR code's svg")..];
    let view: Vec<i64> = attribute(qr, "<svg", "viewBox")
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(view.len(), 4);
    assert_eq!(view[2], view[3], "a square code");
    assert!(view[0] <= -4, "a quiet zone of at least 4 modules");
    let (origin, side) = (view[0], usize::try_from(view[2]).unwrap());
    let mut dark = vec![false; side * side];
    for run in attribute(qr, "<path", "d")
        .split('M')
        .filter(|s| !s.is_empty())
    {
        let (x, rest) = run.split_once(' ').unwrap();
        let (y, rest) = rest.split_once('h').unwrap();
        let (length, rest) = rest.split_once('v').unwrap();
        assert_eq!(rest, format!("1h-{length}z"), "a run one module high");
        let x = usize::try_from(x.parse::<i64>().unwrap() - origin).unwrap();
        let y = usize::try_from(y.parse::<i64>().unwrap() - origin).unwrap();
        for dx in 0..length.parse::<usize>().unwrap() {
            dark[y * side + x + dx] = true;
        }
    }
    (side, dark)
}

/// Decodes the poster's QR code from its modules drawn at 8 pixels each, with 4 more modules
/// of white around them, as a camera sees a printed code.
pub(crate) fn decode(svg: &str) -> String {
    let (side, dark) = modules(svg);
    let (scale, margin) = (8, 4);
    let pixels = (side + 2 * margin) * scale;
    let mut image = rqrr::PreparedImage::prepare_from_greyscale(pixels, pixels, |x, y| {
        let (mx, my) = (x / scale, y / scale);
        let inside = (margin..margin + side).contains(&mx) && (margin..margin + side).contains(&my);
        if inside && dark[(my - margin) * side + (mx - margin)] {
            0
        } else {
            255
        }
    });
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code on the poster");
    grids[0].decode().expect("a readable QR code").1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poster_carries_a_scannable_code_of_its_grid_with_its_workers_and_the_hotline() {
    let city = city().await;
    let http = http();
    let base = base(&city);

    let reply = http
        .get(format!("{base}/posters/{YONGJIN_GRID_1}.svg"))
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    assert!(reply.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("image/svg+xml"));
    let svg = reply.text().await.unwrap();
    assert!(
        svg.contains(r#"viewBox="0 0 210 297""#),
        "A4 in millimetres"
    );
    assert_eq!(decode(&svg), format!("{base}/q/{YONGJIN_GRID_1}"));
    // On one machine the public address is the gateway's own: the code leads to this gateway.
    assert_eq!(base, format!("http://{}", gateway_addr(&city)));
    for text in [
        "码上办 · 扫码反映身边问题",
        // The place, street › community, then the grid.
        "柳浪街道 › 涌金社区",
        "涌金社区第一网格",
        // 亮身份: the grid's workers and their work phones.
        "林明",
        "18747589100",
        "陈丽娟",
        "15812638336",
        "服务热线 12345",
        "清河区",
        "扫描二维码",
    ] {
        assert!(svg.contains(text), "the poster lacks {text}");
    }

    // A micro-grid's poster points at the micro-grid and names its grid's workers.
    let micro = "330102-001-001-001-01";
    let svg = http
        .get(format!("{base}/posters/{micro}.svg"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(decode(&svg), format!("{base}/q/{micro}"));
    assert!(svg.contains("涌金社区第一网格 › 涌金苑1—4幢"));
    assert!(svg.contains("林明") && svg.contains("18747589100"));

    // Unknown codes, areas above grid level and other names get the friendly 404 page.
    for path in [
        "/posters/330102-009-009-009.svg",
        "/posters/330102-001-001.svg",
        "/posters/330102-001-001-001.png",
        "/posters/nonsense.svg",
    ] {
        let reply = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(reply.status(), 404, "{path}");
        assert!(reply.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
        let page = reply.text().await.unwrap();
        assert!(page.contains("没有这张海报"), "{path}: {page}");
    }
    city.shut_down().await;
}
