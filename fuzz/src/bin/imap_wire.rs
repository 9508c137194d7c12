//! Fuzz target: the `imap_wire` check of `tern::fuzzing` (see README "Fuzzing").
fn main() {
    afl::fuzz!(|data: &[u8]| tern::fuzzing::imap_wire(data));
}
