//! Danger to people, recognised in a report whatever its category: fire or smoke, gas, a
//! collapse, a hole someone could fall into, people trapped, deep water, live wires, someone
//! not seen for days, someone hurt — and, one level down, a blocked fire lane.
//!
//! Residents do not name the danger, they describe it: "楼顶冒黑烟了", "井盖不见了，黑洞洞的一个坑",
//! "电梯卡在两层中间了，里面好像有人". So each danger is recognised by a phrase that says it
//! outright (`着火`, `被困`), or by a thing and a state of it in the same sentence (`井盖` … `不见`,
//! `电梯` … `里面有人`). Everyday phrases that contain a cue without the danger (`火锅`,
//! `烟囱`, `轮胎漏气`) are blanked out first. A missed danger waits unseen, a false alarm costs an
//! operator a look: the lists lean towards recognising.

use gridcase_domain::{Danger, Priority};

use crate::normalise;

/// How one danger is recognised.
struct Cues {
    danger: Danger,
    /// Any one of these says it.
    phrases: &'static [&'static str],
    /// A thing and a state of it, both in one sentence.
    pairs: &'static [(&'static [&'static str], &'static [&'static str])],
}

/// The dangers, most pressing first: the first one recognised is the reason given. Within a
/// danger the longest phrase found is named, the first listed among equals.
#[rustfmt::skip]
const CUES: &[Cues] = &[
    Cues {
        danger: Danger::Fire,
        phrases: &[
            "冒黑烟", "冒浓烟", "着火", "起火", "失火", "火灾", "烧起来", "烧着了", "火烧",
            "火势", "火苗", "火光", "明火", "冒烟", "浓烟", "黑烟", "爆炸", "烟雾报警",
        ],
        pairs: &[(&["烟"], &["呛", "好大", "很大", "滚滚", "窜"])],
    },
    Cues {
        danger: Danger::Gas,
        phrases: &["漏气", "煤气泄漏", "燃气泄漏", "天然气泄漏", "气体泄漏"],
        pairs: &[(
            &["煤气", "燃气", "天然气", "液化气", "气罐", "煤气罐"],
            &["味", "漏", "泄", "嘶嘶", "闻到"],
        )],
    },
    Cues {
        danger: Danger::Trapped,
        phrases: &["被困", "困住", "困在", "被关在电梯", "关在电梯", "卡在电梯里"],
        pairs: &[(
            &["电梯", "梯"],
            &[
                "里面有人", "里面好像有人", "里头有人", "人在里面", "有人在里面", "关在里面",
                "出不来", "喊救命", "呼救", "有人卡",
            ],
        )],
    },
    Cues {
        danger: Danger::Collapse,
        phrases: &["塌陷", "坍塌", "倒塌", "塌方", "塌了", "塌下去", "陷下去", "要塌", "快塌"],
        pairs: &[(
            &["墙", "楼", "房", "屋顶", "阳台", "广告牌", "脚手架", "路面", "地面"],
            &["要倒", "快倒", "倒下来", "砸下来", "掉下来", "摇摇欲坠"],
        )],
    },
    Cues {
        danger: Danger::OpenHole,
        phrases: &["黑洞洞", "掉下去", "掉进去", "踩空", "大坑", "深坑", "大洞", "窟窿"],
        pairs: &[
            (
                &["井盖", "盖子", "井口", "铁盖", "窨井"],
                &[
                    "不见", "没了", "丢了", "丢失", "被偷", "缺失", "缺了", "翻起", "翻了", "掀",
                    "碎", "敞着", "没盖", "没有盖", "挪开", "悬空",
                ],
            ),
            (&["坑", "洞"], &["掉", "摔", "踩进", "深", "陷"]),
        ],
    },
    Cues {
        danger: Danger::DeepWater,
        phrases: &[
            "落水", "溺水", "掉河里", "掉进河", "掉水里", "掉进水", "齐腰", "没过膝盖",
            "到膝盖", "淹到腰", "没到腰", "倒灌", "车被淹", "淹了车",
        ],
        pairs: &[(&["水"], &["漫进屋", "漫进家", "进屋了", "淹到", "没过", "被冲走"])],
    },
    Cues {
        danger: Danger::LiveWire,
        phrases: &[
            "漏电", "触电", "电到人", "电线掉落", "电线断落", "电线裸露", "裸露的电线",
            "电火花", "冒火花", "打火花",
        ],
        pairs: &[(
            &["电线", "电缆", "高压线", "电线杆", "配电箱", "电箱"],
            &["掉", "断", "垂", "耷拉", "落地", "落在地上", "拖在地上", "裸露", "火花", "冒火", "泡在水"],
        )],
    },
    Cues {
        danger: Danger::NotSeen,
        phrases: &[],
        pairs: &[(
            &["好几天", "几天", "多天", "两天", "三天", "一个星期", "一周", "好久", "半个月"],
            &[
                "没见", "没看到", "没看见", "不见人", "没出门", "没下楼", "没动静", "联系不上",
                "敲门没人", "敲门没反应", "没人应", "没人接", "没露面", "没开过门", "没出来",
            ],
        )],
    },
    Cues {
        danger: Danger::Injured,
        phrases: &[
            "受伤", "流血", "出血", "都是血", "满脸是血", "砸伤", "摔伤", "撞伤", "昏倒", "晕倒",
            "叫不醒", "一动不动", "不省人事", "没有呼吸", "没气了", "危及生命", "出人命",
            "压在下面", "被压住", "跳楼", "想往下跳", "要往下跳", "轻生",
        ],
        pairs: &[],
    },
    Cues {
        danger: Danger::FireLane,
        phrases: &[],
        pairs: &[(
            &["消防通道", "生命通道", "消防车道", "安全出口", "消防栓", "消火栓"],
            &["堵", "占", "停", "挡", "锁", "封", "堆"],
        )],
    },
];

/// Everyday phrases that contain a cue without the danger; their text is blanked out before
/// looking (`火锅` is a hot-pot restaurant, `烟囱` a chimney, `燃气费` a bill).
#[rustfmt::skip]
pub const NOT_DANGER_PHRASES: &[&str] = &[
    // what if: a resident warning of a fire that has not broken out
    "万一着火", "要是着火", "真着火", "真要着火", "如果着火", "万一起火", "要是起火",
    "万一发生火灾", "着火了怎么办", "起火了怎么办",
    "火锅", "火车", "火腿", "火柴", "打火机", "火候", "上火", "发火", "火爆", "火龙果", "红火",
    "防火", "灭火器", "烟囱冒黑烟", "烟囱冒烟", "烟囱", "油烟", "抽烟", "吸烟", "香烟", "烟头", "烟花", "烟酒",
    "燃气费", "燃气公司", "燃气井盖", "煤气井盖", "天然气井盖", "轮胎漏气", "车胎漏气",
    "漏气的轮胎", "打气", "气球",
];

/// A danger recognised in a report, with the words that gave it away.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recognised {
    /// The danger.
    pub danger: Danger,
    /// The phrase, or the thing and its state, found in the report.
    pub words: Vec<&'static str>,
}

impl Recognised {
    /// The priority it calls for.
    pub fn priority(&self) -> Priority {
        self.danger.priority()
    }

    /// The reason in words, as recorded with the case: `火情：冒黑烟`.
    pub fn reason(&self) -> String {
        format!("{}：{}", self.danger.label_zh(), self.words.join("、"))
    }
}

/// The most pressing danger to people in `description`, if any.
pub fn recognise(description: &str) -> Option<Recognised> {
    recognise_all(description).into_iter().next()
}

/// Every danger to people in `description`, most pressing first.
pub fn recognise_all(description: &str) -> Vec<Recognised> {
    let text = mask(&normalise(description), NOT_DANGER_PHRASES);
    let sentences: Vec<&str> = text
        .split(['。', '！', '？', '!', '?', '；', ';', '\n'])
        .filter(|sentence| !sentence.is_empty())
        .collect();
    CUES.iter()
        .filter_map(|cues| {
            let phrase = cues
                .phrases
                .iter()
                .copied()
                .filter(|phrase| text.contains(phrase))
                .fold(
                    None,
                    |longest: Option<&'static str>, phrase| match longest {
                        Some(longest) if longest.chars().count() >= phrase.chars().count() => {
                            Some(longest)
                        }
                        _ => Some(phrase),
                    },
                );
            let words = match phrase {
                Some(phrase) => vec![phrase],
                None => pair_in(&sentences, cues.pairs)?,
            };
            Some(Recognised {
                danger: cues.danger,
                words,
            })
        })
        .collect()
}

/// The first thing and state of `pairs` found together in one of `sentences`.
fn pair_in(
    sentences: &[&str],
    pairs: &[(&'static [&'static str], &'static [&'static str])],
) -> Option<Vec<&'static str>> {
    sentences.iter().find_map(|sentence| {
        pairs.iter().find_map(|(things, states)| {
            let thing = things.iter().find(|thing| sentence.contains(*thing))?;
            let state = states.iter().find(|state| sentence.contains(*state))?;
            Some(vec![*thing, *state])
        })
    })
}

/// `text` with every occurrence of `phrases` blanked out, so a cue inside one of them is not
/// found; the blank is a character no cue contains, so no new match appears across it.
pub(crate) fn mask(text: &str, phrases: &[&str]) -> String {
    const BLANK: &str = "\u{fffd}";
    phrases.iter().fold(text.to_owned(), |text, phrase| {
        text.replace(phrase, &BLANK.repeat(phrase.chars().count()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn danger(description: &str) -> Option<Danger> {
        recognise(description).map(|recognised| recognised.danger)
    }

    #[test]
    fn residents_descriptions_of_danger_are_recognised() {
        #[rustfmt::skip]
        let cases = [
            ("对面楼顶冒黑烟了，好像有东西烧起来了", Danger::Fire),
            ("楼下电动车棚那边一股烟窜上来，呛得不行", Danger::Fire),
            ("一进楼道就闻到一股煤气味，不知道哪家的", Danger::Gas),
            ("厨房燃气管子嘶嘶响", Danger::Gas),
            ("我们楼的电梯卡在两层中间了，里面好像有人", Danger::Trapped),
            ("3号楼电梯停了，我妈被困在里面快半小时了", Danger::Trapped),
            ("学校门口的路面塌了一大块", Danger::Collapse),
            ("老房子那堵墙裂得厉害，感觉随时要倒", Danger::Collapse),
            ("3栋门口的井盖不见了，黑洞洞的一个坑", Danger::OpenHole),
            ("路面有个大坑", Danger::OpenHole),
            ("下水道的盖子被人偷了，晚上根本看不见", Danger::OpenHole),
            ("地下车库进水了，已经齐腰深了", Danger::DeepWater),
            ("有个小孩掉河里了，快来人", Danger::DeepWater),
            ("大风把电线刮断了，耷拉在人行道上", Danger::LiveWire),
            ("配电箱门开着，里面的线还冒火花", Danger::LiveWire),
            ("隔壁独居的王阿姨好几天没见出门了，敲门没人应", Danger::NotSeen),
            ("楼上老大爷一个星期没下楼了，电话也没人接", Danger::NotSeen),
            ("两个人在路边打架，有个人头都流血了", Danger::Injured),
            ("巷子口有人躺在地上一动不动，头上都是血", Danger::Injured),
            ("隔壁那栋楼顶上站着一个人，看着想往下跳", Danger::Injured),
            ("小区消防通道又被私家车堵死了", Danger::FireLane),
        ];
        for (description, expected) in cases {
            assert_eq!(danger(description), Some(expected), "{description}");
        }
    }

    #[test]
    fn everyday_reports_are_not_dangers() {
        for description in [
            "楼下火锅店油烟很大，窗户都不敢开",
            "工厂烟囱天天冒黑",
            "物业乱收燃气费",
            "小区门口有人卖烟花",
            "电梯坏了好几天了，有人管吗",
            "路口积水很深，车开过去溅一身",
            "井盖裂了一条缝，踩上去咔咔响",
            "车胎漏气了，附近有没有修车的",
            "楼上装修太吵了",
            "",
        ] {
            assert_eq!(recognise(description), None, "{description}");
        }
    }

    #[test]
    fn a_fire_that_might_break_out_is_a_blocked_lane_not_a_fire() {
        let all = recognise_all("小区消防通道又被私家车堵得死死的，真着火了消防车都进不来");
        let dangers: Vec<Danger> = all.iter().map(|r| r.danger).collect();
        assert_eq!(dangers, [Danger::FireLane]);
    }

    #[test]
    fn a_thing_and_its_state_must_share_a_sentence() {
        assert_eq!(danger("电梯在维修。里面有人在打扫"), None);
        assert_eq!(
            danger("电梯在维修，里面有人在打扫"),
            Some(Danger::Trapped),
            "a comma does not end the sentence"
        );
    }

    #[test]
    fn the_most_pressing_danger_is_the_reason_and_all_are_listed() {
        let all = recognise_all("楼道冒烟了，消防通道还被电动车堵着");
        let dangers: Vec<Danger> = all.iter().map(|r| r.danger).collect();
        assert_eq!(dangers, [Danger::Fire, Danger::FireLane]);
        assert_eq!(all[0].reason(), "火情：冒烟");
        assert_eq!(all[0].priority(), Priority::Emergency);
        assert_eq!(all[1].priority(), Priority::Urgent);
        assert_eq!(all[1].reason(), "消防通道堵塞：消防通道、堵");
    }

    #[test]
    fn the_longest_phrase_is_the_one_named() {
        assert_eq!(
            recognise("对面冒黑烟").unwrap().words,
            ["冒黑烟"],
            "冒黑烟 rather than 黑烟"
        );
    }
}
