//! Memory accounting and limits for REPL process groups: `RssAnon` from `/proc` and `RLIMIT_DATA`.
//!
//! `RssAnon` is used rather than total RSS because the memory-mapped `.olean` files of a Mathlib
//! import are file-backed: they would dominate total RSS without being what leaks. It is summed
//! over the whole process group because `sh -c` and `lake env` sit between us and the REPL.

use std::io;
use std::path::Path;

/// The machine's total memory in bytes (`MemTotal` in `/proc/meminfo`).
pub fn total_memory_bytes() -> io::Result<u64> {
    let text = std::fs::read_to_string("/proc/meminfo")?;
    parse_mem_total(&text).ok_or_else(|| io::Error::other("no MemTotal line in /proc/meminfo"))
}

/// `MemTotal:  24576000 kB` → bytes.
pub fn parse_mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// The anonymous resident memory of every process whose process group is `pgid`, in bytes.
///
/// Processes that vanish during the scan, and zombies (which have no `RssAnon`), count as 0.
/// Fails only when `/proc` itself cannot be listed.
pub fn rss_anon_of_group(pgid: u32) -> io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir("/proc")? {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        let Some(pid) = name.to_str().and_then(|n| n.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(entry.path().join("stat")) else {
            continue;
        };
        if parse_pgrp(&stat) == Some(pgid) {
            total += rss_anon_of_pid(pid).unwrap_or(0);
        }
    }
    Ok(total)
}

/// The `RssAnon` of one process, in bytes; `Ok(0)` for a zombie.
pub fn rss_anon_of_pid(pid: u32) -> io::Result<u64> {
    let status = std::fs::read_to_string(Path::new("/proc").join(pid.to_string()).join("status"))?;
    Ok(parse_rss_anon(&status).unwrap_or(0))
}

/// The process group field of a `/proc/<pid>/stat` line.
///
/// The command name sits in parentheses and may itself contain spaces and parentheses, so the
/// fields are counted from the last `)`: state, ppid, pgrp.
pub fn parse_pgrp(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(2)?.parse().ok()
}

/// The `RssAnon:` line of a `/proc/<pid>/status` file, in bytes.
pub fn parse_rss_anon(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("RssAnon:"))?;
    let mut words = line["RssAnon:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    let scale = match words.next() {
        Some("kB") | None => 1024,
        Some(_) => return None,
    };
    Some(value * scale)
}

/// Caps the calling process's data segment (`RLIMIT_DATA`, soft and hard) at `bytes`, or at the
/// existing hard limit if that is lower.
///
/// Since Linux 4.7 `RLIMIT_DATA` counts private writable mappings (heap, anonymous `mmap`) and
/// not read-only file mappings, so unlike `RLIMIT_AS` it does not have to leave room for the
/// `.olean` files a Mathlib import maps.
///
/// # Safety
///
/// Meant for `pre_exec`, between `fork` and `exec`: it only calls `getrlimit` and `setrlimit`,
/// which are async-signal-safe, and allocates nothing. Calling it anywhere else limits the
/// caller itself.
pub unsafe fn set_data_limit(bytes: u64) -> io::Result<()> {
    let mut current = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `current` is a valid, writable rlimit.
    if unsafe { libc::getrlimit(libc::RLIMIT_DATA, &mut current) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let wanted = libc::rlim_t::try_from(bytes).unwrap_or(libc::RLIM_INFINITY);
    let cap = if current.rlim_max == libc::RLIM_INFINITY {
        wanted
    } else {
        wanted.min(current.rlim_max)
    };
    let limit = libc::rlimit {
        rlim_cur: cap,
        rlim_max: cap,
    };
    // SAFETY: `limit` is a valid rlimit; lowering a limit needs no privilege.
    if unsafe { libc::setrlimit(libc::RLIMIT_DATA, &limit) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pgrp_is_read_after_the_last_parenthesis() {
        let stat = "4242 (odd) name (x)) S 1 4240 4240 0 -1 4194560 100";
        assert_eq!(parse_pgrp(stat), Some(4240));
        assert_eq!(parse_pgrp("garbage"), None);
    }

    #[test]
    fn rss_anon_is_in_bytes() {
        let status = "Name:\tlean\nVmRSS:\t  9000 kB\nRssAnon:\t    1536 kB\nRssFile:\t 10 kB\n";
        assert_eq!(parse_rss_anon(status), Some(1536 * 1024));
        assert_eq!(parse_rss_anon("Name:\tzombie\nState:\tZ (zombie)\n"), None);
    }

    #[test]
    fn own_group_has_anonymous_memory() {
        let me = std::process::id();
        let pgid = u32::try_from(unsafe { libc::getpgid(0) }).unwrap();
        assert!(rss_anon_of_pid(me).unwrap() > 0);
        assert!(rss_anon_of_group(pgid).unwrap() >= rss_anon_of_pid(me).unwrap());
    }
}
