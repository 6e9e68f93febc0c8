//! A realistic community, generated: a deterministic, streaming simulation of members joining,
//! asking, answering, drifting away, attending events and giving feedback, producing canonical
//! [`kith_model::Activity`] records for `kith demo` and for benchmarks.
//!
//! Same seed, same community, activity for activity. The output is in time order, ends before
//! [`GenConfig::end`] and holds exactly [`GenConfig::activities`] activities; memory grows with
//! the members and threads alive, not with the activities produced. The behavioural model and
//! its measured shapes are in `docs/generator.md`.
//!
//! ```
//! use kith_gen::{generate, GenConfig};
//! use kith_model::Kind;
//!
//! let activities: Vec<_> = generate(GenConfig::new(2_000, 42)).unwrap().collect();
//! assert_eq!(activities.len(), 2_000);
//! assert!(activities.windows(2).all(|w| w[0].ts <= w[1].ts));
//! assert!(activities.iter().any(|a| a.kind == Kind::Reply && a.reply_to.is_some()));
//! ```

mod behaviour;
mod calendar;
mod config;
mod generator;
mod names;
mod population;
mod sampler;
mod sim;
mod texts;

pub use config::{DEFAULT_END, GenConfig, GenError, MAX_ACTIVITIES};
pub use generator::{Generator, generate};
