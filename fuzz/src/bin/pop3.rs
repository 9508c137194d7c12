//! Fuzz target: the `pop3` check of `tern::fuzzing` (see README "Fuzzing").
fn main() {
    afl::fuzz!(|data: &[u8]| tern::fuzzing::pop3(data));
}
