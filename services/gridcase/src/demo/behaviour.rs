//! How departments behave and what the day's actors write.

/// A department's habits, as chances per work order.
#[derive(Debug, Clone, Copy)]
pub(super) struct Temperament {
    /// Sends a first dispatch back as not its business (退单).
    pub(super) returns: f64,
    /// Signs for the work order only after the warning point (yellow, not breached).
    pub(super) slow: f64,
    /// Lets a deadline pass (breached, escalated).
    pub(super) late: f64,
    /// Asks for more time after accepting (延期).
    pub(super) postpones: f64,
    /// Its resolutions fail the on-site check (返工).
    pub(super) sloppy: f64,
}

impl Temperament {
    pub(super) fn of(department: &str) -> Self {
        let t = |returns, slow, late, postpones, sloppy| Temperament {
            returns,
            slow,
            late,
            postpones,
            sloppy,
        };
        match department {
            "urban_mgmt" => t(0.04, 0.10, 0.08, 0.03, 0.10),
            "market_supervision" => t(0.08, 0.05, 0.05, 0.02, 0.05),
            "public_security" => t(0.03, 0.05, 0.03, 0.0, 0.04),
            "traffic_police" => t(0.05, 0.05, 0.05, 0.0, 0.04),
            "fire_rescue" => t(0.0, 0.02, 0.0, 0.0, 0.02),
            "housing" => t(0.10, 0.20, 0.15, 0.10, 0.12),
            "ecology_env" => t(0.06, 0.10, 0.10, 0.05, 0.08),
            "transport" => t(0.05, 0.10, 0.05, 0.02, 0.05),
            "landscape" => t(0.10, 0.05, 0.05, 0.02, 0.05),
            "water" | "power" | "gas" => t(0.02, 0.03, 0.03, 0.0, 0.03),
            "civil_affairs" => t(0.0, 0.10, 0.05, 0.05, 0.03),
            "justice" => t(0.05, 0.05, 0.05, 0.02, 0.05),
            "planning" => t(0.0, 0.20, 0.10, 0.10, 0.05),
            "emergency_mgmt" => t(0.0, 0.02, 0.0, 0.0, 0.02),
            _ => t(0.05, 0.05, 0.05, 0.02, 0.05),
        }
    }
}

/// Grid workers settling a matter on the spot are seldom sent back to it.
pub(super) const WORKER_SLOPPY: f64 = 0.05;
/// Residents who say the problem is not solved, on a first rating.
pub(super) const NOT_RESOLVED: f64 = 0.07;

pub(super) const RETURN_REASONS: &[&str] = &[
    "经现场核实，该点位属小区物业管理范围，不属于本单位职责，请重新派遣",
    "该处设施不在本单位管养范围内，建议转交相关部门",
    "经核查，反映问题的主体不归本单位监管，申请退回",
];
pub(super) const PROGRESS_NOTES: &[&str] = &[
    "已安排人员赶赴现场查看",
    "已联系责任单位，正在处置",
    "现场已设置警示，材料已调配",
    "已约谈相关当事人，限期整改",
];
pub(super) const POSTPONE_REASONS: &[&str] = &[
    "需协调产权单位共同处置，申请延期",
    "材料采购需要时间，申请延长办理时限",
];
pub(super) const REWORK_NOTES: &[&str] = &[
    "现场核查：问题仍未整改到位，请返工",
    "现场核查：只做了表面处理，居民仍有意见",
];
pub(super) const RATING_COMMENTS: &[&str] = &[
    "处理很及时，谢谢",
    "问题解决了，满意",
    "来得有点慢",
    "还可以",
];
pub(super) const UNRESOLVED_COMMENTS: &[&str] =
    &["问题还在，没有真正解决", "处理完没两天又是老样子"];

/// What a department writes when it resolves a case.
pub(super) fn resolve_note(department: &str, category_name: &str) -> String {
    let done = match department {
        "urban_mgmt" => "执法队员已到场处置，现场已整改到位",
        "market_supervision" => "执法人员已现场检查，已责令整改并立案调查",
        "public_security" => "民警已到场处置，已对当事人进行教育",
        "traffic_police" => "交警已到场疏导，违停车辆已拖离",
        "fire_rescue" => "消防救援人员已到场处置，隐患已消除",
        "housing" => "已督促物业和施工单位整改完毕",
        "ecology_env" => "环境监察人员已采样检查，已责令企业整改",
        "transport" => "养护单位已完成修复",
        "landscape" => "园林养护队已完成修剪和清理",
        "water" => "抢修人员已到场，已完成更换和修复",
        "power" => "供电抢修人员已恢复供电并更换设备",
        "gas" => "燃气抢险人员已到场检测，隐患已排除",
        "civil_affairs" => "社工已上门走访，已纳入帮扶对象",
        "justice" => "人民调解员已组织双方调解，达成一致",
        _ => "已到场处置完毕",
    };
    format!("{category_name}：{done}")
}
