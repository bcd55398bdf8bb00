//! placeholder facade
pub use mlas_core::*;
