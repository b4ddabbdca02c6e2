//! How each profile is asked of cargo.

use super::*;

fn args(profile: Profile) -> Vec<String> {
    let mut command = Command::new("cargo");
    profile.select(&mut command);
    command
        .get_args()
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

#[test]
fn the_plugin_profile_is_defined_on_the_command_line_as_release_with_fat_lto() {
    assert_eq!(
        args(Profile::Plugin),
        [
            "--profile",
            "plugin",
            "--config",
            "profile.plugin.inherits=\"release\"",
            "--config",
            "profile.plugin.lto=\"fat\"",
            "--config",
            "profile.plugin.codegen-units=1",
        ],
        "defined by the command, so a crate outside this workspace builds the same way"
    );
    assert_eq!(Profile::Plugin.target_subdir(), "plugin");
}

#[test]
fn the_other_profiles_are_cargo_s_or_the_workspace_s() {
    assert_eq!(args(Profile::Release), ["--release"]);
    assert!(args(Profile::Dev).is_empty());
    assert_eq!(args(Profile::Production), ["--profile", "production"]);
    assert_eq!(Profile::Dev.target_subdir(), "debug");
}
