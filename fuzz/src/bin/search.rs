//! Fuzz target: the `search` check of `tern::fuzzing` (see README "Fuzzing").
fn main() {
    afl::fuzz!(|data: &[u8]| tern::fuzzing::search(data));
}
