//! Cross-service tests of gridcase live in `tests/`; this crate has no code of its own.
