//! Who owns a row in progress: a process named by its pid and its start time (a pid alone can
//! be reused after a crash). Read from /proc on Linux; elsewhere a pid that answers kill(0).

/// This process, as stored in a row it claims: "pid starttime".
pub fn this() -> String {
    let pid = std::process::id();
    format!("{pid} {}", start_time(pid).unwrap_or(0))
}

/// Whether the process a row names is still running.
pub fn alive(owner: &str) -> bool {
    let mut it = owner.split_whitespace().map(|w| w.parse::<u64>().ok());
    let (Some(Some(pid)), Some(Some(start))) = (it.next(), it.next()) else {
        return false;
    };
    let Ok(pid) = u32::try_from(pid) else {
        return false;
    };
    match start_time(pid) {
        Some(s) => start == 0 || s == start,
        None if std::path::Path::new("/proc/self/stat").exists() => false,
        // No /proc (not Linux): the pid answering is the best there is.
        None => {
            let Ok(pid) = libc::pid_t::try_from(pid) else {
                return false;
            };
            // SAFETY: kill with signal 0 sends nothing; it only asks whether the pid exists.
            unsafe { libc::kill(pid, 0) == 0 }
        }
    }
}

/// The process's start time in clock ticks since boot (field 22 of /proc/PID/stat).
fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_finished_one_is_not() {
        assert!(alive(&this()));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let owner = format!("{pid} {}", start_time(pid).unwrap_or(1));
        child.wait().unwrap();
        assert!(!alive(&owner));
        // The same pid with another start time is another process.
        let me = std::process::id();
        assert!(!alive(&format!("{me} 1")));
        assert!(!alive("garbage"));
    }
}
