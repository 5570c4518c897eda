"""aelab's autoencoder in Keras 3 (TensorFlow-CPU backend), timed per step and per epoch.

    pip install tensorflow-cpu
    python3 benches/peers/keras_ae.py --images 2560 --val-images 640 --epochs 2

Same layers as src/model/{encoder,decoder}.rs, Keras' own defaults (which aelab copies):
BatchNormalization eps 1e-3 / momentum 0.99, RMSprop lr 1e-3 / rho 0.9 / eps 1e-7.
"""

import os
import time

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # keep TF's start-up chatter off stdout/stderr

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

from common import load_images, parse_args, report  # noqa: E402

POOLED = 2  # max pooling after the first two encoder blocks, upsampling after the last two decoder blocks


def build(n_layers, filters, k):
    x = inp = keras.Input((28, 28, 1))  # channels-last, Keras' default
    for i in range(n_layers):  # encoder: conv -> relu -> batchnorm, filters doubling
        x = layers.Conv2D(filters << i, k, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        if i < POOLED:
            x = layers.MaxPooling2D(2)(x)
    for i in range(n_layers):  # decoder: the mirror, filters halving back down to `filters`
        x = layers.Conv2D(filters << (n_layers - 1 - i), k, padding="same", activation="relu")(x)
        x = layers.BatchNormalization()(x)
        if i >= n_layers - POOLED:
            x = layers.UpSampling2D(2)(x)  # nearest, like aelab's
    out = layers.Conv2D(1, k, padding="same", activation="sigmoid")(x)
    return keras.Model(inp, out)


class Timer(keras.callbacks.Callback):
    """Per-step wall times. On the CPU each train_function call returns only when the step
    is done, so begin/end of a batch brackets the whole step (data included)."""

    def on_epoch_begin(self, epoch, logs=None):
        self.steps, self.epoch_start = [], time.perf_counter()

    def on_train_batch_begin(self, batch, logs=None):
        self.t = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append(time.perf_counter() - self.t)
        self.train_end = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):  # called after the validation pass
        now = time.perf_counter()
        report(epoch + 1, self.steps, self.train_end - self.epoch_start, now - self.epoch_start,
               logs["loss"], logs.get("val_loss", float("nan")))


def main():
    a = parse_args(__doc__)
    keras.utils.set_random_seed(a.seed)
    if a.threads:
        tf.config.threading.set_intra_op_parallelism_threads(a.threads)
        tf.config.threading.set_inter_op_parallelism_threads(a.threads)
    x = load_images(a.data, a.images + a.val_images)[..., None]
    train, valid = x[:a.images], x[a.images:]
    model = build(a.layers, a.filters, a.filter_size)
    model.compile(optimizer=keras.optimizers.RMSprop(learning_rate=1e-3, rho=0.9, epsilon=1e-7),
                  loss="mse")
    print(f"peer keras {keras.__version__} tensorflow {tf.__version__} "
          f"threads {tf.config.threading.get_intra_op_parallelism_threads() or os.cpu_count()} "
          f"params {model.count_params()}", flush=True)
    model.fit(train, train, batch_size=a.batch_size, epochs=a.epochs, shuffle=True, verbose=0,
              validation_data=(valid, valid) if len(valid) else None,
              validation_batch_size=256,  # aelab validates in batches of 256
              callbacks=[Timer()])


if __name__ == "__main__":
    main()
