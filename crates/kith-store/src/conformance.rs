//! The conformance suite: one set of checks every backend must pass.
//!
//! A backend's test calls [`run_all`] with a factory that returns a fresh, empty store.
//! (Being written: see the issue tracker.)

use crate::Store;

/// Runs every conformance check, each on a fresh store from `fresh`.
pub fn run_all(fresh: &dyn Fn() -> Box<dyn Store>) {
    let _ = fresh;
}
