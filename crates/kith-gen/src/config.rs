//! What to generate: size, seed, source name and the time span, with validation.

use kith_model::Timestamp;

/// The default end of the simulated span: 2026-06-30T00:00:00Z. Fixed, not "now", so that a
/// seed always gives the same community.
pub const DEFAULT_END: Timestamp = Timestamp::from_secs(1_782_777_600);

/// The most activities one generator will produce (a guard against typos, not a limit of the
/// model: memory grows with members alive, not with activities).
pub const MAX_ACTIVITIES: u64 = 1_000_000_000;

/// Parameters of a generated community.
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// Exactly how many activities to produce (≥ 1). Members ≈ activities / 20.
    pub activities: u64,
    /// Same seed, same community, byte for byte.
    pub seed: u64,
    /// The source name written on every activity.
    pub source: String,
    /// The end of the span: no activity is at or after it.
    pub end: Timestamp,
    /// Length of the span in years; `None` scales with size: 1 year up to 200,000 activities,
    /// growing logarithmically to 3 years at 10,000,000 and beyond.
    pub years: Option<f64>,
}

impl GenConfig {
    /// `activities` with `seed`, source `demo`, the default end and span.
    pub fn new(activities: u64, seed: u64) -> GenConfig {
        GenConfig {
            activities,
            seed,
            source: "demo".into(),
            end: DEFAULT_END,
            years: None,
        }
    }

    /// The span in years this configuration simulates.
    pub fn span_years(&self) -> f64 {
        match self.years {
            Some(y) => y,
            None => {
                let n = self.activities.max(1) as f64;
                (1.0 + 2.0 * (n / 200_000.0).ln() / 50f64.ln()).clamp(1.0, 3.0)
            }
        }
    }

    /// The span in whole days (at least 7).
    pub fn span_days(&self) -> u32 {
        ((self.span_years() * 365.25).round() as u32).max(7)
    }

    pub(crate) fn validate(&self) -> Result<(), GenError> {
        if self.activities == 0 || self.activities > MAX_ACTIVITIES {
            return Err(GenError::Activities(self.activities));
        }
        if let Some(y) = self.years
            && !(y.is_finite() && (7.0 / 365.25..=50.0).contains(&y))
        {
            return Err(GenError::Years(y));
        }
        kith_model::validate_source_name(&self.source).map_err(GenError::Source)?;
        let days = i64::from(self.span_days());
        if self.end.to_utc().is_none() || self.end.secs - days * 86_400 < 0 {
            return Err(GenError::End(self.end.to_string()));
        }
        Ok(())
    }
}

impl Default for GenConfig {
    fn default() -> GenConfig {
        GenConfig::new(200_000, 1)
    }
}

/// A configuration the generator cannot run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GenError {
    #[error("cannot generate {0} activities: ask for between 1 and {MAX_ACTIVITIES}")]
    Activities(u64),
    #[error("a span of {0} years is out of range: use between one week (0.02) and 50 years")]
    Years(f64),
    #[error("{0}")]
    Source(String),
    #[error("end {0} is out of range: the whole span must fall after 1970-01-01")]
    End(String),
}
