//! Ctrl-C handling without a dependency: xtask notes SIGINT/SIGTERM instead of dying, so that it
//! can stop its PostgreSQL cluster and remove its files. Children it starts get the default
//! disposition back on exec (a caught signal is reset by exec), so Ctrl-C still stops them.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn note_signal(_signal: i32) {
    // Only an atomic store: nothing else is async-signal-safe here.
    INTERRUPTED.store(true, Ordering::SeqCst);
}

#[cfg(unix)]
unsafe extern "C" {
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

/// Installs the handler for SIGINT and SIGTERM (Linux numbers).
pub fn catch_interrupts() {
    #[cfg(unix)]
    // SAFETY: `signal` with a handler that only stores to an atomic is sound; SIGINT = 2 and
    // SIGTERM = 15 on every platform xtask runs on (Linux).
    unsafe {
        signal(2, note_signal);
        signal(15, note_signal);
    }
}

pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
