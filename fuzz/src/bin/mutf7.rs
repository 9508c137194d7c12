//! Fuzz target: the `mutf7` check of `tern::fuzzing` (see README "Fuzzing").
fn main() {
    afl::fuzz!(|data: &[u8]| tern::fuzzing::mutf7(data));
}
