//! Per-epoch checkpoints, so a run of many hours survives a crash, a kill or Ctrl-C: after
//! every finished epoch the whole state of the run (weights, optimizer state, epochs done,
//! history, shuffle position, time so far) is written to one file, atomically, and a later
//! run of the same identity continues from it with the same losses.
//!
//! One file, so that a kill at any moment leaves the previous checkpoint or the new one,
//! never a mix: `AELABCKPT1\n`, the header's length (8 bytes, little-endian), the header
//! (JSON), then the model's and the optimizer's records (burn's named MessagePack), and
//! the stage's best weights so far when it keeps its best epoch.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::prelude::*;
use burn::record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::EpochStats;
use super::stage::{StageEnd, StageState};
use crate::data::dataset::Rng;
use crate::exit::{InputError, WriteError};
use crate::fsutil;
use crate::model::canonical::sorted_maps;

const MAGIC: &[u8] = b"AELABCKPT1\n";

/// What a checkpoint belongs to: every setting that decides the run's losses, as named
/// values in a fixed order (the model format, the kind, the run, the data's fingerprint,
/// the seed, the device, ...). A checkpoint is resumed only by a run of an equal identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity(pub Vec<(String, String)>);

/// The identity's first field: [`crate::model::format::MODEL_FORMAT`].
pub const MODEL_FORMAT_FIELD: &str = "model format";

impl Identity {
    /// The identity as this aelab writes it. aelab 0.1.0 wrote its version where the model
    /// format is now (its checkpoints are format 1) and named the data and the encoder by
    /// their paths, which no longer count; the fingerprints it lacked stay missing. Format
    /// 2 only gave the autoencoder's record a `code`, which a format-1 record lacks and so
    /// loads as none: a format-1 checkpoint goes on as format 2.
    fn upgraded(&self) -> Identity {
        let fields = self
            .0
            .iter()
            .filter_map(|(name, value)| match name.as_str() {
                "aelab version" if value == "0.1.0" => {
                    Some((MODEL_FORMAT_FIELD.into(), "2".into()))
                }
                MODEL_FORMAT_FIELD if value == "1" => Some((MODEL_FORMAT_FIELD.into(), "2".into())),
                "data" | "encoder" => None,
                _ => Some((name.clone(), value.clone())),
            });
        Identity(fields.collect())
    }

    /// The first setting in which `self` (the checkpoint's) differs from `run`'s, said as
    /// "written for seed 13, this run has seed 7".
    fn difference(&self, run: &Identity) -> Option<String> {
        let written = self.upgraded();
        let value = |id: &Identity, name: &str| {
            id.0.iter()
                .find(|(n, _)| n == name)
                .map_or_else(|| "none".to_string(), |(_, v)| v.clone())
        };
        let names = run.0.iter().chain(&written.0).map(|(name, _)| name);
        names
            .into_iter()
            .find(|name| value(&written, name) != value(run, name))
            .map(|name| {
                format!(
                    "it was written for {name} {}, this run has {name} {}",
                    value(&written, name),
                    value(run, name)
                )
            })
    }
}

/// The epoch loop's position after a finished epoch.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Position<M> {
    pub epochs_done: usize,
    pub epochs_total: usize,
    /// Wall time of the run's parts so far.
    pub train_seconds: f64,
    pub history: Vec<EpochStats<M>>,
    /// The shuffling generator and the order it left the training images in.
    pub rng: Rng,
    pub order: Vec<usize>,
    /// The stages finished, and the one in progress (its rate, best epoch, patience).
    /// Checkpoints written before aelab had these ran every stage to its end.
    #[serde(default)]
    pub stages: Vec<StageEnd>,
    #[serde(default)]
    pub stage: Option<StageState>,
}

#[derive(Serialize, Deserialize)]
struct Header<M> {
    identity: Identity,
    position: Position<M>,
    model_bytes: usize,
    optimizer_bytes: usize,
    #[serde(default)]
    best_bytes: usize,
}

/// A checkpoint's records, as bytes: the model, the optimizer's state, and the stage's best
/// weights so far when it keeps its best epoch.
pub struct Records {
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
    pub best: Option<Vec<u8>>,
}

/// A run's checkpoint file and the identity it must have.
#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub path: PathBuf,
    pub identity: Identity,
}

/// A checkpoint read back: where the run was, and its records, still as bytes (the kind
/// knows what model to load them into).
pub struct Saved<M> {
    pub position: Position<M>,
    pub model: Vec<u8>,
    pub optimizer: Vec<u8>,
    pub best: Option<Vec<u8>>,
}

/// What is at a run's checkpoint path before the run starts.
#[derive(Debug, PartialEq)]
pub enum OnDisk {
    Nothing,
    /// A checkpoint of this run, `done` of `total` epochs finished.
    Resumable {
        done: usize,
        total: usize,
    },
    /// A checkpoint that another run wrote (other settings, data or model format): why.
    OtherRun(String),
}

fn recorder() -> NamedMpkBytesRecorder<FullPrecisionSettings> {
    NamedMpkBytesRecorder::new()
}

/// The bytes of any burn record (a module's, an optimizer's), the same for the same record:
/// an optimizer's state is a hash map, which burn writes in an order drawn per process.
pub fn record_bytes<B: Backend, R: Record<B>>(record: R) -> Vec<u8> {
    let bytes = Recorder::<B>::record(&recorder(), record, ())
        .expect("serialising a record in memory cannot fail");
    sorted_maps(&bytes)
}

/// A record from bytes that [`record_bytes`] made.
pub fn record_from<B: Backend, R: Record<B>>(
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<R, String> {
    Recorder::<B>::load(&recorder(), bytes, device).map_err(|e| e.to_string())
}

/// `fresh` (a model of the checkpoint's architecture) with the saved weights.
pub fn load_module<B: Backend, M: Module<B>>(
    fresh: M,
    bytes: Vec<u8>,
    device: &B::Device,
) -> Result<M, String> {
    let record = record_from::<B, M::Record>(bytes, device)?;
    Ok(fresh.load_record(record))
}

impl Checkpoint {
    /// `DIR/checkpoints/RUN.ckpt`.
    pub fn in_folder(out: &Path, run_name: &str, identity: Identity) -> Self {
        Self {
            path: out.join("checkpoints").join(format!("{run_name}.ckpt")),
            identity,
        }
    }

    /// Write the run's state after a finished epoch, replacing the last checkpoint only
    /// once the new one is complete on disk.
    pub fn save<M: Serialize + Clone>(
        &self,
        position: &Position<M>,
        records: &Records,
    ) -> Result<(), WriteError> {
        let best: &[u8] = records.best.as_deref().unwrap_or_default();
        let header = Header {
            identity: self.identity.clone(),
            position: position.clone(),
            model_bytes: records.model.len(),
            optimizer_bytes: records.optimizer.len(),
            best_bytes: best.len(),
        };
        let header = serde_json::to_vec(&header).expect("a checkpoint header always serialises");
        let records_length = records.model.len() + records.optimizer.len() + best.len();
        let mut bytes = Vec::with_capacity(MAGIC.len() + 8 + header.len() + records_length);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&header);
        bytes.extend_from_slice(&records.model);
        bytes.extend_from_slice(&records.optimizer);
        bytes.extend_from_slice(best);
        let cannot = |e: std::io::Error| WriteError::new(&self.path, "write checkpoint", e);
        if let Some(folder) = self.path.parent() {
            fs::create_dir_all(folder).map_err(cannot)?;
        }
        fsutil::write_atomic(&self.path, &bytes).map_err(cannot)?;
        self.remove_killed_writes();
        Ok(())
    }

    /// A process killed while writing this checkpoint left its temp file (megabytes each):
    /// remove those of other processes.
    fn remove_killed_writes(&self) {
        let (Some(folder), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        let ours = fsutil::temp_path_for(&self.path);
        let suffix = format!("-{}", name.to_string_lossy());
        for entry in fs::read_dir(folder).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if file.starts_with(".partial-") && file.ends_with(&suffix) && entry.path() != ours {
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    /// Epochs finished in the checkpoint at `path`, whoever wrote it; `None` if there is no
    /// readable checkpoint there.
    pub fn epochs_done(path: &Path) -> Option<usize> {
        let any = Self {
            path: path.to_owned(),
            identity: Identity(Vec::new()),
        };
        let (header, _) = any.read_header::<serde::de::IgnoredAny>().ok()?;
        Some(header.position.epochs_done)
    }

    /// Whether a checkpoint is there, and whether it is this run's.
    pub fn find(&self) -> Result<OnDisk, InputError> {
        if !self.path.exists() {
            return Ok(OnDisk::Nothing);
        }
        let (header, _) = self.read_header::<serde::de::IgnoredAny>()?;
        Ok(match header.identity.difference(&self.identity) {
            Some(why) => OnDisk::OtherRun(why),
            None => OnDisk::Resumable {
                done: header.position.epochs_done,
                total: header.position.epochs_total,
            },
        })
    }

    /// Read this run's checkpoint; one that another run wrote is refused.
    pub fn load<M: DeserializeOwned>(&self) -> Result<Saved<M>, InputError> {
        let (header, mut rest) = self.read_header::<M>()?;
        if let Some(why) = header.identity.difference(&self.identity) {
            return Err(self.problem(&format!("not this run's checkpoint: {why}")));
        }
        if rest.len() != header.model_bytes + header.optimizer_bytes + header.best_bytes {
            return Err(self.problem("damaged checkpoint: its records are cut short"));
        }
        let best = rest.split_off(header.model_bytes + header.optimizer_bytes);
        let optimizer = rest.split_off(header.model_bytes);
        Ok(Saved {
            position: header.position,
            model: rest,
            optimizer,
            best: (!best.is_empty()).then_some(best),
        })
    }

    /// Remove the checkpoint (the run is recorded); a missing one is fine.
    pub fn remove(&self) -> Result<(), WriteError> {
        match fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(WriteError::new(&self.path, "remove checkpoint", e))
            }
            _ => {
                // The folder goes too once the last checkpoint in it is gone.
                if let Some(folder) = self.path.parent() {
                    let _ = fs::remove_dir(folder);
                }
                Ok(())
            }
        }
    }

    fn problem(&self, what: &str) -> InputError {
        InputError::new(what).in_file(&self.path)
    }

    /// The header, and the bytes after it.
    fn read_header<M: DeserializeOwned>(&self) -> Result<(Header<M>, Vec<u8>), InputError> {
        let mut bytes = Vec::new();
        fs::File::open(&self.path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(|e| self.problem(&format!("cannot read checkpoint: {e}")))?;
        let not_one = || self.problem("not an aelab checkpoint");
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(not_one)?;
        let (length, rest) = rest.split_first_chunk::<8>().ok_or_else(not_one)?;
        let length = usize::try_from(u64::from_le_bytes(*length)).map_err(|_| not_one())?;
        if rest.len() < length {
            return Err(self.problem("damaged checkpoint: its header is cut short"));
        }
        let header: Header<M> = serde_json::from_slice(&rest[..length])
            .map_err(|e| self.problem(&format!("damaged checkpoint: {e}")))?;
        Ok((header, rest[length..].to_vec()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::train::NoMetrics;

    fn identity(seed: &str) -> Identity {
        Identity(vec![
            ("run".into(), "L2_FS3_FL4_E4_B32".into()),
            ("seed".into(), seed.into()),
        ])
    }

    fn position() -> Position<NoMetrics> {
        Position {
            epochs_done: 2,
            epochs_total: 4,
            train_seconds: 1.5,
            history: vec![],
            rng: Rng::new(7),
            order: vec![3, 1, 2],
            stages: vec![],
            stage: None,
        }
    }

    fn records(best: Option<&[u8]>) -> Records {
        Records {
            model: b"model".to_vec(),
            optimizer: b"optim".to_vec(),
            best: best.map(<[u8]>::to_vec),
        }
    }

    #[test]
    fn a_checkpoint_reads_back_and_refuses_another_run() {
        let dir = tempfile::tempdir().unwrap();
        let mine = Checkpoint::in_folder(dir.path(), "L2_FS3_FL4_E4_B32", identity("13"));
        assert_eq!(mine.find().unwrap(), OnDisk::Nothing);
        mine.save(&position(), &records(None)).unwrap();
        assert_eq!(
            mine.find().unwrap(),
            OnDisk::Resumable { done: 2, total: 4 }
        );
        let saved = mine.load::<NoMetrics>().unwrap();
        assert_eq!(saved.position, position());
        assert_eq!(
            (saved.model.as_slice(), saved.optimizer.as_slice()),
            (&b"model"[..], &b"optim"[..])
        );
        assert_eq!(saved.best, None);
        mine.save(&position(), &records(Some(b"best"))).unwrap();
        let saved = mine.load::<NoMetrics>().unwrap();
        assert_eq!(saved.optimizer, b"optim");
        assert_eq!(saved.best.as_deref(), Some(&b"best"[..]));

        let other = Checkpoint {
            identity: identity("7"),
            ..mine.clone()
        };
        let OnDisk::OtherRun(why) = other.find().unwrap() else {
            panic!("another run's checkpoint was taken as this one's");
        };
        assert_eq!(why, "it was written for seed 13, this run has seed 7");
        assert!(other.load::<NoMetrics>().is_err());

        // A write killed half-way by another process is cleared by the next save.
        let killed = dir
            .path()
            .join("checkpoints/.partial-1-L2_FS3_FL4_E4_B32.ckpt");
        fs::write(&killed, b"half a checkpoint").unwrap();
        mine.save(&position(), &records(None)).unwrap();
        assert!(!killed.exists());

        mine.remove().unwrap();
        assert!(!dir.path().join("checkpoints").exists());
    }

    #[test]
    fn a_checkpoint_of_aelab_0_1_0_or_of_format_1_goes_on_and_its_paths_no_longer_count() {
        let field = |name: &str, value: &str| (name.to_string(), value.to_string());
        let written = Identity(vec![
            field("aelab version", "0.1.0"),
            field("data", "old/path/imgs.gz"),
            field("seed", "13"),
        ]);
        let format = |n: &str| Identity(vec![field(MODEL_FORMAT_FIELD, n), field("seed", "13")]);
        // Format 1 goes on as format 2 (which only added the autoencoder's code).
        assert_eq!(written.difference(&format("2")), None);
        assert_eq!(format("1").difference(&format("2")), None);
        assert_eq!(
            written.difference(&format("3")).unwrap(),
            "it was written for model format 2, this run has model format 3"
        );
    }

    #[test]
    fn a_damaged_checkpoint_is_refused_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let mine = Checkpoint::in_folder(dir.path(), "run", identity("13"));
        mine.save(&position(), &records(None)).unwrap();
        let bytes = fs::read(&mine.path).unwrap();
        fs::write(&mine.path, &bytes[..bytes.len() - 3]).unwrap();
        let err = mine.load::<NoMetrics>().err().unwrap().0;
        assert!(err.contains("run.ckpt: damaged checkpoint"), "{err}");
        fs::write(&mine.path, b"something else").unwrap();
        assert!(
            mine.find()
                .unwrap_err()
                .0
                .contains("not an aelab checkpoint")
        );
    }
}
