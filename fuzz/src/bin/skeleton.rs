//! Fuzz target: the `skeleton` check of `tern::fuzzing` (see README "Fuzzing").
fn main() {
    afl::fuzz!(|data: &[u8]| tern::fuzzing::skeleton(data));
}
