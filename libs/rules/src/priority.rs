//! Priority: the category's default, raised by a danger to people recognised in the report
//! ([`crate::danger`]) or by words of an urgent hazard.

use gridcase_config::ReferenceData;
use gridcase_domain::{CategoryCode, Danger, Priority};

use crate::danger::{self, mask, Recognised, NOT_DANGER_PHRASES};
use crate::normalise;

/// Words that make a case at least [`Priority::Urgent`] though no one is in danger yet: a
/// hazard that must be dealt with within hours (standing water, a burst main, an outage).
#[rustfmt::skip]
pub const URGENT_WORDS: &[&str] = &[
    // water
    "积水", "内涝", "爆管", "跑水", "停水",
    // open manholes
    "井盖缺失", "井盖丢", "井盖没了", "井盖破损",
    // blockages and outages
    "堵塞", "停电",
    // the reporter says so
    "危险",
];

/// What [`priority`] decided, with what raised it for the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityDecision {
    /// The priority the case gets.
    pub priority: Priority,
    /// The category's default, or [`Priority::Normal`] without a known category.
    pub base: Priority,
    /// The words that lifted it above `base`; empty if the base stood. A word found only
    /// inside a longer one (`井盖丢` inside `井盖丢了`) is left out.
    pub raised_by: Vec<&'static str>,
    /// The danger that lifted it, if a danger did.
    pub danger: Option<Danger>,
}

impl PriorityDecision {
    /// Why the priority is above the category's default, in words (`火情：冒黑烟`,
    /// `紧急：积水`); `None` if the base stood.
    pub fn reason(&self) -> Option<String> {
        if self.raised_by.is_empty() {
            return None;
        }
        let what = self.danger.map_or("紧急", Danger::label_zh);
        Some(format!("{what}：{}", self.raised_by.join("、")))
    }
}

/// The priority of a case: the category's default priority, raised — never lowered — by the
/// most pressing danger to people recognised in `description` ([`danger::recognise_all`]:
/// emergency, or urgent for a blocked fire lane), else to at least [`Priority::Urgent`] by any
/// of [`URGENT_WORDS`]. Without a category, or with one the catalogue does not know, the base
/// is [`Priority::Normal`].
pub fn priority(
    refdata: &ReferenceData,
    category: Option<&CategoryCode>,
    description: &str,
) -> PriorityDecision {
    let base = category
        .and_then(|code| refdata.category(code))
        .map_or(Priority::Normal, |category| category.priority);
    let dangers = danger::recognise_all(description);
    if let Some(Recognised { danger, words }) = dangers
        .into_iter()
        .find(|recognised| recognised.priority() > base)
    {
        return PriorityDecision {
            priority: danger.priority(),
            base,
            raised_by: words,
            danger: Some(danger),
        };
    }
    if Priority::Urgent > base {
        let text = mask(&normalise(description), NOT_DANGER_PHRASES);
        let found = found_words(&text, URGENT_WORDS);
        if !found.is_empty() {
            return PriorityDecision {
                priority: Priority::Urgent,
                base,
                raised_by: found,
                danger: None,
            };
        }
    }
    PriorityDecision {
        priority: base,
        base,
        raised_by: Vec::new(),
        danger: None,
    }
}

/// The `words` in `text`, without those that only appear as part of a
/// longer word found.
fn found_words(text: &str, words: &[&'static str]) -> Vec<&'static str> {
    let found: Vec<&'static str> = words.iter().copied().filter(|w| text.contains(w)).collect();
    found
        .iter()
        .copied()
        .filter(|word| {
            !found
                .iter()
                .any(|other| other.len() > word.len() && other.contains(word))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{category, sample};

    fn decide(code: Option<&str>, description: &str) -> PriorityDecision {
        priority(sample(), code.map(category).as_ref(), description)
    }

    #[test]
    fn dangers_and_urgent_words_raise_the_category_default() {
        use Priority::{Emergency, Low, Normal, Urgent};
        // (category, description, priority, danger, raised by)
        type Case<'a> = (
            Option<&'a str>,
            &'a str,
            Priority,
            Option<Danger>,
            &'a [&'a str],
        );
        #[rustfmt::skip]
        let cases: [Case<'_>; 13] = [
            // 路灯 is normal; a wire on the ground is an emergency.
            (Some("BJ-01-07"), "路灯杆倒了，电线掉落在地上", Emergency, Some(Danger::LiveWire), &["电线掉落"]),
            (Some("SJ-01-07"), "餐馆后厨冒烟了", Emergency, Some(Danger::Fire), &["冒烟"]),
            (Some("SJ-01-07"), "隔壁饭店着火了", Emergency, Some(Danger::Fire), &["着火"]),
            (None, "楼道里燃气泄漏，味道很大", Emergency, Some(Danger::Gas), &["燃气泄漏"]),
            (Some("SJ-06-04"), "电梯停在两层中间，有人被困", Emergency, Some(Danger::Trapped), &["被困"]),
            (Some("BJ-05-01"), "老房子的围墙倒塌了", Emergency, Some(Danger::Collapse), &["倒塌"]),
            (Some("SJ-07-01"), "邻居吵架，有人受伤了", Emergency, Some(Danger::Injured), &["受伤"]),
            (Some("BJ-01-09"), "配电箱漏电，小孩差点触电", Emergency, Some(Danger::LiveWire), &["漏电"]),
            (Some("SJ-01-04"), "消防通道被电动车堵死了", Urgent, Some(Danger::FireLane), &["消防通道", "堵"]),
            (Some("BJ-01-04"), "雨水箅子堵塞，路口积水", Urgent, None, &["积水", "堵塞"]),
            (None, "井盖丢了，晚上很危险", Emergency, Some(Danger::OpenHole), &["井盖", "丢了"]),
            (Some("SJ-01-04"), "楼道里乱堆杂物", Low, None, &[]),
            (None, "路口有点脏", Normal, None, &[]),
        ];
        for (code, description, expected, danger, raised_by) in cases {
            let decision = decide(code, description);
            assert_eq!(decision.priority, expected, "{description}");
            assert_eq!(decision.danger, danger, "{description}");
            assert_eq!(decision.raised_by, raised_by, "{description}");
        }
    }

    #[test]
    fn the_reason_names_the_danger_and_its_words() {
        let decision = decide(Some("SJ-09-02"), "楼下一股味道，像是燃气泄漏");
        assert_eq!(decision.priority, Priority::Emergency);
        assert_eq!(decision.base, Priority::Normal);
        assert_eq!(decision.reason().as_deref(), Some("燃气泄漏：燃气泄漏"));
        let urgent = decide(Some("BJ-01-04"), "路口积水");
        assert_eq!(urgent.reason().as_deref(), Some("紧急：积水"));
        assert_eq!(decide(None, "路口有点脏").reason(), None);
    }

    #[test]
    fn priority_is_never_lowered() {
        // 燃气泄漏 (SJ-04-01) is an emergency by default; nothing lowers it.
        let decision = decide(Some("SJ-04-01"), "有点气味，不确定");
        assert_eq!(decision.priority, Priority::Emergency);
        assert!(decision.raised_by.is_empty());
        // A danger does not touch an emergency category either.
        let decision = decide(Some("SJ-04-02"), "着火了，路口积水");
        assert_eq!(decision.priority, Priority::Emergency);
        assert!(decision.raised_by.is_empty());
        // An urgent category stays urgent on an urgent word or a blocked fire lane.
        for description in ["路口积水很深", "消防通道被堵了"] {
            let decision = decide(Some("SJ-04-05"), description);
            assert_eq!(
                (decision.priority, decision.base),
                (Priority::Urgent, Priority::Urgent),
                "{description}"
            );
            assert!(decision.raised_by.is_empty(), "{description}");
        }
    }

    #[test]
    fn everyday_phrases_do_not_raise_it() {
        for (code, description) in [
            (Some("SJ-01-07"), "楼下火锅店油烟很大"),
            (Some("SJ-08-01"), "物业乱收燃气费"),
            (Some("BJ-01-05"), "燃气井盖有点松"),
            (None, "火车站门口有人拉客"),
        ] {
            let decision = decide(code, description);
            assert_eq!(decision.priority, decision.base, "{description}");
            assert!(decision.raised_by.is_empty(), "{description}");
        }
        // A real danger next to an everyday phrase still counts.
        assert_eq!(
            decide(Some("SJ-01-07"), "火锅店后厨起火").raised_by,
            vec!["起火"]
        );
    }

    #[test]
    fn an_unknown_category_starts_from_normal() {
        let decision = decide(Some("SJ-99-99"), "随便说说");
        assert_eq!(decision.priority, Priority::Normal);
        assert_eq!(decision.base, Priority::Normal);
    }
}
