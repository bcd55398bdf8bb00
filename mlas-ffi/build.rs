//! Gives the shared library its SONAME, so hosts link against `libmlas.so.0`
//! and a compatible upgrade is a file swap. A Rust cdylib has none by default.

fn main() {
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    ) {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libmlas.so.0");
    }
    println!("cargo:rerun-if-changed=build.rs");
}
