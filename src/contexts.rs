//! Contexts: several configurations side by side — prod, staging, a
//! rehearsal world — each a whole `backstop.toml`. `contexts/*.toml` in the
//! config directory are contexts by their file names; `contexts.toml` beside
//! them may name files elsewhere, mark which are production and how the
//! header colours them, and pick the default. (A `[contexts]` table lives in
//! its own file, not in `backstop.toml`: each context is a `backstop.toml`,
//! and a list of worlds inside one of them would change as you switch.)

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::config::{Diagnostic, Diagnostics};
use crate::core::model::ContextView;

/// One context: its name, its configuration file, and how the header shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Context {
    pub name: String,
    pub file: PathBuf,
    pub production: bool,
    /// The header's colour for it (a colour name or `#rrggbb`); production
    /// defaults to red.
    pub color: Option<String>,
}

impl Context {
    pub fn view(&self) -> ContextView {
        ContextView {
            name: self.name.clone(),
            production: self.production,
            color: self.color.clone(),
        }
    }
}

/// Every context found, by name, and the default one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Contexts {
    pub all: BTreeMap<String, Context>,
    pub default: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// The context opened without `--context`.
    default: Option<String>,
    #[serde(default)]
    contexts: BTreeMap<String, Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    /// The configuration file; relative to the config directory. Default:
    /// `contexts/NAME.toml`.
    file: Option<PathBuf>,
    production: Option<bool>,
    color: Option<String>,
}

/// Names that mean production unless `production = false` says otherwise.
fn production_by_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n == "prod" || n == "prd" || n == "production" || n.starts_with("prod-") || n.ends_with("-prod")
}

/// The header's colours a context may name.
pub const COLORS: &[&str] = &[
    "red", "yellow", "green", "blue", "magenta", "cyan", "white", "gray",
];

impl Contexts {
    /// The contexts in `config_dir`: its `contexts/*.toml`, then what
    /// `contexts.toml` says (it may add files elsewhere and set flags).
    pub fn discover(config_dir: &Path) -> Result<Self, Diagnostics> {
        let mut out = Contexts::default();
        if let Ok(dir) = std::fs::read_dir(config_dir.join("contexts")) {
            let mut files: Vec<PathBuf> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for file in files {
                let Some(name) = file.file_stem().and_then(|s| s.to_str()) else {
                    continue;
                };
                out.all.insert(
                    name.to_string(),
                    Context {
                        name: name.to_string(),
                        production: production_by_name(name),
                        color: None,
                        file,
                    },
                );
            }
        }
        let list = config_dir.join("contexts.toml");
        if list.exists() {
            let text = crate::config::diagnostic::read_source(&list, "contexts")?;
            out.merge(&text, &list.display().to_string(), config_dir)?;
        }
        Ok(out)
    }

    /// Apply a `contexts.toml` over the contexts found as files.
    pub fn merge(&mut self, text: &str, file: &str, config_dir: &Path) -> Result<(), Diagnostics> {
        let parsed: File = toml::from_str(text).map_err(|e| {
            Diagnostics(vec![Diagnostic::at(
                file,
                text,
                e.span().unwrap_or(0..0),
                e.message().to_string(),
            )])
        })?;
        let mut errors = Vec::new();
        let at = |key: &str| text.find(key).map_or(0..0, |i| i..i + key.len());
        for (name, entry) in parsed.contexts {
            let path = match entry.file {
                Some(f) if f.is_absolute() => f,
                Some(f) => config_dir.join(f),
                None => config_dir.join("contexts").join(format!("{name}.toml")),
            };
            if let Some(c) = &entry.color
                && !COLORS.contains(&c.as_str())
                && !(c.len() == 7 && c.starts_with('#') && u32::from_str_radix(&c[1..], 16).is_ok())
            {
                errors.push(Diagnostic::at(
                    file,
                    text,
                    at(c),
                    format!(
                        "unknown colour `{c}` for context {name}: one of {}, or #rrggbb",
                        COLORS.join(", ")
                    ),
                ));
            }
            let production = entry
                .production
                .unwrap_or_else(|| production_by_name(&name));
            self.all.insert(
                name.clone(),
                Context {
                    name,
                    file: path,
                    production,
                    color: entry.color,
                },
            );
        }
        if let Some(d) = parsed.default {
            if self.all.contains_key(&d) {
                self.default = Some(d);
            } else {
                errors.push(Diagnostic::at(
                    file,
                    text,
                    at(&format!("\"{d}\"")),
                    format!(
                        "default = \"{d}\" names no context ({})",
                        self.names().join(", ")
                    ),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Diagnostics(errors))
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.all.keys().cloned().collect()
    }

    pub fn get(&self, name: &str) -> Result<&Context, String> {
        self.all.get(name).ok_or_else(|| {
            if self.all.is_empty() {
                format!(
                    "unknown context `{name}`: no contexts are configured (put configurations in contexts/*.toml in the config directory)"
                )
            } else {
                format!(
                    "unknown context `{name}` (contexts: {})",
                    self.names().join(", ")
                )
            }
        })
    }

    /// The context a configuration file is, if it is one.
    pub fn of_file(&self, file: &Path) -> Option<&Context> {
        let canon = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
        let file = canon(file);
        self.all.values().find(|c| canon(&c.file) == file)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn files_are_contexts_and_the_list_sets_their_flags() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("contexts")).unwrap();
        for n in ["prod", "staging"] {
            std::fs::write(dir.path().join(format!("contexts/{n}.toml")), "").unwrap();
        }
        std::fs::write(
            dir.path().join("contexts.toml"),
            "default = \"staging\"\n[contexts.eu]\nfile = \"/etc/backstop/eu.toml\"\nproduction = true\ncolor = \"magenta\"\n[contexts.staging]\ncolor = \"blue\"\n",
        )
        .unwrap();
        let c = Contexts::discover(dir.path()).unwrap();
        assert_eq!(c.names(), ["eu", "prod", "staging"]);
        assert!(c.all["prod"].production, "by its name");
        assert!(!c.all["staging"].production);
        assert!(c.all["eu"].production);
        assert_eq!(c.all["eu"].file, PathBuf::from("/etc/backstop/eu.toml"));
        assert_eq!(c.all["staging"].color.as_deref(), Some("blue"));
        assert_eq!(c.default.as_deref(), Some("staging"));
        assert!(c.get("dev").unwrap_err().contains("eu, prod, staging"));
    }

    #[test]
    fn mistakes_name_file_line_and_column() {
        let mut c = Contexts::default();
        let text = "[contexts.prod]\ncolour = \"red\"\n";
        let e = c.merge(text, "contexts.toml", Path::new("/c")).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("contexts.toml:2:1"), "{shown}");
        assert!(shown.contains("unknown field `colour`"), "{shown}");
        let text = "[contexts.prod]\ncolor = \"pink\"\n";
        let e = c.merge(text, "contexts.toml", Path::new("/c")).unwrap_err();
        assert!(e.to_string().contains("contexts.toml:2:10"), "{e}");
    }
}
