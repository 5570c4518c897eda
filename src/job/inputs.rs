//! Reading and checking what a command is given, each check written once: data files
//! (given or bundled), images and labels (counts, label range, image size against a
//! model's card), model cards, the output folder. A bad input is refused now, in one line,
//! not after hours of training.

use std::fs;
use std::path::{Path, PathBuf};

use crate::data::idx::{self, Images};
use crate::error::{InputError, Result};
use crate::experiment::classifier::LabelledFiles;
use crate::experiment::source::fingerprint;
use crate::model::store::{self, Architecture, ModelCard, StoreError};

/// The bundled MNIST files, relative to the repository.
pub const BUNDLED_TRAIN_IMAGES: &str = "data/mnist/train-images-idx3-ubyte.gz";
pub const BUNDLED_TRAIN_LABELS: &str = "data/mnist/train-labels-idx1-ubyte.gz";
pub const BUNDLED_TEST_IMAGES: &str = "data/mnist/t10k-images-idx3-ubyte.gz";
pub const BUNDLED_TEST_LABELS: &str = "data/mnist/t10k-labels-idx1-ubyte.gz";

/// The source tree this binary was built from, where the bundled MNIST lies.
const SOURCE_TREE: &str = env!("CARGO_MANIFEST_DIR");

/// A data file: the one given, else the bundled MNIST file `relative` (see [find_bundled]).
/// An installed binary whose source tree is gone (or moved) finds none, and says to give
/// `flag`.
pub fn given_or_bundled(
    given: Option<PathBuf>,
    relative: &str,
    flag: &str,
) -> Result<PathBuf, InputError> {
    if let Some(path) = given {
        return Ok(path);
    }
    find_bundled(relative, Path::new(SOURCE_TREE)).ok_or_else(|| {
        InputError::new(format!(
            "no {flag} given, and the bundled MNIST file {relative} is in neither the working \
             folder nor the source tree aelab was built from ({SOURCE_TREE}): give {flag} FILE"
        ))
    })
}

/// A bundled data file: `relative` to the working folder if it is there, else to
/// `source_tree`, else none.
pub fn find_bundled(relative: &str, source_tree: &Path) -> Option<PathBuf> {
    [PathBuf::from(relative), source_tree.join(relative)]
        .into_iter()
        .find(|path| path.exists())
}

/// A saved model's card of kind `A`, checked now (weights are loaded on the device later);
/// its weights file must be there too. When the path was the default (`defaulted`), a
/// missing file gets a hint on how to make one.
pub fn saved_model<A: Architecture>(model_path: &Path, defaulted: bool) -> Result<ModelCard<A>> {
    let (mpk, json) = store::model_paths(model_path);
    let missing = |path: &Path| {
        let hint = if defaulted {
            format!(
                "; train one first with `aelab {}`, or give its file with --model",
                A::KIND.command()
            )
        } else {
            String::new()
        };
        InputError::new(format!("{}: file not found{hint}", path.display())).into()
    };
    if !mpk.exists() {
        return Err(missing(&mpk));
    }
    match store::read_card::<A>(&json) {
        Err(StoreError::NotFound { path }) => Err(missing(&path)),
        other => Ok(other?),
    }
}

/// A digest of a saved model's weights file, which names what a classifier starts from.
pub fn weights_fingerprint(model_path: &Path) -> Result<u64, InputError> {
    let (mpk, _) = store::model_paths(model_path);
    let bytes = fs::read(&mpk)
        .map_err(|e| InputError::new(format!("{}: cannot read: {e}", mpk.display())))?;
    Ok(fingerprint(bytes))
}

/// Images must be the size the model was trained on.
pub fn check_size_fits<A: Architecture>(
    images: &Images,
    path: &Path,
    card: &ModelCard<A>,
    model_path: &Path,
) -> Result<(), InputError> {
    if (images.height, images.width) != (card.height, card.width) {
        return Err(InputError::new(format!(
            "{}: images are {}x{}, but the {} {} was trained on {}x{} images",
            path.display(),
            images.height,
            images.width,
            A::KIND.noun(),
            model_path.display(),
            card.height,
            card.width
        )));
    }
    Ok(())
}

/// Every label in `labels_path` must be one of the `classes` that `source` knows.
pub fn check_labels_within(
    labels_path: &Path,
    labels: &[u8],
    classes: usize,
    source: &str,
) -> Result<(), InputError> {
    match labels
        .iter()
        .enumerate()
        .find(|&(_, &l)| usize::from(l) >= classes)
    {
        Some((index, &label)) => Err(InputError::new(format!(
            "{}: label {label} (item {index}) is not one of the {classes} classes of {source}",
            labels_path.display(),
        ))),
        None => Ok(()),
    }
}

/// The number of classes: the largest label plus one, at least 2.
pub fn class_count(labels: &[u8]) -> usize {
    labels
        .iter()
        .map(|&l| usize::from(l) + 1)
        .max()
        .unwrap_or(0)
        .max(2)
}

/// Load images and keep the first `limit`.
pub fn load_images(path: &Path, limit: Option<usize>) -> Result<Images> {
    let mut images = idx::read_images(path)?;
    if let Some(limit) = limit {
        images.truncate(limit);
    }
    Ok(images)
}

/// The images of `images` whose label (in `labels_path`) is one of `classes`, in order; at
/// least one must be.
pub fn of_classes(
    images: &Images,
    labels: &[u8],
    classes: &[u8],
    labels_path: &Path,
) -> Result<Images, InputError> {
    let kept: Vec<usize> = (0..images.count)
        .filter(|&i| classes.contains(&labels[i]))
        .collect();
    if kept.is_empty() {
        let classes: Vec<String> = classes.iter().map(u8::to_string).collect();
        return Err(InputError::new(format!(
            "{}: no image is of class {} (--classes)",
            labels_path.display(),
            classes.join(" or ")
        )));
    }
    Ok(Images {
        count: kept.len(),
        height: images.height,
        width: images.width,
        pixels: kept
            .iter()
            .flat_map(|&i| images.image(i).iter().copied())
            .collect(),
    })
}

/// Images and their labels, the first `limit` of each.
pub fn load_labelled(
    images_path: PathBuf,
    labels_path: PathBuf,
    limit: Option<usize>,
) -> Result<LabelledFiles> {
    let images = load_images(&images_path, limit)?;
    let labels = load_labels(&labels_path, &images, &images_path, limit)?;
    Ok(LabelledFiles {
        images_path,
        images,
        labels_path,
        labels,
    })
}

/// Load the labels of `images` (read from `images_path`), keep the first `limit`, and check
/// there is one per image.
pub fn load_labels(
    path: &Path,
    images: &Images,
    images_path: &Path,
    limit: Option<usize>,
) -> Result<Vec<u8>> {
    let mut labels = idx::read_labels(path)?;
    if let Some(limit) = limit {
        labels.truncate(limit);
    }
    if labels.len() != images.count {
        return Err(InputError::new(format!(
            "{}: {} labels for the {} images of {}",
            path.display(),
            labels.len(),
            images.count,
            images_path.display()
        ))
        .into());
    }
    Ok(labels)
}

pub fn check_enough_to_split(images: &Images, path: &Path) -> Result<(), InputError> {
    if images.count < 2 {
        return Err(InputError::new(format!(
            "{}: {} image(s) to use; training needs at least 2 (one to train, one to validate)",
            path.display(),
            images.count
        )));
    }
    Ok(())
}

/// Make the output folder and prove it writable now, not after hours of training.
pub fn prepare_output_folder(out: &Path) -> Result<(), InputError> {
    let unwritable = |e: std::io::Error| {
        InputError::new(format!("{}: cannot write results here: {e}", out.display()))
    };
    fs::create_dir_all(out).map_err(unwritable)?;
    let probe = crate::fsutil::temp_path_for(&out.join("write-check"));
    fs::write(&probe, b"").map_err(unwritable)?;
    fs::remove_file(&probe).map_err(unwritable)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundled_data_is_found_in_the_working_folder_or_the_source_tree() {
        let tree = tempfile::tempdir().unwrap();
        let relative = "data/mnist/no-such-file-here.gz";
        assert_eq!(find_bundled(relative, tree.path()), None);
        std::fs::create_dir_all(tree.path().join("data/mnist")).unwrap();
        std::fs::write(tree.path().join(relative), b"").unwrap();
        assert_eq!(
            find_bundled(relative, tree.path()),
            Some(tree.path().join(relative))
        );
        // The working folder's copy comes first, as a relative path.
        assert_eq!(
            find_bundled("Cargo.toml", tree.path()),
            Some(PathBuf::from("Cargo.toml"))
        );
    }
}
