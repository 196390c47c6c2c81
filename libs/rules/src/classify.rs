//! Classification: which catalogue category a report is about.

use gridcase_config::ReferenceData;
use gridcase_domain::CategoryCode;

use crate::normalise;

/// What [`classify`] decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Classification {
    /// The reporter or operator gave a code the catalogue knows.
    Explicit(CategoryCode),
    /// The description's words point to one category more than to any other.
    Keywords {
        /// The winning category.
        code: CategoryCode,
        /// Its keywords found in the description, in catalogue order.
        matched: Vec<String>,
        /// The summed length in characters of `matched`.
        score: usize,
    },
    /// No confident match (nothing matched, or two categories scored the
    /// same): operators decide.
    Manual,
}

impl Classification {
    /// The category decided on, `None` if operators must decide.
    pub fn code(&self) -> Option<CategoryCode> {
        match self {
            Classification::Explicit(code) | Classification::Keywords { code, .. } => Some(*code),
            Classification::Manual => None,
        }
    }
}

/// Classifies a report: an `explicit` code wins if the catalogue knows it;
/// otherwise each category scores the summed character length of its
/// keywords found in `description`, and the highest score wins.
///
/// Chinese text has no word boundaries, so a keyword matches wherever it
/// occurs as a substring (ignoring whitespace and ASCII case). Longer
/// keywords are more specific and so weigh more: `雨水井盖` (4) and
/// `雨水井` (3) beat a bare `箅子` (2). A tie between two categories is not
/// guessed at, it goes to [`Classification::Manual`]. The result does not
/// depend on the order of anything but the catalogue itself.
pub fn classify(
    refdata: &ReferenceData,
    explicit: Option<&CategoryCode>,
    description: &str,
) -> Classification {
    if let Some(code) = explicit.filter(|code| refdata.category(code).is_some()) {
        return Classification::Explicit(*code);
    }
    let scored = keyword_scores(refdata, description);
    match scored.as_slice() {
        [best, next, ..] if next.score == best.score => Classification::Manual,
        [best, ..] => Classification::Keywords {
            code: best.code,
            matched: best.matched.clone(),
            score: best.score,
        },
        [] => Classification::Manual,
    }
}

/// How well one category's keywords match a description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeywordScore {
    /// The category.
    pub code: CategoryCode,
    /// Its keywords found in the description, in catalogue order.
    pub matched: Vec<String>,
    /// The summed length in characters of `matched`.
    pub score: usize,
}

/// Every category with a keyword in `description`, scored as [`classify`] scores them, best
/// first (equal scores by code): the one keyword scoring that classification and the manual
/// queue's suggestions share.
pub fn keyword_scores(refdata: &ReferenceData, description: &str) -> Vec<KeywordScore> {
    let text = normalise(description);
    let mut scored: Vec<KeywordScore> = refdata
        .categories()
        .filter_map(|category| {
            let mut score = 0;
            let mut matched = Vec::new();
            for keyword in &category.keywords {
                let keyword_text = normalise(keyword);
                if !keyword_text.is_empty() && text.contains(&keyword_text) {
                    score += keyword_text.chars().count();
                    matched.push(keyword.clone());
                }
            }
            (score > 0).then_some(KeywordScore {
                code: category.code,
                matched,
                score,
            })
        })
        .collect();
    scored.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.code.cmp(&b.code)));
    scored
}

/// Up to `most` categories with a keyword in `description`, best first: what operators are
/// offered for a case waiting in the manual queue.
pub fn suggest(refdata: &ReferenceData, description: &str, most: usize) -> Vec<CategoryCode> {
    keyword_scores(refdata, description)
        .into_iter()
        .take(most)
        .map(|scored| scored.code)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::{category, sample};

    /// Descriptions as residents and operators write them, and the category
    /// code they should land on.
    #[test]
    fn keywords_pick_the_most_specific_category() {
        let cases = [
            ("雨水井盖丢了，晚上很危险", "BJ-01-03"),
            ("小区门口的自来水井盖翘起来了", "BJ-01-01"),
            ("楼下餐馆油烟很大，窗户都不敢开", "SJ-01-07"),
            ("河坊街路灯不亮好几天了", "BJ-01-07"),
            ("单元楼里有人飞线充电，太危险了", "SJ-07-04"),
            ("厨房里闻到很重的煤气味", "SJ-04-01"),
            ("楼上漏水，和邻居沟通不了", "SJ-07-01"),
            ("路口红绿灯坏了，车都堵住了", "BJ-02-01"),
            ("工地半夜施工，吵得睡不着", "SJ-03-02"),
            ("电梯坏了，老人下不了楼", "SJ-06-04"),
            ("有人在河边烧树叶", "SJ-01-08"),
            ("门口 占道 经营", "SJ-05-01"),
        ];
        for (description, expected) in cases {
            let classification = classify(sample(), None, description);
            assert_eq!(
                classification.code(),
                Some(category(expected)),
                "{description}: {classification:?}"
            );
        }
    }

    #[test]
    fn keyword_result_lists_the_matched_words_and_their_length() {
        assert_eq!(
            classify(sample(), None, "路灯不亮，灯杆也歪了"),
            Classification::Keywords {
                code: category("BJ-01-07"),
                matched: vec!["路灯".into(), "路灯不亮".into(), "灯杆".into()],
                score: 8,
            }
        );
        // 雨水井盖 and 雨水井 both count for BJ-01-03.
        assert_eq!(
            classify(sample(), None, "雨水井盖不见了"),
            Classification::Keywords {
                code: category("BJ-01-03"),
                matched: vec!["雨水井盖".into(), "雨水井".into()],
                score: 7,
            }
        );
    }

    #[test]
    fn a_known_explicit_code_wins_over_keywords() {
        assert_eq!(
            classify(sample(), Some(&category("SJ-05-03")), "楼下餐馆油烟很大"),
            Classification::Explicit(category("SJ-05-03"))
        );
    }

    #[test]
    fn an_unknown_explicit_code_falls_back_to_keywords() {
        let unknown = category("SJ-99-99");
        assert_eq!(
            classify(sample(), Some(&unknown), "楼下餐馆油烟很大").code(),
            Some(category("SJ-01-07"))
        );
        assert_eq!(
            classify(sample(), Some(&unknown), "说不清楚"),
            Classification::Manual
        );
    }

    #[test]
    fn ties_between_categories_go_to_operators() {
        // 摆摊 (SJ-05-01) and 违停 (SJ-05-03) both score 2.
        assert_eq!(
            classify(sample(), None, "门口有人摆摊，还有违停"),
            Classification::Manual
        );
    }

    #[test]
    fn no_match_goes_to_operators() {
        for description in [
            "",
            "   ",
            "我想咨询一下社保怎么交",
            // The sample catalogue has six kinds of manhole cover and no
            // bare 井盖 keyword, so an unspecified cover is for operators.
            "小区门口井盖丢了，晚上很危险",
        ] {
            assert_eq!(
                classify(sample(), None, description),
                Classification::Manual,
                "{description}"
            );
        }
    }

    #[test]
    fn classification_is_deterministic() {
        let description = "共享单车堵门口，还有人乱停车";
        let first = classify(sample(), None, description);
        for _ in 0..10 {
            assert_eq!(classify(sample(), None, description), first);
        }
        // 乱停车 + 堵门口 (6) beats 共享单车 (4).
        assert_eq!(first.code(), Some(category("SJ-05-03")));
    }
}
