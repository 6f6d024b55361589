//! Text watermarks drawn with a font embedded in the binary (DejaVu Sans
//! Bold), so output never depends on the host's fonts.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{DynamicImage, Rgba, RgbaImage};

use super::ImagingError;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    TopLeft,
    TopRight,
    Center,
    BottomLeft,
    BottomRight,
}

impl Position {
    pub fn parse(name: &str) -> Option<Position> {
        match name
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "topleft" => Some(Position::TopLeft),
            "topright" => Some(Position::TopRight),
            "center" | "centre" => Some(Position::Center),
            "bottomleft" => Some(Position::BottomLeft),
            "bottomright" => Some(Position::BottomRight),
            _ => None,
        }
    }
}

/// Draws `text` in white with a soft dark shadow, at `opacity` (0–1).
pub fn draw_watermark(
    image: &DynamicImage,
    text: &str,
    font_size: f32,
    opacity: f32,
    position: Position,
) -> Result<DynamicImage, ImagingError> {
    let font = FontRef::try_from_slice(dejavu::sans::bold())
        .map_err(|e| ImagingError::Encode(format!("embedded font: {e}")))?;
    let scaled = font.as_scaled(PxScale::from(font_size));
    let mut glyphs = Vec::new();
    let mut caret = 0.0f32;
    let mut previous = None;
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(prev) = previous {
            caret += scaled.kern(prev, id);
        }
        glyphs.push(
            id.with_scale_and_position(PxScale::from(font_size), point(caret, scaled.ascent())),
        );
        caret += scaled.h_advance(id);
        previous = Some(id);
    }
    let text_width = caret.ceil();
    let text_height = (scaled.ascent() - scaled.descent()).ceil();
    let mut canvas: RgbaImage = image.to_rgba8();
    let (width, height) = (canvas.width() as f32, canvas.height() as f32);
    let margin = (font_size / 2.0).max(4.0);
    let (x0, y0) = match position {
        Position::TopLeft => (margin, margin),
        Position::TopRight => (width - text_width - margin, margin),
        Position::Center => ((width - text_width) / 2.0, (height - text_height) / 2.0),
        Position::BottomLeft => (margin, height - text_height - margin),
        Position::BottomRight => (width - text_width - margin, height - text_height - margin),
    };
    let shadow = (font_size / 18.0).max(1.0);
    for (offset, colour, strength) in [(shadow, [0u8, 0, 0], 0.6f32), (0.0, [255u8, 255, 255], 1.0)]
    {
        for glyph in &glyphs {
            let Some(outlined) = font.outline_glyph(glyph.clone()) else {
                continue;
            };
            let bounds = outlined.px_bounds();
            outlined.draw(|gx, gy, coverage| {
                let x = x0 + offset + bounds.min.x + gx as f32;
                let y = y0 + offset + bounds.min.y + gy as f32;
                if x < 0.0 || y < 0.0 || x >= width || y >= height {
                    return;
                }
                let alpha = (coverage * opacity * strength).clamp(0.0, 1.0);
                let pixel = canvas.get_pixel_mut(x as u32, y as u32);
                blend(pixel, colour, alpha);
            });
        }
    }
    let drawn = DynamicImage::ImageRgba8(canvas);
    Ok(if image.color().has_alpha() {
        drawn
    } else {
        DynamicImage::ImageRgb8(drawn.to_rgb8())
    })
}

fn blend(pixel: &mut Rgba<u8>, colour: [u8; 3], alpha: f32) {
    for (channel, target) in pixel.0.iter_mut().zip(colour) {
        *channel = (f32::from(*channel) * (1.0 - alpha) + f32::from(target) * alpha).round() as u8;
    }
    pixel.0[3] = pixel.0[3].max((alpha * 255.0) as u8);
}
