//! Project tasks: `cargo xtask codegen` regenerates the wire layer from the
//! vendored AWS models (see `codegen.rs`); `cargo xtask layers` checks the
//! layer rule of cognate-idp on its module graph (see `layers.rs`).

mod codegen;
mod layers;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("codegen") => match write_codegen() {
            Ok(n) => {
                println!("codegen: wrote {n} files");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("codegen: {e}");
                ExitCode::FAILURE
            }
        },
        Some("layers") => {
            let src = codegen::workspace_root().join("crates/cognate-idp/src");
            let g = match layers::graph(&src) {
                Ok(g) => g,
                Err(e) => {
                    eprintln!("layers: {e}");
                    return ExitCode::FAILURE;
                }
            };
            if args.get(1).map(String::as_str) == Some("--dot") {
                print!("{}", layers::dot(&g));
                return ExitCode::SUCCESS;
            }
            let v = layers::violations(&g);
            for line in &v {
                println!("{line}");
            }
            println!(
                "layers: {} modules, {} edges, {} violations",
                g.edges.len(),
                g.edges.values().map(|e| e.len()).sum::<usize>(),
                v.len()
            );
            if v.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        _ => {
            eprintln!("usage: cargo xtask codegen | cargo xtask layers [--dot]");
            ExitCode::FAILURE
        }
    }
}

fn write_codegen() -> Result<usize, String> {
    let root = codegen::workspace_root();
    let files = codegen::generate_all(&root)?;
    for (path, text) in &files {
        let full = root.join(path);
        if let Some(dir) = full.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        std::fs::write(&full, text).map_err(|e| format!("{}: {e}", full.display()))?;
    }
    Ok(files.len())
}

#[cfg(test)]
mod tests {
    use super::codegen;

    /// The committed wire layer must be exactly what the generator writes
    /// from the committed models. Run `cargo xtask codegen` after changing either.
    #[test]
    fn generated_code_is_up_to_date() {
        let root = codegen::workspace_root();
        let files = codegen::generate_all(&root).expect("models load");
        let mut stale = Vec::new();
        for (path, text) in files {
            let on_disk = std::fs::read_to_string(root.join(&path)).unwrap_or_default();
            if on_disk != text {
                stale.push(path.display().to_string());
            }
        }
        assert!(stale.is_empty(), "stale generated files (run `cargo xtask codegen`): {stale:?}");
    }

    #[test]
    fn names_convert_like_the_sdks() {
        assert_eq!(codegen::field_name("UserPoolId"), "user_pool_id");
        assert_eq!(codegen::field_name("SMSMfaSettings"), "sms_mfa_settings");
        assert_eq!(codegen::field_name("MFAOptions"), "mfa_options");
        assert_eq!(codegen::field_name("Type"), "r#type");
        assert_eq!(codegen::field_name("entityIdentifier"), "entity_identifier");
        assert_eq!(codegen::variant_name("ALLOW_USER_SRP_AUTH"), "AllowUserSrpAuth");
        assert_eq!(codegen::variant_name("email"), "Email");
        assert_eq!(codegen::variant_name("2"), "V2");
    }
}
