#![doc = include_str!("../README.md")]

pub use mlas_core::*;
