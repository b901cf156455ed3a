//! Sets the SONAME glibc looks for (`libnss_gatehouse.so.2`) on the cdylib.
fn main() {
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libnss_gatehouse.so.2");
    println!("cargo:rerun-if-changed=build.rs");
}
