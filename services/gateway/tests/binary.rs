//! The `gridcase-gateway` binary refuses to start on bad settings, saying which: no gateway
//! token, or a token file every user of the machine may read.

use std::process::Command;

const GATEWAY: &str = env!("CARGO_BIN_EXE_gridcase-gateway");

fn gateway() -> Command {
    let mut command = Command::new(GATEWAY);
    command
        .env_remove("GRIDCASE_GATEWAY_TOKEN")
        .env_remove("GRIDCASE_TOKENS")
        .args(["--http", "127.0.0.1:0"]);
    command
}

#[test]
fn without_a_gateway_token_it_names_the_flag() {
    let output = gateway().output().unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("--token"), "{said}");
}

#[cfg(unix)]
#[test]
fn a_token_file_anyone_may_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    std::fs::write(
        &tokens,
        "[[token]]\ntoken = \"a-gateway-token-0001\"\nrole = \"gateway\"\nid = \"qr-web\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&tokens, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = gateway()
        .args(["--token", "a-gateway-token-0001", "--data"])
        .arg(dir.path())
        .arg("--tokens")
        .arg(&tokens)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("may be read by any user"), "{said}");
    assert!(said.contains("chmod 600"), "{said}");
}
