//! `gridcase posters`: writes the printable A4 poster (SVG) of every grid and micro-grid, with
//! the QR code of its 码上办 page, for the print shop.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use gridcase::system::config_dir;
use gridcase_config::ReferenceData;
use gridcase_gateway::GatewaySettings;

/// `gridcase posters`.
#[derive(Debug, clap::Args)]
pub(crate) struct PostersArgs {
    /// The directory to write `<grid code>.svg` into (created if missing).
    #[arg(long)]
    out: PathBuf,
    /// Directory of the reference data and `gateway.toml`; by default `deploy/config` in the
    /// current directory, else the one of the source tree it was built from.
    #[arg(long, env = "GRIDCASE_CONFIG")]
    config: Option<PathBuf>,
    /// The address residents' phones reach the gateway at, which the QR codes point to; by
    /// default `public_base_url` of `gateway.toml`.
    #[arg(long, env = "GRIDCASE_PUBLIC_BASE_URL")]
    public_base_url: Option<String>,
}

/// Writes the posters and says how many.
pub(crate) fn run(args: PostersArgs) -> anyhow::Result<()> {
    let config = config_dir(args.config);
    let written = write_posters(&config, args.public_base_url.as_deref(), &args.out)?;
    println!(
        "{written} posters (grids and micro-grids) written to {}",
        args.out.display()
    );
    Ok(())
}

/// Writes the poster of every grid and micro-grid of the reference data in `config` into `out`,
/// their QR codes pointing at `public_base_url` (else `gateway.toml`'s); returns how many.
pub(crate) fn write_posters(
    config: &Path,
    public_base_url: Option<&str>,
    out: &Path,
) -> anyhow::Result<usize> {
    let mut settings = GatewaySettings::load(config)?;
    if let Some(url) = public_base_url {
        let url = url.trim().trim_end_matches('/');
        anyhow::ensure!(
            url.starts_with("http://") || url.starts_with("https://"),
            "--public-base-url: must start with http:// or https://, got {url:?}"
        );
        url.clone_into(&mut settings.public_base_url);
    }
    let reference = ReferenceData::load(config)
        .with_context(|| format!("the reference data in {}", config.display()))?;
    gridcase_gateway::poster::write_all(&reference, &settings, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poster_is_written_for_every_grid_and_micro_grid_of_the_sample_city() {
        let out = tempfile::tempdir().unwrap();
        let config = gridcase::system::sample_config_dir();
        let written =
            write_posters(&config, Some("https://12345.example.gov.cn/"), out.path()).unwrap();
        // The sample city has 14 grids and 39 micro-grids.
        assert_eq!(written, 14 + 39);
        let mut names: Vec<String> = std::fs::read_dir(out.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), written);
        assert!(names.contains(&"330102-001-001-001.svg".to_owned()));
        assert!(names.contains(&"330102-001-001-001-01.svg".to_owned()));
        assert!(
            !names.contains(&"330102-001-001.svg".to_owned()),
            "no community posters"
        );
        let poster = std::fs::read_to_string(out.path().join("330102-001-001-001.svg")).unwrap();
        assert!(poster.starts_with("<?xml"));
        assert!(poster.contains("林明"));
    }

    #[test]
    fn a_public_url_that_is_not_http_is_refused() {
        let out = tempfile::tempdir().unwrap();
        let config = gridcase::system::sample_config_dir();
        let error = write_posters(&config, Some("ftp://x"), out.path()).unwrap_err();
        assert!(error.to_string().contains("--public-base-url"), "{error}");
    }
}
