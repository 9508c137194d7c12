//! The data directory and the files in it are the user's alone: the directory 0700, the cache
//! (with its WAL and shared-memory files) and the log 0600, and a directory others can write is
//! refused (someone else could swap the cache or the log under tern).

use std::path::Path;

use super::{Result, StoreError};

/// Create `dir` (0700) if it is missing; refuse it if others can write to it.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir).map_err(|e| {
            StoreError::Invalid(format!("cannot create data dir {}: {e}", dir.display()))
        })?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)
            .map_err(|e| StoreError::Invalid(format!("data dir {}: {e}", dir.display())))?
            .permissions()
            .mode();
        if mode & 0o022 != 0 {
            return Err(StoreError::Invalid(format!(
                "data dir {} can be written by other users (mode {:o}); make it yours alone with: chmod 700 {}",
                dir.display(),
                mode & 0o777,
                dir.display()
            )));
        }
    }
    Ok(())
}

/// Make an existing file readable and writable by its owner only (0600); a missing one is fine.
pub fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::metadata(path) {
            Ok(m) if m.permissions().mode() & 0o077 != 0 => {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(
                    |e| StoreError::Invalid(format!("cannot make {} private: {e}", path.display())),
                )?;
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(p: &Path) -> u32 {
        std::fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn the_data_dir_and_its_files_are_private_and_a_shared_dir_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("data");
        let store = crate::store::Store::open_in_dir(&dir).unwrap();
        drop(store);
        assert_eq!(mode(&dir), 0o700);
        let db = dir.join(crate::store::DB_FILE);
        assert_eq!(mode(&db) & 0o077, 0, "the cache: {:o}", mode(&db));
        // A cache left readable by an older version is made private at open.
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
        drop(crate::store::Store::open_in_dir(&dir).unwrap());
        assert_eq!(mode(&db), 0o600);
        for f in ["-wal", "-shm"] {
            let p = dir.join(format!("{}{f}", crate::store::DB_FILE));
            if p.exists() {
                assert_eq!(mode(&p) & 0o077, 0, "{}", p.display());
            }
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = crate::store::Store::open_in_dir(&dir)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("chmod 700"), "{e}");
    }
}
