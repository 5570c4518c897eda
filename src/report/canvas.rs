//! What every picture shares: the font compiled into the binary (so PNGs render on machines
//! without system fonts), atomic PNG files, titles and greyscale images.

use std::path::Path;
use std::sync::Once;

use image::ColorType;
use image::ImageEncoder;
use image::codecs::png::PngEncoder;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

use crate::exit::WriteError;
use crate::fsutil;

pub const FONT: &str = "sans-serif";

fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bundled font is valid, so registration cannot fail in practice.
        let _ = register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
    });
}

/// The font ready for measuring text before anything is drawn.
pub fn font(size: u32) -> FontDesc<'static> {
    register_fonts();
    (FONT, size).into_font()
}

/// The font for a title across `width` pixels: 22 px, or smaller down to 12 px where a long
/// run name would otherwise run off both edges.
pub fn title_font(title: &str, width: u32) -> FontDesc<'static> {
    let fits = |size: &u32| font(*size).box_size(title).is_ok_and(|(w, _)| w <= width);
    font((12..=22).rev().find(fits).unwrap_or(12))
}

pub type PlotResult = Result<(), Box<dyn std::error::Error>>;
pub type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// A white PNG of `size` drawn by `draw`, written atomically (drawn and encoded in memory,
/// then [fsutil::write_atomic]), so a failed write names the OS's reason and leaves the
/// earlier file as it was. A failure names the file and `what` was drawn.
pub fn draw_png(
    path: &Path,
    what: &'static str,
    size: (u32, u32),
    draw: impl FnOnce(&Area) -> PlotResult,
) -> Result<(), WriteError> {
    register_fonts();
    let mut pixels = vec![0u8; size.0 as usize * size.1 as usize * 3];
    let drawn = (|| {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root)?;
        root.present()?;
        PlotResult::Ok(())
    })();
    drawn.map_err(|e| WriteError::new(path, what, e))?;
    let mut png = Vec::new();
    PngEncoder::new(&mut png)
        .write_image(&pixels, size.0, size.1, ColorType::Rgb8)
        .map_err(|e| WriteError::new(path, what, e))?;
    fsutil::write_atomic(path, &png).map_err(|e| WriteError::new(path, what, e))
}

/// A picture's title, top left.
pub fn draw_title(area: &Area, title: &str) -> PlotResult {
    area.draw(&Text::new(
        title.to_string(),
        (10, 12),
        (FONT, 22).into_font(),
    ))?;
    Ok(())
}

/// A chart's legend of its series in `size` px type at `position`, on white that lets the
/// curves show through a little, in a black frame: every chart's legend alike.
pub fn draw_legend<'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, BitMapBackend<'a>, CT>,
    size: u32,
    position: SeriesLabelPosition,
) -> PlotResult {
    chart
        .configure_series_labels()
        .label_font((FONT, size))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .position(position)
        .draw()?;
    Ok(())
}

/// The images in `pixels`, each `height * width` values back to back (none when that is 0).
pub fn images<T>(pixels: &[T], height: usize, width: usize) -> std::slice::ChunksExact<'_, T> {
    let size = height * width;
    let usable = if size == 0 { 0 } else { pixels.len() };
    pixels[..usable].chunks_exact(size.max(1))
}

/// Screen pixels per image pixel, so an image is about 112 pixels on its longer side.
pub fn image_scale(height: usize, width: usize) -> usize {
    (112 / height.max(width).max(1)).max(1)
}

/// One image, `scale` screen pixels per image pixel, top-left corner at `at`; `shade` gives
/// each value's grey (0 black, 255 white).
pub fn draw_image<T: Copy>(
    area: &Area,
    image: &[T],
    width: usize,
    at: (usize, usize),
    scale: usize,
    shade: impl Fn(T) -> u8,
) -> PlotResult {
    // A faint frame shows where an image with a white background ends.
    let (x0, y0) = (at.0 as i32 - 1, at.1 as i32 - 1);
    let height = image.len() / width.max(1);
    let (x1, y1) = (
        x0 + (width * scale) as i32 + 1,
        y0 + (height * scale) as i32 + 1,
    );
    area.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.mix(0.2)))?;
    for (i, &value) in image.iter().enumerate() {
        let (x, y) = (i % width, i / width);
        let grey = shade(value);
        let (x0, y0) = ((at.0 + x * scale) as i32, (at.1 + y * scale) as i32);
        area.draw(&Rectangle::new(
            [(x0, y0), (x0 + scale as i32, y0 + scale as i32)],
            RGBColor(grey, grey, grey).filled(),
        ))?;
    }
    Ok(())
}

#[cfg(test)]
pub mod tests {
    use super::*;
    use std::fs;

    pub fn png_size(path: &Path) -> (u32, u32) {
        let image = image::open(path).expect("a readable PNG");
        (image.width(), image.height())
    }

    #[test]
    fn an_unwritable_path_names_the_file_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("plot.png");
        let error = draw_png(&path, "draw plot", (10, 10), |_| Ok(())).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with(&format!("{}: cannot draw plot:", path.display())),
            "{error}"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plot.png");
        draw_png(&path, "draw plot", (10, 10), |_| Err("no".into())).unwrap_err();
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0, "no temp file");
    }
}
