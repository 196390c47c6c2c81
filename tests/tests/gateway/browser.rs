//! A resident's phone, for real: headless Chromium at a phone's viewport opens the page of the
//! QR code decoded from a grid's poster,
//! fills the form in Chinese, attaches a photo, taps submit twice, follows the case while a
//! department handles it over gRPC, and rates it from the private link. Screenshots of each
//! page go to `target/screenshots/` (or `$GRIDCASE_SCREENSHOTS`).

use gridcase_tests::browser::{png, screenshot_dir, Browser};
use gridcase_tests::WAIT;

use super::*;

/// Reloads until the page contains `text`; the page's HTML then.
async fn reload_until(browser: &Browser, url: &str, text: &str) -> String {
    gridcase_testkit::wait_until(&format!("{url} to show {text}"), WAIT, || async {
        browser.go(url).await;
        let html = browser.source().await;
        html.contains(text).then_some(html)
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_phone_reports_follows_and_rates_a_case_in_a_real_browser() {
    let city = city().await;
    let base = base(&city);
    let shots = screenshot_dir();
    let camera = tempfile::tempdir().unwrap();
    let photo = camera.path().join("IMG_20261130_093212.png");
    std::fs::write(&photo, png(640, 480, [121, 134, 145])).unwrap();
    let browser = Browser::start().await;

    // The QR code on the grid's printed poster, scanned: its page.
    let poster = reqwest::get(format!("{base}/posters/{YONGJIN_GRID_1}.svg"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let form_url = super::posters::decode(&poster);
    assert_eq!(form_url, format!("{base}/q/{YONGJIN_GRID_1}"));
    browser.go(&form_url).await;
    let place = browser.text(&browser.find("main section h2").await).await;
    assert_eq!(place, "柳浪街道 › 涌金社区 › 涌金社区第一网格");
    browser
        .type_into(
            &browser.find("#description").await,
            "我们楼下7栋旁边的自来水井盖翘起来一个角，电动车一压就哐当响，晚上看不清很容易绊倒",
        )
        .await;
    browser
        .type_into(&browser.find("#address").await, "7栋东侧人行道")
        .await;
    browser
        .click(&browser.find("#category option[value='BJ-01-01']").await)
        .await;
    browser
        .type_into(&browser.find("#photo").await, &photo.display().to_string())
        .await;
    browser
        .type_into(&browser.find("#name").await, "王先生")
        .await;
    browser
        .type_into(&browser.find("#phone").await, "13605718842")
        .await;
    browser.screenshot(&shots.join("qr-1-form.png")).await;

    // Two quick taps on submit.
    browser
        .run("const b = document.getElementById('submit'); b.click(); b.click(); return true;")
        .await;
    let answer = gridcase_testkit::wait_until("the answer page", WAIT, || async {
        let html = browser.source().await;
        html.contains("提交成功").then_some(html)
    })
    .await;
    let code = browser.text(&browser.find("#tracking-code").await).await;
    assert_eq!(code.len(), 9, "a tracking code XXXX-XXXX: {code}");
    assert!(answer.contains("请收藏本页"));
    browser.screenshot(&shots.join("qr-2-answer.png")).await;
    let private_url = browser.url().await.replace("&new=1", "");
    let status = city.status(&code).await;
    let case = status.case_id;
    let listed = city
        .query()
        .list_cases(gridcase_proto::query::v1::ListCasesRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.total, 1, "two taps, one case");

    // The department accepts and resolves over gRPC; the grid worker checks on site.
    let water = city.department_inbox("water").await;
    assert_eq!(water.take_one().await.case_id, case);
    city.accept(&case, Who::Department("water"), "accept").await;
    city.resolve(&case, Who::Department("water"), "resolve")
        .await;
    city.verify(&case, "lin-ming", true, "verify").await;

    // The private link shows the resolution, the resident's points for the report (valid and
    // fixed: 2 + 5) and takes the rating.
    reload_until(&browser, &private_url, "满意度评价").await;
    let page = reload_until(&browser, &private_url, "id=\"points-balance\">7<").await;
    assert!(page.contains("我的积分") && page.contains("上报问题已解决"));
    assert!(page.contains("已处理完毕，现场恢复"));
    assert!(page.contains("清河水务集团"));
    let shown = browser
        .run("return Array.from(document.images).filter(i => i.complete && i.naturalWidth > 0).length")
        .await;
    assert!(
        shown.as_u64().unwrap_or(0) >= 1,
        "the photo is displayed: {shown}"
    );
    browser.screenshot(&shots.join("qr-3-resolved.png")).await;
    browser
        .click(&browser.find("input[name='score'][value='4']").await)
        .await;
    browser
        .type_into(&browser.find("#comment").await, "修好了，就是等了两天")
        .await;
    browser.click(&browser.find("#rate").await).await;
    gridcase_testkit::wait_until("the thanks", WAIT, || async {
        browser
            .source()
            .await
            .contains("感谢您的评价")
            .then_some(())
    })
    .await;
    browser.screenshot(&shots.join("qr-4-rated.png")).await;

    // The street's public board, once the closed case counts on it.
    city.wait_status(&case, "closed").await;
    let board = reload_until(&browser, &format!("{base}/board/330102-001"), "涌金社区").await;
    assert!(!board.contains("王先生") && !board.contains("13605718842"));
    browser.screenshot(&shots.join("board.png")).await;

    // A courier enrolled as a special grid member reports with the member code on his card:
    // a mistyped code is refused with what he typed kept; his own code makes the report his.
    let secret =
        std::fs::read(city.system.options().data.join(gridcase_gateway::KEY_FILE)).unwrap();
    let keys = gridcase_gateway::keys::Keys::from_secret(&secret);
    let code = keys.member_code(&gridcase_domain::MemberId::parse("sf-zhao-lei").unwrap());
    browser.go(&form_url).await;
    browser
        .type_into(
            &browser.find("#description").await,
            "送件路过涌金路口，人行道上一块地砖塌下去一个坑，推车过去轮子卡住了",
        )
        .await;
    browser
        .type_into(
            &browser.find("#member_code").await,
            "sf-zhao-lei.0000000000",
        )
        .await;
    browser.click(&browser.find("#submit").await).await;
    let refused = gridcase_testkit::wait_until("the refusal", WAIT, || async {
        let html = browser.source().await;
        html.contains("会员码：无法识别").then_some(html)
    })
    .await;
    assert!(refused.contains("人行道上一块地砖塌下去一个坑"));
    let field = browser.find("#member_code").await;
    browser
        .run("document.getElementById('member_code').value = ''; return true;")
        .await;
    browser.type_into(&field, &code).await;
    browser
        .screenshot(&shots.join("qr-5-member-code.png"))
        .await;
    browser.click(&browser.find("#submit").await).await;
    gridcase_testkit::wait_until("the member's answer page", WAIT, || async {
        browser.source().await.contains("提交成功").then_some(())
    })
    .await;
    let member_code = browser.text(&browser.find("#tracking-code").await).await;
    let member_case = city.status(&member_code).await.case_id;
    let reported = city.wait_status(&member_case, "dispatched").await;
    let first = &reported.timeline[0];
    assert_eq!(
        (first.event_type.as_str(), first.actor.as_str()),
        ("CaseReported", "member:sf-zhao-lei")
    );
    browser.quit().await;

    city.shut_down().await;
}
