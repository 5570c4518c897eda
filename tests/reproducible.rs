//! The same flags on the same device give the same run to the bit while the machine is busy:
//! every epoch's losses and accuracies, every weight, and the model file byte for byte. Two
//! threads spin on the cores throughout, so rayon's workers are preempted and steal work in
//! a different pattern each run (which changed the validation loss before the flex kernels'
//! reductions were given a fixed order). LibTorch's CPU kernels: tests/libtorch.rs.

mod common;

use aelab::data::augment::Inputs;
use aelab::model::{AutoencoderConfig, ConvStack};
use aelab::train::Schedule;
use aelab::train::classifier::Labelled;
use aelab::train::stage::Controls;
use burn::backend::{Autodiff, Flex};
use common::backends::{self, assert_reproducible};

/// Three layers: both poolings, both upsamplings, BatchNorm everywhere; a few filters.
const SMALL: AutoencoderConfig = AutoencoderConfig::convolutional(ConvStack {
    layers: 3,
    filter_size: 3,
    filters: 4,
});

const SCHEDULE: Schedule = Schedule {
    epochs: 2,
    batch_size: 32,
    seed: 7,
    learning_rate: aelab::train::LEARNING_RATE,
    controls: Controls::REPORT,
    inputs: Inputs::NONE,
};

#[test]
fn an_autoencoder_trains_to_the_bit_the_same_on_a_busy_machine() {
    let images = common::mnist_images(320);
    assert_reproducible(|| {
        backends::autoencoder::<Autodiff<Flex>>(
            &SMALL.stack,
            &SCHEDULE,
            &images,
            &Default::default(),
        )
    });
}

#[test]
fn a_classifier_trains_to_the_bit_the_same_on_a_busy_machine() {
    let (images, labels) = (common::mnist_images(320), common::mnist_labels(320));
    let data = Labelled {
        images: &images,
        labels: &labels,
    };
    assert_reproducible(|| {
        backends::classifier::<Autodiff<Flex>>(
            &SMALL.stack,
            16,
            SCHEDULE,
            data,
            &Default::default(),
        )
    });
}
