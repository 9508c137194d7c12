//! The POP3 fetcher: the only code that speaks POP3. `client` is a small hand-written async
//! POP3 client (connect, STLS, login, STAT/LIST/UIDL/RETR/DELE, QUIT).

pub mod client;
