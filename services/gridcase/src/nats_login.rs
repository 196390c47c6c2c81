//! `gridcase nats-login --department <code>`: writes the NATS login file a department's system
//! needs to pull its work orders, from the installation's logins in the data directory, and
//! says where it is — never the password itself.

use std::path::{Path, PathBuf};

use anyhow::Context;
use gridcase_bus::authorization::{department_user, inbox_prefix};
use gridcase_bus::logins::{write_private, DepartmentLogin};
use gridcase_bus::subjects::{department_consumer, DISPATCH_STREAM};
use gridcase_bus::Logins;
use gridcase_config::ReferenceData;
use gridcase_dispatch::nats_auth;

use crate::system::LOGINS_FILE;

/// Which department, and where things are.
#[derive(Debug, clap::Args)]
pub struct NatsLoginArgs {
    /// The department's code (as in departments.toml), e.g. `gas`.
    #[arg(long)]
    pub department: String,
    /// The data directory given to `gridcase up`, which keeps the logins.
    #[arg(long, env = "GRIDCASE_DATA", default_value = "data")]
    pub data: PathBuf,
    /// The NATS URL the department's system reaches the installation at.
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Where to write the file; by default `<data>/department-logins/dept-<code>.toml`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Directory of the reference data; as `gridcase up` finds it by default.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Writes the department's login file (mode 0600) and returns its path. The department must
/// be in the reference data; its password is the one nats-server knows (generated with the
/// others when `gridcase up` first started, or now, in which case nats-server learns it at its
/// next start).
pub fn write_department_login(
    data: &Path,
    reference: &ReferenceData,
    department: &str,
    nats: &str,
    out: Option<PathBuf>,
) -> anyhow::Result<PathBuf> {
    let known = reference
        .departments()
        .find(|d| d.code.as_str() == department)
        .with_context(|| {
            let codes: Vec<&str> = reference.departments().map(|d| d.code.as_str()).collect();
            format!(
                "department: no department {department:?} in the reference data (known: {})",
                codes.join(", ")
            )
        })?;
    let logins = Logins::load_or_create(&data.join(LOGINS_FILE), nats_auth::users(reference))?;
    let user = department_user(department);
    let login = logins
        .login(&user)
        .with_context(|| format!("no login for {user} in {}", logins.path().display()))?;
    let file = DepartmentLogin {
        url: gridcase_bus::redact_url(nats),
        login,
        inbox_prefix: inbox_prefix(department),
        stream: DISPATCH_STREAM.to_owned(),
        consumer: department_consumer(department),
    };
    let path = out.unwrap_or_else(|| data.join("department-logins").join(format!("{user}.toml")));
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    write_private(&path, file.file_text(&known.name).as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

/// Runs the command.
pub fn run(args: NatsLoginArgs) -> anyhow::Result<()> {
    let config = crate::system::config_dir(args.config);
    let reference = ReferenceData::load(&config)
        .with_context(|| format!("loading the reference data in {}", config.display()))?;
    let path = write_department_login(
        &args.data,
        &reference,
        &args.department,
        &args.nats,
        args.out,
    )?;
    println!(
        "wrote the NATS login of department {} to {} (mode 0600): hand it to the department's \
         system over a channel you trust",
        args.department,
        path.display()
    );
    Ok(())
}
