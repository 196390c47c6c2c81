//! The bytes of one stored record: a format byte, a CRC-32 of the body, and the postcard body.
//!
//! The checksum is ours, on top of sled's own: a record that sled hands back intact but that
//! is not what we wrote (a bug, a bad restore) must surface as an error naming its position.

use serde::{Deserialize, Serialize};

use crate::{Metadata, NewEvent, RecordedEvent, Result, StoreError};

/// Format byte of records written by this version. A new layout gets a new byte; old ones stay
/// readable.
pub const RECORD_FORMAT: u8 = 1;

const HEADER_LEN: usize = 5;

/// The envelope without its position, which is the record's key.
#[derive(Serialize, Deserialize)]
struct StoredRecordV1<'a> {
    stream_id: &'a str,
    stream_version: u64,
    event_id: u128,
    event_type: &'a str,
    schema_version: u16,
    recorded_at_ms: i64,
    correlation_id: Option<u128>,
    causation_id: Option<u128>,
    actor: Option<&'a str>,
    payload: &'a [u8],
}

/// Encodes a record for storage (its position is not part of the bytes).
pub fn encode_record(event: &RecordedEvent) -> Vec<u8> {
    encode_body(&StoredRecordV1 {
        stream_id: &event.stream_id,
        stream_version: event.stream_version,
        event_id: event.event_id,
        event_type: &event.event_type,
        schema_version: event.schema_version,
        recorded_at_ms: event.recorded_at_ms,
        correlation_id: event.metadata.correlation_id,
        causation_id: event.metadata.causation_id,
        actor: event.metadata.actor.as_deref(),
        payload: &event.payload,
    })
}

/// Encodes a new event as the record stored for it, without building a [`RecordedEvent`].
pub(crate) fn encode_new_record(
    stream_id: &str,
    stream_version: u64,
    recorded_at_ms: i64,
    event: &NewEvent,
) -> Vec<u8> {
    encode_body(&StoredRecordV1 {
        stream_id,
        stream_version,
        event_id: event.event_id,
        event_type: &event.event_type,
        schema_version: event.schema_version,
        recorded_at_ms,
        correlation_id: event.metadata.correlation_id,
        causation_id: event.metadata.causation_id,
        actor: event.metadata.actor.as_deref(),
        payload: &event.payload,
    })
}

fn encode_body(body: &StoredRecordV1<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + 96 + body.payload.len() + body.stream_id.len());
    out.extend_from_slice(&[RECORD_FORMAT, 0, 0, 0, 0]);
    // Serialising into a Vec cannot fail for these field types.
    let mut out = postcard::to_extend(body, out).expect("postcard serialises plain structs");
    let crc = crc32fast::hash(&out[HEADER_LEN..]);
    out[1..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
    out
}

/// A record decoded without copying: fields borrow from the stored bytes.
#[derive(Debug, Clone, Copy)]
pub struct RecordView<'a> {
    /// Global position.
    pub position: u64,
    /// The stream it belongs to.
    pub stream_id: &'a str,
    /// Place in its stream.
    pub stream_version: u64,
    /// The id the writer gave it.
    pub event_id: u128,
    /// Type name.
    pub event_type: &'a str,
    /// Id shared by every event that one outside request led to.
    pub correlation_id: Option<u128>,
    /// Id of the event (or command) that directly caused this one.
    pub causation_id: Option<u128>,
}

/// Decodes just enough of a stored record to route it, checking its checksum.
pub fn view_record(position: u64, bytes: &[u8]) -> Result<RecordView<'_>> {
    let record = check_and_parse(position, bytes)?;
    Ok(RecordView {
        position,
        stream_id: record.stream_id,
        stream_version: record.stream_version,
        event_id: record.event_id,
        event_type: record.event_type,
        correlation_id: record.correlation_id,
        causation_id: record.causation_id,
    })
}

fn check_and_parse(position: u64, bytes: &[u8]) -> Result<StoredRecordV1<'_>> {
    let corrupt = |reason: String| StoreError::Corrupt { position, reason };
    if bytes.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "{} bytes, shorter than the header",
            bytes.len()
        )));
    }
    if bytes[0] != RECORD_FORMAT {
        return Err(corrupt(format!("unknown record format {}", bytes[0])));
    }
    let stored_crc = u32::from_le_bytes([bytes[1], bytes[2], bytes[3], bytes[4]]);
    let body = &bytes[HEADER_LEN..];
    let crc = crc32fast::hash(body);
    if crc != stored_crc {
        return Err(corrupt(format!(
            "checksum mismatch: stored {stored_crc:08x}, computed {crc:08x}"
        )));
    }
    let (record, rest): (StoredRecordV1<'_>, _) =
        postcard::take_from_bytes(body).map_err(|e| corrupt(format!("undecodable body: {e}")))?;
    if !rest.is_empty() {
        return Err(corrupt(format!(
            "{} trailing bytes after the body",
            rest.len()
        )));
    }
    Ok(record)
}

/// Decodes the record stored at `position`; corrupt bytes are an error naming the position.
pub fn decode_record(position: u64, bytes: &[u8]) -> Result<RecordedEvent> {
    let record = check_and_parse(position, bytes)?;
    Ok(RecordedEvent {
        position,
        stream_id: record.stream_id.to_owned(),
        stream_version: record.stream_version,
        event_id: record.event_id,
        event_type: record.event_type.to_owned(),
        schema_version: record.schema_version,
        recorded_at_ms: record.recorded_at_ms,
        metadata: Metadata {
            correlation_id: record.correlation_id,
            causation_id: record.causation_id,
            actor: record.actor.map(str::to_owned),
        },
        payload: record.payload.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> RecordedEvent {
        RecordedEvent {
            position: 7,
            stream_id: "case-1".into(),
            stream_version: 3,
            event_id: 42,
            event_type: "CaseReported".into(),
            schema_version: 1,
            recorded_at_ms: 1_700_000_000_000,
            metadata: Metadata {
                correlation_id: Some(1),
                causation_id: None,
                actor: Some("operator:op-1".into()),
            },
            payload: vec![1, 2, 3, 4],
        }
    }

    #[test]
    fn record_round_trips() {
        let event = sample();
        assert_eq!(decode_record(7, &encode_record(&event)).unwrap(), event);
    }

    #[test]
    fn every_flipped_byte_is_an_error_naming_the_position() {
        let bytes = encode_record(&sample());
        for i in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[i] ^= 0x5a;
            match decode_record(7, &bad) {
                Err(StoreError::Corrupt { position: 7, .. }) => {}
                other => panic!("flipping byte {i} gave {other:?}"),
            }
        }
    }

    #[test]
    fn truncated_records_are_errors() {
        let bytes = encode_record(&sample());
        for len in 0..bytes.len() {
            assert!(matches!(
                decode_record(9, &bytes[..len]),
                Err(StoreError::Corrupt { position: 9, .. })
            ));
        }
    }
}
