//! Fuzz target: the `message` check of `tern::fuzzing` (see README "Fuzzing").
fn main() {
    afl::fuzz!(|data: &[u8]| tern::fuzzing::message(data));
}
