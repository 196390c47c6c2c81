//! Photos residents attach and departments upload as evidence: the type decided by the bytes
//! (JPEG, PNG, WebP or HEIC — never by the header the client sent), metadata that can place a
//! person (EXIF with its GPS position, XMP, text chunks) removed, and the cleaned copy stored
//! under the name of its SHA-256 in the media directory. Only cleaned copies are kept, so
//! nothing the gateway serves carries where a photo was taken.

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::digest;

/// A photo type the gateway accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoType {
    /// JPEG.
    Jpeg,
    /// PNG.
    Png,
    /// WebP.
    Webp,
    /// HEIC/HEIF, as iPhones take them.
    Heic,
}

impl PhotoType {
    /// What the bytes are, if a photo type the gateway accepts.
    pub fn sniff(bytes: &[u8]) -> Option<Self> {
        if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            return Some(Self::Jpeg);
        }
        if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Some(Self::Png);
        }
        if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
            return Some(Self::Webp);
        }
        if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
            let brand = &bytes[8..12];
            let heif: [&[u8]; 9] = [
                b"heic", b"heix", b"hevc", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1",
            ];
            if heif.contains(&brand) {
                return Some(Self::Heic);
            }
        }
        None
    }

    /// The file extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Jpeg => "jpg",
            Self::Png => "png",
            Self::Webp => "webp",
            Self::Heic => "heic",
        }
    }

    /// The MIME type.
    pub const fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Webp => "image/webp",
            Self::Heic => "image/heic",
        }
    }

    /// The type of a stored file's extension.
    pub fn from_extension(extension: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Webp, Self::Heic]
            .into_iter()
            .find(|t| t.extension() == extension)
    }
}

/// Why a photo is refused.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Larger than allowed.
    #[error("照片超过 {limit_mb} MB，请压缩后再上传")]
    TooLarge {
        /// The limit in MiB.
        limit_mb: usize,
    },
    /// Not JPEG, PNG, WebP or HEIC (whatever its name or header says).
    #[error("只能上传 JPEG、PNG、WebP 或 HEIC 格式的照片")]
    NotAPhoto,
    /// Says it is a photo but its structure is broken.
    #[error("照片文件已损坏，无法读取")]
    Damaged,
    /// The disk failed.
    #[error("saving the photo: {0}")]
    Io(#[from] std::io::Error),
}

/// Photos stored by content under one directory.
#[derive(Debug, Clone)]
pub struct MediaStore {
    dir: PathBuf,
    max_bytes: usize,
}

/// A stored photo: its file name (`<sha256>.<ext>`) and type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// `<64 hex digits>.<ext>`.
    pub name: String,
    /// The photo's type.
    pub kind: PhotoType,
}

impl MediaStore {
    /// Photos under `dir` (created when the first is stored), each at most `max_bytes`.
    pub fn new(dir: impl Into<PathBuf>, max_bytes: usize) -> Self {
        Self {
            dir: dir.into(),
            max_bytes,
        }
    }

    /// Checks, cleans and stores `bytes`; storing the same photo twice keeps one file.
    pub fn store(&self, bytes: &[u8]) -> Result<Stored, MediaError> {
        if bytes.len() > self.max_bytes {
            return Err(MediaError::TooLarge {
                limit_mb: self.max_bytes.div_ceil(1024 * 1024),
            });
        }
        let kind = PhotoType::sniff(bytes).ok_or(MediaError::NotAPhoto)?;
        let clean = strip_metadata(kind, bytes).ok_or(MediaError::Damaged)?;
        let hash = digest::digest(&digest::SHA256, &clean);
        let hex: String = hash.as_ref().iter().map(|b| format!("{b:02x}")).collect();
        let name = format!("{hex}.{}", kind.extension());
        let path = self.dir.join(&name);
        if !path.exists() {
            std::fs::create_dir_all(&self.dir)?;
            let temp = self.dir.join(format!(".{name}.{}.tmp", std::process::id()));
            let mut file = std::fs::File::create(&temp)?;
            file.write_all(&clean)?;
            file.sync_all()?;
            std::fs::rename(&temp, &path)?;
        }
        Ok(Stored { name, kind })
    }

    /// The bytes and type of the stored photo `name`, if `name` is one this store could have
    /// written (64 hex digits, a known extension) and it exists.
    pub fn read(&self, name: &str) -> Option<(Vec<u8>, PhotoType)> {
        let (hash, extension) = name.split_once('.')?;
        let valid = hash.len() == 64
            && hash
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let kind = PhotoType::from_extension(extension).filter(|_| valid)?;
        let bytes = std::fs::read(self.dir.join(name)).ok()?;
        Some((bytes, kind))
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// The photo without metadata that can place or name a person; `None` if its structure is
/// broken.
pub fn strip_metadata(kind: PhotoType, bytes: &[u8]) -> Option<Vec<u8>> {
    match kind {
        PhotoType::Jpeg => strip_jpeg(bytes),
        PhotoType::Png => strip_png(bytes),
        PhotoType::Webp => strip_webp(bytes),
        PhotoType::Heic => strip_heif(bytes),
    }
}

/// JPEG: drops APP1 (EXIF, XMP), APP13 (IPTC) and comments; keeps the rest (JFIF, ICC
/// colour profiles, the image) byte for byte.
fn strip_jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..2]);
    let mut at = 2;
    loop {
        let marker = *bytes.get(at + 1)?;
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        // Start of scan or end of image: the rest is image data, copied as it is.
        if marker == 0xDA || marker == 0xD9 {
            out.extend_from_slice(&bytes[at..]);
            return Some(out);
        }
        // Markers without a length.
        if (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
            out.extend_from_slice(&bytes[at..at + 2]);
            at += 2;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([
            *bytes.get(at + 2)?,
            *bytes.get(at + 3)?,
        ]));
        let end = at.checked_add(2 + length)?;
        if length < 2 || end > bytes.len() {
            return None;
        }
        if !matches!(marker, 0xE1 | 0xED | 0xFE) {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
}

/// PNG: drops eXIf and the text chunks (tEXt, zTXt, iTXt) and tIME.
fn strip_png(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes[..8].to_vec();
    let mut at = 8;
    while at < bytes.len() {
        let length =
            usize::try_from(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()?;
        let kind = bytes.get(at + 4..at + 8)?;
        let end = at.checked_add(12)?.checked_add(length)?;
        if end > bytes.len() {
            return None;
        }
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

/// WebP: drops the EXIF and XMP chunks and clears their flags in VP8X.
fn strip_webp(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes[..12].to_vec();
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let kind = &bytes[at..at + 4];
        let size =
            usize::try_from(u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?)).ok()?;
        let end = at
            .checked_add(8)?
            .checked_add(size + (size & 1))?
            .min(bytes.len());
        if at + 8 + size > bytes.len() {
            return None;
        }
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let start = out.len();
                out.extend_from_slice(&bytes[at..end]);
                // Flags: bit 3 EXIF, bit 2 XMP.
                if let Some(flags) = out.get_mut(start + 8) {
                    *flags &= !0b0000_1100;
                }
            }
            _ => out.extend_from_slice(&bytes[at..end]),
        }
        at = end;
    }
    let riff_size = u32::try_from(out.len() - 8).ok()?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Some(out)
}

/// Reads a big-endian unsigned number of `width` bytes (0, 2, 4 or 8) at `at`.
fn number(bytes: &[u8], at: usize, width: usize) -> Option<u64> {
    let slice = bytes.get(at..at.checked_add(width)?)?;
    Some(slice.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b)))
}

/// The boxes in `bytes[start..end]`: (type, content start, box end).
fn boxes(bytes: &[u8], start: usize, end: usize) -> Option<Vec<([u8; 4], usize, usize)>> {
    let mut found = Vec::new();
    let mut at = start;
    while at + 8 <= end {
        let size = number(bytes, at, 4)?;
        let kind: [u8; 4] = bytes.get(at + 4..at + 8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8usize, end - at),
            1 => (16, usize::try_from(number(bytes, at + 8, 8)?).ok()?),
            n => (8, usize::try_from(n).ok()?),
        };
        let box_end = at.checked_add(size)?;
        if size < header || box_end > end {
            return None;
        }
        found.push((kind, at + header, box_end));
        at = box_end;
    }
    Some(found)
}

/// HEIF/HEIC: zeroes the data of every `Exif` and XMP (`mime`) item, found through the item
/// information (`iinf`) and item location (`iloc`) boxes of `meta`, keeping every offset valid.
fn strip_heif(bytes: &[u8]) -> Option<Vec<u8>> {
    let mut out = bytes.to_vec();
    let top = boxes(bytes, 0, bytes.len())?;
    let Some(&(_, meta_start, meta_end)) = top.iter().find(|(kind, _, _)| kind == b"meta") else {
        return Some(out);
    };
    // meta is a full box: 4 bytes of version and flags before its children.
    let children = boxes(bytes, meta_start + 4, meta_end)?;
    let mut metadata_items = Vec::new();
    if let Some(&(_, start, end)) = children.iter().find(|(kind, _, _)| kind == b"iinf") {
        let version = *bytes.get(start)?;
        let entries_at = start + 4 + if version == 0 { 2 } else { 4 };
        for (kind, infe, _) in boxes(bytes, entries_at, end)? {
            if &kind != b"infe" {
                continue;
            }
            let infe_version = *bytes.get(infe)?;
            let (id, type_at) = match infe_version {
                2 => (number(bytes, infe + 4, 2)?, infe + 8),
                3 => (number(bytes, infe + 4, 4)?, infe + 10),
                _ => continue,
            };
            let item_type = bytes.get(type_at..type_at + 4)?;
            if item_type == b"Exif" || item_type == b"mime" {
                metadata_items.push(id);
            }
        }
    }
    if metadata_items.is_empty() {
        return Some(out);
    }
    let &(_, start, _) = children.iter().find(|(kind, _, _)| kind == b"iloc")?;
    let version = *bytes.get(start)?;
    let sizes = *bytes.get(start + 4)?;
    let more = *bytes.get(start + 5)?;
    let (offset_size, length_size) = (usize::from(sizes >> 4), usize::from(sizes & 0x0F));
    let base_offset_size = usize::from(more >> 4);
    let index_size = if version >= 1 {
        usize::from(more & 0x0F)
    } else {
        0
    };
    let mut at = start + 6;
    let id_width = if version < 2 { 2 } else { 4 };
    let count = number(bytes, at, id_width)?;
    at += id_width;
    for _ in 0..count {
        let id = number(bytes, at, id_width)?;
        at += id_width;
        let construction = if version >= 1 {
            let method = number(bytes, at, 2)? & 0x0F;
            at += 2;
            method
        } else {
            0
        };
        at += 2; // data reference index
        let base = number(bytes, at, base_offset_size)?;
        at += base_offset_size;
        let extents = number(bytes, at, 2)?;
        at += 2;
        for _ in 0..extents {
            at += index_size;
            let offset = number(bytes, at, offset_size)?;
            at += offset_size;
            let length = number(bytes, at, length_size)?;
            at += length_size;
            if construction == 0 && metadata_items.contains(&id) {
                let from = usize::try_from(base.checked_add(offset)?).ok()?;
                let to = from.checked_add(usize::try_from(length).ok()?)?;
                out.get_mut(from..to)?.fill(0);
            }
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny JPEG: SOI, APP0 (JFIF), APP1 (EXIF with a GPS tag marker), COM, SOS, data, EOI.
    fn jpeg_with_exif() -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8];
        bytes.extend_from_slice(&[0xFF, 0xE0, 0x00, 0x07, b'J', b'F', b'I', b'F', 0]);
        let exif = b"Exif\0\0GPS 30.2536N 120.1642E";
        bytes.extend_from_slice(&[0xFF, 0xE1]);
        bytes.extend_from_slice(&u16::try_from(exif.len() + 2).unwrap().to_be_bytes());
        bytes.extend_from_slice(exif);
        bytes.extend_from_slice(&[0xFF, 0xFE, 0x00, 0x06, b'h', b'i', b'!', b'!']);
        bytes.extend_from_slice(&[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]);
        bytes
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn types_are_decided_by_the_bytes() {
        assert_eq!(PhotoType::sniff(&jpeg_with_exif()), Some(PhotoType::Jpeg));
        assert_eq!(
            PhotoType::sniff(b"\x89PNG\r\n\x1a\n...."),
            Some(PhotoType::Png)
        );
        assert_eq!(
            PhotoType::sniff(b"RIFF\x04\0\0\0WEBPVP8 "),
            Some(PhotoType::Webp)
        );
        assert_eq!(
            PhotoType::sniff(b"\0\0\0\x18ftypheic\0\0\0\0"),
            Some(PhotoType::Heic)
        );
        assert_eq!(PhotoType::sniff(b"<html><script>"), None);
        assert_eq!(PhotoType::sniff(b"GIF89a"), None);
    }

    #[test]
    fn jpeg_exif_and_comments_are_removed_and_the_image_kept() {
        let clean = strip_metadata(PhotoType::Jpeg, &jpeg_with_exif()).unwrap();
        assert!(!contains(&clean, b"GPS"));
        assert!(!contains(&clean, b"hi!!"));
        assert!(contains(&clean, b"JFIF"));
        assert!(clean.ends_with(&[0xFF, 0xDA, 0x00, 0x02, 1, 2, 3, 0xFF, 0xD9]));
        assert_eq!(
            strip_metadata(PhotoType::Jpeg, &[0xFF, 0xD8, 0xFF, 0xE1, 0xFF]),
            None
        );
    }

    #[test]
    fn png_text_and_exif_chunks_are_removed() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend_from_slice(data);
            c.extend_from_slice(&[0, 0, 0, 0]);
            c
        };
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.extend(chunk(b"IHDR", &[0; 13]));
        png.extend(chunk(b"eXIf", b"GPS here"));
        png.extend(chunk(b"tEXt", b"Author\0Zhang"));
        png.extend(chunk(b"IDAT", &[1, 2, 3]));
        png.extend(chunk(b"IEND", &[]));
        let clean = strip_metadata(PhotoType::Png, &png).unwrap();
        assert!(!contains(&clean, b"GPS") && !contains(&clean, b"Zhang"));
        assert!(
            contains(&clean, b"IHDR") && contains(&clean, b"IDAT") && contains(&clean, b"IEND")
        );
    }

    #[test]
    fn webp_exif_is_removed_and_the_riff_size_fixed() {
        let chunk = |kind: &[u8], data: &[u8]| {
            let mut c = kind.to_vec();
            c.extend_from_slice(&u32::try_from(data.len()).unwrap().to_le_bytes());
            c.extend_from_slice(data);
            if data.len() % 2 == 1 {
                c.push(0);
            }
            c
        };
        let mut body = b"WEBP".to_vec();
        body.extend(chunk(b"VP8X", &[0b0000_1100, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(chunk(b"VP8 ", &[9; 11]));
        body.extend(chunk(b"EXIF", b"GPS 30.25N"));
        let mut webp = b"RIFF".to_vec();
        webp.extend_from_slice(&u32::try_from(body.len()).unwrap().to_le_bytes());
        webp.extend(body);
        let clean = strip_metadata(PhotoType::Webp, &webp).unwrap();
        assert!(!contains(&clean, b"GPS"));
        assert_eq!(
            u32::from_le_bytes(clean[4..8].try_into().unwrap()) as usize,
            clean.len() - 8
        );
        assert_eq!(clean[20] & 0b0000_1100, 0, "VP8X flags cleared");
        assert!(contains(&clean, b"VP8 "));
    }

    #[test]
    fn heic_exif_items_are_zeroed_in_place() {
        // ftyp, then meta { hdlr, iinf { infe(1, hvc1), infe(2, Exif) }, iloc }, then mdat.
        let full_box = |kind: &[u8], version: u8, content: &[u8]| {
            let mut b = u32::try_from(12 + content.len())
                .unwrap()
                .to_be_bytes()
                .to_vec();
            b.extend_from_slice(kind);
            b.extend_from_slice(&[version, 0, 0, 0]);
            b.extend_from_slice(content);
            b
        };
        let infe = |id: u16, kind: &[u8]| {
            let mut content = id.to_be_bytes().to_vec();
            content.extend_from_slice(&[0, 0]);
            content.extend_from_slice(kind);
            content.push(0);
            full_box(b"infe", 2, &content)
        };
        let mut iinf_content = 2u16.to_be_bytes().to_vec();
        iinf_content.extend(infe(1, b"hvc1"));
        iinf_content.extend(infe(2, b"Exif"));
        let iinf = full_box(b"iinf", 0, &iinf_content);
        let ftyp = {
            let mut b = 20u32.to_be_bytes().to_vec();
            b.extend_from_slice(b"ftypheic\0\0\0\0mif1");
            b
        };
        let image = b"HEVC-IMAGE-DATA";
        let exif = b"Exif\0\0GPS 30.2536N";
        // iloc v0: offset_size 4, length_size 4, base_offset_size 0; two items, one extent each.
        let iloc_len = 12 + 2 + 2 + 2 * (2 + 2 + 2 + 8);
        let meta_len = 12 + iinf.len() + iloc_len;
        let mdat_start = ftyp.len() + meta_len;
        let image_at = u32::try_from(mdat_start + 8).unwrap();
        let exif_at = image_at + u32::try_from(image.len()).unwrap();
        let mut iloc_content = vec![0x44, 0x00];
        iloc_content.extend_from_slice(&2u16.to_be_bytes());
        for (id, at, len) in [(1u16, image_at, image.len()), (2, exif_at, exif.len())] {
            iloc_content.extend_from_slice(&id.to_be_bytes());
            iloc_content.extend_from_slice(&[0, 0]);
            iloc_content.extend_from_slice(&1u16.to_be_bytes());
            iloc_content.extend_from_slice(&at.to_be_bytes());
            iloc_content.extend_from_slice(&u32::try_from(len).unwrap().to_be_bytes());
        }
        let iloc = full_box(b"iloc", 0, &iloc_content);
        assert_eq!(iloc.len(), iloc_len);
        let mut meta_content = iinf.clone();
        meta_content.extend(iloc);
        let meta = full_box(b"meta", 0, &meta_content);
        let mut heic = ftyp;
        heic.extend(meta);
        heic.extend_from_slice(
            &u32::try_from(8 + image.len() + exif.len())
                .unwrap()
                .to_be_bytes(),
        );
        heic.extend_from_slice(b"mdat");
        heic.extend_from_slice(image);
        heic.extend_from_slice(exif);
        assert_eq!(PhotoType::sniff(&heic), Some(PhotoType::Heic));
        let clean = strip_metadata(PhotoType::Heic, &heic).unwrap();
        assert_eq!(clean.len(), heic.len());
        assert!(!contains(&clean, b"GPS"));
        assert!(contains(&clean, image));
    }

    #[test]
    fn the_store_keeps_one_clean_copy_per_photo_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::new(dir.path().join("media"), 1024);
        let first = store.store(&jpeg_with_exif()).unwrap();
        let again = store.store(&jpeg_with_exif()).unwrap();
        assert_eq!(first, again);
        assert!(first.name.ends_with(".jpg") && first.name.len() == 64 + 4);
        let (bytes, kind) = store.read(&first.name).unwrap();
        assert_eq!(kind, PhotoType::Jpeg);
        assert!(!contains(&bytes, b"GPS"));
        assert_eq!(std::fs::read_dir(store.dir()).unwrap().count(), 1);
        assert!(matches!(
            store.store(b"<svg onload=alert(1)>"),
            Err(MediaError::NotAPhoto)
        ));
        assert!(matches!(
            store.store(&[0xFF; 2048]),
            Err(MediaError::TooLarge { limit_mb: 1 })
        ));
        assert!(store.read("../../etc/passwd").is_none());
        assert!(store.read(&first.name.replace(".jpg", ".png")).is_none());
    }
}
