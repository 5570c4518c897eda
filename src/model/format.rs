//! The model format: one number for everything that decides how a saved model or a
//! checkpoint goes on training, written into both (a model's card, a checkpoint's
//! identity), so that one made by an aelab that would train it differently is refused
//! instead of continued into a run that matches neither aelab.

/// Bump it when the same flags would train differently from a saved model or checkpoint:
/// the weights drawn from a seed, the split and shuffle, the augmentation, noise and
/// dropout draws, the records' layout, or the training arithmetic. The test below notices
/// the first five by themselves; the arithmetic needs the author's word, since a kernel's
/// last bits differ between machines (see README, "Reproducible to the bit").
pub const MODEL_FORMAT: u32 = 2;

#[cfg(test)]
mod tests {
    use burn::backend::Flex;
    use burn::module::Module;

    use super::MODEL_FORMAT;
    use crate::data::augment::{Augment, Inputs, batch_stream};
    use crate::data::dataset::Split;
    use crate::data::idx::Images;
    use crate::experiment::source::fingerprint;
    use crate::model::seeded::init_seeded;
    use crate::model::{AutoencoderConfig, ClassifierConfig, ConvStack};
    use crate::train::checkpoint::record_bytes;
    use crate::train::classifier::dropout_mask;

    /// The digest of what each format draws and writes, one entry per format: a new entry
    /// goes with each bump, and no two formats may share one. Format 2: the autoencoder's
    /// record has a `code` field (none unless `--code`).
    const FORMATS: &[(u32, u64)] = &[(1, 0xb352_7f5e_e12b_2f71), (2, 0xddc1_212f_19eb_d2fd)];

    /// What a tiny run draws and writes: the seeded weights of an autoencoder and of a
    /// classifier on its encoder, as their records' bytes; the split; a batch's moves and
    /// noise (to 1/255, a pixel's step, so that the last bit of a `sin` cannot matter); and
    /// a dropout mask.
    fn digest() -> u64 {
        let device = Default::default();
        let stack = ConvStack {
            layers: 2,
            filter_size: 3,
            filters: 2,
        };
        let autoencoder =
            init_seeded::<_, Flex>(&AutoencoderConfig::convolutional(stack), 7, &device);
        let classifier = ClassifierConfig {
            encoder: stack,
            fc_units: 4,
            classes: 3,
            height: 8,
            width: 8,
        };
        let classifier = classifier.on_encoder::<Flex>(autoencoder.encoder.clone(), 7, &device);
        let mut bytes = record_bytes::<Flex, _>(autoencoder.into_record());
        bytes.extend(record_bytes::<Flex, _>(classifier.into_record()));

        let split = Split::new(20, 7);
        bytes.extend(split.train.iter().chain(&split.valid).map(|&i| i as u8));

        let images = Images {
            count: 2,
            height: 8,
            width: 8,
            pixels: (0..128).map(|i| (i * 37 % 256) as u8).collect(),
        };
        let inputs = Inputs {
            augment: Augment {
                shift: 0.2,
                rotation: 15.0,
                zoom: 0.1,
            },
            noise: 0.3,
        };
        let mut stream = batch_stream(7, 1, 0);
        let batch = inputs.batch(&images, &[1, 0], &mut stream);
        let pixel_steps = |pixels: Vec<f32>| pixels.into_iter().map(|p| (p * 255.0).round() as u8);
        bytes.extend(pixel_steps(batch.clean.clone()));
        bytes.extend(pixel_steps(batch.input()));

        let mask = dropout_mask::<Flex>(3, 8, 0.5, &mut stream, &device);
        bytes.extend(mask.into_data().iter::<f32>().map(|kept| kept as u8));
        fingerprint(bytes)
    }

    #[test]
    fn what_a_run_draws_and_writes_changes_only_with_the_model_format() {
        let digest = digest();
        match FORMATS.iter().find(|(format, _)| *format == MODEL_FORMAT) {
            None => panic!("add ({MODEL_FORMAT}, {digest:#x}) to FORMATS"),
            Some(&(_, known)) => assert_eq!(
                known,
                digest,
                "what a run draws from a seed or writes has changed (digest {digest:#x}): if \
                 that was meant, bump MODEL_FORMAT to {next} and add ({next}, {digest:#x}) to \
                 FORMATS",
                next = MODEL_FORMAT + 1
            ),
        }
        assert_eq!(
            FORMATS.last().map(|&(format, _)| format),
            Some(MODEL_FORMAT)
        );
        for (i, (format, digest)) in FORMATS.iter().enumerate() {
            assert!(
                FORMATS[..i].iter().all(|(f, d)| f < format && d != digest),
                "format {format}: each format has its own, larger number and digest"
            );
        }
    }
}
