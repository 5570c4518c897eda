//! IDX files (the MNIST format): unsigned-byte images (magic 2051) and labels (magic 2049),
//! raw or gzip-compressed; gzip is recognised by its first two bytes, not the file name.

use std::cell::Cell;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

/// Magic number of an unsigned-byte IDX file with three dimensions (images).
pub const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an unsigned-byte IDX file with one dimension (labels).
pub const LABELS_MAGIC: u32 = 0x0000_0801;

/// The most data (bytes after the header) a file may claim: 16 GiB, over 300 times the
/// MNIST training set. Larger claims are refused before reading, since a few bytes of gzip
/// can claim any size.
pub const MAX_DATA_BYTES: u64 = 16 << 30;

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Why an IDX file could not be read. Each message names the file.
#[derive(Debug, thiserror::Error)]
pub enum IdxError {
    #[error("{}: file not found", path.display())]
    NotFound { path: PathBuf },
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a valid gzip stream: {source}", path.display())]
    Gzip {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: file is empty", path.display())]
    Empty { path: PathBuf },
    #[error("{}: truncated header: {len} bytes, an IDX header needs {needed}", path.display())]
    TruncatedHeader {
        path: PathBuf,
        len: usize,
        needed: usize,
    },
    #[error("{}: this is an IDX labels file (magic 2049), but an images file (magic 2051) is expected here", path.display())]
    LabelsNotImages { path: PathBuf },
    #[error("{}: this is an IDX images file (magic 2051), but a labels file (magic 2049) is expected here", path.display())]
    ImagesNotLabels { path: PathBuf },
    #[error("{}: not an IDX {expected} file: magic number {found:#010x}, expected {expected_magic}", path.display())]
    BadMagic {
        path: PathBuf,
        found: u32,
        expected: &'static str,
        expected_magic: u32,
    },
    #[error("{}: header says {dims:?} ({expected} bytes of data) but the file holds {actual} bytes", path.display())]
    SizeMismatch {
        path: PathBuf,
        dims: Vec<u32>,
        expected: u128,
        actual: usize,
    },
    #[error("{}: {what}", path.display())]
    BadDimensions { path: PathBuf, what: String },
    #[error("{}: header claims {claimed} bytes of data, more than aelab loads ({} GiB)", path.display(), MAX_DATA_BYTES >> 30)]
    TooLarge { path: PathBuf, claimed: u128 },
}

/// Images as stored in the file: `count` images of `height` x `width` bytes, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Images {
    pub count: usize,
    pub height: usize,
    pub width: usize,
    pub pixels: Vec<u8>,
}

impl Images {
    /// Pixels of one image.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.height * self.width;
        &self.pixels[index * size..(index + 1) * size]
    }

    /// Keep only the first `n` images (all of them when `n` is larger).
    pub fn truncate(&mut self, n: usize) {
        self.count = self.count.min(n);
        self.pixels.truncate(self.count * self.height * self.width);
    }
}

/// Read an images file (magic 2051), raw or gzip.
pub fn read_images(path: &Path) -> Result<Images, IdxError> {
    let (file, len) = open(path)?;
    parse_images(path, file, len)
}

/// Read a labels file (magic 2049), raw or gzip.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    let (file, len) = open(path)?;
    parse_labels(path, file, len)
}

/// Parse an images file (magic 2051), raw or gzip, from any reader: what [`read_images`]
/// does after opening the file, for callers (tests, fuzzing) that hold bytes, not a file.
///
/// `name` only labels the errors. `len_hint` is the stream's total length when known (a
/// file's length): a raw file whose header disagrees with it is refused before its data is
/// read. Without it the result is the same, found while reading. Memory use is bounded by
/// the data actually present, whatever the header claims.
pub fn parse_images(
    name: &Path,
    reader: impl Read,
    len_hint: Option<u64>,
) -> Result<Images, IdxError> {
    let (dims, pixels) = parse(name, reader, len_hint, Kind::Images)?;
    let (count, height, width) = (dims[0] as usize, dims[1] as usize, dims[2] as usize);
    if count == 0 {
        return Err(IdxError::BadDimensions {
            path: name.to_owned(),
            what: "the file holds zero images".into(),
        });
    }
    if height == 0 || width == 0 {
        return Err(IdxError::BadDimensions {
            path: name.to_owned(),
            what: format!("images of {height}x{width} pixels have no pixels"),
        });
    }
    Ok(Images {
        count,
        height,
        width,
        pixels,
    })
}

/// Parse a labels file (magic 2049), raw or gzip, from any reader; see [`parse_images`].
pub fn parse_labels(
    name: &Path,
    reader: impl Read,
    len_hint: Option<u64>,
) -> Result<Vec<u8>, IdxError> {
    let (dims, labels) = parse(name, reader, len_hint, Kind::Labels)?;
    if dims[0] == 0 {
        return Err(IdxError::BadDimensions {
            path: name.to_owned(),
            what: "the file holds zero labels".into(),
        });
    }
    Ok(labels)
}

/// Write images as IDX, gzip-compressed when `gzip` is true.
pub fn write_images(path: &Path, images: &Images, gzip: bool) -> std::io::Result<()> {
    let dims = [images.count, images.height, images.width];
    write_idx(path, IMAGES_MAGIC, &dims, &images.pixels, gzip)
}

/// Write labels as IDX, gzip-compressed when `gzip` is true.
pub fn write_labels(path: &Path, labels: &[u8], gzip: bool) -> std::io::Result<()> {
    write_idx(path, LABELS_MAGIC, &[labels.len()], labels, gzip)
}

fn write_idx(
    path: &Path,
    magic: u32,
    dims: &[usize],
    data: &[u8],
    gzip: bool,
) -> std::io::Result<()> {
    let mut bytes = Vec::with_capacity(header_len(dims.len()) + data.len());
    bytes.extend_from_slice(&magic.to_be_bytes());
    for &dim in dims {
        let dim =
            u32::try_from(dim).map_err(|_| std::io::Error::other("IDX dimension over u32"))?;
        bytes.extend_from_slice(&dim.to_be_bytes());
    }
    bytes.extend_from_slice(data);
    if gzip {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(&bytes)?;
        bytes = encoder.finish()?;
    }
    crate::fsutil::write_atomic(path, &bytes)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

fn header_len(ndims: usize) -> usize {
    4 + 4 * ndims
}

/// Open a file for parsing, with its length when it is a regular file (a pipe or a device
/// reports no useful length).
fn open(path: &Path) -> Result<(fs::File, Option<u64>), IdxError> {
    let io_error = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => IdxError::NotFound {
            path: path.to_owned(),
        },
        _ => IdxError::Io {
            path: path.to_owned(),
            source,
        },
    };
    let file = fs::File::open(path).map_err(io_error)?;
    let meta = file.metadata().map_err(io_error)?;
    Ok((file, meta.is_file().then_some(meta.len())))
}

/// Sniff gzip by its first two bytes, then parse the (decoded) IDX stream.
fn parse(
    path: &Path,
    reader: impl Read,
    len_hint: Option<u64>,
    kind: Kind,
) -> Result<(Vec<u32>, Vec<u8>), IdxError> {
    // Set when the underlying reader fails, so that a read error under the gzip decoder
    // is reported as one (Io), not as a bad gzip stream.
    let source_failed = Cell::new(false);
    let mut source = Tracked {
        inner: reader,
        failed: &source_failed,
    };
    let io = |source| IdxError::Io {
        path: path.to_owned(),
        source,
    };
    let prefix = read_at_most(&mut source, GZIP_MAGIC.len()).map_err(io)?;
    if prefix.is_empty() {
        return Err(IdxError::Empty {
            path: path.to_owned(),
        });
    }
    let stream = prefix.as_slice().chain(source);
    if prefix != GZIP_MAGIC {
        return parse_idx(path, stream, len_hint, kind, io);
    }
    // The compressed length says little about the decoded length, so no hint here: the
    // data is read against the header's claim, with a cap (MAX_DATA_BYTES).
    let gzip = |source| match source_failed.get() {
        true => io(source),
        false => IdxError::Gzip {
            path: path.to_owned(),
            source,
        },
    };
    parse_idx(path, GzDecoder::new(stream), None, kind, gzip)
}

/// A reader that notes whether it ever failed.
struct Tracked<'a, R> {
    inner: R,
    failed: &'a Cell<bool>,
}

impl<R: Read> Read for Tracked<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let result = self.inner.read(buf);
        if matches!(&result, Err(e) if e.kind() != std::io::ErrorKind::Interrupted) {
            self.failed.set(true);
        }
        result
    }
}

/// Up to `n` bytes, fewer only at the end of the stream.
fn read_at_most(reader: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Check the magic number and that the dimensions account for every data byte; return the
/// dimensions and the data. The header is checked before any data is read, and the data is
/// read with a bound, so memory follows the data present, never the header's claim.
fn parse_idx(
    path: &Path,
    mut reader: impl Read,
    len_hint: Option<u64>,
    kind: Kind,
    io_error: impl Fn(std::io::Error) -> IdxError,
) -> Result<(Vec<u32>, Vec<u8>), IdxError> {
    let (expected_magic, ndims, name) = match kind {
        Kind::Images => (IMAGES_MAGIC, 3, "images"),
        Kind::Labels => (LABELS_MAGIC, 1, "labels"),
    };
    let needed = header_len(ndims);
    let mut header = read_at_most(&mut reader, 4).map_err(&io_error)?;
    if header.is_empty() {
        // Only a gzip stream that decodes to nothing gets here.
        return Err(IdxError::Empty {
            path: path.to_owned(),
        });
    }
    if header.len() < 4 {
        return Err(IdxError::TruncatedHeader {
            path: path.to_owned(),
            len: header.len(),
            needed,
        });
    }
    let magic = be_u32(&header[0..4]);
    match (kind, magic) {
        (Kind::Images, LABELS_MAGIC) => {
            return Err(IdxError::LabelsNotImages {
                path: path.to_owned(),
            });
        }
        (Kind::Labels, IMAGES_MAGIC) => {
            return Err(IdxError::ImagesNotLabels {
                path: path.to_owned(),
            });
        }
        _ if magic != expected_magic => {
            return Err(IdxError::BadMagic {
                path: path.to_owned(),
                found: magic,
                expected: name,
                expected_magic,
            });
        }
        _ => {}
    }
    header.extend(read_at_most(&mut reader, needed - 4).map_err(&io_error)?);
    if header.len() < needed {
        return Err(IdxError::TruncatedHeader {
            path: path.to_owned(),
            len: header.len(),
            needed,
        });
    }
    let dims: Vec<u32> = (0..ndims)
        .map(|i| be_u32(&header[4 + 4 * i..8 + 4 * i]))
        .collect();
    // u128 cannot overflow for three u32 factors.
    let expected: u128 = dims.iter().map(|&d| d as u128).product();
    let mismatch = |dims: Vec<u32>, actual: u128| IdxError::SizeMismatch {
        path: path.to_owned(),
        dims,
        expected,
        actual: usize::try_from(actual).unwrap_or(usize::MAX),
    };
    // A raw file's length tells, before reading a byte of data, whether the header is right.
    if let Some(len) = len_hint {
        let actual = len.saturating_sub(needed as u64);
        if u128::from(actual) != expected {
            return Err(mismatch(dims, actual.into()));
        }
    }
    if expected > MAX_DATA_BYTES as u128 {
        return Err(IdxError::TooLarge {
            path: path.to_owned(),
            claimed: expected,
        });
    }
    // Now `expected` fits in u64. With a length that agrees, reserve it all at once;
    // otherwise (gzip: a few bytes may claim gigabytes) let the buffer grow with the
    // data actually decoded. One byte past the claim detects trailing data.
    let capacity = match len_hint {
        Some(_) => usize::try_from(expected).unwrap_or(0),
        None => 0,
    };
    let mut data = Vec::with_capacity(capacity);
    (&mut reader)
        .take(expected as u64 + 1)
        .read_to_end(&mut data)
        .map_err(&io_error)?;
    if data.len() as u128 != expected {
        let mut actual = data.len() as u128;
        if actual > expected {
            // Count the rest without keeping it, to name the true size.
            actual +=
                u128::from(std::io::copy(&mut reader, &mut std::io::sink()).map_err(&io_error)?);
        }
        return Err(mismatch(dims, actual));
    }
    Ok((dims, data))
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}
