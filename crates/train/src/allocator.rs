//! Keeps the memory a train step frees in the process, for the next step.
//!
//! A step allocates and frees the same large buffers every time (LSTM-MAESTRO:
//! the 16.5 MB read-out weight's host copy and gradient, 6 MB of gates per
//! batch group). glibc hands a freed block above its mmap threshold, and the
//! free top of its heap above its trim threshold, back to the kernel, so the
//! next step faults in and clears every 4 KiB page again: a sixth of an
//! LSTM-MAESTRO step (102 → 86 ms with the thresholds raised, `cargo xtask
//! bench`). Raising both once per process keeps the pages for reuse; the
//! process then holds on to its largest step's memory, which it needs again at
//! the next step anyway. Arithmetic is untouched.

/// Raises glibc's mmap and trim thresholds, once. Elsewhere a no-op.
pub(crate) fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // Blocks up to 512 MiB come from the heap; its free top is kept.
            const MMAP_THRESHOLD: libc::c_int = 512 << 20;
            const TRIM_THRESHOLD: libc::c_int = libc::c_int::MAX;
            // SAFETY: `mallopt` only sets allocator parameters; it is called
            // once, and glibc serializes it against allocations.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD);
            }
        });
    }
}
