//! Software prefetch for the passes whose time goes in cache misses: a pass over the slots in
//! order that looks up a random member (or thread) per slot asks for that data a few slots
//! ahead, so the lookups overlap instead of each waiting for memory.

/// How many slots ahead a pass asks for what it will look up (a lookup that needs another
/// lookup's result asks two strides ahead for the first one).
pub(crate) const AHEAD: usize = 32;

/// Asks the CPU to bring `values[i]` into the cache (nothing when `i` is out of range or off
/// x86-64). A hint only: it reads nothing and cannot fault.
#[inline(always)]
pub(crate) fn prefetch<T>(values: &[T], i: usize) {
    #[cfg(target_arch = "x86_64")]
    if i < values.len() {
        // SAFETY: `_mm_prefetch` needs SSE, which every x86-64 CPU has (it is in the target's
        // baseline features); a prefetch dereferences nothing, and the address is in `values`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
                values.as_ptr().wrapping_add(i).cast::<i8>(),
            )
        };
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = (values, i);
}
