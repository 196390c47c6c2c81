//! NATS subjects, versioned and namespaced. Every subject gridcase uses is built here.

/// Prefix of every subject.
pub const ROOT: &str = "gridcase.v1";

/// Where the key vault seals a reporter's contact (intake only).
pub const KEYS_SEAL: &str = "gridcase.v1.keys.seal";

/// Where the key vault opens sealed contacts (the services that show them).
pub const KEYS_OPEN: &str = "gridcase.v1.keys.open";

/// Where the key vault destroys a person's key (administrators only).
pub const KEYS_ERASE: &str = "gridcase.v1.keys.erase";

/// Where the key vault answers the key id of a phone number, which keys a resident's points
/// account (the evaluation service only). No key is made or read.
pub const KEYS_ACCOUNT: &str = "gridcase.v1.keys.account";

/// Every subject of the key vault.
pub const KEYS_ALL: &str = "gridcase.v1.keys.*";

/// Name of the JetStream stream that carries the committed event feed.
pub const EVENTS_STREAM: &str = "GRIDCASE_EVENTS";

/// Subjects of the event feed: `gridcase.v1.events.<stage>.<case>`.
pub const EVENTS_ALL: &str = "gridcase.v1.events.>";

/// The default store shard; one sled writer serves it.
pub const DEFAULT_SHARD: &str = "0";

/// The store operations, each on its own request subject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreOp {
    /// Append events to a stream.
    Append,
    /// Several independent appends in one message, each with its own outcome.
    AppendBatch,
    /// Read a stream forward.
    ReadStream,
    /// Read a stream forward, saying whether the reply reaches its end.
    ReadStreamPart,
    /// Read the global log forward.
    ReadAll,
    /// The last version of a stream.
    StreamVersion,
    /// Counts of what is stored.
    Stats,
    /// The current head position.
    Head,
}

impl StoreOp {
    /// The subject token of the operation.
    pub fn token(self) -> &'static str {
        match self {
            Self::Append => "append",
            Self::AppendBatch => "append_batch",
            Self::ReadStream => "read_stream",
            Self::ReadStreamPart => "read_stream_part",
            Self::ReadAll => "read_all",
            Self::StreamVersion => "stream_version",
            Self::Stats => "stats",
            Self::Head => "head",
        }
    }
}

/// `gridcase.v1.store.<shard>.<op>`: where the store serves an operation.
pub fn store_request(shard: &str, op: StoreOp) -> String {
    format!("{ROOT}.store.{shard}.{}", op.token())
}

/// `gridcase.v1.store.<shard>.>`: every request subject of a shard.
pub fn store_requests(shard: &str) -> String {
    format!("{ROOT}.store.{shard}.>")
}

/// `gridcase.v1.store.<shard>.committed`: where the store announces its head after each commit.
pub fn store_committed(shard: &str) -> String {
    format!("{ROOT}.store.{shard}.committed")
}

/// `gridcase.v1.events.<stage>.<stream>.<partition>`: where a committed event is published.
/// The people's events (members, points) go under `people`, and events of types the domain
/// does not know under `other`; the partition is [`feed_partition`] of the stream, so
/// replicas of a service can split the feed without two of them ever holding events of one
/// case at once.
pub fn event(event_type: &str, stream: &str) -> String {
    let stage = gridcase_domain::stage_of(event_type)
        .or_else(|| gridcase_domain::people::people_stage(event_type))
        .unwrap_or("other");
    format!(
        "{ROOT}.events.{stage}.{stream}.{}",
        partition_token(feed_partition(stream))
    )
}

/// How many partitions the event feed is split into (a token of every event's subject).
pub const FEED_PARTITIONS: u32 = 16;

/// The feed partition of a store stream: a hash of its id (FNV-1a), fixed for all time,
/// modulo [`FEED_PARTITIONS`].
pub fn feed_partition(stream: &str) -> u32 {
    fnv1a_32(stream.as_bytes()) % FEED_PARTITIONS
}

/// The 32-bit FNV-1a hash of `bytes`: fixed for all time, so what is placed by it stays put.
pub(crate) fn fnv1a_32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(*byte)).wrapping_mul(0x0100_0193)
    })
}

/// The subject token of feed partition `partition`: `p00` … `p15`.
pub fn partition_token(partition: u32) -> String {
    format!("p{partition:02}")
}

/// The filter of partition `partition` of the feed that `filter` follows: `filter` is
/// [`EVENTS_ALL`] or `gridcase.v1.events.<stage>.>`, and the result takes the same events of
/// that partition only (`gridcase.v1.events.*.*.p03`, `gridcase.v1.events.intake.*.p03`).
pub fn partition_filter(filter: &str, partition: u32) -> Result<String, String> {
    let prefix = format!("{ROOT}.events.");
    let stage = filter
        .strip_prefix(&prefix)
        .and_then(|rest| rest.strip_suffix('>'))
        .map(|stage| stage.trim_end_matches('.'))
        .filter(|stage| !stage.contains('.') && !stage.contains('*'))
        .ok_or_else(|| {
            format!("feed filter {filter:?}: a partition needs {EVENTS_ALL} or {prefix}<stage>.>")
        })?;
    let stage = if stage.is_empty() { "*" } else { stage };
    Ok(format!("{prefix}{stage}.*.{}", partition_token(partition)))
}

/// `gridcase.v1.dispatch.<department>`: work orders for one department.
pub fn dispatch(department: &str) -> String {
    format!("{ROOT}.dispatch.{department}")
}

/// `gridcase.v1.dispatch.worker.<worker id>`: work orders a grid worker settles on the spot.
pub fn worker_dispatch(worker: &str) -> String {
    format!(
        "{ROOT}.dispatch.{}.{worker}",
        gridcase_domain::WORKER_SUBJECT_TOKEN
    )
}

/// `gridcase.v1.dispatch.community.<code>` or `gridcase.v1.dispatch.street.<code>`: work
/// orders and notices for a community or street office; `token` is
/// [`gridcase_domain::COMMUNITY_SUBJECT_TOKEN`] or [`gridcase_domain::STREET_SUBJECT_TOKEN`].
pub fn office_dispatch(token: &str, code: &str) -> String {
    format!("{ROOT}.dispatch.{token}.{code}")
}

/// The name of an office's durable consumer of its work orders on [`DISPATCH_STREAM`], e.g.
/// `community-330102-001-002`.
pub fn office_consumer(token: &str, code: &str) -> String {
    format!("{token}-{code}")
}

/// `gridcase.v1.dispatch.leader.<person id>`: notices for a leader of the grid hierarchy (the
/// escalations of the areas they lead).
pub fn leader_dispatch(person: &str) -> String {
    format!(
        "{ROOT}.dispatch.{}.{person}",
        gridcase_domain::LEADER_SUBJECT_TOKEN
    )
}

/// The name of a leader's durable consumer of their notices on [`DISPATCH_STREAM`], e.g.
/// `leader-zhu-yaqin`.
pub fn leader_consumer(person: &str) -> String {
    format!("{}-{person}", gridcase_domain::LEADER_SUBJECT_TOKEN)
}

/// Name of the JetStream stream that keeps every work order.
pub const DISPATCH_STREAM: &str = "GRIDCASE_DISPATCH";

/// Subjects of the work-order stream: [`dispatch`], [`worker_dispatch`], [`office_dispatch`]
/// and [`leader_dispatch`].
pub const DISPATCH_ALL: &str = "gridcase.v1.dispatch.>";

/// The name of a department's durable consumer of its work orders on [`DISPATCH_STREAM`].
pub fn department_consumer(department: &str) -> String {
    format!("dept-{department}")
}

/// Name of the JetStream stream that keeps the alerts for supervisors.
pub const ALERTS_STREAM: &str = "GRIDCASE_ALERTS";

/// Subjects of the alert stream: every [`emergency_alert`].
pub const ALERTS_ALL: &str = "gridcase.v1.alerts.>";

/// `gridcase.v1.alerts.emergency.<case>`: an emergency triage recognised in a case.
pub fn emergency_alert(case: &str) -> String {
    format!("{ROOT}.alerts.emergency.{case}")
}

/// The JetStream domain of street office `street`'s leaf node: `office-<street>`. The centre
/// reaches the office's streams through `$JS.office-<street>.API`.
pub fn office_domain(street: &str) -> String {
    format!("office-{street}")
}

/// Name of the stream a street office keeps, in its own JetStream domain, the reports taken
/// there (and acknowledged with tracking codes) until the centre has them.
pub const OFFICE_REPORTS_STREAM: &str = "GRIDCASE_OFFICE_REPORTS";

/// `gridcase.v1.office.<street>.reports`: a report taken at street office `street`, on the
/// office's [`OFFICE_REPORTS_STREAM`].
pub fn office_reports(street: &str) -> String {
    format!("{ROOT}.office.{street}.reports")
}

/// Name of the centre's stream that sources every street office's [`OFFICE_REPORTS_STREAM`]:
/// JetStream copies each office's reports into it once, whenever the office's link is up.
pub const OFFICE_INBOX_STREAM: &str = "GRIDCASE_OFFICE_INBOX";

/// `gridcase.v1.office.<street>.codes`: where a street office asks the centre to reserve its
/// next block of tracking codes.
pub fn office_codes(street: &str) -> String {
    format!("{ROOT}.office.{street}.codes")
}

/// Every street office's [`office_codes`] subject, which the centre's intake answers.
pub const OFFICE_CODES_ALL: &str = "gridcase.v1.office.*.codes";

/// Name of the key-value bucket a street office keeps its tracking codes in (in its own
/// JetStream domain).
pub const OFFICE_BUCKET: &str = "GRIDCASE_OFFICE";

/// `gridcase.v1.triage.model`: a newly trained category model is in place; triage replicas
/// load it and reply with the version they loaded.
pub const TRIAGE_MODEL_RELOAD: &str = "gridcase.v1.triage.model";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_keeps_its_partition_and_streams_spread_over_all() {
        // Fixed for all time: a changed hash would split a case's events between partitions.
        assert_eq!(feed_partition("ea7e4d45613a912f4651423f59ad8c16"), 13);
        assert_eq!(feed_partition(""), 0x811c_9dc5 % FEED_PARTITIONS);
        let mut seen = [0u32; FEED_PARTITIONS as usize];
        for n in 0..1_600u32 {
            seen[feed_partition(&format!("{:032x}", u128::from(n) * 0x9e37_79b9_7f4a_7c15))
                as usize] += 1;
        }
        assert!(seen.iter().all(|&count| count > 50), "{seen:?}");
        assert_eq!(partition_token(3), "p03");
    }

    #[test]
    fn a_feed_filter_narrows_to_one_partition() {
        assert_eq!(
            partition_filter(EVENTS_ALL, 3).unwrap(),
            "gridcase.v1.events.*.*.p03"
        );
        assert_eq!(
            partition_filter("gridcase.v1.events.intake.>", 15).unwrap(),
            "gridcase.v1.events.intake.*.p15"
        );
        for bad in [
            "gridcase.v1.dispatch.>",
            "gridcase.v1.events.intake.abc",
            "gridcase.v1.events.*.>",
        ] {
            assert!(partition_filter(bad, 0).unwrap_err().contains(bad), "{bad}");
        }
    }

    #[test]
    fn subjects_are_versioned_and_namespaced() {
        assert_eq!(
            store_request("0", StoreOp::Append),
            "gridcase.v1.store.0.append"
        );
        assert_eq!(store_requests("3"), "gridcase.v1.store.3.>");
        let p = partition_token(feed_partition("abc"));
        assert_eq!(
            event("CaseReported", "abc"),
            format!("gridcase.v1.events.intake.abc.{p}")
        );
        assert_eq!(
            event("DispatchAccepted", "abc"),
            format!("gridcase.v1.events.dispatch.abc.{p}")
        );
        assert_eq!(
            event("SomethingNew", "abc"),
            format!("gridcase.v1.events.other.abc.{p}")
        );
        assert!(event("PointsEarned", "points-member-sf-zhao-lei")
            .starts_with("gridcase.v1.events.people.points-member-sf-zhao-lei.p"));
        assert_eq!(dispatch("urban_mgmt"), "gridcase.v1.dispatch.urban_mgmt");
        assert_eq!(
            office_dispatch("community", "330102-001-002"),
            "gridcase.v1.dispatch.community.330102-001-002"
        );
        assert_eq!(
            worker_dispatch("lin-ming"),
            "gridcase.v1.dispatch.worker.lin-ming"
        );
        assert_eq!(
            leader_dispatch("zhu-yaqin"),
            "gridcase.v1.dispatch.leader.zhu-yaqin"
        );
        assert_eq!(leader_consumer("zhu-yaqin"), "leader-zhu-yaqin");
        assert!(DISPATCH_ALL.starts_with(ROOT));
        assert_eq!(department_consumer("water"), "dept-water");
        assert_eq!(emergency_alert("abc"), "gridcase.v1.alerts.emergency.abc");
        assert!(ALERTS_ALL.starts_with(ROOT) && TRIAGE_MODEL_RELOAD.starts_with(ROOT));
    }
}
