//! What the tests that run `gridcase up` as a child process share.

use std::io::{BufRead, BufReader};
use std::process::ChildStdout;
use std::time::Duration;

/// Reads `gridcase up`'s stdout until its banner ends (`press Ctrl-C`) and returns the banner;
/// the rest of stdout keeps being read, so the process never writes into a closed pipe.
pub(crate) fn read_banner(stdout: ChildStdout) -> String {
    let (lines, printed) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let mut banner = String::new();
    while !banner.contains("press Ctrl-C") {
        let line = printed
            .recv_timeout(Duration::from_secs(60))
            .unwrap_or_else(|e| panic!("gridcase up printed no banner ({e}): {banner}"));
        banner.push_str(&line);
        banner.push('\n');
    }
    banner
}
