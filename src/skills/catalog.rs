//! The skills catalog: names, aliases, descriptions and steps (docs/api.md §6).

use crate::domain::SkillInfo;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Skill {
    Enrich,
    Thumbnail,
    Caption,
    AltText,
    ExifStrip,
    FormatConvert,
    Watermark,
    Analyze,
}

impl Skill {
    pub const ALL: [Skill; 8] = [
        Skill::Enrich,
        Skill::Thumbnail,
        Skill::Caption,
        Skill::AltText,
        Skill::ExifStrip,
        Skill::FormatConvert,
        Skill::Watermark,
        Skill::Analyze,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Skill::Enrich => "basic_image_enrich",
            Skill::Thumbnail => "thumbnail",
            Skill::Caption => "ai-caption",
            Skill::AltText => "alt-text",
            Skill::ExifStrip => "exif-strip",
            Skill::FormatConvert => "format-convert",
            Skill::Watermark => "watermark",
            Skill::Analyze => "analyze",
        }
    }

    /// Other names accepted for the skill: NekoHub's step names, and
    /// tessera's names from before it took NekoHub's (`enrich`, `caption`).
    fn aliases(self) -> &'static [&'static str] {
        match self {
            Skill::Enrich => &["enrich"],
            Skill::Thumbnail => &["generate_thumbnail"],
            Skill::Caption => &["caption", "basic_caption", "generate_basic_caption"],
            Skill::AltText => &[],
            Skill::ExifStrip => &["strip_exif_metadata", "exif_strip"],
            Skill::FormatConvert => &["convert_image_format", "format_convert"],
            Skill::Watermark => &["draw_watermark"],
            Skill::Analyze => &[],
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Skill::Enrich => "Thumbnail, AI caption and alt text; runs on upload",
            Skill::Thumbnail => {
                "A thumbnail that fits in size x size (parameter: size, default 256)"
            }
            Skill::Caption => "An AI caption of the image (parameter: prompt)",
            Skill::AltText => "AI alt text for accessibility",
            Skill::ExifStrip => "Rewrites the original without EXIF, GPS and other metadata",
            Skill::FormatConvert => "Converts the original (targetFormat, quality, keepOriginal)",
            Skill::Watermark => "Draws a text watermark (text, opacity, fontSize, position)",
            Skill::Analyze => {
                "EXIF summary, dominant colours, blurhash, perceptual hash and duplicates"
            }
        }
    }

    pub fn step_names(self) -> &'static [&'static str] {
        match self {
            Skill::Enrich => &[
                "generate_thumbnail",
                "generate_caption",
                "generate_alt_text",
            ],
            Skill::Thumbnail => &["generate_thumbnail"],
            Skill::Caption => &["generate_caption"],
            Skill::AltText => &["generate_alt_text"],
            Skill::ExifStrip => &["strip_exif_metadata"],
            Skill::FormatConvert => &["convert_image_format"],
            Skill::Watermark => &["draw_watermark"],
            Skill::Analyze => &[
                "extract_metadata",
                "dominant_colors",
                "blurhash",
                "perceptual_hash",
            ],
        }
    }

    /// Case-insensitive, with `_` and `-` alike.
    pub fn resolve(name: &str) -> Option<Skill> {
        let wanted = normalize(name);
        Skill::ALL.into_iter().find(|skill| {
            normalize(skill.name()) == wanted
                || skill
                    .aliases()
                    .iter()
                    .any(|alias| normalize(alias) == wanted)
        })
    }

    pub fn info(self) -> SkillInfo {
        SkillInfo {
            skill_name: self.name(),
            description: self.description(),
            steps: self.step_names().to_vec(),
        }
    }
}

fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::Skill;

    #[test]
    fn names_and_aliases_resolve_loosely() {
        assert_eq!(Skill::resolve("ENRICH"), Some(Skill::Enrich));
        assert_eq!(Skill::resolve("basic_image_enrich"), Some(Skill::Enrich));
        assert_eq!(Skill::resolve("ai_caption"), Some(Skill::Caption));
        assert_eq!(Skill::resolve("caption"), Some(Skill::Caption));
        assert_eq!(
            Skill::resolve("Strip-Exif-Metadata"),
            Some(Skill::ExifStrip)
        );
        assert_eq!(Skill::resolve("basic-image-enrich"), Some(Skill::Enrich));
        assert_eq!(Skill::resolve("alt_text"), Some(Skill::AltText));
        assert_eq!(
            Skill::resolve("Generate_Basic_Caption"),
            Some(Skill::Caption)
        );
        assert_eq!(Skill::resolve("format_convert"), Some(Skill::FormatConvert));
        assert_eq!(Skill::resolve("resize"), None);
    }
}
