//! maia-krm: the character checks yaml.v3's reader makes before its scanner sees the text.
//!
//! yaml.v3 (readerc.go) refuses any character outside
//! `#x9 | #xA | #xD | [#x20-#x7E] | #x85 | [#xA0-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF]`
//! with "control characters are not allowed", wherever it sits (comments and quoted scalars
//! included). (U+0085, U+2028 and U+2029, which it takes for line breaks, are line breaks to the
//! scanner too: `char_traits::is_break`.)
use alloc::format;

use crate::scanner::{Marker, ScanError};

/// What [`scan`] found: the first control character.
#[derive(Debug, Default, Clone)]
pub(crate) struct Findings {
    pub(crate) control: Option<ScanError>,
}

/// One pass over the text's bytes. 64-byte chunks of plain ASCII text (no control character) are
/// skipped with a branch-free test the compiler vectorises (about 15 GB/s): the check costs ~1% of
/// a parse.
pub(crate) fn scan(text: &str) -> Findings {
    let bytes = text.as_bytes();
    let mut findings = Findings::default();
    let mut i = 0;
    'chunks: while i < bytes.len() {
        let end = (i + 64).min(bytes.len());
        let mut suspicious = 0u8;
        for &b in &bytes[i..end] {
            suspicious |= ((b < 0x20) as u8 & (b != b'\t') as u8 & (b != b'\n') as u8 & (b != b'\r') as u8)
                | (b >= 0x7f) as u8;
        }
        if suspicious == 0 {
            i = end;
            continue;
        }
        for j in i..end {
            let b = bytes[j];
            // A lead byte guarantees its continuation bytes: `text` is valid UTF-8.
            let control = match b {
                0x7f => true,
                b if b < 0x20 => b != b'\t' && b != b'\n' && b != b'\r',
                // U+0080..U+009F: only U+0085 (NEL) is allowed, and it is a line break.
                0xc2 => (0x80..=0x9f).contains(&bytes[j + 1]) && bytes[j + 1] != 0x85,
                // U+FFFE, U+FFFF.
                0xef => bytes[j + 1] == 0xbf && (bytes[j + 2] == 0xbe || bytes[j + 2] == 0xbf),
                _ => false,
            };
            if control {
                let c = text[j..].chars().next().unwrap_or('\0');
                findings.control = Some(ScanError::new(
                    marker(bytes, j),
                    format!("control characters are not allowed (U+{:04X}; yaml.v3 refuses it)", c as u32),
                ));
                break 'chunks;
            }
        }
        i = end;
    }
    findings
}

/// The marker (char index, 1-based line, 0-based column) of byte offset `at`.
fn marker(bytes: &[u8], at: usize) -> Marker {
    let before = &bytes[..at];
    let index = before.iter().filter(|&&b| (b & 0xc0) != 0x80).count();
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let col = before[line_start..].iter().filter(|&&b| (b & 0xc0) != 0x80).count();
    Marker::new(index, line, col)
}
