//! Priority: the category's default, raised by words that signal danger.

use gridcase_config::ReferenceData;
use gridcase_domain::{CategoryCode, Priority};

use crate::normalise;

/// Words that make any case an [`Priority::Emergency`]: danger to life or
/// property that someone must act on now, whatever the category.
#[rustfmt::skip]
pub const EMERGENCY_WORDS: &[&str] = &[
    // fire
    "火", "着火", "起火", "冒烟", "火灾", "爆炸",
    // gas
    "燃气", "煤气", "天然气", "漏气",
    // electricity
    "漏电", "触电", "电线掉落", "电线断落",
    // collapse
    "塌", "坍塌", "倒塌",
    // danger to life
    "被困", "受伤", "危及生命",
];

/// Words that make a case at least [`Priority::Urgent`]: a hazard that must
/// be dealt with within hours (a missing cover, standing water, a blockage).
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

/// Everyday phrases that contain an emergency or urgent word without the
/// danger (`火锅` is a hot-pot restaurant, `消火栓` a hydrant, `燃气费` a
/// bill): their text is ignored when looking for those words.
#[rustfmt::skip]
pub const NOT_URGENT_PHRASES: &[&str] = &[
    // 火
    "火锅", "火车", "火腿", "火柴", "打火机", "火候", "上火", "发火", "火爆", "火龙果",
    "消火栓", "防火", "灭火器",
    // 燃气, 煤气, 天然气, 漏气
    "燃气费", "燃气表", "燃气公司", "燃气井盖", "煤气井盖", "天然气井盖", "轮胎漏气", "车胎漏气",
];

/// What [`priority`] decided, with the words that raised it for the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PriorityDecision {
    /// The priority the case gets.
    pub priority: Priority,
    /// The category's default, or [`Priority::Normal`] without a known category.
    pub base: Priority,
    /// The words of the level reached that lifted it above `base`, in list
    /// order; empty if the base stood. A word found only inside a longer one
    /// (`火` inside `着火`) is left out.
    pub raised_by: Vec<&'static str>,
}

/// The priority of a case: the category's default priority, raised — never
/// lowered — to [`Priority::Emergency`] by any of [`EMERGENCY_WORDS`] or to
/// at least [`Priority::Urgent`] by any of [`URGENT_WORDS`] in
/// `description`. Without a category, or with one the catalogue does not
/// know, the base is [`Priority::Normal`].
pub fn priority(
    refdata: &ReferenceData,
    category: Option<&CategoryCode>,
    description: &str,
) -> PriorityDecision {
    let base = category
        .and_then(|code| refdata.category(code))
        .map_or(Priority::Normal, |category| category.priority);
    let text = mask(&normalise(description), NOT_URGENT_PHRASES);
    for (level, words) in [
        (Priority::Emergency, EMERGENCY_WORDS),
        (Priority::Urgent, URGENT_WORDS),
    ] {
        if level <= base {
            break;
        }
        let found = found_words(&text, words);
        if !found.is_empty() {
            return PriorityDecision {
                priority: level,
                base,
                raised_by: found,
            };
        }
    }
    PriorityDecision {
        priority: base,
        base,
        raised_by: Vec::new(),
    }
}

/// `text` with every occurrence of `phrases` blanked out, so a word inside
/// one of them is not found; the blank is a character no word contains, so
/// no new match appears across it.
fn mask(text: &str, phrases: &[&str]) -> String {
    const BLANK: &str = "\u{fffd}";
    phrases.iter().fold(text.to_owned(), |text, phrase| {
        text.replace(phrase, &BLANK.repeat(phrase.chars().count()))
    })
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
    fn danger_words_raise_the_category_default() {
        use Priority::{Emergency, Low, Normal, Urgent};
        // (category, description, priority, raised by)
        #[rustfmt::skip]
        let cases: [(Option<&str>, &str, Priority, &[&str]); 12] = [
            // 路灯 is normal; 电线掉落 is an emergency.
            (Some("BJ-01-07"), "路灯杆倒了，电线掉落在地上", Emergency, &["电线掉落"]),
            (Some("SJ-01-07"), "餐馆后厨冒烟了", Emergency, &["冒烟"]),
            (Some("SJ-01-07"), "隔壁饭店着火了", Emergency, &["着火"]),
            (None, "楼道里燃气泄漏，味道很大", Emergency, &["燃气"]),
            (Some("SJ-06-04"), "电梯停在两层中间，有人被困", Emergency, &["被困"]),
            (Some("BJ-05-01"), "老房子的围墙倒塌了", Emergency, &["倒塌"]),
            (Some("SJ-07-01"), "邻居吵架，有人受伤了", Emergency, &["受伤"]),
            (Some("BJ-01-09"), "配电箱漏电，小孩差点触电", Emergency, &["漏电", "触电"]),
            (Some("BJ-01-04"), "雨水箅子堵塞，路口积水", Urgent, &["积水", "堵塞"]),
            (None, "井盖丢了，晚上很危险", Urgent, &["井盖丢", "危险"]),
            (Some("SJ-01-04"), "楼道里乱堆杂物", Low, &[]),
            (None, "路口有点脏", Normal, &[]),
        ];
        for (code, description, expected, raised_by) in cases {
            let decision = decide(code, description);
            assert_eq!(decision.priority, expected, "{description}");
            assert_eq!(decision.raised_by, raised_by, "{description}");
        }
    }

    #[test]
    fn gas_leak_is_an_emergency_whatever_the_category() {
        let decision = decide(Some("SJ-09-02"), "楼下一股味道，像是燃气泄漏");
        assert_eq!(
            decision,
            PriorityDecision {
                priority: Priority::Emergency,
                base: Priority::Normal,
                raised_by: vec!["燃气"],
            }
        );
    }

    #[test]
    fn priority_is_never_lowered() {
        // 燃气泄漏 (SJ-04-01) is an emergency by default; no word lowers it.
        let decision = decide(Some("SJ-04-01"), "有点气味，不确定");
        assert_eq!(decision.priority, Priority::Emergency);
        assert!(decision.raised_by.is_empty());
        // An urgent word does not touch an emergency category either.
        let decision = decide(Some("SJ-04-02"), "着火了，路口积水");
        assert_eq!(decision.priority, Priority::Emergency);
        assert!(decision.raised_by.is_empty());
        // An urgent category stays urgent on an urgent word.
        let decision = decide(Some("SJ-04-05"), "路口积水很深");
        assert_eq!(
            (decision.priority, decision.base),
            (Priority::Urgent, Priority::Urgent)
        );
        assert!(decision.raised_by.is_empty());
    }

    #[test]
    fn everyday_phrases_do_not_raise_it() {
        for (code, description) in [
            (Some("SJ-01-07"), "楼下火锅店油烟很大"),
            (Some("BJ-01-08"), "消火栓被车挡住了"),
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
