//! Keeps docker-compose.yml and the Dockerfile honest without a Docker engine: every service's
//! command line, with its environment and its volumes mapped to local paths, must be accepted by
//! the built binary (`dss-lake --check ...`), and the services must agree with each other (the
//! keys the emulator serves are the keys ingest uses; serve reads the volume ingest writes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::BIN;
use yaml_rust2::{Yaml, YamlLoader};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Service {
    command: Vec<String>,
    environment: BTreeMap<String, String>,
    /// (local path, path in the container)
    volumes: Vec<(PathBuf, String)>,
}

fn services(named_volumes: &Path) -> BTreeMap<String, Service> {
    let text = std::fs::read_to_string(repo().join("docker-compose.yml")).unwrap();
    let doc = YamlLoader::load_from_str(&text).unwrap().remove(0);
    let strings = |y: &Yaml| -> Vec<String> {
        y.as_vec()
            .map(|v| v.iter().map(|s| s.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default()
    };
    let mut out = BTreeMap::new();
    for (name, service) in doc["services"].as_hash().unwrap() {
        let environment = service["environment"]
            .as_hash()
            .map(|env| {
                env.iter()
                    .map(|(k, v)| (k.as_str().unwrap().to_owned(), yaml_scalar(v)))
                    .collect()
            })
            .unwrap_or_default();
        let volumes = strings(&service["volumes"])
            .iter()
            .map(|spec| {
                let mut parts = spec.split(':');
                let (source, target) = (parts.next().unwrap(), parts.next().unwrap());
                let local = match source.strip_prefix("./") {
                    Some(relative) => repo().join(relative),
                    None => {
                        assert!(
                            doc["volumes"][source].as_hash().is_some()
                                || doc["volumes"][source].is_null(),
                            "{spec}: a named volume must be declared"
                        );
                        named_volumes.join(source)
                    }
                };
                (local, target.to_owned())
            })
            .collect();
        out.insert(
            name.as_str().unwrap().to_owned(),
            Service {
                command: strings(&service["command"]),
                environment,
                volumes,
            },
        );
    }
    out
}

fn yaml_scalar(y: &Yaml) -> String {
    match y {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        other => panic!("environment values are scalars: {other:?}"),
    }
}

/// `dss-lake --check <command>` as the container would run it; returns stdout.
fn check(service: &Service) -> String {
    let args: Vec<String> = service
        .command
        .iter()
        .map(|arg| {
            for (local, target) in &service.volumes {
                if let Some(rest) = arg.strip_prefix(target.as_str())
                    && (rest.is_empty() || rest.starts_with('/'))
                {
                    return format!("{}{rest}", local.display());
                }
            }
            arg.clone()
        })
        .collect();
    let mut command = Command::new(BIN);
    command
        .arg("--check")
        .args(&args)
        .envs(&service.environment);
    // Nothing from the machine running the tests may help or hinder the check.
    for (key, _) in std::env::vars() {
        if key.starts_with("DSS_") && !service.environment.contains_key(&key) {
            command.env_remove(key);
        }
    }
    let output = command.output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success() && stdout.starts_with("ok:"),
        "{args:?} is refused: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

#[test]
fn every_compose_service_command_is_accepted_and_the_services_agree() {
    let volumes = tempfile::tempdir().unwrap();
    let services = services(volumes.path());
    assert_eq!(
        services.keys().map(String::as_str).collect::<Vec<_>>(),
        ["ingest", "serve", "sim"]
    );
    let sim = check(&services["sim"]);
    let ingest = check(&services["ingest"]);
    check(&services["serve"]);

    // The emulator's keys (it prints them) are the ones the ingest service is given.
    let ingest_env = &services["ingest"].environment;
    let served: Vec<(&str, &str)> = sim
        .lines()
        .skip(1)
        .map(|l| l.trim().split_once(' ').unwrap())
        .collect();
    assert_eq!(served.len(), 5, "{sim}");
    for (kind, key) in served {
        let var = format!("DSS_KEY_{}", kind.to_uppercase());
        assert_eq!(ingest_env.get(&var).map(String::as_str), Some(key), "{var}");
        // ...and ingest connects to the sim service on the port it listens on.
        let line = format!("  {kind} ws://sim:8090/stream key ");
        assert!(ingest.contains(&line), "{line:?} in {ingest}");
    }
    assert!(services["sim"].command.join(" ").contains("0.0.0.0:8090"));

    // serve reads the volume ingest writes, at the path ingest writes it.
    let lake_of = |name: &str| {
        let s = &services[name];
        let at = s.command.iter().position(|a| a == "--lake").unwrap() + 1;
        let target = &s.command[at];
        let (local, _) = s.volumes.iter().find(|(_, t)| t == target).unwrap();
        local.clone()
    };
    assert_eq!(lake_of("ingest"), lake_of("serve"));
}

#[test]
fn the_image_runs_the_binary_and_its_default_command_is_accepted() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    assert!(dockerfile.contains(r#"ENTRYPOINT ["dss-lake"]"#));
    // The image ships what scripts/dist.sh makes: the dist profile's build, debug info split off.
    assert!(dockerfile.contains("scripts/dist.sh /usr/local/bin"));
    let dist = std::fs::read_to_string(repo().join("scripts/dist.sh")).unwrap();
    assert!(dist.contains("cargo build --profile dist --locked --bin dss-lake"));
    assert!(dist.contains("objcopy --add-gnu-debuglink=dss-lake.debug dss-lake"));
    let manifest = std::fs::read_to_string(repo().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("[profile.dist]"));
    let cmd = dockerfile
        .lines()
        .find_map(|l| l.strip_prefix("CMD "))
        .expect("a default command");
    let args: Vec<String> = serde_json::from_str(cmd).unwrap();
    let output = Command::new(BIN)
        .arg("--check")
        .args(&args)
        .output()
        .unwrap();
    assert!(output.status.success(), "{args:?}");
}
