//! The size of a binary zipped as a Lambda deployment package: one entry, `bootstrap`,
//! deflated at the default level (6, what `zip`, Python's `zipfile` and `cargo lambda` use).

use std::io::{self, Write};

use flate2::{Compression, write::DeflateEncoder};

/// The entry's name in the package.
const ENTRY: &str = "bootstrap";

/// What a one-entry archive adds to the deflated bytes: the local file header (30 bytes and
/// the name), its central-directory record (46 and the name) and the end record (22). No extra
/// fields, no data descriptor.
pub const OVERHEAD: u64 = 30 + 46 + 22 + 2 * ENTRY.len() as u64;

/// The size of `contents` zipped as a `bootstrap`.
pub fn zipped_size(contents: &[u8]) -> io::Result<u64> {
    let mut encoder = DeflateEncoder::new(Counter(0), Compression::default());
    encoder.write_all(contents)?;
    let deflated = encoder.finish()?.0;
    Ok(deflated + OVERHEAD)
}

/// Counts what is written to it, keeping nothing.
struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0 += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repetitive_contents_shrink_and_the_archive_overhead_is_counted() {
        let contents = vec![b'a'; 100_000];
        let size = zipped_size(&contents).unwrap();
        assert!(size > OVERHEAD && size < 1_000, "{size}");
        assert_eq!(OVERHEAD, 116);
    }
}
