#![doc = include_str!("../README.md")]
// The README is the crate page: its code blocks run as doctests.

pub use mlas_core::*;
