//! aelab: what the C++ shims in `src/native/` share on the Rust side.

use std::ffi::{CStr, c_char};

/// Panics with libtorch's message when a shim returned one (tch itself panics on libtorch
/// errors; this keeps that behaviour), after freeing it.
pub(crate) fn check(error: *mut c_char, op: &str) {
    if error.is_null() {
        return;
    }
    // SAFETY: the shims return a NUL-terminated copy made with strdup.
    let message = unsafe { CStr::from_ptr(error) }.to_string_lossy().into_owned();
    unsafe { libc::free(error.cast()) };
    panic!("libtorch {op}: {message}");
}
