//! PSNR and SSIM as scikit-image computes them, on MNIST digits and degraded copies of
//! them: against scikit-image itself where a python with it is found (CI installs it), and
//! everywhere against its values stored below.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use aelab::report::quality::{psnr, ssim};

/// scikit-image 0.26.0's `peak_signal_noise_ratio` and `structural_similarity` (both
/// `data_range=1`) of the pairs [`pairs`] makes, as Python printed them.
const SCIKIT_IMAGE: [(f64, f64); 3] = [
    (18.828565341933132, 0.5539654667206981),
    (18.857744401460412, 0.6778315775098842),
    (18.72229570214782, 0.3628116499199413),
];

/// Agreement allowed: scikit-image sums its windows with running sums, this a window at a
/// time, both in f64.
const TOLERANCE: f64 = 1e-9;

/// An image and its reconstruction, pixels in [0, 1].
type Pair = (Vec<f32>, Vec<f32>);

/// The first three MNIST test digits (their height and width), each with a copy dimmed,
/// lifted and given a fixed ripple, as a reconstruction might be.
fn pairs() -> (usize, usize, Vec<Pair>) {
    let images = common::mnist_images(3);
    let pairs = (0..3)
        .map(|index| {
            let target: Vec<f32> = images
                .image(index)
                .iter()
                .map(|&p| f32::from(p) / 255.0)
                .collect();
            let output = target
                .iter()
                .enumerate()
                .map(|(i, &t)| {
                    let ripple = ((i * 7919 + index * 31) % 13) as f32 - 6.0;
                    (t * 0.8 + 0.1 + ripple / 60.0).clamp(0.0, 1.0)
                })
                .collect();
            (target, output)
        })
        .collect();
    (images.height, images.width, pairs)
}

/// scikit-image's figures for `pairs`, or why they cannot be had here.
fn scikit_image(height: usize, width: usize, pairs: &[Pair]) -> Result<Vec<(f64, f64)>, String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = "import sys, numpy as np\n\
        from skimage.metrics import structural_similarity as ssim, peak_signal_noise_ratio as psnr\n\
        v = sys.stdin.read().split()\n\
        n, h, w = int(v[0]), int(v[1]), int(v[2])\n\
        d = np.array([float(x) for x in v[3:]], dtype=np.float64).reshape(n, 2, h, w)\n\
        for t, o in d: print(repr(float(psnr(t, o, data_range=1))), repr(float(ssim(t, o, data_range=1))))\n";
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{python}: {e}"))?;
    let mut input = format!("{} {height} {width}\n", pairs.len());
    for (target, output) in pairs {
        for value in target.iter().chain(output) {
            // f64's shortest form reads back as exactly this f32's value.
            input.push_str(&format!("{:?} ", f64::from(*value)));
        }
    }
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(format!(
            "{python} has no scikit-image ({})",
            stderr.trim().lines().last().unwrap_or("")
        ));
    }
    let stdout = String::from_utf8(output.stdout).unwrap();
    Ok(stdout
        .lines()
        .map(|line| {
            let mut figures = line.split_whitespace().map(|f| f.parse::<f64>().unwrap());
            (figures.next().unwrap(), figures.next().unwrap())
        })
        .collect())
}

fn ours() -> Vec<(f64, f64)> {
    let (height, width, pairs) = pairs();
    pairs
        .iter()
        .map(|(target, output)| (psnr(target, output), ssim(target, output, height, width)))
        .collect()
}

fn assert_close(ours: &[(f64, f64)], theirs: &[(f64, f64)], whose: &str) {
    assert_eq!(ours.len(), theirs.len());
    for (i, (a, b)) in ours.iter().zip(theirs).enumerate() {
        // Written so that NaN fails.
        let close = |x: f64, y: f64| (x - y).abs() <= TOLERANCE * y.abs().max(1.0);
        assert!(
            close(a.0, b.0) && close(a.1, b.1),
            "pair {i}: PSNR, SSIM {a:?}, {whose} {b:?}"
        );
    }
}

#[test]
fn psnr_and_ssim_match_the_stored_scikit_image_figures() {
    assert_close(&ours(), &SCIKIT_IMAGE, "scikit-image 0.26.0 (stored)");
}

#[test]
fn psnr_and_ssim_match_scikit_image() {
    let (height, width, pairs) = pairs();
    match scikit_image(height, width, &pairs) {
        Ok(theirs) => assert_close(&ours(), &theirs, "scikit-image"),
        Err(why) => common::skipped("psnr_and_ssim_match_scikit_image", &why),
    }
}
