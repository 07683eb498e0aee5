//! Loading the configuration through the library: layering, the environment, validation,
//! origins in messages, LND file checks, and the shipped example file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use dustwatch::config::{load, ConfigError, ConfigFile, Origin};
use dustwatch::settings::{LogFormat, Settings};

fn no_env() -> BTreeMap<String, String> {
    BTreeMap::new()
}

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// A temporary directory with `dustwatch.toml` holding `text`.
fn config_file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("dustwatch.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

fn shipped_example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/dustwatch.toml")
}

#[test]
fn missing_default_file_means_defaults() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = ConfigFile::Default(dir.path().join("absent.toml"));
    let loaded = load(&source, &no_env()).expect("defaults load");
    let mut expected = Settings::default();
    dustwatch::config::resolve_lnd_paths(&mut expected, None);
    assert_eq!(loaded.settings, expected);
    assert_eq!(loaded.file_path(), None);
}

#[test]
fn missing_explicit_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.toml");
    let err = load(&ConfigFile::Explicit(path.clone()), &no_env()).expect_err("must fail");
    assert!(matches!(&err, ConfigError::FileNotFound { path: p } if *p == path));
    assert!(err.to_string().contains(&path.display().to_string()));
}

#[test]
fn file_overrides_defaults_and_env_overrides_file() {
    let (_dir, path) =
        config_file("[lnd]\nhost = \"node.lan\"\nport = 10010\n\n[poll]\ninterval = \"30s\"\n");
    let source = ConfigFile::Explicit(path.clone());

    let from_file = load(&source, &no_env()).expect("loads");
    assert_eq!(from_file.settings.lnd.host, "node.lan");
    assert_eq!(from_file.settings.lnd.port, 10010);
    assert_eq!(from_file.settings.poll.interval, Duration::from_secs(30));
    // Untouched keys keep their defaults, also inside a section the file sets.
    assert_eq!(
        from_file.settings.lnd.connect_timeout,
        Duration::from_secs(10)
    );
    assert_eq!(from_file.settings.analysis, Settings::default().analysis);

    let from_env = load(
        &source,
        &env(&[
            ("DUSTWATCH_LND__HOST", "10.0.0.2"),
            ("DUSTWATCH_ANALYSIS__HEALTH__HEALTHY_ABOVE", "0.75"),
            ("DUSTWATCH_ANALYSIS__FEE_SPIKE_MULTIPLIERS", "1.5, 3"),
            ("DUSTWATCH_LOG__FORMAT", "json"),
            ("DUSTWATCH_METRICS__LISTEN", "127.0.0.1:9489"),
            ("DUSTWATCH_OUTPUT__KEEP_PLANS", "7"),
            ("UNRELATED", "ignored"),
        ]),
    )
    .expect("loads with env");
    let s = &from_env.settings;
    assert_eq!(s.lnd.host, "10.0.0.2");
    assert_eq!(s.lnd.port, 10010, "file value survives where env is silent");
    assert_eq!(s.analysis.health.healthy_above, 0.75);
    assert_eq!(s.analysis.fee_spike_multipliers, vec![1.5, 3.0]);
    assert_eq!(s.log.format, LogFormat::Json);
    assert_eq!(s.metrics.listen.as_deref(), Some("127.0.0.1:9489"));
    assert_eq!(s.output.keep_plans, 7);
    assert_eq!(
        from_env.env_vars().collect::<Vec<_>>(),
        [
            "DUSTWATCH_ANALYSIS__FEE_SPIKE_MULTIPLIERS",
            "DUSTWATCH_ANALYSIS__HEALTH__HEALTHY_ABOVE",
            "DUSTWATCH_LND__HOST",
            "DUSTWATCH_LOG__FORMAT",
            "DUSTWATCH_METRICS__LISTEN",
            "DUSTWATCH_OUTPUT__KEEP_PLANS",
        ]
    );
}

#[test]
fn origins_follow_the_layer_that_set_the_value() {
    let (_dir, path) = config_file("[lnd]\nhost = \"node.lan\"\n\nport = 10010\n");
    let loaded = load(
        &ConfigFile::Explicit(path.clone()),
        &env(&[("DUSTWATCH_LND__HOST", "other")]),
    )
    .expect("loads");
    assert_eq!(
        loaded.origin("lnd.host"),
        Origin::Env {
            var: "DUSTWATCH_LND__HOST".into()
        }
    );
    assert_eq!(loaded.origin("lnd.port"), Origin::File { path, line: 4 });
    assert_eq!(loaded.origin("poll.interval"), Origin::Default);
}

#[test]
fn bad_env_value_names_the_variable() {
    let err = load(
        &ConfigFile::Default(PathBuf::from("/nonexistent/dustwatch.toml")),
        &env(&[
            ("DUSTWATCH_LND__HOST", "fine"),
            ("DUSTWATCH_LND__PORT", "ten"),
        ]),
    )
    .expect_err("must fail");
    let text = err.to_string();
    println!("{text}");
    assert!(
        matches!(&err, ConfigError::Env { var, key, .. } if var == "DUSTWATCH_LND__PORT" && key == "lnd.port"),
        "{err:?}"
    );
    assert!(text.contains("DUSTWATCH_LND__PORT"), "{text}");
}

#[test]
fn bad_env_duration_and_list_name_the_variable() {
    for (var, value) in [
        ("DUSTWATCH_POLL__INTERVAL", "soon"),
        ("DUSTWATCH_ANALYSIS__FEE_SPIKE_MULTIPLIERS", "2,x"),
        ("DUSTWATCH_LOG__FORMAT", "xml"),
    ] {
        let err = load(
            &ConfigFile::Default(PathBuf::from("/nonexistent/dustwatch.toml")),
            &env(&[(var, value)]),
        )
        .expect_err("must fail");
        println!("{err}");
        assert!(
            matches!(&err, ConfigError::Env { var: v, .. } if v == var),
            "{var}: {err:?}"
        );
    }
}

#[test]
fn unknown_env_key_names_the_variable() {
    let err = load(
        &ConfigFile::Default(PathBuf::from("/nonexistent/dustwatch.toml")),
        &env(&[("DUSTWATCH_LOG_LEVEL", "debug")]),
    )
    .expect_err("a single underscore is not a nesting level");
    let text = err.to_string();
    println!("{text}");
    assert!(text.contains("DUSTWATCH_LOG_LEVEL"), "{text}");
    assert!(text.contains("__"), "hint at the separator: {text}");
}

#[test]
fn validation_names_key_and_origin() {
    let (_dir, path) = config_file("[poll]\n\ninterval = \"0s\"\n");
    let err = load(
        &ConfigFile::Explicit(path.clone()),
        &env(&[("DUSTWATCH_OUTPUT__KEEP_PLANS", "0")]),
    )
    .expect_err("must fail");
    let text = err.to_string();
    println!("{text}");
    let ConfigError::Invalid { problems } = &err else {
        panic!("expected validation error, got {err:?}")
    };
    let keys: Vec<_> = problems.iter().map(|p| p.key.as_str()).collect();
    assert_eq!(keys, ["poll.interval", "output.keep_plans"]);
    assert_eq!(problems[0].origin, Origin::File { path, line: 3 });
    assert_eq!(
        problems[1].origin,
        Origin::Env {
            var: "DUSTWATCH_OUTPUT__KEEP_PLANS".into()
        }
    );
}

#[test]
fn file_error_names_path_line_and_key() {
    let (_dir, path) = config_file("[lnd]\nhost = \"h\"\nport = \"ten\"\n");
    let err = load(&ConfigFile::Explicit(path.clone()), &no_env()).expect_err("must fail");
    let text = err.to_string();
    println!("{text}");
    assert!(text.contains(&path.display().to_string()), "{text}");
    assert!(text.contains("line 3"), "{text}");
    assert!(text.contains("`lnd.port`"), "{text}");
}

#[test]
fn lnd_files_are_checked_on_demand_naming_key_and_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = dir.path().join("tls.cert");
    let pem = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("certificate")
        .cert
        .pem();
    std::fs::write(&cert, pem).expect("write cert");
    let macaroon = dir.path().join("readonly.macaroon");
    let text = format!(
        "[lnd]\ntls_cert_path = {:?}\nmacaroon_path = {:?}\n",
        cert.display().to_string(),
        macaroon.display().to_string()
    );
    let (_cfg_dir, path) = config_file(&text);
    let loaded =
        load(&ConfigFile::Explicit(path), &no_env()).expect("loading does not need LND files");

    let err = loaded.check_lnd_files().expect_err("macaroon is missing");
    let text = err.to_string();
    println!("{text}");
    assert!(text.contains("lnd.macaroon_path"), "{text}");
    assert!(text.contains(&macaroon.display().to_string()), "{text}");
    assert!(
        !text.contains("lnd.tls_cert_path"),
        "the cert exists: {text}"
    );

    std::fs::write(&macaroon, [2u8, 1, 3]).expect("write macaroon");
    loaded.check_lnd_files().expect("both files readable");
}

#[test]
fn reload_reads_the_file_again() {
    let (_dir, path) = config_file("[poll]\ninterval = \"30s\"\n");
    let loaded = load(&ConfigFile::Explicit(path.clone()), &no_env()).expect("loads");
    std::fs::write(&path, "[poll]\ninterval = \"2m\"\n").expect("rewrite");
    let reloaded = loaded.reload(&no_env()).expect("reloads");
    assert_eq!(reloaded.settings.poll.interval, Duration::from_secs(120));
}

#[test]
fn rendered_config_loads_back_to_the_same_settings() {
    let (_dir, path) = config_file("[lnd]\nhost = \"node.lan\"\n[analysis.close]\nidle_days = 9\n");
    let loaded = load(
        &ConfigFile::Explicit(path),
        &env(&[("DUSTWATCH_METRICS__LISTEN", "127.0.0.1:9489")]),
    )
    .expect("loads");
    let rendered = loaded.render().expect("renders");
    let (_dir2, copy) = config_file(&rendered);
    let again = load(&ConfigFile::Explicit(copy), &no_env()).expect("rendered output loads");
    assert_eq!(again.settings, loaded.settings);
}

/// The shipped example documents the defaults: loading it must give exactly `Settings::default()`.
#[test]
fn shipped_example_equals_defaults() {
    let loaded = load(&ConfigFile::Explicit(shipped_example()), &no_env())
        .expect("config/dustwatch.toml loads");
    let mut expected = Settings::default();
    dustwatch::config::resolve_lnd_paths(&mut expected, None);
    assert_eq!(loaded.settings, expected);
}

/// Every key of `Settings` appears in the shipped example, set (so its default is checked above)
/// or, for optional keys without a default, as a commented example.
#[test]
fn shipped_example_documents_every_key() {
    let text = std::fs::read_to_string(shipped_example()).expect("read example");
    let example: toml::Table = toml::from_str(&text).expect("example parses");
    let defaults = toml::Table::try_from(Settings::default()).expect("defaults serialize");

    let mut missing = Vec::new();
    collect_missing(&defaults, &example, "", &mut missing);
    assert!(
        missing.is_empty(),
        "keys not documented in config/dustwatch.toml: {missing:?}"
    );

    // Optional keys have no default to serialize; they appear as commented examples, which must
    // work once uncommented (right section, right type).
    let uncommented = text
        .replace("# listen = ", "listen = ")
        .replace("# tls_cert_path = ", "tls_cert_path = ")
        .replace("# macaroon_path = ", "macaroon_path = ");
    let settings: Settings = toml::from_str(&uncommented).expect("uncommented example parses");
    assert_eq!(settings.metrics.listen.as_deref(), Some("127.0.0.1:9489"));
    assert_eq!(
        settings.lnd.tls_cert_path,
        std::path::Path::new("/var/lib/lnd/tls.cert")
    );
}

#[test]
fn shipped_example_nodes_block_works_once_uncommented() {
    let text = std::fs::read_to_string(shipped_example()).expect("read example");
    let start = text
        .find("\n# [[nodes]]\n")
        .expect("the example shows a [[nodes]] table");
    let (head, block) = text.split_at(start);
    let uncommented: String = block
        .lines()
        .map(|line| {
            line.strip_prefix("# ")
                .unwrap_or(line.trim_start_matches('#'))
        })
        .collect::<Vec<_>>()
        .join("\n");
    let settings: Settings =
        toml::from_str(&format!("{head}{uncommented}\n")).expect("uncommented nodes parse");
    let nodes = settings.node_settings();
    let names: Vec<&str> = nodes.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(names, ["alpha", "beta"]);
    assert_eq!(nodes[0].1.lnd.host, "10.0.0.2");
    assert_eq!(nodes[1].1.lnd.port, 10010);
    assert_eq!(nodes[1].1.analysis.max_fee_exposure_sat, 250_000);
    assert!(dustwatch::config::validate(&settings).is_empty());
}

fn collect_missing(
    defaults: &toml::Table,
    example: &toml::Table,
    prefix: &str,
    out: &mut Vec<String>,
) {
    for (key, value) in defaults {
        let path = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match (value, example.get(key)) {
            (toml::Value::Table(inner), Some(toml::Value::Table(example_inner))) => {
                collect_missing(inner, example_inner, &path, out)
            }
            (_, Some(_)) => {}
            (_, None) => out.push(path),
        }
    }
}

/// Lists replace the lower layer's list; they are never merged item by item.
#[test]
fn lists_replace_lower_layers() {
    let (_dir, path) = config_file("[analysis]\nfee_spike_multipliers = [3.0]\n");
    let source = ConfigFile::Explicit(path);
    let loaded = load(&source, &no_env()).expect("loads");
    assert_eq!(loaded.settings.analysis.fee_spike_multipliers, vec![3.0]);

    let loaded = load(
        &source,
        &env(&[("DUSTWATCH_ANALYSIS__FEE_SPIKE_MULTIPLIERS", "")]),
    )
    .expect("loads");
    assert_eq!(
        loaded.settings.analysis.fee_spike_multipliers,
        Vec::<f64>::new(),
        "an empty variable is the empty list"
    );

    let (_dir, path) = config_file("[analysis]\nfee_spike_multipliers = []\n");
    let loaded = load(&ConfigFile::Explicit(path), &no_env()).expect("loads");
    assert_eq!(
        loaded.settings.analysis.fee_spike_multipliers,
        Vec::<f64>::new()
    );
}

/// Without explicit paths, LND's files are looked for under `lnddir` for `network`, with `~`
/// the user's home; the error names each path tried and how it was derived.
#[test]
fn lnd_files_are_derived_from_lnddir_and_network_and_errors_say_so() {
    let home = tempfile::tempdir().expect("home");
    let home_str = home.path().display().to_string();
    let (_dir, path) = config_file("[lnd]\nnetwork = \"signet\"\n");
    let loaded = load(&ConfigFile::Explicit(path), &env(&[("HOME", &home_str)])).expect("loads");
    let expected_cert = home.path().join(".lnd/tls.cert");
    let expected_macaroon = home
        .path()
        .join(".lnd/data/chain/bitcoin/signet/readonly.macaroon");
    assert_eq!(loaded.settings.lnd.tls_cert_path, expected_cert);
    assert_eq!(loaded.settings.lnd.macaroon_path, expected_macaroon);

    let err = loaded.check_lnd_files().expect_err("nothing there yet");
    let text = err.to_string();
    assert!(
        text.contains(&expected_cert.display().to_string()),
        "{text}"
    );
    assert!(
        text.contains(&expected_macaroon.display().to_string()),
        "{text}"
    );
    assert!(text.contains("derived from lnddir"), "{text}");
    let described = loaded.describe_lnd_paths();
    assert!(
        described.contains("lnd.macaroon_path: tried"),
        "{described}"
    );

    std::fs::create_dir_all(expected_macaroon.parent().expect("parent")).expect("mkdir");
    let pem = rcgen::generate_simple_self_signed(vec!["localhost".to_string()])
        .expect("certificate")
        .cert
        .pem();
    std::fs::write(&expected_cert, pem).expect("cert");
    std::fs::write(&expected_macaroon, [2u8, 1]).expect("macaroon");
    loaded.check_lnd_files().expect("derived files are found");
}

/// An explicit path wins over `lnddir`, and an unknown network is rejected naming the key.
#[test]
fn explicit_lnd_paths_win_and_networks_are_checked() {
    let (_dir, path) =
        config_file("[lnd]\nlnddir = \"/srv/lnd\"\ntls_cert_path = \"/etc/dw/tls.cert\"\n");
    let loaded = load(&ConfigFile::Explicit(path), &no_env()).expect("loads");
    assert_eq!(
        loaded.settings.lnd.tls_cert_path,
        Path::new("/etc/dw/tls.cert")
    );
    assert_eq!(
        loaded.settings.lnd.macaroon_path,
        Path::new("/srv/lnd/data/chain/bitcoin/mainnet/readonly.macaroon")
    );

    let (_dir, path) = config_file("[lnd]\nnetwork = \"testnet5\"\n");
    let err = load(&ConfigFile::Explicit(path), &no_env()).expect_err("unknown network");
    assert!(err.to_string().contains("lnd.network"), "{err}");
}
