//! Image grids: validation images over their reconstructions, and test images with their
//! predicted and actual classes.

use std::path::Path;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::canvas::{FONT, draw_image, draw_png, draw_title, font, image_scale, images};
use crate::exit::WriteError;

/// Validation images a reconstruction grid shows.
pub const RECONSTRUCTIONS_SHOWN: usize = 10;

/// Rows of images, one row per (label, pixels in [0, 1]) pair: originals over their
/// reconstructions, or a denoiser's noisy inputs, targets and outputs.
pub fn reconstruction_grid(
    path: &Path,
    title: &str,
    rows: &[(&str, &[f32])],
    height: usize,
    width: usize,
) -> Result<(), WriteError> {
    let count = rows
        .first()
        .map_or(0, |(_, pixels)| images(pixels, height, width).len());
    let scale = image_scale(height, width);
    let (cell_w, cell_h) = (width * scale + 8, height * scale + 8);
    let (label_w, title_h) = (170, 50);
    let size = (
        (label_w + count * cell_w + 10) as u32,
        (title_h + rows.len() * cell_h + 10) as u32,
    );
    // Ink on paper: 1 is a full stroke, drawn black.
    let shade = |v: f32| 255 - (v.clamp(0.0, 1.0) * 255.0).round() as u8;
    draw_png(path, "draw image grid", size, |root| {
        draw_title(root, title)?;
        for (row, &(label, pixels)) in rows.iter().enumerate() {
            let top = title_h + row * cell_h;
            root.draw(&Text::new(
                label.to_string(),
                (10, (top + cell_h / 2 - 8) as i32),
                (FONT, 18).into_font(),
            ))?;
            for (i, image) in images(pixels, height, width).take(count).enumerate() {
                draw_image(
                    root,
                    image,
                    width,
                    (label_w + i * cell_w, top),
                    scale,
                    shade,
                )?;
            }
        }
        Ok(())
    })
}

/// Most images a prediction grid shows, and its columns.
pub const PREDICTIONS_SHOWN: usize = 12;
const GRID_COLUMNS: usize = 4;

/// Up to 12 images (the rest are left out) in a grid of 4 columns, each with its caption above
/// it (e.g. "Predicted 3, Class 5"), title across the top. `pixels` holds the images' bytes
/// back to back (0 = background, drawn black on white), each `height` x `width`; one caption
/// per image (images without a caption are left out). With no images it draws the title and
/// "none": a run can have no incorrect predictions.
pub fn prediction_grid(
    path: &Path,
    title: &str,
    pixels: &[u8],
    height: usize,
    width: usize,
    captions: &[String],
) -> Result<(), WriteError> {
    let caption_font = font(16);
    let count = images(pixels, height, width)
        .len()
        .min(captions.len())
        .min(PREDICTIONS_SHOWN);
    let scale = image_scale(height, width);
    // Wide enough for the usual captions, wider for long ones, so neighbours never overlap.
    let widest_caption = captions[..count]
        .iter()
        .map(|c| caption_font.box_size(c).map_or(0, |(w, _)| w as usize))
        .max()
        .unwrap_or(0);
    let cell_w = (width * scale).max(widest_caption).max(200) + 20;
    let (caption_h, title_h) = (24, 50);
    let cell_h = caption_h + height * scale + 18;
    let body_h = match count.div_ceil(GRID_COLUMNS) {
        0 => 40, // the line "none"
        rows => rows * cell_h,
    };
    let size = (
        (20 + GRID_COLUMNS * cell_w) as u32,
        (title_h + body_h + 10) as u32,
    );
    draw_png(path, "draw image grid", size, |root| {
        draw_title(root, title)?;
        if count == 0 {
            root.draw(&Text::new(
                "none",
                (10, title_h as i32),
                (FONT, 20).into_font(),
            ))?;
        }
        let centred = caption_font
            .color(&BLACK)
            .pos(Pos::new(HPos::Center, VPos::Top));
        let cells = images(pixels, height, width).zip(captions).take(count);
        for (i, (image, caption)) in cells.enumerate() {
            let left = 10 + (i % GRID_COLUMNS) * cell_w;
            let top = title_h + (i / GRID_COLUMNS) * cell_h;
            let centre = (left + cell_w / 2) as i32;
            root.draw(&Text::new(
                caption.as_str(),
                (centre, top as i32),
                centred.clone(),
            ))?;
            let image_left = left + (cell_w - width * scale) / 2;
            draw_image(
                root,
                image,
                width,
                (image_left, top + caption_h),
                scale,
                |v| 255 - v,
            )?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::canvas::tests::png_size;

    /// `count` 28x28 images, image `i` a vertical bar of ink in column `i`.
    fn bars(count: usize) -> (Vec<u8>, Vec<String>) {
        let mut pixels = vec![0u8; count * 28 * 28];
        for i in 0..count {
            for y in 0..28 {
                pixels[i * 784 + y * 28 + 4 + i] = 255;
            }
        }
        let captions = (0..count)
            .map(|i| format!("Predicted {}, Class {}", i % 10, (i + 3) % 10))
            .collect();
        (pixels, captions)
    }

    #[test]
    fn prediction_grid_with_twelve_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("incorrect.png");
        let (pixels, captions) = bars(12);
        prediction_grid(&path, "Incorrect predictions", &pixels, 28, 28, &captions).unwrap();
        // 4 columns of 220 pixels; a 50-pixel title and 3 rows of 24 + 112 + 18.
        assert_eq!(png_size(&path), (900, 522));
        // The first image's ink (column 4, scale 4) is black; its background is white.
        let image = image::open(&path).unwrap().to_rgb8();
        let image_left = 10 + (220 - 112) / 2;
        assert_eq!(
            image
                .get_pixel(image_left as u32 + 4 * 4 + 1, 50 + 24 + 50)
                .0,
            [0, 0, 0]
        );
        assert_eq!(
            image.get_pixel(image_left as u32 + 1, 50 + 24 + 50).0,
            [255, 255, 255]
        );
    }

    #[test]
    fn prediction_grid_with_no_images_says_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("none.png");
        prediction_grid(&path, "Incorrect predictions", &[], 28, 28, &[]).unwrap();
        assert_eq!(png_size(&path), (900, 100));
    }

    #[test]
    fn prediction_grid_leaves_out_extra_images() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many.png");
        let (pixels, captions) = bars(14);
        prediction_grid(&path, "First 12", &pixels, 28, 28, &captions).unwrap();
        assert_eq!(png_size(&path), (900, 522));
    }

    #[test]
    fn reconstruction_grid_writes_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reconstructions.png");
        let originals = vec![0.5f32; 3 * 28 * 28];
        let reconstructions = vec![1.0f32; 3 * 28 * 28];
        let rows = [
            ("Original", &originals[..]),
            ("Reconstruction", &reconstructions[..]),
        ];
        reconstruction_grid(&path, "Reconstructions", &rows, 28, 28).unwrap();
        assert_eq!(png_size(&path), (170 + 3 * 120 + 10, 50 + 2 * 120 + 10));
        // A denoiser's grid has a row more: noisy inputs, targets, outputs.
        let rows = [("Noisy input", &originals[..]), rows[0], rows[1]];
        reconstruction_grid(&path, "Denoised", &rows, 28, 28).unwrap();
        assert_eq!(png_size(&path), (170 + 3 * 120 + 10, 50 + 3 * 120 + 10));
    }
}
