//! `verify`: reads the whole log back and checks every record and both indexes.

use super::*;

impl SledStore {
    /// Reads the whole log and checks every record and index entry, calling `progress` with
    /// (records read, records in all) every so often.
    pub fn verify(&self, progress: impl FnMut(u64, u64)) -> Result<VerifyReport> {
        self.verify_with(progress, |_| {})
    }

    /// [`SledStore::verify`], also handing every record that decodes to `inspect` on the same
    /// pass over the log (a caller's own count of what the events hold).
    pub fn verify_with(
        &self,
        mut progress: impl FnMut(u64, u64),
        mut inspect: impl FnMut(&RecordedEvent),
    ) -> Result<VerifyReport> {
        const MAX_PROBLEMS: usize = 100;
        // Appends may go on while we read: check the log up to the head as it is now.
        let head = self.durable_head();
        let log = &self.shared.log;
        let mut report = VerifyReport::default();
        let mut next_versions: HashMap<String, u64> = HashMap::new();
        let problem = |report: &mut VerifyReport, text: String| {
            if report.problems.len() < MAX_PROBLEMS {
                report.problems.push(text);
            }
        };
        let mut expected_position = 0u64;
        for entry in log.range(event_key(0)..event_key(head)) {
            let (key, value) = entry.map_err(storage)?;
            let Some(position) = be_u64(&key[1..]) else {
                problem(&mut report, format!("event key {key:?} is not 9 bytes"));
                continue;
            };
            if position != expected_position {
                let text = format!(
                    "gap: positions {expected_position} to {} are missing",
                    position - 1
                );
                problem(&mut report, text);
            }
            expected_position = position + 1;
            report.events += 1;
            if report.events % 65_536 == 0 {
                progress(report.events, head);
            }
            let record = match decode_record(position, &value) {
                Ok(record) => record,
                Err(e) => {
                    problem(&mut report, e.to_string());
                    continue;
                }
            };
            let next_version = next_versions.entry(record.stream_id.clone()).or_insert(0);
            if record.stream_version != *next_version {
                let text = format!(
                    "position {position}: stream {} version {} where {} was due",
                    record.stream_id, record.stream_version, next_version
                );
                problem(&mut report, text);
            }
            *next_version = record.stream_version + 1;
            let index = log
                .get(stream_key(&record.stream_id, record.stream_version))
                .map_err(storage)?;
            if index.as_deref().and_then(be_u64) != Some(position) {
                let text = format!("position {position}: stream index entry missing or wrong");
                problem(&mut report, text);
            }
            let id = log.get(id_key(record.event_id)).map_err(storage)?;
            if id.as_deref().and_then(be_u64) != Some(position) {
                let text = format!("position {position}: event id index entry missing or wrong");
                problem(&mut report, text);
            }
            inspect(&record);
        }
        if expected_position != head {
            let text = format!("the log ends at {expected_position} but the head is {head}");
            problem(&mut report, text);
        }
        report.streams = next_versions.len() as u64;
        let mut index_entries = 0u64;
        for entry in log.scan_prefix([STREAM]) {
            let (_, value) = entry.map_err(storage)?;
            match be_u64(&value) {
                Some(position) if position >= head => {}
                Some(_) => index_entries += 1,
                None => problem(&mut report, "a stream index entry is not 8 bytes".into()),
            }
        }
        if index_entries != report.events {
            let text = format!(
                "{index_entries} stream index entries for {} events",
                report.events
            );
            problem(&mut report, text);
        }
        // The stream counter can only be compared while no append moved the head meanwhile.
        let stored_streams = self.shared.counters.durable_streams.load(Ordering::Acquire);
        if self.durable_head() == head && stored_streams != report.streams {
            let text = format!(
                "stream counter says {stored_streams}, the log holds {}",
                report.streams
            );
            problem(&mut report, text);
        }
        progress(report.events, head);
        Ok(report)
    }
}
