//! IDX files (the MNIST format): unsigned-byte images (magic 2051) and labels (magic 2049),
//! raw or gzip-compressed; gzip is recognised by its first two bytes, not the file name.

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
    let bytes = read_decompressed(path)?;
    let dims = parse_header(path, &bytes, Kind::Images)?;
    let (count, height, width) = (dims[0] as usize, dims[1] as usize, dims[2] as usize);
    if count == 0 {
        return Err(IdxError::BadDimensions {
            path: path.to_owned(),
            what: "the file holds zero images".into(),
        });
    }
    if height == 0 || width == 0 {
        return Err(IdxError::BadDimensions {
            path: path.to_owned(),
            what: format!("images of {height}x{width} pixels have no pixels"),
        });
    }
    let data_start = header_len(3);
    Ok(Images {
        count,
        height,
        width,
        pixels: bytes[data_start..].to_vec(),
    })
}

/// Read a labels file (magic 2049), raw or gzip.
pub fn read_labels(path: &Path) -> Result<Vec<u8>, IdxError> {
    let bytes = read_decompressed(path)?;
    let dims = parse_header(path, &bytes, Kind::Labels)?;
    if dims[0] == 0 {
        return Err(IdxError::BadDimensions {
            path: path.to_owned(),
            what: "the file holds zero labels".into(),
        });
    }
    Ok(bytes[header_len(1)..].to_vec())
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

fn read_decompressed(path: &Path) -> Result<Vec<u8>, IdxError> {
    let raw = fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => IdxError::NotFound {
            path: path.to_owned(),
        },
        _ => IdxError::Io {
            path: path.to_owned(),
            source,
        },
    })?;
    if raw.is_empty() {
        return Err(IdxError::Empty {
            path: path.to_owned(),
        });
    }
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    GzDecoder::new(raw.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| IdxError::Gzip {
            path: path.to_owned(),
            source,
        })?;
    if out.is_empty() {
        return Err(IdxError::Empty {
            path: path.to_owned(),
        });
    }
    Ok(out)
}

/// Check the magic number and that the dimensions account for every data byte; return them.
fn parse_header(path: &Path, bytes: &[u8], kind: Kind) -> Result<Vec<u32>, IdxError> {
    let (expected_magic, ndims, name) = match kind {
        Kind::Images => (IMAGES_MAGIC, 3, "images"),
        Kind::Labels => (LABELS_MAGIC, 1, "labels"),
    };
    if bytes.len() < 4 {
        return Err(IdxError::TruncatedHeader {
            path: path.to_owned(),
            len: bytes.len(),
            needed: header_len(ndims),
        });
    }
    let magic = be_u32(&bytes[0..4]);
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
    let needed = header_len(ndims);
    if bytes.len() < needed {
        return Err(IdxError::TruncatedHeader {
            path: path.to_owned(),
            len: bytes.len(),
            needed,
        });
    }
    let dims: Vec<u32> = (0..ndims)
        .map(|i| be_u32(&bytes[4 + 4 * i..8 + 4 * i]))
        .collect();
    // u128 cannot overflow for three u32 factors.
    let expected: u128 = dims.iter().map(|&d| d as u128).product();
    let actual = bytes.len() - needed;
    if expected != actual as u128 {
        return Err(IdxError::SizeMismatch {
            path: path.to_owned(),
            dims,
            expected,
            actual,
        });
    }
    Ok(dims)
}

fn be_u32(bytes: &[u8]) -> u32 {
    u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]])
}
