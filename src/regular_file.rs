//! Reading the files ferry is given — Deployfiles, gate scripts, task-definition files,
//! fault files, plans, the local state — with the same two guards: only a regular file is
//! read (a named pipe or a device such as `/dev/zero` would block or never end), and never
//! more than a cap, checked before reading and again while reading (a file may grow, and
//! `/proc` files say they are empty).

use std::fmt;
use std::io::Read as _;
use std::path::Path;

/// Why a file was not read.
#[derive(Debug)]
pub enum FileProblem {
    NotFound,
    /// A directory, a named pipe, a socket or a device.
    NotRegular(&'static str),
    /// More bytes than the cap.
    TooLarge {
        cap: u64,
    },
    NotUtf8,
    Io(std::io::Error),
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileProblem::NotFound => f.write_str("it does not exist"),
            FileProblem::NotRegular(kind) => write!(f, "it is {kind}, not a regular file"),
            FileProblem::TooLarge { cap } => write!(f, "it is larger than {}", size_text(*cap)),
            FileProblem::NotUtf8 => f.write_str("it is not UTF-8 text"),
            FileProblem::Io(error) => error.fmt(f),
        }
    }
}

/// `1 MiB`, `16 MiB`, `512 bytes`.
#[must_use]
pub(crate) fn size_text(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else {
        format!("{bytes} bytes")
    }
}

/// The kind of a file that is not a regular one, in words.
fn kind_of(metadata: &std::fs::Metadata) -> Option<&'static str> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return None;
    }
    if kind.is_dir() {
        return Some("a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt as _;
        if kind.is_fifo() {
            return Some("a named pipe");
        }
        if kind.is_socket() {
            return Some("a socket");
        }
        if kind.is_char_device() || kind.is_block_device() {
            return Some("a device");
        }
    }
    Some("not a regular file")
}

/// The bytes of a regular file of at most `cap` bytes.
pub(crate) fn read_bytes(path: &Path, cap: u64) -> Result<Vec<u8>, FileProblem> {
    let metadata = std::fs::metadata(path).map_err(|error| match error.kind() {
        std::io::ErrorKind::NotFound => FileProblem::NotFound,
        _ => FileProblem::Io(error),
    })?;
    if let Some(kind) = kind_of(&metadata) {
        return Err(FileProblem::NotRegular(kind));
    }
    if metadata.len() > cap {
        return Err(FileProblem::TooLarge { cap });
    }
    let file = std::fs::File::open(path).map_err(FileProblem::Io)?;
    let mut bytes = Vec::new();
    file.take(cap + 1).read_to_end(&mut bytes).map_err(FileProblem::Io)?;
    if bytes.len() as u64 > cap {
        return Err(FileProblem::TooLarge { cap });
    }
    Ok(bytes)
}

/// The text of a regular UTF-8 file of at most `cap` bytes.
pub(crate) fn read_text(path: &Path, cap: u64) -> Result<String, FileProblem> {
    String::from_utf8(read_bytes(path, cap)?).map_err(|_| FileProblem::NotUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_regular_files_of_bounded_size_are_read() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "hello").expect("write");
        assert_eq!(read_text(&file, 5).expect("read"), "hello");
        assert!(matches!(read_text(&file, 4), Err(FileProblem::TooLarge { cap: 4 })));
        assert!(matches!(read_text(dir.path(), 5), Err(FileProblem::NotRegular("a directory"))));
        assert!(matches!(read_text(&dir.path().join("nope"), 5), Err(FileProblem::NotFound)));
        // A device that never ends, and one that says it is empty.
        assert!(matches!(
            read_text(Path::new("/dev/zero"), 5),
            Err(FileProblem::NotRegular("a device"))
        ));
        #[cfg(unix)]
        {
            let fifo = dir.path().join("pipe");
            let made = std::process::Command::new("mkfifo").arg(&fifo).status();
            assert!(made.is_ok_and(|s| s.success()), "mkfifo (coreutils) runs");
            assert!(matches!(read_text(&fifo, 5), Err(FileProblem::NotRegular("a named pipe"))));
        }
        std::fs::write(&file, [0xff, 0xfe]).expect("write");
        assert!(matches!(read_text(&file, 5), Err(FileProblem::NotUtf8)));
        assert_eq!(size_text(16 * 1024 * 1024), "16 MiB");
    }
}
