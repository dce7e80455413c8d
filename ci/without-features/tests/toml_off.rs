//! Without the `toml` feature a `.toml` configuration file is refused with an error that says
//! which feature it needs, while JSON still loads.

use tower_consent::{ConfigFileError, ConsentConfig};

#[test]
fn a_toml_file_names_the_missing_feature() {
    let dir = std::env::temp_dir().join(format!("tower-consent-toml-off-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let toml = dir.join("consent.toml");
    std::fs::write(&toml, "[cookie]\nname = \"consent\"\n").unwrap();
    match ConsentConfig::from_file(&toml) {
        Err(error @ ConfigFileError::TomlNotEnabled { .. }) => {
            let message = error.to_string();
            assert!(message.contains("consent.toml"), "{message}");
            assert!(message.contains("`toml` feature"), "{message}");
        }
        other => panic!("expected TomlNotEnabled, got {other:?}"),
    }
    let json = dir.join("consent.json");
    std::fs::write(&json, r#"{"cookie": {"name": "consent"}}"#).unwrap();
    assert!(ConsentConfig::from_file(&json).is_ok());
    std::fs::remove_dir_all(&dir).unwrap();
}
