//! Tensors come and go by the thousand in every training step, most of them megabytes large.
//! glibc's malloc serves such sizes with a fresh `mmap` (above a threshold that starts at
//! 128 KiB) and hands freed memory back to the kernel, so each step page-faults and
//! zero-fills its tensors anew. Keeping freed memory in the heap for reuse made a LibTorch
//! training step about 6% faster and a flex one about 2% (`docs/perf-notes.md`); the price
//! is memory held between steps (a LibTorch epoch peaked at 734 MB instead of 654 MB).

/// Tell glibc's malloc to keep freed memory for reuse, unless the user set its knobs
/// (`MALLOC_MMAP_THRESHOLD_`, `MALLOC_TRIM_THRESHOLD_`) in the environment.
pub fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::ffi::c_int;
        // <malloc.h>
        const M_TRIM_THRESHOLD: c_int = -1;
        const M_MMAP_THRESHOLD: c_int = -3;
        unsafe extern "C" {
            fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        if std::env::var_os("MALLOC_MMAP_THRESHOLD_").is_some()
            || std::env::var_os("MALLOC_TRIM_THRESHOLD_").is_some()
        {
            return;
        }
        // SAFETY: mallopt only changes malloc's tuning; glibc takes its own lock for it.
        // 32 MiB is the largest mmap threshold glibc accepts on 64-bit systems: every tensor
        // of the default model (at most 26 MB, a validation batch) then comes from the heap.
        unsafe {
            mallopt(M_MMAP_THRESHOLD, 32 << 20);
            mallopt(M_TRIM_THRESHOLD, 1 << 30);
        }
    }
}
