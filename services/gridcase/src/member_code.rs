//! `gridcase member-code`: the member codes a community prints on its special grid members'
//! cards. Typed on a grid's QR page, a member's code makes the report their own (credited to
//! them) without a token. A code is the member id and an HMAC of it under the gateway's secret
//! (`<data>/gateway.key`), so only that gateway accepts it and a new secret voids every code.

use std::path::PathBuf;

use anyhow::Context;
use gridcase_config::ReferenceData;
use gridcase_domain::MemberId;
use gridcase_gateway::keys::Keys;

use crate::table::Table;

/// `gridcase member-code` arguments.
#[derive(Debug, clap::Args)]
pub struct MemberCodeArgs {
    /// The members, by id; none for every member of the reference data.
    pub members: Vec<String>,
    /// Only the members of this community (a community code).
    #[arg(long)]
    pub community: Option<String>,
    /// The data directory of the system whose gateway takes the codes.
    #[arg(long, default_value = "data")]
    pub data: PathBuf,
    /// The reference data (to list members and check ids).
    #[arg(long, default_value = "deploy/config")]
    pub config: PathBuf,
}

/// The codes of the members `args` names, as (member id, name, code).
pub fn codes(args: &MemberCodeArgs) -> anyhow::Result<Vec<(String, String, String)>> {
    let key_path = args.data.join(gridcase_gateway::KEY_FILE);
    let secret = std::fs::read(&key_path).with_context(|| {
        format!(
            "reading the gateway's secret {} (start the system once with this data directory \
             so the gateway makes it)",
            key_path.display()
        )
    })?;
    let keys = Keys::from_secret(&secret);
    let reference = ReferenceData::load(&args.config)
        .with_context(|| format!("loading the reference data in {}", args.config.display()))?;
    let mut rows = Vec::new();
    if args.members.is_empty() {
        for member in reference.members() {
            let community = member.community.to_string();
            if args.community.as_deref().is_some_and(|c| c != community) {
                continue;
            }
            rows.push((
                member.id.to_string(),
                member.name.to_string(),
                keys.member_code(&member.id),
            ));
        }
    } else {
        for id in &args.members {
            let member = MemberId::parse(id).map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
            let name = reference
                .member(&member)
                .map(|m| m.name.to_string())
                .unwrap_or_else(|| "（社区登记）".to_owned());
            rows.push((member.to_string(), name, keys.member_code(&member)));
        }
    }
    Ok(rows)
}

/// Prints the codes as a table.
pub fn run(args: &MemberCodeArgs) -> anyhow::Result<()> {
    let mut table = Table::new(&["member", "name", "member code"]);
    for (id, name, code) in codes(args)? {
        table.row(vec![id, name, code]);
    }
    println!("{}", table.render());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_gateways_and_name_the_members() {
        let data = tempfile::tempdir().unwrap();
        std::fs::write(data.path().join(gridcase_gateway::KEY_FILE), [3u8; 32]).unwrap();
        let args = MemberCodeArgs {
            members: Vec::new(),
            community: Some("330102-001-002".to_owned()),
            data: data.path().to_owned(),
            config: crate::system::sample_config_dir(),
        };
        let rows = codes(&args).unwrap();
        let ids: Vec<&str> = rows.iter().map(|(id, _, _)| id.as_str()).collect();
        assert_eq!(ids, ["dd-sun-jianguo", "gao-zhiqiang"]);
        let keys = Keys::from_secret(&[3u8; 32]);
        for (id, _, code) in &rows {
            assert_eq!(
                keys.member_of_code(code).map(|m| m.to_string()).as_deref(),
                Some(id.as_str())
            );
        }
        let missing = MemberCodeArgs {
            data: data.path().join("nowhere"),
            ..args
        };
        assert!(codes(&missing)
            .unwrap_err()
            .to_string()
            .contains("start the system once"));
    }
}
