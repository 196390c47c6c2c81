//! The log file of a backup: the store's records exactly as stored, in log order.
//!
//! The file starts with [`LOG_FILE_MAGIC`] and then holds one frame per record: its position
//! (u64 big-endian), the length of its bytes (u32 big-endian) and the bytes (format byte, CRC,
//! body; see [`crate::encode_record`]). Each record keeps its own checksum, so a restore checks
//! every record end to end; the file as a whole is checked by the digest its manifest keeps.

use std::io::{Read, Write};

use crate::{Result, StoreError, MAX_PAYLOAD_BYTES};

/// The first bytes of a backup's log file: a name and the file format's version.
pub const LOG_FILE_MAGIC: &[u8; 8] = b"gcaselg1";

/// The largest record a frame may announce: a payload at its limit and room for the envelope.
const MAX_RECORD_BYTES: usize = MAX_PAYLOAD_BYTES + 64 * 1024;

fn io(what: &str, error: std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("backup log: {what}: {error}"))
}

/// Writes a backup's log file, one record after another from position 0.
#[derive(Debug)]
pub struct LogFileWriter<W: Write> {
    out: W,
    next_position: u64,
}

impl<W: Write> LogFileWriter<W> {
    /// Starts the file in `out`.
    pub fn new(mut out: W) -> Result<Self> {
        out.write_all(LOG_FILE_MAGIC)
            .map_err(|e| io("writing", e))?;
        Ok(Self {
            out,
            next_position: 0,
        })
    }

    /// Appends the record at `position`, which must be the next one.
    pub fn push(&mut self, position: u64, bytes: &[u8]) -> Result<()> {
        if position != self.next_position {
            return Err(StoreError::InvalidRequest(format!(
                "backup log: record {position} given where {} was due",
                self.next_position
            )));
        }
        let length = u32::try_from(bytes.len())
            .ok()
            .filter(|&n| n as usize <= MAX_RECORD_BYTES)
            .ok_or_else(|| {
                StoreError::InvalidRequest(format!(
                    "backup log: record {position} holds {} bytes",
                    bytes.len()
                ))
            })?;
        let mut frame = [0u8; 12];
        frame[..8].copy_from_slice(&position.to_be_bytes());
        frame[8..].copy_from_slice(&length.to_be_bytes());
        self.out
            .write_all(&frame)
            .and_then(|()| self.out.write_all(bytes))
            .map_err(|e| io("writing", e))?;
        self.next_position += 1;
        Ok(())
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.next_position
    }

    /// Flushes and returns the output.
    pub fn finish(mut self) -> Result<W> {
        self.out.flush().map_err(|e| io("flushing", e))?;
        Ok(self.out)
    }
}

/// Reads a backup's log file: an iterator of (position, record bytes), checking the magic,
/// each frame's length and that positions run 0, 1, 2, … (records' own checksums are checked
/// by whoever decodes them). A truncated file ends in an error, never in a silent stop.
#[derive(Debug)]
pub struct LogFileReader<R: Read> {
    input: R,
    next_position: u64,
    started: bool,
    done: bool,
}

impl<R: Read> LogFileReader<R> {
    /// Reads the file from `input`.
    pub fn new(input: R) -> Self {
        Self {
            input,
            next_position: 0,
            started: false,
            done: false,
        }
    }

    fn corrupt(&self, reason: String) -> StoreError {
        StoreError::Corrupt {
            position: self.next_position,
            reason: format!("backup log: {reason}"),
        }
    }

    fn next_frame(&mut self) -> Result<Option<(u64, Vec<u8>)>> {
        if !self.started {
            self.started = true;
            let mut magic = [0u8; 8];
            self.input
                .read_exact(&mut magic)
                .map_err(|e| self.corrupt(format!("no header ({e})")))?;
            if &magic != LOG_FILE_MAGIC {
                return Err(self.corrupt("not a gridcase backup log (wrong header)".into()));
            }
        }
        let mut frame = [0u8; 12];
        let mut filled = 0;
        while filled < frame.len() {
            match self.input.read(&mut frame[filled..]) {
                Ok(0) if filled == 0 => return Ok(None),
                Ok(0) => return Err(self.corrupt("the file ends inside a frame header".into())),
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io("reading", e)),
            }
        }
        let position = u64::from_be_bytes(frame[..8].try_into().expect("8 bytes"));
        let length = u32::from_be_bytes(frame[8..].try_into().expect("4 bytes")) as usize;
        if position != self.next_position {
            return Err(self.corrupt(format!("frame of position {position}")));
        }
        if length > MAX_RECORD_BYTES {
            return Err(self.corrupt(format!("frame announces {length} bytes")));
        }
        let mut bytes = vec![0u8; length];
        self.input
            .read_exact(&mut bytes)
            .map_err(|e| self.corrupt(format!("the file ends inside a record ({e})")))?;
        self.next_position += 1;
        Ok(Some((position, bytes)))
    }
}

impl<R: Read> Iterator for LogFileReader<R> {
    type Item = Result<(u64, Vec<u8>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let next = self.next_frame().transpose();
        if !matches!(next, Some(Ok(_))) {
            self.done = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(records: &[&[u8]]) -> Vec<u8> {
        let mut writer = LogFileWriter::new(Vec::new()).unwrap();
        for (position, bytes) in records.iter().enumerate() {
            writer.push(position as u64, bytes).unwrap();
        }
        writer.finish().unwrap()
    }

    #[test]
    fn records_come_back_in_order() {
        let bytes = file(&[b"first", b"", b"third record"]);
        let read: Vec<_> = LogFileReader::new(&bytes[..])
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            read,
            vec![
                (0, b"first".to_vec()),
                (1, Vec::new()),
                (2, b"third record".to_vec())
            ]
        );
    }

    #[test]
    fn a_writer_refuses_a_record_out_of_order() {
        let mut writer = LogFileWriter::new(Vec::new()).unwrap();
        writer.push(0, b"a").unwrap();
        let error = writer.push(2, b"c").unwrap_err();
        assert!(
            error.to_string().contains("record 2 given where 1 was due"),
            "{error}"
        );
    }

    #[test]
    fn a_truncated_file_is_an_error_not_a_shorter_log() {
        let bytes = file(&[b"first", b"second"]);
        for cut in [bytes.len() - 1, bytes.len() - 7, 10, 3] {
            let read: Vec<_> = LogFileReader::new(&bytes[..cut]).collect();
            let last = read.last().expect("something is read");
            assert!(last.is_err(), "cut at {cut}: {read:?}");
        }
        // Cut between frames, the file is short but whole: the manifest's digest and record
        // count catch that, not the reader.
        let whole_first = 8 + 12 + 5;
        let read: Vec<_> = LogFileReader::new(&bytes[..whole_first])
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(read.len(), 1);
    }

    #[test]
    fn a_foreign_file_or_a_wild_length_is_refused() {
        let read: Vec<_> = LogFileReader::new(&b"not a backup at all"[..]).collect();
        assert!(read[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("wrong header"));
        let mut bytes = LOG_FILE_MAGIC.to_vec();
        bytes.extend_from_slice(&0u64.to_be_bytes());
        bytes.extend_from_slice(&u32::MAX.to_be_bytes());
        let read: Vec<_> = LogFileReader::new(&bytes[..]).collect();
        assert!(read[0]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("announces"));
    }
}
