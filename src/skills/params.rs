//! Parameters are validated into a plan of steps before anything runs.

use serde_json::{Map, Value};

use super::Skill;
use crate::{
    error::Error,
    imaging::{OutputFormat, watermark::Position},
};

/// One step with its validated settings.
#[derive(Clone, Debug, PartialEq)]
pub enum StepSpec {
    GenerateThumbnail {
        size: u32,
    },
    GenerateCaption {
        prompt: Option<String>,
    },
    GenerateAltText,
    StripExif,
    ConvertFormat {
        target: OutputFormat,
        quality: u8,
        keep_original: bool,
    },
    DrawWatermark {
        text: String,
        opacity: f32,
        font_size: f32,
        position: Position,
    },
    ExtractMetadata,
    DominantColors,
    Blurhash,
    PerceptualHash,
}

impl StepSpec {
    /// Steps that call the vision model.
    pub fn uses_ai(&self) -> bool {
        matches!(
            self,
            StepSpec::GenerateCaption { .. } | StepSpec::GenerateAltText
        )
    }

    pub fn name(&self) -> &'static str {
        match self {
            StepSpec::GenerateThumbnail { .. } => "generate_thumbnail",
            StepSpec::GenerateCaption { .. } => "generate_caption",
            StepSpec::GenerateAltText => "generate_alt_text",
            StepSpec::StripExif => "strip_exif_metadata",
            StepSpec::ConvertFormat { .. } => "convert_image_format",
            StepSpec::DrawWatermark { .. } => "draw_watermark",
            StepSpec::ExtractMetadata => "extract_metadata",
            StepSpec::DominantColors => "dominant_colors",
            StepSpec::Blurhash => "blurhash",
            StepSpec::PerceptualHash => "perceptual_hash",
        }
    }
}

/// Default thumbnail size, used by `enrich`.
pub const DEFAULT_THUMBNAIL_SIZE: u32 = 256;

fn invalid(parameter: &str, message: impl Into<String>) -> Error {
    Error::SkillParametersInvalid {
        parameter: parameter.to_string(),
        message: message.into(),
    }
}

/// Reads parameters, refusing unknown ones so typos do not pass silently.
struct Params<'a> {
    values: &'a Map<String, Value>,
    known: &'static [&'static str],
}

impl<'a> Params<'a> {
    /// Names match in any case (NekoHub clients send `TargetFormat`).
    fn new(values: &'a Map<String, Value>, known: &'static [&'static str]) -> Result<Self, Error> {
        let is_known = |key: &str| known.iter().any(|k| k.eq_ignore_ascii_case(key));
        if let Some(unknown) = values.keys().find(|k| !is_known(k)) {
            let expected = if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            };
            return Err(invalid(
                unknown,
                format!("unknown parameter '{unknown}' (expected: {expected})"),
            ));
        }
        Ok(Params { values, known })
    }

    fn get(&self, name: &str) -> Option<&'a Value> {
        debug_assert!(self.known.contains(&name));
        self.values
            .iter()
            .find(|(key, value)| key.eq_ignore_ascii_case(name) && !value.is_null())
            .map(|(_, value)| value)
    }

    /// A number, or a string holding one (`"0.5"`): NekoHub's workflow
    /// editor saves node parameters as text.
    fn number(&self, name: &str) -> Result<Option<f64>, Error> {
        let number = match self.get(name) {
            None => return Ok(None),
            Some(Value::Number(n)) => n.as_f64(),
            Some(Value::String(s)) => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
            Some(_) => None,
        };
        number
            .map(Some)
            .ok_or_else(|| invalid(name, format!("{name} must be a number")))
    }

    fn integer(&self, name: &str, min: u32, max: u32) -> Result<Option<u32>, Error> {
        let Some(value) = self.number(name)? else {
            return Ok(None);
        };
        if value.fract() != 0.0 || value < f64::from(min) || value > f64::from(max) {
            return Err(invalid(
                name,
                format!("{name} must be an integer from {min} to {max}"),
            ));
        }
        Ok(Some(value as u32))
    }

    fn text(&self, name: &str, max_chars: usize) -> Result<Option<String>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::String(s)) if !s.trim().is_empty() && s.chars().count() <= max_chars => {
                Ok(Some(s.clone()))
            }
            Some(_) => Err(invalid(
                name,
                format!("{name} must be a non-empty string of at most {max_chars} characters"),
            )),
        }
    }

    /// `true`/`false`, also as text in any case (NekoHub's editor).
    fn boolean(&self, name: &str) -> Result<Option<bool>, Error> {
        match self.get(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(_) => Err(invalid(name, format!("{name} must be true or false"))),
        }
    }
}

impl Skill {
    /// The parameters the skill takes.
    pub fn parameter_names(self) -> &'static [&'static str] {
        match self {
            Skill::Thumbnail => &["size"],
            Skill::Caption => &["prompt"],
            Skill::FormatConvert => &["targetFormat", "quality", "keepOriginal"],
            Skill::Watermark => &["text", "opacity", "fontSize", "position"],
            Skill::Enrich | Skill::AltText | Skill::ExifStrip | Skill::Analyze => &[],
        }
    }
}

/// Like [`plan`], but parameters the skill does not take are left out
/// instead of refused: a workflow node's data also holds what the editor
/// keeps there (a label, NekoHub's settings for its own thumbnail).
pub fn plan_known(skill: Skill, parameters: &Map<String, Value>) -> Result<Vec<StepSpec>, Error> {
    let names = skill.parameter_names();
    let known: Map<String, Value> = parameters
        .iter()
        .filter(|(key, _)| names.iter().any(|name| name.eq_ignore_ascii_case(key)))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    plan(skill, &known)
}

/// The steps `skill` will run with these parameters, or the first invalid parameter.
pub fn plan(skill: Skill, parameters: &Map<String, Value>) -> Result<Vec<StepSpec>, Error> {
    let p = Params::new(parameters, skill.parameter_names())?;
    Ok(match skill {
        Skill::Enrich => {
            vec![
                StepSpec::GenerateThumbnail {
                    size: DEFAULT_THUMBNAIL_SIZE,
                },
                StepSpec::GenerateCaption { prompt: None },
                StepSpec::GenerateAltText,
            ]
        }
        Skill::Thumbnail => {
            let size = p
                .integer("size", 16, 4096)?
                .unwrap_or(DEFAULT_THUMBNAIL_SIZE);
            vec![StepSpec::GenerateThumbnail { size }]
        }
        Skill::Caption => {
            vec![StepSpec::GenerateCaption {
                prompt: p.text("prompt", 2000)?,
            }]
        }
        Skill::AltText => vec![StepSpec::GenerateAltText],
        Skill::ExifStrip => vec![StepSpec::StripExif],
        Skill::FormatConvert => {
            let name = p.text("targetFormat", 10)?.ok_or_else(|| {
                invalid(
                    "targetFormat",
                    "targetFormat is required (webp, jpeg, png or gif)",
                )
            })?;
            let target = OutputFormat::parse(&name).ok_or_else(|| {
                invalid(
                    "targetFormat",
                    format!("targetFormat must be webp, jpeg, jpg, png or gif, got '{name}'"),
                )
            })?;
            let quality = p.integer("quality", 1, 100)?.unwrap_or(85) as u8;
            let keep_original = p.boolean("keepOriginal")?.unwrap_or(false);
            vec![StepSpec::ConvertFormat {
                target,
                quality,
                keep_original,
            }]
        }
        Skill::Watermark => {
            let text = p.text("text", 200)?.unwrap_or_else(|| "tessera".into());
            let opacity = p.number("opacity")?.unwrap_or(0.5);
            if !(0.0..=1.0).contains(&opacity) {
                return Err(invalid("opacity", "opacity must be between 0 and 1"));
            }
            let font_size = p.number("fontSize")?.unwrap_or(36.0);
            if !(1.0..=2000.0).contains(&font_size) {
                return Err(invalid("fontSize", "fontSize must be between 1 and 2000"));
            }
            let position = match p.text("position", 20)? {
                None => Position::BottomRight,
                Some(name) => Position::parse(&name).ok_or_else(|| {
                    invalid(
                        "position",
                        "position must be bottomRight, bottomLeft, center, topRight or topLeft",
                    )
                })?,
            };
            vec![StepSpec::DrawWatermark {
                text,
                opacity: opacity as f32,
                font_size: font_size as f32,
                position,
            }]
        }
        Skill::Analyze => {
            vec![
                StepSpec::ExtractMetadata,
                StepSpec::DominantColors,
                StepSpec::Blurhash,
                StepSpec::PerceptualHash,
            ]
        }
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn params(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap_or_default()
    }

    fn parameter_of(err: Error) -> String {
        match err {
            Error::SkillParametersInvalid { parameter, .. } => parameter,
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn parameters_are_validated_and_named() {
        assert_eq!(
            plan(Skill::Thumbnail, &params(json!({}))).ok(),
            Some(vec![StepSpec::GenerateThumbnail { size: 256 }])
        );
        assert_eq!(
            plan(Skill::Thumbnail, &params(json!({"size": 64}))).ok(),
            Some(vec![StepSpec::GenerateThumbnail { size: 64 }])
        );
        for (skill, bad, name) in [
            (Skill::Thumbnail, json!({"size": 0}), "size"),
            (Skill::Thumbnail, json!({"size": 12.5}), "size"),
            (Skill::Thumbnail, json!({"size": "big"}), "size"),
            (Skill::Thumbnail, json!({"width": 10}), "width"),
            (Skill::FormatConvert, json!({}), "targetFormat"),
            (
                Skill::FormatConvert,
                json!({"targetFormat": "bmp"}),
                "targetFormat",
            ),
            (
                Skill::FormatConvert,
                json!({"targetFormat": "png", "quality": 101}),
                "quality",
            ),
            (
                Skill::FormatConvert,
                json!({"targetFormat": "png", "keepOriginal": "yes"}),
                "keepOriginal",
            ),
            (Skill::Watermark, json!({"opacity": 1.5}), "opacity"),
            (Skill::Watermark, json!({"fontSize": 0}), "fontSize"),
            (Skill::Watermark, json!({"position": "middle"}), "position"),
            (Skill::Analyze, json!({"deep": true}), "deep"),
        ] {
            let err = plan(skill, &params(bad.clone())).expect_err("invalid");
            assert_eq!(parameter_of(err), name, "{bad}");
        }
        let steps = plan(
            Skill::FormatConvert,
            &params(json!({"targetFormat": "JPG", "quality": 70, "keepOriginal": true})),
        )
        .unwrap();
        assert_eq!(
            steps,
            vec![StepSpec::ConvertFormat {
                target: OutputFormat::Jpeg,
                quality: 70,
                keep_original: true
            }]
        );
        // NekoHub's editor saves numbers and booleans as text, in any case.
        let as_text = plan(
            Skill::FormatConvert,
            &params(json!({"TargetFormat": "jpg", "Quality": " 70 ", "KeepOriginal": "True"})),
        )
        .unwrap();
        assert_eq!(as_text, steps);
        assert_eq!(
            plan(Skill::Thumbnail, &params(json!({"size": "64"}))).ok(),
            Some(vec![StepSpec::GenerateThumbnail { size: 64 }])
        );
        for bad in [
            json!({"size": "NaN"}),
            json!({"size": "inf"}),
            json!({"size": ""}),
        ] {
            assert!(
                plan(Skill::Thumbnail, &params(bad.clone())).is_err(),
                "{bad}"
            );
        }
    }
}
